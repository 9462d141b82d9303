"""APPS (Hendrycks et al. 2021): competitive-programming problems, stdio or call-based.

A problem folder holds ``question.txt``, ``input_output.json`` (``inputs``,
``outputs`` and, for call-based problems, ``fn_name``), ``solutions.json``,
``metadata.json`` (``difficulty``, ``url``) and, for call-based problems,
``starter_code.py``. The hub rows (``codeparrot/apps``) carry the same fields as
columns, with the JSON files as text.

Choices:

- Prompt in CodeRL's format: ``"\\nQUESTION:\\n"`` + question (+ ``"\\n"`` + starter
  code) + ``"\\nUse Standard Input format"`` or ``"\\nUse Call-Based format"`` +
  ``"\\nANSWER:\\n"``.
- ``program_prefix`` is the import header APPS's own harness puts before every
  solution (LeetCode and Codewars solutions rely on it, e.g. ``List`` in annotations),
  without ``numpy``, which costs ~100 ms per program and no sample needs.
- Call-based tests are ``call`` tests on ``fn_name``. APPS wraps Codewars outputs in a
  one-element list and its harness accepts either form; here, when *every* output of
  a problem is a one-element list, they are unwrapped, otherwise kept as they are.
  A LeetCode ``class Solution`` method is called on a fresh ``Solution()`` by the
  sandbox when no top-level function of that name exists.
- Stdio tests compare output per line with trailing whitespace ignored (the sandbox's
  rule). APPS outputs given as a list of lines are joined with newlines.
- ``example_tests``: the tests whose input appears verbatim in the question (stdio),
  else the first test.
- ``metadata``: ``difficulty`` (introductory / interview / competition), ``url``,
  ``split`` (the folder name: train / test, when the path has one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from code_env.tasks.model import Task, TaskFormatError, TaskList, TestCase, collect_tasks

#: The hub dataset used when no local path is given.
HUB_NAME = "codeparrot/apps"
SPLITS: tuple[str, ...] = ("train", "test")

#: APPS's solution header (from its ``testing_util``), minus ``numpy``.
APPS_HEADER = (
    "import sys\n"
    "import time\n"
    "import itertools\n"
    "from itertools import accumulate, product, permutations, combinations\n"
    "import collections\n"
    "from collections import Counter, OrderedDict, deque, defaultdict, ChainMap\n"
    "from functools import lru_cache\n"
    "import math\n"
    "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\n"
    "import fractions\n"
    "from typing import List, Tuple\n"
    "import random\n"
    "import heapq\n"
    "from heapq import *\n"
)


def format_prompt(question: str, starter_code: str | None, call_based: bool) -> str:
    """CodeRL's APPS prompt."""
    text = "\nQUESTION:\n" + question
    if starter_code:
        text += "\n" + starter_code
    text += "\nUse Call-Based format" if call_based else "\nUse Standard Input format"
    return text + "\nANSWER:\n"


def _as_text(value: Any) -> str:
    if isinstance(value, list):  # some problems give output as a list of lines
        return "\n".join(str(v) for v in value) + "\n"
    return str(value)


def _json_field(value: Any, name: str) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise TaskFormatError(f"not valid JSON: {exc.msg}", field=name) from None
    return value


def task_from_fields(
    *,
    problem_id: str,
    question: str,
    input_output: Any,
    solutions: Any,
    difficulty: str | None,
    url: str | None,
    starter_code: str | None,
    split: str | None,
) -> Task:
    """Build an APPS :class:`Task` from the problem's fields (folder or hub row)."""
    io = _json_field(input_output, "input_output")
    if not isinstance(io, Mapping) or "inputs" not in io or "outputs" not in io:
        raise TaskFormatError("needs 'inputs' and 'outputs'", field="input_output")
    inputs, outputs = io["inputs"], io["outputs"]
    if not isinstance(inputs, list) or not isinstance(outputs, list) or not inputs:
        raise TaskFormatError(
            "'inputs' and 'outputs' must be non-empty lists", field="input_output"
        )
    if len(inputs) != len(outputs):
        raise TaskFormatError(
            f"{len(inputs)} inputs but {len(outputs)} outputs", field="input_output"
        )
    fn_name = io.get("fn_name") or None
    if fn_name:
        if all(isinstance(o, list) and len(o) == 1 for o in outputs):
            outputs = [o[0] for o in outputs]
        tests = [
            TestCase(kind="call", fn=fn_name, args=a if isinstance(a, list) else [a], expected=o)
            for a, o in zip(inputs, outputs, strict=True)
        ]
        examples = tests[:1]
    else:
        tests = [
            TestCase(kind="stdio", input=_as_text(i), expected=_as_text(o))
            for i, o in zip(inputs, outputs, strict=True)
        ]
        examples = [t for t in tests if t.input and t.input.strip() in question][:2] or tests[:1]
    sols = _json_field(solutions, "solutions") or []
    if not isinstance(sols, list) or not all(isinstance(s, str) for s in sols):
        raise TaskFormatError("must be a list of programs", field="solutions")
    metadata: dict[str, Any] = {"source": "apps", "difficulty": difficulty, "url": url}
    if split is not None:
        metadata["split"] = split
    return Task(
        # APPS numbers train and test problems from 0 each: the split keeps ids unique.
        task_id=f"APPS/{split}/{problem_id}" if split else f"APPS/{problem_id}",
        prompt=format_prompt(question, starter_code, call_based=bool(fn_name)),
        tests=tests,
        example_tests=examples,
        entry_point=fn_name,
        solutions=sols,
        metadata=metadata,
        program_prefix=APPS_HEADER,
    )


def _read_problem(folder: Path, split: str | None) -> Task:
    def read(name: str) -> str | None:
        file = folder / name
        return file.read_text(encoding="utf-8") if file.is_file() else None

    question = read("question.txt")
    if question is None:
        raise TaskFormatError("missing question.txt", field="question")
    io_text = read("input_output.json")
    if io_text is None:
        raise TaskFormatError("missing input_output.json", field="input_output")
    meta = _json_field(read("metadata.json") or "{}", "metadata") or {}
    return task_from_fields(
        problem_id=folder.name,
        question=question,
        input_output=io_text,
        solutions=read("solutions.json") or "[]",
        difficulty=meta.get("difficulty"),
        url=meta.get("url"),
        starter_code=read("starter_code.py"),
        split=split,
    )


def _problem_folders(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Problem folders under ``root``: either ``root/<split>/<id>`` or ``root/<id>``."""
    split_dirs = [root / s for s in SPLITS if (root / s).is_dir()]
    if split_dirs:
        for d in split_dirs:
            for p in sorted(d.iterdir()):
                if p.is_dir():
                    yield p, d.name
        return
    split = root.name if root.name in SPLITS else None
    for p in sorted(root.iterdir()):
        if p.is_dir():
            yield p, split


def load_apps(
    path: str | os.PathLike[str] | None = None,
    *,
    hub_name: str = HUB_NAME,
    difficulties: list[str] | None = None,
) -> TaskList:
    """Load APPS from a folder of problem folders (optionally under ``train/``/``test/``)
    or from the hub.

    Args:
        path: The folder. None loads ``hub_name`` with ``datasets``.
        hub_name: The hub dataset to load when ``path`` is None.
        difficulties: Keep only these difficulty levels.
    """
    if path is None:
        tasks = _load_apps_hub(hub_name)
    else:
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"APPS folder not found: {root}")
        folders = list(_problem_folders(root))
        records = enumerate(folders, start=1)

        def convert(item: tuple[Path, str | None]) -> Task:
            folder, split = item
            try:
                return _read_problem(folder, split)
            except TaskFormatError as exc:
                raise TaskFormatError(exc.reason, file=str(folder), field=exc.field) from None

        tasks = collect_tasks(records, convert, file=str(root), source=f"apps ({root.name})")
    if difficulties is not None:
        tasks = TaskList(
            (t for t in tasks if t.metadata.get("difficulty") in difficulties), source=tasks.source
        )
    return tasks


def _load_apps_hub(hub_name: str) -> TaskList:
    from code_env.tasks.hub import load_hub_rows

    rows = load_hub_rows(hub_name, hint="pass path= to a local folder of APPS problems")

    def convert(split_row: tuple[str | None, Mapping[str, Any]]) -> Task:
        split, row = split_row
        return task_from_fields(
            problem_id=f"{int(row['problem_id']):04d}",
            question=row["question"],
            input_output=row.get("input_output"),
            solutions=row.get("solutions"),
            difficulty=row.get("difficulty"),
            url=row.get("url"),
            starter_code=row.get("starter_code") or None,
            split=split,
        )

    return collect_tasks(
        enumerate(rows, start=1), convert, file=hub_name, source=f"apps ({hub_name})"
    )

"""MBPP (Austin et al. 2021): 974 crowd-sourced Python problems with assert tests.

Two files exist upstream and both load here:

- ``mbpp.jsonl`` (the full set): ``text``, ``code``, ``task_id``, ``test_setup_code``,
  ``test_list``, ``challenge_test_list``;
- ``sanitized-mbpp.json`` (427 hand-verified problems, a JSON array): ``prompt``,
  ``code``, ``task_id``, ``test_imports``, ``test_list``.

Choices, following the dataset's README and Austin et al.:

- Splits by ``task_id``: 1-10 ``prompt`` (few-shot examples), 11-510 ``test``,
  511-600 ``validation``, 601-974 ``train``.
- The prompt is the description, then ``Your code should satisfy these tests:``, then
  the asserts of ``test_list``, one per line. ``example_tests`` are those asserts.
- The hidden ``tests`` are the same asserts plus ``challenge_test_list`` where present:
  a model that sees three asserts in its prompt must still pass the extra ones, and
  every MBPP reference passes them.
- ``test_setup_code`` and ``test_imports`` become the task's ``setup_code`` (run after
  the program, before the tests, in the same namespace).
- ``entry_point`` is the first function the tests call that the reference defines.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from code_env.tasks.jsonl import iter_jsonl
from code_env.tasks.model import (
    Task,
    TaskFormatError,
    TaskList,
    TestCase,
    collect_tasks,
    parse_quietly,
)

#: The hub dataset used when no local path is given.
HUB_NAME = "google-research-datasets/mbpp"
#: MBPP's splits, as its README defines them by task_id.
SPLITS: tuple[str, ...] = ("prompt", "test", "validation", "train")
_FILES = {"full": "mbpp.jsonl", "sanitized": "sanitized-mbpp.json"}


def split_of(task_id: int) -> str:
    """The split of an MBPP task id: 1-10 prompt, 11-510 test, 511-600 validation, 601+ train."""
    if task_id <= 10:
        return "prompt"
    if task_id <= 510:
        return "test"
    if task_id <= 600:
        return "validation"
    return "train"


def format_prompt(description: str, asserts: Iterable[str]) -> str:
    """Austin et al.'s prompt: the description, then the tests the code must satisfy."""
    tests = "\n".join(asserts)
    return f"{description.strip()}\nYour code should satisfy these tests:\n{tests}\n"


def _defined_functions(code: str) -> list[str]:
    try:
        tree = parse_quietly(code)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _called_names(test: str) -> list[str]:
    try:
        tree = parse_quietly(test)
    except SyntaxError:
        return []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    return [c.func.id for c in calls]  # type: ignore[attr-defined]


def entry_point_of(code: str, tests: Iterable[str]) -> str | None:
    """The function the tests exercise: the first called name the reference defines.

    Falls back to the first called name that is not a builtin (for references that
    do not parse), and None when the tests call nothing.
    """
    called = [name for test in tests for name in _called_names(test)]
    defined = set(_defined_functions(code))
    for name in called:
        if name in defined:
            return name
    for name in called:
        if not hasattr(builtins, name):
            return name
    return None


def _text_list(row: Mapping[str, Any], name: str) -> list[str]:
    value = row.get(name) or []
    if isinstance(value, str):  # some exports store lists as JSON text
        value = json.loads(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaskFormatError("must be a list of strings", field=name)
    return [v.replace("\r\n", "\n") for v in value]


def task_from_row(row: Mapping[str, Any]) -> Task:
    """Convert one MBPP record (full or sanitized schema) to a :class:`Task`."""
    if "task_id" not in row:
        raise TaskFormatError("missing", field="task_id")
    try:
        number = int(row["task_id"])
    except (TypeError, ValueError):
        raise TaskFormatError(f"not an integer: {row['task_id']!r}", field="task_id") from None
    variant = "sanitized" if "prompt" in row and "text" not in row else "full"
    description_field = "prompt" if variant == "sanitized" else "text"
    description = row.get(description_field)
    if not isinstance(description, str) or not description.strip():
        raise TaskFormatError("missing or empty", field=description_field)
    code = row.get("code")
    if not isinstance(code, str):
        raise TaskFormatError("missing or not text", field="code")
    code = code.replace("\r\n", "\n")
    asserts = _text_list(row, "test_list")
    if not asserts:
        raise TaskFormatError("no tests", field="test_list")
    challenge = _text_list(row, "challenge_test_list")
    setup_parts = []
    if row.get("test_setup_code"):
        setup_parts.append(str(row["test_setup_code"]).replace("\r\n", "\n"))
    setup_parts.extend(_text_list(row, "test_imports"))
    example_tests = [TestCase(kind="assert", code=a) for a in asserts]
    hidden = example_tests + [TestCase(kind="assert", code=a) for a in challenge]
    return Task(
        task_id=f"MBPP/{number}",
        prompt=format_prompt(description, asserts),
        tests=hidden,
        example_tests=example_tests,
        entry_point=entry_point_of(code, asserts),
        setup_code="\n".join(setup_parts),
        solutions=[code],
        metadata={
            "source": "mbpp",
            "variant": variant,
            "split": split_of(number),
            "n_challenge_tests": len(challenge),
        },
    )


def _rows_from_file(path: Path) -> Iterable[tuple[int, Mapping[str, Any]]]:
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TaskFormatError(
                f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno
            ) from None
        if not isinstance(data, list):
            raise TaskFormatError("expected a JSON array of MBPP records", file=str(path))
        # A JSON array has no useful line numbers; report the record's index instead.
        return ((i, row) for i, row in enumerate(data, start=1))
    return iter_jsonl(path)


def _resolve_path(path: str | os.PathLike[str], variant: str | None) -> Path:
    p = Path(path)
    if p.is_dir():
        names = [_FILES[variant]] if variant else [_FILES["full"], _FILES["sanitized"]]
        for name in names:
            if (p / name).is_file():
                return p / name
        raise FileNotFoundError(f"no {' or '.join(names)} in {p}")
    if not p.is_file():
        raise FileNotFoundError(f"MBPP file not found: {p}")
    return p


def load_mbpp(
    path: str | os.PathLike[str] | None = None,
    *,
    variant: str | None = None,
    hub_name: str = HUB_NAME,
) -> TaskList:
    """Load MBPP from a local file or folder, or from the Hugging Face hub.

    Args:
        path: ``mbpp.jsonl``, ``sanitized-mbpp.json``, or a folder holding either
            (the full set is preferred). None loads ``hub_name`` with ``datasets``.
        variant: ``"full"`` or ``"sanitized"``; picks the file in a folder or the hub
            configuration. Default: the full set.
        hub_name: The hub dataset to load when ``path`` is None.
    """
    if variant is not None and variant not in _FILES:
        raise ValueError(f"unknown MBPP variant {variant!r}; valid: {', '.join(_FILES)}")
    if path is None:
        return _load_mbpp_hub(hub_name, variant or "full")
    file = _resolve_path(path, variant)
    return collect_tasks(
        _rows_from_file(file), task_from_row, file=str(file), source=f"mbpp ({file.name})"
    )


def _load_mbpp_hub(hub_name: str, variant: str) -> TaskList:
    from code_env.tasks.hub import load_hub_rows

    rows = load_hub_rows(hub_name, variant, hint="pass path= to a local mbpp.jsonl")
    tasks = collect_tasks(
        enumerate((row for _, row in rows), start=1),
        task_from_row,
        file=f"{hub_name} ({variant})",
        source=f"mbpp ({hub_name}, {variant})",
    )
    tasks.sort(key=lambda t: int(t.task_id.split("/")[1]))
    return tasks

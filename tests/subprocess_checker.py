"""A plain subprocess checker for tests, until the real sandbox exists.

:func:`check_program` runs a program against a task's tests in a child Python process
and decides the verdicts in the parent, with the project's grading rules
(``call`` values compare with a float tolerance, a tuple equals a list with the same
items; ``stdio`` output compares line by line with trailing whitespace stripped and
trailing empty lines ignored). All tests of one kind run in one child, so a task costs
one process start. It isolates nothing beyond the process boundary: use it only on
trusted code (reference solutions and hand-written wrong bodies).
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from code_env.tasks.model import Task, TestCase

# The child: reads {"kind", "program", "setup", "tests"} from a JSON file and writes one
# result per test to another, so that what the program prints cannot spoil the results.
_RUNNER = r"""
import io
import json
import sys


def describe(exc):
    return f"{type(exc).__name__}: {exc}"


def main():
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    kind, tests = spec["kind"], spec["tests"]
    results = []
    real_stdin, real_stdout = sys.stdin, sys.stdout
    if kind == "stdio":
        try:
            code = compile(spec["program"], "<program>", "exec")
        except SyntaxError as exc:
            code, error = None, describe(exc)
        for test in tests:
            if code is None:
                results.append({"error": error})
                continue
            sys.stdin, sys.stdout = io.StringIO(test["input"]), io.StringIO()
            error = None
            try:
                exec(code, {"__name__": "__main__"})
            except SystemExit as exc:
                if exc.code not in (None, 0):
                    error = f"SystemExit: {exc.code!r}"
            except BaseException as exc:
                error = describe(exc)
            finally:
                output = sys.stdout.getvalue()
                sys.stdin, sys.stdout = real_stdin, real_stdout
            results.append({"error": error, "output": output})
    else:
        namespace = {"__name__": "solution"}
        sys.stdout = io.StringIO()
        try:
            exec(compile(spec["program"], "<program>", "exec"), namespace)
            exec(compile(spec["setup"], "<setup>", "exec"), namespace)
            load_error = None
        except BaseException as exc:
            load_error = "the program failed to load: " + describe(exc)
        for test in tests:
            if load_error is not None:
                results.append({"error": load_error})
                continue
            try:
                if kind == "call":
                    if test["fn"] not in namespace:
                        raise NameError(f"name {test['fn']!r} is not defined")
                    value = namespace[test["fn"]](*test["args"])
                    results.append({"error": None, "value": repr(value)})
                else:
                    exec(compile(test["code"], "<test>", "exec"), namespace)
                    results.append({"error": None})
            except BaseException as exc:
                results.append({"error": describe(exc)})
        sys.stdout = real_stdout
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(results, fh)


main()
"""

REL_TOL = 1e-6
ABS_TOL = 1e-9


def values_equal(got: Any, expected: Any) -> bool:
    """Python ``==``, except floats (anywhere inside) compare with a tolerance and a
    tuple equals a list with the same items."""
    if isinstance(got, float) or isinstance(expected, float):
        numbers = (int, float)
        if isinstance(got, numbers) and isinstance(expected, numbers):
            if isinstance(got, bool) or isinstance(expected, bool):
                return got == expected
            return math.isclose(got, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL)
        return False
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        return len(got) == len(expected) and all(
            values_equal(a, b) for a, b in zip(got, expected, strict=True)
        )
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(values_equal(got[k], expected[k]) for k in got)
    return got == expected


def output_lines(text: str) -> list[str]:
    """Lines with trailing whitespace stripped and trailing empty lines dropped."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _verdict(test: TestCase, result: dict[str, Any]) -> str | None:
    """None if the test passed, else why it failed."""
    if result.get("error"):
        return result["error"]
    if test.kind == "call":
        try:
            got = ast.literal_eval(result["value"])
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return f"returned {result['value'][:200]}, not a plain value"
        return None if values_equal(got, test.expected) else f"got {got!r}"
    if test.kind == "stdio":
        if output_lines(result["output"]) == output_lines(test.expected):
            return None
        return f"printed {result['output'][:200]!r}"
    return None


def _run_kind(
    program: str, task: Task, kind: str, tests: list[TestCase], timeout: float
) -> list[str | None]:
    """Run the tests of one kind in one child process; a verdict per test."""
    with tempfile.TemporaryDirectory(prefix="checker-") as tmp:
        spec_path, out_path = Path(tmp, "spec.json"), Path(tmp, "results.json")
        spec = {
            "kind": kind,
            "program": program,
            "setup": task.setup_code,
            "tests": [t.to_dict() for t in tests],
        }
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-c", _RUNNER, str(spec_path), str(out_path)],
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return [f"timeout after {timeout} s"] * len(tests)
        if not out_path.is_file():
            why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            return [f"the child process died: {why}"] * len(tests)
        results = json.loads(out_path.read_text(encoding="utf-8"))
    return [_verdict(t, r) for t, r in zip(tests, results, strict=True)]


def check_program(
    program: str, task: Task, tests: list[TestCase] | None = None, timeout: float = 10
) -> tuple[int, int, list[str]]:
    """Run ``program`` against ``tests`` (``task.tests`` by default).

    Args:
        program: The whole program, e.g. ``task.program(task.solutions[0])``.
        task: The task; its ``setup_code`` runs after the program.
        tests: The tests to run, of any kinds.
        timeout: Seconds allowed for each child process (one per test kind).

    Returns:
        ``(n_passed, n_tests, failures)``, each failure a message naming the test.
    """
    tests = list(task.tests if tests is None else tests)
    verdicts: list[str | None] = [None] * len(tests)
    for kind in dict.fromkeys(t.kind for t in tests):
        index = [i for i, t in enumerate(tests) if t.kind == kind]
        found = _run_kind(program, task, kind, [tests[i] for i in index], timeout)
        for i, verdict in zip(index, found, strict=True):
            verdicts[i] = verdict
    failures = [
        f"{task.task_id}: {test.describe()}: {verdict}"
        for test, verdict in zip(tests, verdicts, strict=True)
        if verdict is not None
    ]
    return len(tests) - len(failures), len(tests), failures

"""The parent's side of grading: decode what the child sent, compare, decide.

Nothing here trusts the child: values arrive as tagged JSON (see
``harness.encode_value``) and are rebuilt as plain Python data before any comparison,
so a returned object cannot take part in its own judgement. Every step is total:
whatever the child sent, judging it gives a verdict and raises nothing (a value that
cannot be rebuilt fails its test, docs/sandbox.md).

Comparison rules (docs/sandbox.md):

* values compare with Python's ``==`` (a set equals a set with the same items in any
  order, bytes equal bytes), except that floats, and the parts of complex numbers,
  anywhere inside lists, tuples and dict values, compare with
  ``math.isclose(rel_tol, abs_tol)``;
* in ``call`` tests a tuple and a list with the same items are equal; in asserts they
  are not, as in Python;
* stdio output compares line by line with trailing whitespace stripped and trailing
  empty lines ignored; leading whitespace counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from code_env.sandbox.harness import DecodeError, decode_value
from code_env.sandbox.plan import Check, NotSplittable, evaluate
from code_env.sandbox.result import ExecutionResult, Outcome, TestResult

__all__ = [
    "DecodeError",
    "assemble",
    "decode_value",
    "judge_test",
    "stdio_equal",
    "values_equal",
]


def values_equal(
    actual: Any,
    expected: Any,
    *,
    seq_equal: bool = False,
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-9,
) -> bool:
    """Python's ``==`` with a tolerance for floats, recursively (see the module doc)."""
    if isinstance(actual, complex) or isinstance(expected, complex):
        numbers = (int, float, complex)
        if isinstance(actual, numbers) and isinstance(expected, numbers):
            a, e = complex(actual), complex(expected)
            return values_equal(a.real, e.real, rel_tol=rel_tol, abs_tol=abs_tol) and values_equal(
                a.imag, e.imag, rel_tol=rel_tol, abs_tol=abs_tol
            )
        return False
    if isinstance(actual, float) or isinstance(expected, float):
        if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
            if math.isnan(actual) or math.isnan(expected):
                return False
            if math.isinf(actual) or math.isinf(expected):
                return actual == expected
            return math.isclose(actual, expected, rel_tol=rel_tol, abs_tol=abs_tol)
        return False
    seq = (list, tuple)
    if isinstance(actual, seq) and isinstance(expected, seq):
        if type(actual) is not type(expected) and not seq_equal:
            return False
        return len(actual) == len(expected) and all(
            values_equal(a, e, seq_equal=seq_equal, rel_tol=rel_tol, abs_tol=abs_tol)
            for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(actual, dict) and isinstance(expected, dict):
        if actual.keys() != expected.keys():
            return False
        return all(
            values_equal(
                actual[k], expected[k], seq_equal=seq_equal, rel_tol=rel_tol, abs_tol=abs_tol
            )
            for k in expected
        )
    try:
        return bool(actual == expected)
    except Exception:
        return False


def stdio_equal(actual: str, expected: str) -> bool:
    """Output comparison: per line, trailing whitespace and trailing blank lines ignored."""

    def lines(text: str) -> list[str]:
        out = [line.rstrip() for line in text.splitlines()]
        while out and not out[-1]:
            out.pop()
        return out

    return lines(actual) == lines(expected)


def _short(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except (RecursionError, MemoryError, ValueError):  # ValueError: an int too long
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge_test(index: int, event: dict, check: Check, rel_tol: float, abs_tol: float) -> TestResult:
    """The verdict on one test from the child's result event (never raises)."""
    try:
        return _judge_test(index, event, check, rel_tol, abs_tol)
    except (RecursionError, MemoryError) as exc:  # a value too deep or large to compare
        return TestResult(
            index,
            False,
            message=f"the value could not be compared ({type(exc).__name__})",
            evidence=check.evidence,
        )


def _judge_test(
    index: int, event: dict, check: Check, rel_tol: float, abs_tol: float
) -> TestResult:
    evidence = check.evidence
    if "error" in event:
        return TestResult(
            index,
            False,
            error=str(event["error"]) or "error",
            message=str(event.get("msg", ""))[:500],
            evidence=evidence,
        )
    if "unserializable" in event:
        return TestResult(
            index,
            False,
            message=f"the value is not data: {str(event['unserializable'])[:200]}",
            evidence=evidence,
        )
    if check.kind == "stdio":
        output = event.get("stdout", "")
        ok = isinstance(output, str) and stdio_equal(output, check.expected)
        return TestResult(index, ok, evidence=evidence, actual=_short(output))
    if check.kind == "opaque":
        return TestResult(index, True, evidence=evidence)
    try:
        raw = event.get("values")
        if not isinstance(raw, list):
            raise DecodeError("no values")
        values = [decode_value(v) for v in raw]
    except DecodeError as exc:
        return TestResult(index, False, message=f"malformed value: {exc}", evidence=evidence)
    actual = _short(values[0] if len(values) == 1 else tuple(values))
    if check.kind == "value":
        if len(values) != 1:
            return TestResult(index, False, message="malformed value", evidence=evidence)
        ok = values_equal(
            values[0], check.expected, seq_equal=check.seq_equal, rel_tol=rel_tol, abs_tol=abs_tol
        )
        return TestResult(index, ok, evidence=evidence, actual=actual)

    def equal(a: Any, b: Any) -> bool:
        return values_equal(a, b, rel_tol=rel_tol, abs_tol=abs_tol)

    try:
        held = bool(evaluate(check.tree, values, equal=equal))
    except (IndexError, NotSplittable) as exc:
        return TestResult(index, False, message=f"malformed values: {exc}", evidence=evidence)
    except Exception as exc:  # what the assert itself would raise, e.g. TypeError
        return TestResult(
            index,
            False,
            error=type(exc).__name__.lower(),
            message=str(exc)[:500],
            evidence=evidence,
            actual=actual,
        )
    return TestResult(
        index, held, evidence=evidence, actual=actual, message="" if held else "assertion failed"
    )


def assemble(
    events: Sequence[dict],
    checks: Sequence[Check],
    *,
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-9,
    stop_on_failure: bool = False,
) -> ExecutionResult:
    """Turn a job's events into an :class:`ExecutionResult`.

    Precedence: COMPILE_ERROR > RUNTIME_ERROR (import failed, or any test raised,
    timed out or hit a limit) > FAILED_TEST > PASSED. The subtype is that of the
    first error in test order. With ``stop_on_failure``, every test after the first
    failure counts as ``stopped`` whether or not it had finished before the stop
    reached the child, so that the result does not depend on timing.
    """
    n = len(checks)
    end = next((e for e in events if e.get("ev") == "end"), {})
    common: dict[str, Any] = {
        "stdout": end.get("stdout", ""),
        "stderr": end.get("stderr", ""),
        "duration_s": float(end.get("duration_s", 0.0)),
    }
    # The program's compile warnings (SyntaxWarning...), kept here instead of printed.
    compile_warnings = [
        str(w) for e in events if e.get("ev") == "warnings" for w in e.get("warnings", [])
    ]
    if compile_warnings:
        common["extra"] = {"compile_warnings": compile_warnings}
    compile_event = next((e for e in events if e.get("ev") == "compile"), None)
    if compile_event is not None:
        return ExecutionResult(
            Outcome.COMPILE_ERROR,
            compile_event.get("error", "syntaxerror"),
            0,
            n,
            message=compile_event.get("msg", ""),
            error_line=compile_event.get("lineno"),
            **common,
        )
    task_error = next((e for e in events if e.get("ev") in ("task_error", "sandbox_error")), None)
    if task_error is not None:
        return ExecutionResult(
            Outcome.RUNTIME_ERROR, "sandboxerror", 0, n, message=task_error.get("msg", ""), **common
        )
    import_event = next((e for e in events if e.get("ev") == "import"), None)
    if import_event is not None and "error" in import_event:
        return ExecutionResult(
            Outcome.RUNTIME_ERROR,
            str(import_event["error"]) or "error",
            0,
            n,
            message=str(import_event.get("msg", "")),
            **common,
        )
    by_index = {e["i"]: e for e in events if e.get("ev") == "result" and type(e.get("i")) is int}
    # A streamed message the front could not read stands for a result it lacks.
    missing = (
        {"error": "protocol", "msg": "unreadable result message"}
        if any(e.get("ev") == "unreadable" for e in events)
        else {"error": "notrun", "msg": "no result"}
    )
    results = []
    for i, check in enumerate(checks):
        event = by_index.get(i, missing)
        verdict = judge_test(i, event, check, rel_tol, abs_tol)
        if stop_on_failure and results and not all(r.passed for r in results):
            verdict = TestResult(
                i,
                False,
                error="stopped",
                message="after an earlier failure",
                evidence=verdict.evidence,
            )
        results.append(verdict)
    n_passed = sum(r.passed for r in results)
    first_error = next((r for r in results if r.error not in (None, "stopped")), None)
    if first_error is not None:
        outcome, subtype, message = Outcome.RUNTIME_ERROR, first_error.error, first_error.message
    elif n_passed < n:
        first_fail = next(r for r in results if not r.passed)
        outcome, subtype, message = Outcome.FAILED_TEST, None, first_fail.message
    else:
        outcome, subtype, message = Outcome.PASSED, None, ""
    return ExecutionResult(outcome, subtype, n_passed, n, tuple(results), message=message, **common)

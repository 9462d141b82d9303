"""Turn test cases into what the child runs and what the parent checks.

The child gets *instructions*: call this function with these arguments, evaluate this
expression, or run this statement. The parent keeps the *check*: the expected value
and how to compare. An assert of the form ``assert <expr> <op> <expected>``, where
``<expected>`` can be evaluated without the program (a literal, or a call such as
``set((1, 2))`` on literals), becomes "evaluate ``<expr>`` and send its value"; the
expected side never enters the child. Other asserts run in the child, which reports
whether they held; those verdicts are marked ``opaque``.
"""

from __future__ import annotations

import ast
import functools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from code_env.tasks.model import TestCase, parse_quietly

# Calls allowed on the expected side, evaluated in the parent on literal arguments.
_SAFE_CALLS: dict[str, Callable[..., Any]] = {
    "set": set,
    "frozenset": frozenset,
    "tuple": tuple,
    "list": list,
    "dict": dict,
    "float": float,
    "int": int,
    "str": str,
    "bool": bool,
    "complex": complex,
    "sorted": sorted,
    "abs": abs,
    "round": round,
    "bytes": bytes,
    "len": len,
}
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE_OPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
# a op b  ->  b mirrored(op) a, for an expected value on the left
_MIRRORED = {
    "==": "==",
    "!=": "!=",
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
    "is": "is",
    "is not": "is not",
}


class NotSafe(Exception):
    """The expression needs the program to evaluate."""


def safe_eval(node: ast.AST, budget: list[int] | None = None) -> Any:
    """Evaluate a side-effect-free expression of literals in the parent.

    Supports literals, containers, unary/binary arithmetic on small numbers, and calls
    to a few constructors (``set``, ``tuple``, ``float``, ``sorted`` ...) with literal
    arguments. Raises :class:`NotSafe` for anything else.
    """
    budget = budget if budget is not None else [10_000]
    budget[0] -= 1
    if budget[0] < 0:
        raise NotSafe("too large")
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [safe_eval(e, budget) for e in node.elts]
        return {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise NotSafe("dict unpacking")
        return {
            safe_eval(k, budget): safe_eval(v, budget)
            for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        value = safe_eval(node.operand, budget)
        if isinstance(node.op, ast.Not):
            return not value
        if not isinstance(value, (int, float, complex)):
            raise NotSafe("unary operator on a non-number")
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = safe_eval(node.left, budget), safe_eval(node.right, budget)
        if isinstance(node.op, ast.Pow) and (
            not isinstance(right, (int, float)) or abs(right) > 64
        ):
            raise NotSafe("large power")
        if (
            isinstance(node.op, ast.Mult)
            and any(isinstance(v, (str, bytes, list, tuple)) for v in (left, right))
            and max(len(v) if hasattr(v, "__len__") else v for v in (left, right)) > 10_000
        ):
            raise NotSafe("large repetition")
        try:
            return _BINOPS[type(node.op)](left, right)
        except Exception as exc:
            raise NotSafe(str(exc)) from None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _SAFE_CALLS
        and not node.keywords
    ):
        args = [safe_eval(a, budget) for a in node.args]
        try:
            return _SAFE_CALLS[node.func.id](*args)
        except Exception as exc:
            raise NotSafe(str(exc)) from None
    raise NotSafe(type(node).__name__)


@dataclass(frozen=True)
class Check:
    """How the parent judges one test from what the child sent."""

    kind: str
    """``value`` (compare the value), ``truth`` (the child reports a truth value),
    ``opaque`` (the statement ran without raising), ``stdio`` (compare output)."""
    op: str = "=="
    """Comparison for ``value`` checks: ``actual <op> expected``."""
    expected: Any = None
    """The expected value or output (kept in the parent)."""
    seq_equal: bool = False
    """Tuples and lists with the same items are equal (``call`` tests: JSON has no tuple)."""
    negate: bool = False
    """``truth`` checks: the test holds when the value is false (``assert not x``)."""

    @property
    def evidence(self) -> str:
        """``value`` when an expected value the child never saw decides the test."""
        if self.kind == "stdio" or (self.kind == "value" and self.op == "=="):
            return "value"
        return "opaque"


@dataclass(frozen=True)
class PlannedTest:
    """One test: the child's instruction and the parent's check."""

    instruction: dict[str, Any]
    check: Check


def _truth_test(expr: ast.expr, negate: bool) -> PlannedTest:
    return PlannedTest(
        {"op": "eval", "code": ast.unparse(expr), "want": "truth"},
        Check(kind="truth", negate=negate),
    )


@functools.lru_cache(maxsize=65_536)
def plan_assert(code: str) -> PlannedTest:
    """Plan an ``assert`` test (cached: RL grades the same tests many times)."""
    try:
        tree = parse_quietly(code)
    except SyntaxError:
        return PlannedTest({"op": "exec", "code": code}, Check(kind="opaque"))
    body = tree.body  # type: ignore[attr-defined]
    if len(body) != 1 or not isinstance(body[0], ast.Assert):
        return PlannedTest({"op": "exec", "code": code}, Check(kind="opaque"))
    test = body[0].test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _COMPARE_OPS:
        op = _COMPARE_OPS[type(test.ops[0])]
        left, right = test.left, test.comparators[0]
        sides: list[tuple[ast.expr, Any, str]] = []
        try:
            sides.append((left, safe_eval(right), op))
        except NotSafe:
            pass
        if not sides and op in _MIRRORED:
            try:
                sides.append((right, safe_eval(left), _MIRRORED[op]))
            except NotSafe:
                pass
        if sides:
            expr, expected, op = sides[0]
            if _contains_program(expr):
                return PlannedTest(
                    {"op": "eval", "code": ast.unparse(expr), "want": "value"},
                    Check(kind="value", op=op, expected=expected),
                )
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _truth_test(test.operand, negate=True)
    return _truth_test(test, negate=False)


def _contains_program(expr: ast.expr) -> bool:
    """True unless the expression is itself evaluable without the program."""
    try:
        safe_eval(expr)
    except NotSafe:
        return True
    return False


def plan_test(test: TestCase) -> PlannedTest:
    """Plan any test case (``call``, ``assert``; ``stdio`` tests run per input)."""
    if test.kind == "call":
        return PlannedTest(
            {"op": "call", "fn": test.fn, "args": json.dumps(test.args)},
            Check(kind="value", expected=test.expected, seq_equal=True),
        )
    if test.kind == "assert":
        return plan_assert(test.code or "")
    return PlannedTest({"op": "stdio"}, Check(kind="stdio", expected=test.expected))

"""Turn test cases into what the child runs and what the parent checks.

The child gets *instructions*: call this function with these arguments, or evaluate
these expressions and send their values. The parent keeps the *check*: expected
values and every operation applied to the program's values.

An assert is split at the program's boundary. In
``assert abs(candidate(1.33) - 0.33) < 1e-6`` the only part that needs the program is
``candidate(1.33)``: the child evaluates that call and sends the value, and the parent
computes ``abs(value - 0.33) < 1e-6`` itself, with the real ``abs`` on plain data. So
neither a patched builtin nor an object with a lying ``__sub__`` or ``__eq__`` can turn
a wrong answer into a pass, and the expected side (``0.33``, ``1e-6``) never enters the
child. Asserts that cannot be split (comprehensions, lambdas, several statements,
``and``/``or`` whose later operands call the program) run whole in the child, which
reports whether they raised; their verdicts are marked ``opaque``.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from code_env.sandbox.harness import encode_value
from code_env.tasks.model import TestCase, parse_quietly

#: Builtins the parent may call on plain data (all pure).
SAFE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "bytes": bytes,
    "complex": complex,
    "dict": dict,
    "enumerate": enumerate,
    "float": float,
    "frozenset": frozenset,
    "int": int,
    "isinstance": isinstance,
    "len": len,
    "list": list,
    "max": max,
    "min": min,
    "range": range,
    "repr": repr,
    "reversed": reversed,
    "round": round,
    "set": set,
    "sorted": sorted,
    "str": str,
    "sum": sum,
    "tuple": tuple,
    "type": type,
    "zip": zip,
}
#: Names that are values rather than functions, usable as ``isinstance`` arguments etc.
SAFE_NAMES: dict[str, Any] = {
    "True": True,
    "False": False,
    "None": None,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "bytes": bytes,
    "complex": complex,
    "type": type,
}
#: ``math`` functions the parent may call.
SAFE_MATH = {
    name: getattr(math, name)
    for name in (
        "isclose",
        "fabs",
        "sqrt",
        "floor",
        "ceil",
        "isnan",
        "isinf",
        "pi",
        "e",
        "inf",
        "log",
        "log2",
        "log10",
        "exp",
        "pow",
        "gcd",
        "factorial",
        "trunc",
        "isqrt",
        "comb",
        "perm",
        "prod",
        "fsum",
        "hypot",
        "copysign",
    )
}
#: Methods the parent may call on plain data (no side effects beyond the copy).
SAFE_METHODS = frozenset(
    {
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "split",
        "rsplit",
        "splitlines",
        "count",
        "index",
        "find",
        "rfind",
        "startswith",
        "endswith",
        "keys",
        "values",
        "items",
        "get",
        "copy",
        "isdigit",
        "isalpha",
        "isalnum",
        "isspace",
        "islower",
        "isupper",
        "replace",
        "join",
        "title",
        "capitalize",
        "swapcase",
        "casefold",
        "issubset",
        "issuperset",
        "isdisjoint",
        "union",
        "intersection",
        "difference",
        "real",
        "imag",
    }
)
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}
_UNARY = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    ast.Invert: operator.invert,
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
_PLACEHOLDER = "__code_env_value_{}__"


class NotSplittable(Exception):
    """The expression cannot be split at the program's boundary."""


class Budget:
    """A bound on the parent's work for one expression (no ``10**10**10`` surprises)."""

    def __init__(self, steps: int = 100_000) -> None:
        self.steps = steps

    def spend(self, node: ast.AST) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise ValueError("expected-side expression too large to evaluate")


def _guard_size(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100_000:
        raise OverflowError("integer too large")
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > 10_000_000:
        raise MemoryError("value too large")
    return value


def evaluate(
    node: ast.AST,
    values: list[Any],
    *,
    equal: Callable[[Any, Any], bool] = operator.eq,
    budget: Budget | None = None,
) -> Any:
    """Evaluate a split expression in the parent.

    ``values`` fill the placeholders the split put where the program's
    sub-expressions were; ``equal`` implements ``==`` (the sandbox passes its
    float-tolerant comparison). Raises what Python would (``TypeError`` for
    ``None - 1``...), which the caller reports as the test's error.
    """
    budget = budget or Budget()
    budget.spend(node)

    def ev(n: ast.AST) -> Any:
        return evaluate(n, values, equal=equal, budget=budget)

    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id.startswith("__code_env_value_"):
            return values[int(node.id.removeprefix("__code_env_value_").removesuffix("__"))]
        if node.id in SAFE_NAMES:
            return SAFE_NAMES[node.id]
        raise NameError(f"name '{node.id}' is not defined")
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [ev(e) for e in node.elts]
        return {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        return {ev(k): ev(v) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](ev(node.operand))
    if isinstance(node, ast.BinOp):
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Pow) and isinstance(right, int) and abs(right) > 10_000:
            raise OverflowError("exponent too large")
        if (
            isinstance(node.op, ast.Mult)
            and isinstance(left, (str, bytes, list, tuple))
            and isinstance(right, int)
            and len(left) * right > 10_000_000
        ):
            raise MemoryError("value too large")
        return _guard_size(_BINOPS[type(node.op)](left, right))
    if isinstance(node, ast.BoolOp):
        result = ev(node.values[0])
        for operand in node.values[1:]:
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
            result = ev(operand)
        return result
    if isinstance(node, ast.IfExp):
        return ev(node.body) if ev(node.test) else ev(node.orelse)
    if isinstance(node, ast.Compare):
        left = ev(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = ev(comparator)
            if not compare(_COMPARE_OPS[type(op)], left, right, equal):
                return False
            left = right
        return True
    if isinstance(node, ast.Subscript):
        return ev(node.value)[ev(node.slice)]
    if isinstance(node, ast.Slice):
        return slice(
            *(ev(p) if p is not None else None for p in (node.lower, node.upper, node.step))
        )
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "math":
            return SAFE_MATH[node.attr]
        if node.attr in SAFE_METHODS:
            return getattr(ev(node.value), node.attr)
        raise NotSplittable(f"attribute {node.attr}")
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id in SAFE_FUNCTIONS:
            func = SAFE_FUNCTIONS[node.func.id]
        else:
            func = ev(node.func)
        args = [ev(a) for a in node.args]
        kwargs = {k.arg: ev(k.value) for k in node.keywords}
        return _guard_size(func(*args, **kwargs))
    raise NotSplittable(type(node).__name__)


def compare(op: str, left: Any, right: Any, equal: Callable[[Any, Any], bool]) -> bool:
    """One comparison, with ``equal`` for ``==`` and ``!=``."""
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    return {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "is": operator.is_,
        "is not": operator.is_not,
        "in": lambda a, b: a in b,
        "not in": lambda a, b: a not in b,
    }[op](left, right)


_PARENT_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Dict,
    ast.UnaryOp,
    ast.BinOp,
    ast.BoolOp,
    ast.IfExp,
    ast.Compare,
    ast.Subscript,
    ast.Slice,
    ast.keyword,
    ast.expr_context,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
)


def _node_is_safe(node: ast.AST, program_names: frozenset[str]) -> bool:
    """True if :func:`evaluate` can compute this node itself (its children aside)."""
    if isinstance(node, ast.Name):
        return node.id not in program_names and (
            node.id in SAFE_NAMES or node.id in SAFE_FUNCTIONS or node.id == "math"
        )
    if isinstance(node, ast.Attribute):
        is_math = isinstance(node.value, ast.Name) and node.value.id == "math"
        return node.attr in SAFE_METHODS or (is_math and node.attr in SAFE_MATH)
    if isinstance(node, ast.Call):
        return not any(isinstance(a, ast.Starred) for a in node.args) and not any(
            k.arg is None for k in node.keywords
        )
    return isinstance(node, _PARENT_NODES)


def _children(node: ast.AST) -> list[ast.AST]:
    """The expression children of a node (operators and contexts left out: the common
    node types spelled out, since ``ast.iter_child_nodes`` is slow)."""
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return node.elts  # type: ignore[return-value]
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators]
    if isinstance(node, ast.Call):
        return [node.func, *node.args, *(k.value for k in node.keywords)]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Dict):
        return [k for k in node.keys if k is not None] + node.values  # type: ignore[operator]
    if isinstance(node, (ast.Name,)):
        return []
    if isinstance(node, ast.Attribute):
        return [node.value]
    if isinstance(node, ast.Subscript):
        return [node.value, node.slice]
    if isinstance(node, ast.BoolOp):
        return node.values  # type: ignore[return-value]
    return [
        c
        for c in ast.iter_child_nodes(node)
        if not isinstance(c, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop))
    ]


def _is_literal(node: ast.AST) -> bool:
    """A constant, or containers (and signs) of constants: the bulk of expected values,
    checked with cheap type tests."""
    kind = type(node)
    if kind is ast.Constant:
        return True
    if kind is ast.List or kind is ast.Tuple or kind is ast.Set:
        return all(_is_literal(e) for e in node.elts)  # type: ignore[attr-defined]
    if kind is ast.Dict:
        return all(k is not None and _is_literal(k) for k in node.keys) and all(  # type: ignore[attr-defined]
            _is_literal(v)
            for v in node.values  # type: ignore[attr-defined]
        )
    if kind is ast.UnaryOp:
        return type(node.op) in (ast.USub, ast.UAdd) and _is_literal(node.operand)  # type: ignore[attr-defined]
    return False


def _evaluable_nodes(root: ast.AST, program_names: frozenset[str]) -> set[int]:
    """The ids of every node whose whole subtree the parent can evaluate (one pass; a
    literal subtree is recorded by its root only, which is all the splitter asks)."""
    evaluable: set[int] = set()

    def visit(node: ast.AST) -> bool:
        if _is_literal(node):
            evaluable.add(id(node))
            return True
        ok = _node_is_safe(node, program_names)
        for child in _children(node):
            ok = visit(child) and ok
        if ok:
            evaluable.add(id(node))
        return ok

    visit(root)
    return evaluable


def _parent_evaluable(node: ast.AST, program_names: frozenset[str] = frozenset()) -> bool:
    """True if :func:`evaluate` can compute the node without the program."""
    return id(node) in _evaluable_nodes(node, program_names)


class _Splitter:
    """Replace the program's sub-expressions with placeholders, collecting them."""

    def __init__(self, program_names: frozenset[str], source: str, root: ast.AST) -> None:
        self.leaves: list[str] = []
        self.program_names = program_names
        self.source = source
        self.lines = source.encode("utf-8").split(b"\n")
        self.evaluable = _evaluable_nodes(root, program_names)

    def segment(self, node: ast.expr) -> str:
        """The node's source text (offsets are UTF-8 byte columns)."""
        if node.lineno == node.end_lineno and node.end_col_offset is not None:
            line = self.lines[node.lineno - 1]
            return line[node.col_offset : node.end_col_offset].decode("utf-8")
        text = ast.get_source_segment(self.source, node)
        return text if text is not None else ast.unparse(node)

    def leaf(self, node: ast.expr) -> ast.expr:
        self.leaves.append(self.segment(node))
        return ast.Name(id=_PLACEHOLDER.format(len(self.leaves) - 1), ctx=ast.Load())

    def split(self, node: ast.expr) -> ast.expr:
        if id(node) in self.evaluable:
            if isinstance(node, (ast.Name, ast.Attribute)):
                return node  # a function or a name: looked up when judged
            # Needs nothing from the program: compute it once, here, not at every judging.
            try:
                return ast.Constant(value=evaluate(node, []))
            except Exception:
                return node  # it raises: let it raise when judged, as Python would
        if isinstance(node, ast.Name):
            return self.leaf(node)
        if isinstance(node, ast.Call):
            func = node.func
            calls_safe = (
                isinstance(func, ast.Name)
                and func.id in SAFE_FUNCTIONS
                and func.id not in self.program_names
            ) or (
                isinstance(func, ast.Attribute)
                and (
                    func.attr in SAFE_METHODS
                    or (isinstance(func.value, ast.Name) and func.value.id == "math")
                )
            )
            if not calls_safe:
                return self.leaf(node)  # the program's own function: the child calls it
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise NotSplittable("starred arguments")
            new_func = func if isinstance(func, ast.Name) else self.split(func)
            return ast.Call(
                func=new_func,
                args=[self.split(a) for a in node.args],
                keywords=[
                    ast.keyword(arg=k.arg, value=self.split(k.value))
                    for k in node.keywords
                    if k.arg is not None
                ],
            )
        if isinstance(node, ast.Attribute):
            if node.attr in SAFE_METHODS:
                return ast.Attribute(value=self.split(node.value), attr=node.attr, ctx=ast.Load())
            return self.leaf(node)  # e.g. Solution().method or obj.field
        if isinstance(node, ast.Compare):
            return ast.Compare(
                left=self.split(node.left),
                ops=node.ops,
                comparators=[self.split(c) for c in node.comparators],
            )
        if isinstance(node, ast.BinOp):
            return ast.BinOp(left=self.split(node.left), op=node.op, right=self.split(node.right))
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(op=node.op, operand=self.split(node.operand))
        if isinstance(node, ast.BoolOp):
            # Python would not evaluate later operands after a decisive one; the child
            # evaluates every leaf, so only the first operand may call the program.
            if not all(id(v) in self.evaluable for v in node.values[1:]):
                raise NotSplittable("and/or with calls after the first operand")
            return ast.BoolOp(op=node.op, values=[self.split(v) for v in node.values])
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return (
                type(node)(elts=[self.split(e) for e in node.elts], ctx=ast.Load())
                if not isinstance(node, ast.Set)
                else ast.Set(elts=[self.split(e) for e in node.elts])
            )
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise NotSplittable("dict unpacking")
            return ast.Dict(
                keys=[self.split(k) for k in node.keys],  # type: ignore[arg-type]
                values=[self.split(v) for v in node.values],
            )
        if isinstance(node, ast.Subscript):
            return ast.Subscript(
                value=self.split(node.value), slice=self.split(node.slice), ctx=ast.Load()
            )
        if isinstance(node, ast.Slice):
            return ast.Slice(
                *(
                    self.split(p) if p is not None else None
                    for p in (node.lower, node.upper, node.step)
                )
            )
        raise NotSplittable(type(node).__name__)


@dataclass(frozen=True)
class Check:
    """How the parent judges one test from what the child sent."""

    kind: str
    """``value`` (compare one value with ``expected``), ``expr`` (evaluate ``tree`` on
    the program's values), ``opaque`` (the statement ran in the child without raising),
    ``stdio`` (compare output)."""
    expected: Any = None
    """The expected value or output (kept in the parent)."""
    seq_equal: bool = False
    """Tuples and lists with the same items are equal (``call`` tests, whose expected
    values were long stored as JSON, which has no tuple)."""
    tree: ast.expr | None = field(default=None, compare=False, repr=False)
    """``expr`` checks: the assert's expression with placeholders for the values."""

    @property
    def evidence(self) -> str:
        """``value`` when the parent decides from the program's values alone."""
        return "opaque" if self.kind == "opaque" else "value"


@dataclass(frozen=True)
class PlannedTest:
    """One test: the child's instruction and the parent's check."""

    instruction: dict[str, Any]
    check: Check


@functools.lru_cache(maxsize=65_536)
def plan_assert(code: str, program_names: frozenset[str] = frozenset()) -> PlannedTest:
    """Plan an ``assert`` test (cached: RL grades the same tests many times).

    ``program_names`` (the task's entry point) are always the program's, even when
    they shadow a builtin the parent would otherwise evaluate itself.
    """
    opaque = PlannedTest({"op": "exec", "code": code}, Check(kind="opaque"))
    try:
        tree = parse_quietly(code)
    except SyntaxError:
        return opaque
    body = tree.body  # type: ignore[attr-defined]
    if len(body) != 1 or not isinstance(body[0], ast.Assert):
        return opaque
    test = body[0].test
    splitter = _Splitter(program_names | {"candidate"}, code, test)
    try:
        parent_tree = splitter.split(test)
    except NotSplittable:
        return opaque
    if not splitter.leaves:  # nothing from the program: let the child run it as written
        return opaque
    return PlannedTest(
        {"op": "values", "exprs": splitter.leaves},
        Check(kind="expr", tree=parent_tree),
    )


def _call_instruction(test: TestCase) -> dict[str, Any]:
    """The child's instruction for a ``call`` test. Arguments cross as data, never
    pickled: as JSON text when JSON holds them exactly (``args``), otherwise as the
    tagged JSON the child's results use (``targs``: tuples, sets, bytes, complex
    numbers, dicts with non-string keys; :func:`harness.encode_value`), which the child
    rebuilds with :func:`harness.decode_value`."""
    args = test.args or []
    if test.args_are_json:
        return {"op": "call", "fn": test.fn, "args": json.dumps(args)}
    return {"op": "call", "fn": test.fn, "targs": json.dumps([encode_value(a) for a in args])}


def plan_test(test: TestCase, entry_point: str | None = None) -> PlannedTest:
    """Plan any test case (``call``, ``assert``; ``stdio`` tests run per input)."""
    if test.kind == "call":
        return PlannedTest(
            _call_instruction(test),
            Check(kind="value", expected=test.expected, seq_equal=True),
        )
    if test.kind == "assert":
        names = frozenset({entry_point}) if entry_point else frozenset()
        return plan_assert(test.code or "", names)
    return PlannedTest({"op": "stdio"}, Check(kind="stdio", expected=test.expected))

"""Parameter types: read from type hints, or inferred from defaults and doctests.

(That is the spec's rule. Parameters it leaves untyped can be given guessed types,
see :mod:`datagen.infer`, through :func:`plan_parameters`'s ``guesses``.)

Types are read from the annotation's *syntax* (nothing is imported or evaluated), into
a small :class:`Hint` tree over values a ``call`` test can carry (it holds any Python
literal, and the function receives each as itself): ints, floats, bools, strings,
None, ``bytes``, lists, tuples (``tuple[int, ...]``, ``tuple[int, str]``), sets and
frozensets of hashable items, and string-keyed dicts, nested in any way. Other hints
(``bytearray``, ``dict[int, str]``, classes...) are unsupported: generated data could
not be what the signature promises.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from datagen.extract import ExtractedFunction

LEAVES = ("int", "float", "bool", "str", "none")
_LIST_NAMES = {"list", "List", "Sequence", "MutableSequence", "Iterable", "Collection"}
_DICT_NAMES = {"dict", "Dict", "Mapping", "MutableMapping"}
_BYTES_NAMES = {"bytes", "ByteString"}
_TUPLE_NAMES = {"tuple", "Tuple"}
_SET_NAMES = {"set", "Set", "AbstractSet", "MutableSet", "frozenset", "FrozenSet"}
_LEAF_NAMES = {"int": "int", "float": "float", "bool": "bool", "str": "str", "None": "none"}
#: Path types: a path is passed as a string, as every function that takes a path-like
#: object accepts (the oracle keeps only calls that return data without side effects).
_PATH_NAMES = {"Path", "PurePath", "PosixPath", "PurePosixPath", "PathLike", "StrPath"}


class HintError(Exception):
    """A parameter's type is unknown or unsupported; ``args = (reason, detail)``."""


@dataclass(frozen=True)
class Hint:
    """A type over Python literals."""

    kind: str
    """``int``, ``float``, ``bool``, ``str``, ``none``, ``bytes``, ``list``, ``tuple``
    (``tuple[T, ...]``), ``fixed_tuple`` (``tuple[A, B]``), ``set`` (a set or, with
    ``values == ("frozenset",)``, a frozenset), ``dict`` (string keys), ``union`` or
    ``literal``."""
    items: tuple[Hint, ...] = ()
    """Element type (list, tuple, set), value type (dict), members (union, fixed
    tuple)."""
    values: tuple[Any, ...] = ()
    """The allowed values of a ``literal``; ``("frozenset",)`` for a frozenset."""

    def describe(self) -> str:
        """Python-like text, e.g. ``list[int]``."""
        if self.kind in ("list", "dict"):
            inner = self.items[0].describe()
            return f"list[{inner}]" if self.kind == "list" else f"dict[str, {inner}]"
        if self.kind == "union":
            return " | ".join(h.describe() for h in self.items)
        if self.kind == "literal":
            return f"Literal[{', '.join(repr(v) for v in self.values)}]"
        if self.kind == "tuple":
            return f"tuple[{self.items[0].describe()}, ...]"
        if self.kind == "fixed_tuple":
            return f"tuple[{', '.join(h.describe() for h in self.items)}]"
        if self.kind == "set":
            return f"{self.values[0] if self.values else 'set'}[{self.items[0].describe()}]"
        return "None" if self.kind == "none" else self.kind

    def accepts(self, value: Any) -> bool:
        """True if ``value`` is of this type (bools are not ints here)."""
        k = self.kind
        if k == "union":
            return any(h.accepts(value) for h in self.items)
        if k == "literal":
            return any(type(value) is type(v) and value == v for v in self.values)
        if k == "none":
            return value is None
        if k == "bool":
            return isinstance(value, bool)
        if k == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        if k == "float":  # finite: NaN and infinities are not test values
            if isinstance(value, float):
                return math.isfinite(value)
            return isinstance(value, int) and not isinstance(value, bool)
        if k == "str":
            return isinstance(value, str)
        if k == "list":
            return isinstance(value, list) and all(self.items[0].accepts(v) for v in value)
        if k == "dict":
            return isinstance(value, dict) and all(
                isinstance(key, str) and self.items[0].accepts(v) for key, v in value.items()
            )
        if k == "bytes":
            return isinstance(value, bytes)
        if k == "tuple":
            return isinstance(value, tuple) and all(self.items[0].accepts(v) for v in value)
        if k == "fixed_tuple":
            return (
                isinstance(value, tuple)
                and len(value) == len(self.items)
                and all(h.accepts(v) for h, v in zip(self.items, value, strict=True))
            )
        if k == "set":
            kind = frozenset if self.values == ("frozenset",) else set
            return type(value) is kind and all(self.items[0].accepts(v) for v in value)
        return False


INT, FLOAT, BOOL, STR, NONE = (Hint(k) for k in LEAVES)
BYTES = Hint("bytes")


def union(members: Iterable[Hint]) -> Hint:
    """A union, flattened and deduplicated; one member is itself."""
    flat: list[Hint] = []
    for member in members:
        for m in member.items if member.kind == "union" else (member,):
            if m not in flat:
                flat.append(m)
    return flat[0] if len(flat) == 1 else Hint("union", tuple(flat))


def _base_name(node: ast.expr) -> str | None:
    """``List`` for ``List``, ``typing.List`` and ``t.List``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


#: Annotations that name no type: a parameter with one is typed as one without a hint.
_ANY = frozenset({"Any", "object"})


def says_nothing(node: ast.expr) -> bool:
    """Whether an annotation names no type (``Any``, ``typing.Any``, ``object``, or the
    string of one): the parameter is then typed as if it had no hint (defaults,
    doctests, its use in the body)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(node, ast.Name):
        return node.id in _ANY
    return isinstance(node, ast.Attribute) and node.attr == "Any"


def hint_from_annotation(node: ast.expr) -> Hint:
    """The :class:`Hint` of an annotation's syntax; :class:`HintError` if unsupported
    (so are sets of items that are not hashable, such as ``set[list[int]]``)."""
    hint = _parse(node)
    _check_sets(hint)
    return hint


def _set_values(name: str | None) -> tuple[str, ...]:
    return ("frozenset",) if name in ("frozenset", "FrozenSet") else ()


def _check_sets(hint: Hint) -> None:
    if hint.kind == "set" and not all(_hashable(i) for i in hint.items):
        raise HintError("unsupported_hint", f"{hint.describe()}: items must be hashable")
    for item in hint.items:
        _check_sets(item)


def _hashable(hint: Hint) -> bool:
    if hint.kind in ("union", "tuple", "fixed_tuple"):
        return all(_hashable(m) for m in hint.items)
    if hint.kind == "set":
        return hint.values == ("frozenset",) and all(_hashable(m) for m in hint.items)
    return hint.kind in LEAVES or hint.kind in ("literal", "bytes")


def _parse(node: ast.expr) -> Hint:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return NONE
        if isinstance(node.value, str):  # a string (forward-reference) annotation
            try:
                return _parse(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                raise HintError("unsupported_hint", node.value) from None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return union([_parse(node.left), _parse(node.right)])
    name = _base_name(node)
    if name in _LEAF_NAMES:
        return Hint(_LEAF_NAMES[name])
    if name in _LIST_NAMES:
        return Hint("list", (INT,))  # a bare ``list``: a list of ints is a fair guess
    if name in _DICT_NAMES:
        return Hint("dict", (INT,))
    if name in _BYTES_NAMES:
        return BYTES
    if name in _PATH_NAMES:
        return STR
    if name in _TUPLE_NAMES:
        return Hint("tuple", (INT,))
    if name in _SET_NAMES:
        return Hint("set", (INT,), _set_values(name))
    if isinstance(node, ast.Subscript):
        base = _base_name(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base in _LIST_NAMES and len(args) == 1:
            return Hint("list", (_parse(args[0]),))
        if base in _DICT_NAMES and len(args) == 2:
            if _parse(args[0]) != STR:
                raise HintError("unsupported_hint", "dict keys other than str cannot be data")
            return Hint("dict", (_parse(args[1]),))
        if base == "Optional" and len(args) == 1:
            return union([_parse(args[0]), NONE])
        if base == "Union":
            return union(_parse(a) for a in args)
        if base == "Annotated" and args:
            return _parse(args[0])
        if base in _PATH_NAMES:  # os.PathLike[str]
            return STR
        if base == "Literal":
            values = []
            for arg in args:
                if not isinstance(arg, ast.Constant) or not isinstance(
                    arg.value, (int, float, str, bool, type(None))
                ):
                    raise HintError("unsupported_hint", ast.unparse(node))
                values.append(arg.value)
            return Hint("literal", values=tuple(values))
        if base in _TUPLE_NAMES:
            if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is ...:
                return Hint("tuple", (_parse(args[0]),))
            if args and not any(isinstance(a, ast.Constant) and a.value is ... for a in args):
                return Hint("fixed_tuple", tuple(_parse(a) for a in args))
        if base in _SET_NAMES and len(args) == 1:
            return Hint("set", (_parse(args[0]),), _set_values(base))
    raise HintError("unsupported_hint", ast.unparse(node))


def hint_of_value(value: Any) -> Hint:
    """The narrowest :class:`Hint` of a literal value (a tuple's is ``tuple[A, B]``,
    item by item); :class:`HintError` if it has none (a dict with keys that are not
    strings, an infinite float, ``...``)."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HintError("unsupported_hint", f"{value!r} is not a test value")
        return FLOAT
    if isinstance(value, str):
        return STR
    if isinstance(value, bytes):
        return BYTES
    if isinstance(value, list):
        items = [hint_of_value(v) for v in value]
        return Hint("list", (union(items) if items else INT,))
    if isinstance(value, tuple):
        if not value:
            return Hint("tuple", (INT,))
        return Hint("fixed_tuple", tuple(hint_of_value(v) for v in value))
    if isinstance(value, (set, frozenset)):
        items = [hint_of_value(v) for v in value]
        inner = union(sorted(items, key=repr)) if items else INT  # never in hash order
        return Hint("set", (inner,), ("frozenset",) if isinstance(value, frozenset) else ())
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = [hint_of_value(v) for v in value.values()]
        return Hint("dict", (union(items) if items else INT,))
    raise HintError("unsupported_hint", f"value of type {type(value).__name__}")


@dataclass(frozen=True)
class Param:
    """How to fill one positional parameter."""

    name: str
    """Parameter name."""
    hint: Hint
    """Its type."""
    source: str
    """Where the type came from: ``annotation``, ``default``, ``doctest``, ``fixed``
    (passed as exactly its default), or, for types :mod:`datagen.infer` guessed,
    ``usage`` (the body's use of the parameter) or ``probe`` (chosen among those
    guesses by trial calls in the sandbox)."""
    examples: tuple[Any, ...] = field(default_factory=tuple)
    """Values known to suit it: the default and the doctests' arguments."""


@dataclass(frozen=True)
class Plan:
    """The parameters a call passes, in order, and the doctest calls seen."""

    params: tuple[Param, ...]
    """Positional parameters a test passes (trailing defaults we cannot type are left out)."""
    doctest_rows: tuple[tuple[Any, ...], ...] = ()
    """Argument rows of doctest calls of the function (literal arguments only)."""


def _literal(node: ast.expr | None) -> tuple[bool, Any]:
    if node is None:
        return False, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def doctest_rows(fn: ExtractedFunction, arity: int) -> list[tuple[Any, ...]]:
    """Positional argument rows of doctest calls ``name(literal, ...)`` (each
    at most ``arity`` long); other examples are ignored."""
    rows: list[tuple[Any, ...]] = []
    for source in fn.doctests:
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError:
            continue
        call = tree.body
        if not (isinstance(call, ast.Call) and _base_name(call.func) == fn.name) or call.keywords:
            continue
        if len(call.args) > arity or any(isinstance(a, ast.Starred) for a in call.args):
            continue
        row = []
        for arg in call.args:
            ok, value = _literal(arg)
            if not ok:
                break
            row.append(value)
        else:
            rows.append(tuple(row))
    return rows


def _is_data(value: Any) -> bool:
    try:
        hint_of_value(value)
    except HintError:
        return False
    return True


def plan_parameters(
    fn: ExtractedFunction,
    guesses: Mapping[str, Hint] | None = None,
    guess_source: str = "usage",
) -> Plan:
    """Type every positional parameter from its hint, else its default, else the
    doctests (the spec's rule), else, for a required parameter with none of these,
    from ``guesses`` (types inferred by :mod:`datagen.infer`, recorded with source
    ``guess_source``); raises :class:`HintError` (``no_hints``, ``unsupported_hint``,
    ``keyword_only``, ``no_parameters``) when the function cannot be called with
    generated data."""
    return _plan(fn, guesses or {}, guess_source, None)


def untyped_parameters(fn: ExtractedFunction) -> list[str]:
    """The required parameters that have no hint, default or doctest value: the ones
    :func:`plan_parameters` needs guesses for (empty when it needs none). Raises
    :class:`HintError` for the reasons no guess can fix (``unsupported_hint``,
    ``keyword_only``, ``no_parameters``...)."""
    missing: list[str] = []
    _plan(fn, {}, "usage", missing)
    return missing


def _plan(
    fn: ExtractedFunction,
    guesses: Mapping[str, Hint],
    guess_source: str,
    missing: list[str] | None,
) -> Plan:
    tree = ast.parse(fn.planned_source)
    node = tree.body[0]
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    args = node.args
    if any(d is None for d in args.kw_defaults):
        raise HintError("keyword_only", "a keyword-only parameter without a default")
    positional = list(args.posonlyargs) + list(args.args)
    if not positional:
        raise HintError("no_parameters", "")
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(
        args.defaults
    )
    rows = doctest_rows(fn, len(positional))
    planned: list[Param | None] = []
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        has_default, default_value = _literal(default)
        at_i = [row[i] for row in rows if len(row) > i]
        examples = tuple(([default_value] if has_default else []) + at_i)
        hint: Hint | None = None
        source = ""
        problem: tuple[str, str] = ("no_hints", arg.arg)
        if arg.annotation is not None and not says_nothing(arg.annotation):
            try:
                hint, source = hint_from_annotation(arg.annotation), "annotation"
            except HintError as exc:
                problem = exc.args  # type: ignore[assignment]
        if hint is None and examples:
            try:
                candidates = [hint_of_value(v) for v in examples]
                # A None default alone says nothing about the type; with doctests it adds
                # None to what they show.
                if any(h != NONE for h in candidates) or at_i:
                    hint = union(candidates)
                    source = "doctest" if at_i else "default"
            except HintError as exc:
                problem = exc.args  # type: ignore[assignment]
        if hint is None and default is not None:
            # Left to its default when nothing after it is passed; otherwise passed as
            # exactly its default (when that is a literal).
            fixed = has_default and _is_data(default_value)
            planned.append(
                Param(arg.arg, Hint("literal", values=(default_value,)), "fixed", (default_value,))
                if fixed
                else None
            )
            continue
        if hint is None and problem[0] == "no_hints" and arg.arg in guesses:
            hint, source = guesses[arg.arg], guess_source
        if hint is None and problem[0] == "no_hints" and missing is not None:
            missing.append(arg.arg)
            planned.append(Param(arg.arg, INT, "missing"))
            continue
        if hint is None:
            raise HintError(*problem)
        planned.append(Param(arg.arg, hint, source, tuple(v for v in examples if hint.accepts(v))))
    while planned and (planned[-1] is None or planned[-1].source == "fixed"):
        planned.pop()
    if any(p is None for p in planned):
        missing = positional[planned.index(None)].arg
        raise HintError("no_hints", f"{missing} (has a default, but a later parameter is passed)")
    if not planned:
        raise HintError("no_parameters", "no parameter could be typed")
    params = tuple(p for p in planned if p is not None)
    usable = tuple(
        row
        for row in rows
        if len(row) == len(params)
        and all(p.hint.accepts(v) for p, v in zip(params, row, strict=True))
    )
    return Plan(params, usable)

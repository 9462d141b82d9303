"""Types for the parameters the spec's rule leaves untyped: usage evidence, then probes.

The spec's rule is "parameters without hints: infer from defaults and doctests, else
drop the function" (:func:`datagen.hints.plan_parameters`). Most of the standard
library has no hints, so that rule keeps almost nothing of it. This module goes
beyond the rule, in two steps that :attr:`DatagenConfig.infer_types` turns on
(``"usage+probe"``, the default), on alone (``"usage"``) or off (``"none"``: the
spec's rule only):

1. **Usage** (:func:`parameter_evidence`, :func:`usage_candidates`): read how the
   body uses each untyped *required* parameter and score the candidate types
   (:data:`CANDIDATES`: ``int``, ``str``, ``list[int]``, ``list[str]``, ``float``,
   ``bool``, ``dict[str, int]``, ``dict[str, str]``, ``bytes``). Examples of evidence,
   strongest first: ``isinstance(p, str)``; a method only one type has (``p.lower()`` → str,
   ``p.append(x)`` → list, ``p.items()`` → dict, ``p.bit_length()`` → int,
   ``p.decode()`` → bytes);
   builtins (``range(p)``, ``chr(p)`` → int, ``ord(p)`` → str, ``sum(p)`` →
   ``list[int]``, ``sep.join(p)`` → ``list[str]``); arithmetic and comparisons with
   constants (``p + 1``, ``p < 0``, ``p << 2`` → int, ``p * 0.5`` → float,
   ``p + "x"``, ``p == "x"`` → str); indexing (``p[0]``, ``p[1:]`` → a sequence,
   ``p["k"]`` → a dict); iteration (``for x in p``: a sequence, whose items are typed
   by how ``x`` is used, one level deep); passing it on to a helper of the module
   (the helper's parameter's evidence, two calls deep); and, weakest, the parameter's name (``n``,
   ``count``, ``width`` → int; ``s``, ``text``, ``name`` → str; ``words``, ``lines``
   → ``list[str]``). Evidence that the parameter is an *object* (an attribute or
   method no candidate has, a call of it, ``open(p)``, ``with p:``, names like ``fp``,
   ``func``, ``frame``) that outweighs the rest makes it untypable: the function is
   dropped (``no_hints``), as the spec's rule would.
2. **Probe** (``"usage+probe"`` only, :func:`probe_combinations`,
   :func:`choose_combination`): the best few candidates per parameter (the usage
   ranking, padded with ``int``, ``str``, ``list[int]``) form at most
   ``probe_max_combos`` type combinations, ranked by the sum of their members'
   ranks. Each gets ``probe_rows`` random argument rows, and all of them run in *one*
   sandbox job per function (the oracle's probe program, so side effects count as
   failures; never in this process). A combination qualifies when the function
   returns data (no exception, no side effect) on at least ``probe_min_share``
   of its rows; the one kept is the best ranked of those whose outputs differ, else
   the best ranked. None qualifies: the function is dropped (``no_hints``, stage
   ``probe``). The cost is bounded by ``probe_max_combos * probe_rows`` calls and
   ``function_timeout_s`` per function.

In ``"usage"`` mode the top candidate of each parameter is taken as it is, and a
parameter without any evidence is untypable.

What this cannot do: types are guesses that make the function *run*, not what its
author meant (``operator.add(a, b)`` is tested on ints, though it takes anything
with ``+``), and a polymorphic function is tested on one type only. The oracle and the
mutation-score threshold still apply unchanged to every function typed this way, and
each task records its parameter types and where they came from in its metadata
(``param_types``, ``param_sources``).
"""

from __future__ import annotations

import ast
import itertools
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from datagen.config import DatagenConfig
from datagen.extract import ExtractedFunction
from datagen.hints import BOOL, BYTES, FLOAT, INT, STR, Hint, HintError, Plan, plan_parameters
from datagen.inputs import SeededGenerator, make_pools
from datagen.values import value_key

LIST_INT = Hint("list", (INT,))
LIST_STR = Hint("list", (STR,))
DICT_INT = Hint("dict", (INT,))
DICT_STR = Hint("dict", (STR,))

#: The types inference chooses from, in the order that breaks ties.
CANDIDATES: tuple[Hint, ...] = (
    INT,
    STR,
    LIST_INT,
    LIST_STR,
    FLOAT,
    BOOL,
    DICT_INT,
    DICT_STR,
    BYTES,
)
#: Tried (in this order) for a parameter with no evidence, and to pad short lists.
FALLBACK: tuple[Hint, ...] = (INT, STR, LIST_INT)
#: The evidence key of "an object, not data".
OBJECT = "object"

Key = Hint | str
_W = dict[Key, float]

_SEQ: _W = {STR: 1.0, LIST_INT: 1.0, LIST_STR: 1.0}
_ITER: _W = {LIST_INT: 1.0, LIST_STR: 1.0, STR: 0.5}
_NUM: _W = {INT: 2.0, FLOAT: 1.0}
_INT: _W = {INT: 3.0}
_STR: _W = {STR: 3.0}
_FLOAT: _W = {FLOAT: 3.0, INT: 0.5}
_LIST: _W = {LIST_INT: 2.0, LIST_STR: 2.0}
_DICT: _W = {DICT_INT: 2.0, DICT_STR: 1.5}
_BOOL: _W = {BOOL: 3.0}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _obj(weight: float = 4.0) -> _W:
    return {OBJECT: weight}


_STR_METHODS = _words(
    "capitalize casefold center encode endswith expandtabs find format format_map isalnum "
    "isalpha isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace "
    "istitle isupper join ljust lower lstrip partition removeprefix removesuffix replace "
    "rfind rindex rjust rpartition rsplit rstrip split splitlines startswith strip swapcase "
    "title translate upper zfill"
)
_LIST_METHODS = _words("append extend insert remove sort reverse")
_DICT_METHODS = _words("keys values items get setdefault update popitem")
_METHODS: dict[str, _W] = {
    **{m: _STR for m in _STR_METHODS},
    **{m: _LIST for m in _LIST_METHODS},
    **{m: {DICT_INT: 3.0, DICT_STR: 2.0} for m in _DICT_METHODS},
    "count": {STR: 1.0, LIST_INT: 1.0, LIST_STR: 1.0},
    "index": {STR: 1.0, LIST_INT: 1.0, LIST_STR: 1.0},
    "pop": {LIST_INT: 1.0, LIST_STR: 1.0, DICT_INT: 1.0},
    "copy": {LIST_INT: 1.0, LIST_STR: 1.0, DICT_INT: 1.0},
    "clear": {LIST_INT: 1.0, LIST_STR: 1.0, DICT_INT: 1.0},
    "bit_length": _INT,
    "bit_count": _INT,
    "to_bytes": _INT,
    "is_integer": {FLOAT: 3.0},
    "as_integer_ratio": {FLOAT: 2.0, INT: 1.0},
    "hex": {FLOAT: 1.0, BYTES: 1.0},
    "decode": {BYTES: 3.0},
    "conjugate": _NUM,
    "real": _NUM,
    "imag": _NUM,
    "numerator": {INT: 2.0},
    "denominator": {INT: 2.0},
    # Dunders every value has say nothing; a few name a protocol.
    "__class__": {},
    "__doc__": {},
    "__repr__": {},
    "__str__": {},
    "__eq__": {},
    "__hash__": {},
    "__index__": {INT: 2.0},
    "__len__": _SEQ,
    "__iter__": _ITER,
    "__getitem__": {**_SEQ, DICT_INT: 0.5},
}

_BUILTIN_CALLS: dict[str, _W] = {
    "len": {STR: 1.0, LIST_INT: 1.0, LIST_STR: 1.0, DICT_INT: 0.5},
    "sorted": _ITER,
    "reversed": _ITER,
    "list": _ITER,
    "tuple": _ITER,
    "set": _ITER,
    "frozenset": _ITER,
    "enumerate": _ITER,
    "zip": _ITER,
    "any": _ITER,
    "all": _ITER,
    "iter": _ITER,
    "sum": {LIST_INT: 2.5, FLOAT: 0.0},
    "range": _INT,
    "chr": _INT,
    "bin": _INT,
    "hex": _INT,
    "oct": _INT,
    "ord": _STR,
    "int": {STR: 1.0, FLOAT: 1.0},
    "float": {STR: 1.0, INT: 1.0},
    "abs": _NUM,
    "round": {FLOAT: 2.0, INT: 1.0},
    "divmod": _NUM,
    "pow": _NUM,
    "format": {INT: 1.0, FLOAT: 1.0},
    "callable": _obj(),
    "getattr": _obj(),
    "hasattr": _obj(2.0),
    "setattr": _obj(),
    "delattr": _obj(),
    "vars": _obj(),
    "dir": _obj(),
    "next": _obj(),
    "open": _obj(5.0),
    "memoryview": {BYTES: 2.0},
    "bytes": {BYTES: 1.0, INT: 0.5, LIST_INT: 0.5},
    "bytearray": {BYTES: 1.0, INT: 0.5, LIST_INT: 0.5},
}
_ISINSTANCE: dict[str, _W] = {
    "str": {STR: 4.0},
    "int": {INT: 4.0},
    "float": {FLOAT: 4.0},
    "bool": {BOOL: 4.0},
    "list": {LIST_INT: 3.0, LIST_STR: 3.0},
    "dict": {DICT_INT: 3.0, DICT_STR: 2.0},
    "bytes": {BYTES: 4.0},
    "bytearray": {BYTES: 2.0},
    "memoryview": {BYTES: 1.0},
}
#: Module functions whose arguments are text (``os.path.join``, ``re.sub``...) or numbers.
_TEXT_MODULES = _words(
    "re fnmatch posixpath ntpath path string textwrap shlex unicodedata html urllib"
)
_NUMBER_MODULES = _words("math cmath statistics")
_BYTES_MODULES = _words("struct binascii zlib base64 codecs")

_INT_NAMES = _words(
    "n i j k num number count cnt size width height length len index idx pos position "
    "start end stop step level depth offset year month day hour minute second bits nbits "
    "indent times limit maxlen maxsize precision digits ndigits lineno col row column "
    "seconds days weeks port base radix nbytes"
)
_STR_NAMES = _words(
    "s text string str name word line prefix suffix sep char ch c pattern pat fmt template "
    "msg message label title url uri host hostname domain header version sentence tag "
    "letter chars encoding charset mode ident identifier token value_str source src "
    "pathname path filename fname file_name dirname directory dir basename ext"
)
_LIST_NAMES = _words(
    "items lst list seq sequence values nums numbers xs elements array arr iterable vector vec"
)
_LIST_STR_NAMES = _words("words lines names strings parts tokens args argv fields")
_DICT_NAMES = _words("d dct dict mapping table options attrs kwargs environ env")
_BOOL_NAMES = _words("flag strict verbose reverse quiet debug force")
_BYTES_NAMES = _words("data buf buffer raw payload octets bytes blob bytearray binary")
_OBJECT_NAMES = _words(
    "f fp fh fd file fileobj stream func function fn callback cls self module mod frame "
    "node tree sock socket request req response resp match mo logger loader spec "
    "parser writer reader context ctx event iterator generator thread lock queue conn "
    "connection cursor widget master parent instance klass typ tp code co callable "
    "handler record"
)


def _name_weights(name: str) -> _W:
    low = name.lower().strip("_")
    if low in _OBJECT_NAMES:
        return _obj(3.0)
    if low in ("obj", "o", "ob", "object"):
        return _obj(1.5)
    if low in _INT_NAMES or low.startswith(("num_", "n_", "max_", "min_")):
        return {INT: 1.5, FLOAT: 0.5}
    if low.endswith(("_count", "_size", "_len", "_index", "_num", "_width", "_level")):
        return {INT: 1.5}
    if low in _BYTES_NAMES or low.endswith("_bytes") or low.startswith("bytes_"):
        return {BYTES: 1.5}
    if low in _BOOL_NAMES or low.startswith(("is_", "has_", "use_", "allow_")):
        return {BOOL: 1.5}
    if low in _STR_NAMES or low.endswith(("_name", "_str", "_text", "name", "_line", "_path")):
        return {STR: 1.5}
    if low in _LIST_STR_NAMES:
        return {LIST_STR: 1.5, LIST_INT: 0.5}
    if low in _LIST_NAMES:
        return {LIST_INT: 1.5, LIST_STR: 1.0}
    if low in _DICT_NAMES:
        return {DICT_INT: 1.5, DICT_STR: 1.0}
    if low in ("x", "y", "z", "a", "b", "v", "val", "value"):
        return {INT: 0.5, FLOAT: 0.25}
    return {}


@dataclass
class Evidence:
    """Scores of the candidate types (and :data:`OBJECT`) for one parameter, with
    the reasons that gave them."""

    scores: Counter[Key]
    """Type (or ``"object"``) → accumulated weight."""
    reasons: list[str]
    """Short texts, one per piece of evidence (``p.lower()``, ``range(p)``...)."""

    def add(self, weights: _W, reason: str) -> None:
        """Add ``weights`` for ``reason``."""
        if weights:
            self.scores.update(weights)
            self.reasons.append(reason)


def _constant(node: ast.AST) -> tuple[bool, Any]:
    if isinstance(node, ast.Constant):
        return True, node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
    ):
        return True, -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    return False, None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, bytes):
        return "bytes"
    return "other"


def _binop(op: ast.operator, other: ast.AST, left: bool) -> _W:
    """Weights for ``p op other`` (``left``) or ``other op p``."""
    known, value = _constant(other)
    kind = _kind(value) if known else None
    if kind == "str":
        if isinstance(op, ast.Add):
            return _STR
        if isinstance(op, ast.Mod):
            return _STR if left else {}
        if isinstance(op, ast.Mult):
            return _INT
        return {}
    if kind == "bytes":
        if isinstance(op, ast.Add) or (isinstance(op, ast.Mod) and left):
            return {BYTES: 3.0}
        return {INT: 2.0} if isinstance(op, ast.Mult) else {}
    if kind == "float":
        return _FLOAT
    if kind == "int":
        if isinstance(op, (ast.Add, ast.Sub)):
            return {INT: 2.0, FLOAT: 1.0}
        if isinstance(op, ast.Mult):
            return {INT: 2.0, FLOAT: 1.0, STR: 0.5, LIST_INT: 0.5}
        if isinstance(op, ast.Div):
            return {INT: 1.5, FLOAT: 1.5}
        if isinstance(op, (ast.FloorDiv, ast.Mod)):
            return {INT: 2.5, FLOAT: 0.5}
        if isinstance(op, ast.Pow):
            return {INT: 2.0, FLOAT: 1.0}
        return _INT  # shifts and bit operations
    if isinstance(other, (ast.List, ast.ListComp)):
        return _INT if isinstance(op, ast.Mult) else _LIST
    if isinstance(other, (ast.JoinedStr,)):
        return _STR if isinstance(op, ast.Add) else {}
    if known:
        return {}
    # Another expression: weak hints only.
    if isinstance(op, ast.Add):
        return {INT: 0.5, STR: 0.5, FLOAT: 0.25, LIST_INT: 0.25}
    if isinstance(op, (ast.Sub, ast.Div, ast.Pow)):
        return {INT: 1.0, FLOAT: 1.0}
    if isinstance(op, ast.Mult):
        return {INT: 1.0, FLOAT: 0.5}
    if isinstance(op, (ast.FloorDiv, ast.Mod)):
        return {INT: 1.0, STR: 0.5} if left else {INT: 1.0}
    if isinstance(op, (ast.LShift, ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor)):
        return {INT: 2.0}
    return {}


def _compare(op: ast.cmpop, other: ast.AST, left: bool) -> _W:
    """Weights for ``p op other`` (``left``) or ``other op p``."""
    known, value = _constant(other)
    kind = _kind(value) if known else None
    if isinstance(op, (ast.Is, ast.IsNot)):
        return {}
    if isinstance(op, (ast.In, ast.NotIn)):
        if left:  # p in other
            if kind == "str":
                return _STR
            if kind == "bytes":
                return {BYTES: 2.0, INT: 1.5}
            if isinstance(other, (ast.Tuple, ast.List, ast.Set)) and other.elts:
                kinds = {_kind(_constant(e)[1]) for e in other.elts if _constant(e)[0]}
                if kinds == {"str"}:
                    return _STR
                if kinds == {"bytes"}:
                    return {BYTES: 3.0}
                if kinds <= {"int"} and kinds:
                    return {INT: 2.5}
            return {}
        # other in p
        if kind == "str":
            return {STR: 2.0, LIST_STR: 1.0, DICT_INT: 1.0}
        if kind == "bytes":
            return {BYTES: 3.0}
        if kind == "int":
            return {LIST_INT: 2.5}
        return {STR: 0.5, LIST_INT: 0.5, LIST_STR: 0.5, DICT_INT: 0.25}
    if kind == "int":
        return {INT: 2.0, FLOAT: 1.0} if not isinstance(op, (ast.Eq, ast.NotEq)) else {INT: 2.5}
    if kind == "float":
        return _FLOAT
    if kind == "str":
        return _STR
    if kind == "bytes":
        return {BYTES: 3.0}
    if kind == "bool":
        return _BOOL
    if isinstance(other, (ast.List, ast.ListComp)) and isinstance(op, (ast.Eq, ast.NotEq)):
        return _LIST
    if known:
        return {}
    if isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
        return {INT: 0.5, FLOAT: 0.25, STR: 0.25}
    return {}


def _dotted(node: ast.AST) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return []


def _call(call: ast.Call, position: int | None) -> tuple[_W, str]:
    """Weights for a parameter passed to ``call`` (as positional ``position``, or as
    a keyword value / starred when None)."""
    func = call.func
    if isinstance(func, ast.Name):
        name = func.id
        if name == "isinstance" and position == 0 and len(call.args) == 2:
            target = call.args[1]
            names = (
                [e.id for e in target.elts if isinstance(e, ast.Name)]
                if isinstance(target, ast.Tuple)
                else [target.id]
                if isinstance(target, ast.Name)
                else []
            )
            weights: _W = {}
            for n in names:
                for key, w in _ISINSTANCE.get(n, _obj(1.0)).items():
                    weights[key] = weights.get(key, 0.0) + w / len(names)
            return weights, f"isinstance(p, {ast.unparse(target)})"
        if name in ("max", "min") and len(call.args) >= 2:
            return _NUM, f"{name}(..., p, ...)"
        if name in ("max", "min"):
            return {LIST_INT: 1.5, STR: 0.5}, f"{name}(p)"
        if name in ("map", "filter") and position is not None and position >= 1:
            return _ITER, f"{name}(f, p)"
        if name == "range" or (name in _BUILTIN_CALLS and position == 0):
            return _BUILTIN_CALLS[name], f"{name}(p)"
        return {}, ""
    if isinstance(func, ast.Attribute):
        if func.attr == "join" and position == 0:
            return {LIST_STR: 3.0, STR: 0.5}, "sep.join(p)"
        parts = _dotted(func)
        root = parts[0] if parts else ""
        if root in _TEXT_MODULES or parts[:2] == ["os", "path"]:
            return {STR: 2.0}, f"{'.'.join(parts)}(p)"
        if root in _NUMBER_MODULES:
            return {FLOAT: 2.0, INT: 1.5}, f"{'.'.join(parts)}(p)"
        if root in _BYTES_MODULES:
            return {BYTES: 2.5}, f"{'.'.join(parts)}(p)"
    return {}, ""


def _scope_rebinds(node: ast.AST, name: str) -> bool:
    """True if a nested function, lambda or comprehension binds ``name`` itself."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        every = a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]
        return any(arg.arg == name for arg in every)
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        return any(
            isinstance(t, ast.Name) and t.id == name
            for gen in node.generators
            for t in ast.walk(gen.target)
        )
    return False


def _loads(body: Sequence[ast.stmt], name: str) -> Iterable[tuple[ast.Name, list[ast.AST]]]:
    """Each load of ``name`` with its ancestors (innermost last), outside scopes that
    rebind it."""
    stack: list[tuple[ast.AST, list[ast.AST]]] = [(stmt, []) for stmt in reversed(body)]
    while stack:
        node, parents = stack.pop()
        if _scope_rebinds(node, name):
            continue
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
            yield node, parents
            continue
        children = list(ast.iter_child_nodes(node))
        stack += [(child, [*parents, node]) for child in reversed(children)]


def _loop_scope(parents: list[ast.AST]) -> list[ast.stmt]:
    """Where the target of the loop ``parents[-1]`` (a ``for`` or a comprehension's
    generator) is used: the loop statement, or the comprehension's expressions."""
    loop = parents[-1]
    if isinstance(loop, ast.For):
        return [loop]
    comp = parents[-2]
    exprs: list[ast.expr] = []
    if isinstance(comp, ast.DictComp):
        exprs += [comp.key, comp.value]
    elif isinstance(comp, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        exprs.append(comp.elt)
    for gen in getattr(comp, "generators", []):
        exprs += gen.ifs
    return [ast.Expr(e) for e in exprs]


def _element_weights(item: Evidence) -> _W:
    """Weights for a sequence whose items have the evidence ``item``."""
    top = _top(item)
    if top == OBJECT:
        return _obj(2.0)
    if top == STR:
        return {LIST_STR: 2.0, STR: 1.5}
    if top in (INT, FLOAT):
        return {LIST_INT: 3.0, BYTES: 1.0}
    if top is not None and top.kind in ("list", "dict"):
        return _obj(1.0)  # nested containers are not among the candidates
    return {}


def _top(evidence: Evidence) -> Key | None:
    if not evidence.scores:
        return None
    return max(evidence.scores.items(), key=lambda kv: (kv[1], kv[0] == OBJECT))[0]


def module_helpers(fn: ExtractedFunction) -> dict[str, ast.FunctionDef]:
    """The functions of ``fn``'s context (the module helpers its reference carries)."""
    try:
        tree = ast.parse(fn.context)
    except (SyntaxError, ValueError):
        return {}
    return {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}


def _parameter_at(helper: ast.FunctionDef, position: int | None, keyword: str | None) -> str:
    names = [a.arg for a in helper.args.posonlyargs + helper.args.args]
    if position is not None and position < len(names):
        return names[position]
    if keyword is not None and keyword in names + [a.arg for a in helper.args.kwonlyargs]:
        return keyword
    return ""


def parameter_evidence(
    fn: ast.FunctionDef | ast.AsyncFunctionDef | Sequence[ast.stmt],
    name: str,
    depth: int = 0,
    helpers: dict[str, ast.FunctionDef] | None = None,
    hops: int = 0,
) -> Evidence:
    """The usage evidence for parameter ``name`` of ``fn`` (a function node, or a body),
    its name's convention included (see the module doc). A parameter passed on to
    one of ``helpers`` (:func:`module_helpers`) also gets the evidence of the
    helper's parameter, up to two calls deep."""
    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        body: Sequence[ast.stmt] = fn.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
    else:
        body = fn
    ev = Evidence(Counter(), [])
    if depth == 0:
        ev.add(_name_weights(name), f"name {name!r}")
    for node, parents in _loads(body, name):
        parent = parents[-1] if parents else None
        grand = parents[-2] if len(parents) > 1 else None
        if isinstance(parent, ast.Attribute) and parent.value is node:
            method = isinstance(grand, ast.Call) and grand.func is parent
            weights = _METHODS.get(parent.attr)
            if weights is None:
                ev.add(_obj(5.0), f"p.{parent.attr}")
            elif weights:
                ev.add(weights, f"p.{parent.attr}{'()' if method else ''}")
        elif isinstance(parent, ast.Call):
            if parent.func is node:
                ev.add(_obj(5.0), "p(...)")
                continue
            position = next((i for i, a in enumerate(parent.args) if a is node), None)
            callee = parent.func.id if isinstance(parent.func, ast.Name) else ""
            if helpers and callee in helpers and hops < 2:
                keyword = next((k.arg for k in parent.keywords if k.value is node), None)
                target = _parameter_at(helpers[callee], position, keyword)
                if target:
                    sub = parameter_evidence(helpers[callee], target, 0, helpers, hops + 1)
                    ev.add(dict(sub.scores), f"{callee}({target}=p)")
                    continue
            weights, reason = _call(parent, position)
            ev.add(weights, reason)
        elif isinstance(parent, ast.Starred) and isinstance(grand, ast.Call):
            ev.add(_ITER, "f(*p)")
        elif isinstance(parent, ast.Subscript):
            if parent.value is node:
                known, value = _constant(parent.slice)
                if isinstance(parent.slice, ast.Slice):
                    ev.add({STR: 1.5, LIST_INT: 1.5, LIST_STR: 1.0}, "p[a:b]")
                elif known and _kind(value) == "int":
                    ev.add(_SEQ, "p[0]")
                elif known and _kind(value) == "str":
                    ev.add(_DICT, "p['k']")
                else:
                    ev.add({**_SEQ, DICT_INT: 0.5}, "p[k]")
            else:
                ev.add({INT: 1.5, STR: 0.5}, "x[p]")
        elif isinstance(parent, ast.BinOp):
            left = parent.left is node
            ev.add(_binop(parent.op, parent.right if left else parent.left, left), "p op x")
        elif isinstance(parent, ast.UnaryOp) and isinstance(parent.op, (ast.USub, ast.UAdd)):
            ev.add(_NUM, "-p")
        elif isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Invert):
            ev.add(_INT, "~p")
        elif isinstance(parent, ast.Compare):
            operands = [parent.left, *parent.comparators]
            i = next(k for k, o in enumerate(operands) if o is node)
            if i > 0:
                ev.add(_compare(parent.ops[i - 1], operands[i - 1], left=False), "x cmp p")
            if i < len(parent.ops):
                ev.add(_compare(parent.ops[i], operands[i + 1], left=True), "p cmp x")
        elif isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node:
            ev.add(_ITER, "for x in p")
            target = parent.target
            if depth == 0 and isinstance(target, ast.Name):
                ev.add(
                    _element_weights(
                        parameter_evidence(_loop_scope(parents), target.id, 1, helpers, hops)
                    ),
                    "items",
                )
            elif isinstance(target, ast.Tuple):
                ev.add(_obj(1.5), "for a, b in p")
        elif isinstance(parent, (ast.withitem,)):
            ev.add(_obj(5.0), "with p")
        elif isinstance(parent, ast.Assign) and any(
            isinstance(t, (ast.Tuple, ast.List)) for t in parent.targets
        ):
            ev.add({LIST_INT: 0.5, LIST_STR: 0.5, OBJECT: 1.0}, "a, b = p")
        elif isinstance(parent, (ast.Yield, ast.Await, ast.YieldFrom)):
            ev.add(_obj(1.0), "await/yield p")
    # An augmented assignment's target is a Store: read it as ``p op value``.
    for stmt in body:
        for node in ast.walk(stmt):
            if (
                isinstance(node, ast.AugAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id == name
            ):
                ev.add(_binop(node.op, node.value, True), "p op= x")
    return ev


class Untypable(Exception):
    """No candidate type fits a parameter; ``args = (reason, detail)``."""


def usage_candidates(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    name: str,
    fallback: bool,
    helpers: dict[str, ast.FunctionDef] | None = None,
) -> list[Hint]:
    """Candidate types of parameter ``name``, best first: those with positive evidence
    (ties in :data:`CANDIDATES` order), then, when ``fallback``, :data:`FALLBACK`'s
    others. Raises :class:`Untypable` when object evidence wins, or when there is
    no evidence and no ``fallback``."""
    ev = parameter_evidence(node, name, helpers=helpers)
    scores = dict(ev.scores)
    obj = scores.pop(OBJECT, 0.0)
    best = max(scores.values(), default=0.0)
    if obj >= 3.0 and obj >= best:
        shown = ", ".join(r for r in ev.reasons[:4])
        raise Untypable("no_hints", f"{name}: used as an object ({shown})")
    ranked = sorted(
        (h for h in CANDIDATES if scores.get(h, 0.0) > 0.0),
        key=lambda h: (-scores[h], CANDIDATES.index(h)),
    )
    if fallback:
        ranked += [h for h in FALLBACK if h not in ranked]
    if not ranked:
        raise Untypable("no_hints", f"{name}: no usage evidence")
    return ranked


def _function_node(fn: ExtractedFunction) -> ast.FunctionDef:
    node = ast.parse(fn.planned_source).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def infer_candidates(fn: ExtractedFunction, config: DatagenConfig) -> dict[str, list[Hint]]:
    """For each parameter :func:`~datagen.hints.plan_parameters` cannot type, its
    ranked candidate types (see :func:`usage_candidates`); empty when none needs a
    guess. Raises :class:`Untypable` or :class:`~datagen.hints.HintError`."""
    from datagen.hints import untyped_parameters

    names = untyped_parameters(fn)
    if not names:
        return {}
    node = _function_node(fn)
    probe = config.infer_types == "usage+probe"
    helpers = module_helpers(fn)
    return {n: usage_candidates(node, n, probe, helpers) for n in names}


def usage_plan(fn: ExtractedFunction, config: DatagenConfig) -> Plan:
    """The plan with every untyped parameter given its top usage candidate
    (``infer_types="usage"``). Raises :class:`Untypable` or ``HintError``."""
    candidates = infer_candidates(fn, config)
    return plan_parameters(fn, {n: c[0] for n, c in candidates.items()}, "usage")


@dataclass(frozen=True)
class ProbeSet:
    """The type combinations to try for one function, with their argument rows."""

    plans: tuple[Plan, ...]
    """One plan per combination, best ranked first."""
    rows: tuple[tuple[tuple[Any, ...], ...], ...]
    """``rows[k]``: the argument rows of combination ``k``."""

    def flat(self) -> list[list[Any]]:
        """Every row of every combination, in order (one sandbox job)."""
        return [list(r) for rows in self.rows for r in rows]


def probe_combinations(
    fn: ExtractedFunction, candidates: dict[str, list[Hint]], config: DatagenConfig, seed: int
) -> ProbeSet:
    """At most ``config.probe_max_combos`` combinations of the top
    ``config.probe_types`` candidates of each parameter, ordered by the sum of their
    ranks (then lexicographically), each with ``config.probe_rows`` distinct random
    rows drawn with ``seed``."""
    names = list(candidates)
    lists = [candidates[n][: config.probe_types] for n in names]
    combos = sorted(
        itertools.product(*(range(len(x)) for x in lists)), key=lambda ranks: (sum(ranks), ranks)
    )[: config.probe_max_combos]
    plans: list[Plan] = []
    all_rows: list[tuple[tuple[Any, ...], ...]] = []
    rng = random.Random(seed)
    for ranks in combos:
        guesses = {n: lists[i][r] for i, (n, r) in enumerate(zip(names, ranks, strict=True))}
        plan = plan_parameters(fn, guesses, "probe")
        gen = SeededGenerator(random.Random(rng.getrandbits(64)), make_pools(fn, plan), config)
        rows: dict[str, tuple[Any, ...]] = {}
        for _ in range(4 * config.probe_rows):
            row = tuple(gen.value(p.hint) for p in plan.params)
            rows.setdefault(value_key(row), row)
            if len(rows) == config.probe_rows:
                break
        plans.append(plan)
        all_rows.append(tuple(rows.values()))
    return ProbeSet(tuple(plans), tuple(all_rows))


def choose_combination(
    probes: ProbeSet, observations: Sequence[Any] | None, config: DatagenConfig
) -> tuple[int | None, str]:
    """The index of the combination to keep, from the probe job's observations
    (``kind == "value"`` is a call that returned data without side effects), or
    None; and a short account for the report."""
    if observations is None:
        return None, "probe program did not run"
    k = 0
    best: tuple[tuple[int, int], int] | None = None
    shares = []
    for index, rows in enumerate(probes.rows):
        obs = observations[k : k + len(rows)]
        k += len(rows)
        values = [value_key(o.value) for o in obs if o.kind == "value"]
        ok = len(values) >= max(1, config.probe_min_share * len(rows))
        shares.append(
            f"{'/'.join(p.hint.describe() for p in _guessed(probes.plans[index]))}:"
            f"{len(values)}/{len(rows)}"
        )
        # Among the combinations that qualify: outputs that differ first (a constant
        # one would be dropped), then the usage ranking (the order of ``rows``).
        key = (int(len(set(values)) > 1), -index)
        if ok and (best is None or key > best[0]):
            best = (key, index)
    account = "; ".join(shares)
    return (best[1] if best is not None else None), account


def _guessed(plan: Plan) -> list[Any]:
    return [p for p in plan.params if p.source in ("probe", "usage")]


def type_summary(plan: Plan) -> tuple[dict[str, str], dict[str, str]]:
    """``(name → type, name → source)`` of a plan's parameters, for task metadata."""
    return (
        {p.name: p.hint.describe() for p in plan.params},
        {p.name: p.source for p in plan.params},
    )


__all__ = [
    "CANDIDATES",
    "FALLBACK",
    "Evidence",
    "HintError",
    "ProbeSet",
    "Untypable",
    "choose_combination",
    "infer_candidates",
    "parameter_evidence",
    "probe_combinations",
    "type_summary",
    "usage_candidates",
    "usage_plan",
]

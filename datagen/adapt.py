"""Adapters: ``bytes``, tuple and set arguments, and non-JSON results, in ``call`` tests.

A ``call`` test carries JSON data only: its arguments reach the function as JSON
values and its result is compared with a JSON value. To test functions that take
``bytes``, tuples or sets, or that return ``bytes``, sets, tuples subclasses
(named tuples) or ``dict`` subclasses (``Counter``, ``OrderedDict``), a task gets a
small wrapper in its ``setup_code`` (hidden from the model; it runs after the
program, in its namespace), and its tests call the wrapper, :data:`TEST_FN`, instead
of the function:

* each argument is *decoded* by its parameter's decoder (:func:`decoders`): a
  ``bytes`` parameter receives ``text.encode("latin-1")`` of its JSON string (all
  generated characters are below 256), a ``tuple[T, ...]``/``tuple[A, B]`` one
  ``tuple(items)``, a ``set[T]``/``frozenset[T]`` one ``set(items)``/
  ``frozenset(items)``; ``None`` passes through (``Optional[bytes]``);
* the result is *encoded* into JSON data: ``bytes``/``bytearray`` become
  ``{"__bytes__": text}`` (latin-1), sets ``{"__set__": [sorted items]}`` (sorted by
  value, or by ``repr`` when the items do not compare, so the order never depends
  on the hash seed), tuple and dict subclasses plain tuples and dicts, recursively.

So a solution that returns ``"abc"`` where the reference returns ``b"abc"`` fails,
as it should. The oracle's probe applies the same decoding and encoding
(:data:`ADAPTER_SOURCE` is part of :data:`datagen.oracle.PROBE`), so expected values
are encoded ones; a task uses the wrapper only when some parameter has a decoder or
some expected value needed encoding, and every other task calls its function
directly, as before. Prompt examples show the Python values (``f(b'ab')`` →
``b'YWI='``; set items in sorted order), rendered by :func:`render_call` and
:func:`render_value`.

Only a parameter's top level is adapted (``list[bytes]`` stays unsupported).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datagen.hints import Hint, Plan

#: The name of the wrapper the tests of an adapted task call.
TEST_FN = "__datagen_test__"

#: Decoding and encoding, run in the sandbox (by the oracle's probe and by adapted
#: tasks' setup code).
ADAPTER_SOURCE = """
def __datagen_decode__(spec, value):
    if value is None or not spec:
        return value
    if spec == "bytes":
        return value.encode("latin-1")
    if spec == "tuple":
        return tuple(value)
    if spec == "set":
        return set(value)
    if spec == "frozenset":
        return frozenset(value)
    raise ValueError("unknown decoder " + repr(spec))


def __datagen_encode__(value, changed, depth=0):
    if depth > 50:
        return value
    kind = type(value)
    if isinstance(value, (bytes, bytearray)):
        changed.append(1)
        return {"__bytes__": bytes(value).decode("latin-1")}
    if isinstance(value, (set, frozenset)):
        changed.append(1)
        items = [__datagen_encode__(v, changed, depth + 1) for v in value]
        try:
            items.sort()
        except TypeError:  # mixed types: by their repr, which never depends on the hash seed
            items.sort(key=repr)
        return {"__set__": items}
    if isinstance(value, tuple):
        if kind is not tuple:
            changed.append(1)
        return tuple(__datagen_encode__(v, changed, depth + 1) for v in value)
    if isinstance(value, list):
        if kind is not list:
            changed.append(1)
        return [__datagen_encode__(v, changed, depth + 1) for v in value]
    if isinstance(value, dict):
        if kind is not dict:
            changed.append(1)
        return {k: __datagen_encode__(v, changed, depth + 1) for k, v in value.items()}
    return value
"""

#: The hint kinds that need a decoder, and the decoder's name.
_DECODERS = {"bytes": "bytes", "tuple": "tuple", "fixed_tuple": "tuple", "set": "set"}


def decoder(hint: Hint) -> str:
    """The decoder of a parameter of type ``hint`` (``""``: none)."""
    if hint.kind == "union":  # Optional[bytes]: the member that needs one
        return next((d for d in map(decoder, hint.items) if d), "")
    if hint.kind == "set" and hint.values == ("frozenset",):
        return "frozenset"
    return _DECODERS.get(hint.kind, "")


def decoders(plan: Plan) -> tuple[str, ...]:
    """One decoder per parameter of ``plan``."""
    return tuple(decoder(p.hint) for p in plan.params)


def setup_code(entry_point: str, decoders: Sequence[str]) -> str:
    """The setup code of an adapted task: :data:`ADAPTER_SOURCE` and the wrapper
    :data:`TEST_FN` around ``entry_point``."""
    return (
        ADAPTER_SOURCE
        + f"""

def {TEST_FN}(*args):
    decoders = {tuple(decoders)!r}
    args = [__datagen_decode__(d, a) for d, a in zip(decoders, args)] + list(args[len(decoders):])
    return __datagen_encode__({entry_point}(*args), [])
"""
    )


def _items_source(items: list[str], empty: str, open_: str, close: str) -> str:
    return empty if not items else open_ + ", ".join(items) + close


def render_value(value: Any) -> str:
    """Python source for an encoded result (or a JSON argument): tagged dicts become
    ``bytes`` and set literals (items sorted by their source), the rest as ``repr``."""
    if isinstance(value, dict):
        if set(value) == {"__bytes__"} and isinstance(value["__bytes__"], str):
            return repr(value["__bytes__"].encode("latin-1"))
        if set(value) == {"__set__"} and isinstance(value["__set__"], list):
            return _items_source([render_value(v) for v in value["__set__"]], "set()", "{", "}")
        return "{" + ", ".join(f"{k!r}: {render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(render_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def render_argument(decoder: str, value: Any) -> str:
    """Python source of an argument as the function receives it."""
    if value is None or not decoder:
        return render_value(value)
    if decoder == "bytes":
        return repr(value.encode("latin-1"))
    items = [render_value(v) for v in value]
    if decoder == "tuple":
        return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    kind = "frozenset" if decoder == "frozenset" else "set"
    try:
        ordered = [render_value(v) for v in sorted(value)]
    except TypeError:
        ordered = sorted(items)
    literal = _items_source(ordered, "", "{", "}")
    if kind == "set":
        return literal or "set()"
    return f"frozenset({literal})" if literal else "frozenset()"


def render_call(name: str, decoders: Sequence[str], args: Sequence[Any]) -> str:
    """``name(arg, ...)`` with each argument rendered by :func:`render_argument`."""
    padded = list(decoders) + [""] * (len(args) - len(decoders))
    return f"{name}({', '.join(render_argument(d, a) for d, a in zip(padded, args, strict=True))})"


def is_encoded(value: Any) -> bool:
    """True if ``value`` holds a tagged (``__bytes__``/``__set__``) dict."""
    if isinstance(value, dict):
        if set(value) in ({"__bytes__"}, {"__set__"}):
            return True
        return any(is_encoded(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_encoded(v) for v in value)
    return False

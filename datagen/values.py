"""Test values as Python source, and keys that compare them exactly.

A ``call`` test holds any Python literal (docs/tasks.md): datagen's inputs are the
values the function receives (``bytes``, tuples, sets, frozensets as themselves), and
its expected values are what the reference returned, as the sandbox sends them back
(subclasses as their base type: a named tuple as a tuple, a ``Counter`` as a dict).

:func:`render_value` and :func:`render_call` write values as Python source for a
prompt's examples (``f(b'ab')`` → ``b'YWI='``), so that the text never depends on the
hash seed: set and frozenset items are sorted, by value where the items are numbers,
strings, bytes or tuples of these, else by their source text. :func:`value_key` is a
text that is equal for two values exactly when they are the same value of the same
types (floats to the bit, set items in any order, dict items in their order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from code_env.tasks.model import literal_text

_ORDERED = (bool, int, float, str, bytes)


def _by_value(items: list[Any]) -> bool:
    """True if ``items`` sort by value into an order that is total (so that it never
    depends on the order they came in): numbers, strings, bytes, tuples of these."""

    def leaves(v: Any) -> Iterable[type]:
        if isinstance(v, tuple):
            for x in v:
                yield from leaves(x)
        else:
            yield type(v)

    kinds = {k for v in items for k in leaves(v)}
    return kinds <= set(_ORDERED)


def _sorted_items(items: Iterable[Any]) -> list[str]:
    """The source of a set's items, sorted by value where that order is total, else by
    source text."""
    values = list(items)
    if _by_value(values):
        try:
            return [render_value(v) for v in sorted(values)]
        except TypeError:  # e.g. a str and an int: they do not compare
            pass
    return sorted(render_value(v) for v in values)


def render_value(value: Any) -> str:
    """Python source for a value: ``repr``, except that set and frozenset items are
    sorted (see the module doc) and containers' items are rendered the same way."""
    if isinstance(value, frozenset):
        items = _sorted_items(value)
        return "frozenset({" + ", ".join(items) + "})" if items else "frozenset()"
    if isinstance(value, set):
        items = _sorted_items(value)
        return "{" + ", ".join(items) + "}" if items else "set()"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{render_value(k)}: {render_value(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(render_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def render_call(name: str, args: Sequence[Any]) -> str:
    """``name(arg, ...)`` with each argument rendered by :func:`render_value`."""
    return f"{name}({', '.join(render_value(a) for a in args)})"


def value_key(value: Any) -> str:
    """A text equal for two literals exactly when they are the same value with the
    same types (a tuple is not a list, ``1`` is not ``1.0``, floats compare to the bit),
    whatever the order of their sets' items (``code_env.tasks.model.literal_text``)."""
    return literal_text(value)

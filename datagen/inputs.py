"""Inputs: argument rows for a function, directed by its parameters' types.

Rows come, in this order, from

1. the docstring's doctest calls (their literal arguments);
2. boundary values, one parameter varied at a time from a base row: ``0``, ``-1``,
   ``1``, ``""``, ``[]``, one-element lists, ``{}``, both bools, ``None``, each
   parameter's default, and constants mined from the body (``c - 1``, ``c``, ``c + 1``
   for an int ``c``; strings as they are);
3. random values of bounded size (ints mostly in ``[-int_range, int_range]``, lists
   of at most ``max_list_size`` items, strings of at most ``max_text_size``
   characters), where a leaf is sometimes one of the values in 2.

Values are what the function receives: ``bytes`` for a ``bytes`` parameter (mostly
the string alphabet, some control and high bytes), tuples for tuples, sets and
frozensets (without repeats) for sets; a ``call`` test holds any Python literal. Rows
are told apart by :func:`datagen.values.value_key` (a tuple is not a list, set order
does not count).

Determinism: the ``"seeded"`` engine (the default) draws from ``random.Random(seed)``
only, so the same seed gives the same rows in any process, under any
``PYTHONHASHSEED``, whatever else is imported. The ``"hypothesis"`` engine draws the
random rows from hypothesis strategies built from the same types (``st.integers``,
``st.lists(max_size=...)``, ``st.text(max_size=...)``, ...; ``st.from_type`` cannot be
bounded without changing hypothesis' global registry) under ``@seed``; hypothesis
mixes in constants it collects from every non-library module loaded in the process,
so its rows are reproducible only for the same seed *and* the same set of loaded
modules.
"""

from __future__ import annotations

import random
import string
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from datagen.config import DatagenConfig
from datagen.extract import ExtractedFunction
from datagen.hints import Hint, Plan
from datagen.values import value_key

#: Characters of generated strings: mostly letters, some digits, spaces, punctuation.
ALPHABET = string.ascii_lowercase * 3 + string.ascii_uppercase + string.digits + " -_.,:/"
#: Generated ``bytes`` are made of these: the alphabet's and a few others.
BYTE_ALPHABET = (ALPHABET + "=\n\x00\x7f\x80\xe9\xff").encode("latin-1")


@dataclass(frozen=True)
class Pools:
    """Special values for leaves: boundaries first, then mined and known ones."""

    ints: tuple[int, ...]
    """Int specials."""
    floats: tuple[float, ...]
    """Float specials."""
    strs: tuple[str, ...]
    """String specials."""
    bytes_: tuple[bytes, ...] = ()
    """Bytes specials."""


def _unique(values: Sequence[Any]) -> tuple[Any, ...]:
    seen: dict[str, Any] = {}
    for v in values:
        seen.setdefault(value_key(v), v)
    return tuple(seen.values())


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    if isinstance(value, (set, frozenset)):  # in a fixed order: by the items' keys
        return [x for v in sorted(value, key=value_key) for x in _flatten(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flatten(v)] + _flatten(list(value))
    return [value]


def make_pools(fn: ExtractedFunction, plan: Plan) -> Pools:
    """Boundary values plus the body's constants and the defaults' and doctests' leaves."""
    known = [x for p in plan.params for e in p.examples for x in _flatten(e)]
    mined = list(fn.constants) + known
    ints = [0, -1, 1]
    for c in mined:
        if isinstance(c, int) and not isinstance(c, bool):
            ints += [c, c - 1, c + 1]
    floats = [0.0, -1.0, 0.5] + [float(c) for c in mined if isinstance(c, float)]
    strs = ["", "a"] + [c for c in mined if isinstance(c, str)]
    raw = [b"", b"a"] + [c for c in mined if isinstance(c, bytes)]
    raw += [c.encode("latin-1") for c in strs[2:] if all(ord(ch) < 256 for ch in c)]
    return Pools(_unique(ints), _unique(floats), _unique(strs), _unique(raw))


def _collection(hint: Hint, items: Sequence[Any]) -> Any:
    """``items`` as a value of the collection kind ``hint`` (a list, tuple, set or
    frozenset)."""
    if hint.kind in ("tuple", "fixed_tuple"):
        return tuple(items)
    if hint.kind == "set":
        return frozenset(items) if hint.values == ("frozenset",) else set(items)
    return list(items)


def special_values(hint: Hint, pools: Pools) -> list[Any]:
    """Boundary values of a type, most telling first."""
    k = hint.kind
    if k == "int":
        return list(pools.ints)
    if k == "float":
        return list(pools.floats)
    if k == "bool":
        return [False, True]
    if k == "str":
        return list(pools.strs)
    if k == "none":
        return [None]
    if k == "literal":
        return list(hint.values)
    if k == "bytes":
        return list(pools.bytes_) or [b""]
    if k == "fixed_tuple":
        firsts = [special_values(h, pools) for h in hint.items]
        rows = [tuple(f[0] for f in firsts)]
        rows += [
            tuple(f[1] if j == i else f[0] for j, f in enumerate(firsts))
            for i in range(len(firsts))
            if len(firsts[i]) > 1
        ]
        return rows
    if k in ("list", "tuple", "set"):
        inner = special_values(hint.items[0], pools)
        out = [_collection(hint, []), _collection(hint, [inner[0]])]
        return out + ([_collection(hint, [inner[1]])] if len(inner) > 1 else [])
    if k == "dict":
        return [{}, {"a": special_values(hint.items[0], pools)[0]}]
    # A union: its members' specials interleaved, so each member is represented early.
    lists = [special_values(h, pools) for h in hint.items]
    out = []
    for i in range(max(len(x) for x in lists)):
        out += [x[i] for x in lists if i < len(x)]
    return out


class SeededGenerator:
    """Random values of a :class:`Hint` from one ``random.Random``."""

    def __init__(self, rng: random.Random, pools: Pools, config: DatagenConfig) -> None:
        self.rng = rng
        self.pools = pools
        self.config = config

    def value(self, hint: Hint, depth: int = 0) -> Any:
        """One value of type ``hint``."""
        rng, cfg, k = self.rng, self.config, hint.kind
        special = rng.random() < 0.25
        if k == "int":
            if special:
                return rng.choice(self.pools.ints)
            wide = rng.random() < 0.1
            r = cfg.wide_int_range if wide else cfg.int_range
            return rng.randint(-r, r)
        if k == "float":
            if special:
                return rng.choice(self.pools.floats)
            return round(rng.uniform(-cfg.int_range, cfg.int_range), 2)
        if k == "bool":
            return rng.random() < 0.5
        if k == "str":
            if special:
                return rng.choice(self.pools.strs)
            return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, cfg.max_text_size)))
        if k == "bytes":  # mostly the string alphabet, some control and high bytes
            if special:
                return rng.choice(special_values(hint, self.pools))
            n = rng.randint(0, cfg.max_text_size)
            return bytes(rng.choice(BYTE_ALPHABET) for _ in range(n))
        if k == "fixed_tuple":
            return tuple(self.value(h, depth + 1) for h in hint.items)
        if k == "none":
            return None
        if k == "literal":
            return rng.choice(hint.values)
        if k == "union":
            return self.value(rng.choice(hint.items), depth)
        size = rng.randint(0, cfg.max_list_size if depth < 2 else 1)
        if k in ("list", "tuple"):
            return _collection(hint, [self.value(hint.items[0], depth + 1) for _ in range(size)])
        if k == "set":
            return _collection(
                hint, _unique([self.value(hint.items[0], depth + 1) for _ in range(size)])
            )
        if k == "dict":
            keys = _unique([self.value(Hint("str"), depth + 1)[:4] or "k" for _ in range(size)])
            return {key: self.value(hint.items[0], depth + 1) for key in keys}
        raise ValueError(f"unknown hint kind {k!r}")


def _hypothesis_rows(
    params: Sequence[Hint], pools: Pools, config: DatagenConfig, seed: int, n: int
) -> list[list[Any]]:
    """``n`` rows drawn with hypothesis under ``@seed(seed)`` (see the module doc)."""
    try:
        from hypothesis import HealthCheck, Phase, Verbosity, given, settings
        from hypothesis import seed as hseed
        from hypothesis import strategies as st
    except ImportError as exc:  # pragma: no cover - hypothesis is a dev/extra dependency
        raise ImportError(
            "DatagenConfig(generator='hypothesis') needs hypothesis: pip install hypothesis"
        ) from exc

    def strategy(hint: Hint, depth: int = 0) -> Any:
        k = hint.kind
        if k == "int":
            return st.one_of(
                st.sampled_from(pools.ints),
                st.integers(-config.int_range, config.int_range),
                st.integers(-config.wide_int_range, config.wide_int_range),
            )
        if k == "float":
            return st.one_of(
                st.sampled_from(pools.floats),
                st.integers(-100 * config.int_range, 100 * config.int_range).map(lambda i: i / 100),
            )
        if k == "bool":
            return st.booleans()
        if k == "str":
            return st.one_of(
                st.sampled_from(pools.strs), st.text(ALPHABET, max_size=config.max_text_size)
            )
        if k == "bytes":
            return st.lists(st.sampled_from(BYTE_ALPHABET), max_size=config.max_text_size).map(
                bytes
            )
        if k == "fixed_tuple":
            return st.tuples(*(strategy(h, depth + 1) for h in hint.items))
        if k == "none":
            return st.none()
        if k == "literal":
            return st.sampled_from(hint.values)
        if k == "union":
            return st.one_of(*(strategy(h, depth) for h in hint.items))
        size = config.max_list_size if depth < 2 else 1
        if k in ("list", "tuple"):
            items = st.lists(strategy(hint.items[0], depth + 1), max_size=size)
            return items.map(lambda xs: _collection(hint, xs))
        if k == "set":
            items = st.lists(strategy(hint.items[0], depth + 1), max_size=size, unique_by=value_key)
            return items.map(lambda xs: _collection(hint, xs))
        return st.dictionaries(
            st.text(ALPHABET, min_size=1, max_size=4),
            strategy(hint.items[0], depth + 1),
            max_size=size,
        )

    rows: list[list[Any]] = []

    @hseed(seed)
    @settings(
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        derandomize=False,  # a derandomized run ignores @seed
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(st.tuples(*(strategy(h) for h in params)))
    def collect(row: tuple[Any, ...]) -> None:
        rows.append(list(row))

    # Hypothesis writes caches (the constants it mines, unicode tables) under its home
    # folder, by default ./.hypothesis: keep them out of the user's working directory.
    from hypothesis import configuration

    current = configuration.storage_directory(intent_to_write=False)
    home = getattr(current, "home_directory", current)  # a Path in older hypothesis
    with tempfile.TemporaryDirectory(prefix="datagen-hypothesis-") as tmp:
        configuration.set_hypothesis_home_dir(tmp)
        try:
            collect()
        finally:
            configuration.set_hypothesis_home_dir(home)
    return rows


def generate_inputs(
    fn: ExtractedFunction, plan: Plan, config: DatagenConfig, seed: int
) -> list[list[Any]]:
    """At most ``config.max_inputs`` distinct argument rows for ``fn`` (see the module
    doc for where they come from), the same for the same ``seed``."""
    pools = make_pools(fn, plan)
    hints = [p.hint for p in plan.params]
    rows: list[list[Any]] = []
    keys: set[str] = set()

    def add(row: Sequence[Any], accept: Callable[[], bool] = lambda: True) -> None:
        key = value_key(list(row))
        if key not in keys and len(rows) < config.max_inputs and accept():
            keys.add(key)
            rows.append(list(row))

    for row in plan.doctest_rows:
        add(row)
    # Boundary rows: a base row, then one parameter at a time through its specials
    # (round robin over parameters, so each gets its share of the half we allow).
    specials = [special_values(h, pools) for h in hints]
    for i, p in enumerate(plan.params):  # defaults and doctest values lead
        specials[i] = list(_unique(list(p.examples) + specials[i]))
    base = [s[0] for s in specials]
    add(base)
    budget = max(config.min_tests, config.max_inputs // 2)
    for depth in range(1, max(len(s) for s in specials)):
        for i, s in enumerate(specials):
            if depth < len(s) and len(rows) < budget:
                add([*base[:i], s[depth], *base[i + 1 :]])
    # Random rows fill the rest.
    want = config.max_inputs - len(rows)
    if config.generator == "hypothesis":
        drawn = _hypothesis_rows(hints, pools, config, seed, 3 * want)
    else:
        gen = SeededGenerator(random.Random(seed), pools, config)
        drawn = [[gen.value(h) for h in hints] for _ in range(3 * want)]
    for row in drawn:
        add(row)
    return rows

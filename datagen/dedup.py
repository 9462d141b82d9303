"""Near-duplicate functions: one key per function up to names, docstring and hints.

The key is the dump of the function's syntax tree with every identifier renamed in
order of first appearance (``v0``, ``v1``...), the docstring, annotations and
decorators removed, and constants kept (:mod:`code_env.normalize`, which the agents'
replay buffer uses too): two functions that differ only in naming, formatting,
comments, documentation or type hints share a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from code_env.normalize import normalized_ast

T = TypeVar("T")


def normalized_key(source: str) -> str:
    """A short digest of the normalised syntax tree of ``source``
    (:func:`code_env.normalize.normalized_ast`; the source text itself when it does
    not parse)."""
    text = normalized_ast(source)
    if text is None:
        text = "text:" + source
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def deduplicate(items: Iterable[T], source_of: Callable[[T], str]) -> Iterator[tuple[T, T | None]]:
    """Yield ``(item, first)`` for each item: ``first`` is None for the first item
    with its key, else the earlier item it duplicates."""
    first: dict[str, T] = {}
    for item in items:
        key = normalized_key(source_of(item))
        if key in first:
            yield item, first[key]
        else:
            first[key] = item
            yield item, None

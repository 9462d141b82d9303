"""Hand-written definitions of the built-in task suite.

Each module holds a few :class:`~builtin_families.spec.Family` tables; ``FAMILIES``
lists them all in the order ``scripts/build_builtin_suite.py`` writes them out.
"""

from __future__ import annotations

from . import algorithms, arithmetic, list_ops, lists, stdio, strings, tables
from .spec import CHECKS, EASY, MEDIUM, TEST, TRAIN, Family, Fn, Program

#: Every family of the suite, in output order.
FAMILIES: list[Family] = [
    *lists.FAMILIES,
    *list_ops.FAMILIES,
    *strings.FAMILIES,
    *arithmetic.FAMILIES,
    *tables.FAMILIES,
    *algorithms.FAMILIES,
    *stdio.FAMILIES,
]

__all__ = ["CHECKS", "EASY", "FAMILIES", "MEDIUM", "TEST", "TRAIN", "Family", "Fn", "Program"]

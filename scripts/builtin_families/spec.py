"""The definition types of the built-in task suite.

A :class:`Family` is a group of related tasks written from one template: the same
wording for the descriptions, the same parameter names and the same coding style for
the reference bodies, so that a held-out member is a recombination of pieces the train
members show. A family holds either :class:`Fn` members (function tasks) or
:class:`Program` members (standard-input tasks).

Arguments are written as the source text between a call's parentheses, exactly as in
the call (``"[1, 2, 3], 2"`` for ``f([1, 2, 3], 2)``); the builder parses them with
:func:`ast.literal_eval`. Example tests carry a hand-written expected value that the
builder checks against the reference; hidden-test expected values are computed by
running the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TRAIN = "train"
TEST = "test"
EASY = "easy"
MEDIUM = "medium"

#: How a function task is graded: ``call`` compares the returned value; ``sorted``
#: and ``approx`` are ``assert`` tests that compare ``sorted(result)`` (results in any
#: order) or ``abs(result - expected) < 1e-9`` (floats).
CHECKS = ("call", "sorted", "approx")


@dataclass(frozen=True)
class Fn:
    """One function task: ``def name(params) -> returns`` with a docstring.

    Attributes:
        name: The function name; the task id is ``builtin/<name>``.
        doc: The description, the docstring's first line(s).
        body: The reference body without indentation (the builder indents it);
            multi-line bodies are written as a triple-quoted string.
        examples: ``(args, expected)`` pairs shown in the docstring, 1 or 2.
        split: ``"train"`` or ``"test"``.
        params: The parameter list with type hints; the family's when None.
        returns: The return type hint; the family's when None.
        inputs: Argument texts of the hidden tests beyond the examples; the
            family's when None.
        difficulty: ``"easy"`` or ``"medium"``; the family's when None.
    """

    name: str
    doc: str
    body: str
    examples: list[tuple[str, Any]]
    split: str = TRAIN
    params: str | None = None
    returns: str | None = None
    inputs: list[str] | None = None
    difficulty: str | None = None


@dataclass(frozen=True)
class Program:
    """One standard-input task: a whole program that reads stdin and prints.

    Attributes:
        name: A short name; the task id is ``builtin/<name>``.
        doc: The description, shown as comment lines.
        solution: The reference program (dedented by the builder).
        examples: ``(input, expected output)`` pairs shown in the prompt, 1 or 2.
        split: ``"train"`` or ``"test"``.
        inputs: Standard-input texts of the hidden tests; the family's when None.
        difficulty: ``"easy"`` or ``"medium"``; the family's when None.
    """

    name: str
    doc: str
    solution: str
    examples: list[tuple[str, str]]
    split: str = TRAIN
    inputs: list[str] | None = None
    difficulty: str | None = None


@dataclass(frozen=True)
class Family:
    """A group of related tasks with shared defaults.

    Attributes:
        name: The family name, stored in each task's ``metadata["family"]``.
        members: The tasks, in the order they are written out.
        params: Default parameter list of the members (function families).
        returns: Default return type of the members (function families).
        inputs: Default hidden-test inputs of the members.
        difficulty: Default difficulty of the members.
        check: How function members are graded, one of :data:`CHECKS`;
            ``"stdio"`` for a family of :class:`Program` members.
    """

    name: str
    members: list[Fn] | list[Program]
    params: str = ""
    returns: str = ""
    inputs: list[str] = field(default_factory=list)
    difficulty: str = EASY
    check: str = "call"

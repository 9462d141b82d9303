"""Near-miss programs for CodeRL's critics: a reference solution with one small edit.

A critic trained on sampled programs plus reference solutions can learn a shortcut:
every program for a task whose solution the actor learnt passes, so the problem, not
the program, decides the label. A mutant is the reference with one token or line
changed (a comparison flipped, an operator swapped, a constant moved by one, ``and``
for ``or``, a ``return`` emptied, a closing bracket wrong or missing, a line dropped),
written in the reference's own layout; graded by the sandbox like any sampled program,
it is a failed test, a runtime or a compile error for the same problem as a passing
program. The edits work on the
program's tokens (:mod:`tokenize`), not on a re-printed syntax tree, so that the
layout does not give the label away.
"""

from __future__ import annotations

import io
import random
import tokenize

#: Operator tokens and what each becomes in a mutant.
OPERATOR_SWAPS: dict[str, str] = {
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "==": "!=",
    "!=": "==",
    "+": "-",
    "-": "+",
    "*": "+",
    "//": "/",
    "+=": "-=",
    "-=": "+=",
}
#: Closing brackets and the wrong closer each becomes (the commonest syntax error of a
#: small model: brackets that do not match).
CLOSER_SWAPS: dict[str, str] = {")": "]", "]": ")", "}": ")"}
#: Name tokens (keywords and constants) and what each becomes in a mutant.
NAME_SWAPS: dict[str, str] = {"and": "or", "or": "and", "True": "False", "False": "True"}


def _edits(program: str) -> list[tuple[int, int, int, str]]:
    """Every single edit of ``program`` as ``(row, start column, end column, new
    text)`` (rows from 1); a dropped line is ``(row, 0, -1, "")``. Empty when the
    program does not tokenize."""
    edits: list[tuple[int, int, int, str]] = []
    statement_rows: set[int] = set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(program).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    for i, tok in enumerate(tokens):
        (row, col), (end_row, end_col) = tok.start, tok.end
        if row != end_row:
            continue
        if tok.type == tokenize.OP and tok.string in OPERATOR_SWAPS:
            edits.append((row, col, end_col, OPERATOR_SWAPS[tok.string]))
        elif tok.type == tokenize.OP and tok.string in CLOSER_SWAPS:
            edits.append((row, col, end_col, CLOSER_SWAPS[tok.string]))
            edits.append((row, col, end_col, ""))
        elif tok.type == tokenize.NAME and tok.string in NAME_SWAPS:
            edits.append((row, col, end_col, NAME_SWAPS[tok.string]))
        elif tok.type == tokenize.NUMBER and tok.string.isdigit():
            edits.append((row, col, end_col, str(int(tok.string) + 1)))
        elif tok.type == tokenize.NAME and tok.string == "return":
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if following is not None and following.type not in (
                tokenize.NEWLINE,
                tokenize.COMMENT,
            ):
                line_end = len(program.splitlines()[row - 1].rstrip())
                edits.append((row, end_col, line_end, " None"))
        if tok.type == tokenize.NEWLINE:
            statement_rows.add(row)
    lines = program.splitlines()
    # a dropped line: a one-line statement after the first line
    for row in sorted(statement_rows):
        text = lines[row - 1].strip() if row - 1 < len(lines) else ""
        if row > 1 and text and not text.endswith(":") and not text.startswith(("#", "@")):
            edits.append((row, 0, -1, ""))
    return edits


def mutants(program: str, count: int, seed: int | str = 0) -> list[str]:
    """Up to ``count`` distinct mutants of ``program`` (each one edit away and different
    from it), a seeded sample of every edit :func:`_edits` finds. A program that does
    not tokenize has none."""
    lines = program.splitlines(keepends=True)
    seen = {program}
    out: list[str] = []
    for row, start, end, new in _edits(program):
        line = lines[row - 1]
        if end == -1:
            changed = lines[: row - 1] + lines[row:]
        else:
            changed = [*lines[: row - 1], line[:start] + new + line[end:], *lines[row:]]
        text = "".join(changed)
        if text not in seen:
            seen.add(text)
            out.append(text)
    if len(out) > count:
        rng = random.Random(seed)
        out = [out[i] for i in sorted(rng.sample(range(len(out)), count))]
    return out

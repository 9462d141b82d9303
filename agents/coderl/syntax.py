"""Python's own verdict on a program's syntax, for CodeRL's critics.

Whether a program compiles is a fact the parser states exactly and at once, while a
small critic learns it badly: on the warm-start's programs for the built-in held-out
tasks, a critic reading bracket flags still called a fifth of those whose brackets do
not match something other than a compile error. A critic that
:attr:`~agents.coderl.critic.OutcomeCritic.knows_syntax` takes the verdict as given and
predicts only what the parser cannot tell: runtime errors, failed tests and passes.

:func:`program_compiles` calls :func:`compile` in this process. Compiling runs none of
the program's code; a program nested deeper than the parser allows, or one holding a
null byte, counts as not compiling, as it does in the sandbox. What it does not see: a
program the sandbox rejects for its length (``Limits.max_program_bytes``) is a compile
error there but compiles here.
"""

from __future__ import annotations

import warnings


def program_compiles(program: str) -> bool:
    """Whether ``program`` (the whole program the sandbox would grade, e.g.
    ``task.program(completion)``) compiles; its compile warnings are ignored."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(program, "<program>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True

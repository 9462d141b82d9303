"""Does a problem text say enough to be solved from the prompt alone?

A docstring's first paragraph is written for a reader of the module, who can look at
the rest of it. A task's prompt shows only the function's signature, the imports and
helpers its reference needs, and that paragraph. :func:`problem_issue` rejects the
texts that lean on what the prompt does not show:

* ``vague_problem``: the text names the function's role, not its behaviour: "Helper
  for remove_tree().", "helper function for Future.__repr__", "Used by pickle protocol
  4...", or it defines the function by another that the prompt does not show
  ("Same as addCleanup, except...", "Like quote(), but accepts bytes...", "Maxheap
  variant of _siftdown"). A reference the prompt shows, a builtin or a module of the
  standard library ("Like textwrap.dedent", "Like built-in bin()") and an operator
  expression ("Same as a < b.") are fine.
* ``private_reference``: the text names a private name (``_get_default_tempdir``) that
  the prompt does not show. Names that start and end with an underscore
  (``_sunder_``, an emphasis) are words, not references.

These are rules on the text, not an understanding of it: a text can pass them and
still be too thin, which is why docs/datagen.md records a hand review of tasks.
"""

from __future__ import annotations

import builtins
import re
import sys

_ROLE = r"(?:an? |the )?(?:[\w-]+ )?(?:helper|utility|wrapper|hook|callback)(?: function| method)?"
#: A role and a reference, and nothing else: "Helper for X", "helper function for X.Y".
_ROLE_ONLY = re.compile(
    rf"^{_ROLE}(?:\s+(?:for|of|around|used by|called by|to be used by))?"
    r"\s*[\w.()@`'\"]*\s*[\w.()`'\"]*\s*$",
    re.IGNORECASE,
)
_PURPOSE_ONLY = re.compile(r"^(?:used|called|invoked)\s+(?:by|from|in)\s", re.IGNORECASE)
#: "Same as X", "Like X", "Variant of X", "See X"...: X must be something a reader knows.
_DEFINED_BY = re.compile(
    r"^(?:same as|like|see|alias (?:of|for)|equivalent to|(?:[\w-]+ )?variant of|"
    r"(?:a |the )?(?:simplified |faster |private )?version of)\s+"
    r"(?:the\s+)?(?:built-?in\s+)?`*([A-Za-z_][\w.]*)",
    re.IGNORECASE,
)
_PRIVATE = re.compile(r"(?<![\w])_[A-Za-z][\w]*")
_IDENT = re.compile(r"[A-Za-z_]\w*")


def shown_names(code: str) -> set[str]:
    """Every identifier in ``code`` (the prompt's imports, helpers and signature)."""
    return set(_IDENT.findall(code))


def _known(name: str, shown: set[str]) -> bool:
    """Whether a reader of the prompt knows ``name`` (dotted or not)."""
    parts = name.strip(".").split(".")
    head = parts[0]
    if head in shown or parts[-1] in shown:
        return True
    if head in dir(builtins) and len(parts) == 1:
        return True
    return head in sys.stdlib_module_names and len(parts) > 1


def problem_issue(problem: str, shown: set[str]) -> tuple[str, str] | None:
    """``(reason, detail)`` when ``problem`` cannot be solved from a prompt whose code
    holds the names ``shown`` (:func:`shown_names`), else None (see the module doc)."""
    text = " ".join(problem.split())
    if _ROLE_ONLY.match(text.rstrip(".")):
        return "vague_problem", f"a role, not a behaviour: {text[:80]}"
    if _PURPOSE_ONLY.match(text):
        return "vague_problem", f"a caller, not a behaviour: {text[:80]}"
    defined = _DEFINED_BY.match(text)
    if defined and not _known(defined.group(1).rstrip("."), shown):
        return "vague_problem", f"defined by {defined.group(1)}, which the prompt does not show"
    for token in _PRIVATE.findall(text):
        if token.endswith("_") or token in shown:
            continue
        return "private_reference", f"{token}, which the prompt does not show"
    return None

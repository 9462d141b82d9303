"""Near-duplicate functions: one key per function up to names, docstring and hints.

The key is the dump of the function's syntax tree with every identifier renamed in
order of first appearance (``v0``, ``v1``...), the docstring, annotations and
decorators removed, and constants kept: two functions that differ only in naming,
formatting, comments, documentation or type hints share a key. (The same idea keys
``agents.buffer``'s replay buffer; datagen keeps its own copy because it must not
import ``agents``.)
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class _Normaliser(ast.NodeTransformer):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self._rename(node.id), ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._rename(node.arg)
        node.annotation = None
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        node.annotation = ast.Constant(None)
        self.generic_visit(node)
        return node

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.name = self._rename(node.name)
        node.returns = None
        node.decorator_list = []
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._function(node)


def normalized_key(source: str) -> str:
    """A short digest of the normalised syntax tree of ``source`` (the source text
    itself when it does not parse)."""
    try:
        text = ast.dump(_Normaliser().visit(ast.parse(source)), annotate_fields=False)
    except (SyntaxError, ValueError, RecursionError):
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

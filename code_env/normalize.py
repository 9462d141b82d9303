"""Programs up to naming: a canonical text for a program's syntax tree.

Identifiers are renamed in order of first appearance (``v0``, ``v1``...); docstrings,
annotations and decorators are dropped; constants are kept. Two programs that differ
only in names, formatting, comments, documentation or type hints get the same text.
The agents' replay buffer keys passing programs with it (2310.13669 filters its buffer
with ASTs), and datagen deduplicates near-identical functions with it.
"""

from __future__ import annotations

import ast

from code_env.tasks.model import parse_quietly

__all__ = ["normalized_ast"]


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


def normalized_ast(program: str) -> str | None:
    """The canonical text of ``program``'s syntax tree, or None if it does not parse."""
    try:
        tree = parse_quietly(program)  # model-written code: its SyntaxWarnings are noise
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    try:
        return ast.dump(_Normaliser().visit(tree), annotate_fields=False)
    except RecursionError:
        return None

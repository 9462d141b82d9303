"""Quality: mutation analysis of a function's candidate tests, and greedy selection.

Mutants are single changes to the function's body (never its signature, defaults,
annotations or docstring, and nothing inside ``raise``/``assert`` statements, whose
messages tests cannot see):

========================  ===========================================================
``arithmetic``            ``+``↔``-``, ``*``↔``/``, ``//``→``*``, ``%``→``//``, ``**``→``*``,
                          ``<<``↔``>>``, ``&``↔``|``, ``^``→``&`` (also in ``x op= y``)
``comparison``            ``<``→``<=``, ``<=``→``<``, ``>``→``>=``, ``>=``→``>``, ``==``↔``!=``,
                          ``in``↔``not in``, ``is``↔``is not``
``constant``              an int or float ``c``→``c + 1``, ``True``↔``False``, a string
                          ``s``→``""`` (``""``→``"x"``)
``boolean``               ``and``↔``or``
``return_none``           ``return e``→``return None``
``remove_branch``         an ``if``'s body→``pass``; its ``else`` removed
========================  ===========================================================

Each mutant runs against every candidate test in the sandbox; a test *kills* a
mutant when the mutant does not pass it (wrong value, exception, timeout). A mutant
that runs past its time budget (``mutant_budget_s``) is killed by every test it did
not finish: the reference finished each of them within ``case_timeout_s``, and a
mutant that hangs on one input nearly always hangs on the rest. Tests
are then picked greedily: each step takes the test that kills the most mutants not
yet killed (the earliest on ties), up to ``max_tests``; if fewer than ``min_tests``
were needed, more are added, outputs not yet shown first. The mutation score is the
share of all mutants killed by the chosen tests. Mutants no test can tell apart
from the reference (equivalent mutants) count against the score: it is a lower
bound.
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from code_env.sandbox import BaseSandbox, Limits
from code_env.tasks import Task, TestCase
from datagen.config import DatagenConfig
from datagen.extract import ExtractedFunction
from datagen.oracle import Case
from datagen.values import value_key

_ARITH: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitAnd,
}
#: Each comparison operator and the one a mutant puts in its place.
COMPARISON_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    """One mutated version of a function."""

    operator: str
    """Which kind of change (see the module doc)."""
    line: int
    """Line of the change, counted from the ``def``."""
    source: str
    """The mutated function's source."""


def _function(source: str) -> ast.FunctionDef:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def _excluded(fn: ast.FunctionDef) -> set[int]:
    """Ids of nodes not to mutate: signature, docstring, raise/assert, annotations,
    f-string parts."""
    skip: list[ast.AST] = [fn.args]
    if fn.returns is not None:
        skip.append(fn.returns)
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        skip.append(body[0])
    for node in ast.walk(fn):
        if isinstance(node, (ast.Raise, ast.Assert, ast.JoinedStr)):
            skip.append(node)
        elif isinstance(node, ast.AnnAssign):
            skip.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and (
            node is not fn
        ):
            skip.append(node.args)
            if not isinstance(node, ast.Lambda) and node.returns is not None:
                skip.append(node.returns)
    return {id(n) for s in skip for n in ast.walk(s)}


def _compare_swap(i: int, new: type[ast.cmpop]) -> Callable[[ast.AST], None]:
    def swap(node: ast.AST) -> None:
        node.ops[i] = new()  # type: ignore[attr-defined]

    return swap


def _edits(node: ast.AST) -> list[tuple[str, Callable[[ast.AST], None]]]:
    """The in-place changes that make mutants at ``node``."""
    out: list[tuple[str, Callable[[ast.AST], None]]] = []
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITH:
        new = _ARITH[type(node.op)]
        out.append(("arithmetic", lambda n, new=new: setattr(n, "op", new())))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARISON_FLIPS:
                out.append(("comparison", _compare_swap(i, COMPARISON_FLIPS[type(op)])))
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            out.append(("constant", lambda n: setattr(n, "value", not n.value)))
        elif isinstance(value, (int, float)):
            out.append(("constant", lambda n: setattr(n, "value", n.value + 1)))
        elif isinstance(value, str):
            out.append(("constant", lambda n: setattr(n, "value", "" if n.value else "x")))
    elif isinstance(node, ast.BoolOp):
        new_op = ast.Or if isinstance(node.op, ast.And) else ast.And
        out.append(("boolean", lambda n, new_op=new_op: setattr(n, "op", new_op())))
    elif isinstance(node, ast.Return):
        if node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            out.append(("return_none", lambda n: setattr(n, "value", ast.Constant(None))))
    elif isinstance(node, ast.If):
        out.append(("remove_branch", lambda n: setattr(n, "body", [ast.Pass()])))
        if node.orelse:
            out.append(("remove_branch", lambda n: setattr(n, "orelse", [])))
    return out


def make_mutants(source: str, max_mutants: int, seed: int = 0) -> list[Mutant]:
    """Mutants of the function in ``source`` (one ``def``), distinct and each different
    from the original; a seeded sample of ``max_mutants`` when there are more."""
    original = _function(source)
    baseline = ast.unparse(original)
    excluded = _excluded(original)
    # ast.walk is deterministic, so the i-th node of a copy is the i-th of the original.
    sites = [
        (i, name, edit)
        for i, node in enumerate(ast.walk(original))
        if id(node) not in excluded
        for name, edit in _edits(node)
    ]
    mutants: list[Mutant] = []
    seen = {baseline}
    for i, name, edit in sites:
        clone = copy.deepcopy(original)
        node = list(ast.walk(clone))[i]
        edit(node)
        text = ast.unparse(ast.fix_missing_locations(clone))
        if text in seen:
            continue
        seen.add(text)
        line = getattr(node, "lineno", original.lineno) - original.lineno + 1
        mutants.append(Mutant(name, line, text + "\n"))
    if len(mutants) > max_mutants:
        picked = sorted(random.Random(seed).sample(range(len(mutants)), max_mutants))
        mutants = [mutants[i] for i in picked]
    return mutants


def call_tests(fn: ExtractedFunction, cases: Sequence[Case]) -> list[TestCase]:
    """The tests of ``cases``, as the task will have them: for a function, ``call``
    tests (the function called with each case's arguments, its expected value the
    reference's output, Python literals); for a method, ``assert`` tests that build
    the instance and compare the method's result with ``==``
    (``assert Stack([1]).peek() == 1``)."""
    if fn.is_method:
        return [
            TestCase(kind="assert", code=f"assert {fn.call_text(c.args)} == {c.shown}")
            for c in cases
        ]
    return [TestCase(kind="call", fn=fn.name, args=c.args, expected=c.expected) for c in cases]


def kill_matrix(
    sandbox: BaseSandbox,
    jobs: Sequence[tuple[ExtractedFunction, Sequence[Mutant], Sequence[Case]]],
    config: DatagenConfig,
) -> list[list[list[bool]]]:
    """For each ``(function, mutants, cases)``: ``killed[m][t]``, whether test ``t``
    kills mutant ``m``, with the tests the task will have (:func:`call_tests`). All
    mutants of all jobs run in one parallel batch."""
    limits = Limits(
        timeout_s=config.case_timeout_s,
        total_timeout_s=max(config.mutant_budget_s, config.case_timeout_s),
        memory_mb=config.memory_mb,
        stop_at_timeout=False,  # which tests kill a mutant: every test runs
    )
    batch: list[tuple[str, Task, list[TestCase]]] = []
    for fn, mutants, cases in jobs:
        tests = call_tests(fn, cases)
        task = Task(
            task_id=f"datagen/{fn.qualname}",
            prompt=fn.problem,
            tests=tests,
            entry_point=fn.owner or fn.name,
        )
        batch += [(fn.program_with(m.source), task, tests) for m in mutants]
    results = sandbox.run_many(batch, limits=limits) if batch else []
    out: list[list[list[bool]]] = []
    k = 0
    for _, mutants, cases in jobs:
        matrix = []
        for _ in mutants:
            res = results[k]
            k += 1
            if len(res.tests) != len(cases):  # did not import: every test kills it
                matrix.append([True] * len(cases))
            else:
                matrix.append([not t.passed for t in res.tests])
        out.append(matrix)
    return out


def greedy_select(
    killed: Sequence[Sequence[bool]],
    n_tests: int,
    max_tests: int,
    min_tests: int,
    outputs: Sequence[str] | None = None,
    first: Sequence[int] = (),
) -> list[int]:
    """Indices of the chosen tests, in test order (see the module doc).

    Args:
        killed: ``killed[m][t]`` from :func:`kill_matrix`.
        n_tests: How many candidate tests there are.
        max_tests: The most to choose.
        min_tests: The fewest to choose (if there are that many).
        outputs: A key per test's expected output: filling up to ``min_tests``
            prefers outputs not yet chosen.
        first: Tests chosen before the greedy steps (e.g. the docstring's own
            examples, which make good prompt examples).
    """
    chosen: list[int] = list(dict.fromkeys(first))[:max_tests]
    alive = {m for m in range(len(killed)) if not any(killed[m][t] for t in chosen)}
    while len(chosen) < max_tests and alive:
        gains = [
            (sum(1 for m in alive if killed[m][t]), -t) for t in range(n_tests) if t not in chosen
        ]
        if not gains:
            break
        best_gain, neg_t = max(gains)
        if best_gain == 0:
            break
        chosen.append(-neg_t)
        alive -= {m for m in alive if killed[m][-neg_t]}
    keys = list(outputs) if outputs is not None else [str(t) for t in range(n_tests)]
    shown = {keys[t] for t in chosen}
    rest = [t for t in range(n_tests) if t not in chosen]
    rest.sort(key=lambda t: (keys[t] in shown, t))  # new outputs first, then test order
    for t in rest:
        if len(chosen) >= min(min_tests, n_tests):
            break
        chosen.append(t)
        shown.add(keys[t])
    return sorted(chosen)


def mutation_score(killed: Sequence[Sequence[bool]], tests: Sequence[int]) -> float | None:
    """Share of mutants killed by at least one of ``tests``; None without mutants."""
    if not killed:
        return None
    return sum(1 for row in killed if any(row[t] for t in tests)) / len(killed)


def output_key(case: Case) -> str:
    """A key that is equal for equal expected outputs (for :func:`greedy_select`;
    :func:`datagen.values.value_key`)."""
    return value_key(case.expected)

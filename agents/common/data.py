"""Which tasks an agent learns from and how: the A/B cut of the built-in train split.

The learning benchmark (docs/architecture.md) and the main job cut the built-in train split into
**A**, whose reference solutions may be used (warm-start, cross-entropy, replay
buffers), and **B**, learned from rewards only: no agent or baseline ever sees B's
solutions. The built-in test split (**C**) stays held out. The cut is made inside each
family, so that every family contributes to both and a B task is a variation on A
tasks the model has seen.

Single-member families are left whole in A (a split would leave nothing to learn from).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from code_env.tasks import Task, TaskList

_WORD = re.compile(r"\w+|[^\w\s]")


def _pieces(code: str, n: int = 3) -> set[tuple[str, ...]]:
    """The n-grams of a solution's code tokens (words and symbols)."""
    words = _WORD.findall(code)
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def _coverage(task: Task, pool: list[Task], pieces: dict[str, set]) -> float:
    """Share of ``task``'s solution n-grams found in the other solutions of ``pool``."""
    others = set().union(*(pieces[o.task_id] for o in pool if o is not task))
    mine = pieces[task.task_id]
    return len(mine & others) / max(1, len(mine))


def split_ab(tasks: Iterable[Task], b_fraction: float = 0.4) -> tuple[TaskList, TaskList]:
    """``(A, B)``: within each family (``metadata["family"]``), B takes, one at a time,
    the member whose solution is best covered by the code of the members still in A
    (its token 3-grams), until it holds ``b_fraction`` of the family. So a B task is,
    as far as the family allows, a recombination of pieces the model saw in A, and
    there is something to learn from rewards. Deterministic; every family with at
    least two members has some in both."""
    if not 0.0 < b_fraction < 1.0:
        raise ValueError(f"b_fraction must be in (0, 1), got {b_fraction}")
    families: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        families[str(task.metadata.get("family", ""))].append(task)
    a_tasks: list[Task] = []
    b_tasks: list[Task] = []
    for _, members in sorted(families.items()):
        remaining = sorted(members, key=lambda t: t.task_id)
        pieces = {t.task_id: _pieces(t.solutions[0] if t.solutions else "") for t in remaining}
        n_b = min(max(round(len(remaining) * b_fraction), 1), len(remaining) - 1)
        chosen: list[Task] = []
        while len(chosen) < n_b:
            best = max(
                remaining, key=lambda t, pool=remaining: (_coverage(t, pool, pieces), t.task_id)
            )
            chosen.append(best)
            remaining = [t for t in remaining if t is not best]
        a_tasks += remaining
        b_tasks += chosen
    a_tasks.sort(key=lambda t: t.task_id)
    b_tasks.sort(key=lambda t: t.task_id)
    return (
        TaskList(a_tasks, source="A (solutions available)"),
        TaskList(b_tasks, source="B (rewards only)"),
    )


def solution_pairs(tasks: Iterable[Task]) -> list[tuple[str, str]]:
    """``(prompt, reference completion)`` for every task with a solution."""
    return [(t.prompt, t.solutions[0]) for t in tasks if t.solutions]


def without_solutions(tasks: Iterable[Task]) -> TaskList:
    """Copies of the tasks with their reference solutions removed: what an agent
    learning from rewards only is given."""
    from dataclasses import replace

    return TaskList((replace(t, solutions=[]) for t in tasks), source="tasks without solutions")

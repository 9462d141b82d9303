"""A replay buffer of passing programs, kept diverse by their syntax trees.

Programs that differ only in names, formatting or comments are one entry: each is
keyed by its normalised AST (identifiers renamed in order of appearance, constants
kept, docstrings and comments gone), as 2310.13669 filters its buffer with ASTs.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from code_env.normalize import normalized_ast

__all__ = ["Entry", "ReplayBuffer", "SelfImitation", "normalized_ast"]


@dataclass(frozen=True)
class Entry:
    """A program that passed every test of its task."""

    task_id: str
    completion: str
    """The completion (what the model writes after the prompt)."""
    source: str
    """``"reference"`` or ``"sampled"``."""


class ReplayBuffer:
    """Passing programs per task, deduplicated by normalised AST.

    Args:
        capacity_per_task: Keep at most this many programs per task (oldest sampled
            ones go first; references stay).
    """

    def __init__(self, capacity_per_task: int = 8) -> None:
        self.capacity_per_task = capacity_per_task
        self._entries: dict[str, list[Entry]] = {}
        self._keys: dict[str, set[str]] = {}

    def add(self, task_id: str, completion: str, program: str, source: str = "sampled") -> bool:
        """Add a passing program; False if an equivalent one is already held."""
        key = normalized_ast(program)
        if key is None:
            key = "text:" + program
        keys = self._keys.setdefault(task_id, set())
        if key in keys:
            return False
        entries = self._entries.setdefault(task_id, [])
        if len(entries) >= self.capacity_per_task:
            victim = next((e for e in entries if e.source == "sampled"), None)
            if victim is None:
                return False
            entries.remove(victim)
        keys.add(key)
        entries.append(Entry(task_id, completion, source))
        return True

    def sample(self, n: int, rng: random.Random, sampled_fraction: float = 0.0) -> list[Entry]:
        """``n`` entries: a task drawn uniformly, then one of its entries. With
        ``sampled_fraction``, that share of the draws comes from tasks whose programs
        were found by sampling (so a few discoveries are not drowned by many
        references)."""
        tasks = [t for t, e in self._entries.items() if e]
        if not tasks:
            return []
        found = [t for t, e in self._entries.items() if any(x.source == "sampled" for x in e)]
        n_found = round(n * sampled_fraction) if found else 0
        out = []
        for _ in range(n_found):
            entries = [e for e in self._entries[rng.choice(found)] if e.source == "sampled"]
            out.append(rng.choice(entries))
        out += [rng.choice(self._entries[rng.choice(tasks)]) for _ in range(n - n_found)]
        return out

    def __len__(self) -> int:
        return sum(len(e) for e in self._entries.values())

    def tasks(self) -> list[str]:
        """Task ids with at least one entry."""
        return [t for t, e in self._entries.items() if e]

    def count(self, source: str | None = None) -> int:
        """Entries in all, or of one source."""
        return sum(1 for e in self.entries() if source is None or e.source == source)

    def entries(self) -> Iterable[Entry]:
        """Every entry."""
        for entries in self._entries.values():
            yield from entries

    def state_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return {
            "capacity_per_task": self.capacity_per_task,
            "entries": [[e.task_id, e.completion, e.source] for e in self.entries()],
            "keys": {t: sorted(k) for t, k in self._keys.items()},
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ReplayBuffer:
        """Rebuild a buffer saved with :meth:`state_dict`."""
        buffer = cls(int(state["capacity_per_task"]))
        for task_id, completion, source in state["entries"]:
            buffer._entries.setdefault(task_id, []).append(Entry(task_id, completion, source))
        buffer._keys = {t: set(k) for t, k in state["keys"].items()}
        return buffer


class SelfImitation:
    """A replay buffer plus the prompts of its tasks, for agents that also maximise the
    likelihood of passing programs (the actor-critic agent's replay, CodeRL's L_ce).

    It starts with the reference solutions of the tasks given, takes in every new
    program that passes all its tests, and turns a draw from the buffer into a
    cross-entropy loss. Prompts are kept by task id because references may come from
    tasks the agent does not train on (A, when learning on B), so they travel with
    checkpoints.

    Args:
        capacity_per_task: At most this many programs per task.
        tasks: Tasks whose reference solutions (if any) start the buffer.
    """

    def __init__(self, capacity_per_task: int, tasks: Iterable[Any] = ()) -> None:
        self.buffer = ReplayBuffer(capacity_per_task)
        self.prompts: dict[str, str] = {}
        self.add_references(tasks)

    def add_references(self, tasks: Iterable[Any]) -> int:
        """Put these tasks' first reference solutions in the buffer. Returns how many."""
        added = 0
        for task in tasks:
            self.prompts.setdefault(task.task_id, task.prompt)
            if task.solutions:
                solution = task.solutions[0]
                added += self.buffer.add(
                    task.task_id, solution, task.program(solution), source="reference"
                )
        return added

    def add_passing(self, tasks: Iterable[Any], completions: Iterable[str], results) -> int:
        """Add each completion whose result passed. Returns how many were new."""
        added = 0
        for task, text, result in zip(tasks, completions, results, strict=True):
            if result.passed:
                self.prompts.setdefault(task.task_id, task.prompt)
                added += self.buffer.add(task.task_id, text, task.program(text))
        return added

    def loss(
        self,
        policy,
        n: int,
        rng: random.Random,
        sampled_fraction: float = 0.0,
        max_prompt_tokens: int | None = None,
        *,
        dist: Any = None,
    ):
        """Mean per-token negative log-likelihood of ``n`` programs drawn from the buffer
        (a zero tensor when ``n`` is 0 or the buffer is empty).

        With ``dist`` (:class:`~agents.common.distributed.Distributed`) of several
        processes, every process draws the same ``n`` programs (the buffer and ``rng``
        agree), scores its share of them, and returns its share of the mean over all."""
        import torch

        from agents.common.supervised import cross_entropy_loss

        entries = self.buffer.sample(n, rng, sampled_fraction) if n else []
        if not entries:
            return torch.zeros((), device=policy.device)
        completions = [policy.completion_ids(e.completion) for e in entries]
        total_tokens = sum(len(c) for c in completions)
        weight = 1.0
        if dist is not None and dist.enabled:
            shown = dist.shard(range(len(entries)))
            if not shown:  # still run the forward pass, weighted 0: a sharded model's
                shown, weight = [0], 0.0  # processes must all take part in it
            entries, completions = [entries[i] for i in shown], [completions[i] for i in shown]
        prompts = policy.encode_prompts(
            [self.prompts[e.task_id] for e in entries], max_prompt_tokens
        )
        batch = list(zip(prompts, completions, strict=True))
        return weight * cross_entropy_loss(policy, batch, total_tokens=total_tokens)

    def everywhere(self, rollout: Any, dist: Any = None) -> tuple[list, list[str], list]:
        """``(tasks, completions, results)`` of the rollout's passing programs, every
        process's (with ``dist`` of several processes) in rank order: what
        :meth:`add_passing` takes, so that every process's buffer stays the same."""
        passing = [
            (task, text, result)
            for task, text, result in zip(
                rollout.tasks, rollout.completions, rollout.results, strict=True
            )
            if result.passed
        ]
        if dist is not None:
            passing = dist.gather_objects(passing)
        return [t for t, _, _ in passing], [c for _, c, _ in passing], [r for _, _, r in passing]

    def state_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return {"buffer": self.buffer.state_dict(), "prompts": dict(self.prompts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.buffer = ReplayBuffer.from_state_dict(state["buffer"])
        self.prompts.update(state.get("prompts", {}))

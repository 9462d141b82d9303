"""Completion in, reward out: the grading path shared by the env, agents and TRL.

A :class:`Scorer` holds the tasks (looked up by id), one sandbox, and a reward
function. It is what ``env.unwrapped.score`` and ``score_many`` use, and what the TRL
adapter (:func:`code_env.rewards.as_trl_reward`) wraps, so the three give the same
reward for the same completion.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from code_env import rewards as reward_registry
from code_env.sandbox import BaseSandbox, ExecutionResult, Limits, Sandbox
from code_env.tasks.model import Task

_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """The process-wide sandbox that envs and scorers use unless given their own.

    In the main process it has one worker per core. In a child process (each env of
    a Gymnasium ``AsyncVectorEnv`` lives in one) it has a single worker, so N env
    copies share the machine's cores instead of starting N pools as wide as the
    machine.
    """
    global _shared
    with _shared_lock:
        if _shared is None or _shared._closed:
            in_child = multiprocessing.parent_process() is not None
            _shared = Sandbox(workers=1 if in_child else None)
        return _shared


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or a chat completion (a list of messages,
    the last one's ``content``), as TRL passes them."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    raise TypeError(f"a completion must be text or chat messages, got {type(completion).__name__}")


class Scorer:
    """Grades completions against their tasks' hidden tests and applies a reward.

    Args:
        tasks: The tasks completions may belong to (looked up by ``task_id``).
        reward: A registered reward name or a callable (see :mod:`code_env.rewards`).
        sandbox: The sandbox to grade in: a local :class:`~code_env.sandbox.Sandbox`
            or a :class:`~code_env.sandbox.RaySandbox`; default: :func:`shared_sandbox`.
        limits: Limits for every program (default: the sandbox's).
    """

    def __init__(
        self,
        tasks: Iterable[Task],
        reward: Any = "coderl",
        sandbox: BaseSandbox | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.tasks = {t.task_id: t for t in tasks}
        if not self.tasks:
            raise ValueError("a Scorer needs at least one task")
        self.reward = reward_registry.get(reward)
        self._sandbox = sandbox
        self.limits = limits

    @property
    def sandbox(self) -> BaseSandbox:
        """The sandbox in use (the shared one is created on first use)."""
        if self._sandbox is None:
            self._sandbox = shared_sandbox()
        return self._sandbox

    def task(self, task_id: str) -> Task:
        """The task with this id (``KeyError`` naming a few valid ids otherwise)."""
        try:
            return self.tasks[task_id]
        except KeyError:
            sample = ", ".join(list(self.tasks)[:5])
            raise KeyError(f"unknown task_id {task_id!r} (e.g. {sample})") from None

    def reward_of(self, result: ExecutionResult, task: Task, program: str) -> float:
        """The reward for a graded program, as a Python float.

        Raises:
            TypeError: The reward function returned something that is not a real
                number (the message names the function, the task and the value).
        """
        value = self.reward(result, task, program)
        # a number (Python, NumPy, a 0-d tensor), not text that float() would parse
        if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
            name = getattr(self.reward, "__name__", type(self.reward).__name__)
            raise TypeError(
                f"reward {name!r} returned {value!r} ({type(value).__name__}) for task "
                f"{task.task_id!r}; a reward function returns a float"
            )
        return float(value)

    def score(self, task: Task | str, completion: str) -> tuple[float, ExecutionResult]:
        """Grade one completion: ``(reward, result)``."""
        return self.score_many([(task, completion)])[0]

    def score_many(
        self, items: Sequence[tuple[Task | str, str]], *, progress: bool = False
    ) -> list[tuple[float, ExecutionResult]]:
        """Grade many ``(task or task_id, completion)`` pairs in parallel; order kept."""
        resolved = [(self.task(t) if isinstance(t, str) else t, c) for t, c in items]
        programs = [task.program(completion) for task, completion in resolved]
        results = self.sandbox.run_many(
            [(p, task) for p, (task, _) in zip(programs, resolved, strict=True)],
            limits=self.limits,
            progress=progress,
        )
        return [
            (self.reward_of(result, task, program), result)
            for result, (task, _), program in zip(results, resolved, programs, strict=True)
        ]

    def score_completions(
        self, completions: Sequence[Any], task_ids: Sequence[str]
    ) -> list[tuple[float, ExecutionResult]]:
        """:meth:`score_many` for a batch as TRL's reward functions receive it: one task
        id per completion, each completion text or chat messages (:func:`completion_text`).

        Raises:
            ValueError: ``completions`` and ``task_ids`` differ in length.
        """
        if len(task_ids) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(task_ids)} task ids")
        texts = [completion_text(c) for c in completions]
        return self.score_many(list(zip(task_ids, texts, strict=True)))

"""Rewards: functions of a graded program, in a registry the env looks names up in.

A reward is a plain callable ``reward(result, task, program) -> float``, where
``result`` is the sandbox's :class:`~code_env.sandbox.ExecutionResult`, ``task`` the
:class:`~code_env.Task` and ``program`` the graded program text::

    from code_env import rewards

    @rewards.register("strict")
    def strict(result, task, program):
        return 1.0 if result.passed else -1.0

    env = gym.make("CodeSynthesis-v0", reward="strict")   # or reward=strict

Built-in rewards:

``coderl`` (default)
    CodeRL's (Le et al. 2022): -1.0 compile error, -0.6 runtime error, -0.3 failed
    test, +1.0 passed.
``binary``
    1.0 if every test passed, else 0.0.
``pass_rate``
    Partial credit: the fraction of hidden tests passed, in [0, 1] (0.0 when the
    program does not compile or fails at import).
``coderl_partial``
    CodeRL's value for the outcome, raised linearly towards +1.0 with the fraction of
    tests passed: ``base + (1 - base) * n_passed / n_tests``, ``base`` being -1.0,
    -0.6 or -0.3. A program that passes 4 of 5 tests and then crashes on the fifth
    earns more than one that passes none; all tests passing gives +1.0.

A **dense** reward also scores intermediate steps: give the callable a method
``step(task, token_ids) -> float`` (the tokens generated so far, the newest last);
the env pays it on every non-terminal step and the terminal reward on the last. See
:class:`DenseReward` and docs/rewards.md.

Third-party packages add rewards under the entry-point group ``code_env.rewards``
(``name = "package.module:function"``); they are loaded the first time a name is
looked up and not found.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from code_env.sandbox.result import ExecutionResult, Outcome

if TYPE_CHECKING:
    from code_env.tasks.model import Task

RewardFn = Callable[[ExecutionResult, "Task", str], float]
#: The entry-point group third-party packages register rewards under.
ENTRY_POINT_GROUP = "code_env.rewards"

_REGISTRY: dict[str, RewardFn] = {}
_entry_points_loaded = False
_lock = threading.Lock()


@runtime_checkable
class DenseReward(Protocol):
    """A reward that also pays on intermediate steps.

    ``__call__`` gives the terminal reward (the program is graded); ``step`` gives the
    reward for a non-terminal step, from the tokens generated so far.
    """

    def __call__(self, result: ExecutionResult, task: Task, program: str) -> float: ...

    def step(self, task: Task, token_ids: Sequence[int]) -> float: ...


def register(name: str, fn: RewardFn | None = None, *, overwrite: bool = False):
    """Register ``fn`` under ``name``; usable as ``@register("name")``.

    Raises:
        ValueError: ``name`` is taken (pass ``overwrite=True`` to replace it).
        TypeError: ``fn`` is not callable.
    """

    def decorator(func: RewardFn) -> RewardFn:
        if not callable(func):
            raise TypeError(f"reward {name!r} must be callable, got {type(func).__name__}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"a reward name must be a non-empty string, got {name!r}")
        with _lock:
            if name in _REGISTRY and not overwrite and _REGISTRY[name] is not func:
                raise ValueError(
                    f"a reward named {name!r} is already registered; pass overwrite=True"
                )
            _REGISTRY[name] = func
        return func

    return decorator(fn) if fn is not None else decorator


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _REGISTRY:
            continue
        try:
            register(entry.name, entry.load())
        except Exception as exc:  # a broken plugin must not break the others
            import warnings

            warnings.warn(
                f"could not load reward {entry.name!r} from {entry.value}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )


def names() -> list[str]:
    """Every registered reward name (entry points included), sorted."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get(reward: str | RewardFn) -> RewardFn:
    """The reward registered under ``reward``, or ``reward`` itself if callable.

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    if callable(reward):
        return reward
    if not isinstance(reward, str):
        raise TypeError(f"reward must be a name or a callable, got {type(reward).__name__}")
    if reward not in _REGISTRY:
        _load_entry_points()
    try:
        return _REGISTRY[reward]
    except KeyError:
        raise ValueError(
            f"unknown reward {reward!r}; registered rewards: {', '.join(names())}"
        ) from None


def is_dense(reward: Any) -> bool:
    """True if ``reward`` pays on intermediate steps (has a ``step`` method)."""
    return callable(getattr(reward, "step", None))


# --- built-in rewards --------------------------------------------------------------------

#: CodeRL's reward per outcome.
CODERL_VALUES: dict[Outcome, float] = {
    Outcome.COMPILE_ERROR: -1.0,
    Outcome.RUNTIME_ERROR: -0.6,
    Outcome.FAILED_TEST: -0.3,
    Outcome.PASSED: 1.0,
}


@register("coderl")
def coderl(result: ExecutionResult, task: Task, program: str) -> float:
    """CodeRL: -1.0 compile error, -0.6 runtime error, -0.3 failed test, +1.0 passed."""
    return CODERL_VALUES[result.outcome]


@register("binary")
def binary(result: ExecutionResult, task: Task, program: str) -> float:
    """1.0 if every test passed, else 0.0."""
    return 1.0 if result.outcome is Outcome.PASSED else 0.0


@register("pass_rate")
def pass_rate(result: ExecutionResult, task: Task, program: str) -> float:
    """The fraction of hidden tests passed (0.0 if the program never ran its tests)."""
    return float(result.n_passed) / result.n_tests if result.n_tests else 0.0


@register("coderl_partial")
def coderl_partial(result: ExecutionResult, task: Task, program: str) -> float:
    """CodeRL's outcome value raised towards +1.0 with the fraction of tests passed."""
    base = CODERL_VALUES[result.outcome]
    fraction = result.n_passed / result.n_tests if result.n_tests else 0.0
    return base + (1.0 - base) * fraction


class LengthPenalty:
    """A dense reward: a base reward at the end, minus ``cost`` for every token.

    An example of the dense protocol, and a way to discourage rambling programs::

        env = gym.make("CodeSynthesis-v0", reward=LengthPenalty("coderl", cost=0.001))
    """

    def __init__(self, base: str | RewardFn = "coderl", cost: float = 0.001) -> None:
        self.base = get(base)
        self.cost = float(cost)
        self.__name__ = f"length_penalty_{getattr(self.base, '__name__', 'reward')}"

    def step(self, task: Task, token_ids: Sequence[int]) -> float:
        """The per-token cost of a non-terminal step."""
        return -self.cost

    def __call__(self, result: ExecutionResult, task: Task, program: str) -> float:
        """The base reward, minus the cost of the final token."""
        return float(self.base(result, task, program)) - self.cost


def trl_reward_name(reward: str | RewardFn) -> str:
    """The name a TRL reward function of ``reward`` goes by: ``code_env_<reward name>``
    (TRL logs each reward function as ``rewards/<name>/mean``)."""
    fn = get(reward)
    name = reward if isinstance(reward, str) else getattr(fn, "__name__", "reward")
    return f"code_env_{name}"


def as_trl_reward(
    reward: str | RewardFn = "coderl",
    tasks: Any = "builtin",
    *,
    sandbox: Any = None,
    limits: Any = None,
) -> Callable[..., list[float]]:
    """A TRL ``reward_funcs`` callable that grades completions with this reward.

    The callable has TRL's signature, ``fn(prompts, completions, task_id, **kwargs)
    -> list[float]``: ``task_id`` is the dataset column (see
    :func:`code_env.tasks.tasks_to_dataset`), completions may be text or chat messages,
    and every call grades its batch in parallel through one sandbox (the shared one by
    default). The program graded is ``task.program(completion)``, as in the env.

    Args:
        reward: A registered reward name or a callable.
        tasks: The tasks the ids refer to: a source for :func:`code_env.load_tasks` or
            a list of tasks.
        sandbox: The sandbox to grade in: a :class:`~code_env.sandbox.Sandbox`, or a
            :class:`~code_env.sandbox.RaySandbox` to grade on a cluster.
        limits: :class:`~code_env.sandbox.Limits` for every program.
    """
    from code_env.scoring import Scorer
    from code_env.tasks import load_tasks

    fn = get(reward)
    scorer = Scorer(load_tasks(tasks), fn, sandbox=sandbox, limits=limits)

    def reward_func(
        prompts: Any, completions: Sequence[Any], task_id: Sequence[str], **kwargs: Any
    ) -> list[float]:
        return [r for r, _ in scorer.score_completions(completions, task_id)]

    reward_func.__name__ = trl_reward_name(reward)
    reward_func.scorer = scorer  # type: ignore[attr-defined]
    return reward_func

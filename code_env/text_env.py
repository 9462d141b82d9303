"""Text-level adapters for loops that work in whole programs, not tokens.

* :class:`TextRepairEnv` (``CodeRepairText-v0``): the action is a whole program text,
  the observation the prompt plus every attempt and its feedback, as text: the shape
  GEM- and OpenEnv-style loops step.
* :class:`RepairToolEnvironment`: the same episodes for TRL's ``GRPOTrainer``
  environment mode (``environment_factory``): each ``submit`` tool call is an attempt.
* :func:`compute_score`: a verl-style reward function,
  ``compute_score(data_source, solution_str, ground_truth, extra_info)``, that grades a
  response against a task given as the ground truth (:func:`ground_truth`).

Both grade in the project's sandbox with its rewards, so a program earns here what it
earns in ``CodeSynthesis-v0`` and ``CodeRepair-v0``.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import gymnasium as gym
from gymnasium import spaces

from code_env import rewards as reward_registry
from code_env.repair import CodeRepairEnv
from code_env.scoring import Scorer
from code_env.tasks import Task

#: The longest text an observation or an action may hold (``spaces.Text``).
MAX_TEXT_CHARS = 65_536
_CHARSET = frozenset(chr(i) for i in range(32, 127)) | {"\n", "\t"}
_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


class TextRepairEnv(gym.Env[str, str]):
    """``CodeRepair-v0`` with whole programs as actions and text as observations.

    ## Description

    Each step is one attempt: the action is the completion's text (what follows the
    task's prompt; a reply in a Markdown code fence is taken from its last fence). It
    is graded as ``CodeRepair-v0`` grades an attempt, with the same reward, feedback
    and episode end; the observation is the prompt followed by every attempt and its
    feedback so far.

    ## Action Space

    ``Text(max_length=65536)`` (printable ASCII, tab and newline in the space's
    sampler; any ``str`` is accepted by ``step``).

    ## Observation Space

    ``Text(max_length=65536)``: the transcript, cut to its last 65,536 characters.

    ## Rewards

    Each attempt's graded reward (``reward_mode="each"``) or the last one's
    (``"final"``), less ``attempt_cost`` per extra attempt: ``CodeRepair-v0``'s.

    ## Starting State

    ``reset`` draws a task from ``self.np_random`` or takes ``options={"task_id": ...}``.

    ## Episode End

    When an attempt passes the hidden tests or the attempts run out; ``info`` as
    ``CodeRepair-v0``'s at an attempt's end.

    ## Arguments

    ``gym.make("CodeRepairText-v0", **kwargs)``: every ``CodeRepair-v0`` argument
    (``max_new_tokens`` bounds an attempt's tokens, as there).

    ## Version History

    * v0: the initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        if render_mode is not None and render_mode != "ansi":
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.tokens = CodeRepairEnv(**kwargs)
        self.render_mode = render_mode
        self.action_space = spaces.Text(MAX_TEXT_CHARS, charset=_CHARSET)
        self.observation_space = spaces.Text(MAX_TEXT_CHARS, min_length=0, charset=_CHARSET)
        self.task: Task | None = None
        self.transcript = ""
        self.attempt = 0
        self._done = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode; the observation is the task's prompt."""
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        if task_id is None:
            tasks = self.tokens.tasks
            task_id = tasks[int(self.np_random.integers(len(tasks)))].task_id
        self.task = self.tokens.task_for(task_id)
        self.transcript = self.task.prompt
        self.attempt = 1
        self._done = False
        return self._observation(), {"task_id": self.task.task_id, "attempt": 1}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Grade one attempt (a completion's text) and append it and its feedback."""
        if self._done or self.task is None:
            raise RuntimeError("the episode is over: call reset() before step()")
        if not isinstance(action, str):
            raise TypeError(f"an action is the attempt's text (str), got {type(action).__name__}")
        text = extract_code(action)
        tokens = self.tokens.completion_tokens(text)
        end, _ = self.tokens.end_attempt(self.task, tokens, self.attempt)
        self.transcript += self.tokens.decode(tokens) + end.info["feedback"]
        self._done = end.terminated
        self.attempt += 1
        return self._observation(), end.reward, end.terminated, False, end.info

    def render(self) -> str | None:
        """``"ansi"``: the transcript."""
        return self.transcript if self.render_mode == "ansi" else None

    def _observation(self) -> str:
        return self.transcript[-MAX_TEXT_CHARS:]


def extract_code(response: str) -> str:
    """The program in a model's reply: its last fenced code block if it has one
    (a chat model's habit), else the reply as it is."""
    blocks = _FENCE.findall(response)
    return blocks[-1] if blocks else response


def ground_truth(task: Task) -> str:
    """A task as the ``ground_truth`` of a verl-style dataset row: its JSON line (the
    hidden tests travel with it, as verl's reward functions receive them; keep that
    column out of the prompt)."""
    return json.dumps(task.to_dict(), ensure_ascii=False)


_scorers: dict[tuple[str, str], Scorer] = {}


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str | dict[str, Any],
    extra_info: dict[str, Any] | None = None,
) -> float:
    """verl's reward-function signature: this project's reward for a response.

    Args:
        data_source: The dataset's name (kept for verl's routing; not used here).
        solution_str: The model's response: a completion of the task's prompt, or a
            whole program defining the entry point, bare or in a Markdown code fence.
        ground_truth: The task, as :func:`ground_truth` writes it (JSON text) or as
            its dict.
        extra_info: Optional; ``{"reward": "pass_rate"}`` picks another registered
            reward (default ``coderl``).

    Returns:
        The reward (a float): with ``coderl``, -1.0 compile error, -0.6 runtime
        error, -0.3 failed test, +1.0 passed.
    """
    data = json.loads(ground_truth) if isinstance(ground_truth, str) else ground_truth
    task = Task.from_dict(data)
    reward_name = str((extra_info or {}).get("reward", "coderl"))
    reward_registry.get(reward_name)  # a clear error for an unknown name, here
    key = (task.task_id, reward_name)
    scorer = _scorers.get(key)
    if scorer is None:
        if len(_scorers) > 10_000:
            _scorers.clear()
        scorer = _scorers[key] = Scorer([task], reward_name)
    code = extract_code(solution_str)
    whole = task.entry_point and re.search(rf"^def {re.escape(task.entry_point)}\b", code, re.M)
    if whole:  # a whole program: graded as written (the prefix would define it twice)
        result = scorer.sandbox.run(code, task)
        return scorer.reward_of(result, task, code)
    reward, _ = scorer.score(task, code)
    return reward


class RepairToolEnvironment:
    """``CodeRepair-v0`` as a TRL ``GRPOTrainer`` environment (its ``environment_factory``).

    TRL's environment mode (experimental in TRL) gives each rollout one instance: it
    calls :meth:`reset` with the dataset row's fields, lets the model call the public
    methods as tools (here :meth:`submit`), and scores the rollout with
    :meth:`get_reward`. Each ``submit`` is one attempt, graded as ``CodeRepair-v0``
    grades it; the tool's answer is the attempt's feedback (from the compiler and the
    example tests only), so the model can read it and submit again. The reward is the
    last attempt's graded reward, less ``attempt_cost`` for each attempt after the
    first (``CodeRepair-v0``'s ``reward_mode="final"``); a rollout that never submits
    gets ``no_submission_reward``.

    The dataset rows need a ``task_id`` column (the project's TRL agent builds its
    dataset with one); pass the factory as ``environment_factory=lambda: RepairToolEnvironment(tasks=...)``.
    """

    def __init__(self, no_submission_reward: float = -1.0, **kwargs: Any) -> None:
        self.env = TextRepairEnv(**kwargs)
        self.no_submission_reward = float(no_submission_reward)
        self.rewards: list[float] = []
        self.done = False

    def reset(self, task_id: str, **row: Any) -> str:
        """Start a rollout on the row's task; returns the instructions appended to the
        prompt."""
        self.env.reset(options={"task_id": task_id})
        self.rewards = []
        self.done = False
        attempts = self.env.tokens.max_attempts
        return (
            f"\n\nCall `submit` with the code that completes the function. You have "
            f"{attempts} attempt{'s' if attempts != 1 else ''}; after a failed one you "
            "see what its example tests gave."
        )

    def submit(self, program: str) -> str:
        """Submit the code that completes the function, and get the test feedback.

        Args:
            program: The code that follows the prompt (the function's body, or the
                whole function).

        Returns:
            "passed" when every test passes, otherwise the feedback of the example tests.
        """
        if self.done:
            return "no attempts left"
        _, _, terminated, _, info = self.env.step(program)
        self.rewards.append(float(info["attempt_reward"]))
        self.done = terminated
        if info["outcome"] == "passed":
            return "passed"
        return info["feedback"].strip() or f"{info['outcome'].replace('_', ' ')}; no attempts left"

    def get_reward(self) -> float:
        """The rollout's reward: the last attempt's graded reward less the cost of the
        extra attempts (or ``no_submission_reward``)."""
        if not self.rewards:
            return self.no_submission_reward
        return self.rewards[-1] - self.env.tokens.attempt_cost * (len(self.rewards) - 1)

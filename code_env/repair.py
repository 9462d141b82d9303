"""``CodeRepair-v0``: write a program, read what its example tests say, write it again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from code_env.env import CodeSynthesisEnv
from code_env.sandbox import BaseSandbox, ExecutionResult, Limits, Outcome
from code_env.tasks import Task, TestCase

#: ``reward_mode`` values: each attempt's reward at its end, or the last attempt's only.
REWARD_MODES = ("each", "final")
#: Characters of a value or an input shown in feedback before it is cut.
_SHOWN_CHARS = 120


@dataclass(frozen=True)
class AttemptEnd:
    """What the step that ends an attempt returns (and :meth:`CodeRepairEnv.score_attempts`)."""

    reward: float
    """The step's reward (see the env's Rewards section)."""
    terminated: bool
    """True when the hidden tests passed or no attempt is left."""
    info: dict[str, Any]
    """``attempt``, ``outcome``, ``subtype``, ``n_passed``, ``n_tests``, ``feedback``,
    ``attempt_reward``, ``program`` and ``task_id``."""


class CodeRepairEnv(CodeSynthesisEnv):
    """Write a program; if it fails, read feedback from its example tests and rewrite it.

    ## Description

    Multi-turn repair on top of ``CodeSynthesis-v0``'s token-level MDP (whose meaning
    is unchanged). An episode is up to ``max_attempts`` attempts at one task. The agent
    writes a program one token at a time; an attempt ends at the end-of-text token or
    after ``max_new_tokens`` tokens. The attempt is then graded on the task's hidden
    tests, which give the reward, and run on the task's *example* tests, which give the
    feedback. The episode ends when the hidden tests pass or the attempts run out;
    otherwise the feedback text is appended to the observation and the next attempt
    starts after it.

    Feedback comes only from what a user of the task may see: the compiler, and the
    example tests (the failing example's call or assert, its expected and actual value,
    or the error's kind and last message line), as Python comment lines, cut to
    ``feedback_tokens`` tokens. Never a hidden test's code, input or expected value: a
    task with no example tests gets the outcome, the exception's kind and the line of
    the program it was raised on, without its message.

    ## Action Space

    ``Discrete(V)``, as ``CodeSynthesis-v0``.

    ## Observation Space

    ``Dict(input_ids=Box(0, V-1, (L,), int64), attention_mask=Box(0, 1, (L,), int8))``
    with ``L = max_prompt_tokens + max_attempts * max_new_tokens + (max_attempts - 1) *
    feedback_tokens``: room for the prompt, every attempt and every feedback. The
    history is right-aligned (left padding): the newest token is at index ``L-1``.

    ## Rewards

    0.0 on every step but those that end an attempt. With ``reward_mode="each"``
    (default) the step that ends an attempt gets that attempt's graded reward (the
    reward function on its hidden-test result: ``coderl`` by default); with
    ``"final"`` only the last attempt's step does (earlier ones get 0.0). Every
    attempt after the first costs ``attempt_cost`` (default 0.0), taken at its end in
    ``"each"`` mode and all at the last step in ``"final"`` mode, so both modes give an
    episode the same return. A dense reward is paid on the other steps, as in v0.

    ## Starting State

    ``reset`` draws a task uniformly from ``self.np_random``, or takes
    ``options={"task_id": ...}``.

    ## Episode End

    ``terminated`` at the end of an attempt whose program passes the hidden tests, or
    of the last attempt. ``truncated`` is always False. The ``info`` of each step that
    ends an attempt has ``attempt`` (1-based), ``outcome``, ``subtype``, ``n_passed``,
    ``n_tests`` (hidden tests), ``feedback`` (the text appended, "" at the end),
    ``attempt_reward``, ``program`` and ``task_id``.

    ## Arguments

    ```python
    gym.make("CodeRepair-v0", max_attempts=3, feedback_tokens=96, reward_mode="each",
             attempt_cost=0.0, tasks="builtin", split=None, tokenizer=None,
             reward="coderl", max_new_tokens=256, max_prompt_tokens=None,
             action_size=None, sandbox=None, limits=None, render_mode=None)
    ```

    * ``max_attempts``: attempts per episode, at least 1.
    * ``feedback_tokens``: the feedback's budget, in tokens; at least what the
      feedback's first line needs (:attr:`min_feedback_tokens`, checked here).
    * ``reward_mode``: ``"each"`` or ``"final"``.
    * ``attempt_cost``: subtracted for each attempt after the first (>= 0).
    * the rest: as ``CodeSynthesis-v0``.

    ## Version History

    * v0: the initial version.
    """

    def __init__(
        self,
        tasks: str | Iterable[Task] | Any = "builtin",
        split: str | None = None,
        tokenizer: Any = None,
        reward: Any = "coderl",
        max_attempts: int = 3,
        feedback_tokens: int = 96,
        reward_mode: str = "each",
        attempt_cost: float = 0.0,
        max_new_tokens: int = 256,
        max_prompt_tokens: int | None = None,
        action_size: int | None = None,
        sandbox: BaseSandbox | None = None,
        limits: Limits | None = None,
        render_mode: str | None = None,
        task_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, (int, np.integer)):
            raise ValueError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if not isinstance(attempt_cost, (int, float)) or attempt_cost < 0:
            raise ValueError(f"attempt_cost must be a number >= 0, got {attempt_cost!r}")
        super().__init__(
            tasks,
            split=split,
            tokenizer=tokenizer,
            reward=reward,
            max_new_tokens=max_new_tokens,
            max_prompt_tokens=max_prompt_tokens,
            action_size=action_size,
            sandbox=sandbox,
            limits=limits,
            render_mode=render_mode,
            task_kwargs=task_kwargs,
        )
        self.max_attempts = int(max_attempts)
        self.reward_mode = reward_mode
        self.attempt_cost = float(attempt_cost)
        #: The fewest tokens a feedback may have: its first line, with the longest
        #: outcome and a short error.
        self.min_feedback_tokens = len(
            self._encode(
                _header(self.max_attempts, "runtime error") + "# indentationerror at line 999\n"
            )
        )
        if (
            isinstance(feedback_tokens, bool)
            or not isinstance(feedback_tokens, (int, np.integer))
            or feedback_tokens < self.min_feedback_tokens
        ):
            raise ValueError(
                f"feedback_tokens={feedback_tokens!r} is too small for the feedback's first "
                f"line (the outcome and the error): it needs at least "
                f"{self.min_feedback_tokens} tokens with this tokenizer"
            )
        self.feedback_tokens = int(feedback_tokens)
        self.length = (
            self.max_prompt_tokens
            + self.max_attempts * self.max_new_tokens
            + (self.max_attempts - 1) * self.feedback_tokens
        )
        self.observation_space = spaces.Dict(
            {
                "input_ids": spaces.Box(0, self.action_size - 1, (self.length,), dtype=np.int64),
                "attention_mask": spaces.Box(0, 1, (self.length,), dtype=np.int8),
            }
        )
        self._ids = np.full(self.length, self.pad_id, dtype=np.int64)
        self._mask = np.zeros(self.length, dtype=np.int8)
        self.attempt = 0
        self.history: list[int] = []  # every attempt's and feedback's tokens, in order

    # --- the Gymnasium API --------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode (see ``CodeSynthesis-v0``); attempt 1 begins."""
        observation, info = super().reset(seed=seed, options=options)
        self.attempt = 1
        self.history = []
        info["attempt"] = 1
        return observation, info

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Append a token; at the end of an attempt, grade it and either end the episode
        or append the feedback and start the next attempt."""
        if self._done:
            raise RuntimeError("the episode is over: call reset() before step()")
        token = self._check_action(action)
        self.generated.append(token)
        self.history.append(token)
        self._push([token])
        assert self.task is not None
        if token != self.eos_id and len(self.generated) < self.max_new_tokens:
            reward = float(self.reward_fn.step(self.task, self.generated)) if self.dense else 0.0
            return self._observation(), reward, False, False, {}
        end, feedback_ids = self.end_attempt(self.task, self.generated, self.attempt)
        if end.terminated:
            self._done = True
        else:
            self.history.extend(feedback_ids)
            self._push(feedback_ids)
            self.attempt += 1
            self.generated = []
        return self._observation(), end.reward, end.terminated, False, end.info

    def render(self) -> str | None:
        """``"ansi"``: the prompt, every attempt and every feedback so far, as text."""
        if self.render_mode != "ansi" or self.task is None:
            return None
        known = [t for t in self.history if t != self.eos_id and 0 <= t < self.vocab_size]
        return self.task.prompt + self.tokenizer.decode(known, skip_special_tokens=True)

    # --- scoring whole attempts without stepping ----------------------------------------

    def score_attempts(
        self, completions: Sequence[str | Sequence[int]], task_id: str | None = None
    ) -> list[AttemptEnd]:
        """What stepping through ``completions``, one per attempt, gives at the end of
        each attempt: the step's reward (dense rewards of the attempt's other steps
        included), whether it ends the episode, and its ``info``. Stops at the attempt
        that ends the episode; completions beyond it are ignored. Each completion is
        cut as :meth:`completion_tokens` cuts it. ``task_id`` defaults to the current
        episode's task (which is not changed)."""
        if not completions:
            raise ValueError("score_attempts needs at least one completion")
        task = self.task_for(task_id)
        out: list[AttemptEnd] = []
        for number, completion in enumerate(completions[: self.max_attempts], start=1):
            tokens = self.completion_tokens(completion)
            end, _ = self.end_attempt(task, tokens, number)
            if self.dense:
                steps = sum(
                    float(self.reward_fn.step(task, tokens[:k])) for k in range(1, len(tokens))
                )
                end = AttemptEnd(end.reward + steps, end.terminated, end.info)
            out.append(end)
            if end.terminated:
                break
        return out

    # --- feedback ------------------------------------------------------------------------

    def feedback(self, task: Task, text: str, hidden: ExecutionResult, attempt: int) -> str:
        """The feedback on attempt ``attempt`` before the token budget
        (:func:`attempt_feedback` in this env's sandbox)."""
        return attempt_feedback(
            task, text, hidden, attempt, self.scorer.sandbox, limits=self.scorer.limits
        )

    def end_attempt(
        self, task: Task, tokens: Sequence[int], attempt: int
    ) -> tuple[AttemptEnd, list[int]]:
        """Grade attempt number ``attempt`` (``tokens``, the completion) of ``task``: the
        reward, end and ``info`` its last step gives, and the feedback's token ids
        (empty when the episode ends there). Changes nothing in the env, so wrappers
        that work in text (:class:`~code_env.text_env.TextRepairEnv`) grade with it."""
        graded, result, program = self._grade(task, tokens)
        last = result.outcome is Outcome.PASSED or attempt >= self.max_attempts
        cost = self.attempt_cost if attempt > 1 else 0.0
        if self.reward_mode == "each":
            reward = graded - cost
        else:
            reward = graded - self.attempt_cost * (attempt - 1) if last else 0.0
        feedback_ids: list[int] = []
        if not last:
            text = self.feedback(task, self.decode(tokens), result, attempt)
            feedback_ids = self._encode(text)[: self.feedback_tokens]
        info = {
            "attempt": attempt,
            "outcome": result.outcome.value,
            "subtype": result.subtype,
            "n_passed": result.n_passed,
            "n_tests": result.n_tests,
            "feedback": self.tokenizer.decode(feedback_ids) if feedback_ids else "",
            "attempt_reward": graded,
            "program": program,
            "task_id": task.task_id,
        }
        return AttemptEnd(float(reward), last, info), feedback_ids

    # --- internals ---------------------------------------------------------------------

    def _encode(self, text: str) -> list[int]:
        return [int(t) for t in self.tokenizer.encode(text, add_special_tokens=False)]

    def _push(self, tokens: Sequence[int]) -> None:
        """Append tokens at the right end of the observation, shifting the rest left."""
        n = len(tokens)
        if n == 0:
            return
        self._ids[:-n] = self._ids[n:]
        self._ids[-n:] = tokens
        self._mask[:-n] = self._mask[n:]
        self._mask[-n:] = 1


def attempt_feedback(
    task: Task,
    text: str,
    hidden: ExecutionResult,
    attempt: int,
    sandbox: BaseSandbox,
    limits: Limits | None = None,
) -> str:
    """The feedback on attempt ``attempt`` at ``task`` (its completion ``text``, its
    hidden-test result ``hidden``): comment lines from the compiler and the example
    tests only, which it runs in ``sandbox``. Never a hidden test's code, input or
    expected value (see ``CodeRepair-v0``'s Description)."""
    if hidden.outcome is Outcome.COMPILE_ERROR:
        detail = _last_line(hidden.message) or (hidden.subtype or "")
        where = f" at line {hidden.error_line}" if hidden.error_line else ""
        return _header(attempt, "compile error") + f"# {hidden.subtype}{where}: {detail}\n"
    outcome = hidden.outcome.value.replace("_", " ")
    if not task.example_tests:
        kind = hidden.subtype or outcome
        where = f" at line {hidden.error_line}" if hidden.error_line else ""
        return _header(attempt, outcome) + f"# {kind}{where}\n"
    examples = sandbox.run(task.program(text), task, tests=task.example_tests, limits=limits)
    failing = next((r for r in examples.tests if not r.passed), None)
    if failing is None:
        if examples.n_passed < examples.n_tests:  # failed before any test ran
            kind = examples.subtype or examples.outcome.value
            return _header(attempt, outcome) + f"# {kind}: {_last_line(examples.message)}\n"
        return _header(attempt, outcome) + "# the examples pass; other tests do not\n"
    example = task.example_tests[failing.index]
    lines = [_show_test(example, task.entry_point)]
    if failing.error is not None:
        message = _last_line(failing.message)
        lines.append(f"raised {failing.error}" + (f": {message}" if message else ""))
    else:
        if example.kind in ("call", "stdio"):
            lines.append(f"expected {_cut(_show_value(example.expected))}")
        lines.append(f"got {_cut(failing.actual or '')}")
    return _header(attempt, outcome) + "".join(f"# {line}\n" for line in lines)


def _header(attempt: int, outcome: str) -> str:
    return f"\n# Attempt {attempt}: {outcome}.\n"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return _cut(lines[-1]) if lines else ""


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _show_value(value: Any) -> str:
    return repr(value)  # one line, whatever the value holds


def _show_test(test: TestCase, entry_point: str | None) -> str:
    """How an example test reads in feedback: its call, assert, or input."""
    if test.kind == "call":
        args = ", ".join(repr(a) for a in (test.args or []))
        return _cut(f"{test.fn or entry_point}({args})")
    if test.kind == "assert":
        return _cut((test.code or "").strip().splitlines()[0] if test.code else "")
    return "input " + _cut(repr(test.input or ""))

"""``CodeSynthesis-v0``: write a program one token at a time; unit tests grade it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from code_env import rewards as reward_registry
from code_env.sandbox import BaseSandbox, ExecutionResult, Limits
from code_env.scoring import Scorer
from code_env.tasks import Task, TaskList, load_tasks
from code_env.tokenizer import load_tokenizer

#: Prompts longer than this many tokens are cut, keeping their end.
DEFAULT_MAX_PROMPT_TOKENS = 1024


class CodeSynthesisEnv(gym.Env[dict[str, np.ndarray], int]):
    """Write a program one token at a time; at the end it runs against unit tests.

    ## Description

    The token-level MDP of CodeRL (Le et al. 2022): each episode is one programming
    task. The agent sees the task's prompt and the tokens it has written so far and
    chooses the next token. When it emits the end-of-text token, or reaches
    ``max_new_tokens``, the tokens are decoded to text, appended to the task's
    ``program_prefix`` (e.g. the function signature) and the program runs against the
    task's hidden unit tests in a sandbox. The reward grades the outcome.

    ## Action Space

    ``Discrete(V)``: the id of the next token. ``V`` is ``action_size`` when given
    (a model's output width, which may exceed the tokenizer's size; ids the tokenizer
    does not know decode to nothing), else the tokenizer's size (8,192 for the shipped
    tokenizer). An action outside ``[0, V)`` raises ``ValueError``. ``action_masks()``
    gives the ids worth generating (every known token except padding and special
    tokens other than end-of-text), for maskable algorithms.

    ## Observation Space

    ``Dict(input_ids=Box(0, V-1, (L,), int64), attention_mask=Box(0, 1, (L,), int8))``
    with ``L = max_prompt_tokens + max_new_tokens``. The prompt tokens followed by the
    generated ones are *right-aligned* (left padding, as for batched decoder-only
    models): the newest token is always at index ``L-1``; padding on the left holds the
    pad id with ``attention_mask`` 0. A prompt longer than ``max_prompt_tokens`` keeps
    its end, where the signature to complete is. Each step returns fresh arrays.

    ## Rewards

    0.0 on every step but the last, which gets the reward function's value for the
    graded program (a Python float). The default, ``coderl``, gives -1.0 for a compile
    error, -0.6 for a runtime error, -0.3 for a failed test and +1.0 when every test
    passes; ``binary``, ``pass_rate`` and ``coderl_partial`` are built in, and any
    callable ``reward(result, task, program) -> float`` or registered name works
    (docs/rewards.md). A *dense* reward (one with a ``step`` method) is also paid on
    the other steps.

    ## Starting State

    ``reset`` draws a task uniformly from ``self.np_random`` (so ``reset(seed=...)``
    fixes the sequence of tasks), or takes ``options={"task_id": ...}``.

    ## Episode End

    ``terminated`` is True at the end-of-text token or after ``max_new_tokens``
    tokens; only then is the program run. ``truncated`` is always False: it is left for
    outside time limits (a value bootstrapped on truncation would be wrong for a judged
    program). The final ``info`` has ``outcome``, ``subtype``, ``n_passed``,
    ``n_tests``, ``program`` and ``task_id``, and nothing time-dependent.

    ## Arguments

    ```python
    gym.make("CodeSynthesis-v0", tasks="builtin", split=None, tokenizer=None,
             reward="coderl", max_new_tokens=256, max_prompt_tokens=None,
             action_size=None, sandbox=None, limits=None, render_mode=None)
    ```

    * ``tasks``: a source for :func:`code_env.load_tasks` (``"builtin"``, ``"mbpp"``,
      a ``.jsonl`` path...) or a list of :class:`~code_env.Task`;
      ``task_kwargs`` are passed to the loader (e.g. ``{"path": ...}``).
    * ``split``: keep only this split.
    * ``tokenizer``: None for the shipped one, or any Hugging Face tokenizer (object,
      name or path). It needs an end-of-text token.
    * ``reward``: a registered name or a callable.
    * ``max_new_tokens``: the longest program, in tokens.
    * ``max_prompt_tokens``: default: the longest prompt of the task set, at most 1,024.
    * ``action_size``: the model's output width, if larger than the tokenizer.
    * ``sandbox``: a :class:`~code_env.sandbox.Sandbox` to grade in, or a
      :class:`~code_env.sandbox.RaySandbox` to grade on a Ray cluster (the verdicts and
      so the rewards are the same); default: one shared by every env of the process (one worker per core, or a single worker in
      a subprocess such as one of ``AsyncVectorEnv``'s).
    * ``limits``: :class:`~code_env.sandbox.Limits` for every program.
    * ``render_mode``: ``"ansi"`` (the prompt and the program so far, as text) or None.

    ## Version History

    * v0: the initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        tasks: str | Iterable[Task] | Any = "builtin",
        split: str | None = None,
        tokenizer: Any = None,
        reward: Any = "coderl",
        max_new_tokens: int = 256,
        max_prompt_tokens: int | None = None,
        action_size: int | None = None,
        sandbox: BaseSandbox | None = None,
        limits: Limits | None = None,
        render_mode: str | None = None,
        task_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens <= 0:
            raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.tasks: TaskList = load_tasks(tasks, split=split, **(task_kwargs or {}))
        self.reward_fn = reward_registry.get(reward)
        self.dense = reward_registry.is_dense(self.reward_fn)
        self.tokenizer = load_tokenizer(tokenizer)
        self.eos_id = int(self.tokenizer.eos_token_id)
        self.pad_id = int(self.tokenizer.pad_token_id)
        self.vocab_size = len(self.tokenizer)
        self.max_new_tokens = int(max_new_tokens)
        prompts = [t.prompt for t in self.tasks]
        encoded = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        longest = max(len(ids) for ids in encoded)
        if max_prompt_tokens is None:
            max_prompt_tokens = min(longest, DEFAULT_MAX_PROMPT_TOKENS)
        if max_prompt_tokens <= 0:
            raise ValueError(f"max_prompt_tokens must be positive, got {max_prompt_tokens}")
        self.max_prompt_tokens = int(max_prompt_tokens)
        self._prompt_ids = {
            task.task_id: np.asarray(ids[-self.max_prompt_tokens :], dtype=np.int64)
            for task, ids in zip(self.tasks, encoded, strict=True)
        }
        self._by_id = {t.task_id: t for t in self.tasks}
        width = self.vocab_size if action_size is None else int(action_size)
        if width < self.vocab_size:
            raise ValueError(
                f"action_size={width} is smaller than the tokenizer's {self.vocab_size} tokens"
            )
        self.action_size = width
        self.length = self.max_prompt_tokens + self.max_new_tokens
        self.observation_space = spaces.Dict(
            {
                "input_ids": spaces.Box(0, width - 1, (self.length,), dtype=np.int64),
                "attention_mask": spaces.Box(0, 1, (self.length,), dtype=np.int8),
            }
        )
        self.action_space = spaces.Discrete(width)
        self.render_mode = render_mode
        self.scorer = Scorer(self.tasks, self.reward_fn, sandbox=sandbox, limits=limits)
        self._ids = np.full(self.length, self.pad_id, dtype=np.int64)
        self._mask = np.zeros(self.length, dtype=np.int8)
        self.task: Task | None = None
        self.generated: list[int] = []
        self._done = True
        self._mask_cache: np.ndarray | None = None

    # --- the Gymnasium API --------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode on a random task (``self.np_random``) or ``options["task_id"]``."""
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        if task_id is not None:
            if task_id not in self._by_id:
                sample = ", ".join(list(self._by_id)[:5])
                raise ValueError(f"unknown task_id {task_id!r} (e.g. {sample})")
            self.task = self._by_id[task_id]
        else:
            self.task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        prompt = self._prompt_ids[self.task.task_id]
        self._ids.fill(self.pad_id)
        self._mask.fill(0)
        self._ids[self.length - len(prompt) :] = prompt
        self._mask[self.length - len(prompt) :] = 1
        self.generated = []
        self._done = False
        info = {"task_id": self.task.task_id, "prompt_tokens": len(prompt)}
        return self._observation(), info

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Append a token; at the end-of-text token or the length limit, grade the program."""
        if self._done:
            raise RuntimeError("the episode is over: call reset() before step()")
        token = self._check_action(action)
        self.generated.append(token)
        # Shift left by one: the newest token always sits at the end.
        self._ids[:-1] = self._ids[1:]
        self._ids[-1] = token
        self._mask[:-1] = self._mask[1:]
        self._mask[-1] = 1
        terminated = token == self.eos_id or len(self.generated) >= self.max_new_tokens
        assert self.task is not None
        if not terminated:
            reward = float(self.reward_fn.step(self.task, self.generated)) if self.dense else 0.0
            return self._observation(), reward, False, False, {}
        self._done = True
        reward, result, program = self._grade(self.task, self.generated)
        return self._observation(), reward, True, False, self._final_info(result, program)

    def render(self) -> str | None:
        """``"ansi"``: the prompt and the completion so far, as text."""
        if self.render_mode != "ansi" or self.task is None:
            return None
        return self.task.prompt + self.decode(self.generated)

    def close(self) -> None:
        """Nothing to release: the sandbox is shared (and closed at interpreter exit)
        or the caller's."""
        super().close()

    # --- masks, decoding, scoring without stepping ---------------------------------------

    def action_masks(self) -> np.ndarray:
        """``bool[V]``: the tokens worth generating (known ids, no padding or special
        tokens other than end-of-text)."""
        if self._mask_cache is None:
            mask = np.zeros(self.action_size, dtype=bool)
            mask[: self.vocab_size] = True
            for token_id in self.tokenizer.all_special_ids:
                if token_id != self.eos_id and 0 <= token_id < self.action_size:
                    mask[token_id] = False
            mask[self.eos_id] = True
            self._mask_cache = mask
        return self._mask_cache.copy()

    def decode(self, token_ids: Sequence[int]) -> str:
        """The text of generated tokens: up to the first end-of-text, without special
        tokens or ids the tokenizer does not know."""
        ids = [int(t) for t in token_ids]
        if self.eos_id in ids:
            ids = ids[: ids.index(self.eos_id)]
        ids = [t for t in ids if 0 <= t < self.vocab_size]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def completion_tokens(self, completion: str | Sequence[int]) -> list[int]:
        """The actions of the episode that writes ``completion``: its tokens (encoded if
        text), then the end-of-text token that ends the episode, all cut at
        ``max_new_tokens`` (and after an end-of-text token already inside)."""
        if isinstance(completion, str):
            ids = list(self.tokenizer.encode(completion, add_special_tokens=False))
        else:
            ids = [int(t) for t in completion]
        if self.eos_id in ids:
            ids = ids[: ids.index(self.eos_id) + 1]
        else:
            ids.append(self.eos_id)
        return ids[: self.max_new_tokens]

    def score(
        self, completion: str | Sequence[int], task_id: str | None = None
    ) -> tuple[float, ExecutionResult]:
        """The return of the episode that writes ``completion`` and then ends (see
        :meth:`completion_tokens`), and the graded result, without stepping.
        ``task_id`` defaults to the current episode's task."""
        return self.score_many([completion], [task_id])[0]

    def score_many(
        self,
        completions: Sequence[str | Sequence[int]],
        task_ids: Sequence[str | None] | None = None,
        *,
        progress: bool = False,
    ) -> list[tuple[float, ExecutionResult]]:
        """:meth:`score` for many completions, graded in parallel through the sandbox."""
        if task_ids is None:
            task_ids = [None] * len(completions)
        if len(task_ids) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(task_ids)} task ids")
        tasks = [self.task_for(task_id) for task_id in task_ids]
        tokens = [self.completion_tokens(c) for c in completions]
        texts = [self.decode(ids) for ids in tokens]
        graded = self.scorer.score_many(list(zip(tasks, texts, strict=True)), progress=progress)
        out = []
        for task, ids, (terminal, result) in zip(tasks, tokens, graded, strict=True):
            total = terminal
            if self.dense:  # the steps before the last one paid too
                total += sum(float(self.reward_fn.step(task, ids[:k])) for k in range(1, len(ids)))
            out.append((float(total), result))
        return out

    def task_for(self, task_id: str | None) -> Task:
        """The task with ``task_id``, or the current episode's for None (``ValueError``
        for an unknown id, or None before the first ``reset``)."""
        if task_id is None:
            if self.task is None:
                raise ValueError("no current task: pass task_id= or call reset() first")
            return self.task
        try:
            return self._by_id[task_id]
        except KeyError:
            raise ValueError(f"unknown task_id {task_id!r}") from None

    def _check_action(self, action: Any) -> int:
        try:
            token = int(action)
        except (TypeError, ValueError):
            raise ValueError(
                f"invalid action {action!r}: expected a token id in [0, {self.action_size})"
            ) from None
        if token != action and not isinstance(action, (np.integer, np.ndarray)):
            raise ValueError(
                f"invalid action {action!r}: not an integer token id in [0, {self.action_size})"
            )
        if not 0 <= token < self.action_size:
            raise ValueError(
                f"invalid action {token}: token ids are in [0, {self.action_size}) "
                f"(V = {self.action_size})"
            )
        return token

    def _grade(self, task: Task, tokens: Sequence[int]) -> tuple[float, ExecutionResult, str]:
        text = self.decode(tokens)
        reward, result = self.scorer.score(task, text)
        return float(reward), result, task.program(text)

    def _final_info(self, result: ExecutionResult, program: str) -> dict[str, Any]:
        assert self.task is not None
        return {
            "outcome": result.outcome.value,
            "subtype": result.subtype,
            "n_passed": result.n_passed,
            "n_tests": result.n_tests,
            "program": program,
            "task_id": self.task.task_id,
        }

    def _observation(self) -> dict[str, np.ndarray]:
        return {"input_ids": self._ids.copy(), "attention_mask": self._mask.copy()}

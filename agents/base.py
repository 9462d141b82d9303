"""The loop every agent shares: sample, grade, update, log, checkpoint.

:class:`BaseAgent` owns everything but the update itself (Stable-Baselines3's
``BaseAlgorithm`` split): loading the policy, drawing tasks, sampling programs and
grading them through one sandbox, metrics, callbacks, the progress bar, checkpoints
and resuming, and evaluation. A subclass implements :meth:`BaseAgent.update` (one
optimisation step from a rollout) and, if it keeps state of its own, the two
``_extra_state`` hooks.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from agents.callbacks import BaseCallback, CallbackList
from agents.config import AgentConfig
from agents.metrics import MetricsLogger
from agents.policy import Policy, seed_everything
from code_env.sandbox import BaseSandbox, ExecutionResult, Outcome
from code_env.scoring import Scorer
from code_env.tasks import Task, TaskList, load_tasks


@dataclass
class Rollout:
    """Programs sampled for some tasks, graded."""

    tasks: list[Task]
    """The task of each sample."""
    prompt_ids: list[list[int]]
    """Prompt tokens of each sample."""
    completion_ids: list[list[int]]
    """Generated tokens of each sample (ending with end-of-text when one came)."""
    completions: list[str]
    """Decoded completions."""
    rewards: list[float]
    """The env's reward for each program."""
    results: list[ExecutionResult]
    """The sandbox's verdicts."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float:
        """Share of samples that passed every test."""
        return sum(r.passed for r in self.results) / max(1, len(self.results))

    def metrics(self) -> dict[str, float]:
        """``rollout/...`` metrics of this rollout."""
        outcomes = Counter(r.outcome.value for r in self.results)
        n = max(1, len(self.results))
        lengths = [len(c) for c in self.completion_ids]
        return {
            "rollout/pass_rate": self.pass_rate,
            "rollout/reward_mean": float(np.mean(self.rewards)) if self.rewards else 0.0,
            "rollout/test_pass_rate": float(np.mean([r.pass_rate for r in self.results])),
            "rollout/tokens_mean": float(np.mean(lengths)) if lengths else 0.0,
            "rollout/tokens": float(sum(lengths)),
            **{f"rollout/outcome/{k}": outcomes.get(k, 0) / n for k in (o.value for o in Outcome)},
        }


def resolve_tasks(tasks_or_env: Any) -> tuple[TaskList, Any]:
    """``(tasks, env or None)`` from a task source, a task list, or a CodeSynthesis env."""
    env = getattr(tasks_or_env, "unwrapped", None)
    if env is not None and hasattr(env, "scorer") and hasattr(env, "tasks"):
        return env.tasks, env
    return load_tasks(tasks_or_env), None


def evaluate_policy(
    policy: Policy,
    tasks: Sequence[Task],
    *,
    sandbox: BaseSandbox,
    k: Iterable[int] = (1, 5),
    n: int | None = None,
    max_new_tokens: int = 128,
    temperature: float = 1.0,
    top_p: float = 0.95,
    batch_size: int = 128,
    max_prompt_tokens: int | None = None,
    greedy_only: bool = False,
    progress: bool = False,
):
    """Sample ``n`` programs per task (and a greedy one), grade them, and report greedy
    pass@1, pass@k and outcome shares (:class:`agents.evaluation.EvalReport`).
    ``greedy_only`` skips sampling (for quick learning curves): pass@k is then that of
    the greedy programs. ``sandbox`` is any :class:`~code_env.sandbox.BaseSandbox`: a
    local :class:`~code_env.sandbox.Sandbox`, or a :class:`~code_env.sandbox.RaySandbox`
    to grade on a Ray cluster (for generation spread over a cluster too, see
    :func:`agents.ray_eval.evaluate_checkpoint_on_ray`)."""
    from agents.evaluation import evaluate_completions

    ks = tuple(sorted(set(k)))
    prompts = [t.prompt for t in tasks]
    greedy = policy.generate(
        prompts,
        greedy=True,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        max_prompt_tokens=max_prompt_tokens,
    )
    greedy_text = {t.task_id: g[0].text for t, g in zip(tasks, greedy, strict=True)}
    if greedy_only:
        samples = {tid: [text] for tid, text in greedy_text.items()}
        ks = (1,)
    else:
        groups = policy.generate(
            prompts,
            n=n or max(ks),
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            batch_size=batch_size,
            max_prompt_tokens=max_prompt_tokens,
        )
        samples = {t.task_id: [s.text for s in g] for t, g in zip(tasks, groups, strict=True)}
    return evaluate_completions(
        tasks, samples, greedy_text, scorer_or_sandbox=sandbox, ks=ks, progress=progress
    )


def evaluation_generation(config: AgentConfig, temperature: float | None = None) -> dict[str, Any]:
    """The generation settings an evaluation of an agent with ``config`` uses
    (:meth:`BaseAgent.evaluate`, and :mod:`agents.ray_eval` for a saved one), as
    keyword arguments of :func:`evaluate_policy`: ``max_new_tokens``, ``temperature``
    (``temperature`` if given, else the config's), ``top_p``, ``batch_size`` and
    ``max_prompt_tokens``."""
    return {
        "max_new_tokens": config.max_new_tokens,
        "temperature": temperature or config.temperature,
        "top_p": config.top_p,
        "batch_size": config.generation_batch_size,
        "max_prompt_tokens": config.max_prompt_tokens,
    }


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """The checkpoint folder ``path`` names: ``path`` itself when it holds a
    ``config.json``, else its ``checkpoint/`` (a run folder from ``code-synthesis
    train``).

    Raises:
        FileNotFoundError: Neither holds a saved agent.
    """
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    if (path / "checkpoint" / "config.json").is_file():
        return path / "checkpoint"
    raise FileNotFoundError(
        f"no saved agent in {path}: expected {path / 'config.json'} (a checkpoint) or "
        f"{path / 'checkpoint' / 'config.json'} (a run folder)"
    )


def read_checkpoint_config(path: str | os.PathLike[str]) -> tuple[str, AgentConfig]:
    """``(agent class name, its config)`` saved in a checkpoint folder (or a run folder,
    see :func:`resolve_checkpoint`), without loading the model."""
    from agents import agent_class

    path = resolve_checkpoint(path)
    saved = json.loads((path / "config.json").read_text())
    config_class = agent_class(saved["agent"]).config_class
    return saved["agent"], config_class.from_dict(saved["config"])


def load_checkpoint_policy(
    path: str | os.PathLike[str],
    config: AgentConfig,
    *,
    device: str = "auto",
    reference: bool = False,
) -> Policy:
    """The policy saved in the checkpoint folder ``path`` by :meth:`BaseAgent.save`.

    What :meth:`BaseAgent.load` loads, and, without the rest of the agent, what a model
    replica of a distributed evaluation loads (:mod:`agents.ray_eval`).

    Args:
        path: The checkpoint folder (holding ``model/``).
        config: The checkpoint's config (its ``lora``, ``model``, ``tokenizer`` and
            ``tiny`` say how the model was built).
        device: ``"auto"`` (CUDA with bf16 when present, else CPU), ``"cpu"``...
        reference: Also load the frozen reference policy (for training; evaluation
            needs none). With LoRA the reference is the base and costs nothing.
    """
    model_dir = Path(path) / "model"
    if config.lora is not None:  # the base again, with the saved adapters on top
        policy = Policy(
            config.model,
            config.tokenizer,
            device=device,
            lora=config.lora,
            tiny_config=config.tiny,
        )
        policy.load_adapter(model_dir / "adapter")
        return policy
    ref_dir = model_dir / "reference"
    keep_reference = reference and ref_dir.is_dir()
    return Policy(
        str(model_dir),
        None,
        device=device,
        reference=keep_reference,
        reference_model=str(ref_dir) if keep_reference else None,
    )


class BaseAgent:
    """An RL agent training a language model against unit-test rewards.

    Args:
        tasks_or_env: The tasks to learn from (a source for ``load_tasks``, a list of
            tasks, or a ``CodeSynthesis-v0`` env, whose tasks and sandbox are used).
        config: The agent's configuration.
        sandbox: A sandbox to grade in (default: the env's, or the shared one): a local
            :class:`~code_env.sandbox.Sandbox`, or a :class:`~code_env.sandbox.RaySandbox`
            to grade rollouts and evaluations on a Ray cluster.
        run_dir: Where metrics and checkpoints go (default: no files).
        policy: An existing :class:`Policy` to train (default: built from the config).
    """

    config_class: ClassVar[type[AgentConfig]] = AgentConfig
    #: The name the command line knows the agent by.
    cli_name: ClassVar[str] = ""

    def __init__(
        self,
        tasks_or_env: Any,
        config: AgentConfig | None = None,
        *,
        sandbox: BaseSandbox | None = None,
        run_dir: str | os.PathLike[str] | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.config = config if config is not None else self.config_class()
        if not isinstance(self.config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, "
                f"got {type(self.config).__name__}"
            )
        self.tasks, self.env = resolve_tasks(tasks_or_env)
        if sandbox is None and self.env is not None:
            sandbox = self.env.scorer.sandbox
        self.scorer = Scorer(self.tasks, self.config.reward, sandbox=sandbox)
        seed_everything(self.config.seed)
        self.rng = random.Random(self.config.seed)
        self.policy = policy or Policy(
            self.config.model,
            self.config.tokenizer,
            device=self.config.device,
            lora=self.config.lora,
            reference=self.needs_reference(),
            tiny_config=self.config.tiny,
        )
        self.n_updates = 0
        self.tokens_generated = 0
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.logger = MetricsLogger(self.run_dir) if self.run_dir is not None else None
        self.history: list[dict[str, Any]] = []
        self._setup()

    # --- what subclasses implement ----------------------------------------------------------

    def needs_reference(self) -> bool:
        """Whether the policy keeps a frozen reference (for a KL penalty)."""
        return True

    def _setup(self) -> None:
        """Build optimisers and algorithm state (called at the end of ``__init__``)."""

    def update(self, rollout: Rollout) -> dict[str, float]:
        """One optimisation step from a graded rollout; returns ``train/...`` metrics."""
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        """Algorithm state for checkpoints (optimisers, critic...)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved."""

    # --- sampling and grading ---------------------------------------------------------

    def draw_tasks(self, n: int) -> list[Task]:
        """``n`` tasks drawn uniformly (without replacement while enough remain)."""
        if n >= len(self.tasks):
            return list(self.tasks)
        return self.rng.sample(list(self.tasks), n)

    def rollout(self, tasks: Sequence[Task], n: int) -> Rollout:
        """Sample ``n`` programs per task and grade them."""
        cfg = self.config
        groups = self.policy.generate(
            [t.prompt for t in tasks],
            n=n,
            max_new_tokens=cfg.max_new_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            batch_size=cfg.generation_batch_size,
            max_prompt_tokens=cfg.max_prompt_tokens,
        )
        prompts = self.policy.encode_prompts([t.prompt for t in tasks], cfg.max_prompt_tokens)
        flat_tasks, prompt_ids, completion_ids, texts = [], [], [], []
        for task, ids, samples in zip(tasks, prompts, groups, strict=True):
            for sample in samples:
                flat_tasks.append(task)
                prompt_ids.append(ids)
                completion_ids.append(sample.token_ids)
                texts.append(sample.text)
        graded = self.scorer.score_many(list(zip(flat_tasks, texts, strict=True)))
        self.tokens_generated += sum(len(c) for c in completion_ids)
        return Rollout(
            flat_tasks,
            prompt_ids,
            completion_ids,
            texts,
            [r for r, _ in graded],
            [res for _, res in graded],
        )

    # --- the loop -------------------------------------------------------------------------

    def learn(
        self,
        total_updates: int,
        *,
        callback: BaseCallback | Sequence[BaseCallback] | None = None,
        progress: bool = True,
    ) -> BaseAgent:
        """Train until ``total_updates`` updates have been made (counting any before a
        resume). Returns the agent."""
        callback, bar = self._begin_learning(total_updates, callback, progress)
        try:
            while self.n_updates < total_updates:
                start = time.perf_counter()
                rollout = self.rollout(
                    self.draw_tasks(self.config.tasks_per_update), self.config.samples_per_task
                )
                sampled = time.perf_counter()
                metrics = {**rollout.metrics(), **self.update(rollout)}
                self.n_updates += 1
                metrics.update(
                    {
                        "time/rollout_s": sampled - start,
                        "time/update_s": time.perf_counter() - sampled,
                        "time/tokens_generated": float(self.tokens_generated),
                        "sandbox/cache_hit_rate": self.scorer.sandbox.stats.cache_hit_rate,
                    }
                )
                if not self._record_update(metrics, bar, callback):
                    break
        finally:
            self._end_learning(bar, callback)
        return self

    def _begin_learning(
        self,
        total_updates: int,
        callback: BaseCallback | Sequence[BaseCallback] | None,
        progress: bool,
        desc: str | None = None,
    ) -> tuple[BaseCallback | None, Any]:
        """Check ``total_updates``, start the callbacks and the progress bar; returns
        ``(callback, bar)`` for :meth:`_record_update` and :meth:`_end_learning`."""
        if total_updates < 0:
            raise ValueError(f"total_updates must be >= 0, got {total_updates}")
        if isinstance(callback, Sequence):
            callback = CallbackList(list(callback))
        if callback is not None:
            callback.init_callback(self)
            callback.on_training_start()
        bar = None
        if progress and total_updates > self.n_updates:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=total_updates,
                initial=self.n_updates,
                desc=desc or type(self).__name__,
                unit="update",
            )
        return callback, bar

    def _record_update(
        self, metrics: dict[str, Any], bar: Any, callback: BaseCallback | None
    ) -> bool:
        """Keep one update's metrics (history, ``metrics.jsonl``), checkpoint when due,
        move the bar, and ask the callbacks; False if one of them stops training."""
        self.history.append({"update": self.n_updates, **metrics})
        if self.logger is not None:
            self.logger.log(self.n_updates, metrics)
        if self.run_dir is not None and self.n_updates % self.config.checkpoint_every == 0:
            self.save(self.run_dir / "checkpoint")
        if bar is not None:
            bar.update(1)
            if "rollout/pass_rate" in metrics:
                bar.set_postfix(
                    pass_rate=f"{metrics['rollout/pass_rate']:.2f}",
                    reward=f"{metrics['rollout/reward_mean']:+.2f}",
                )
        return callback is None or callback.on_step(self.n_updates, metrics)

    @staticmethod
    def _end_learning(bar: Any, callback: BaseCallback | None) -> None:
        """Close the progress bar and tell the callbacks training ended."""
        if bar is not None:
            bar.close()
        if callback is not None:
            callback.on_training_end()

    # --- evaluation -------------------------------------------------------------------------

    def evaluate(
        self,
        tasks: Any = None,
        k: Iterable[int] = (1, 5),
        n: int | None = None,
        *,
        temperature: float | None = None,
        progress: bool = False,
    ):
        """Greedy pass@1, pass@k (unbiased estimator from ``n`` samples per task, default
        ``max(k)``), and outcome shares, on ``tasks`` (default: the training tasks)."""
        return evaluate_policy(
            self.policy,
            self.tasks if tasks is None else load_tasks(tasks),
            sandbox=self.scorer.sandbox,
            k=k,
            n=n,
            progress=progress,
            **evaluation_generation(self.config, temperature),
        )

    # --- checkpoints ----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save everything needed to resume: model, tokenizer, optimiser and algorithm
        state, RNG states, the update count, the config. Atomic: a crash leaves the
        previous checkpoint whole."""
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        self.policy.save(partial / "model", with_reference=True)
        state = {
            "n_updates": self.n_updates,
            "tokens_generated": self.tokens_generated,
            "rng": {
                "python": random.getstate(),
                "agent": self.rng.getstate(),
                "numpy": np.random.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            "extra": self._extra_state(),
        }
        torch.save(state, partial / "state.pt")
        (partial / "config.json").write_text(
            json.dumps({"agent": type(self).__name__, "config": self.config.to_dict()}, indent=2)
        )
        old = path.with_name(path.name + ".old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(partial, path)
        shutil.rmtree(old, ignore_errors=True)
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        tasks_or_env: Any = "builtin",
        *,
        sandbox: BaseSandbox | None = None,
        run_dir: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ):
        """An agent restored from :meth:`save`'s folder, ready to evaluate or to go on
        learning where it stopped. ``overrides`` replace config fields. ``sandbox``:
        as for the constructor (a :class:`~code_env.sandbox.RaySandbox` works too)."""
        path = Path(path)
        saved = json.loads((path / "config.json").read_text())
        if saved["agent"] != cls.__name__:
            raise ValueError(f"{path} holds a {saved['agent']}, not a {cls.__name__}")
        config = cls.config_class.from_dict({**saved["config"], **overrides})
        policy = load_checkpoint_policy(path, config, device=config.device, reference=True)
        agent = cls(tasks_or_env, config, sandbox=sandbox, run_dir=run_dir, policy=policy)
        state = torch.load(path / "state.pt", weights_only=False)
        agent.n_updates = int(state["n_updates"])
        agent.tokens_generated = int(state.get("tokens_generated", 0))
        rng = state["rng"]
        random.setstate(rng["python"])
        agent.rng.setstate(rng["agent"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        agent._load_extra_state(state["extra"])
        if agent.logger is not None:
            agent.logger.truncate(agent.n_updates)
        return agent

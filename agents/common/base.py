"""The base of every agent (stable-baselines3's ``BaseAlgorithm``).

:class:`BaseAgent` owns what every agent has, whoever samples and updates: the config,
the policy, the scorer and its sandbox, the learning bookkeeping (update count, tokens,
history, ``metrics.jsonl``, callbacks, the progress bar), checkpoints and resuming, and
evaluation; and, in a data-parallel run, this process's place in it
(:class:`~agents.common.distributed.Distributed`). It leaves :meth:`BaseAgent.learn`
to the layer above: :class:`~agents.common.on_policy.OnPolicyAgent` (sample, grade,
update: the actor-critic, CodeRL and PPO agents) or
:class:`~agents.trl.agent.TRLAgent` (TRL's trainers). The layers are drawn in
docs/architecture.md.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from agents.common.callbacks import BaseCallback, CallbackList
from agents.common.config import AgentConfig, SamplingConfig
from agents.common.distributed import Distributed
from agents.common.metrics import MetricsLogger
from agents.common.policy import Policy, seed_everything
from code_env.sandbox import BaseSandbox, ExecutionResult, Limits, Outcome
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

    def summary(self) -> list[tuple[float, str, float, int]]:
        """Per sample ``(reward, outcome, share of tests passed, tokens)``: what
        :meth:`metrics` needs, small enough to gather from every process."""
        return [
            (float(reward), result.outcome.value, float(result.pass_rate), len(ids))
            for reward, result, ids in zip(
                self.rewards, self.results, self.completion_ids, strict=True
            )
        ]

    def metrics(self, dist: Distributed | None = None) -> dict[str, float]:
        """``rollout/...`` metrics of this rollout; with ``dist``, of the whole update's
        rollout, every process's samples included (the same on every process)."""
        rows = self.summary() if dist is None else dist.gather_objects(self.summary())
        outcomes = Counter(outcome for _, outcome, _, _ in rows)
        n = max(1, len(rows))
        lengths = [length for *_, length in rows]
        return {
            "rollout/pass_rate": outcomes.get(Outcome.PASSED.value, 0) / n,
            "rollout/reward_mean": float(np.mean([r for r, *_ in rows])) if rows else 0.0,
            "rollout/test_pass_rate": float(np.mean([p for _, _, p, _ in rows])) if rows else 0.0,
            "rollout/tokens_mean": float(np.mean(lengths)) if lengths else 0.0,
            "rollout/tokens": float(sum(lengths)),
            **{f"rollout/outcome/{o.value}": outcomes.get(o.value, 0) / n for o in Outcome},
        }


def resolve_tasks(tasks_or_env: Any) -> tuple[TaskList, Any]:
    """``(tasks, env or None)`` from a task source, a task list, or a CodeSynthesis env."""
    env = getattr(tasks_or_env, "unwrapped", None)
    if env is not None and hasattr(env, "scorer") and hasattr(env, "tasks"):
        return env.tasks, env
    return load_tasks(tasks_or_env), None


def repair_context(
    policy: Policy,
    context: str,
    task: Task,
    text: str,
    result: ExecutionResult,
    attempt: int,
    *,
    sandbox: BaseSandbox,
    feedback_tokens: int,
    limits: Limits | None = None,
) -> str:
    """The prompt of a ``CodeRepair-v0`` episode's next attempt: ``context`` (the prompt
    so far), the failed attempt ``text`` ended by end-of-text, and its feedback (from
    the compiler and the example tests only, run in ``sandbox``) cut to
    ``feedback_tokens`` of the policy's tokens, as the env's observation holds them."""
    from code_env.repair import attempt_feedback

    feedback = attempt_feedback(task, text, result, attempt, sandbox, limits)
    ids = policy.tokenizer.encode(feedback, add_special_tokens=False)[:feedback_tokens]
    eos = policy.tokenizer.decode([policy.eos_id])
    return context + text + eos + policy.tokenizer.decode(ids)


def evaluate_repair(
    policy: Policy,
    tasks: Sequence[Task],
    *,
    sandbox: BaseSandbox,
    max_attempts: int = 3,
    sampling: SamplingConfig | None = None,
    feedback_tokens: int = 96,
) -> list[float]:
    """Greedy ``CodeRepair-v0`` episodes on ``tasks``: the share of tasks solved within
    1, 2, ... ``max_attempts`` attempts (non-decreasing; the first is greedy pass@1).

    Each attempt is a greedy decode after the task's prompt, the earlier attempts
    (each ended by end-of-text) and their feedback (from the compiler and the example
    tests only, cut to ``feedback_tokens`` of the policy's tokens), as the env's
    observation and :meth:`OnPolicyAgent.collect_repair_rollout` hold them."""
    sampling = sampling or SamplingConfig()
    tasks = list(tasks)
    contexts = [task.prompt for task in tasks]
    solved_at: list[int | None] = [None] * len(tasks)
    active = list(range(len(tasks)))
    for attempt in range(1, max_attempts + 1):
        if not active:
            break
        prompts = [contexts[i] for i in active]
        texts = [g[0].text for g in policy.sample(prompts, sampling, greedy=True)]
        results = sandbox.run_many(
            [(tasks[i].program(text), tasks[i]) for i, text in zip(active, texts, strict=True)]
        )
        still = []
        for i, text, result in zip(active, texts, results, strict=True):
            if result.passed:
                solved_at[i] = attempt
                continue
            if attempt < max_attempts:
                contexts[i] = repair_context(
                    policy,
                    contexts[i],
                    tasks[i],
                    text,
                    result,
                    attempt,
                    sandbox=sandbox,
                    feedback_tokens=feedback_tokens,
                )
                still.append(i)
        active = still
    n = max(1, len(tasks))
    return [
        sum(1 for s in solved_at if s is not None and s <= j) / n
        for j in range(1, max_attempts + 1)
    ]


def evaluate_policy(
    policy: Policy,
    tasks: Sequence[Task],
    *,
    sandbox: BaseSandbox,
    k: Iterable[int] = (1, 5),
    n: int | None = None,
    sampling: SamplingConfig | None = None,
    greedy_only: bool = False,
    progress: bool = False,
    dist: Distributed | None = None,
):
    """Sample ``n`` programs per task (and a greedy one), grade them, and report greedy
    pass@1, pass@k and outcome shares (:class:`agents.common.evaluation.EvalReport`).
    ``greedy_only`` skips sampling (for quick learning curves): pass@k is then that of
    the greedy programs. ``sandbox`` is any :class:`~code_env.sandbox.BaseSandbox`: a
    local :class:`~code_env.sandbox.Sandbox`, or a :class:`~code_env.sandbox.RaySandbox`
    to grade on a Ray cluster (for generation spread over a cluster too, see
    :func:`agents.run.ray_eval.evaluate_checkpoint_on_ray`). ``sampling``: how programs
    are sampled (default: :class:`~agents.common.config.SamplingConfig`'s defaults).

    In a data-parallel run (``dist`` with several processes) each process samples and
    grades its share of the tasks, and every process gets the report of all of them."""
    from agents.common.evaluation import grade_completions, report_from_results

    sampling = sampling or SamplingConfig()
    ks = tuple(sorted(set(k)))
    all_tasks = list(tasks)
    mine = dist.shard(all_tasks) if dist is not None else all_tasks
    if policy.synced_generation and dist is not None:
        # sharded weights: every process generates as many batches (repeats dropped below)
        share = -(-len(all_tasks) // dist.world_size)
        fill = (mine or all_tasks)[:1] * (share - len(mine))
    else:
        fill = []
    prompts = [t.prompt for t in [*mine, *fill]]
    greedy = policy.sample(prompts, sampling, greedy=True)[: len(mine)] if prompts else []
    greedy_text = {t.task_id: g[0].text for t, g in zip(mine, greedy, strict=True)}
    if greedy_only:
        samples = {tid: [text] for tid, text in greedy_text.items()}
        ks = (1,)
    else:
        groups = policy.sample(prompts, sampling, n=n or max(ks))[: len(mine)] if prompts else []
        samples = {t.task_id: [s.text for s in g] for t, g in zip(mine, groups, strict=True)}
    alone = dist is None or not dist.enabled
    graded = (  # alone, no tasks is grade_completions's error; in a run, an empty share
        grade_completions(
            mine, samples, greedy_text, scorer_or_sandbox=sandbox, ks=ks, progress=progress
        )
        if mine or alone
        else None
    )
    if alone:
        assert graded is not None
        return graded.report(ks)
    # each process graded its own share; the verdicts meet for one report on every process
    own: list[tuple[str, list[ExecutionResult], ExecutionResult]] = []
    if graded is not None:
        assert graded.greedy is not None
        own = [(tid, graded.results[tid], graded.greedy[tid]) for tid in samples]
    rows = dist.gather_objects(own)
    return report_from_results(
        all_tasks,
        {tid: results for tid, results, _ in rows},
        {tid: greedy_result for tid, _, greedy_result in rows},
        ks=ks,
    )


def evaluation_generation(config: AgentConfig, temperature: float | None = None) -> SamplingConfig:
    """The sampling an evaluation of an agent with ``config`` uses
    (:meth:`BaseAgent.evaluate`, and :mod:`agents.run.ray_eval` for a saved one): the
    config's, at ``temperature`` if one is given."""
    sampling = config.sampling
    return sampling.replace(temperature=temperature) if temperature else sampling


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
    from agents.registry import agent_class

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
    replica of a distributed evaluation loads (:mod:`agents.run.ray_eval`).

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
    """An RL agent training a language model against unit-test rewards: what every agent
    has, whoever samples and updates (see the module docstring).

    A subclass sets :attr:`config_class` and implements :meth:`learn` (the layer above
    does: :class:`~agents.common.on_policy.OnPolicyAgent`, or TRL's trainers); it may
    override :meth:`_setup` (algorithm state, built at the end of ``__init__``), the two
    ``_extra_state`` hooks (that state in checkpoints), :meth:`needs_reference` and
    :meth:`add_references`.

    Args:
        tasks_or_env: The tasks to learn from (a source for ``load_tasks``, a list of
            tasks, or a ``CodeSynthesis-v0`` env, whose tasks and sandbox are used).
        config: The agent's configuration.
        sandbox: A sandbox to grade in (default: the env's, or the shared one): a local
            :class:`~code_env.sandbox.Sandbox`, or a :class:`~code_env.sandbox.RaySandbox`
            to grade rollouts and evaluations on a Ray cluster.
        run_dir: Where metrics and checkpoints go (default: no files). In a
            data-parallel run only the main process writes there.
        policy: An existing :class:`Policy` to train (default: built from the config).
    """

    config_class: ClassVar[type[AgentConfig]] = AgentConfig
    #: Whether rollouts may be CodeRepair episodes (``config.env="repair"``).
    trains_on_repair: ClassVar[bool] = False

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
        if self.config.env == "repair" and not self.trains_on_repair:
            raise ValueError(
                f"{type(self).__name__} does not train on CodeRepair episodes (env='repair'); "
                "the actor-critic and PPO agents do"
            )
        self.dist = Distributed.current(self.config.device)
        """This process's place in a data-parallel run (alone: one process of one)."""
        self.tasks, self.env = resolve_tasks(tasks_or_env)
        if sandbox is None and self.env is not None:
            sandbox = self.env.scorer.sandbox
        self.scorer = Scorer(self.tasks, self.config.reward, sandbox=sandbox)
        # Every process builds the same model, heads and critics from the same seed; the
        # agent's own generator (task draws, replay batches) stays the same on all, so
        # they agree on what an update holds.
        seed_everything(self.config.seed)
        self.rng = random.Random(self.config.seed)
        self.policy = policy or Policy(
            self.config.model,
            self.config.tokenizer,
            device=self.dist.device(self.config.device),
            lora=self.config.lora,
            reference=self.needs_reference(),
            tiny_config=self.config.tiny,
        )
        self.n_updates = 0
        self.tokens_generated = 0
        """Tokens sampled by every process of the run, for rollouts and baselines."""
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.logger = (
            MetricsLogger(self.run_dir) if self.run_dir is not None and self.dist.is_main else None
        )
        self.history: list[dict[str, Any]] = []
        self._setup()
        if self.dist.enabled:  # from here on each process samples its own programs
            seed_everything(self.config.seed + 1_000_003 * self.dist.rank)

    # --- what subclasses implement ----------------------------------------------------------

    def learn(
        self,
        total_updates: int,
        *,
        callback: BaseCallback | Sequence[BaseCallback] | None = None,
        progress: bool = True,
    ) -> BaseAgent:
        """Train until ``total_updates`` updates have been made (counting any before a
        resume). Returns the agent. In a data-parallel run every process calls it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement learn()")

    def needs_reference(self) -> bool:
        """Whether the policy keeps a frozen reference (for a KL penalty)."""
        return True

    def add_references(self, tasks: Iterable[Task]) -> int:
        """Reference solutions of ``tasks`` the agent may learn from besides its rewards
        (e.g. the tasks a model was warm-started on, when training on others). Agents
        with a buffer of passing programs put them there; the base keeps none. Returns
        how many were taken."""
        return 0

    def _setup(self) -> None:
        """Build algorithm state (called at the end of ``__init__``)."""

    def _extra_state(self) -> dict[str, Any]:
        """Algorithm state for checkpoints (optimisers, critic...). Every process calls
        it (gathering sharded state is collective); the main process's is written."""
        return {}

    def _policy_weights(self) -> dict[str, Any]:
        """Keyword arguments of :meth:`Policy.save` with the weights to write when the
        models' own cannot be (sharded: ``state_dict``, ``reference_state_dict``); empty:
        the models' own. Every process calls it."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved."""

    # --- the learning bookkeeping, for learn() ------------------------------------------------

    def _setup_learn(
        self,
        total_updates: int,
        callback: BaseCallback | Sequence[BaseCallback] | None,
        progress: bool,
        desc: str | None = None,
    ) -> tuple[BaseCallback | None, Any]:
        """Check ``total_updates``, start the callbacks and the progress bar (the main
        process's); returns ``(callback, bar)`` for :meth:`_record_update` and
        :meth:`_end_learn`."""
        if total_updates < 0:
            raise ValueError(f"total_updates must be >= 0, got {total_updates}")
        if isinstance(callback, Sequence):
            callback = CallbackList(list(callback))
        if callback is not None:
            callback.init_callback(self)
            callback.on_training_start()
        bar = None
        if progress and total_updates > self.n_updates and self.dist.is_main:
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
        """Keep one update's metrics (history; the main process's ``metrics.jsonl``),
        checkpoint when due, move the bar, and ask the callbacks; False if one of them
        stops training. Metrics are the same on every process, so callbacks agree."""
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
    def _end_learn(bar: Any, callback: BaseCallback | None) -> None:
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
        ``max(k)``), and outcome shares, on ``tasks`` (default: the training tasks). In a
        data-parallel run every process calls it, evaluates its share of the tasks, and
        gets the report of all of them."""
        return evaluate_policy(
            self.policy,
            self.tasks if tasks is None else load_tasks(tasks),
            sandbox=self.scorer.sandbox,
            k=k,
            n=n,
            sampling=evaluation_generation(self.config, temperature),
            progress=progress and self.dist.is_main,
            dist=self.dist,
        )

    def evaluate_repair(self, tasks: Any = None, max_attempts: int | None = None) -> list[float]:
        """Greedy pass@1 after 1, 2, ... ``max_attempts`` ``CodeRepair-v0`` attempts on
        ``tasks`` (default: the training tasks; :func:`evaluate_repair`)."""
        return evaluate_repair(
            self.policy,
            self.tasks if tasks is None else load_tasks(tasks),
            sandbox=self.scorer.sandbox,
            max_attempts=max_attempts or self.config.max_attempts,
            sampling=evaluation_generation(self.config, None),
            feedback_tokens=self.config.feedback_tokens,
        )

    # --- checkpoints ----------------------------------------------------------------------

    def _rng_state(self) -> dict[str, Any]:
        return {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save everything needed to resume: model, tokenizer, optimiser and algorithm
        state, RNG states (every process's), the update count, the config. Atomic: a
        crash leaves the previous checkpoint whole. In a data-parallel run every process
        calls it and the main process writes."""
        path = Path(path)
        process_rng = self.dist.gather_objects([self._rng_state()])
        extra, weights = self._extra_state(), self._policy_weights()
        if self.dist.is_main:
            partial = path.with_name(path.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            self.policy.save(partial / "model", with_reference=True, **weights)
            state = {
                "n_updates": self.n_updates,
                "tokens_generated": self.tokens_generated,
                "processes": self.dist.world_size,
                "rng": {**process_rng[0], "agent": self.rng.getstate(), "processes": process_rng},
                "extra": extra,
            }
            torch.save(state, partial / "state.pt")
            (partial / "config.json").write_text(
                json.dumps(
                    {"agent": type(self).__name__, "config": self.config.to_dict()}, indent=2
                )
            )
            old = path.with_name(path.name + ".old")
            if path.exists():
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
            os.replace(partial, path)
            shutil.rmtree(old, ignore_errors=True)
        self.dist.barrier()  # nobody reads the checkpoint before it is whole
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
        """An agent restored from :meth:`save`'s folder (or a run folder holding one in
        ``checkpoint/``), ready to evaluate or to go on learning where it stopped.
        ``overrides`` replace config fields. ``sandbox``: as for the constructor (a
        :class:`~code_env.sandbox.RaySandbox` works too). A data-parallel run resumed
        with as many processes as it was saved with continues each process's random
        draws where they stopped."""
        path = resolve_checkpoint(path)
        saved = json.loads((path / "config.json").read_text())
        if saved["agent"] != cls.__name__:
            raise ValueError(f"{path} holds a {saved['agent']}, not a {cls.__name__}")
        config = cls.config_class.from_dict({**saved["config"], **overrides})
        dist = Distributed.current(config.device)
        policy = load_checkpoint_policy(
            path, config, device=dist.device(config.device), reference=True
        )
        agent = cls(tasks_or_env, config, sandbox=sandbox, run_dir=run_dir, policy=policy)
        state = torch.load(path / "state.pt", weights_only=False)
        agent.n_updates = int(state["n_updates"])
        agent.tokens_generated = int(state.get("tokens_generated", 0))
        rng = state["rng"]
        processes = rng.get("processes") or [rng]
        mine = processes[dist.rank] if len(processes) == dist.world_size else rng
        random.setstate(mine["python"])
        np.random.set_state(mine["numpy"])
        torch.set_rng_state(mine["torch"])
        if mine.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(mine["cuda"])
        agent.rng.setstate(rng["agent"])
        agent._load_extra_state(state["extra"])
        if agent.logger is not None:
            agent.logger.truncate(agent.n_updates)
        return agent

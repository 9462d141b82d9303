"""GRPO and RLOO through TRL's maintained trainers (``trl>=1.16``), on the agents core.

:class:`TRLAgent` sits directly on :class:`~agents.common.base.BaseAgent` (not on the
sample-then-update :class:`~agents.common.on_policy.OnPolicyAgent`): it implements
``learn`` by handing sampling and the update to ``trl.GRPOTrainer`` or
``trl.RLOOTrainer``, and keeps the rest of the base's contract. The policy is the
base's :class:`~agents.common.policy.Policy` (``"tiny"``, a name or a path; LoRA);
rewards come from the agent's own :class:`~code_env.scoring.Scorer` (``self.scorer``:
the env's grading path, through the agent's sandbox, the one
:func:`code_env.rewards.as_trl_reward` wraps), called by :class:`RewardFunction` with
TRL's reward signature; ``learn`` / ``evaluate`` / ``save`` / ``load``, ``n_updates``,
``tokens_generated``, ``history``, ``metrics.jsonl`` and SB3-style callbacks behave as
for every other agent.

How the core's settings map onto TRL's (one TRL optimizer step is one update):

* ``learn(total_updates)`` -> ``max_steps = total_updates - n_updates``.
* ``tasks_per_update`` -> prompts per step (at most the number of tasks):
  ``generation_batch_size = prompts x num_generations`` over all processes, generated
  once per step.
* ``samples_per_task`` -> ``num_generations`` (TRL's group size), unless
  ``num_generations`` is set.
* ``per_device_train_batch_size`` (completions per micro-batch on each process) x
  ``gradient_accumulation_steps`` (= TRL's ``steps_per_generation``) x processes =
  prompts x generations; give either, or neither (one micro-batch per process).
* ``max_new_tokens`` -> ``max_completion_length``; ``temperature``, ``top_p`` -> the
  same (``top_k=0``, as the core samples).
* ``max_prompt_tokens`` -> prompts cut to their last N tokens in the dataset (TRL 1.16
  has no prompt-length option).
* ``lr``, ``weight_decay`` -> the agent's AdamW, passed as ``optimizers=`` so its state
  lives across ``learn`` calls and in checkpoints; ``max_grad_norm`` -> the same.
* ``beta`` -> ``beta`` (the KL coefficient; 0 loads no reference model).
* ``seed`` -> ``seed = config.seed + n_updates`` (TRL reseeds the global generators
  when a trainer is built, so a resumed run draws new tasks and samples).
* ``reward`` -> ``reward_funcs=[RewardFunction(agent.scorer, reward)]``: the agent's
  scorer grades, as :func:`code_env.rewards.as_trl_reward` would with the same tasks,
  reward and sandbox.
* ``model``, ``tiny``, ``lora``, ``tokenizer`` -> the core's ``Policy``:
  ``model=policy.model``, ``processing_class=policy.tokenizer``.
* ``device`` -> ``use_cpu`` on the CPU; ``bf16`` when the policy is bfloat16 (TRL
  would default it to True, also on the CPU).
* ``checkpoint_every`` -> the core's checkpoints (TRL's saving is off).
* ``trl_args`` -> any other ``GRPOConfig`` / ``RLOOConfig`` field.

Data-parallel runs (``code-synthesis train --processes N``, ``torchrun``, ``accelerate
launch``; see :mod:`agents.common.distributed`): TRL's trainer runs data-parallel by
itself through accelerate. Each process generates and grades its share of every
update's completions (TRL gathers the rewards to compute the group advantages) and
the gradients are averaged, so the processes keep one model. Every process's
:class:`~transformers.TrainerCallback` reports each step to its agent, and the
update's ``rollout/...`` metrics and ``tokens_generated`` are collected over all
processes; only the main process writes metrics, checkpoints and TRL's
``output_dir``. ``transformers.TrainingArguments`` resets accelerate's shared state
and TRL's trainer makes its own ``Accelerator`` on the process group that
:class:`~agents.common.distributed.Distributed` joined; the agent's
``Distributed`` (a view of that same shared state) keeps working.

Prompts are plain text (the tiny model has no chat template), so TRL tokenizes them as
they are and the completions it grades are the decoded generated tokens, exactly what
``env.unwrapped.score`` grades. Nothing is downloaded: TRL loads its reference model
(``beta > 0``) and vLLM its weights "by name", so the agent writes them to a local
folder first and points the model's ``name_or_path`` at it while the trainer is built.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from agents.common.base import BaseAgent, Rollout
from agents.common.callbacks import BaseCallback
from agents.common.config import AgentConfig, _positive
from code_env.scoring import Scorer, completion_text

if TYPE_CHECKING:
    import datasets
    from transformers import Trainer

ALGORITHMS = ("grpo", "rloo")
INSTALL_HINT = "pip install 'code-synthesis-rl[trl]'"

#: ``trl_args`` keys that a ``TRLConfig`` field (or ``learn``) sets, and which one.
MANAGED_TRL_ARGS: dict[str, str] = {
    "activation_checkpointing": "gradient_checkpointing",
    "beta": "beta",
    "bf16": "device",
    "fp16": "device",
    "generation_batch_size": "tasks_per_update",
    "gradient_accumulation_steps": "gradient_accumulation_steps",
    "gradient_checkpointing": "gradient_checkpointing",
    "learning_rate": "lr",
    "logging_steps": "logging_steps",
    "lr_scheduler_type": "lr_scheduler_type",
    "max_completion_length": "max_new_tokens",
    "max_grad_norm": "max_grad_norm",
    "max_steps": "learn(total_updates)",
    "num_generations": "num_generations",
    "output_dir": "the agent's run_dir",
    "per_device_train_batch_size": "per_device_train_batch_size",
    "seed": "seed",
    "steps_per_generation": "gradient_accumulation_steps",
    "temperature": "temperature",
    "top_p": "top_p",
    "use_cpu": "device",
    "use_vllm": "use_vllm",
    "vllm_mode": "vllm_mode",
    "weight_decay": "weight_decay",
}

#: TRL's log keys under the core's namespaces; any other key goes under ``trl/``.
TRL_LOG_KEYS: dict[str, str] = {
    "loss": "train/loss",
    "grad_norm": "train/grad_norm",
    "learning_rate": "train/lr",
    "kl": "train/kl",
    "entropy": "train/entropy",
    "policy_loss": "train/policy_loss",
    "reward": "rollout/reward_mean",
    "reward_std": "rollout/reward_std",
    "frac_reward_zero_std": "rollout/frac_reward_zero_std",
    "completions/mean_length": "rollout/tokens_mean",
    "completions/clipped_ratio": "rollout/clipped_ratio",
}


def import_trl() -> Any:
    """The ``trl`` module, or an ImportError that says how to install it."""
    try:
        import trl
    except ImportError as exc:
        raise ImportError(f"TRLAgent needs TRL (trl>=1.16): {INSTALL_HINT}") from exc
    return trl


def namespaced_trl_logs(logs: dict[str, Any]) -> dict[str, float]:
    """TRL's numeric log entries under the core's keys (:data:`TRL_LOG_KEYS`;
    ``clip_ratio/...`` under ``train/``, everything else under ``trl/``)."""
    out: dict[str, float] = {}
    for key, value in logs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # None (a metric with no valid values) and non-numbers are not logged
        if key in TRL_LOG_KEYS:
            out[TRL_LOG_KEYS[key]] = float(value)
        elif key.startswith("clip_ratio/"):
            out[f"train/{key}"] = float(value)
        else:
            out[f"trl/{key}"] = float(value)
    return out


@dataclass
class TRLConfig(AgentConfig):
    """GRPO or RLOO through TRL (see the module docstring for how fields map to TRL).

    One update is one TRL optimizer step over ``tasks_per_update`` prompts (at most the
    number of tasks) with ``num_generations`` completions each.
    """

    algorithm: str = "grpo"
    """``"grpo"`` (``trl.GRPOTrainer``) or ``"rloo"`` (``trl.RLOOTrainer``)."""
    reward: str = "coderl"
    """The env's own reward (CodeRL's graded −1 / −0.6 / −0.3 / +1), as PPO's: partial
    credit per passed test pays programs that run and fail."""
    lr: float = 1e-4
    """AdamW learning rate, as PPO's: at the core's 3e-4 (and ``beta`` 0) the learning
    benchmark's GRPO peaked at update 40 and fell back by 80 in both seeds tried."""
    beta: float = 0.0
    """KL coefficient against the initial policy (0: no reference model is held; TRL's
    GRPO default; its RLOO default is 0.05)."""
    num_generations: int | None = None
    """Completions per prompt (TRL's group size, at least 2); None: ``samples_per_task``."""
    per_device_train_batch_size: int | None = None
    """Completions per forward/backward micro-batch; None: all of a step's completions
    divided by ``gradient_accumulation_steps``."""
    gradient_accumulation_steps: int | None = None
    """Micro-batches per update; None: what ``per_device_train_batch_size`` leaves (1 if
    both are None). Micro-batch x accumulation must equal prompts x generations."""
    logging_steps: int = 1
    """TRL logs (loss, KL...) every this many updates; the agent's own rollout metrics
    are recorded every update."""
    lr_scheduler_type: str = "constant"
    """``transformers`` scheduler name; a decaying one spans each ``learn`` call."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass (TRL's default is True; off here,
    small models do not need it)."""
    disable_dropout: bool = True
    """Dropout off while training, as the core's policy samples (log-probs of a sample
    and of its update come from the same function)."""
    use_vllm: bool = False
    """Generate with vLLM (needs a GPU and ``vllm``); False: ``transformers.generate``."""
    vllm_mode: str = "colocate"
    """``"colocate"`` (vLLM shares the training GPU) or ``"server"`` (``trl vllm-serve``)."""
    trl_args: dict[str, Any] = field(default_factory=dict)
    """Other ``GRPOConfig`` / ``RLOOConfig`` fields, e.g. ``{"loss_type": "grpo",
    "epsilon": 0.2}``; the ones a field above sets are refused."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"TRLConfig.algorithm must be one of {', '.join(ALGORITHMS)}, got {self.algorithm!r}"
            )
        if isinstance(self.beta, bool) or not isinstance(self.beta, (int, float)) or self.beta < 0:
            raise ValueError(f"TRLConfig.beta must be >= 0, got {self.beta!r}")
        for name in (
            "num_generations",
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
        ):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"TRLConfig.{name} must be an integer or None, got {value!r}")
            if value is not None:
                _positive(self, name)
        _positive(self, "logging_steps")
        if self.group_size < 2:
            name = "num_generations" if self.num_generations is not None else "samples_per_task"
            raise ValueError(
                f"TRLConfig.{name} must be >= 2 (GRPO and RLOO compare completions of one "
                f"prompt), got {self.group_size!r}"
            )
        if self.vllm_mode not in ("colocate", "server"):
            raise ValueError(
                f"TRLConfig.vllm_mode must be 'colocate' or 'server', got {self.vllm_mode!r}"
            )
        if not isinstance(self.trl_args, dict) or not all(
            isinstance(k, str) for k in self.trl_args
        ):
            raise ValueError(
                f"TRLConfig.trl_args must be a dict of field names, got {self.trl_args!r}"
            )
        for key in self.trl_args:
            if key in MANAGED_TRL_ARGS:
                raise ValueError(
                    f"TRLConfig.trl_args[{key!r}]: set it through {MANAGED_TRL_ARGS[key]} instead"
                )
        self.batch_plan(self.tasks_per_update)  # a batch that cannot be split fails now

    @property
    def group_size(self) -> int:
        """Completions per prompt: ``num_generations``, else ``samples_per_task``."""
        return self.num_generations if self.num_generations is not None else self.samples_per_task

    def batch_plan(self, n_tasks: int, processes: int = 1) -> tuple[int, int, int]:
        """``(prompts per update, completions per micro-batch on each process,
        micro-batches per update)`` for a task set of ``n_tasks`` trained by
        ``processes`` data-parallel processes.

        An update has ``prompts x group_size`` completions over all processes, TRL's
        ``generation_batch_size = per_device_train_batch_size x steps_per_generation x
        num_processes``; so micro-batch x accumulation x processes must equal it. A
        ValueError names the fields that do not fit."""
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ValueError(f"TRLConfig.batch_plan: processes must be >= 1, got {processes!r}")
        prompts = min(self.tasks_per_update, n_tasks)
        total = prompts * self.group_size
        share = total // processes  # each process's completions (when they split)
        micro, accumulation = self.per_device_train_batch_size, self.gradient_accumulation_steps
        if micro is None and accumulation is None:
            micro, accumulation = share, 1
        elif micro is None:
            micro = share // accumulation
        elif accumulation is None:
            accumulation = share // micro
        if micro < 1 or accumulation < 1 or micro * accumulation * processes != total:
            generations = (
                "num_generations" if self.num_generations is not None else "samples_per_task"
            )
            split = (
                f"per_device_train_batch_size={self.per_device_train_batch_size!r} x "
                f"gradient_accumulation_steps={self.gradient_accumulation_steps!r}"
            )
            if processes > 1:
                split += f" x {processes} processes"
            raise ValueError(
                f"TRLConfig: an update has {prompts} prompts (tasks_per_update="
                f"{self.tasks_per_update}, at most the {n_tasks} tasks) x {self.group_size} "
                f"generations ({generations}) = {total} completions, which {split} does "
                "not split evenly"
            )
        return prompts, micro, accumulation


@dataclass
class GradedBatch:
    """One call of the reward function by TRL: its completions, graded."""

    prompts: list[Any]
    """The prompt of each completion, as TRL passed it."""
    completions: list[str]
    """The completion texts graded."""
    completion_ids: list[list[int]] | None
    """TRL's generated tokens (end-of-text included when it came); None if not given."""
    task_ids: list[str]
    """The task of each completion."""
    rewards: list[float]
    """The rewards returned to TRL."""
    results: list[Any]
    """The sandbox's verdicts (:class:`~code_env.sandbox.ExecutionResult`)."""
    seconds: float
    """Time spent grading."""


class RewardFunction:
    """The reward TRL calls, graded by the agent's own
    :class:`~code_env.scoring.Scorer`: the env's grading path through the agent's
    sandbox, the one :func:`code_env.rewards.as_trl_reward` wraps (same completion
    text, same program, same reward). Each graded batch is kept, with the sandbox's
    verdicts, for the agent's metrics and token count.

    Args:
        scorer: The scorer that grades (the agent's ``self.scorer``).
        reward: The reward's name (or callable), for :attr:`__name__`; default: the
            scorer's reward function's name.
    """

    def __init__(self, scorer: Scorer, reward: Any = None) -> None:
        from code_env.rewards import trl_reward_name

        self.scorer = scorer
        self.__name__: str = trl_reward_name(scorer.reward if reward is None else reward)
        self.batches: list[GradedBatch] = []

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        task_id: Sequence[str],
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float]:
        """TRL's reward signature: one float per completion (text, or chat messages
        whose last ``content`` is graded)."""
        start = time.perf_counter()
        graded = self.scorer.score_completions(completions, task_id)
        values = [float(reward) for reward, _ in graded]
        self.batches.append(
            GradedBatch(
                list(prompts),
                [completion_text(c) for c in completions],
                [list(map(int, ids)) for ids in completion_ids]
                if completion_ids is not None
                else None,
                list(task_id),
                values,
                [result for _, result in graded],
                time.perf_counter() - start,
            )
        )
        return values

    def take(self) -> list[GradedBatch]:
        """The batches graded since the last call."""
        batches, self.batches = self.batches, []
        return batches


def _trainer_callback_class() -> type:
    """The ``TrainerCallback`` that reports each TRL step to the agent (built lazily so
    importing this module does not import ``transformers``)."""
    from transformers import TrainerCallback

    class AgentBridge(TrainerCallback):
        """Counts updates and records their metrics as the core's loop does; a core
        callback returning False stops TRL after the current step."""

        def __init__(self, agent: TRLAgent, callback: BaseCallback | None, bar: Any) -> None:
            self.agent, self.callback, self.bar = agent, callback, bar
            self.pending: dict[str, Any] | None = None
            self.last = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            now = time.perf_counter()
            metrics = self.agent._step_metrics(now - self.last)
            self.last = now
            if control.should_log:  # TRL's log for this step comes next (on_log)
                self.pending = metrics
            else:
                self._finish(metrics, control)
            return control

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
        ) -> Any:
            if self.pending is None:  # the end-of-training summary (train_runtime...)
                self.agent.trl_summary.update(namespaced_trl_logs(logs or {}))
                return control
            # our per-update rollout metrics win over TRL's averages of the same things
            metrics = {**namespaced_trl_logs(logs or {}), **self.pending}
            self.pending = None
            self._finish(metrics, control)
            return control

        def _finish(self, metrics: dict[str, Any], control: Any) -> None:
            if not self.agent._record_update(metrics, self.bar, self.callback):
                control.should_training_stop = True

    return AgentBridge


class TRLAgent(BaseAgent):
    """GRPO or RLOO with TRL's trainers, on the agents core.

    >>> agent = TRLAgent("builtin", TRLConfig(algorithm="grpo", model="tiny"))  # doctest: +SKIP
    >>> agent.learn(total_updates=50)                                           # doctest: +SKIP
    >>> agent.evaluate(load_tasks("builtin", split="test"), k=(1, 5))           # doctest: +SKIP

    It sits directly on :class:`~agents.common.base.BaseAgent`: TRL owns sampling and
    the update, so :meth:`learn` builds a trainer for the remaining updates and reports
    each of TRL's optimizer steps through the base's bookkeeping (``_setup_learn``,
    ``_record_update``, ``_end_learn``). Rewards are graded by the agent's own
    :attr:`scorer` (:class:`RewardFunction`). Checkpoints hold the policy (and its
    reference with ``beta > 0``) and the AdamW state, so a resumed run continues with
    its optimizer; a learning-rate schedule other than ``"constant"`` restarts with
    each ``learn`` call. The command line knows it as ``grpo`` and ``rloo``
    (:mod:`agents.registry`). In a data-parallel run every process calls
    :meth:`learn` and TRL's trainer splits each update over the processes (see the
    module docstring).
    """

    config_class = TRLConfig
    config: TRLConfig

    def needs_reference(self) -> bool:
        """A frozen reference only with a KL penalty (``beta > 0``)."""
        return self.config.beta > 0

    def _setup(self) -> None:
        import_trl()  # fail at construction, with the install hint, not at learn()
        cfg = self.config
        if self.policy.is_seq2seq:
            raise ValueError(
                "TRLAgent: TRL's GRPO and RLOO trainers train causal LMs; "
                f"{type(self.policy.model).__name__} is an encoder-decoder"
            )
        if cfg.use_vllm and self.policy.device.type != "cuda":
            raise ValueError(
                "TRLConfig.use_vllm=True needs a CUDA device; the policy is on the CPU"
            )
        self.prompts_per_update, self.micro_batch, self.accumulation = cfg.batch_plan(
            len(self.tasks), self.dist.world_size
        )
        """Prompts per update (over all processes), completions per micro-batch on
        each process, micro-batches per update."""
        self.optimizer = torch.optim.AdamW(
            self.policy.trainable_parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
        )
        self.grader = RewardFunction(self.scorer, cfg.reward)
        """The env's reward as TRL calls it, graded by the agent's scorer and recording
        what it grades (the update's ``rollout/...`` metrics and token count come from
        it)."""
        self.reward_func: Any = self.grader
        """What TRL's ``reward_funcs`` holds: :attr:`grader`, or a wrapper of it (to
        watch rewards; one that does not call the grader leaves no rollout metrics)."""
        self.trl_summary: dict[str, float] = {}
        """TRL's end-of-run log of the last ``learn`` (``trl/train_runtime``...)."""
        self.last_rollout: Rollout | None = None
        """The completions TRL generated and graded in the last update (this
        process's share of them in a data-parallel run)."""
        self.trainer: Trainer | None = None
        """The TRL trainer of the last ``learn`` call."""

    # --- what TRL is given -------------------------------------------------------------------

    def build_dataset(self) -> datasets.Dataset:
        """The training tasks as TRL reads them: ``prompt`` (plain text, cut to its last
        ``max_prompt_tokens`` tokens) and ``task_id`` (passed on to the reward)."""
        from code_env.tasks import tasks_to_dataset

        dataset = tasks_to_dataset(self.tasks).select_columns(["prompt", "task_id"])
        limit = self.config.max_prompt_tokens
        if limit is not None:
            tokenizer = self.policy.tokenizer

            def cut(row: dict[str, Any]) -> dict[str, Any]:
                ids = self.policy.encode_prompts([row["prompt"]], limit)[0]
                return {"prompt": tokenizer.decode(ids)}

            dataset = dataset.map(cut)
        return dataset

    def trl_arguments(self, max_steps: int, output_dir: str) -> dict[str, Any]:
        """Keyword arguments for ``GRPOConfig`` / ``RLOOConfig`` (see the module's table)."""
        from transformers import TrainingArguments

        cfg = self.config
        on_cpu = self.policy.device.type == "cpu"
        names = {f.name for f in dataclasses.fields(TrainingArguments)}
        checkpointing = (
            "activation_checkpointing"
            if "activation_checkpointing" in names
            else "gradient_checkpointing"
        )
        return {
            "output_dir": output_dir,
            "max_steps": max_steps,
            "num_generations": cfg.group_size,
            "per_device_train_batch_size": self.micro_batch,
            "gradient_accumulation_steps": self.accumulation,
            "steps_per_generation": self.accumulation,  # one generation batch per update
            "max_completion_length": cfg.max_new_tokens,
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "top_k": 0,
            "beta": float(cfg.beta),
            "learning_rate": cfg.lr,
            "weight_decay": cfg.weight_decay,
            "max_grad_norm": cfg.max_grad_norm,
            "lr_scheduler_type": cfg.lr_scheduler_type,
            "seed": cfg.seed + self.n_updates,  # TRL reseeds; a resumed run draws anew
            "logging_steps": cfg.logging_steps,
            "logging_strategy": "steps",
            "save_strategy": "no",  # the core's checkpoints instead
            "report_to": "none",
            "disable_tqdm": True,
            "use_cpu": on_cpu,
            "bf16": self.policy.dtype == torch.bfloat16,  # TRL defaults to True, also on CPU
            "fp16": False,
            "dataloader_pin_memory": not on_cpu,
            # transformers 5 renamed it; TRL still defaults the old name to True, which
            # warns unless the new one is given
            checkpointing: cfg.gradient_checkpointing,
            "disable_dropout": cfg.disable_dropout,
            "remove_unused_columns": False,  # the reward needs task_id
            "use_vllm": cfg.use_vllm,
            "vllm_mode": cfg.vllm_mode,
            **cfg.trl_args,
        }

    @contextlib.contextmanager
    def _local_weights(self) -> Iterator[None]:
        """While the trainer is built, the model "names" a local folder with the weights
        TRL loads by name: the reference (``beta > 0``, full fine-tuning) and vLLM's
        starting weights (synced from the policy before the first generation anyway).
        Without this TRL would ask the Hub for ``config._name_or_path``."""
        cfg, policy = self.config, self.policy
        needs_reference = cfg.beta > 0 and not policy.lora  # LoRA's reference is the base
        if not (needs_reference or cfg.use_vllm):
            yield
            return
        config = policy.model.config
        before = getattr(config, "_name_or_path", "")
        with tempfile.TemporaryDirectory(prefix="trl-weights-") as folder:
            if needs_reference and policy.reference_model is not None:
                policy.reference_model.save_pretrained(folder, safe_serialization=True)
                policy.tokenizer.save_pretrained(folder)
            else:
                policy.save(folder)  # model (LoRA merged) and tokenizer
            config._name_or_path = folder
            try:
                yield
            finally:
                config._name_or_path = before

    def build_trainer(
        self, max_steps: int, output_dir: str, callbacks: Sequence[Any] = ()
    ) -> Trainer:
        """A ``GRPOTrainer`` or ``RLOOTrainer`` for ``max_steps`` updates of the policy,
        writing (little: TRL's saving is off) to ``output_dir``."""
        from transformers import PrinterCallback, ProgressCallback

        trl = import_trl()
        cfg = self.config
        config_cls, trainer_cls = (
            (trl.GRPOConfig, trl.GRPOTrainer)
            if cfg.algorithm == "grpo"
            else (trl.RLOOConfig, trl.RLOOTrainer)
        )
        known = {f.name for f in dataclasses.fields(config_cls)}
        unknown = sorted(set(cfg.trl_args) - known)
        if unknown:
            raise ValueError(
                f"TRLConfig.trl_args: {config_cls.__name__} has no field(s) {', '.join(unknown)}"
            )
        args = config_cls(**self.trl_arguments(max_steps, output_dir))
        model = self.policy.model
        with _quiet_transformers_bars(), self._local_weights():
            trainer = trainer_cls(
                model=model,
                reward_funcs=[self.reward_func],
                args=args,
                train_dataset=self.build_dataset(),
                processing_class=self.policy.tokenizer,
                callbacks=list(callbacks),
                optimizers=(self.optimizer, None),
            )
        for noisy in (PrinterCallback, ProgressCallback):  # the agent has its own bar
            trainer.remove_callback(noisy)
        if self.policy.lora and "ref" in getattr(model, "peft_config", {}):
            # TRL copied the adapter as the reference; without it TRL uses the base with
            # adapters off, the core's LoRA reference (also after a resume)
            model.delete_adapter("ref")
        from transformers import PreTrainedModel

        ref = getattr(trainer, "ref_model", None)
        if self.policy.reference_model is not None and isinstance(ref, PreTrainedModel):
            self.policy.reference_model = ref  # the same weights: hold them once
        return trainer

    # --- the loop -------------------------------------------------------------------------

    def learn(
        self,
        total_updates: int,
        *,
        callback: BaseCallback | Sequence[BaseCallback] | None = None,
        progress: bool = True,
    ) -> TRLAgent:
        """Train with TRL until ``total_updates`` updates (optimizer steps) have been made,
        counting any before a resume. Returns the agent. In a data-parallel run every
        process calls it (TRL's trainer runs data-parallel; see the module docstring)."""
        callback, bar = self._setup_learn(
            total_updates, callback, progress, desc=f"TRLAgent[{self.config.algorithm}]"
        )
        model = self.policy.model
        patched = _forward_owner(model)
        had_forward = "forward" in vars(patched)
        try:
            if total_updates > self.n_updates:
                with contextlib.ExitStack() as stack:
                    # TRL's own files: only the main process's are kept
                    output_dir = (
                        str(self.run_dir / "trl")
                        if self.run_dir is not None and self.dist.is_main
                        else stack.enter_context(tempfile.TemporaryDirectory(prefix="trl-run-"))
                    )
                    bridge = _trainer_callback_class()(self, callback, bar)
                    self.grader.take()  # nothing graded outside training counts
                    self.trainer = self.build_trainer(
                        total_updates - self.n_updates, output_dir, [bridge]
                    )
                    self.trainer.train()
        finally:
            # TRL patches forward (a fused LM head, transparent unless asked for) and
            # leaves the model in training mode; the core's policy samples in eval mode
            if not had_forward:
                vars(patched).pop("forward", None)
            model.eval()
            self._end_learn(bar, callback)
        return self

    def _step_metrics(self, step_seconds: float) -> dict[str, Any]:
        """Count one update and return its rollout and time metrics (TRL's own log is
        added when it comes).

        In a data-parallel run each process graded its share of the update's
        completions: the rollout metrics and the token count are over all of them.
        Collective: every process calls it once per update (TRL calls every process's
        ``on_step_end``), and all take the same branches."""
        self.n_updates += 1
        metrics: dict[str, Any] = {}
        rollout = self._take_rollout()
        local = rollout if rollout is not None else Rollout([], [], [], [], [], [])
        counts = self.dist.sum(
            torch.tensor(
                [len(local.completions), sum(len(c) for c in local.completion_ids)],
                dtype=torch.long,
            )
        )
        graded, tokens = (int(x) for x in counts.tolist())
        if rollout is not None:
            self.last_rollout = rollout
        if graded:  # none when the step reused an earlier generation (num_iterations > 1)
            self.tokens_generated += tokens
            metrics.update(local.metrics(self.dist))
            metrics["time/grade_s"] = local.extra.get("grade_s", 0.0)
        metrics.update(
            {
                "time/step_s": step_seconds,
                "time/tokens_generated": float(self.tokens_generated),
                "sandbox/cache_hit_rate": self.scorer.sandbox.stats.cache_hit_rate,
            }
        )
        return metrics

    def _take_rollout(self) -> Rollout | None:
        """What TRL generated and graded since the last update, as a core Rollout (None
        when the step reused an earlier generation, e.g. ``num_iterations > 1``)."""
        batches = self.grader.take()
        if not batches:
            return None
        tasks, prompts, completion_ids, texts, rewards, results = [], [], [], [], [], []
        for batch in batches:
            tasks += [self.scorer.task(tid) for tid in batch.task_ids]
            prompts += [p if isinstance(p, str) else "" for p in batch.prompts]
            texts += batch.completions
            rewards += batch.rewards
            results += batch.results
            completion_ids += batch.completion_ids or [
                self.policy.completion_ids(t) for t in batch.completions
            ]
        return Rollout(
            tasks,
            self.policy.encode_prompts(prompts),
            completion_ids,
            texts,
            rewards,
            results,
            extra={"grade_s": sum(b.seconds for b in batches)},
        )

    # --- checkpoints ----------------------------------------------------------------------

    def _extra_state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])


@contextlib.contextmanager
def _quiet_transformers_bars() -> Iterator[None]:
    """No "Writing model shards" / "Loading weights" bars while the trainer is built."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _forward_owner(model: torch.nn.Module) -> torch.nn.Module:
    """The module whose ``forward`` TRL patches (a LoRA model's base model)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model

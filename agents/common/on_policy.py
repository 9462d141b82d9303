"""The rollout-then-update layer (stable-baselines3's ``OnPolicyAlgorithm``).

:class:`OnPolicyAgent` owns the loop of the agents that sample with the current policy
and then update it — the actor-critic, CodeRL and PPO agents: draw the update's tasks,
sample and grade this process's share of them (:meth:`OnPolicyAgent.collect_rollout`),
hand the rollout to :meth:`OnPolicyAgent.train`, record. It also owns the one optimiser
(AdamW, built from the config over :meth:`OnPolicyAgent._parameter_groups`) and the one
optimiser step (:meth:`OnPolicyAgent.optimizer_step`: zero the gradients, backward, sum
them over the processes of a data-parallel run, clip, step). An algorithm implements
:meth:`OnPolicyAgent.train` and, when it has modules of its own (a critic, a value
head), :meth:`OnPolicyAgent._build` and :meth:`OnPolicyAgent._parameter_groups`.

Writing ``train`` for several processes: each process holds its own share of the
rollout, and its loss must be its share of the whole update's loss, so that the summed
gradients are those of one process on every sample. :meth:`OnPolicyAgent.total`
(a count or sum over all processes) is the denominator of a mean, and
:meth:`OnPolicyAgent.everywhere` gathers per-sample values for statistics over the whole
rollout (advantage scales, the mean KL). With one process both return their input.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from agents.common.base import BaseAgent, Rollout, repair_context
from agents.common.callbacks import BaseCallback
from agents.common.optim import optimizer_step
from code_env.tasks import Task


class OnPolicyAgent(BaseAgent):
    """Sample with the current policy, grade, update: the loop, the optimiser and its
    step. Subclasses implement :meth:`train` (see the module docstring)."""

    optimizer: torch.optim.Optimizer

    def _setup(self) -> None:
        if self.dist.enabled:
            per_update = min(self.config.tasks_per_update, len(self.tasks))
            if per_update % self.dist.world_size:
                raise ValueError(
                    f"{type(self.config).__name__}.tasks_per_update: each of the "
                    f"{self.dist.world_size} processes takes an equal share of an update's "
                    f"tasks, so it must be a multiple of {self.dist.world_size}; an update "
                    f"here holds {per_update}"
                )
        self._build()
        self.fsdp = self.dist.enabled and (self.config.fsdp or self.dist.accelerate_fsdp)
        """Whether the trained modules are sharded over the processes (FSDP2)."""
        if self.fsdp:
            if self.policy.lora:
                raise ValueError(
                    f"{type(self.config).__name__}.fsdp: LoRA adapters are small enough to "
                    "train data-parallel; turn fsdp off (the base model is not sharded)"
                )
            from agents.common.fsdp import shard_module

            for module in self._trained_modules().values():
                shard_module(module)
            if self.policy.reference_model is not None:  # frozen, but as large: sharded too
                shard_module(self.policy.reference_model)
            self.policy.synced_generation = True
        groups = self._parameter_groups()
        self.optimizer = torch.optim.AdamW(
            groups, lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        self._trained = [p for group in groups for p in group["params"]]
        self._clipped = [p for group in groups if group.get("clip", True) for p in group["params"]]

    # --- what algorithms implement ----------------------------------------------------------

    def _build(self) -> None:
        """Build the algorithm's own modules and state (before the optimiser is made)."""

    def _trained_modules(self) -> dict[str, torch.nn.Module]:
        """The modules the optimiser trains, by name (the policy's model, and the
        algorithm's heads or critics): what FSDP shards and checkpoints gather."""
        return {"policy": self.policy.model}

    def _parameter_groups(self) -> list[dict[str, Any]]:
        """The optimiser's parameter groups: the policy's trainable parameters by
        default. A group may set its own ``lr`` and ``weight_decay``, and ``"clip":
        False`` to leave it out of gradient clipping (and out of ``train/grad_norm``)."""
        return [{"params": self.policy.trainable_parameters()}]

    def train(self, rollout: Rollout) -> dict[str, float]:
        """One update from this process's share of a graded rollout; returns
        ``train/...`` metrics (the same on every process)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement train()")

    # --- the optimiser step ---------------------------------------------------------------

    def optimizer_step(self, loss: torch.Tensor) -> float:
        """Zero the gradients, back-propagate ``loss`` (this process's share of the
        update's loss), sum the gradients over the processes, clip the clipped groups to
        ``max_grad_norm``, step. Returns the gradient norm before clipping."""
        return optimizer_step(
            self.optimizer,
            loss,
            self._clipped,
            self.config.max_grad_norm,
            # FSDP sums the gradients itself (reduce-scatter); otherwise one all-reduce
            combine=None if self.fsdp else lambda: self.dist.sum_gradients(self._trained),
        )

    # --- checkpoints of trained state ---------------------------------------------------

    def module_state(self, module: torch.nn.Module) -> dict[str, Any]:
        """``module``'s state dict for a checkpoint (gathered whole when sharded; every
        process calls it, the main process's is written)."""
        if not self.fsdp:
            return module.state_dict()
        from agents.common.fsdp import full_state_dict

        return full_state_dict(module)

    def load_module_state(self, module: torch.nn.Module, state: dict[str, Any]) -> None:
        """Load :meth:`module_state`'s output into ``module`` (sharded or not)."""
        if not self.fsdp:
            module.load_state_dict(state)
            return
        from agents.common.fsdp import load_full_state_dict

        load_full_state_dict(module, state)

    def optimizer_state(self) -> dict[str, Any]:
        """The optimiser's state for a checkpoint: ``{"optimizer": ...}``, or with FSDP
        ``{"optimizer_by_name": ...}`` (whole, keyed by parameter name)."""
        if not self.fsdp:
            return {"optimizer": self.optimizer.state_dict()}
        from agents.common.fsdp import full_optimizer_state

        modules = torch.nn.ModuleDict(self._trained_modules())
        return {"optimizer_by_name": full_optimizer_state(modules, self.optimizer)}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        """Load :meth:`optimizer_state`'s output (saved with the same ``fsdp`` setting)."""
        key = "optimizer_by_name" if self.fsdp else "optimizer"
        if key not in state:
            raise ValueError(
                f"the checkpoint's optimiser state was saved with fsdp={not self.fsdp}; "
                f"resume with the same setting"
            )
        if not self.fsdp:
            self.optimizer.load_state_dict(state[key])
            return
        from agents.common.fsdp import load_full_optimizer_state

        modules = torch.nn.ModuleDict(self._trained_modules())
        load_full_optimizer_state(modules, self.optimizer, state[key])

    def _policy_weights(self) -> dict[str, Any]:
        if not self.fsdp:
            return {}
        reference = self.policy.reference_model
        return {
            "state_dict": self.module_state(self.policy.model),
            "reference_state_dict": None if reference is None else self.module_state(reference),
        }

    # --- reductions over the processes ----------------------------------------------------

    def total(self, value: torch.Tensor | float) -> torch.Tensor:
        """``value`` summed over the processes (itself with one): the denominator of a
        mean over the whole update (a token or sample count)."""
        return self.dist.sum(value)

    def everywhere(self, values: torch.Tensor) -> torch.Tensor:
        """A 1-D tensor of per-sample values, every process's concatenated in rank order
        (itself with one), without gradients."""
        return self.dist.gather(values.detach())

    # --- sampling and grading ---------------------------------------------------------

    def draw_tasks(self, n: int) -> list[Task]:
        """``n`` tasks drawn uniformly (without replacement while enough remain); the
        same on every process."""
        if n >= len(self.tasks):
            return list(self.tasks)
        return self.rng.sample(list(self.tasks), n)

    def collect_rollout(self, tasks: Sequence[Task], n: int) -> Rollout:
        """Sample ``n`` programs for each of this process's share of ``tasks`` with the
        current policy, and grade them (``config.env="repair"``: ``n`` multi-attempt
        episodes each, :meth:`collect_repair_rollout`)."""
        cfg = self.config
        if cfg.env == "repair":
            return self.collect_repair_rollout(tasks, n)
        mine = self.dist.shard(tasks)
        groups = self.policy.sample([t.prompt for t in mine], cfg.sampling, n=n) if mine else []
        prompts = self.policy.encode_prompts(
            [t.prompt for t in mine], cfg.max_prompt_tokens, cfg.sampling.max_new_tokens
        )
        flat_tasks, prompt_ids, completion_ids, texts = [], [], [], []
        for task, ids, samples in zip(mine, prompts, groups, strict=True):
            for sample in samples:
                flat_tasks.append(task)
                prompt_ids.append(ids)
                completion_ids.append(sample.token_ids)
                texts.append(sample.text)
        graded = self.scorer.score_many(list(zip(flat_tasks, texts, strict=True)))
        self.tokens_generated += int(self.total(sum(len(c) for c in completion_ids)))
        return Rollout(
            flat_tasks,
            prompt_ids,
            completion_ids,
            texts,
            [r for r, _ in graded],
            [res for _, res in graded],
        )

    def collect_repair_rollout(self, tasks: Sequence[Task], n: int) -> Rollout:
        """``n`` ``CodeRepair-v0`` episodes for each of this process's share of ``tasks``.

        Every attempt is one sample of the rollout: its prompt is the task's prompt
        followed by the earlier attempts (each ended by end-of-text) and their feedback,
        as the env's observation holds them; its completion is the attempt; its reward
        is its own graded reward (the env's ``reward_mode="each"``), so each attempt's
        credit goes to its own tokens. An episode stops at the attempt that passes, or
        after ``config.max_attempts``. ``rollout.extra["attempt"]`` numbers the samples'
        attempts (1-based) and ``extra["episode"]`` their episodes.
        """
        cfg = self.config
        mine = self.dist.shard(tasks)
        episodes = [task for task in mine for _ in range(n)]
        contexts = [task.prompt for task in episodes]
        out = Rollout([], [], [], [], [], [], extra={"attempt": [], "episode": []})
        active = list(range(len(episodes)))
        generated = 0
        for attempt in range(1, cfg.max_attempts + 1):
            if not active:
                break
            prompts = [contexts[i] for i in active]
            groups = self.policy.sample(prompts, cfg.sampling, n=1)
            prompt_ids = self.policy.encode_prompts(
                prompts, cfg.max_prompt_tokens, cfg.sampling.max_new_tokens
            )
            samples = [group[0] for group in groups]
            graded = self.scorer.score_many(
                [(episodes[i], sample.text) for i, sample in zip(active, samples, strict=True)]
            )
            still = []
            for i, ids, sample, (reward, result) in zip(
                active, prompt_ids, samples, graded, strict=True
            ):
                out.tasks.append(episodes[i])
                out.prompt_ids.append(ids)
                out.completion_ids.append(sample.token_ids)
                out.completions.append(sample.text)
                out.rewards.append(reward)
                out.results.append(result)
                out.extra["attempt"].append(attempt)
                out.extra["episode"].append(i)
                generated += len(sample.token_ids)
                if result.passed or attempt == cfg.max_attempts:
                    continue
                contexts[i] = repair_context(
                    self.policy,
                    contexts[i],
                    episodes[i],
                    sample.text,
                    result,
                    attempt,
                    sandbox=self.scorer.sandbox,
                    feedback_tokens=cfg.feedback_tokens,
                    limits=self.scorer.limits,
                )
                still.append(i)
            active = still
        self.tokens_generated += int(self.total(generated))
        return out

    def rollout(self, tasks: Sequence[Task], n: int) -> Rollout:
        """:meth:`collect_rollout` (the name earlier versions used)."""
        return self.collect_rollout(tasks, n)

    def update(self, rollout: Rollout) -> dict[str, float]:
        """One update from a graded rollout (this process's share of it): :meth:`train`,
        with the policy's forward passes under bf16 autocast on GPUs."""
        with self.dist.autocast():
            return self.train(rollout)

    # --- the loop -------------------------------------------------------------------------

    def learn(
        self,
        total_updates: int,
        *,
        callback: BaseCallback | Sequence[BaseCallback] | None = None,
        progress: bool = True,
    ) -> OnPolicyAgent:
        """Train until ``total_updates`` updates have been made (counting any before a
        resume). Returns the agent. In a data-parallel run every process calls it."""
        callback, bar = self._setup_learn(total_updates, callback, progress)
        try:
            while self.n_updates < total_updates:
                start = time.perf_counter()
                rollout = self.collect_rollout(
                    self.draw_tasks(self.config.tasks_per_update), self.config.samples_per_task
                )
                sampled = time.perf_counter()
                metrics = {**rollout.metrics(self.dist), **self.update(rollout)}
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
            self._end_learn(bar, callback)
        return self

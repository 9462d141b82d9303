"""The CodeRL agent (Le et al., NeurIPS 2022, Sec. 3.3; salesforce/CodeRL).

The actor is the language model; a separately trained critic φ
(:mod:`agents.coderl.critic`) reads problem + program and predicts the unit-test outcome.
Each update:

1. samples programs ``Wˢ`` for a batch of problems and grades them (reward ``r``:
   CodeRL's −1 compile error, −0.6 runtime error, −0.3 failed test, +1 passed);
2. decodes the greedy program ``Wᵇ`` for the same problems, now, with the current
   actor, and grades it: ``r(Wᵇ)`` is the baseline (the public code read it from files
   made once before training);
3. weighs each sampled token's log-probability by ``(r(Wˢ) − r(Wᵇ)) · q̂_φ(wₜ)``, where
   ``q̂_φ(wₜ)`` is the critic's probability, at token ``t``, of the outcome the program
   actually had (Eq. 14): L_rl = −Σₜ that weight · log π(wₜ);
4. adds L_ce, the cross-entropy of passing programs — the reference solutions given
   to it and every sampled program that passed (our choice; see docs/agents.md) — with
   the same weight (Eq. 10 / 14: L = L_ce + L_rl).

The switches of the paper's Table 2 are config fields: ``baseline=False`` (model B:
no baseline, weight ``r(Wˢ)·q̂``), ``token_weights="none"`` (model A: no critic, every
token weighs 1), ``token_weights="linear_decay"`` (model C: token values rise linearly
from the first token to the last instead of the critic's); model D is the default.
:data:`TABLE2_VARIANTS` names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.coderl.critic import (
    OUTCOME_CLASSES,
    CriticConfig,
    OutcomeCritic,
    collect_training_programs,
    critic_from_state,
    critic_state,
    outcome_label,
    train_one_critic,
)
from agents.coderl.syntax import program_compiles
from agents.common.base import Rollout
from agents.common.buffer import ReplayBuffer, SelfImitation
from agents.common.config import AgentConfig, _non_negative, _positive
from agents.common.on_policy import OnPolicyAgent
from agents.registry import RunSetup

#: The paper's Table 2 models, as config overrides.
TABLE2_VARIANTS: dict[str, dict[str, Any]] = {
    "A": {"token_weights": "none", "baseline": True},
    "B": {"token_weights": "critic", "baseline": False},
    "C": {"token_weights": "linear_decay", "baseline": True},
    "D": {"token_weights": "critic", "baseline": True},
}
TOKEN_WEIGHTS = ("critic", "none", "linear_decay")


@dataclass
class CodeRLConfig(AgentConfig):
    """The CodeRL agent's settings (Le et al. 2022; see docs/agents.md)."""

    reward: str = "coderl"
    """CodeRL's graded reward by default."""
    critic: str | None = None
    """A folder from ``code-synthesis train-critic`` (its ``outcome/`` critic, or a
    critic folder itself); None: train one when learning starts, on programs the
    initial actor samples for the training tasks."""
    baseline: bool = True
    """Subtract the greedy program's reward r(Wᵇ) (False: Table 2's model B)."""
    token_weights: str = "critic"
    """``"critic"`` (q̂_φ), ``"none"`` (model A) or ``"linear_decay"`` (model C)."""
    ce_coef: float = 1.0
    """Weight of L_ce (1.0: the paper's equal weights)."""
    ce_batch: int = 16
    """Passing programs (references and found ones) in each update's L_ce."""
    ce_sampled_fraction: float = 0.5
    """Share of the L_ce batch drawn from programs found by sampling."""
    replay_capacity_per_task: int = 8
    """At most this many passing programs kept per task."""
    critic_samples_per_task: int = 8
    """Programs sampled per task and temperature to train a critic when none is given
    (the rest of the recipe: :class:`~agents.coderl.critic.CriticConfig`'s defaults)."""
    critic_steps: int = 600
    """Optimiser steps of that critic's training."""
    critic_rl_updates: int = 40
    """Actor-critic updates of the copy of the actor whose programs join that critic's
    (:attr:`~agents.coderl.critic.CriticConfig.actor_rl_updates`; 0: none)."""

    @property
    def critic_recipe(self) -> CriticConfig:
        """How a critic is trained when none is given."""
        return CriticConfig(
            samples_per_task=self.critic_samples_per_task,
            steps=self.critic_steps,
            actor_rl_updates=self.critic_rl_updates,
        )

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self, "replay_capacity_per_task", "critic_samples_per_task", "critic_steps")
        _non_negative(self, "ce_coef", "ce_batch", "critic_rl_updates")
        if self.token_weights not in TOKEN_WEIGHTS:
            raise ValueError(
                f"CodeRLConfig.token_weights must be one of {', '.join(TOKEN_WEIGHTS)}, "
                f"got {self.token_weights!r}"
            )
        if not isinstance(self.baseline, bool):
            raise ValueError(f"CodeRLConfig.baseline must be true or false, got {self.baseline!r}")
        if not 0.0 <= self.ce_sampled_fraction <= 1.0:
            raise ValueError(
                "CodeRLConfig.ce_sampled_fraction must be in [0, 1], "
                f"got {self.ce_sampled_fraction!r}"
            )
        if self.critic is not None and not _critic_folder(self.critic).is_dir():
            raise ValueError(f"CodeRLConfig.critic: no critic in {self.critic!r}")

    @classmethod
    def variant(cls, name: str, **fields: Any) -> CodeRLConfig:
        """The config of Table 2's model ``name`` (``"A"``-``"D"``) plus ``fields``."""
        if name not in TABLE2_VARIANTS:
            raise ValueError(
                f"unknown CodeRL variant {name!r}; valid: {', '.join(TABLE2_VARIANTS)}"
            )
        return cls(**{**TABLE2_VARIANTS[name], **fields})


def prepare_run(setup: RunSetup) -> dict[str, Any]:
    """CodeRL's preparation for a training run (its hook in :mod:`agents.registry`):
    CodeRL trains its critics on the initial actor's samples before RL, so a run that
    is given no critic and does not resume trains φ and φ_test (φ_test for Critic
    Sampling, ``eval --critic-sampling``) into the run folder's ``critic/``, on the
    tasks the agent learns from, with the sampling and budget of the run's config."""
    if setup.resume or setup.overrides.get("critic") is not None:
        return {}
    from agents.coderl.critic import train_critics_for

    config = CodeRLConfig(**{"model": setup.model, "seed": setup.seed, **setup.overrides})
    folder = setup.out / "critic"
    train_critics_for(
        setup.model,
        setup.rl_tasks,
        folder,
        reference_tasks=setup.reference_tasks if setup.rewards_only else (),
        held_out=setup.held_out or (),
        config=config.critic_recipe,
        sampling=config.sampling,
        seed=setup.seed,
        progress=setup.progress,
        log=setup.log,
        sandbox=setup.sandbox,
    )
    return {"critic": str(folder)}


def _critic_folder(path: str) -> Path:
    folder = Path(path)
    return folder / "outcome" if (folder / "outcome" / "critic.json").is_file() else folder


def token_values(
    kind: str,
    labels: list[int],
    lengths: list[int],
    width: int,
    critic_probs: list[np.ndarray] | None = None,
) -> torch.Tensor:
    """Per sampled token, the value the advantage is spread with, right-aligned to
    ``width`` like the policy's log-probs: the critic's probability of the program's
    actual outcome (``"critic"``), 1 (``"none"``), or (t + 1) / T (``"linear_decay"``)."""
    values = torch.zeros((len(lengths), width), dtype=torch.float32)
    for i, length in enumerate(lengths):
        if not length:
            continue
        if kind == "none":
            row = np.ones(length, dtype=np.float32)
        elif kind == "linear_decay":
            row = np.arange(1, length + 1, dtype=np.float32) / length
        else:
            assert critic_probs is not None
            row = critic_probs[i][:, labels[i]].astype(np.float32)
        values[i, width - length :] = torch.from_numpy(row)
    return values


def rl_token_weights(
    rewards: torch.Tensor, baseline: torch.Tensor | None, values: torch.Tensor
) -> torch.Tensor:
    """CodeRL's per-token weights: ``(r(Wˢ) − r(Wᵇ)) · q̂(wₜ)`` (Eq. 14), or
    ``r(Wˢ) · q̂(wₜ)`` without a baseline."""
    advantage = rewards - baseline if baseline is not None else rewards
    return advantage.unsqueeze(-1) * values


class CodeRLAgent(OnPolicyAgent):
    """Policy gradient with token weights from an outcome critic and a greedy baseline,
    plus cross-entropy on passing programs (CodeRL, Le et al. 2022).

    >>> agent = CodeRLAgent("builtin", CodeRLConfig(model="tiny"))  # doctest: +SKIP
    >>> agent.learn(total_updates=50)                               # doctest: +SKIP
    """

    config_class = CodeRLConfig
    config: CodeRLConfig

    def needs_reference(self) -> bool:
        return False  # CodeRL has no KL penalty

    def _build(self) -> None:
        cfg = self.config
        self.replay = SelfImitation(cfg.replay_capacity_per_task, self.tasks)
        self.critic: OutcomeCritic | None = None
        if cfg.critic is not None:
            self.critic = OutcomeCritic.load(_critic_folder(cfg.critic), self.policy.device)

    @property
    def buffer(self) -> ReplayBuffer:
        """The buffer of passing programs behind L_ce."""
        return self.replay.buffer

    def add_references(self, tasks) -> int:
        """Add these tasks' reference solutions to L_ce's buffer. Returns how many."""
        return self.replay.add_references(tasks)

    def fit_critic(self, progress: bool = False) -> OutcomeCritic:
        """Train φ on programs the current (initial) actor samples for the training
        tasks, plus their references if they have any, as CodeRL trains its critic
        before RL, by :attr:`CodeRLConfig.critic_recipe` (the weights that do best on a
        fifth of the tasks are kept). The actor's own samples only: the recipe's copy
        of the actor after RL samples too where :func:`prepare_run` trains the critics."""
        cfg = self.config
        recipe = cfg.critic_recipe
        data = collect_training_programs(
            {"actor": self.policy},
            list(self.tasks),
            self.scorer.sandbox,
            recipe,
            sampling=cfg.sampling,
        )
        critic, _ = train_one_critic(
            data["outcome"], OUTCOME_CLASSES, self.policy, recipe, seed=cfg.seed, progress=progress
        )
        self.critic = critic.eval()
        return critic

    def greedy_rewards(self, rollout: Rollout) -> dict[str, float]:
        """r(Wᵇ): the reward of the current actor's greedy program, per task."""
        tasks = list({t.task_id: t for t in rollout.tasks}.values())
        greedy = self.policy.sample([t.prompt for t in tasks], self.config.sampling, greedy=True)
        self.tokens_generated += int(self.total(sum(len(g[0].token_ids) for g in greedy)))
        graded = self.scorer.score_many(
            [(t, g[0].text) for t, g in zip(tasks, greedy, strict=True)]
        )
        return {t.task_id: reward for t, (reward, _) in zip(tasks, graded, strict=True)}

    def _fit_critic_everywhere(self) -> None:
        """:meth:`fit_critic` on the main process, its weights sent to the others (every
        process weighs its tokens with the same φ)."""
        if not self.dist.enabled:
            self.fit_critic()
            return
        state = None
        if self.dist.is_main:
            self.fit_critic()
            assert self.critic is not None
            state = critic_state(self.critic)
        state = self.dist.broadcast_object(state)
        if not self.dist.is_main:  # the same architecture, weights and temperature
            self.critic = critic_from_state(state).to(self.policy.device).eval()

    def train(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        policy = self.policy
        if cfg.token_weights == "critic" and self.critic is None:
            self._fit_critic_everywhere()
        added = self.replay.add_passing(*self.replay.everywhere(rollout, self.dist))

        logprobs, mask, _ = policy.token_logprobs(rollout.prompt_ids, rollout.completion_ids)
        device = mask.device
        rewards = torch.tensor(rollout.rewards, dtype=torch.float32, device=device)
        baseline = None
        if cfg.baseline:
            by_task = self.greedy_rewards(rollout)
            baseline = torch.tensor(
                [by_task[t.task_id] for t in rollout.tasks], dtype=torch.float32, device=device
            )
        labels = [outcome_label(r) for r in rollout.results]
        critic_probs = None
        if cfg.token_weights == "critic":
            assert self.critic is not None
            critic_probs = self.critic.token_probs(
                rollout.prompt_ids,
                rollout.completion_ids,
                compiles=[
                    program_compiles(t.program(c))
                    for t, c in zip(rollout.tasks, rollout.completions, strict=True)
                ],
            )
        values = token_values(
            cfg.token_weights,
            labels,
            [len(c) for c in rollout.completion_ids],
            mask.shape[1],
            critic_probs,
        ).to(device)
        weights = rl_token_weights(rewards, baseline, values) * mask
        n_tokens = self.total(mask.sum()).clamp(min=1)
        rl_loss = -(weights * logprobs).sum() / n_tokens
        ce_loss = self.replay.loss(
            policy,
            cfg.ce_batch,
            self.rng,
            cfg.ce_sampled_fraction,
            cfg.max_prompt_tokens,
            dist=self.dist,
        )
        grad_norm = self.optimizer_step(rl_loss + cfg.ce_coef * ce_loss)

        metrics = {
            "train/rl_loss": float(self.total(rl_loss.detach())),
            "train/ce_loss": float(self.total(ce_loss.detach())),
            "train/token_value_mean": float(self.total((values * mask).sum()) / n_tokens),
            "train/weight_mean": float(self.total(weights.sum()) / n_tokens),
            "train/grad_norm": grad_norm,
            "train/buffer_size": float(len(self.buffer)),
            "train/buffer_sampled": float(self.buffer.count("sampled")),
            "train/buffer_added": float(added),
        }
        if baseline is not None:
            metrics["train/baseline_reward"] = float(self.everywhere(baseline).mean())
            metrics["train/advantage_mean"] = float(self.everywhere(rewards - baseline).mean())
        return metrics

    def _extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {**self.optimizer_state(), "replay": self.replay.state_dict()}
        if self.critic is not None:  # frozen, but saved: the run must not depend on a path
            state["critic"] = critic_state(self.critic)
        return state

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.load_optimizer_state(state)
        self.replay.load_state_dict(state["replay"])
        saved = state.get("critic")
        if saved is not None:
            self.critic = critic_from_state(saved).to(self.policy.device).eval()

"""The actor-critic agent of Gorinski et al., EMNLP 2023 (arXiv 2310.13669).

The method as its abstract and summary describe it; the paper's code and
hyperparameters were never released, so every detail below that it does not state is
a choice, exposed as a config field and listed in docs/agents.md.

* **Actor**: the language model. Programs are sampled with nucleus sampling.
* **Reward**: the env's graded reward with partial credit (``coderl_partial`` by
  default) minus ``ζ · KL(π ‖ π₀)``, the KL of each sampled program from the initial
  (warm-started) policy, summed over its tokens. ``ζ`` adapts to keep that KL near a
  target ``ρ`` (the proportional controller of Ziegler et al. 2019).
* **Critic**: a two-layer MLP on the actor's final hidden state at the end of the
  prompt, predicting the return; trained with mean squared error. It does not
  back-propagate into the actor.
* **Update**: REINFORCE with the critic as baseline,
  ``-(r - V(s)) · Σ_t log π(a_t | s_t)``, averaged over sampled tokens.
* **Replay buffer**: the reference solutions of the training tasks that have one, and
  every new program that passes all its tests, deduplicated by normalised AST. Each
  update also maximises the likelihood of a batch drawn from it (``replay_coef``), so
  what was found is kept and reinforced (self-imitation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.common.base import Rollout
from agents.common.buffer import ReplayBuffer, SelfImitation
from agents.common.config import KLPenaltyConfig, _non_negative, _positive
from agents.common.kl import AdaptiveKL
from agents.common.on_policy import OnPolicyAgent


@dataclass
class ActorCriticConfig(KLPenaltyConfig):
    """The actor-critic agent's settings (2310.13669; see docs/agents.md). The KL
    penalty's fields (ζ: ``kl_coef``, ρ: ``kl_target``, ``kl_horizon``,
    ``adaptive_kl``) come from :class:`~agents.common.config.KLPenaltyConfig`."""

    critic_hidden: int = 256
    """Width of the critic's hidden layer."""
    critic_lr: float = 1e-3
    """Learning rate of the critic (Adam)."""
    value_coef: float = 1.0
    """Weight of the critic's loss."""
    normalize_advantages: bool = True
    """Scale advantages to unit standard deviation within each update."""
    replay_batch: int = 16
    """Programs from the replay buffer in each update (0: no replay)."""
    replay_coef: float = 1.0
    """Weight of the replay buffer's likelihood loss."""
    replay_capacity_per_task: int = 8
    """At most this many programs per task in the buffer."""
    replay_sampled_fraction: float = 0.5
    """Share of each replay batch drawn from programs found by sampling (the rest from
    every task, references included), so that discoveries are reinforced."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self, "critic_hidden", "critic_lr", "replay_capacity_per_task")
        _non_negative(self, "value_coef", "replay_coef", "replay_batch")
        if not 0.0 <= self.replay_sampled_fraction <= 1.0:
            raise ValueError(
                "ActorCriticConfig.replay_sampled_fraction must be in [0, 1], "
                f"got {self.replay_sampled_fraction!r}"
            )


class Critic(nn.Module):
    """Two-layer MLP from a hidden state to a predicted return."""

    def __init__(self, hidden_size: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden_size, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.net(hidden).squeeze(-1)


class ActorCriticAgent(OnPolicyAgent):
    """Policy gradient with an MLP critic baseline, an adaptive KL penalty and a replay
    buffer of passing programs (2310.13669).

    >>> agent = ActorCriticAgent("builtin", ActorCriticConfig(model="tiny"))  # doctest: +SKIP
    >>> agent.learn(total_updates=50)                                          # doctest: +SKIP
    >>> agent.evaluate(load_tasks("builtin", split="test"), k=(1, 5))          # doctest: +SKIP
    """

    config_class = ActorCriticConfig
    trains_on_repair = True
    config: ActorCriticConfig

    def _build(self) -> None:
        cfg = self.config
        self.critic = Critic(self.policy.hidden_size, cfg.critic_hidden).to(self.policy.device)
        self.kl = AdaptiveKL.from_config(cfg)
        self.replay = SelfImitation(cfg.replay_capacity_per_task, self.tasks)

    def _trained_modules(self) -> dict[str, nn.Module]:
        return {**super()._trained_modules(), "critic": self.critic}

    def _parameter_groups(self) -> list[dict[str, Any]]:
        # the critic learns at its own rate (Adam: no weight decay) and is not clipped
        critic = {"params": list(self.critic.parameters()), "lr": self.config.critic_lr}
        return [*super()._parameter_groups(), {**critic, "weight_decay": 0.0, "clip": False}]

    @property
    def buffer(self) -> ReplayBuffer:
        """The replay buffer of passing programs."""
        return self.replay.buffer

    def add_references(self, tasks) -> int:
        """Put these tasks' reference solutions in the replay buffer (e.g. the tasks a
        model was warm-started on, when training on others). Returns how many."""
        return self.replay.add_references(tasks)

    def train(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        policy = self.policy
        # Every program that passes, on any process, joins every process's buffer.
        added = self.replay.add_passing(*self.replay.everywhere(rollout, self.dist))

        logprobs, mask, hidden = policy.token_logprobs(
            rollout.prompt_ids, rollout.completion_ids, with_hidden=True
        )
        ref_logprobs, _, _ = policy.token_logprobs(
            rollout.prompt_ids, rollout.completion_ids, reference=True
        )
        seq_kl = ((logprobs.detach() - ref_logprobs) * mask).sum(-1)  # per program, nats
        env_reward = torch.tensor(rollout.rewards, dtype=torch.float32, device=mask.device)
        returns = env_reward - self.kl.coef * seq_kl
        n_samples = self.total(torch.tensor(float(len(returns)), device=mask.device))

        values = self.critic(hidden.detach())
        value_loss = torch.sum((values - returns) ** 2) / n_samples
        advantages = returns - values.detach()
        if cfg.normalize_advantages and n_samples > 1:
            advantages = advantages / (self.everywhere(advantages).std() + 1e-6)
        seq_logprob = (logprobs * mask).sum(-1)
        policy_loss = -(advantages * seq_logprob).sum() / self.total(mask.sum()).clamp(min=1)

        replay_loss = self.replay.loss(
            policy,
            cfg.replay_batch,
            self.rng,
            cfg.replay_sampled_fraction,
            cfg.max_prompt_tokens,
            dist=self.dist,
        )
        loss = policy_loss + cfg.replay_coef * replay_loss + cfg.value_coef * value_loss
        grad_norm = self.optimizer_step(loss)

        all_returns, all_values = self.everywhere(returns), self.everywhere(values)
        mean_kl = float(self.everywhere(seq_kl).mean())
        coef = self.kl.update(mean_kl)
        return {
            "train/policy_loss": float(self.total(policy_loss.detach())),
            "train/value_loss": float(self.total(value_loss.detach())),
            "train/replay_loss": float(self.total(replay_loss.detach())),
            "train/kl": mean_kl,
            "train/kl_coef": coef,
            "train/return_mean": float(all_returns.mean()),
            "train/value_mean": float(all_values.mean()),
            "train/grad_norm": grad_norm,
            "train/buffer_size": float(len(self.buffer)),
            "train/buffer_sampled": float(self.buffer.count("sampled")),
            "train/buffer_added": float(added),
        }

    def _extra_state(self) -> dict[str, Any]:
        return {
            **self.optimizer_state(),
            "critic": self.module_state(self.critic),
            "kl_coef": self.kl.coef,
            "buffer": self.buffer.state_dict(),
            "replay_prompts": self.replay.prompts,
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.load_module_state(self.critic, state["critic"])
        self.load_optimizer_state(state)
        self.kl.coef = float(state["kl_coef"])
        self.replay.load_state_dict(
            {"buffer": state["buffer"], "prompts": state.get("replay_prompts", {})}
        )

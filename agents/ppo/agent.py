"""Token-level PPO in the RLHF style (Ziegler et al. 2019; Stiennon et al. 2020), as TRL's
``PPOTrainer`` implemented it before TRL removed it (1.13), with the env's reward.

Each update, on a rollout of sampled programs:

1. score the rollout once with the current policy (``old`` log-probs), the frozen
   reference, and the value head: per-token values ``V_t`` (when the whole rollout is one
   minibatch, the first optimisation pass's forward is this scoring pass);
2. per-token rewards: ``r_t = −β · (log π_old(a_t) − log π_ref(a_t))`` at every token,
   plus the env's reward at the last token;
3. advantages by GAE(γ, λ) over each program's tokens, returns = advantages + values,
   advantages whitened over the batch;
4. ``ppo_epochs`` passes over shuffled minibatches: the clipped policy loss
   ``max(−A·ρ, −A·clip(ρ, 1 ± ε))`` with ``ρ = π/π_old`` per token, and the clipped value
   loss ``½ · max((V − R)², (V_old + clip(V − V_old, ±ε_v) − R)²)``;
5. the adaptive KL controller moves β towards the target KL.

The value head is a linear layer on the actor's final hidden states (a shared trunk, as
TRL's ``AutoModelForCausalLMWithValueHead``); its loss weight is ``vf_coef``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.common.base import Rollout
from agents.common.config import KLPenaltyConfig, _non_negative, _positive
from agents.common.kl import AdaptiveKL
from agents.common.on_policy import OnPolicyAgent


@dataclass
class PPOConfig(KLPenaltyConfig):
    """The PPO agent's settings (defaults after TRL's PPOConfig and Ziegler et al.). The
    KL penalty's fields (β: ``kl_coef``, ``kl_target``, ``kl_horizon``, ``adaptive_kl``)
    come from :class:`~agents.common.config.KLPenaltyConfig`."""

    reward: str = "coderl"
    """The env's own reward (CodeRL's graded −1 / −0.6 / −0.3 / +1). With
    ``coderl_partial``'s credit for each passed test the learning benchmark's PPO learnt
    to write programs that run and fail (87% of its samples by update 60)."""
    lr: float = 1e-4
    """AdamW learning rate: a third of the core's default, since PPO takes
    ``ppo_epochs`` steps on each rollout (at 3e-4 the tiny warm-start's B pass@1 rose,
    then fell to 0 within 60 updates of the learning benchmark; at 1e-4 it held)."""
    kl_coef: float = 0.05
    """β: the initial weight of the per-token KL penalty (TRL's former default)."""
    gamma: float = 1.0
    """Discount across a program's tokens."""
    lam: float = 0.95
    """GAE's λ."""
    cliprange: float = 0.2
    """ε: the policy ratio is clipped to [1 − ε, 1 + ε]."""
    cliprange_value: float = 0.2
    """ε_v: how far a value may move from its rollout value before it is clipped."""
    vf_coef: float = 0.1
    """Weight of the value loss."""
    ppo_epochs: int = 4
    """Passes over each rollout (TRL's former PPOConfig's 4; with 2 the learning
    benchmark's B pass@1 was 7.6 ± 0.8 against 8.9 ± 4.1, at less cost per update)."""
    minibatch_size: int = 64
    """Programs per optimisation step, over all processes of a data-parallel run (64: a
    whole default rollout, 16 tasks × 4, as TRL's PPOConfig's one minibatch)."""
    whiten_advantages: bool = True
    """Normalise advantages to zero mean and unit variance over the rollout."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self, "cliprange", "cliprange_value", "ppo_epochs", "minibatch_size")
        _non_negative(self, "vf_coef")
        for name in ("gamma", "lam"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1
            ):
                raise ValueError(f"PPOConfig.{name} must be in [0, 1], got {value!r}")


def _itself(value: torch.Tensor) -> torch.Tensor:
    return value


def masked_mean(
    values: torch.Tensor, mask: torch.Tensor, total: Callable[[torch.Tensor], Any] = _itself
) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1. ``total`` sums a count or a sum over the
    processes of a data-parallel run (:meth:`~agents.common.on_policy.OnPolicyAgent.total`):
    then the numerator is this process's and the result its share of the mean over all."""
    return (values * mask).sum() / total(mask.sum()).clamp(min=1)


def masked_whiten(
    values: torch.Tensor,
    mask: torch.Tensor,
    shift_mean: bool = True,
    total: Callable[[torch.Tensor], Any] = _itself,
) -> torch.Tensor:
    """``values`` scaled to unit variance (and zero mean) over the masked entries (of
    every process, with ``total`` as in :func:`masked_mean`)."""
    mean = total(masked_mean(values, mask, total))
    var = total(masked_mean((values - mean) ** 2, mask, total))
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def token_rewards(
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    scores: torch.Tensor,
    kl_coef: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rewards, kl)``: per token ``−β · (log π − log π_ref)``, plus each program's
    score at its last token. Rows are right-aligned, so the last token is the last
    column of every non-empty row."""
    kl = (logprobs - ref_logprobs) * mask
    rewards = -kl_coef * kl
    has_tokens = mask[:, -1] > 0
    rewards[:, -1] = rewards[:, -1] + torch.where(has_tokens, scores, torch.zeros_like(scores))
    return rewards * mask, kl


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over right-aligned rows of tokens.

    ``δ_t = r_t + γ V_{t+1} − V_t`` (``V`` after the last token is 0) and
    ``A_t = δ_t + γ λ A_{t+1}``; returns ``(advantages, returns = A + V)``, zero where
    ``mask`` is 0 (the padding on the left of each row never leaks into its tokens)."""
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[:, 0])
    next_advantage = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        live = mask[:, t]
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantage = delta + gamma * lam * next_advantage
        advantages[:, t] = advantage * live
        next_value = torch.where(live > 0, values[:, t], next_value)
        next_advantage = torch.where(live > 0, advantage, next_advantage)
    returns = (advantages + values) * mask
    return advantages, returns


def policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    cliprange: float,
    total: Callable[[torch.Tensor], Any] = _itself,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate, ``mean(max(−A·ρ, −A·clip(ρ, 1 ± ε)))`` over the masked
    tokens; returns ``(loss, share of tokens clipped)`` (this process's shares, with
    ``total`` as in :func:`masked_mean`)."""
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask, total)
    clip_fraction = masked_mean((clipped > unclipped).float(), mask, total)
    return loss, clip_fraction


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    cliprange_value: float,
    total: Callable[[torch.Tensor], Any] = _itself,
) -> torch.Tensor:
    """``½ · mean(max((V − R)², (V_old + clip(V − V_old, ±ε_v) − R)²))`` (this process's
    share, with ``total`` as in :func:`masked_mean`)."""
    clipped = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    squared = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * masked_mean(squared, mask, total)


def _rows(x: torch.Tensor, rows: list[int], width: int) -> torch.Tensor:
    """Rows of a right-aligned rollout tensor, cut to a minibatch's narrower width."""
    return x[torch.tensor(rows, device=x.device)][:, x.shape[1] - width :]


class PPOAgent(OnPolicyAgent):
    """Token-level PPO with a value head, GAE, clipped losses and an adaptive KL
    penalty (Ziegler et al. 2019, the recipe of TRL's former PPOTrainer).

    >>> agent = PPOAgent("builtin", PPOConfig(model="tiny"))  # doctest: +SKIP
    >>> agent.learn(total_updates=50)                         # doctest: +SKIP
    """

    config_class = PPOConfig
    trains_on_repair = True
    config: PPOConfig

    def _build(self) -> None:
        self.value_head = nn.Linear(self.policy.hidden_size, 1).to(self.policy.device)
        nn.init.zeros_(self.value_head.weight)  # start from V = 0: no bias before data
        nn.init.zeros_(self.value_head.bias)
        self.kl = AdaptiveKL.from_config(self.config)

    def _trained_modules(self) -> dict[str, nn.Module]:
        return {**super()._trained_modules(), "value_head": self.value_head}

    def _parameter_groups(self) -> list[dict[str, Any]]:
        # one group with the trunk: the value head shares its rate and its clipping
        (group,) = super()._parameter_groups()
        return [{**group, "params": [*group["params"], *self.value_head.parameters()]}]

    def _values(self, states: torch.Tensor) -> torch.Tensor:
        return self.value_head(states).squeeze(-1)

    def train(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        policy = self.policy
        total = self.total
        prompts, completions = rollout.prompt_ids, rollout.completion_ids
        n = len(completions)
        # this process's rows of each minibatch (the minibatch is the whole update's)
        minibatch = max(1, cfg.minibatch_size // self.dist.world_size)
        # With one minibatch the first optimisation pass runs at the rollout's weights, so
        # its forward is also the scoring pass (the model is in eval mode: no dropout).
        first_pass = None
        if minibatch >= n:
            first_pass = policy.token_logprobs(prompts, completions, token_hidden=True)
            old_logprobs, mask, states = (x.detach() for x in first_pass)
        else:
            with torch.no_grad():
                old_logprobs, mask, states = policy.token_logprobs(
                    prompts, completions, token_hidden=True
                )
        with torch.no_grad():
            old_values = self._values(states) * mask
            ref_logprobs, _, _ = policy.token_logprobs(prompts, completions, reference=True)
            scores = torch.tensor(rollout.rewards, dtype=torch.float32, device=mask.device)
            rewards, kl = token_rewards(old_logprobs, ref_logprobs, mask, scores, self.kl.coef)
            advantages, returns = gae(rewards, old_values, mask, cfg.gamma, cfg.lam)
            if cfg.whiten_advantages:
                advantages = masked_whiten(advantages, mask, total=total)

        stats: dict[str, list[float]] = {"pg": [], "vf": [], "clip": [], "grad": []}
        for _ in range(cfg.ppo_epochs):
            order = torch.randperm(n).tolist()
            for start in range(0, n, minibatch):
                rows = order[start : start + minibatch]
                if first_pass is not None:
                    logprobs, mb_mask, mb_states = first_pass
                    rows, first_pass = list(range(n)), None
                else:
                    logprobs, mb_mask, mb_states = policy.token_logprobs(
                        [prompts[i] for i in rows],
                        [completions[i] for i in rows],
                        token_hidden=True,
                    )
                # minibatch rows are right-aligned to their own longest program
                width = logprobs.shape[1]
                old_lp, adv, old_v, ret = (
                    _rows(x, rows, width) for x in (old_logprobs, advantages, old_values, returns)
                )
                pg, clip_fraction = policy_loss(
                    logprobs, old_lp, adv, mb_mask, cfg.cliprange, total
                )
                vf = value_loss(
                    self._values(mb_states), old_v, ret, mb_mask, cfg.cliprange_value, total
                )
                stats["grad"].append(self.optimizer_step(pg + cfg.vf_coef * vf))
                stats["pg"].append(float(total(pg.detach())))
                stats["vf"].append(float(total(vf.detach())))
                stats["clip"].append(float(total(clip_fraction)))

        mean_kl = float(self.everywhere(kl.sum(-1)).mean())
        coef = self.kl.update(mean_kl)
        return {
            "train/policy_loss": sum(stats["pg"]) / len(stats["pg"]),
            "train/value_loss": sum(stats["vf"]) / len(stats["vf"]),
            "train/clip_fraction": sum(stats["clip"]) / len(stats["clip"]),
            "train/grad_norm": sum(stats["grad"]) / len(stats["grad"]),
            "train/kl": mean_kl,
            "train/kl_coef": coef,
            "train/value_mean": float(total(masked_mean(old_values, mask, total))),
            "train/return_mean": float(total(masked_mean(returns, mask, total))),
        }

    def _extra_state(self) -> dict[str, Any]:
        return {
            **self.optimizer_state(),
            "value_head": self.module_state(self.value_head),
            "kl_coef": self.kl.coef,
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.load_module_state(self.value_head, state["value_head"])
        self.load_optimizer_state(state)
        self.kl.coef = float(state["kl_coef"])

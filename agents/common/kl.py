"""The adaptive KL coefficient of Ziegler et al. 2019 ("Fine-Tuning Language Models from
Human Preferences"), shared by the agents that penalise KL(π ‖ π_ref)."""

from __future__ import annotations

import numpy as np

__all__ = ["AdaptiveKL"]


class AdaptiveKL:
    """Ziegler et al.'s proportional controller: ζ ← ζ · (1 + 10 · clip((KL − ρ)/ρ, ±0.2) / H),
    so ζ grows while the KL is above the target and shrinks while it is below."""

    def __init__(self, coef: float, target: float, horizon: float, enabled: bool = True) -> None:
        self.coef, self.target, self.horizon, self.enabled = coef, target, horizon, enabled

    @classmethod
    def from_config(cls, config) -> AdaptiveKL:
        """The controller a :class:`~agents.common.config.KLPenaltyConfig` describes."""
        return cls(config.kl_coef, config.kl_target, config.kl_horizon, config.adaptive_kl)

    def update(self, kl: float) -> float:
        """Move ζ after observing the mean KL; returns the new ζ."""
        if self.enabled:
            error = float(np.clip((kl - self.target) / self.target, -0.2, 0.2))
            self.coef *= 1.0 + error * 10.0 / self.horizon
        return self.coef

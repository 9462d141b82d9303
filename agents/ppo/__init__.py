"""Token-level PPO in the RLHF style (Ziegler et al. 2019), as TRL's former PPOTrainer."""

from agents.ppo.agent import PPOAgent, PPOConfig

__all__ = ["PPOAgent", "PPOConfig"]

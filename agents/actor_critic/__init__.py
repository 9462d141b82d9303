"""The actor-critic agent of Gorinski et al., EMNLP 2023 (arXiv 2310.13669)."""

from agents.actor_critic.agent import ActorCriticAgent, ActorCriticConfig, Critic

__all__ = ["ActorCriticAgent", "ActorCriticConfig", "Critic"]

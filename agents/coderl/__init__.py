"""CodeRL (Le et al., NeurIPS 2022): the agent, its outcome critics (``agents.coderl.critic``)
and Critic Sampling (``agents.coderl.critic_sampling``)."""

from agents.coderl.agent import TABLE2_VARIANTS, CodeRLAgent, CodeRLConfig

__all__ = ["TABLE2_VARIANTS", "CodeRLAgent", "CodeRLConfig"]

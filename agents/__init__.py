"""Agents that train language models against CodeSynthesis-v0's unit-test rewards.

>>> from agents import ActorCriticAgent, ActorCriticConfig
>>> agent = ActorCriticAgent("builtin", ActorCriticConfig(model="tiny"))   # doctest: +SKIP
>>> agent.learn(total_updates=50)                                           # doctest: +SKIP
>>> agent.evaluate(tasks, k=(1, 5))                                         # doctest: +SKIP
>>> agent.save("run/checkpoint"); ActorCriticAgent.load("run/checkpoint")   # doctest: +SKIP

One base class (:class:`~agents.base.BaseAgent`) owns the loop; each agent is a
config dataclass plus its update. See docs/agents.md. The names below are imported on
first use, so ``import agents`` (and the command line) stays quick without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ActorCriticAgent": "agents.actor_critic",
    "ActorCriticConfig": "agents.actor_critic",
    "AgentConfig": "agents.config",
    "BaseAgent": "agents.base",
    "BaseCallback": "agents.callbacks",
    "CallbackList": "agents.callbacks",
    "CodeRLAgent": "agents.coderl",
    "CodeRLConfig": "agents.coderl",
    "OutcomeCritic": "agents.critic",
    "PPOAgent": "agents.ppo",
    "PPOConfig": "agents.ppo",
    "Policy": "agents.policy",
    "Rollout": "agents.base",
    "StopOnPassRate": "agents.callbacks",
    "TRLAgent": "agents.trl_agent",
    "TRLConfig": "agents.trl_agent",
}

__all__ = sorted(_EXPORTS)

#: The agents the command line knows, by name.
AGENTS = {
    "actor-critic": ("agents.actor_critic", "ActorCriticAgent"),
    "coderl": ("agents.coderl", "CodeRLAgent"),
    "ppo": ("agents.ppo", "PPOAgent"),
    "grpo": ("agents.trl_agent", "TRLAgent"),
    "rloo": ("agents.trl_agent", "TRLAgent"),
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


def agent_class(name: str):
    """The agent class called ``name`` on the command line (``"actor-critic"``) or in
    Python (``"ActorCriticAgent"``, as checkpoints record it)."""
    for cli_name, (module, attr) in AGENTS.items():
        if name in (cli_name, attr):
            return getattr(importlib.import_module(module), attr)
    raise ValueError(f"unknown agent {name!r}; valid: {', '.join(AGENTS)}")

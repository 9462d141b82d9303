"""Agents that train language models against CodeSynthesis-v0's unit-test rewards.

>>> from agents import ActorCriticAgent, ActorCriticConfig
>>> agent = ActorCriticAgent("builtin", ActorCriticConfig(model="tiny"))   # doctest: +SKIP
>>> agent.learn(total_updates=50)                                           # doctest: +SKIP
>>> agent.evaluate(tasks, k=(1, 5))                                         # doctest: +SKIP
>>> agent.save("run/checkpoint"); ActorCriticAgent.load("run/checkpoint")   # doctest: +SKIP

The package is layered as stable-baselines3 is (docs/architecture.md):

* ``agents.common``: the core. :class:`~agents.common.base.BaseAgent` (config, policy,
  scorer, callbacks, checkpoints, evaluation, bookkeeping) and
  :class:`~agents.common.on_policy.OnPolicyAgent` (the sample-then-update loop, the
  optimiser and its one step, data-parallel through accelerate), the policy, configs,
  buffers, metrics and evaluation;
* one package per algorithm, each implementing only what differs:
  ``agents.actor_critic``, ``agents.ppo``, ``agents.coderl`` (with its critic and Critic
  Sampling), ``agents.trl`` (GRPO and RLOO on TRL's trainers);
* ``agents.registry``: the agents by name, read by the command line;
* ``agents.run``: the project's workflows — the warm-start, ``run_training``, the
  ``code-synthesis`` command line, evaluation on a Ray cluster.

The names below are imported on first use, so ``import agents`` (and the command line)
stays quick without torch. Modules of earlier versions (``agents.base``,
``agents.critic``, ``agents.trl_agent``...) still import, with a DeprecationWarning
that names their new place.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from typing import Any

from agents.registry import AGENTS, AgentSpec, agent_class, agent_spec, register_agent

_EXPORTS = {
    "ActorCriticAgent": "agents.actor_critic.agent",
    "ActorCriticConfig": "agents.actor_critic.agent",
    "AgentConfig": "agents.common.config",
    "BaseAgent": "agents.common.base",
    "BaseCallback": "agents.common.callbacks",
    "CallbackList": "agents.common.callbacks",
    "CodeRLAgent": "agents.coderl.agent",
    "CodeRLConfig": "agents.coderl.agent",
    "KLPenaltyConfig": "agents.common.config",
    "OnPolicyAgent": "agents.common.on_policy",
    "OutcomeCritic": "agents.coderl.critic",
    "PPOAgent": "agents.ppo.agent",
    "PPOConfig": "agents.ppo.agent",
    "Policy": "agents.common.policy",
    "Rollout": "agents.common.base",
    "SamplingConfig": "agents.common.config",
    "StopOnPassRate": "agents.common.callbacks",
    "TRLAgent": "agents.trl.agent",
    "TRLConfig": "agents.trl.agent",
}

__all__ = [
    "AGENTS",
    "AgentSpec",
    "agent_class",
    "agent_spec",
    "register_agent",
    *sorted(_EXPORTS),
]

#: Modules of the flat layout before 0.3, and where they live now.
MOVED_MODULES = {
    "agents.base": "agents.common.base",
    "agents.buffer": "agents.common.buffer",
    "agents.callbacks": "agents.common.callbacks",
    "agents.config": "agents.common.config",
    "agents.data": "agents.common.data",
    "agents.evaluation": "agents.common.evaluation",
    "agents.kl": "agents.common.kl",
    "agents.metrics": "agents.common.metrics",
    "agents.policy": "agents.common.policy",
    "agents.reporting": "agents.common.reporting",
    "agents.tiny": "agents.common.tiny",
    "agents.critic": "agents.coderl.critic",
    "agents.critic_sampling": "agents.coderl.critic_sampling",
    "agents.trl_agent": "agents.trl.agent",
    "agents.train": "agents.run.train",
    "agents.cli": "agents.run.cli",
    "agents.ray_eval": "agents.run.ray_eval",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a module of the old flat layout as its new module, with a warning."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        new = MOVED_MODULES[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module: Any) -> None:
        """The new module ran when it was imported."""


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())

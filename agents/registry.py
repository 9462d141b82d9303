"""The one registry of agents: what the command line, checkpoints and benchmarks read.

Each entry (:class:`AgentSpec`) names an agent (``"actor-critic"``), its class (by
import path, so reading the registry imports no torch), the config defaults its name
implies (``"rloo"`` is ``TRLAgent`` with ``algorithm="rloo"``), and an optional
preparation hook that a training run calls before it builds the agent (CodeRL trains
its critics there). A third-party agent joins with :func:`register_agent`:

>>> register_agent("my-agent", "my_package.agent:MyAgent", summary="...")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.common.base import BaseAgent
    from code_env.sandbox import BaseSandbox
    from code_env.tasks import TaskList


@dataclass
class RunSetup:
    """What a training run (:func:`agents.run.train.run_training`) knows before it
    builds the agent: what a preparation hook reads."""

    model: str
    """The model the agent starts from (a path after the tiny warm-start)."""
    rl_tasks: TaskList
    """The tasks learned from rewards, as the agent gets them (no solutions on B)."""
    reference_tasks: TaskList
    """The tasks whose solutions warm-start the model and seed replay buffers."""
    held_out: TaskList | None
    """The tasks evaluated only (None: none)."""
    rewards_only: bool
    """Whether ``rl_tasks`` are learned from rewards alone (their solutions unseen)."""
    out: Path
    """The run folder."""
    overrides: dict[str, Any]
    """The config fields given so far (defaults of the agent's name, ``--set``)."""
    seed: int
    """The run's seed."""
    resume: bool
    """Whether the run resumes from its checkpoint."""
    sandbox: BaseSandbox | None
    """The sandbox the run grades in (None: the shared local one)."""
    progress: bool = True
    """Whether to show progress bars."""
    log: Callable[[str], Any] = print
    """Where to say what happens."""


@dataclass(frozen=True)
class AgentSpec:
    """One registered agent."""

    name: str
    """The name the command line knows it by (``--agent actor-critic``)."""
    target: str
    """Its class, as ``"module:ClassName"``."""
    summary: str
    """One line for ``--help``."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Config fields this name sets (before ``--set``)."""
    prepare: str | None = None
    """``"module:function"``: called with a :class:`RunSetup` before a training run
    builds the agent; returns config fields to add (None: nothing to prepare)."""

    @property
    def class_name(self) -> str:
        """The class's name, as checkpoints record it."""
        return self.target.split(":", 1)[1]

    def load(self) -> type[BaseAgent]:
        """The agent class (imported now)."""
        return _resolve(self.target)

    def prepare_run(self, setup: RunSetup) -> dict[str, Any]:
        """Run the preparation hook on ``setup``; the config fields it adds."""
        if self.prepare is None:
            return {}
        return dict(_resolve(self.prepare)(setup) or {})


AGENTS: dict[str, AgentSpec] = {}
"""The registered agents by command-line name, in the order registered."""


def register_agent(
    name: str,
    target: str,
    *,
    summary: str = "",
    defaults: Mapping[str, Any] | None = None,
    prepare: str | None = None,
) -> AgentSpec:
    """Register an agent under ``name`` (see :class:`AgentSpec` for the arguments);
    returns its spec. A name registered twice is an error."""
    if name in AGENTS:
        raise ValueError(f"an agent named {name!r} is registered already ({AGENTS[name].target})")
    for what, path in (("target", target), ("prepare", prepare)):
        if path is not None and (":" not in path or path.count(":") != 1):
            raise ValueError(f"{what} must be 'module:name', got {path!r}")
    spec = AgentSpec(name, target, summary, dict(defaults or {}), prepare)
    AGENTS[name] = spec
    return spec


def agent_spec(name: str) -> AgentSpec:
    """The spec of the agent called ``name`` on the command line (``"actor-critic"``)
    or in Python (``"ActorCriticAgent"``, as checkpoints record it; the first name
    registered for that class)."""
    if name in AGENTS:
        return AGENTS[name]
    for spec in AGENTS.values():
        if spec.class_name == name:
            return spec
    raise ValueError(f"unknown agent {name!r}; valid: {', '.join(AGENTS)}")


def agent_class(name: str) -> type[BaseAgent]:
    """The class of :func:`agent_spec`'s agent."""
    return agent_spec(name).load()


def _resolve(path: str) -> Any:
    module, attr = path.split(":", 1)
    return getattr(importlib.import_module(module), attr)


register_agent(
    "actor-critic",
    "agents.actor_critic.agent:ActorCriticAgent",
    summary="policy gradient, MLP critic baseline, adaptive KL, replay buffer (2310.13669)",
)
register_agent(
    "coderl",
    "agents.coderl.agent:CodeRLAgent",
    summary="CodeRL: outcome-critic token weights, greedy baseline, L_ce (Le et al. 2022)",
    prepare="agents.coderl.agent:prepare_run",
)
register_agent(
    "ppo",
    "agents.ppo.agent:PPOAgent",
    summary="token-level PPO with a value head, GAE and adaptive KL (Ziegler et al. 2019)",
)
register_agent(
    "grpo",
    "agents.trl.agent:TRLAgent",
    summary="GRPO through TRL's GRPOTrainer",
    defaults={"algorithm": "grpo"},
)
register_agent(
    "rloo",
    "agents.trl.agent:TRLAgent",
    summary="RLOO through TRL's RLOOTrainer",
    defaults={"algorithm": "rloo"},
)

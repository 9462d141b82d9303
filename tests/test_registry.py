"""The agents' registry, the configs the layers share, and the names of the flat layout
before the layers (still importable, with a warning)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

import agents
from agents import AGENTS, agent_class, agent_spec, register_agent
from agents.actor_critic import ActorCriticAgent, ActorCriticConfig
from agents.common.base import BaseAgent
from agents.common.config import KLPenaltyConfig, SamplingConfig
from agents.common.on_policy import OnPolicyAgent
from agents.ppo import PPOAgent, PPOConfig
from agents.registry import RunSetup


def test_registry_names_every_agent_and_what_its_name_sets():
    assert list(AGENTS) == ["actor-critic", "coderl", "ppo", "grpo", "rloo"]
    assert agent_class("actor-critic") is ActorCriticAgent
    assert agent_spec("PPOAgent").name == "ppo"  # checkpoints record the class name
    assert agent_spec("rloo").defaults == {"algorithm": "rloo"}
    assert agent_spec("coderl").prepare == "agents.coderl.agent:prepare_run"
    assert all(spec.summary for spec in AGENTS.values())
    with pytest.raises(ValueError, match="unknown agent 'sac'; valid: actor-critic"):
        agent_spec("sac")


def test_register_agent_refuses_a_taken_name_and_a_bad_target():
    with pytest.raises(ValueError, match="registered already"):
        register_agent("ppo", "agents.ppo.agent:PPOAgent")
    with pytest.raises(ValueError, match="module:name"):
        register_agent("mine", "agents.ppo.agent.PPOAgent")
    spec = register_agent("ppo-copy", "agents.ppo.agent:PPOAgent", summary="a test")
    try:
        assert spec.load() is PPOAgent and spec.prepare_run(None) == {}  # type: ignore[arg-type]
    finally:
        del AGENTS["ppo-copy"]


def test_coderl_preparation_is_skipped_when_resuming_or_given_a_critic(tmp_path):
    setup = RunSetup(
        model="tiny",
        rl_tasks=[],  # type: ignore[arg-type]
        reference_tasks=[],  # type: ignore[arg-type]
        held_out=None,
        rewards_only=True,
        out=tmp_path,
        overrides={},
        seed=0,
        resume=True,
        sandbox=None,
    )
    assert agent_spec("coderl").prepare_run(setup) == {}
    setup.resume, setup.overrides = False, {"critic": str(tmp_path)}
    assert agent_spec("coderl").prepare_run(setup) == {}


def test_layers_each_algorithm_sits_on():
    for name in ("actor-critic", "coderl", "ppo"):
        cls = agent_class(name)
        assert issubclass(cls, OnPolicyAgent) and "train" in vars(cls)
        assert "learn" not in vars(cls) and "optimizer_step" not in vars(cls)
    trl = pytest.importorskip("agents.trl.agent")
    assert trl.TRLAgent.__bases__ == (BaseAgent,) and "update" not in vars(trl.TRLAgent)


def test_sampling_is_one_config_that_agent_configs_hand_out():
    config = ActorCriticConfig(temperature=0.7, generation_batch_size=8, max_prompt_tokens=64)
    assert config.sampling == SamplingConfig(
        max_new_tokens=128, temperature=0.7, top_p=0.95, batch_size=8, max_prompt_tokens=64
    )
    assert config.sampling.replace(temperature=1.5).temperature == 1.5
    with pytest.raises(ValueError, match=r"SamplingConfig.top_p must be in \(0, 1\], got 2"):
        SamplingConfig(top_p=2)
    with pytest.raises(ValueError, match=r"PPOConfig\.generation_batch_size must be positive"):
        PPOConfig(generation_batch_size=0)


def test_kl_fields_are_defined_once_for_both_agents_that_use_them():
    assert issubclass(ActorCriticConfig, KLPenaltyConfig) and issubclass(PPOConfig, KLPenaltyConfig)
    assert ActorCriticConfig().kl_coef == 0.01 and PPOConfig().kl_coef == 0.05
    with pytest.raises(ValueError, match=r"PPOConfig\.kl_target must be positive"):
        PPOConfig(kl_target=0)


@pytest.mark.parametrize("old", sorted(agents.MOVED_MODULES))
def test_modules_of_the_flat_layout_still_import_with_a_warning(old):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(agents.MOVED_MODULES[old])
    assert any(
        issubclass(w.category, DeprecationWarning) and agents.MOVED_MODULES[old] in str(w.message)
        for w in caught
    )
    sys.modules.pop(old, None)


def test_importing_agents_and_reading_the_registry_import_no_torch():
    code = "import sys, agents; agents.agent_spec('ppo'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

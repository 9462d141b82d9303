"""TRLAgent: GRPO and RLOO through TRL's trainers, on the agents core.

Tiny one-layer model, 8-token programs, 3 built-in tasks, one sandbox for the module;
every run is one or two TRL steps on the CPU.
"""

from __future__ import annotations

import json
import math
import socket

import pytest
import torch

pytest.importorskip("trl", reason="TRLAgent needs trl: pip install 'code-synthesis-rl[trl]'")

from conftest import TINY

from agents.common.callbacks import BaseCallback
from agents.trl.agent import TRLAgent, TRLConfig
from code_env import load_tasks, rewards
from code_env.sandbox import Outcome

SMALL = {
    "tiny": TINY,
    "max_new_tokens": 8,
    "tasks_per_update": 2,
    "samples_per_task": 2,
    "device": "cpu",
}


def _graded_length(result, task, program: str) -> float:
    """CodeRL's partial reward plus a little per character: random programs all fail
    to compile, and a reward that still differs between them gives GRPO an advantage,
    so the weights must move."""
    return rewards.coderl_partial(result, task, program) + 0.01 * len(program)


rewards.register("trl_test_reward", _graded_length, overwrite=True)


@pytest.fixture(scope="module")
def tasks():
    return list(load_tasks("builtin", split="train"))[:3]


def _agent(tasks, sandbox, **overrides) -> TRLAgent:
    return TRLAgent(tasks, TRLConfig(**{**SMALL, **overrides}), sandbox=sandbox)


def _weights(agent: TRLAgent) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in agent.policy.model.state_dict().items()}


def test_grpo_two_updates_log_checkpoint_and_resume(tasks, sandbox, tmp_path):
    agent = TRLAgent(
        tasks, TRLConfig(**SMALL, reward="trl_test_reward"), sandbox=sandbox, run_dir=tmp_path
    )
    before = _weights(agent)
    agent.learn(2, progress=False)

    assert agent.n_updates == 2
    after = _weights(agent)
    assert any(not torch.equal(before[k], after[k]) for k in before), "no weight moved"
    assert not agent.policy.model.training  # back in the core's sampling mode
    assert [h["update"] for h in agent.history] == [1, 2]
    last = agent.history[-1]
    for key in (
        "train/loss",
        "train/grad_norm",
        "train/lr",
        "rollout/reward_mean",
        "rollout/pass_rate",
        "rollout/tokens_mean",
        "rollout/outcome/compile_error",
        "time/step_s",
        "trl/rewards/code_env_trl_test_reward/mean",
    ):
        assert key in last, key
    assert not [k for k in last if k != "update" and "/" not in k], "un-namespaced keys"
    # 2 prompts x 2 generations per update; tokens counted from TRL's completion ids
    assert agent.last_rollout is not None and len(agent.last_rollout.completions) == 4
    assert agent.tokens_generated == sum(h["rollout/tokens"] for h in agent.history) > 0
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in records] == [1, 2]

    # the checkpoint holds the trained weights and the optimizer; resuming goes on from 2
    restored = TRLAgent.load(tmp_path / "checkpoint", tasks, sandbox=sandbox)
    assert restored.n_updates == 2 and restored.config.algorithm == "grpo"
    for key, value in _weights(restored).items():
        assert torch.equal(value, after[key]), key
    assert restored.optimizer.state_dict()["state"], "optimizer state not restored"
    restored.learn(3, progress=False)
    assert restored.n_updates == 3
    report = restored.evaluate(tasks, k=(1,), n=1)
    assert 0.0 <= report.greedy_pass_at_1 <= 1.0


def test_trl_rewards_equal_env_scores(tasks, sandbox):
    import gymnasium as gym

    import code_env  # noqa: F401  (registers CodeSynthesis-v0)

    agent = _agent(tasks, sandbox, reward="trl_test_reward")
    seen: list[tuple[str, str, float]] = []
    inner = agent.reward_func

    def spy(prompts, completions, task_id, **kwargs):
        values = inner(prompts=prompts, completions=completions, task_id=task_id, **kwargs)
        seen.extend(zip(completions, task_id, values, strict=True))
        return values

    spy.__name__ = inner.__name__
    agent.reward_func = spy
    agent.learn(1, progress=False)

    assert len(seen) == 4
    env = gym.make("CodeSynthesis-v0", tasks=tasks, reward="trl_test_reward", sandbox=sandbox)
    for completion, task_id, value in seen:
        expected, _ = env.unwrapped.score(completion, task_id=task_id)
        assert value == pytest.approx(expected), (completion, task_id)
    # ...and they are the rewards TRL trained on
    logged = agent.history[-1]["trl/rewards/code_env_trl_test_reward/mean"]
    assert logged == pytest.approx(sum(v for _, _, v in seen) / len(seen), abs=1e-5)


class _StopAfter(BaseCallback):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.calls, self.ended = n, 0, False

    def _on_step(self) -> bool:
        self.calls += 1
        assert "rollout/pass_rate" in self.metrics
        return self.n_updates < self.n

    def _on_training_end(self) -> None:
        self.ended = True


def test_rloo_runs_and_a_callback_stops_it(tasks, sandbox):
    agent = _agent(tasks, sandbox, algorithm="rloo")
    stop = _StopAfter(1)
    agent.learn(3, callback=stop, progress=False)
    assert agent.n_updates == 1 and stop.calls == 1 and stop.ended
    assert type(agent.trainer).__name__ == "RLOOTrainer"
    assert "train/loss" in agent.history[-1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"algorithm": "ppo"}, "TRLConfig.algorithm"),
        ({"beta": -0.1}, "TRLConfig.beta"),
        ({"num_generations": 1}, "TRLConfig.num_generations must be >= 2"),
        ({"samples_per_task": 1}, "TRLConfig.samples_per_task must be >= 2"),
        ({"per_device_train_batch_size": 3}, "per_device_train_batch_size=3"),
        ({"gradient_accumulation_steps": 0}, "TRLConfig.gradient_accumulation_steps"),
        ({"logging_steps": 0}, "TRLConfig.logging_steps"),
        ({"vllm_mode": "remote"}, "TRLConfig.vllm_mode"),
        ({"trl_args": {"learning_rate": 1.0}}, "through lr"),
        ({"trl_args": {"max_steps": 5}}, "learn(total_updates)"),
    ],
)
def test_config_validation(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TRLConfig(**overrides)


def test_agent_refusals_and_registry(tasks, sandbox):
    from agents.common.base import BaseAgent
    from agents.common.on_policy import OnPolicyAgent
    from agents.registry import AGENTS, agent_class, agent_spec

    assert agent_class("rloo") is TRLAgent and agent_class("TRLAgent") is TRLAgent
    assert {"grpo", "rloo"} <= set(AGENTS)
    assert agent_spec("rloo").defaults == {"algorithm": "rloo"}
    assert agent_spec("grpo").defaults == {"algorithm": "grpo"}
    # directly on the base: no stubbed update, no command-line attributes
    assert TRLAgent.__bases__ == (BaseAgent,) and not issubclass(TRLAgent, OnPolicyAgent)
    assert not any(hasattr(TRLAgent, name) for name in ("update", "cli_name", "cli_defaults"))
    # an update a TRL config refuses, named at learn()
    agent = _agent(tasks, sandbox, trl_args={"no_such_field": 1})
    with pytest.raises(ValueError, match="no_such_field"):
        agent.learn(1, progress=False)
    with pytest.raises(ValueError, match="use_vllm"):
        _agent(tasks, sandbox, use_vllm=True)
    with pytest.raises(ValueError, match="encoder-decoder"):
        _agent(tasks, sandbox, tiny={**TINY, "arch": "t5"})
    # tasks_per_update above the task count: every task, once per update
    assert _agent(tasks, sandbox, tasks_per_update=16).prompts_per_update == len(tasks)
    # data-parallel: micro-batch x accumulation x processes = prompts x generations
    config = TRLConfig(tasks_per_update=2, samples_per_task=4)
    assert config.batch_plan(3) == (2, 8, 1) and config.batch_plan(3, processes=2) == (2, 4, 1)
    accumulating = TRLConfig(tasks_per_update=2, samples_per_task=4, gradient_accumulation_steps=2)
    assert accumulating.batch_plan(3, processes=2) == (2, 2, 2)
    with pytest.raises(ValueError, match="gradient_accumulation_steps=None x 3 processes"):
        config.batch_plan(3, processes=3)


def test_nul_bytes_in_completions_are_graded(tasks, sandbox):
    agent = _agent(tasks, sandbox)
    task = tasks[0]
    completions = ["\x00", "    return 0\x00\n", task.solutions[0]]
    values = agent.reward_func(
        prompts=[task.prompt] * 3,
        completions=completions,
        task_id=[task.task_id] * 3,
        completion_ids=[[1], [2, 3], [4]],
    )
    assert len(values) == 3 and all(isinstance(v, float) and math.isfinite(v) for v in values)
    (batch,) = agent.grader.take()
    assert [r.outcome for r in batch.results[:2]] == [Outcome.COMPILE_ERROR] * 2
    assert batch.results[2].outcome is Outcome.PASSED and values[2] == 1.0


def test_kl_penalty_offline_with_in_memory_model(tasks, sandbox, monkeypatch):
    """beta > 0 makes TRL load a reference "by name"; the agent gives it a local
    folder, so nothing reaches for the network (any connection attempt fails here)."""

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    agent = _agent(tasks, sandbox, beta=0.1, reward="trl_test_reward")
    name_before = agent.policy.model.config._name_or_path
    reference = {k: v.clone() for k, v in agent.policy.reference_model.state_dict().items()}
    agent.learn(1, progress=False)

    assert agent.n_updates == 1
    assert "train/kl" in agent.history[-1]
    assert agent.trainer.ref_model is not None
    assert agent.policy.model.config._name_or_path == name_before
    # TRL's reference is the policy's initial weights (and the policy now holds that one)
    for key, value in agent.trainer.ref_model.state_dict().items():
        assert torch.equal(value, reference[key]), key
    assert agent.policy.reference_model is agent.trainer.ref_model


def test_dataset_is_prompt_and_task_id_cut_to_max_prompt_tokens(tasks, sandbox):
    agent = _agent(tasks, sandbox, max_prompt_tokens=5)
    dataset = agent.build_dataset()
    assert dataset.column_names == ["prompt", "task_id"]
    assert dataset["task_id"] == [t.task_id for t in tasks]
    for text, task in zip(dataset["prompt"], tasks, strict=True):
        assert task.prompt.endswith(text)  # the end, where the signature is, is kept
        assert len(agent.policy.encode_prompts([text])[0]) <= 5


def test_grpo_trains_data_parallel_in_two_processes(tmp_path, monkeypatch):
    """``code-synthesis train --agent grpo --processes 2``: TRL's trainer runs
    data-parallel (gloo on the CPU), each process generating and grading half of every
    update's 2 prompts x 2 generations; the update's metrics cover both halves."""
    from agents.run.cli import main as cli_main

    monkeypatch.setenv("CODE_SYNTHESIS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    settings = [
        *("--set", "max_new_tokens=8"),
        *("--set", "tasks_per_update=2"),
        *("--set", "samples_per_task=2"),
        *("--set", "device=cpu"),
        *("--set", f"tiny={json.dumps(TINY)}"),
    ]
    argv = ["train", "--agent", "grpo", "--processes", "2", "--updates", "2"]
    common = ["--warm-start-steps", "3", "--eval-samples", "1", "--out", str(out), "--quiet"]
    assert cli_main([*argv, *common, *settings]) == 0

    report = json.loads((out / "report.json").read_text())
    assert report["processes"] == 2 and report["updates"] == 2
    assert report["agent"] == "TRLAgent" and report["config"]["algorithm"] == "grpo"
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in records] == [1, 2]
    for record in records:
        assert "train/loss" in record and "rollout/pass_rate" in record
        # all 4 completions of the update, though each process generated 2
        assert record["rollout/tokens"] == pytest.approx(4 * record["rollout/tokens_mean"])
    assert report["tokens_generated"] == sum(r["rollout/tokens"] for r in records) > 0
    assert (out / "checkpoint" / "config.json").is_file()

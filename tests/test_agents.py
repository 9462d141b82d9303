"""The agents core and the actor-critic agent, end to end on tiny models (CPU)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from conftest import TINY

from agents import ActorCriticAgent, ActorCriticConfig, BaseCallback, Policy, StopOnPassRate
from agents.actor_critic.agent import AdaptiveKL
from agents.common.buffer import ReplayBuffer, normalized_ast
from agents.common.data import split_ab, without_solutions
from code_env import load_tasks


@pytest.fixture(scope="module")
def tasks():
    return load_tasks("builtin", split="train")[:6]


def small_config(**overrides) -> ActorCriticConfig:
    settings = dict(
        model="tiny",
        tiny=TINY,
        max_new_tokens=12,
        tasks_per_update=2,
        samples_per_task=2,
        replay_batch=2,
        generation_batch_size=8,
    )
    settings.update(overrides)
    return ActorCriticConfig(**settings)


def weights(agent) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in agent.policy.model.state_dict().items()}


# --- configs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("lr", 0, "lr must be positive"),
        ("top_p", 1.5, r"top_p must be in \(0, 1\]"),
        ("temperature", -1.0, "temperature must be positive"),
        ("samples_per_task", 0, "samples_per_task must be positive"),
        ("kl_target", 0.0, "kl_target must be positive"),
        ("replay_batch", -1, "replay_batch must be >= 0"),
        ("reward", "nope", "unknown reward 'nope'"),
    ],
)
def test_config_validation_names_the_field(field, value, words):
    with pytest.raises(ValueError, match=words):
        ActorCriticConfig(**{field: value})


def test_config_round_trip_and_unknown_fields():
    config = small_config(kl_coef=0.1)
    assert ActorCriticConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown ActorCriticConfig field"):
        ActorCriticConfig.from_dict({"nope": 1})


# --- the policy ---------------------------------------------------------------------


def test_policy_batches_left_padded_and_scores_what_it_samples():
    policy = Policy("tiny", tiny_config={**TINY, "seed": 1})
    prompts = ["def f(x):\n    return", 'def sum_even(nums: list[int]) -> int:\n    """Sum."""\n']
    batch = policy.generate(prompts, greedy=True, max_new_tokens=6)
    single = [policy.generate([p], greedy=True, max_new_tokens=6)[0][0] for p in prompts]
    assert [g[0].token_ids for g in batch] == [s.token_ids for s in single]
    prompt_ids = policy.encode_prompts(prompts)
    completions = [g[0].token_ids for g in batch]
    logprobs, mask, hidden = policy.token_logprobs(prompt_ids, completions, with_hidden=True)
    for i, (p, c) in enumerate(zip(prompt_ids, completions, strict=True)):
        with torch.no_grad():
            full = policy.model(torch.tensor([p + c])).logits[0, :-1].log_softmax(-1)
        expected = full[len(p) - 1 :].gather(-1, torch.tensor(c).unsqueeze(-1)).sum()
        assert torch.allclose((logprobs[i] * mask[i]).sum(), expected, atol=1e-4)
    assert hidden.shape == (2, policy.hidden_size)
    ref, _, _ = policy.token_logprobs(prompt_ids, completions, reference=True)
    assert torch.allclose(ref * mask, logprobs.detach() * mask)  # KL 0 before training


def test_tiny_llama_samples_and_scores():
    policy = Policy("tiny", tiny_config={**TINY, "arch": "llama", "seed": 0})
    samples = policy.generate(["def f(x):\n"], n=3, max_new_tokens=5, temperature=1.0)
    assert len(samples[0]) == 3
    lp, mask, _ = policy.token_logprobs(
        policy.encode_prompts(["def f(x):\n"]), [samples[0][0].token_ids]
    )
    assert lp.shape == mask.shape and torch.isfinite(lp).all()


def test_unknown_tiny_setting_is_an_error():
    with pytest.raises(ValueError, match="unknown tiny-model settings"):
        Policy("tiny", tiny_config={"layers": 3})


# --- pieces -------------------------------------------------------------------------


def test_replay_buffer_dedups_by_normalised_ast():
    buffer = ReplayBuffer(capacity_per_task=2)
    assert buffer.add("t", "a", "def f(x):\n    return x + 1\n")
    assert not buffer.add("t", "b", "def g(y):  # same tree\n    return y + 1\n")
    assert buffer.add("t", "c", "def f(x):\n    return 1 + x\n")
    assert buffer.add("t", "d", "def f(x):\n    return x * 9\n")  # full: the oldest goes
    assert [e.completion for e in buffer.entries()] == ["c", "d"]
    assert buffer.add("u", "r", "def f(x):\n    return x\n", source="reference")
    assert normalized_ast("def (") is None
    again = ReplayBuffer.from_state_dict(json.loads(json.dumps(buffer.state_dict())))
    assert [e.completion for e in again.entries()] == ["c", "d", "r"]
    assert not again.add("t", "e", "def h(z):\n    return z + 1\n")  # seen before


def test_adaptive_kl_moves_towards_the_target():
    controller = AdaptiveKL(coef=0.1, target=4.0, horizon=10.0)
    assert controller.update(kl=10.0) > 0.1  # KL above target: penalise more
    high = controller.coef
    assert controller.update(kl=1.0) < high  # KL below: penalise less
    fixed = AdaptiveKL(coef=0.1, target=4.0, horizon=10.0, enabled=False)
    assert fixed.update(kl=10.0) == 0.1


def test_split_ab_is_deterministic_and_keeps_families_in_both():
    train = load_tasks("builtin", split="train")
    a, b = split_ab(train)
    _, b2 = split_ab(list(reversed(train)))
    assert [t.task_id for t in b] == [t.task_id for t in b2]
    assert len(a) + len(b) == len(train) and not {t.task_id for t in a} & {t.task_id for t in b}
    fam_a = {t.metadata["family"] for t in a}
    assert {t.metadata["family"] for t in b} <= fam_a
    assert all(not t.solutions for t in without_solutions(b))


# --- the agent ------------------------------------------------------------------------


def test_agent_runs_end_to_end_and_logs(tmp_path, tasks, sandbox):
    agent = ActorCriticAgent(
        without_solutions(tasks), small_config(), sandbox=sandbox, run_dir=tmp_path
    )
    assert agent.add_references(load_tasks("builtin", split="train")[6:10]) == 4
    before = weights(agent)
    agent.learn(3, progress=False)
    assert agent.n_updates == 3
    assert any(not torch.equal(before[k], v) for k, v in weights(agent).items())
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    assert len(lines) == 3 and record["update"] == 3
    for key in (
        "rollout/pass_rate",
        "rollout/reward_mean",
        "train/kl",
        "train/kl_coef",
        "train/policy_loss",
        "train/value_loss",
        "train/replay_loss",
        "sandbox/cache_hit_rate",
        "rollout/outcome/compile_error",
    ):
        assert key in record, key
    assert (tmp_path / "checkpoint" / "config.json").is_file()
    report = agent.evaluate(tasks[:3], k=(1, 2), n=2)
    assert report.n_tasks == 3 and set(report.pass_at_k) == {1, 2}


def test_tiny_llama_trains_and_resumes_with_references_from_other_tasks(tmp_path, tasks, sandbox):
    """Another architecture family; a resumed agent still replays references of tasks it
    does not train on (their prompts travel with the checkpoint)."""
    config = small_config(
        tiny={**TINY, "arch": "llama"}, replay_batch=8, replay_sampled_fraction=0.0
    )
    agent = ActorCriticAgent(without_solutions(tasks), config, sandbox=sandbox, run_dir=tmp_path)
    assert type(agent.policy.model).__name__ == "LlamaForCausalLM"
    others = load_tasks("builtin", split="train")[6:10]
    assert agent.add_references(others) == 4
    before = weights(agent)
    agent.learn(2, progress=False)
    assert any(not torch.equal(before[k], v) for k, v in weights(agent).items())
    resumed = ActorCriticAgent.load(
        tmp_path / "checkpoint", without_solutions(tasks), sandbox=sandbox
    )
    assert type(resumed.policy.model).__name__ == "LlamaForCausalLM"
    assert {o.task_id for o in others} <= set(resumed.buffer.tasks())
    resumed.learn(4, progress=False)  # replays the other tasks' references
    assert resumed.n_updates == 4 and resumed.history[-1]["train/replay_loss"] > 0


def test_save_kill_resume_gives_the_same_state(tmp_path, tasks, sandbox):
    config = small_config(seed=3)
    first = ActorCriticAgent(
        without_solutions(tasks), config, sandbox=sandbox, run_dir=tmp_path / "run"
    )
    first.learn(2, progress=False)
    shutil.copytree(tmp_path / "run" / "checkpoint", tmp_path / "at2")
    first.learn(4, progress=False)  # the run that was "killed" goes on to update 4
    resumed = ActorCriticAgent.load(
        tmp_path / "at2", without_solutions(tasks), sandbox=sandbox, run_dir=tmp_path / "resumed"
    )
    assert resumed.n_updates == 2 and resumed.config == config
    resumed.learn(4, progress=False)
    for key, value in weights(first).items():
        assert torch.equal(value, weights(resumed)[key]), key
    assert first.kl.coef == resumed.kl.coef
    assert first.buffer.state_dict() == resumed.buffer.state_dict()
    assert first.history[-1]["rollout/reward_mean"] == resumed.history[-1]["rollout/reward_mean"]


def test_callbacks_can_stop_training(tasks, sandbox):
    class StopAfterTwo(BaseCallback):
        def _on_step(self) -> bool:
            return self.n_updates < 2

    agent = ActorCriticAgent(without_solutions(tasks), small_config(), sandbox=sandbox)
    agent.learn(10, callback=[StopAfterTwo(), StopOnPassRate(1.1)], progress=False)
    assert agent.n_updates == 2


def test_agent_accepts_an_env(sandbox):
    import gymnasium as gym

    env = gym.make(
        "CodeSynthesis-v0",
        tasks=load_tasks("builtin", split="test")[:3],
        sandbox=sandbox,
        max_new_tokens=12,
    )
    agent = ActorCriticAgent(env, small_config())
    assert agent.scorer.sandbox is sandbox and len(agent.tasks) == 3
    agent.learn(1, progress=False)


def test_lora_reference_is_the_base_with_adapters_off(tasks, sandbox):
    pytest.importorskip("peft", reason="LoRA needs the optional peft package")
    config = small_config(lora={"r": 4, "lora_alpha": 8, "target_modules": ["c_attn"]})
    agent = ActorCriticAgent(without_solutions(tasks), config, sandbox=sandbox)
    assert agent.policy.reference_model is None  # no second copy in memory
    trainable = sum(p.numel() for p in agent.policy.trainable_parameters())
    total = sum(p.numel() for p in agent.policy.model.parameters())
    assert trainable < total / 10
    agent.learn(2, progress=False)
    assert agent.history[-1]["train/kl"] != 0.0 or agent.history[0]["train/kl"] == 0.0

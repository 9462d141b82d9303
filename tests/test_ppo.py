"""Token-level PPO: GAE, the KL controller, clipped losses, and the agent end to end."""

from __future__ import annotations

import shutil

import pytest
import torch
from conftest import TINY

from agents.common.data import without_solutions
from agents.common.kl import AdaptiveKL
from agents.ppo.agent import (
    PPOAgent,
    PPOConfig,
    gae,
    masked_whiten,
    policy_loss,
    token_rewards,
    value_loss,
)
from code_env import load_tasks


@pytest.fixture(scope="module")
def tasks():
    return without_solutions(load_tasks("builtin", split="train")[:6])


def small_config(**overrides) -> PPOConfig:
    settings = dict(
        model="tiny",
        tiny=TINY,
        max_new_tokens=10,
        tasks_per_update=2,
        samples_per_task=2,
        generation_batch_size=8,
        ppo_epochs=2,
        minibatch_size=2,
    )
    settings.update(overrides)
    return PPOConfig(**settings)


def test_gae_matches_a_hand_computation():
    """Two right-aligned rows, γ = 0.9, λ = 0.5; the second has one padding column
    (a value of 9 there must not leak into its tokens)."""
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.2, -1.0]])
    values = torch.tensor([[0.5, 0.6, 0.7], [9.0, 0.1, 0.2]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    advantages, returns = gae(rewards, values, mask, gamma=0.9, lam=0.5)
    # row 1: δ = (0.04, 0.03, 0.3); A2 = 0.3, A1 = 0.03 + 0.45·0.3, A0 = 0.04 + 0.45·A1
    # row 2: δ2 = −1.2, δ1 = 0.2 + 0.9·0.2 − 0.1 = 0.28, A1 = 0.28 + 0.45·(−1.2)
    expected = torch.tensor([[0.11425, 0.165, 0.3], [0.0, -0.26, -1.2]])
    torch.testing.assert_close(advantages, expected)
    torch.testing.assert_close(returns, torch.tensor([[0.61425, 0.765, 1.0], [0.0, -0.16, -1.0]]))


def test_token_rewards_put_the_score_on_the_last_token_and_the_kl_everywhere():
    logprobs = torch.tensor([[-1.0, -2.0], [0.0, -0.5]])
    ref = torch.tensor([[-1.5, -1.0], [0.0, -1.0]])
    mask = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    rewards, kl = token_rewards(logprobs, ref, mask, torch.tensor([1.0, -0.3]), kl_coef=0.1)
    torch.testing.assert_close(kl, torch.tensor([[0.5, -1.0], [0.0, 0.5]]))
    torch.testing.assert_close(rewards, torch.tensor([[-0.05, 1.1], [0.0, -0.35]]))


def test_kl_controller_moves_towards_the_target():
    above = AdaptiveKL(0.1, target=6.0, horizon=10.0)
    assert above.update(12.0) > 0.1  # too far from the reference: penalise more
    below = AdaptiveKL(0.1, target=6.0, horizon=10.0)
    assert below.update(1.0) < 0.1
    # the step is clipped: any KL beyond 1.2 × target moves it by the same 20%
    assert AdaptiveKL(0.1, 6.0, 10.0).update(100.0) == pytest.approx(0.1 * 1.2)
    assert AdaptiveKL(0.1, 6.0, 10.0, enabled=False).update(100.0) == 0.1


def test_clipped_policy_loss_on_a_hand_built_batch():
    """Ratios 1.5 (A = +1), 0.5 (A = −1), 1.0 (A = +2), ε = 0.2: the first two are
    clipped (−1.2 and +0.8), the third is −2; the masked fourth token does not count."""
    old = torch.zeros(1, 4)
    new = torch.log(torch.tensor([[1.5, 0.5, 1.0, 7.0]]))
    advantages = torch.tensor([[1.0, -1.0, 2.0, 5.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    loss, clipped = policy_loss(new, old, advantages, mask, cliprange=0.2)
    assert float(loss) == pytest.approx((-1.2 + 0.8 - 2.0) / 3)
    assert float(clipped) == pytest.approx(2 / 3)


def test_clipped_value_loss_on_a_hand_built_batch():
    values = torch.tensor([[1.0, 0.0]])
    old = torch.tensor([[0.5, 0.5]])
    returns = torch.tensor([[1.0, 1.0]])
    mask = torch.ones(1, 2)
    # clipped values 0.7 and 0.3: squared errors max(0, 0.09) and max(1, 0.49)
    assert float(value_loss(values, old, returns, mask, 0.2)) == pytest.approx(0.5 * (0.09 + 1) / 2)


def test_whitening_ignores_padding():
    values = torch.tensor([[100.0, 1.0, 3.0]])
    mask = torch.tensor([[0.0, 1.0, 1.0]])
    torch.testing.assert_close(masked_whiten(values, mask), torch.tensor([[0.0, -1.0, 1.0]]))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("cliprange", 0.0, "cliprange must be positive"),
        ("lam", 1.5, r"lam must be in \[0, 1\]"),
        ("ppo_epochs", 0, "ppo_epochs must be positive"),
        ("vf_coef", -1.0, "vf_coef must be >= 0"),
    ],
)
def test_config_errors_name_the_field(field, value, words):
    with pytest.raises(ValueError, match=words):
        PPOConfig(**{field: value})


def test_ppo_agent_learns_and_resumes_to_the_same_state(tmp_path, tasks, sandbox):
    config = small_config(seed=2)
    agent = PPOAgent(tasks, config, sandbox=sandbox, run_dir=tmp_path / "run")
    before = {k: v.clone() for k, v in agent.policy.model.state_dict().items()}
    agent.learn(2, progress=False)
    record = agent.history[-1]
    for key in ("train/policy_loss", "train/value_loss", "train/clip_fraction", "train/kl"):
        assert key in record, key
    assert any(not torch.equal(before[k], v) for k, v in agent.policy.model.state_dict().items())
    assert agent.value_head.weight.abs().sum() > 0  # the value head learnt
    shutil.copytree(tmp_path / "run" / "checkpoint", tmp_path / "at2")
    agent.learn(3, progress=False)
    resumed = PPOAgent.load(tmp_path / "at2", tasks, sandbox=sandbox)
    assert resumed.n_updates == 2
    resumed.learn(3, progress=False)
    for key, value in agent.policy.model.state_dict().items():
        assert torch.equal(value, resumed.policy.model.state_dict()[key]), key
    assert torch.equal(agent.value_head.weight, resumed.value_head.weight)
    assert agent.kl.coef == resumed.kl.coef


def test_ppo_with_a_seq2seq_actor(tasks, sandbox):
    agent = PPOAgent(tasks, small_config(tiny={**TINY, "arch": "t5"}), sandbox=sandbox)
    agent.learn(1, progress=False)
    assert agent.policy.is_seq2seq and agent.n_updates == 1


@pytest.mark.parametrize(("minibatch_size", "policy_passes"), [(4, 2), (2, 1 + 2 * 2)])
def test_a_single_minibatch_rollout_is_scored_by_its_first_pass(
    tasks, sandbox, minibatch_size, policy_passes
):
    """4 programs per update, 2 epochs: one minibatch needs no separate scoring pass."""
    agent = PPOAgent(tasks, small_config(minibatch_size=minibatch_size), sandbox=sandbox)
    calls = {"policy": 0, "reference": 0}
    score = agent.policy.token_logprobs

    def counted(prompts, completions, **kwargs):
        calls["reference" if kwargs.get("reference") else "policy"] += 1
        return score(prompts, completions, **kwargs)

    agent.policy.token_logprobs = counted
    agent.learn(1, progress=False)
    assert calls == {"policy": policy_passes, "reference": 1}

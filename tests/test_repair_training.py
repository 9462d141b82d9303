"""Agents on CodeRepair episodes (``config.env="repair"``): rollouts of whole
multi-attempt episodes, each attempt credited with its own reward (tiny models, CPU)."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY

from agents import ActorCriticAgent, ActorCriticConfig
from agents.coderl.agent import CodeRLAgent, CodeRLConfig
from agents.ppo.agent import PPOAgent, PPOConfig
from code_env import load_tasks

SETTINGS = dict(
    model="tiny",
    tiny=TINY,
    max_new_tokens=12,
    tasks_per_update=2,
    samples_per_task=2,
    generation_batch_size=8,
    env="repair",
    max_attempts=3,
)


@pytest.fixture(scope="module")
def tasks():
    return load_tasks("builtin", split="train")[:6]


def test_a_repair_rollout_holds_each_attempt_after_its_feedback(tasks):
    agent = ActorCriticAgent(tasks, ActorCriticConfig(**SETTINGS, replay_batch=0))
    rollout = agent.collect_rollout(tasks[:2], 2)
    attempts, episodes = rollout.extra["attempt"], rollout.extra["episode"]
    assert len(set(episodes)) == 4 and len(rollout.rewards) == len(attempts)
    # an untrained tiny model fails: every episode runs to its third attempt
    assert max(attempts) == 3 and attempts.count(1) == 4
    tokenizer = agent.policy.tokenizer
    for index, (attempt, episode) in enumerate(zip(attempts, episodes, strict=True)):
        prompt = tokenizer.decode(rollout.prompt_ids[index])
        assert rollout.tasks[index].prompt.strip()[-40:] in prompt
        if attempt > 1:  # the previous attempt and its feedback precede this one
            earlier = episodes.index(episode)
            assert f"# Attempt {attempt - 1}:" in prompt
            assert rollout.completions[earlier][:10] in prompt
        # each attempt's reward is its own program's graded reward
        reward, _ = agent.scorer.score(rollout.tasks[index], rollout.completions[index])
        assert reward == rollout.rewards[index]


@pytest.mark.parametrize(
    ("agent_class", "config_class"),
    [(ActorCriticAgent, ActorCriticConfig), (PPOAgent, PPOConfig)],
)
def test_actor_critic_and_ppo_train_on_repair_episodes(tasks, agent_class, config_class, tmp_path):
    agent = agent_class(tasks, config_class(**SETTINGS), run_dir=tmp_path)
    before = {k: v.detach().clone() for k, v in agent.policy.model.state_dict().items()}
    agent.learn(total_updates=2, progress=False)
    after = agent.policy.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert agent.n_updates == 2


def test_other_agents_and_bad_settings_refuse_repair(tasks):
    with pytest.raises(ValueError, match="does not train on CodeRepair episodes"):
        CodeRLAgent(tasks, CodeRLConfig(**SETTINGS))
    with pytest.raises(ValueError, match="env must be one of"):
        ActorCriticConfig(env="chess")
    with pytest.raises(ValueError, match="max_attempts must be positive"):
        ActorCriticConfig(env="repair", max_attempts=0)


def test_evaluate_repair_counts_tasks_solved_within_each_attempt(tasks):
    agent = ActorCriticAgent(tasks, ActorCriticConfig(**SETTINGS, replay_batch=0))
    rates = agent.evaluate_repair(tasks, max_attempts=3)
    assert len(rates) == 3 and rates == sorted(rates) and all(0.0 <= r <= 1.0 for r in rates)
    # the first attempt is the plain greedy decode
    assert rates[0] == agent.evaluate(tasks, k=(1,), n=1).greedy_pass_at_1
    # a policy that writes the references passes on the first attempt
    reference = {t.prompt: t.solutions[0] for t in tasks}

    class Sample:
        def __init__(self, text):
            self.text = text

    class Reference:
        tokenizer = agent.policy.tokenizer
        eos_id = agent.policy.eos_id

        def sample(self, prompts, sampling, greedy=False):
            return [[Sample(reference.get(p, "    return None\n"))] for p in prompts]

    from agents.common.base import evaluate_repair

    assert evaluate_repair(Reference(), tasks, sandbox=agent.scorer.sandbox) == [1.0, 1.0, 1.0]

    class Repairer(Reference):  # right only once it has read a first attempt's feedback
        def sample(self, prompts, sampling, greedy=False):
            out = []
            for p in prompts:
                task = next(t for t in tasks if p.startswith(t.prompt))
                fixed = "# Attempt 1:" in p[len(task.prompt) :]
                out.append([Sample(task.solutions[0] if fixed else "    return None\n")])
            return out

    assert evaluate_repair(Repairer(), tasks, sandbox=agent.scorer.sandbox) == [0.0, 1.0, 1.0]


def test_a_context_longer_than_the_models_positions_is_cut_from_the_left():
    # Repair contexts grow with each attempt and its feedback; a decoder-only model
    # attends over a fixed number of positions (the tiny model's: 512).
    from agents import Policy

    policy = Policy("tiny", tiny_config=TINY, reference=False)
    limit = policy.position_limit
    assert limit is not None
    long_prompt = "def f(x):\n    return x\n" * 200 + "def g(y):\n"
    (ids,) = policy.encode_prompts([long_prompt], reserve=12)
    assert len(ids) == limit - 12
    full = policy.tokenizer.encode(long_prompt, add_special_tokens=False)
    assert len(full) > limit and ids == full[-len(ids) :]  # the end, where the def is, kept
    (sample,) = policy.generate([long_prompt], max_new_tokens=12, greedy=True)[0]
    assert len(sample.token_ids) <= 12

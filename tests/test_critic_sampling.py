"""Critic Sampling (CodeRL Sec. 3.3.4): the refine cut, repair prompts, budgets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import TINY

from agents import OutcomeCritic, Policy
from agents.coderl.critic import OUTCOME_CLASSES, TEST_CLASSES
from agents.coderl.critic_sampling import (
    CriticSampler,
    compare_at_budget,
    refine_cut,
    repair_pairs,
    repair_prompt,
    train_repair_model,
)
from agents.common.config import SamplingConfig
from code_env import load_tasks
from code_env.tasks import TestCase


@pytest.fixture(scope="module")
def policy():
    return Policy("tiny", reference=False, tiny_config=TINY)


@pytest.fixture(scope="module")
def test_critic(policy):
    return OutcomeCritic.build(policy.tokenizer, TEST_CLASSES, n_layer=1, n_embd=16, n_head=2)


@pytest.mark.parametrize(
    ("passed", "failed", "keep"),
    [
        # PassedTest peaks at token 3: keep tokens 0..3
        ([0.5, 0.6, 0.7, 0.9, 0.8, 0.4], [0.5, 0.4, 0.3, 0.1, 0.2, 0.6], 4),
        # ... but FailedTest beats PassedTest at token 1 first: keep token 0 only
        ([0.6, 0.3, 0.7, 0.9, 0.8], [0.4, 0.7, 0.3, 0.1, 0.2], 1),
        # failed wins at the very first token: an empty seed (resample from scratch)
        ([0.2, 0.9], [0.8, 0.1], 0),
        # failed winning only after the peak does not matter
        ([0.9, 0.8, 0.1], [0.1, 0.2, 0.9], 1),
        # ties keep the first peak
        ([0.7, 0.9, 0.9], [0.3, 0.1, 0.1], 2),
        ([], [], 0),
    ],
)
def test_refine_cuts_at_the_peak_then_at_the_first_failed_token(passed, failed, keep):
    assert refine_cut(passed, failed) == keep


def test_refine_cut_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 pass probabilities but 2 fail ones"):
        refine_cut([0.1, 0.2, 0.3], [0.1, 0.2])


def test_repair_prompt_carries_outcome_subtype_and_ends_with_the_problem(sandbox):
    task = load_tasks("builtin", split="train")[0]
    completion = "    return undefined_name\n"
    result = sandbox.run(task.program(completion), task, task.example_tests)
    assert result.subtype == "nameerror"
    prompt = repair_prompt(task, completion, result)
    assert "(runtime error: nameerror)" in prompt
    assert "#     return undefined_name" in prompt
    assert prompt.endswith(task.prompt)  # the repair is an ordinary completion of it
    compile(prompt + "    pass\n", "<repair>", "exec")  # the failed program is commented out


def test_critic_sampling_spends_exactly_the_budget(policy, test_critic, sandbox):
    tasks = list(load_tasks("builtin", split="train")[:3])
    no_examples = replace(tasks[2], example_tests=[])
    tasks = [*tasks[:2], no_examples]
    sampler = CriticSampler(
        policy, test_critic, sandbox, top_m=2, sampling=SamplingConfig(max_new_tokens=10)
    )
    result = sampler.run(tasks, budget=6)
    assert {tid: len(pool) for tid, pool in result.pools.items()} == {t.task_id: 6 for t in tasks}
    assert sum(result.stage_counts.values()) == 18
    assert result.stage_counts["sample"] >= 3 + 3 + 6
    # a random tiny model passes nothing: the second half went to repairs
    assert result.stage_counts.get("repair", 0) == 3 + 3
    for pool in result.pools.values():
        keys = [(not c.passed_examples, -c.test_score) for c in pool]
        assert keys == sorted(keys)


def test_refine_continues_a_passing_program_from_its_cut(policy, test_critic, sandbox):
    """Give a passing program as the only initial sample: refine seeds from it."""
    task = load_tasks("builtin", split="train")[0]
    sampler = CriticSampler(
        policy, test_critic, sandbox, sampling=SamplingConfig(max_new_tokens=10)
    )
    from agents.coderl.critic_sampling import Candidate

    ids = policy.completion_ids(task.solutions[0])
    seed = Candidate(task.task_id, task.solutions[0], ids, "sample")
    sampler._check([seed], {task.task_id: task})
    assert seed.passed_examples and 0.0 <= seed.test_score <= 1.0
    refined = sampler._refine([seed], 3, {task.task_id: task}, "refine")
    assert len(refined) == 3 and all(c.stage == "refine" for c in refined)
    probs = test_critic.token_probs(policy.encode_prompts([task.prompt]), [ids])[0]
    keep = refine_cut(probs[:, 1], probs[:, 0])
    prefix = ids[:keep] if not (keep and ids[keep - 1] == policy.eos_id) else ids[: keep - 1]
    assert all(c.token_ids[: len(prefix)] == prefix for c in refined)


def test_compare_at_budget_and_repair_model(policy, test_critic, sandbox, tmp_path):
    tasks = list(load_tasks("builtin", split="train")[:2])
    sampling = SamplingConfig(max_new_tokens=8)
    sampler = CriticSampler(policy, test_critic, sandbox, sampling=sampling)
    out = compare_at_budget(policy, tasks, sandbox, sampler, 4, sampling=sampling)
    assert set(out["plain"]) == {"pass@4", "1@4", "pass@1"}
    assert set(out["critic_sampling"]) == {"pass@4", "1@4"}
    assert all(0.0 <= v <= 1.0 for v in out["plain"].values())
    assert sum(out["stage_counts"].values()) == 8

    pairs = repair_pairs(policy, tasks, sandbox, samples_per_task=2, sampling=sampling)
    assert pairs and all(
        sol == tasks[0].solutions[0] or sol == tasks[1].solutions[0] for _, sol in pairs
    )
    assert all("A previous attempt failed" in prompt for prompt, _ in pairs)
    policy.save(tmp_path / "actor")
    repaired = train_repair_model(
        tmp_path / "actor", pairs, tmp_path / "repair", steps=2, progress=False
    )
    assert (repaired / "config.json").is_file()


def test_sampler_refuses_an_outcome_critic(policy, sandbox):
    phi = OutcomeCritic.build(policy.tokenizer, OUTCOME_CLASSES, n_layer=1, n_embd=16, n_head=2)
    with pytest.raises(ValueError, match="needs φ_test"):
        CriticSampler(policy, phi, sandbox)
    with pytest.raises(ValueError, match="budget of at least 2"):
        CriticSampler(policy, OutcomeCritic.build(policy.tokenizer, TEST_CLASSES), sandbox).run(
            [], 1
        )


def test_tasks_with_stdio_examples_are_checked_too(policy, test_critic, sandbox):
    task = next(t for t in load_tasks("builtin", split="train") if t.entry_point is None)
    assert task.example_tests and isinstance(task.example_tests[0], TestCase)
    sampling = SamplingConfig(max_new_tokens=8)
    result = CriticSampler(policy, test_critic, sandbox, sampling=sampling).run([task], 2)
    assert len(result.pools[task.task_id]) == 2
    assert np.isfinite([c.test_score for c in result.pools[task.task_id]]).all()

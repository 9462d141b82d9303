"""CodeRL: the outcome critic (Eq. 9), the token-weighted RL loss (Eq. 14) and the agent."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch
from conftest import TINY

from agents import CodeRLAgent, CodeRLConfig, OutcomeCritic
from agents.coderl.agent import TABLE2_VARIANTS, rl_token_weights, token_values
from agents.coderl.critic import (
    OUTCOME_CLASSES,
    TEST_CLASSES,
    CriticConfig,
    CriticExample,
    CriticReport,
    bracket_codes,
    bracket_flags,
    critic_from_state,
    critic_state,
    deduplicate,
    evaluate_critic,
    fit_critics,
    fit_offsets,
    fit_temperature,
    plot_confusion,
    split_by_task,
    train_critic,
    train_rl_sampler,
    train_with_validation,
)
from agents.common.config import SamplingConfig
from agents.common.data import without_solutions
from code_env import load_tasks
from code_env.tokenizer import load_tokenizer

SMALL_CRITIC = {"n_layer": 1, "n_embd": 16, "n_head": 2}


@pytest.fixture(scope="module")
def tasks():
    return load_tasks("builtin", split="train")[:6]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(None)


def small_config(**overrides) -> CodeRLConfig:
    settings = dict(
        model="tiny",
        tiny=TINY,
        max_new_tokens=12,
        tasks_per_update=2,
        samples_per_task=2,
        ce_batch=2,
        generation_batch_size=8,
        critic_samples_per_task=2,
        critic_steps=3,
    )
    settings.update(overrides)
    return CodeRLConfig(**settings)


# --- the critic ------------------------------------------------------------------------


def test_critic_pools_token_logits_with_a_max_over_program_tokens(tokenizer):
    critic = OutcomeCritic.build(tokenizer, OUTCOME_CLASSES, **SMALL_CRITIC)
    prompts = [[5, 6, 7], [8]]
    programs = [[9, 10], [11, 12, 13, 14]]
    logits, mask = critic.token_logits(prompts, programs)
    assert logits.shape == (2, 4, 4) and mask.tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]]
    pooled = critic(prompts, programs)
    # the first row's two pad positions must not take part in its max
    assert torch.allclose(pooled[0], logits[0, 2:].max(dim=0).values)
    assert torch.allclose(pooled[1], logits[1].max(dim=0).values)
    # token-level probabilities line up with each program's tokens
    probs = critic.token_probs(prompts, programs)
    assert [p.shape for p in probs] == [(2, 4), (4, 4)]
    np.testing.assert_allclose(probs[0].sum(-1), 1.0, rtol=1e-5)
    # a program's token logits do not depend on the padding of its batch
    alone, _ = critic.token_logits(prompts[:1], programs[:1])
    assert torch.allclose(alone[0], logits[0, 2:], atol=1e-5)


def test_critic_learns_a_separable_labelling_and_reports_confusion(tokenizer, tmp_path):
    """Programs made of token 100 are 'passed', of token 200 'compile_error': a critic
    trained on them must tell them apart; the confusion matrix counts by true class."""
    critic = OutcomeCritic.build(tokenizer, OUTCOME_CLASSES, **SMALL_CRITIC)
    examples = [CriticExample("t", [1, 2], [100] * (3 + i % 3), 3) for i in range(12)] + [
        CriticExample("t", [1, 2], [200] * (3 + i % 3), 0) for i in range(12)
    ]
    before = evaluate_critic(critic, examples)
    train_critic(critic, examples, steps=60, lr=3e-3, batch_size=8)
    report = evaluate_critic(critic, examples)
    assert report.accuracy == 1.0 and report.n == 24
    assert report.confusion[3][3] == 12 and report.confusion[0][0] == 12
    assert sum(map(sum, before.confusion)) == 24
    assert "accuracy 100.0%" in report.format()
    assert plot_confusion(report, tmp_path / "c.png").stat().st_size > 1000
    critic.save(tmp_path / "critic")
    again = OutcomeCritic.load(tmp_path / "critic")
    assert evaluate_critic(again, examples).accuracy == 1.0
    with pytest.raises(FileNotFoundError, match="no critic"):
        OutcomeCritic.load(tmp_path)


def test_validation_split_is_by_task_and_the_best_weights_are_kept(tokenizer, monkeypatch):
    examples = [CriticExample(f"t{i % 10}", [1], [100 + i % 3], i % 2) for i in range(40)]
    train, validation = split_by_task(examples, 0.2, seed=1)
    assert len({e.task_id for e in validation}) == 2 and len(train) + len(validation) == 40
    assert not {e.task_id for e in train} & {e.task_id for e in validation}
    assert split_by_task(examples, 0.0)[1] == []
    critic = OutcomeCritic.build(tokenizer, TEST_CLASSES, **SMALL_CRITIC)
    seen: list[float] = []
    original = evaluate_critic

    def spy(model, data):  # record every validation accuracy the loop sees
        report = original(model, data)
        if data is validation:
            seen.append(report.accuracy)
        return report

    monkeypatch.setattr("agents.coderl.critic.evaluate_critic", spy)
    _, kept = train_with_validation(critic, train, validation, steps=40, eval_every=10)
    assert len(seen) == 4 and kept == 10 * (seen.index(max(seen)) + 1)
    assert evaluate_critic(critic, validation).accuracy == max(seen)


def fit_small_critics(policy, tasks, sandbox, out, config: CriticConfig) -> dict:
    """fit_critics on three B-like tasks (no solutions), three reference tasks and two
    held-out ones, with 8-token programs."""
    return fit_critics(
        policy,
        without_solutions(tasks[:3]),
        sandbox,
        out,
        reference_tasks=tasks[3:],
        held_out=load_tasks("builtin", split="test")[:2],
        config=config,
        sampling=SamplingConfig(max_new_tokens=8),
        progress=False,
        log=lambda *_: None,
    )


def test_fit_critics_trains_phi_and_phi_test_and_measures_held_out(tmp_path, tasks, sandbox):
    from agents import Policy

    policy = Policy("tiny", reference=False, tiny_config=TINY)
    config = CriticConfig.original(
        samples_per_task=2, steps=2, held_out_samples_per_task=2, references=True
    )
    report = fit_small_critics(policy, tasks, sandbox, tmp_path, config)
    outcome = report["outcome"]
    # samples + references, a fifth of the tasks (one of six) kept for validation
    assert outcome["train_examples"] + outcome["validation"]["n"] == 3 * 2 + 3
    assert outcome["validation"]["n"] in (1, 2)
    assert 0 < outcome["kept_step"] <= 2 and 0.0 <= outcome["majority_share"] <= 1.0
    held = outcome["held_out"]
    assert held["n"] == 4 and 0.0 <= held["balanced_accuracy"] <= 1.0
    assert set(held["recall"]) == set(OUTCOME_CLASSES)
    assert 0.0 <= outcome["held_out_constant"] <= held["majority_accuracy"]
    assert report["test"]["held_out"]["classes"] == list(TEST_CLASSES)
    assert report["config"]["init"] == "scratch" and outcome["temperature"] == 1.0
    assert OutcomeCritic.load(tmp_path / "outcome").classes == OUTCOME_CLASSES
    assert OutcomeCritic.load(tmp_path / "test").classes == TEST_CLASSES
    assert (tmp_path / "critic_report.json").is_file()
    assert (tmp_path / "confusion_outcome.png").is_file()
    assert (tmp_path / "reliability.png").is_file()


def test_the_default_recipe_starts_from_the_actor_adds_mutants_and_calibrates(
    tmp_path, tasks, sandbox
):
    from agents import Policy

    policy = Policy("tiny", reference=False, tiny_config=TINY)
    config = CriticConfig(samples_per_task=2, steps=4, eval_every=2, held_out_samples_per_task=1)
    report = fit_small_critics(policy, tasks, sandbox, tmp_path, config)
    outcome = report["outcome"]
    # every task sampled at 3 temperatures (duplicates counted once), plus A's references
    # and up to 16 mutants of each
    n = outcome["train_examples"] + outcome["validation"]["n"]
    assert 3 + 3 < n <= 6 * 2 * 3 + 3 + 3 * 16
    critic = OutcomeCritic.load(tmp_path / "outcome")
    assert critic.temperature == outcome["temperature"] > 0
    assert critic.offsets == outcome["offsets"] and critic.offsets[0] == 0.0
    # the backbone is the actor's language model (same shape), not the small default
    assert critic.backbone.config.n_embd == policy.model.config.n_embd
    assert critic.brackets is not None


def test_the_rl_sampler_is_trained_once_and_reused_while_its_recipe_holds(tmp_path, tasks, sandbox):
    from agents import Policy

    model = tmp_path / "model"
    Policy("tiny", reference=False, tiny_config=TINY).save(model)
    logs: list[str] = []
    settings = dict(
        reference_tasks=tasks[3:],
        sampling=SamplingConfig(max_new_tokens=8),
        progress=False,
        log=logs.append,
    )
    out = tmp_path / "rl-actor"
    b_tasks = without_solutions(tasks[:3])
    first = train_rl_sampler(str(model), b_tasks, sandbox, out, updates=1, **settings)
    assert "1 actor-critic updates" in logs[-1] and (out / "rl_sampler.json").is_file()
    # the actor changed: it is not the model it started from
    start = Policy(str(model), reference=False).model.state_dict()
    trained = first.model.state_dict()
    assert any(not torch.equal(start[k], trained[k]) for k in start)
    again = train_rl_sampler(str(model), b_tasks, sandbox, out, updates=1, **settings)
    assert "trained before" in logs[-1]
    assert all(torch.equal(v, again.model.state_dict()[k]) for k, v in trained.items())
    # another recipe (here: another seed) trains anew
    train_rl_sampler(str(model), b_tasks, sandbox, out, updates=1, seed=1, **settings)
    assert "1 actor-critic updates" in logs[-1]


def test_a_critic_from_the_actor_copies_its_language_model():
    from agents import Policy

    policy = Policy("tiny", reference=False, tiny_config=TINY)
    critic = OutcomeCritic.from_policy(policy, TEST_CLASSES)
    actor = policy.model.base_model.state_dict()
    for name, value in critic.backbone.state_dict().items():
        assert torch.equal(value, actor[name]), name
    with torch.no_grad():
        next(critic.backbone.parameters()).add_(1.0)  # a copy: the actor is untouched
    assert not torch.equal(
        next(critic.backbone.parameters()), next(policy.model.base_model.parameters())
    )


def test_report_metrics_from_a_known_confusion():
    report = CriticReport(
        ("a", "b", "c"),
        accuracy=6 / 10,
        confusion=[[5, 1, 0], [2, 1, 0], [1, 0, 0]],
        n=10,
        reliability=[
            {"low": 0.5, "high": 0.6, "count": 4, "confidence": 0.55, "accuracy": 0.5},
            {"low": 0.9, "high": 1.0, "count": 6, "confidence": 0.95, "accuracy": 2 / 3},
        ],
    )
    assert report.recall == {"a": 5 / 6, "b": 1 / 3, "c": 0.0}
    assert report.balanced_accuracy == pytest.approx((5 / 6 + 1 / 3 + 0.0) / 3)
    assert report.majority_accuracy == 0.6 and report.constant_accuracy(1) == 0.3
    assert report.ece == pytest.approx((4 * 0.05 + 6 * (0.95 - 2 / 3)) / 10)
    assert "balanced accuracy" in report.format()


def test_temperature_scaling_lowers_the_nll_and_keeps_the_predictions(tokenizer):
    rng = np.random.default_rng(0)
    examples = [
        CriticExample(f"t{i}", [5, 6], [int(v) for v in rng.integers(100, 140, 6)], int(i % 2))
        for i in range(48)
    ]
    critic = OutcomeCritic.build(tokenizer, TEST_CLASSES, **SMALL_CRITIC)
    train_critic(critic, examples[:32], steps=60, lr=1e-2, batch_size=16)  # overfits noise
    before = evaluate_critic(critic, examples[32:])
    temperature = fit_temperature(critic, examples[32:])
    after = evaluate_critic(critic, examples[32:])
    assert temperature == critic.temperature > 0
    assert after.nll <= before.nll and after.confusion == before.confusion


def critic_with_fixed_logits(tokenizer, passed_logits: list[float]) -> OutcomeCritic:
    """A φ_test whose sequence logits are (0, s) for the program [i]: s = passed_logits[i]."""
    critic = OutcomeCritic.build(tokenizer, TEST_CLASSES, **SMALL_CRITIC)
    table = torch.tensor([[0.0, s] for s in passed_logits])
    critic.forward = lambda prompts, completions: table[[c[0] for c in completions]]
    return critic


def test_offsets_buy_balanced_accuracy_only_while_accuracy_beats_the_constant(tokenizer):
    # eight failed programs, two passed; at offset 0 the critic answers "failed" always
    passed_logits = [-3, -3, -3, -3, -3, -0.5, -0.4, -0.3, -0.1, -1.0]
    labels = [0] * 8 + [1] * 2
    examples = [CriticExample(f"t{i}", [5], [i], y) for i, y in enumerate(labels)]
    critic = critic_with_fixed_logits(tokenizer, passed_logits)
    assert evaluate_critic(critic, examples).balanced_accuracy == 0.5
    critic.temperature = 3.0
    offsets = fit_offsets(critic, examples, constant_label=0)
    # +0.25 finds the pass at -0.1 (accuracy 0.9); +1.25 would find both passes, with a
    # higher balanced accuracy (0.81), but three false alarms take accuracy to 0.7,
    # below the 0.8 of always answering "failed"
    assert offsets == critic.offsets == [0.0, 0.25] and critic.temperature == 1.0
    report = evaluate_critic(critic, examples)
    assert report.accuracy == 0.9 and report.balanced_accuracy == 0.75
    assert fit_offsets(critic, [], constant_label=0) == [0.0, 0.0]


def test_among_offsets_that_score_the_same_the_smallest_is_kept(tokenizer):
    # the one pass scores below every failure: every offset up to +1 answers "failed"
    # everywhere, and none does better, so the critic is left as trained
    labels = [0] * 9 + [1]
    examples = [CriticExample(f"t{i}", [5], [i], y) for i, y in enumerate(labels)]
    critic = critic_with_fixed_logits(tokenizer, [-1.0] * 9 + [-2.0])
    assert fit_offsets(critic, examples, constant_label=0) == [0.0, 0.0]


def test_the_temperature_is_fitted_on_the_offset_logits(tokenizer):
    passed_logits = [-3, -3, -3, -3, -3, -0.5, -0.4, -0.3, -0.1, -1.0]
    examples = [CriticExample(f"t{i}", [5], [i], int(i >= 8)) for i in range(10)]
    critic = critic_with_fixed_logits(tokenizer, passed_logits)
    fit_offsets(critic, examples, constant_label=0)
    before = evaluate_critic(critic, examples)
    fit_temperature(critic, examples)
    after = evaluate_critic(critic, examples)
    assert critic.offsets == [0.0, 0.25]
    assert after.confusion == before.confusion and after.nll <= before.nll


def test_critic_state_round_trips_with_its_temperature_and_offsets(tokenizer, tmp_path):
    critic = OutcomeCritic.build(tokenizer, TEST_CLASSES, **SMALL_CRITIC)
    critic.temperature = 2.5
    critic.offsets = [0.0, 1.25]
    again = critic_from_state(critic_state(critic))
    assert again.temperature == 2.5 and again.classes == TEST_CLASSES
    assert again.offsets == [0.0, 1.25]
    loaded = OutcomeCritic.load(critic.save(tmp_path / "phi_test"))
    assert loaded.offsets == [0.0, 1.25] and loaded.temperature == 2.5
    programs = [[1, 2, 3]], [[100, 101]]
    assert np.allclose(critic.predict_proba(*programs), again.predict_proba(*programs))


@pytest.mark.parametrize(
    ("program", "flagged"),
    [
        ("    return sorted(set(xs))\n", []),
        ("    return sum(x for x in xs if x > 1) % 2 == 1]\n", [("]", 1)]),  # nothing open
        ("    return [abs(x for x in xs]\n", [("]", 1), ("\n", 2)]),  # "(" closed by "]"
        ("    return sorted(set(xs)\n", [("\n", 2)]),  # left open at the end
        ("    return {k: (v, [k]) for k, v in d.items()}\n", []),
    ],
)
def test_bracket_flags_mark_where_brackets_fail_to_match(tokenizer, program, flagged):
    codes = bracket_codes(tokenizer)
    prompt = tokenizer.encode("def f(xs, d):\n", add_special_tokens=False)
    completion = tokenizer.encode(program, add_special_tokens=False)
    flags = bracket_flags(codes, prompt, completion)
    assert len(flags) == len(completion)
    assert [
        (tokenizer.decode([t]), f) for t, f in zip(completion, flags, strict=True) if f
    ] == flagged


def test_reading_brackets_starts_neutral_and_is_saved_with_the_critic(tokenizer, tmp_path):
    critic = OutcomeCritic.build(tokenizer, OUTCOME_CLASSES, **SMALL_CRITIC)
    programs = [[5, 6]], [tokenizer.encode("    return [abs(x for x in xs]\n")]
    before = critic.predict_proba(*programs)
    critic.read_brackets(tokenizer)
    assert np.allclose(before, critic.predict_proba(*programs))  # a zero embedding
    with torch.no_grad():
        critic.brackets.weight.normal_()
    changed = critic.predict_proba(*programs)
    assert not np.allclose(before, changed)
    loaded = OutcomeCritic.load(critic.save(tmp_path / "phi"))
    again = critic_from_state(critic_state(critic))
    for other in (loaded, again):
        assert other.brackets is not None
        assert np.allclose(changed, other.predict_proba(*programs), atol=1e-6)


def test_duplicates_count_once():
    a = CriticExample("t", [1], [5, 6], 0)
    b = CriticExample("t", [1], [5, 6], 0, temperature=0.6)
    c = CriticExample("u", [1], [5, 6], 0)
    assert deduplicate([a, b, c]) == [a, c]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("init", "pretrained", "init must be one of actor, scratch"),
        ("select_by", "f1", "select_by must be one of"),
        ("temperatures", (), "temperatures must be positive"),
        ("validation_fraction", 1.0, "validation_fraction must be in [0, 1)"),
        ("steps", 0, "steps must be positive"),
        ("actor_rl_updates", -1, "actor_rl_updates must be"),
    ],
)
def test_critic_config_errors_name_the_field(field, value, words):
    with pytest.raises(ValueError, match=re.escape(f"CriticConfig.{words}")):
        CriticConfig(**{field: value})


# --- the RL loss -------------------------------------------------------------------------


def test_token_weights_are_reward_minus_baseline_times_critic_probability():
    """A hand-built batch: two programs, lengths 2 and 3, outcomes passed and runtime
    error; the weight of each token is (r − r_b) · q̂(outcome at that token)."""
    probs = [
        np.array([[0.1, 0.1, 0.1, 0.7], [0.0, 0.1, 0.1, 0.8]]),  # passed (label 3)
        np.array([[0.2, 0.5, 0.2, 0.1], [0.1, 0.6, 0.2, 0.1], [0.0, 0.9, 0.1, 0.0]]),
    ]
    values = token_values("critic", [3, 1], [2, 3], 3, probs)
    np.testing.assert_allclose(values, [[0.0, 0.7, 0.8], [0.5, 0.6, 0.9]], rtol=1e-6)
    rewards = torch.tensor([1.0, -0.6])
    baseline = torch.tensor([-0.3, -0.3])
    weights = rl_token_weights(rewards, baseline, values)
    expected = [[0.0, 1.3 * 0.7, 1.3 * 0.8], [-0.3 * 0.5, -0.3 * 0.6, -0.3 * 0.9]]
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    # without the baseline (Table 2's B) the reward itself scales the critic's values
    np.testing.assert_allclose(
        rl_token_weights(rewards, None, values), [[0.0, 0.7, 0.8], [-0.3, -0.36, -0.54]], rtol=1e-6
    )
    # A: every token weighs 1; C: values rise linearly to 1 at the last token
    assert token_values("none", [3, 1], [2, 3], 3).tolist() == [[0, 1, 1], [1, 1, 1]]
    np.testing.assert_allclose(
        token_values("linear_decay", [3, 1], [2, 3], 3), [[0.0, 0.5, 1.0], [1 / 3, 2 / 3, 1.0]]
    )


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("token_weights", "value", "token_weights must be one of critic, none, linear_decay"),
        ("ce_coef", -1.0, "ce_coef must be >= 0"),
        ("ce_sampled_fraction", 2.0, r"ce_sampled_fraction must be in \[0, 1\]"),
        ("critic_steps", 0, "critic_steps must be positive"),
        ("baseline", "yes", "baseline must be true or false"),
        ("critic", "/nonexistent/critic", "no critic in"),
    ],
)
def test_config_errors_name_the_field(field, value, words):
    with pytest.raises(ValueError, match=words):
        CodeRLConfig(**{field: value})


def test_table2_variants():
    assert CodeRLConfig.variant("D") == CodeRLConfig()
    assert CodeRLConfig.variant("B", lr=1e-4).baseline is False
    assert set(TABLE2_VARIANTS) == {"A", "B", "C", "D"}
    with pytest.raises(ValueError, match="unknown CodeRL variant 'E'"):
        CodeRLConfig.variant("E")


# --- the agent ----------------------------------------------------------------------------


def test_coderl_agent_trains_its_critic_then_the_actor_and_resumes(tmp_path, tasks, sandbox):
    config = small_config(seed=1)
    agent = CodeRLAgent(without_solutions(tasks), config, sandbox=sandbox, run_dir=tmp_path / "run")
    assert agent.policy.reference_model is None  # no KL, no reference copy
    assert agent.add_references(load_tasks("builtin", split="train")[6:9]) == 3
    before = {k: v.clone() for k, v in agent.policy.model.state_dict().items()}
    agent.learn(2, progress=False)
    assert agent.critic is not None
    record = agent.history[-1]
    for key in (
        "train/rl_loss",
        "train/ce_loss",
        "train/baseline_reward",
        "train/token_value_mean",
    ):
        assert key in record, key
    assert 0.0 < record["train/token_value_mean"] <= 1.0
    assert any(not torch.equal(before[k], v) for k, v in agent.policy.model.state_dict().items())
    shutil.copytree(tmp_path / "run" / "checkpoint", tmp_path / "at2")
    agent.learn(3, progress=False)
    resumed = CodeRLAgent.load(tmp_path / "at2", without_solutions(tasks), sandbox=sandbox)
    assert resumed.critic is not None and resumed.n_updates == 2
    for key, value in agent.critic.state_dict().items():
        assert torch.equal(value, resumed.critic.state_dict()[key]), key
    resumed.learn(3, progress=False)
    for key, value in agent.policy.model.state_dict().items():
        assert torch.equal(value, resumed.policy.model.state_dict()[key]), key


def test_ablation_a_needs_no_critic(tasks, sandbox):
    agent = CodeRLAgent(
        without_solutions(tasks),
        CodeRLConfig.variant("A", **small_config().to_dict() | TABLE2_VARIANTS["A"]),
        sandbox=sandbox,
    )
    agent.learn(1, progress=False)
    assert agent.critic is None and agent.history[-1]["train/token_value_mean"] == 1.0

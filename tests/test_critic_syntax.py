"""CodeRL's critics given the parser's verdict (agents.coderl.syntax)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents import OutcomeCritic
from agents.coderl.critic import (
    OUTCOME_CLASSES,
    TEST_CLASSES,
    CriticExample,
    critic_from_state,
    critic_state,
    evaluate_critic,
    fit_offsets,
    fit_temperature,
)
from agents.coderl.syntax import program_compiles
from code_env.tokenizer import load_tokenizer

SMALL_CRITIC = {"n_layer": 1, "n_embd": 16, "n_head": 2}
PROMPT = "def f(xs):\n"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(None)


@pytest.mark.parametrize(
    ("program", "compiles"),
    [
        (PROMPT + "    return sorted(set(xs))\n", True),
        (PROMPT + "    return [abs(x for x in xs]\n", False),  # "(" closed by "]"
        (PROMPT + "    return sorted(xs\n", False),  # left open
        (PROMPT + "return xs\n", False),  # no indented body
        (PROMPT + "    return 1\n\x00", False),  # a null byte
        ("x = " + "(" * 400 + "1" + ")" * 400 + "\n", False),  # nested past the parser's limit
        (PROMPT + "    return 0777\n", False),
        (PROMPT + "    return 1if xs else 2\n", True),  # a SyntaxWarning only
    ],
)
def test_program_compiles_is_the_parser_verdict(program, compiles):
    assert program_compiles(program) is compiles


def test_program_compiles_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    program = f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n"
    assert program_compiles(program)
    assert not marker.exists()


def small_critic(tokenizer, classes, knows_syntax=True) -> OutcomeCritic:
    torch.manual_seed(0)
    critic = OutcomeCritic.build(tokenizer, classes, **SMALL_CRITIC)
    critic.read_brackets(tokenizer)
    with torch.no_grad():
        critic.head.bias.copy_(torch.linspace(-1.0, 1.0, len(classes)))
    critic.knows_syntax = knows_syntax
    return critic


def programs(tokenizer):
    prompt = tokenizer.encode(PROMPT, add_special_tokens=False)
    broken = tokenizer.encode("    return [abs(x for x in xs]\n", add_special_tokens=False)
    fine = tokenizer.encode("    return sorted(set(xs))\n", add_special_tokens=False)
    return [prompt] * 3, [broken, fine, fine]


def test_phi_takes_the_verdict_as_given(tokenizer):
    critic = small_critic(tokenizer, OUTCOME_CLASSES)
    prompts, completions = programs(tokenizer)
    plain = critic.predict_proba(prompts, completions)
    given = critic.predict_proba(prompts, completions, compiles=[False, True, None])
    np.testing.assert_allclose(given[0], [1.0, 0.0, 0.0, 0.0])  # a compile error for certain
    assert given[1][0] == 0.0  # a program that compiles is no compile error
    np.testing.assert_allclose(given[1][1:], plain[1][1:] / plain[1][1:].sum(), rtol=1e-5)
    np.testing.assert_allclose(given[2], plain[2], rtol=1e-6)  # no verdict: no change
    critic.knows_syntax = False
    np.testing.assert_allclose(
        critic.predict_proba(prompts, completions, compiles=[False, True, None]), plain
    )


def test_phi_test_takes_the_verdict_as_given(tokenizer):
    critic = small_critic(tokenizer, TEST_CLASSES)
    prompts, completions = programs(tokenizer)
    plain = critic.predict_proba(prompts, completions)
    given = critic.predict_proba(prompts, completions, compiles=[False, True, True])
    np.testing.assert_allclose(given[0], [1.0, 0.0])  # fails its tests for certain
    np.testing.assert_allclose(given[1:], plain[1:], rtol=1e-6)  # compiling says nothing


def test_token_values_take_the_verdict_from_the_first_unmatched_closer(tokenizer):
    critic = small_critic(tokenizer, OUTCOME_CLASSES)
    prompts, completions = programs(tokenizer)
    plain = critic.token_probs(prompts, completions)
    given = critic.token_probs(prompts, completions, compiles=[False, True, None])
    broken = completions[0]
    closer = [tokenizer.decode([t]) for t in broken].index("]")
    # before the bracket that matches nothing, the critic cannot know what follows
    np.testing.assert_allclose(given[0][:closer], plain[0][:closer], rtol=1e-6)
    np.testing.assert_allclose(given[0][closer:, 0], 1.0)
    # a program that compiles: only its last token, which sees it whole, knows
    np.testing.assert_allclose(given[1][:-1], plain[1][:-1], rtol=1e-6)
    assert given[1][-1][0] == 0.0 and given[1][-1].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(given[2], plain[2], rtol=1e-6)


def test_knowing_syntax_is_saved_with_the_critic(tokenizer, tmp_path):
    critic = small_critic(tokenizer, OUTCOME_CLASSES)
    loaded = OutcomeCritic.load(critic.save(tmp_path / "phi"))
    again = critic_from_state(critic_state(critic))
    assert loaded.knows_syntax and again.knows_syntax
    old = small_critic(tokenizer, OUTCOME_CLASSES, knows_syntax=False)
    assert not OutcomeCritic.load(old.save(tmp_path / "old")).knows_syntax


def test_evaluation_and_fitting_use_the_verdict(tokenizer):
    critic = small_critic(tokenizer, OUTCOME_CLASSES)
    prompts, completions = programs(tokenizer)
    examples = [
        CriticExample("a", prompts[0], completions[0], 0, compiles=False),
        CriticExample("b", prompts[1], completions[1], 2, compiles=True),
        CriticExample("c", prompts[2], completions[2], 3, compiles=True),
    ]
    report = evaluate_critic(critic, examples)
    assert report.confusion[0] == [1, 0, 0, 0]  # the compile error, whatever the network says
    assert report.confusion[1] == [0, 0, 0, 0]
    assert all(row[0] == 0 for row in report.confusion[2:])  # never a compile error
    fit_offsets(critic, examples, constant_label=0)
    temperature = fit_temperature(critic, examples)
    assert np.isfinite(temperature)

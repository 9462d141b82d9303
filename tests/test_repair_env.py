"""``CodeRepair-v0``: attempts, feedback from example tests only, rewards, checkers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from conftest import MBPP_DIR, needs_shared_mbpp

import code_env  # noqa: F401  (registers the envs)
from code_env import Task
from code_env.repair import CodeRepairEnv, _show_test


@pytest.fixture(scope="module")
def env():
    environment = gym.make("CodeRepair-v0", max_attempts=3, max_new_tokens=96)
    yield environment
    environment.close()


def step_attempts(environment, completions: list[str], task_id: str):
    """Step ``completions`` (one per attempt) through an episode on ``task_id``; the
    (reward, terminated, info) of each attempt's last step, and the last observation."""
    base = environment.unwrapped
    observation, _ = environment.reset(options={"task_id": task_id})
    ends = []
    for completion in completions:
        for action in base.completion_tokens(completion):
            observation, reward, terminated, truncated, info = environment.step(action)
            assert not truncated
        ends.append((reward, terminated, info))
        if terminated:
            break
    return ends, observation


WRONG = "    return None\n"


def test_registered_beside_codesynthesis_whose_meaning_is_unchanged():
    assert "CodeRepair-v0" in gym.registry and "CodeSynthesis-v0" in gym.registry
    synthesis = gym.make("CodeSynthesis-v0", max_new_tokens=96).unwrapped
    assert type(synthesis).__name__ == "CodeSynthesisEnv"
    assert synthesis.length == synthesis.max_prompt_tokens + 96


def test_a_wrong_program_then_the_reference_passes_on_the_second_attempt(env):
    task = env.unwrapped.tasks[0]
    ends, observation = step_attempts(env, [WRONG, task.solutions[0]], task.task_id)
    assert [(reward, terminated) for reward, terminated, _ in ends] == [(-0.3, False), (1.0, True)]
    first, second = ends[0][2], ends[1][2]
    assert first["attempt"] == 1 and first["outcome"] == "failed_test"
    assert first["feedback"].startswith("\n# Attempt 1: failed test.")
    assert second["attempt"] == 2 and second["outcome"] == "passed" and second["feedback"] == ""
    assert second["n_passed"] == second["n_tests"] == len(task.tests)
    # the observation holds the prompt, both attempts and the feedback, right-aligned
    base = env.unwrapped
    ids = [
        int(t)
        for t, m in zip(observation["input_ids"], observation["attention_mask"], strict=True)
        if m
    ]
    text = base.tokenizer.decode(ids)
    assert first["feedback"] in text and task.solutions[0].strip() in text
    assert observation["attention_mask"][-1] == 1


def test_final_reward_mode_and_the_attempt_cost():
    environment = gym.make(
        "CodeRepair-v0", max_new_tokens=96, reward_mode="final", attempt_cost=0.25
    )
    task = environment.unwrapped.tasks[0]
    ends, _ = step_attempts(environment, [WRONG, WRONG, task.solutions[0]], task.task_id)
    assert [reward for reward, _, _ in ends] == [0.0, 0.0, pytest.approx(1.0 - 2 * 0.25)]
    each = gym.make("CodeRepair-v0", max_new_tokens=96, attempt_cost=0.25)
    ends_each, _ = step_attempts(each, [WRONG, WRONG, task.solutions[0]], task.task_id)
    assert [reward for reward, _, _ in ends_each] == [-0.3, -0.3 - 0.25, 1.0 - 0.25]
    assert sum(r for r, _, _ in ends_each) != sum(r for r, _, _ in ends)  # graded rewards differ
    assert [e[2]["attempt_reward"] for e in ends_each] == [-0.3, -0.3, 1.0]


def test_the_episode_ends_after_max_attempts(env):
    task = env.unwrapped.tasks[1]
    ends, _ = step_attempts(env, [WRONG] * 5, task.task_id)
    assert len(ends) == 3 and [t for _, t, _ in ends] == [False, False, True]
    assert ends[-1][2]["feedback"] == ""
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_feedback_for_a_compile_error_and_a_raised_exception(env):
    base = env.unwrapped
    task = base.tasks[0]
    (compile_end,) = base.score_attempts(["    return (\n"], task.task_id)[:1]
    assert compile_end.info["outcome"] == "compile_error"
    assert "# Attempt 1: compile error." in compile_end.info["feedback"]
    assert "syntaxerror" in compile_end.info["feedback"]
    raised = base.score_attempts(["    raise ValueError('boom here')\n"], task.task_id)[0]
    assert "raised valueerror: boom here" in raised.info["feedback"]  # the sandbox's kind names


def _leaks(task: Task, feedbacks: list[str]) -> list[str]:
    """Text of hidden tests that are not example tests, found in feedback (where it is
    not already in the prompt, which any observation holds anyway)."""
    hidden_only = [t for t in task.tests if t not in task.example_tests]
    found = []
    for test in hidden_only:
        marks = [_show_test(test, task.entry_point)]
        if test.kind in ("call", "stdio"):
            marks.append(repr(test.expected))
        for mark in marks:
            if len(mark) >= 6 and mark not in task.prompt:
                found += [mark for text in feedbacks if mark in text]
    return found


WRONG_ATTEMPTS = [
    "    return None\n",
    "    return 0\n",
    "    raise KeyError(1)\n",
    "print(input())\n",
]


def _check_no_hidden_test_in_feedback(environment) -> int:
    base = environment.unwrapped
    checked = 0
    for task in base.tasks:
        attempts = WRONG_ATTEMPTS if task.entry_point else ["print(0)\n", "x = input(\n"]
        ends = base.score_attempts(attempts[: base.max_attempts], task.task_id)
        feedbacks = [end.info["feedback"] for end in ends]
        assert not _leaks(task, feedbacks), (task.task_id, _leaks(task, feedbacks))
        checked += any(t not in task.example_tests for t in task.tests)
    return checked


def test_no_hidden_test_appears_in_feedback_on_the_builtin_suite():
    environment = gym.make("CodeRepair-v0", max_attempts=3, max_new_tokens=96)
    assert _check_no_hidden_test_in_feedback(environment) >= 100  # tasks with hidden-only tests


@needs_shared_mbpp
def test_no_hidden_test_appears_in_feedback_on_mbpp():
    environment = gym.make(
        "CodeRepair-v0",
        tasks="mbpp",
        task_kwargs={"path": MBPP_DIR / "mbpp.jsonl"},
        max_attempts=2,
        max_new_tokens=64,
    )
    assert _check_no_hidden_test_in_feedback(environment) > 0  # the challenge tests


def test_the_observation_holds_only_prompt_attempts_and_feedback(env):
    base = env.unwrapped
    for kind in ("call", "assert", "stdio"):
        task = next(t for t in base.tasks if t.tests[0].kind == kind)
        wrong = WRONG if task.entry_point else "print(0)\n"
        ends, observation = step_attempts(env, [wrong, wrong], task.task_id)
        ids = [
            int(t)
            for t, m in zip(observation["input_ids"], observation["attention_mask"], strict=True)
            if m
        ]
        assert [terminated for _, terminated, _ in ends] == [False, False]
        expected = (
            list(base._prompt_ids[task.task_id])
            + base.completion_tokens(wrong)
            + base._encode(ends[0][2]["feedback"])
            + base.completion_tokens(wrong)
            + base._encode(ends[1][2]["feedback"])  # the third attempt starts after it
        )
        assert ids == expected[-len(ids) :] and len(ids) == len(expected)


def test_score_attempts_equals_stepping_across_kinds(env):
    base = env.unwrapped
    rng = np.random.default_rng(0)
    outcomes = set()
    for kind in ("call", "assert", "stdio"):
        for task in [t for t in base.tasks if t.tests[0].kind == kind][:4]:
            randoms = [
                base.tokenizer.decode(rng.integers(2, 8192, size=int(rng.integers(1, 10))).tolist())
                for _ in range(2)
            ]
            for attempts in ([randoms[0], task.solutions[0]], [randoms[0], randoms[1], WRONG]):
                scored = base.score_attempts(attempts, task.task_id)
                stepped, _ = step_attempts(env, attempts, task.task_id)
                assert [(e.reward, e.terminated, e.info) for e in scored] == stepped
                outcomes.update(e.info["outcome"] for e in scored)
    assert {"passed", "compile_error"} <= outcomes


def test_gymnasium_check_env():
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make("CodeRepair-v0", max_new_tokens=16).unwrapped, skip_render_check=True)


def test_stable_baselines3_check_env():
    sb3_check = pytest.importorskip("stable_baselines3.common.env_checker").check_env
    sb3_check(gym.make("CodeRepair-v0", max_new_tokens=16).unwrapped, warn=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"max_attempts": 1.5}, "max_attempts must be an integer"),
        ({"feedback_tokens": 4}, "too small for the feedback's first line"),
        ({"reward_mode": "best"}, "reward_mode must be one of"),
        ({"attempt_cost": -1}, "attempt_cost must be a number >= 0"),
    ],
)
def test_bad_arguments_are_clear_errors_at_make(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make("CodeRepair-v0", **kwargs)


def test_one_attempt_is_codesynthesis_with_attempt_info():
    environment = CodeRepairEnv(max_attempts=1, max_new_tokens=96)
    task = environment.tasks[0]
    ends = environment.score_attempts([WRONG, task.solutions[0]], task.task_id)
    assert len(ends) == 1 and ends[0].terminated and ends[0].reward == -0.3
    assert environment.length == environment.max_prompt_tokens + 96
    synthesis = gym.make("CodeSynthesis-v0", max_new_tokens=96).unwrapped
    assert synthesis.score(WRONG, task.task_id)[0] == ends[0].reward

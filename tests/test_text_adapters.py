"""The text-level repair env (``CodeRepairText-v0``) and the verl-style ``compute_score``."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import code_env  # noqa: F401  (registers the envs)
from code_env import load_tasks
from code_env.text_env import compute_score, extract_code, ground_truth

WRONG = "    return None\n"


@pytest.fixture(scope="module")
def task():
    return load_tasks("builtin")[0]


def test_text_env_steps_whole_attempts_like_the_token_env(task):
    env = gym.make("CodeRepairText-v0", max_attempts=3, max_new_tokens=96)
    observation, info = env.reset(options={"task_id": task.task_id})
    assert observation == task.prompt and info["attempt"] == 1
    first = env.step(WRONG)
    second = env.step("Here it is:\n```python\n" + task.solutions[0] + "```\n")
    assert [(r, t) for _, r, t, _, _ in (first, second)] == [(-0.3, False), (1.0, True)]
    assert first[4]["feedback"] in first[0] and first[0].startswith(task.prompt)
    tokens = gym.make("CodeRepair-v0", max_attempts=3, max_new_tokens=96).unwrapped
    ends = tokens.score_attempts([WRONG, task.solutions[0]], task.task_id)
    assert [(e.reward, e.terminated, e.info) for e in ends] == [
        (r, t, i) for _, r, t, _, i in (first, second)
    ]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(WRONG)
    with pytest.raises(TypeError, match="str"):
        env.reset()
        env.step(42)


def test_text_env_passes_gymnasiums_checker():
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make("CodeRepairText-v0", max_new_tokens=32).unwrapped, skip_render_check=True)


def test_extract_code_takes_the_last_fence_or_the_reply():
    assert extract_code("a\n```python\nx = 1\n```\nb\n```\ny = 2\n```") == "y = 2\n"
    assert extract_code("    return 1\n") == "    return 1\n"


def test_compute_score_grades_a_response_against_the_task_as_ground_truth(task):
    truth = ground_truth(task)
    assert compute_score("builtin", task.solutions[0], truth) == 1.0
    assert compute_score("builtin", WRONG, truth) == -0.3
    assert compute_score("builtin", "    return (\n", json.loads(truth)) == -1.0
    whole = task.program(task.solutions[0])  # a whole program, fenced as a chat reply
    assert compute_score("builtin", f"```python\n{whole}```", truth) == 1.0
    partial = compute_score("builtin", WRONG, truth, {"reward": "pass_rate"})
    assert 0.0 <= partial < 1.0
    with pytest.raises(ValueError, match="unknown reward 'no-such-reward'"):
        compute_score("builtin", WRONG, truth, {"reward": "no-such-reward"})


def test_repair_tool_environment_keeps_trls_environment_contract(task):
    """What GRPOTrainer's environment mode does with an instance: find ``reset``,
    ``get_reward`` and the public tool methods, render each tool's JSON schema, reset
    with the dataset row, let the model call tools, score with ``get_reward``."""
    import inspect

    from transformers.utils import get_json_schema

    from code_env.text_env import RepairToolEnvironment

    env = RepairToolEnvironment(max_attempts=3, max_new_tokens=96, attempt_cost=0.1)
    members = [name for name, _ in inspect.getmembers(type(env), predicate=inspect.isfunction)]
    assert "reset" in members and "get_reward" in members
    tools = [n for n in members if n not in ("reset", "get_reward") and not n.startswith("_")]
    assert tools == ["submit"]
    schema = get_json_schema(env.submit)
    assert schema["function"]["name"] == "submit"
    assert schema["function"]["parameters"]["required"] == ["program"]
    assert env.get_reward() == -1.0  # nothing submitted yet
    instructions = env.reset(task_id=task.task_id, prompt=task.prompt)
    assert "submit" in instructions and "3 attempts" in instructions
    feedback = env.submit(WRONG)
    assert feedback.startswith("# Attempt 1: failed test.") and "expected" in feedback
    assert env.submit(task.solutions[0]) == "passed"
    assert env.submit(WRONG) == "no attempts left"
    assert env.get_reward() == pytest.approx(1.0 - 0.1)
    env.reset(task_id=task.task_id)
    assert [env.submit(WRONG) for _ in range(3)][-1].endswith("no attempts left")
    assert env.get_reward() == pytest.approx(-0.3 - 2 * 0.1)


def test_grpo_trainer_runs_repair_episodes_from_the_environment_factory(tmp_path, monkeypatch):
    """TRL's real ``GRPOTrainer`` (environment mode) with ``RepairToolEnvironment``: one
    instance per rollout, each reset with its row's task, the rollouts scored by
    ``get_reward``. The tiny model, untrained, never calls ``submit``, so every reward is
    the no-submission one; ``submit`` itself is tested above."""
    trl = pytest.importorskip("trl")
    from conftest import TINY
    from datasets import Dataset
    from trl.chat_template_utils import add_response_schema, qwen3_chat_template

    from agents.trl.agent import TRLAgent, TRLConfig
    from code_env.text_env import RepairToolEnvironment

    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    tasks = list(load_tasks("builtin", split="train"))[:2]
    config = TRLConfig(
        model="tiny",
        tiny=TINY,
        samples_per_task=2,
        tasks_per_update=2,
        max_new_tokens=16,
        device="cpu",
    )
    agent = TRLAgent(tasks, config)
    tokenizer = agent.policy.tokenizer
    tokenizer.chat_template = qwen3_chat_template  # a template TRL can render tool calls with
    tokenizer = add_response_schema(tokenizer)
    rows = [
        {"prompt": [{"role": "user", "content": t.prompt}], "task_id": t.task_id} for t in tasks
    ]
    made: list[RepairToolEnvironment] = []

    def factory() -> RepairToolEnvironment:
        made.append(RepairToolEnvironment(tasks=tasks, max_attempts=2, max_new_tokens=64))
        return made[-1]

    args = trl.GRPOConfig(**agent.trl_arguments(1, str(tmp_path)), max_tool_calling_iterations=2)
    trainer = trl.GRPOTrainer(
        model=agent.policy.model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        environment_factory=factory,
    )
    trainer.train()
    used = [env for env in made if env.env.task is not None]
    assert sorted(env.env.task.task_id for env in used) == sorted(2 * [t.task_id for t in tasks])
    logged = trainer.state.log_history[0]
    assert logged["rewards/RepairToolEnvironment/mean"] == -1.0  # get_reward, no submission
    assert "tools/call_frequency" in logged

"""Bad input at the public entry points, as a new user would give it: each is a clear
error naming the argument, file or function, raised at once."""

from __future__ import annotations

import gymnasium as gym
import pytest

import code_env  # noqa: F401 - registers the env
from agents.common.base import resolve_checkpoint
from code_env import load_tasks, rewards
from code_env.scoring import Scorer
from code_env.tasks.hub import HubUnavailableError, hub_reachable, looks_like_repo_id
from code_env.tokenizer import load_tokenizer

TASK = load_tasks("builtin", split="train")[0]


@pytest.mark.parametrize(
    ("program", "message"),
    [
        (None, "program must be the program's source text \\(str\\), got NoneType"),
        (b"def f(): pass", "program must be text \\(str\\), got bytes; decode it first"),
        (42, "got int"),
    ],
)
def test_sandbox_refuses_a_program_that_is_not_text(sandbox, program, message):
    with pytest.raises(TypeError, match=message):
        sandbox.run(program, TASK)
    with pytest.raises(TypeError, match="item 1: program must be"):
        sandbox.run_many([("pass", TASK), (program, TASK)])


def test_sandbox_refuses_a_task_that_is_not_a_task(sandbox):
    with pytest.raises(TypeError, match=r"task must be a code_env Task .*got str"):
        sandbox.run("pass", TASK.task_id)


def test_a_reward_that_returns_text_is_named_with_its_task(sandbox):
    def judged(result, task, program):
        return "high"

    scorer = Scorer([TASK], judged, sandbox=sandbox)
    with pytest.raises(
        TypeError, match=f"reward 'judged' returned 'high' \\(str\\) for task '{TASK.task_id}'"
    ):
        scorer.score(TASK, "    pass\n")
    scorer = Scorer([TASK], lambda r, t, p: 1, sandbox=sandbox)  # an int is a number
    assert scorer.score(TASK, "    pass\n")[0] == 1.0
    assert "coderl" in rewards.names()


def test_a_missing_tokenizer_path_says_so():
    with pytest.raises(FileNotFoundError, match="no tokenizer at 'some/missing/path'"):
        gym.make("CodeSynthesis-v0", tokenizer="some/missing/path")
    with pytest.raises(FileNotFoundError, match=r"no tokenizer at '\./nowhere'"):
        load_tokenizer("./nowhere")
    assert looks_like_repo_id("gpt2") and looks_like_repo_id("Salesforce/codet5-small")
    assert not looks_like_repo_id("some/missing/path") and not looks_like_repo_id("../x")


def test_offline_hub_fails_at_once_with_the_local_alternative(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_reachable() is False
    with pytest.raises(OSError, match="the hub cannot be reached"):
        load_tokenizer("an-uncached-model-name")
    with pytest.raises(HubUnavailableError, match="path="):
        load_tasks("mbpp")


def test_eval_takes_a_run_folder_or_its_checkpoint(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "config.json").write_text("{}")
    assert resolve_checkpoint(run) == run / "checkpoint"
    assert resolve_checkpoint(run / "checkpoint") == run / "checkpoint"
    with pytest.raises(FileNotFoundError, match="no saved agent in"):
        resolve_checkpoint(tmp_path)

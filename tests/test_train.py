"""The main job end to end (``code-synthesis train`` then ``eval --checkpoint``), the
cached warm-start, and the training example, on a one-layer model with tiny budgets."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import REPO_ROOT

from agents.actor_critic.agent import ActorCriticConfig
from agents.coderl.critic import CriticConfig
from agents.common.data import solution_pairs, split_ab
from agents.run.cli import main as cli_main
from agents.run.train import parse_overrides
from agents.run.warm_start import warm_start
from code_env import load_tasks

TINY_JSON = '{"n_layer": 1, "n_embd": 32, "n_head": 2}'


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CODE_SYNTHESIS_CACHE", str(folder))
    return folder


def test_warm_start_is_cached_by_its_settings(cache):
    pairs = solution_pairs(split_ab(load_tasks("builtin", split="train"))[0])[:8]
    tiny = {"n_layer": 1, "n_embd": 32, "n_head": 2}
    first = warm_start(pairs, steps=2, batch_size=2, tiny_config=tiny, progress=False)
    assert first.parent.parent == cache and (first / "config.json").is_file()
    meta = json.loads((first / "warm_start.json").read_text())
    assert meta["steps"] == 2 and meta["tiny"]["n_layer"] == 1 and meta["final_loss"] > 0
    stamp = (first / "config.json").stat().st_mtime_ns
    again = warm_start(pairs, steps=2, batch_size=2, tiny_config=tiny, progress=False)
    assert again == first and (first / "config.json").stat().st_mtime_ns == stamp
    other = warm_start(pairs, steps=3, batch_size=2, tiny_config=tiny, progress=False)
    assert other != first


def test_overrides_are_typed_and_checked():
    parsed = parse_overrides(
        ActorCriticConfig,
        ["kl_target=2", "adaptive_kl=false", "reward=binary", f"tiny={TINY_JSON}"],
    )
    assert parsed == {
        "kl_target": 2,
        "adaptive_kl": False,
        "reward": "binary",
        "tiny": {"n_layer": 1, "n_embd": 32, "n_head": 2},
    }
    with pytest.raises(ValueError, match="unknown ActorCriticConfig field 'nope'"):
        parse_overrides(ActorCriticConfig, ["nope=1"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_overrides(ActorCriticConfig, ["kl_target"])


def test_train_then_eval_checkpoint_then_resume(tmp_path, cache, capsys):
    out = tmp_path / "run"
    common = ["--warm-start-steps", "3", "--eval-samples", "2", "--out", str(out), "--quiet"]
    settings = [
        *("--set", "max_new_tokens=8"),
        *("--set", "tasks_per_update=2"),
        *("--set", "samples_per_task=2"),
        *("--set", "replay_batch=2"),
        *("--set", f"tiny={TINY_JSON}"),
    ]
    assert cli_main(["train", "--updates", "2", *common, *settings]) == 0
    printed = capsys.readouterr().out
    assert "warm-start" in printed and "after RL" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["updates"] == 2 and report["config"]["max_new_tokens"] == 8
    assert set(report["before"]) == set(report["after"]) == {"B (rewards only)", "C (held out)"}
    for name in ("learning_curve.png", "outcomes.png", "report.md", "metrics.jsonl"):
        assert (out / name).stat().st_size > 0, name
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2

    # evaluate the checkpoint on the held-out split
    assert (
        cli_main(
            [
                "eval",
                "--checkpoint",
                str(out / "checkpoint"),
                "--k",
                "1,2",
                "--samples",
                "2",
                "--json",
                str(tmp_path / "eval.json"),
                "--quiet",
            ]
        )
        == 0
    )
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    assert evaluated["n_tasks"] == len(load_tasks("builtin", split="test"))
    assert "pass@2" in capsys.readouterr().out

    # resume continues from update 2 to 3 without re-running the first evaluation
    before_file = (out / "eval_before.json").read_text()
    assert cli_main(["train", "--updates", "3", "--resume", *common, *settings]) == 0
    assert json.loads((out / "report.json").read_text())["updates"] == 3
    assert (out / "eval_before.json").read_text() == before_file
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3


def test_resume_without_a_checkpoint_is_an_error(tmp_path, cache):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        cli_main(
            [
                "train",
                "--resume",
                "--out",
                str(tmp_path / "empty"),
                "--warm-start-steps",
                "1",
                "--set",
                f"tiny={TINY_JSON}",
                "--quiet",
            ]
        )


def test_training_example_smoke(cache):
    sys.path.insert(0, str(REPO_ROOT / "examples"))
    try:
        import train_actor_critic
    finally:
        sys.path.pop(0)
    summary = train_actor_critic.main(
        ["--updates", "2", "--warm-start-steps", "3", "--samples", "2", "--small"]
    )
    assert set(summary) == {"warm-start B", "warm-start C", "after RL B", "after RL C"}
    for numbers in summary.values():
        assert 0.0 <= numbers["greedy_pass_at_1"] <= 1.0


def test_coderl_train_critic_and_critic_sampling_from_the_command_line(tmp_path, cache, capsys):
    """train --agent coderl trains its critics first; train-critic alone; eval
    --critic-sampling compares both methods at one budget."""
    out = tmp_path / "run"
    settings = [
        *("--set", "max_new_tokens=8"),
        *("--set", "tasks_per_update=2"),
        *("--set", "samples_per_task=2"),
        *("--set", "ce_batch=2"),
        *("--set", "critic_samples_per_task=1"),
        *("--set", "critic_steps=2"),
        *("--set", "critic_rl_updates=1"),
        *("--set", f"tiny={TINY_JSON}"),
    ]
    common = ["--warm-start-steps", "3", "--eval-samples", "1", "--quiet"]
    assert (
        cli_main(
            ["train", "--agent", "coderl", "--updates", "2", "--out", str(out), *common, *settings]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert report["agent"] == "CodeRLAgent" and report["config"]["critic"] == str(out / "critic")
    critic_report = json.loads((out / "critic" / "critic_report.json").read_text())
    n_test = len(load_tasks("builtin", split="test"))
    per_task = CriticConfig().held_out_samples_per_task
    assert critic_report["outcome"]["held_out"]["n"] == per_task * n_test
    assert (out / "critic" / "test" / "critic.json").is_file()
    # the recipe's copy of the actor after RL sampled programs too
    assert critic_report["samplers"] == ["actor", "rl-actor"]
    assert (out / "critic" / "rl-actor" / "rl_sampler.json").is_file()
    capsys.readouterr()

    args = ["eval", "--checkpoint", str(out / "checkpoint"), "--critic-sampling", "--budget", "2"]
    assert cli_main([*args, "--json", str(tmp_path / "cs.json"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Critic Sampling" in printed and "1@2" in printed
    result = json.loads((tmp_path / "cs.json").read_text())
    assert sum(result["stage_counts"].values()) == 2 * result["tasks"]
    # with no φ_test to be found, a clear message and exit code 2
    assert cli_main([*args, "--critic", str(tmp_path), "--quiet"]) == 2
    assert "no φ_test" in capsys.readouterr().err


def test_coderl_example_smoke(cache):
    sys.path.insert(0, str(REPO_ROOT / "examples"))
    try:
        import train_coderl
    finally:
        sys.path.pop(0)
    summary = train_coderl.main(
        ["--updates", "2", "--warm-start-steps", "3", "--budget", "2", "--small"]
    )
    assert set(summary) == {"before", "after", "critic_accuracy", "cs_pass"}
    assert all(0.0 <= value <= 1.0 for value in summary.values())


def test_train_critic_command_on_a_saved_model(tmp_path, capsys):
    from agents import Policy

    model = tmp_path / "model"
    Policy("tiny", reference=False, tiny_config=json.loads(TINY_JSON)).save(model)
    out = tmp_path / "critic"
    args = ["train-critic", "--model", str(model), "--out", str(out), "--quiet"]
    settings = ["--samples-per-task", "1", "--steps", "2", "--max-new-tokens", "8"]
    settings += ["--held-out-samples-per-task", "2"]
    assert cli_main([*args, *settings, "--recipe", "original"]) == 0
    printed = capsys.readouterr().out
    assert "φ:" in printed and "φ_test:" in printed and "balanced accuracy" in printed
    report = json.loads((out / "critic_report.json").read_text())
    a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
    seen = report["outcome"]["train_examples"] + report["outcome"]["validation"]["n"]
    assert seen == len(b_tasks)  # one program per B task; B has no references to add
    assert report["samplers"] == ["actor"] and not (out / "rl-actor").exists()
    # the default recipe: A's and B's tasks at three temperatures from the model and
    # from a copy of it after RL (one update here), A's references and up to 16
    # mutants of each
    assert cli_main([*args, *settings, "--actor-rl-updates", "1"]) == 0
    report = json.loads((out / "critic_report.json").read_text())
    assert report["samplers"] == ["actor", "rl-actor"]
    assert report["config"]["actor_rl_updates"] == 1
    seen = report["outcome"]["train_examples"] + report["outcome"]["validation"]["n"]
    most = 2 * 3 * (len(a_tasks) + len(b_tasks)) + len(a_tasks) * (1 + 16)
    assert len(b_tasks) + 2 * len(a_tasks) < seen <= most
    rl_actor = json.loads((out / "rl-actor" / "rl_sampler.json").read_text())
    assert rl_actor["updates"] == 1 and rl_actor["tasks"] == [t.task_id for t in b_tasks]
    assert report["config"]["temperatures"] == [0.6, 1.0, 1.3]
    assert report["outcome"]["init"] == "actor" and report["config"]["read_brackets"]
    # the default critics take the parser's verdict: the fair constant is told it too
    assert report["config"]["knows_syntax"] and report["config"]["held_out_samples_per_task"] == 2
    held = report["outcome"]["held_out"]
    assert held["n"] == 2 * len(load_tasks("builtin", split="test"))
    assert held["recall"]["compile_error"] in (None, 1.0)  # the parser decides it
    own = report["outcome"]["held_out_compiling"]
    assert own["n"] == held["n"] - sum(held["confusion"][0])
    distinct = report["outcome"]["held_out_distinct"]
    assert 0 < distinct["n"] <= held["n"]
    assert sum(distinct["label_counts"].values()) == distinct["n"]
    out = capsys.readouterr().out
    assert "told whether each program compiles" in out
    assert f"on its {distinct['n']} distinct programs" in out


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("train_ppo", ["--updates", "2", "--warm-start-steps", "3", "--small"]),
        (
            "train_trl_grpo",
            ["--updates", "2", "--warm-start-steps", "3", "--samples", "2", "--small"],
        ),
    ],
)
def test_ppo_and_grpo_examples_smoke(cache, module, argv):
    import importlib

    sys.path.insert(0, str(REPO_ROOT / "examples"))
    try:
        example = importlib.import_module(module)
    finally:
        sys.path.pop(0)
    summary = example.main(argv)
    if module == "train_ppo":
        assert summary["updates"] == 2.0
        assert 0.0 <= summary["before"] <= 1.0 and 0.0 <= summary["after"] <= 1.0
    else:
        assert set(summary) == {"warm-start B", "warm-start C", "after RL B", "after RL C"}
        assert all(0.0 <= v["greedy_pass_at_1"] <= 1.0 for v in summary.values())

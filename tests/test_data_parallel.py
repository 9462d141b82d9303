"""Data-parallel training on 2 CPU processes (gloo over loopback, started by
``agents.run.launch`` as ``code-synthesis train --processes 2`` starts them).

* one update of each own agent on 2 processes ends with the parameters of 1 process on
  the same samples (the averaging is right, not just running), with the same metrics,
  with a copy of the model on each process and with the model sharded (FSDP2);
* after more updates every process holds the same parameters, and a second run with
  the same seed and process count repeats the first exactly;
* a sharded agent saved and loaded again holds the same parameters;
* ``train --processes 2`` → checkpoint → ``eval`` through the command line, and a run
  killed mid-way resumes on 2 processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO_ROOT

from agents.common.distributed import Distributed
from agents.run.cli import main as cli_main
from agents.run.cli import without_processes_flag
from agents.run.launch import launch

TINY_JSON = '{"n_layer": 1, "n_embd": 32, "n_head": 2}'
SCRIPT = REPO_ROOT / "tests" / "scripts" / "data_parallel_update.py"
AGENTS = ("actor-critic", "ppo", "coderl")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CODE_SYNTHESIS_CACHE", str(folder))
    return folder


@pytest.fixture(scope="module")
def updates(tmp_path_factory):
    """The script's results alone, on 2 processes (twice), and sharded on 2."""
    out = tmp_path_factory.mktemp("data-parallel")
    again = tmp_path_factory.mktemp("data-parallel-again")
    alone = subprocess.run([sys.executable, str(SCRIPT), str(out)], cwd=REPO_ROOT, check=False)
    assert alone.returncode == 0
    assert launch([str(SCRIPT), str(out)], 2) == 0
    assert launch([str(SCRIPT), str(again)], 2) == 0
    assert launch([str(SCRIPT), str(out), "--fsdp"], 2) == 0
    results = {}
    for name in AGENTS:
        for key, path in (
            ("alone", out / f"{name}-1.pt"),
            ("copies", out / f"{name}-2.pt"),
            ("copies again", again / f"{name}-2.pt"),
            ("sharded", out / f"{name}-2-fsdp.pt"),
        ):
            results[(name, key)] = torch.load(path, weights_only=False)
    return results


@pytest.mark.parametrize("mode", ["copies", "sharded"])
@pytest.mark.parametrize("name", AGENTS)
def test_one_update_on_two_processes_equals_one_process(updates, name, mode):
    one, two = updates[(name, "alone")], updates[(name, mode)]
    moved = (one["after_one"] - two["after_one"]).abs().max()
    assert moved < 1e-6, f"{name} ({mode}): parameters differ by {float(moved)}"
    assert set(one["metrics"]) == set(two["metrics"])
    for key, value in one["metrics"].items():
        assert two["metrics"][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize("mode", ["copies", "sharded"])
@pytest.mark.parametrize("name", AGENTS)
def test_processes_hold_the_same_parameters_after_several_updates(updates, name, mode):
    checksums = updates[(name, mode)]["checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]
    history = updates[(name, mode)]["history"]
    assert [h["update"] for h in history] == [2, 3]
    # rollout metrics are the whole update's: 4 tasks x 2 samples on two processes
    assert all(h["rollout/tokens"] > 0 for h in history)


@pytest.mark.parametrize("name", AGENTS)
def test_a_run_repeats_for_a_seed_and_a_process_count(updates, name):
    first, second = updates[(name, "copies")], updates[(name, "copies again")]
    assert first["checksums"] == second["checksums"]
    assert (
        first["history"][-1]["rollout/reward_mean"] == second["history"][-1]["rollout/reward_mean"]
    )


@pytest.mark.parametrize("name", AGENTS)
def test_sharded_agent_saves_whole_and_loads_sharded_again(updates, name):
    sharded = updates[(name, "sharded")]
    assert sharded["reloaded"] == sharded["checksums"][0]


def test_shares_split_work_evenly_and_in_order():
    dist = Distributed.__new__(Distributed)
    dist.accelerator, dist.local_rank = None, 0
    pieces = []
    for rank in range(3):
        dist.world_size, dist.rank = 3, rank
        pieces.append(dist.shard(list(range(8))))
    assert pieces == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert [i for piece in pieces for i in piece] == list(range(8))


def test_processes_flag_is_dropped_for_the_started_processes():
    argv = ["train", "--processes", "2", "--updates", "3", "--processes=4", "--quiet"]
    assert without_processes_flag(argv) == ["train", "--updates", "3", "--quiet"]
    assert cli_main(["train", "--processes", "0"]) == 2


def _train_args(out, updates: int) -> list[str]:
    return [
        "train",
        "--processes",
        "2",
        "--updates",
        str(updates),
        "--warm-start-steps",
        "3",
        "--eval-samples",
        "2",
        "--out",
        str(out),
        "--quiet",
        *("--set", "max_new_tokens=8"),
        *("--set", "tasks_per_update=4"),
        *("--set", "samples_per_task=2"),
        *("--set", "replay_batch=2"),
        *("--set", f"tiny={TINY_JSON}"),
    ]


def test_two_process_train_then_checkpoint_then_eval(tmp_path, cache):
    out = tmp_path / "run"
    assert cli_main(_train_args(out, 2)) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["processes"] == 2 and report["updates"] == 2
    assert set(report["after"]) == {"B (rewards only)", "C (held out)"}
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["update"] for x in lines] == [1, 2]  # one writer: no line twice
    state = torch.load(out / "checkpoint" / "state.pt", weights_only=False)
    assert state["processes"] == 2 and len(state["rng"]["processes"]) == 2
    assert not list(out.glob("checkpoint.*")), "no half-written checkpoint left"

    evaluated = tmp_path / "eval.json"
    argv = ["eval", "--checkpoint", str(out), "--k", "1", "--samples", "1"]
    assert cli_main([*argv, "--json", str(evaluated), "--quiet"]) == 0
    assert json.loads(evaluated.read_text())["n_tasks"] > 0


def test_sharded_two_process_train_then_resume(tmp_path, cache):
    out = tmp_path / "run"
    sharded = [*("--set", "fsdp=true")]
    assert cli_main([*_train_args(out, 2), *sharded]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["processes"] == 2 and report["config"]["fsdp"] is True
    state = torch.load(out / "checkpoint" / "state.pt", weights_only=False)
    assert "optimizer_by_name" in state["extra"] and state["extra"]["critic"]
    assert cli_main([*_train_args(out, 3), "--resume", *sharded]) == 0
    assert json.loads((out / "report.json").read_text())["updates"] == 3


def test_two_process_run_killed_midway_resumes(tmp_path, cache):
    out = tmp_path / "run"
    env = {**os.environ, "CODE_SYNTHESIS_CACHE": str(cache)}
    command = [sys.executable, "-m", "agents.run.cli", *_train_args(out, 40)]
    run = subprocess.Popen(command, cwd=REPO_ROOT, env=env, start_new_session=True)
    state = out / "checkpoint" / "state.pt"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and run.poll() is None:
            metrics = out / "metrics.jsonl"
            if state.is_file() and metrics.is_file() and len(metrics.read_text().splitlines()) >= 2:
                break
            time.sleep(0.5)
        assert run.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the launcher and both processes, at once
        run.wait()
    saved = torch.load(state, weights_only=False)["n_updates"]
    assert 1 <= saved < 40

    target = saved + 2
    resumed = subprocess.run(
        [sys.executable, "-m", "agents.run.cli", *_train_args(out, target), "--resume"],
        cwd=REPO_ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["updates"] == target and report["processes"] == 2
    updates = [json.loads(x)["update"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert updates == list(range(1, target + 1))

"""Distributed evaluation (``agents.run.ray_eval``) and ``--ray`` on the command line, on a
real two-node Ray cluster on this machine (the ``ray_cluster`` fixture) and a tiny
model warm-started in seconds on a few tasks.

Each test makes its own RaySandbox with one worker per node and closes it: the cluster
has one CPU per node, and a RaySandbox reserves them all.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from conftest import TINY

from agents import ActorCriticAgent, ActorCriticConfig
from agents.common.data import solution_pairs
from agents.common.evaluation import evaluate_completions
from agents.run.cli import main as cli_main
from agents.run.ray_eval import evaluate_checkpoint_on_ray
from agents.run.warm_start import warm_start
from code_env import load_tasks
from code_env.sandbox import RaySandbox, Sandbox
from code_env.tasks.jsonl import write_jsonl

# A temperature this low makes sampling pick the argmax: samples equal the greedy
# completion, so every number of a report (not only its greedy ones) can be compared.
ARGMAX_TEMPERATURE = 1e-4


@pytest.fixture(scope="module")
def tasks():
    """Three tasks the model learned to solve, and three it never saw."""
    return load_tasks("builtin", split="train")[:6]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tasks):
    """A run folder whose ``checkpoint/`` holds an agent whose greedy programs pass some
    tasks and fail others (warm-started on the first three tasks' solutions)."""
    folder = tmp_path_factory.mktemp("ray_eval")
    model = warm_start(
        solution_pairs(tasks[:3]),
        steps=60,
        lr=1e-2,
        batch_size=3,
        tiny_config=TINY,
        cache_dir=folder / "cache",
        progress=False,
    )
    config = ActorCriticConfig(model=str(model), max_new_tokens=48, generation_batch_size=4)
    with Sandbox(workers=1) as sandbox:
        ActorCriticAgent(tasks, config, sandbox=sandbox).save(folder / "run" / "checkpoint")
    return folder / "run"


def test_distributed_eval_equals_the_local_one(ray_cluster, run_dir, tasks):
    """Same greedy pass@1, outcome shares and per-task records as ``agent.evaluate``;
    with argmax sampling the whole report is the same."""
    with Sandbox(workers=1) as sandbox:
        agent = ActorCriticAgent.load(run_dir / "checkpoint", tasks, sandbox=sandbox)
        local = agent.evaluate(tasks, k=(1, 2), n=2, temperature=ARGMAX_TEMPERATURE)
    stats: dict = {}
    with RaySandbox(workers_per_node=1) as rsb:
        distributed = evaluate_checkpoint_on_ray(
            run_dir,  # a run folder: its checkpoint/ is found
            tasks,
            sandbox=rsb,
            k=(1, 2),
            n=2,
            chunk_tasks=2,
            temperature=ARGMAX_TEMPERATURE,
            progress=False,
            stats=stats,
        )
        graded = rsb.stats.programs  # cache hits included: argmax samples repeat
        # evaluate_completions takes any sandbox, a RaySandbox too.
        references = {t.task_id: [t.solutions[0]] for t in tasks}
        graded_references = evaluate_completions(tasks, references, scorer_or_sandbox=rsb, ks=(1,))
    assert graded_references.pass_at_k == {1: 1.0}
    greedy = [record["greedy_outcome"] for record in local.per_task]
    assert "passed" in greedy and set(greedy) != {"passed"}, greedy  # a telling mix
    assert distributed.greedy_pass_at_1 == local.greedy_pass_at_1
    assert distributed.greedy_outcome_shares == local.greedy_outcome_shares
    assert distributed.per_task == local.per_task
    assert distributed.to_dict() == local.to_dict()
    # Generation was spread: two replicas (one per CPU), one on each node.
    assert len(stats["replicas"]) == 2 and stats["chunks"] == 3
    assert len({r["node_id"] for r in stats["replicas"]}) == 2
    assert sum(r["chunks"] for r in stats["replicas"]) == 3
    assert {r["device"] for r in stats["replicas"]} == {"cpu"}
    assert graded == stats["programs"] == 6 * 3
    # The replicas were killed at the end.
    assert _gone([r["pid"] for r in stats["replicas"]])


def test_cli_eval_checkpoint_on_ray_and_reproducible_samples(
    ray_cluster, run_dir, tasks, tmp_path, capsys
):
    """``eval --checkpoint RUN --ray ADDRESS`` prints the local path's table plus where
    it ran; its samples (temperature 1) are the same with one replica, the checkpoint
    shipped through the object store instead of read from disk."""
    task_file = tmp_path / "tasks.jsonl"
    write_jsonl(tasks, task_file)
    out = tmp_path / "eval.json"
    argv = ["eval", "--checkpoint", str(run_dir), "--tasks", str(task_file)]
    argv += ["--ray", ray_cluster.address, "--k", "1,2", "--samples", "3"]
    assert cli_main([*argv, "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "greedy pass@1" in printed and "pass@2" in printed
    assert "2 model replicas (2 on cpu) on 2 node(s)" in printed
    assert "graded by 2 node(s) with 2 sandbox workers" in printed
    from_cli = json.loads(out.read_text())
    assert from_cli["n_tasks"] == 6 and from_cli["n_samples"] == 3

    with RaySandbox(workers_per_node=1) as rsb:
        again = evaluate_checkpoint_on_ray(
            run_dir / "checkpoint",
            tasks,
            sandbox=rsb,
            k=(1, 2),
            n=3,
            replicas=1,
            ship_checkpoint=True,
            progress=False,
        )
    # JSON turns pass@k's int keys into strings: compare through the same round trip.
    assert json.loads(json.dumps(again.to_dict())) == from_cli


def test_cli_eval_reference_on_ray_counts_as_the_local_one(ray_cluster, tmp_path, capsys):
    common = ["eval", "--reference", "--tasks", "builtin", "--split", "test", "--quiet"]
    local, remote = tmp_path / "local.json", tmp_path / "ray.json"
    assert cli_main([*common, "--workers", "1", "--json", str(local)]) == 0
    capsys.readouterr()
    assert cli_main([*common, "--ray", ray_cluster.address, "--json", str(remote)]) == 0
    printed = capsys.readouterr().out
    assert "programs/s" in printed and "on 2 Ray node(s)" in printed
    here, there = json.loads(local.read_text()), json.loads(remote.read_text())
    assert there["groups"] == here["groups"]
    assert there["groups"]["all"]["passed"] == here["tasks"] == 54
    assert there["ray_nodes"] == 2 and here["ray_nodes"] is None


def test_train_grades_on_ray(ray_cluster, tasks, tmp_path, monkeypatch, capsys):
    """``train --ray ADDRESS``: rollouts and evaluations graded by one RaySandbox, made
    and closed by the run."""
    monkeypatch.setenv("CODE_SYNTHESIS_CACHE", str(tmp_path / "cache"))
    task_file = tmp_path / "tasks.jsonl"
    write_jsonl(tasks, task_file)
    out = tmp_path / "run"
    tiny = json.dumps(TINY)
    argv = ["train", "--tasks", str(task_file), "--updates", "1", "--out", str(out)]
    argv += ["--warm-start-steps", "3", "--eval-samples", "1", "--quiet"]
    argv += ["--set", "max_new_tokens=8", "--set", "tasks_per_update=2"]
    argv += ["--set", "samples_per_task=2", "--set", "replay_batch=2", "--set", f"tiny={tiny}"]
    assert cli_main([*argv, "--ray", ray_cluster.address]) == 0
    assert "grading on the Ray cluster" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["updates"] == 1
    assert report["sandbox"] == {
        "kind": "RaySandbox",
        "workers": 2,
        "nodes": 2,
        "address": ray_cluster.address,
    }
    # Closed at the end: both CPUs are free again for the next RaySandbox.
    with RaySandbox(workers_per_node=1, cluster_timeout_s=20) as rsb:
        assert len(rsb.nodes) == 2


def test_without_ray_a_clear_error_with_the_install_hint(monkeypatch, run_dir, tasks, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    hint = r"pip install 'code-synthesis-rl\[ray\]'"
    with pytest.raises(ImportError, match=hint):
        # Ray is imported before the sandbox is looked at.
        evaluate_checkpoint_on_ray(run_dir, tasks, sandbox=None, progress=False)  # type: ignore[arg-type]
    assert cli_main(["eval", "--reference", "--ray", "--quiet"]) == 2
    assert "code-synthesis-rl[ray]" in capsys.readouterr().err
    assert cli_main(["eval", "--checkpoint", str(run_dir), "--ray", "--quiet"]) == 2
    assert "code-synthesis-rl[ray]" in capsys.readouterr().err


def test_replicas_need_ray_and_help_explains_ray(run_dir, capsys):
    assert cli_main(["eval", "--checkpoint", str(run_dir), "--replicas", "2", "--quiet"]) == 2
    assert "--replicas needs --ray" in capsys.readouterr().err
    for command in ("train", "eval"):
        with pytest.raises(SystemExit):
            cli_main([command, "--help"])
        # argparse wraps lines, also after a hyphen
        text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")
        assert "--ray [ADDRESS]" in text and "RAY_ADDRESS" in text, command
        assert "pip install 'code-synthesis-rl[ray]'" in text, command


def _gone(pids: list[int], timeout_s: float = 10.0) -> bool:
    """Whether every process in ``pids`` has ended (killing an actor is asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            alive.append(pid)
        if not alive:
            return True
        time.sleep(0.1)
    return False

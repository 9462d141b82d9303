"""benchmarks/ray_sandbox.py end to end at a tiny budget: it starts its own two-node
loopback Ray cluster, grades MBPP references with the local Sandbox and the RaySandbox,
removes a node mid-batch and adds one back, and the JSON it writes holds every part
with every verdict agreeing (the timings themselves are the benchmark's business)."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import REPO_ROOT, load_script, needs_shared_mbpp


@pytest.fixture(scope="module")
def bench():
    benchmarks = str(REPO_ROOT / "benchmarks")
    sys.path.insert(0, benchmarks)  # the script imports machine_load from beside it
    try:
        yield load_script(REPO_ROOT / "benchmarks" / "ray_sandbox.py", "ray_sandbox")
    finally:
        sys.modules.pop("ray_sandbox", None)
        sys.path.remove(benchmarks)


def test_refuses_with_a_ray_connection_open(bench, monkeypatch, tmp_path):
    import ray

    mbpp = tmp_path / "mbpp.jsonl"
    mbpp.write_text("")
    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    with pytest.raises(SystemExit, match="already has a Ray connection"):
        bench.main(["--mbpp", str(mbpp), "--apps-rounds", "0"])


@needs_shared_mbpp
def test_small_run_reports_every_part_and_agrees(bench, tmp_path, capsys):
    import ray

    assert not ray.is_initialized(), "another Ray connection is open in this process"
    out = tmp_path / "ray_sandbox.json"
    argv = [
        "--limit", "40", "--repeats", "1", "--batches", "2", "--batch-size", "16",
        "--singles", "5", "--loss-rounds", "8", "--apps-rounds", "1", "--apps-solutions", "1",
        "--json", str(out),
    ]  # fmt: skip
    assert bench.main(argv) == 0
    assert not ray.is_initialized()
    report = json.loads(out.read_text())
    assert {
        "command", "environment", "config", "startup", "throughput", "agreement",
        "throughput_fast", "agreement_fast", "latency", "node_loss", "node_join", "projection",
    } <= set(report)  # fmt: skip
    env = report["environment"]
    assert env["cpus"] and env["ray"] and env["python"]
    assert {n["address"] for n in env["ray_nodes"]} == {"127.0.0.1"}
    for key in ("listening_sockets_after_start", "listening_sockets_after_join"):
        assert env[key] and all(bench.is_loopback(a) for a in env[key]), env[key]

    tp = report["throughput"]
    for name in ("local", "ray"):
        assert len(tp[name]["programs_per_s"]) == 1 and tp[name]["median_programs_per_s"] > 0
    assert tp["ratio"] > 0 and isinstance(tp["met"], bool)

    agreement = report["agreement"]
    assert agreement["programs"] == 40
    assert agreement["differ"] == 0, agreement["disagreements"]
    fast = report["throughput_fast"]
    assert fast["programs"] == 2 * (40 - len(fast["left_out"])) and fast["ratio"] > 0
    assert report["agreement_fast"]["differ"] == 0, report["agreement_fast"]["disagreements"]

    latency = report["latency"]
    assert latency["batch"]["ray"]["median_s"] > 0
    assert latency["single_submit"]["ray"]["median_ms"] > 0

    loss = report["node_loss"]
    assert loss["programs"] == 320
    assert loss["verdicts_back"] == loss["verdicts_equal_local"] == 320, loss["differ"]
    assert loss["stats_delta"]["actors_lost"] == 1
    assert loss["stats"]["retried"] >= 0
    join = report["node_join"]
    assert join["picked_up"] and join["new_node_is_new"]
    assert sum(n["state"] == "ready" for n in join["nodes"]) == 2

    assert report["apps"]["programs"] == report["apps"]["problems"]
    assert "ratio Ray / local" in capsys.readouterr().out

"""benchmarks/train_throughput.py end to end at a tiny budget: every agent it names runs
in its own process (or, with ``--processes 2``, its own two) on the same saved model, and
the JSON it writes holds what each measured (the figures themselves are the
benchmark's business, not the test's)."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import REPO_ROOT, TINY, load_script

from agents import Policy

pytest.importorskip("trl", reason="the GRPO row needs trl: pip install 'code-synthesis-rl[trl]'")


@pytest.fixture(scope="module")
def throughput():
    yield load_script(REPO_ROOT / "benchmarks" / "train_throughput.py", "train_throughput")
    sys.modules.pop("train_throughput", None)


def test_each_agent_measured_in_its_own_process(throughput, tmp_path, capsys):
    model = tmp_path / "tiny"
    Policy("tiny", tiny_config=TINY, reference=False).save(model)
    out = tmp_path / "throughput.json"
    argv = [
        "--agents", "ppo-2epochs,grpo", "--model", str(model), "--updates", "1",
        "--warmup", "0", "--tasks-per-update", "2", "--samples-per-task", "2",
        "--max-new-tokens", "6", "--processes", "1,2", "--out", str(out),
    ]  # fmt: skip
    assert throughput.main(argv) == 0
    results = json.loads(out.read_text())["results"]
    assert [(r["agent"], r["processes"]) for r in results] == [
        ("ppo-2epochs", 1),
        ("ppo-2epochs", 2),
        ("grpo", 1),
        ("grpo", 2),
    ]
    assert [r["class"] for r in results] == ["PPOAgent", "PPOAgent", "TRLAgent", "TRLAgent"]
    for r in results:
        assert r["tokens"] > 0 and r["tokens_per_s"] > 0
        assert r["peak_rss_mb"] > 0 and r["peak_rss_mb_all"] >= r["peak_rss_mb"]
    two = [r for r in results if r["processes"] == 2]
    assert all(r["peak_rss_mb_all"] > r["peak_rss_mb"] for r in two)  # both processes counted
    printed = capsys.readouterr().out
    assert "PPOAgent (ppo_epochs=2)" in printed and "TRL GRPO's tokens/s" in printed
    assert "2 processes give" in printed


def test_unknown_agent_is_refused(throughput):
    with pytest.raises(SystemExit):
        throughput.main(["--agents", "ppo,sac"])

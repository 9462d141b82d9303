"""The learning benchmark's actor-critic+datagen row: generated tasks really join B in
the agent's pool (without solutions, A's references in the replay buffer), the
generated set is made once and cached, and the run reports on B and C."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO_ROOT, TINY, load_script

from agents import Policy
from agents.common.data import split_ab
from code_env import load_tasks

SOURCE = '''
def clamp(x: int, low: int, high: int) -> int:
    """Clamp a number into the closed range from low to high."""
    if x < low:
        return low
    if x > high:
        return high
    return x


def count_vowels(text: str) -> int:
    """Count how many vowels a piece of text contains."""
    return sum(1 for ch in text.lower() if ch in "aeiou")


def running_total(values: list[int]) -> list[int]:
    """Return the running totals of a list of numbers."""
    out = []
    total = 0
    for value in values:
        total += value
        out.append(total)
    return out
'''


@pytest.fixture(scope="module")
def learning():
    yield load_script(REPO_ROOT / "benchmarks" / "learning.py", "learning_benchmark")
    sys.modules.pop("learning_benchmark", None)


def test_row_trains_on_b_plus_generated_tasks(learning, sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("CODE_SYNTHESIS_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "src"
    source.mkdir()
    (source / "small.py").write_text(SOURCE)
    monkeypatch.setattr(learning, "DATAGEN_SOURCE", str(source))
    warm = tmp_path / "warm"
    Policy("tiny", tiny_config=TINY, reference=False).save(warm)
    a_all, b_all = split_ab(load_tasks("builtin", split="train"))
    a, b, c = a_all[:4], b_all[:3], load_tasks("builtin", split="test")[:2]

    def setting(**datagen):
        return learning.Setting(a, b, c, str(warm), sandbox, 2, 1, 2, False, **datagen)

    seen = {}
    real_train_agent = learning.train_agent

    def spy(agent, setting):
        seen["pool"] = list(agent.tasks)
        seen["buffer"] = set(agent.buffer.tasks())
        seen["references"] = agent.buffer.count("reference")
        return real_train_agent(agent, setting)

    monkeypatch.setattr(learning, "train_agent", spy)
    first = setting(datagen_count=2)
    run = learning.row_actor_critic_datagen(first, seed=0)

    info = first.datagen_info
    assert info["source"].startswith("datagen on") and info["generated"] >= 2
    assert info["count"] == 2 and info["b"] == len(b)
    pool = seen["pool"]
    assert len(pool) == len(b) + 2
    assert {t.task_id for t in pool[: len(b)]} == {t.task_id for t in b}
    assert all(t.task_id.startswith("datagen/") for t in pool[len(b) :])
    assert all(not t.solutions for t in pool)  # B's and the generated ones hidden alike
    assert seen["buffer"] == {t.task_id for t in a} and seen["references"] == len(a)
    assert [u for u, _ in run.curve] == [0, 1, 2]
    for report in (run.b, run.c):
        assert 0.0 <= report["greedy_pass_at_1"] <= 1.0 and "pass_at_k" in report
    assert run.tokens_generated > 0

    # the generated set is cached: a second setting finds it without running datagen
    def no_datagen(*args, **kwargs):
        raise AssertionError("datagen ran again")

    monkeypatch.setattr("datagen.pipeline.run_datagen", no_datagen)
    again = setting()
    assert learning.shared_datagen(again) == first.datagen_tasks
    # another seed draws its own generated tasks; --datagen-tasks is recorded as the source
    given = setting(datagen_tasks=first.datagen_tasks, datagen_count=1)
    pool = learning.datagen_pool(given, seed=1)
    assert len(pool) == len(b) + 1 and given.datagen_info["source"] == "--datagen-tasks"


def test_results_compare_with_b_alone_only_when_both_rows_exist(learning):
    def number(b, c):
        return {"b_greedy": (b, 0.02), "c_greedy": (c, 0.01), "seeds": 3}

    info = {
        "b": 75,
        "count": 75,
        "fit": 400,
        "generated": 900,
        "tasks_file": "tasks.jsonl",
        "sha256": "abc",
        "source": "--datagen-tasks",
    }
    assert learning.datagen_section({"actor-critic": number(0.4, 0.2)}, info) == []
    numbers = {"actor-critic": number(0.40, 0.20), "actor-critic+datagen": number(0.45, 0.21)}
    text = "\n".join(learning.datagen_section(numbers, info))
    assert "on B 45.0 ± 2.0% vs 40.0 ± 2.0% (+5.0 points, beyond" in text
    assert "on C 21.0 ± 1.0% vs 20.0 ± 1.0% (+1.0 points, within" in text
    assert "B (75 tasks) plus 75 generated tasks" in text and "50% of its draws" in text

"""benchmarks/critic_folds.py: task folds keep every task on one side, the decision
figures count what they say, and a quick run trains a critic per fold, searches offsets
on the pooled out-of-fold logits and writes the table."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT, load_script

from agents.coderl.critic import CriticExample


@pytest.fixture(scope="module")
def folds():
    yield load_script(REPO_ROOT / "benchmarks" / "critic_folds.py", "critic_folds")
    sys.modules.pop("critic_folds", None)


def test_task_folds_never_split_a_task(folds):
    examples = [CriticExample(f"t{i % 7}", [1], [i], i % 2) for i in range(40)]
    cut = folds.task_folds(examples, 3, seed=0)
    seen = []
    for train, validation_index in cut:
        validation_tasks = {examples[i].task_id for i in validation_index}
        assert validation_tasks and not validation_tasks & {e.task_id for e in train}
        assert len(train) + len(validation_index) == len(examples)
        seen += validation_index
    assert sorted(seen) == list(range(40))  # every program validates exactly once


def test_decision_figures(folds):
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.0, 3.0]])
    labels = np.array([0, 1, 1, 0])
    plain = folds.decision(logits, labels, None, np.zeros(2))
    assert plain["accuracy"] == 0.5 and plain["predicted"] == [2, 2]
    assert plain["recall"] == [0.5, 0.5]
    # an offset moves the third program to "passed"; a mask rules the fourth out
    allowed = np.array([[True, True], [True, True], [True, True], [True, False]])
    moved = folds.decision(logits, labels, allowed, np.array([0.0, 1.0]))
    assert moved["accuracy"] == 1.0 and moved["balanced_accuracy"] == 1.0


def test_a_quick_run_writes_its_table(folds, tmp_path, monkeypatch):
    monkeypatch.setenv("CODE_SYNTHESIS_CACHE", str(tmp_path / "cache"))
    assert folds.main(["--quick", "--out", str(tmp_path), "--quiet", "--folds", "2"]) == 0
    result = json.loads((tmp_path / "critic_folds_test.json").read_text())
    names = [row["name"] for row in result["rows"]]
    assert names == [
        "fold 0, its own offsets",
        "fold 1, its own offsets",
        "fold 0, pooled offsets",
        "fold 1, pooled offsets",
        "mean of the folds' logits, pooled offsets",
    ]
    n_held = result["held_out"]["n"]
    assert n_held == sum(result["held_out"]["label_counts"].values()) > 0
    for row in result["rows"]:
        assert sum(row["C"]["predicted"]) == n_held
    assert sum(r["validation_programs"] for r in result["rows"][:2]) == result["training_programs"]
    assert len(result["table"]["rows"]) == len(names)

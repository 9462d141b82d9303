"""The learning benchmark's report: the critic section says what the shared critics'
report holds (the fair constant, the programs that compile, the distinct programs), and
learning.json keeps the name of the φ_test its Critic Sampling runs used."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import REPO_ROOT, load_script


@pytest.fixture(scope="module")
def learning():
    yield load_script(REPO_ROOT / "benchmarks" / "learning.py", "learning_report_benchmark")
    sys.modules.pop("learning_report_benchmark", None)


def critic_part(classes: list[str], confusion: list[list[int]]) -> dict:
    """One critic's entry of a critic_report.json, with made-up figures."""
    n = sum(map(sum, confusion))
    correct = sum(confusion[i][i] for i in range(len(classes)))
    recall = {
        c: row[i] / sum(row) for i, (c, row) in enumerate(zip(classes, confusion, strict=True))
    }
    held = {
        "classes": classes,
        "n": n,
        "accuracy": correct / n,
        "balanced_accuracy": sum(recall.values()) / len(recall),
        "recall": recall,
        "majority_accuracy": max(map(sum, confusion)) / n,
        "ece": 0.05,
        "confusion": confusion,
    }
    return {
        "train_examples": 100,
        "train_label_counts": {c: 100 // len(classes) for c in classes},
        "parameters": 1234,
        "train_accuracy": 0.9,
        "validation": {"accuracy": 0.8, "n": 20},
        "held_out": held,
        "held_out_constant": 0.6,
        "temperature": 1.5,
        "held_out_constant_given_syntax": 0.85,
        "held_out_compiling": {"n": 7, "accuracy": 0.5, "constant": 0.75, "balanced_accuracy": 0.6},
        "held_out_distinct": {
            "n": 5,
            "accuracy": 0.8,
            "constant": 0.4,
            "balanced_accuracy": 0.7,
            "label_counts": {c: 0 for c in classes} | {classes[0]: 5},
        },
    }


def test_critic_section_reports_the_distinct_programs_and_the_fair_constant(learning, tmp_path):
    critic_dir = tmp_path / "critic"
    critic_dir.mkdir()
    report = {
        "outcome": critic_part(
            ["compile_error", "runtime_error", "failed_test", "passed"],
            [[5, 0, 0, 0], [0, 1, 1, 0], [0, 1, 2, 0], [0, 0, 0, 1]],
        ),
        "test": critic_part(["failed", "passed"], [[9, 1], [1, 0]]),
    }
    (critic_dir / "critic_report.json").write_text(json.dumps(report))
    text = "\n".join(learning.critic_section(critic_dir, tmp_path))
    assert text.count("they hold 5 distinct programs") == 2
    assert "on which the critic scores 80.0% (the constant: 40.0%)" in text
    assert text.count("the fair constant is told it too") == 2
    assert "On the 7 programs that compile, the network alone scores 50.0%" in text
    assert "compile error when" not in text  # φ_test's constant answers "failed"
    assert "critic_default_reliability.png" not in text  # no diagram in the critic folder
    (critic_dir / "reliability.png").write_bytes(b"png")
    text = "\n".join(learning.critic_section(critic_dir, tmp_path))
    assert "](critic_default_reliability.png)" in text
    assert (tmp_path / "critic_default_reliability.png").read_bytes() == b"png"
    # benchmarks/critic_folds.py's table joins when it is there
    folds = {
        "command": "python benchmarks/critic_folds.py",
        "critic": "test",
        "classes": ["failed", "passed"],
        "folds": 3,
        "seconds": 600.0,
        "training_programs": 30,
        "out_of_fold": {
            "offsets": [0.0, -2.0],
            "accuracy": 0.9,
            "constant": 0.8,
            "recall": [1.0, 0.5],
        },
        "held_out": {"n": 11, "label_counts": {"failed": 10, "passed": 1}, "constant": 10 / 11},
        "table": {"header": ["critic", "C acc."], "rows": [["fold 0, its own offsets", "90.9"]]},
    }
    (tmp_path / "critic_folds_test.json").write_text(json.dumps(folds))
    text = "\n".join(learning.critic_section(critic_dir, tmp_path))
    assert "### φ_test across task folds" in text and "| fold 0, its own offsets | 90.9 |" in text
    assert "accuracy 90.0% against the constant's 80.0% (recall: failed 100%, passed 50%)" in text
    # a report written before the distinct figures existed still renders
    for part in report.values():
        del part["held_out_distinct"]
    (critic_dir / "critic_report.json").write_text(json.dumps(report))
    assert "distinct" not in "\n".join(learning.critic_section(critic_dir, tmp_path))


def test_learning_json_keeps_the_critic_its_critic_sampling_used(learning):
    cs_runs = {"warm-start": {"0": {"B": {}}}}
    saved = {"critic_sampling_critic": "abc-123", "results": {"old": {}}}
    payload = learning.saved_results({"row": {}}, cs_runs, saved, {"minutes": 1.0}, {})
    assert payload["critic_sampling_critic"] == "abc-123"
    assert payload["critic_sampling"] is cs_runs and payload["results"] == {"row": {}}
    # without Critic Sampling runs, nothing is claimed
    assert learning.saved_results({}, {}, {}, {}, {})["critic_sampling_critic"] is None


def test_the_recipe_sentence_names_the_rl_actor_and_says_whether_it_is_the_default(learning):
    from agents.coderl.critic import CriticConfig

    default = json.loads(json.dumps(CriticConfig().to_dict()))
    sentence = learning.recipe_sentence(default)
    assert sentence.startswith("Recipe (the default `CriticConfig`)")
    assert "from a copy of it after 40 actor-critic updates on B" in sentence
    without = learning.recipe_sentence({**default, "actor_rl_updates": 0})
    assert "changed" in without and "actor-critic updates" not in without

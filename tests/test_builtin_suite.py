"""The built-in task suite: its shape, the shipped file, and every reference solution."""

from __future__ import annotations

import ast
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import load_script

from code_env.sandbox import Limits, Outcome, Sandbox
from code_env.tasks.model import Task

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = REPO_ROOT / "code_env" / "data" / "builtin.jsonl"
BUILDER = REPO_ROOT / "scripts" / "build_builtin_suite.py"


def load_builder():
    """The builder script, imported as a module."""
    return load_script(BUILDER, "build_builtin_suite")


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    return [Task.from_dict(json.loads(line)) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(limits=Limits(timeout_s=2.0)) as sb:
        yield sb


@pytest.fixture(scope="module")
def by_id(tasks) -> dict[str, Task]:
    return {t.task_id: t for t in tasks}


def with_body(task: Task, completion: str) -> str:
    return task.program(completion)


# --- shape ----------------------------------------------------------------------------


def test_size_and_unique_ids(tasks):
    assert len(tasks) >= 200
    ids = Counter(t.task_id for t in tasks)
    assert not [i for i, n in ids.items() if n > 1]
    assert all(t.task_id.startswith("builtin/") for t in tasks)


def test_each_task_has_examples_and_enough_hidden_tests(tasks):
    for task in tasks:
        assert 1 <= len(task.example_tests) <= 2, task.task_id
        assert len(task.tests) >= len(task.example_tests) + 3, task.task_id
        hidden = [json.dumps(t.to_dict(), sort_keys=True) for t in task.tests]
        assert len(set(hidden)) == len(hidden), f"{task.task_id}: repeated hidden tests"
        for example in task.example_tests:
            assert json.dumps(example.to_dict(), sort_keys=True) in hidden, task.task_id


def test_split_ratio_and_difficulty(tasks):
    splits = Counter(t.metadata["split"] for t in tasks)
    assert set(splits) == {"train", "test"}
    assert 0.15 <= splits["test"] / len(tasks) <= 0.25, splits
    assert {t.metadata["difficulty"] for t in tasks} <= {"easy", "medium"}
    assert all(t.metadata["source"] == "builtin" for t in tasks)


def test_every_family_is_large_and_in_both_splits(tasks):
    families: dict[str, Counter] = defaultdict(Counter)
    for task in tasks:
        families[task.metadata["family"]][task.metadata["split"]] += 1
    assert len(families) >= 15
    for name, splits in families.items():
        assert splits.total() >= 5, (name, splits)
        assert splits["train"] and splits["test"], (name, splits)


def test_test_kinds(tasks):
    kinds = Counter()
    for task in tasks:
        (kind,) = {t.kind for t in task.tests + task.example_tests}
        kinds[kind] += 1
        assert (kind == "stdio") == (task.entry_point is None), task.task_id
    assert kinds["call"] > 150
    assert kinds["assert"] >= 8
    assert kinds["stdio"] >= 8


def test_function_prompt_format(tasks):
    for task in tasks:
        if task.entry_point is None:
            continue
        name = task.entry_point
        assert task.prompt.startswith(f"def {name}("), task.task_id
        assert task.prompt.splitlines()[0].endswith(":") and " -> " in task.prompt
        assert task.prompt.endswith('    """\n'), task.task_id
        assert task.program_prefix == task.prompt
        assert task.setup_code == ""
        assert task.prompt.count(f"    >>> {name}(") == len(task.example_tests)
        (body,) = task.solutions
        assert body.endswith("\n")
        assert all(line.startswith("    ") for line in body.splitlines() if line), task.task_id
        tree = ast.parse(task.program(body))
        (func,) = tree.body
        assert isinstance(func, ast.FunctionDef) and func.name == name
        assert func.returns is not None and all(a.annotation for a in func.args.args)
        assert ast.get_docstring(func)


def test_stdio_prompt_format(tasks):
    for task in tasks:
        if task.entry_point is not None:
            continue
        assert task.program_prefix == ""
        lines = task.prompt.splitlines()
        assert all(line.startswith("#") for line in lines), task.task_id
        assert "# Example input:" in lines and "# Example output:" in lines
        assert task.prompt.endswith("\n")
        for test in task.tests:
            assert test.expected.endswith("\n")


def test_shipped_file_equals_builder_output(tasks):
    builder = load_builder()
    built = builder.build_tasks()
    assert [t.to_dict() for t in built] == [t.to_dict() for t in tasks]
    assert builder.render_jsonl(built) == SHIPPED.read_text(encoding="utf-8"), (
        "run: python scripts/build_builtin_suite.py"
    )


# --- the reference solutions, graded by the sandbox --------------------------------------


def test_every_reference_solution_passes(tasks, sandbox):
    programs = [t.program(t.solutions[0]) for t in tasks]
    hidden = sandbox.run_many(list(zip(programs, tasks, strict=True)))
    examples = sandbox.run_many(
        [(p, t, t.example_tests) for p, t in zip(programs, tasks, strict=True)]
    )
    failures = [
        f"{t.task_id}: {r.outcome} {r.subtype} {r.message}"
        for t, r in zip(tasks + tasks, hidden + examples, strict=True)
        if not r.passed
    ]
    assert not failures, "\n".join(failures[:20])
    assert all(r.n_tests == len(t.tests) for t, r in zip(tasks, hidden, strict=True))


def test_a_sibling_solution_fails_in_every_family(tasks, sandbox):
    families: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        families[task.metadata["family"]].append(task)
    pairs = [(members[0], members[1]) for members in families.values()]
    results = sandbox.run_many(
        [(first.program(second.solutions[0]), first) for first, second in pairs]
    )
    passed = [
        f"{a.task_id} with {b.task_id}'s solution"
        for (a, b), r in zip(pairs, results, strict=True)
        if r.passed
    ]
    assert not passed, passed


# --- negative controls: grading can fail ------------------------------------------------


@pytest.mark.parametrize(
    ("task_id", "completion"),
    [
        ("builtin/sum_even", "    return 0\n"),
        ("builtin/keep_even", "    return [x for x in nums if x % 2 == 1]\n"),
        ("builtin/to_upper", "    return s.lower()\n"),
        ("builtin/common_items", "    return a\n"),
        ("builtin/mean", "    return 0.0\n"),
        ("builtin/median", "    return sum(nums) / len(nums)\n"),
        ("builtin/stdio_sum", "print(0)\n"),
        ("builtin/stdio_upper_words", "n = int(input())\nprint(input())\n"),
    ],
)
def test_a_wrong_body_is_caught(by_id, sandbox, task_id, completion):
    task = by_id[task_id]
    result = sandbox.run(task.program(completion), task)
    assert result.outcome is Outcome.FAILED_TEST
    assert result.n_tests == len(task.tests) and result.n_passed < result.n_tests


@pytest.mark.parametrize(
    "task_id", ["builtin/sum_even", "builtin/common_items", "builtin/stdio_sum"]
)
@pytest.mark.parametrize(
    ("completion", "outcome", "subtype"),
    [
        ("    raise ValueError('boom')\n", Outcome.RUNTIME_ERROR, "valueerror"),
        ("    return (\n", Outcome.COMPILE_ERROR, "syntaxerror"),
    ],
)
def test_errors_fail_every_test(by_id, sandbox, task_id, completion, outcome, subtype):
    task = by_id[task_id]
    if task.entry_point is None:
        completion = completion.lstrip()
    result = sandbox.run(task.program(completion), task)
    assert (result.outcome, result.subtype, result.n_passed) == (outcome, subtype, 0)


def test_a_hanging_program_times_out(by_id, sandbox):
    task = by_id["builtin/sum_even"]
    result = sandbox.run(
        task.program("    while True:\n        pass\n"),
        task,
        limits=Limits(timeout_s=0.3, total_timeout_s=1.0),
    )
    assert (result.outcome, result.subtype, result.n_passed) == (
        Outcome.RUNTIME_ERROR,
        "timeout",
        0,
    )


def test_a_missing_entry_point_fails(by_id, sandbox):
    task = by_id["builtin/sum_even"]
    result = sandbox.run("def other(nums):\n    return 0\n", task)
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "nameerror")

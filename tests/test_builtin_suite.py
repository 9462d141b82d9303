"""The built-in task suite: its shape, the shipped file, and every reference solution."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from subprocess_checker import check_program, output_lines, values_equal

from code_env.tasks.model import Task, TestCase

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = REPO_ROOT / "code_env" / "data" / "builtin.jsonl"
BUILDER = REPO_ROOT / "scripts" / "build_builtin_suite.py"
WORKERS = max(2, 2 * (os.cpu_count() or 1))


def load_builder():
    """The builder script, imported as a module."""
    spec = importlib.util.spec_from_file_location("build_builtin_suite", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    return [Task.from_dict(json.loads(line)) for line in lines if line.strip()]


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


# --- the reference solutions ----------------------------------------------------------


def test_every_reference_solution_passes(tasks):
    def check(task: Task) -> list[str]:
        program = task.program(task.solutions[0])
        n_passed, n_tests, failures = check_program(program, task, task.tests + task.example_tests)
        assert n_tests == len(task.tests) + len(task.example_tests)
        return failures if n_passed < n_tests or failures else []

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        failures = [f for found in pool.map(check, tasks) for f in found]
    assert not failures, "\n".join(failures[:20])


def test_a_sibling_solution_fails_in_every_family(tasks):
    families: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        families[task.metadata["family"]].append(task)

    def check(members: list[Task]) -> tuple[str, int, int]:
        first, second = members[0], members[1]
        n_passed, n_tests, _ = check_program(first.program(second.solutions[0]), first)
        return f"{first.task_id} with {second.task_id}'s solution", n_passed, n_tests

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(check, families.values()))
    passed = [what for what, n_passed, n_tests in results if n_passed == n_tests]
    assert not passed, passed


# --- negative controls: the checker can fail ------------------------------------------


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
def test_a_wrong_body_is_caught(by_id, task_id, completion):
    task = by_id[task_id]
    n_passed, n_tests, failures = check_program(task.program(completion), task)
    assert n_tests == len(task.tests)
    assert n_passed < n_tests
    assert len(failures) == n_tests - n_passed
    assert all(f.startswith(task_id) for f in failures)


@pytest.mark.parametrize(
    "task_id", ["builtin/sum_even", "builtin/common_items", "builtin/stdio_sum"]
)
@pytest.mark.parametrize(
    ("completion", "message"),
    [
        ("    raise ValueError('boom')\n", "ValueError"),
        ("    return (\n", "SyntaxError"),
    ],
)
def test_errors_fail_every_test(by_id, task_id, completion, message):
    task = by_id[task_id]
    if task.entry_point is None:
        completion = completion.lstrip()
    n_passed, n_tests, failures = check_program(task.program(completion), task)
    assert n_passed == 0 and n_tests == len(task.tests)
    assert all(message in f for f in failures), failures


def test_a_hanging_program_times_out(by_id):
    task = by_id["builtin/sum_even"]
    n_passed, n_tests, failures = check_program(
        task.program("    while True:\n        pass\n"), task, timeout=1
    )
    assert n_passed == 0 and n_tests == len(task.tests)
    assert "timeout" in failures[0]


def test_a_missing_entry_point_fails(by_id):
    task = by_id["builtin/sum_even"]
    n_passed, _, failures = check_program("def other(nums):\n    return 0\n", task)
    assert n_passed == 0 and "NameError" in failures[0]


# --- the checker's comparison rules ---------------------------------------------------


def make_task(tests: list[TestCase], entry_point: str | None = "f") -> Task:
    return Task(task_id="t/f", prompt="p", tests=tests, entry_point=entry_point)


def test_call_values_compare_tuples_as_lists_and_floats_with_tolerance():
    task = make_task(
        [
            TestCase(kind="call", fn="f", args=[1], expected=[1, 2]),
            TestCase(kind="call", fn="f", args=[2], expected=0.3),
            TestCase(kind="call", fn="f", args=[3], expected={"a": [1.0, "x"]}),
            TestCase(kind="call", fn="f", args=[4], expected=[1, 2]),
        ]
    )
    program = (
        "def f(i):\n"
        "    return {1: (1, 2), 2: 0.1 + 0.2, 3: {'a': (1.0000000001, 'x')}, 4: {1, 2}}[i]\n"
    )
    n_passed, n_tests, failures = check_program(program, task)
    assert (n_passed, n_tests) == (3, 4)
    assert "f(4)" in failures[0]
    assert values_equal((1, [2.0]), [1, (2,)])
    assert not values_equal([1, 2], [2, 1])
    assert not values_equal(1.0, "1.0")


def test_stdio_output_ignores_trailing_whitespace_but_not_leading():
    task = make_task(
        [
            TestCase(kind="stdio", input="a\n", expected="6\nx\n"),
            TestCase(kind="stdio", input="b\n", expected="6\nx\n"),
        ],
        entry_point=None,
    )
    program = "s = input()\nprint('6   ')\nprint('x' if s == 'a' else ' x')\nprint()\n"
    n_passed, n_tests, failures = check_program(program, task)
    assert (n_passed, n_tests) == (1, 2)
    assert "'b\\n'" in failures[0]
    assert output_lines("a \n\n b\n\n\n") == ["a", "", " b"]


def test_assert_tests_share_the_namespace_with_setup_code():
    task = Task(
        task_id="t/f",
        prompt="p",
        tests=[
            TestCase(kind="assert", code="assert f(2) == LIMIT"),
            TestCase(kind="assert", code="assert f(3) == LIMIT"),
        ],
        entry_point="f",
        setup_code="LIMIT = 4",
    )
    n_passed, n_tests, failures = check_program("def f(x):\n    return x * 2\n", task)
    assert (n_passed, n_tests) == (1, 2)
    assert "AssertionError" in failures[0]

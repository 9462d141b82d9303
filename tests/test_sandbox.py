"""Grading semantics of the sandbox (docs/sandbox.md, "How a program is graded")."""

from __future__ import annotations

import ast
import os
import signal

import pytest

from code_env import Task, TestCase
from code_env.sandbox import Limits, Outcome, Sandbox, stdio_equal, values_equal
from code_env.sandbox.judge import DecodeError, decode_value
from code_env.sandbox.plan import plan_assert


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, limits=Limits(timeout_s=2.0)) as sb:
        yield sb


def call_task(*cases, fn="f", setup="") -> Task:
    tests = [TestCase(kind="call", fn=fn, args=list(args), expected=exp) for args, exp in cases]
    return Task(task_id="t/" + fn, prompt="p", tests=tests, entry_point=fn, setup_code=setup)


def assert_task(*codes, setup="", entry="f") -> Task:
    return Task(
        task_id="t/a",
        prompt="p",
        entry_point=entry,
        setup_code=setup,
        tests=[TestCase(kind="assert", code=c) for c in codes],
    )


def stdio_task(*cases) -> Task:
    return Task(
        task_id="t/io",
        prompt="p",
        tests=[TestCase(kind="stdio", input=i, expected=o) for i, o in cases],
    )


# --- outcomes and precedence ------------------------------------------------------------


def test_passed_and_failed(sandbox):
    task = call_task(([1, 2], 3), ([0, 0], 0), ([5, -5], 0))
    ok = sandbox.run("def f(a, b):\n    return a + b\n", task)
    assert (ok.outcome, ok.subtype, ok.n_passed, ok.n_tests) == (Outcome.PASSED, None, 3, 3)
    wrong = sandbox.run("def f(a, b):\n    return a * b\n", task)
    assert (wrong.outcome, wrong.n_passed) == (Outcome.FAILED_TEST, 1)
    assert [t.passed for t in wrong.tests] == [False, True, False]
    assert wrong.tests[0].actual == "2" and wrong.tests[0].evidence == "value"


@pytest.mark.parametrize(
    ("program", "subtype"),
    [
        ("def f(a, b)\n    return 1\n", "syntaxerror"),
        ("def f(a, b):\nreturn 1\n", "indentationerror"),
        ("def f(a, b):\n\tif a:\n        return 1\n\treturn 2\n", "taberror"),
        ("def f(a, b):\n    return 1\x00\n", "syntaxerror"),
    ],
)
def test_compile_errors_are_found_without_running(sandbox, program, subtype):
    result = sandbox.run("import sys; sys.exit(3)\n" + program, call_task(([1, 2], 3)))
    assert (result.outcome, result.subtype) == (Outcome.COMPILE_ERROR, subtype)
    assert result.n_tests == 1 and result.n_passed == 0 and result.tests == ()


def test_runtime_error_beats_failed_test(sandbox):
    task = call_task(([1], 1), ([0], 0), ([2], 2))
    result = sandbox.run("def f(x):\n    return 1 // x if x else 5\n", task)
    # test 0 right, test 1 wrong value, test 2 raises? no: 1 // 2 == 0 -> wrong
    assert result.outcome is Outcome.FAILED_TEST
    raising = sandbox.run("def f(x):\n    return 1 // (x - 2)\n", task)
    assert (raising.outcome, raising.subtype) == (Outcome.RUNTIME_ERROR, "zerodivisionerror")
    assert raising.n_passed == 0 and raising.tests[2].error == "zerodivisionerror"


def test_missing_entry_point_is_a_nameerror(sandbox):
    result = sandbox.run("def g(x):\n    return x\n", call_task(([1], 1)))
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "nameerror")


@pytest.mark.parametrize(
    "program",
    [
        "import sys\nsys.exit(0)\n",
        "import os\nos._exit(0)\n",
        "raise SystemExit\n",
        "raise ValueError('at import')\n",
    ],
)
def test_exiting_or_raising_at_import_is_a_runtime_error(sandbox, program):
    result = sandbox.run(program + "def f(x):\n    return x\n", call_task(([1], 1), ([2], 2)))
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert result.n_tests == 2 and result.n_passed == 0


def test_results_before_a_timeout_are_kept_and_later_tests_run_when_asked(sandbox):
    task = call_task(([1], 1), ([2], 2), ([3], 3), ([4], 4))
    program = "def f(x):\n    while x == 2:\n        pass\n    return x\n"
    limits = Limits(timeout_s=0.5, stop_at_timeout=False)  # default: stop (see below)
    result = sandbox.run(program, task, limits=limits)
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "timeout")
    assert [t.passed for t in result.tests] == [True, False, True, True]
    assert result.n_passed == 3
    stopped = sandbox.run(program, task, limits=Limits(timeout_s=0.5))
    assert (stopped.outcome, stopped.subtype) == (result.outcome, result.subtype)
    assert [t.passed for t in stopped.tests] == [True, False, False, False]


def test_stop_on_failure(sandbox):
    task = call_task(([1], 1), ([2], 0), ([3], 3), ([4], 4))
    program = "import time\ndef f(x):\n    if x == 4:\n        time.sleep(30)\n    return x\n"
    result = sandbox.run(program, task, stop_on_failure=True)
    assert result.outcome is Outcome.FAILED_TEST and result.n_passed == 1
    assert result.tests[0].passed and not result.tests[1].passed
    assert [t.error for t in result.tests[2:]] == ["stopped", "stopped"]
    assert result.duration_s < 1.5  # the sleeping test was cut short, not waited for


# --- setup code, namespaces, LeetCode classes --------------------------------------------


def test_setup_code_shares_the_program_namespace(sandbox):
    task = assert_task(
        "assert area(Box(2, 3)) == 6", setup="SIDE = 2\nsq = Box(SIDE, SIDE)", entry="area"
    )
    program = (
        "class Box:\n    def __init__(self, w, h):\n        self.w, self.h = w, h\n"
        "def area(b):\n    return b.w * b.h\n"
    )
    assert sandbox.run(program, task).passed


def test_solution_class_methods_are_called(sandbox):
    task = call_task(([[1, 2]], 3), fn="total")
    program = "class Solution:\n    def total(self, xs):\n        return sum(xs)\n"
    assert sandbox.run(program, task).passed


DATACLASS_PROGRAM = """from __future__ import annotations
import pickle
import typing
from dataclasses import dataclass


@dataclass
class Point:
    x: int
    y: int = 0


def f(a: int) -> int:
    point = pickle.loads(pickle.dumps(Point(a)))
    return point.x + len(typing.get_type_hints(Point))
"""


def test_programs_find_their_own_module(sandbox):
    # A dataclass under postponed annotations, get_type_hints and pickle look the
    # program's module up in sys.modules: the program runs as a registered module.
    task = call_task(([3], 5), fn="f")
    result = sandbox.run(DATACLASS_PROGRAM, task)
    assert result.passed, result.message
    stdio = Task(
        task_id="t/stdio-module",
        prompt="p",
        tests=[TestCase(kind="stdio", input="", expected="5\n")],
    )
    result = sandbox.run(DATACLASS_PROGRAM + "print(f(3))\n", stdio)
    assert result.passed, result.message


# --- value comparison ----------------------------------------------------------------


def test_float_tolerance_and_tuple_list_equivalence_in_call_tests(sandbox):
    task = call_task(([], [0.30000000000000004, [1, 2]]), fn="f")
    assert sandbox.run("def f():\n    return (0.1 + 0.2, (1, 2))\n", task).passed
    assert not sandbox.run("def f():\n    return (0.31, (1, 2))\n", task).passed


def test_asserts_keep_python_tuple_semantics(sandbox):
    task = assert_task("assert f() == (1, 2)")
    assert sandbox.run("def f():\n    return (1, 2)\n", task).passed
    assert not sandbox.run("def f():\n    return [1, 2]\n", task).passed


def test_values_equal_rules():
    assert values_equal({"a": [1.0000001, (2, 3)]}, {"a": [1.0, (2, 3)]})
    assert not values_equal([1, 2], (1, 2))
    assert values_equal([1, 2], (1, 2), seq_equal=True)
    assert not values_equal(float("nan"), float("nan"))
    assert values_equal(float("inf"), float("inf")) and not values_equal(1e300, float("inf"))
    assert values_equal({1.5, 2}, {2, 1.5}) and values_equal(True, 1)
    assert not values_equal(1e-3, 2e-3)


def test_stdio_comparison_rules():
    assert stdio_equal("1 2  \n3\n\n\n", "1 2\n3")
    assert not stdio_equal(" 1\n", "1\n")  # leading whitespace counts
    assert not stdio_equal("1\n2\n", "1\n")


def test_decode_rejects_malformed_values():
    assert decode_value({"t": [1, {"s": [2]}]}) == (1, {2})
    assert decode_value({"d": [[{"t": [1]}, 2]]}) == {(1,): 2}
    for bad in ({"x": 1}, {"t": 1, "s": 2}, {"s": [[1]]}, {"f": "1e5"}):
        with pytest.raises(DecodeError):
            decode_value(bad)


def test_unserializable_value_is_a_failed_test_not_a_crash(sandbox):
    task = call_task(([], 1), fn="f")
    program = (
        "class Eq:\n    def __eq__(self, other):\n        return True\ndef f():\n    return Eq()\n"
    )
    result = sandbox.run(program, task)
    assert result.outcome is Outcome.FAILED_TEST
    assert "not data" in result.tests[0].message


# --- assert planning: the expected side stays in the parent ---------------------------------


@pytest.mark.parametrize(
    ("code", "child", "parent"),
    [
        ("assert f(1) == 2", ["f(1)"], "V0 == 2"),
        ("assert 2 == f(1)", ["f(1)"], "2 == V0"),
        ("assert set(f(1)) == set((4, 5))", ["f(1)"], "set(V0) == {4, 5}"),
        ("assert f(1) == -3.5, 'msg'", ["f(1)"], "V0 == -3.5"),
        (
            "assert abs(candidate(1.33) - 0.33) < 1e-6",
            ["candidate(1.33)"],
            "abs(V0 - 0.33) < 1e-06",
        ),
        ("assert math.isclose(f(2), 1.5)", ["f(2)"], "math.isclose(V0, 1.5)"),
        ("assert not f(1)", ["f(1)"], "not V0"),
        ("assert f('a').lower() == 'a'", ["f('a')"], "V0.lower() == 'a'"),
        ("assert f(1) == g(2)", ["f(1)", "g(2)"], "V0 == V1"),
        ("assert LIMIT == 4", ["LIMIT"], "V0 == 4"),
        ("assert sorted(f([3, 1])) == [1, 3]", ["f([3, 1])"], "sorted(V0) == [1, 3]"),
        ("assert all(f(i) == i for i in range(3))", None, None),
        ("assert f(1) and f(2)", None, None),
        ("x = f(1)\nassert x == 2", None, None),
    ],
)
def test_plan_assert_splits_at_the_program_boundary(code, child, parent):
    planned = plan_assert(code)
    if child is None:
        assert planned.check.kind == "opaque" and planned.check.evidence == "opaque"
        assert planned.instruction == {"op": "exec", "code": code}
        return
    assert planned.instruction == {"op": "values", "exprs": child}
    text = ast.unparse(planned.check.tree)
    for i in range(len(child)):
        text = text.replace(f"__code_env_value_{i}__", f"V{i}")
    assert text == parent
    assert planned.check.evidence == "value"


def test_entry_points_shadowing_builtins_are_called_in_the_child():
    planned = plan_assert("assert sum([1, 2]) == 3", frozenset({"sum"}))
    assert planned.instruction == {"op": "values", "exprs": ["sum([1, 2])"]}
    assert plan_assert("assert sum([1, 2]) == 3").check.kind == "opaque"


def test_forgery_by_object_methods_or_patched_builtins_fails(sandbox):
    task = assert_task("assert abs(f(2) - 1.5) < 1e-9", "assert f(3) == 1729")
    programs = [
        # a float whose arithmetic lies: the parent sees a plain float
        "class F(float):\n    def __sub__(self, o):\n        return 0.0\n"
        "    def __eq__(self, o):\n        return True\n"
        "def f(x):\n    return F(0.0)\n",
        # patched builtins: the parent uses its own abs
        "import builtins\nbuiltins.abs = lambda x: 0\ndef abs(x):\n    return 0\n"
        "def f(x):\n    return 0.0\n",
    ]
    for program in programs:
        result = sandbox.run(program, task)
        assert result.outcome is Outcome.FAILED_TEST and result.n_passed == 0, program


def test_assert_errors_are_python_errors(sandbox):
    task = assert_task("assert abs(f(2) - 1.5) < 1e-9")
    result = sandbox.run("def f(x):\n    return None\n", task)
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "typeerror")


def test_expected_values_never_reach_the_child(sandbox):
    # The program prints everything it can see of the test; the secret must not appear.
    task = assert_task("assert f() == 'SECRET-8c1e'", entry="f")
    program = (
        "import sys, gc\n"
        "def f():\n"
        "    for o in gc.get_objects():\n"
        "        if isinstance(o, str) and 'SECRET' in o:\n"
        "            return o\n"
        "    return 'nothing'\n"
    )
    result = sandbox.run(program, task)
    assert result.outcome is Outcome.FAILED_TEST
    assert "SECRET" not in (result.tests[0].actual or "")


def test_opaque_asserts_are_run_in_the_child(sandbox):
    task = assert_task("for i in range(3):\n    assert f(i) == i")
    assert sandbox.run("def f(x):\n    return x\n", task).tests[0].evidence == "opaque"
    failing = sandbox.run("def f(x):\n    return 0\n", task)
    assert (failing.outcome, failing.subtype) == (Outcome.RUNTIME_ERROR, "assertionerror")


# --- stdio programs ------------------------------------------------------------------


def test_stdio_program_runs_as_main_once_per_input(sandbox):
    task = stdio_task(("1 2\n", "3\n"), ("5 5\n", "10\n"))
    program = (
        "import sys\n"
        "if __name__ == '__main__':\n"
        "    a, b = map(int, input().split())\n"
        "    print(a + b)\n"
        "    sys.exit(0)\n"
    )
    result = sandbox.run(program, task)
    assert result.passed and result.n_tests == 2


def test_stdio_failures_and_errors(sandbox):
    task = stdio_task(("1\n", "1\n"), ("2\n", "4\n"))
    wrong = sandbox.run("print(int(input()))\n", task)
    assert (wrong.outcome, wrong.n_passed) == (Outcome.FAILED_TEST, 1)
    eof = sandbox.run("input()\nprint(input())\n", task)
    assert (eof.outcome, eof.subtype) == (Outcome.RUNTIME_ERROR, "eoferror")
    bad_exit = sandbox.run("print(1)\nraise SystemExit(2)\n", task)
    assert (bad_exit.outcome, bad_exit.subtype) == (Outcome.RUNTIME_ERROR, "systemexit")


def test_mixing_stdio_with_call_tests_is_rejected(sandbox):
    task = Task(
        task_id="t/mix",
        prompt="p",
        tests=[
            TestCase(kind="stdio", input="", expected=""),
            TestCase(kind="call", fn="f", args=[], expected=1),
        ],
    )
    with pytest.raises(ValueError, match="cannot be mixed"):
        sandbox.run("pass\n", task)


# --- cache, determinism, limits ----------------------------------------------------------


def test_cache_hits_and_determinism(sandbox):
    task = call_task(([], 1), fn="f")
    program = "import random\ndef f():\n    return hash('x') % 7 + random.random()\n"
    first = sandbox.run(program + "# a\n", task)
    sandbox.clear_cache()
    second = sandbox.run(program + "# a\n", task)
    assert first.tests[0].actual == second.tests[0].actual  # fixed hash seed and random seed
    hits = sandbox.stats.cache_hits
    third = sandbox.run(program + "# a\n", task)
    assert third.cached and sandbox.stats.cache_hits == hits + 1


def test_program_size_limit(sandbox):
    result = sandbox.run("x = 1\n" * 10, call_task(([], 1)), limits=Limits(max_program_bytes=20))
    assert (result.outcome, result.subtype) == (Outcome.COMPILE_ERROR, "toolarge")


def test_limits_validate():
    with pytest.raises(ValueError, match="timeout_s"):
        Limits(timeout_s=0)
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=16)
    with pytest.raises(ValueError, match="unknown sandbox backend"):
        Sandbox(backend="docker")


def test_run_many_keeps_order_and_runs_duplicates_once(sandbox):
    task = call_task(([2], 4))
    programs = ["def f(x):\n    return x * 2\n", "def f(x):\n    return x\n"] * 3
    executed = sandbox.stats.executed
    results = sandbox.run_many([(p, task) for p in programs])
    assert [r.passed for r in results] == [True, False] * 3
    assert sandbox.stats.executed - executed <= 2


def test_example_tests_can_be_run_instead(sandbox):
    task = Task(
        task_id="t/ex",
        prompt="p",
        entry_point="f",
        tests=[TestCase(kind="call", fn="f", args=[1], expected=2)],
        example_tests=[TestCase(kind="call", fn="f", args=[0], expected=0)],
    )
    program = "def f(x):\n    return x\n"
    assert not sandbox.run(program, task).passed
    assert sandbox.run(program, task, tests=task.example_tests).passed


def test_cache_is_bounded_in_bytes():
    task = call_task(([], 1), fn="f")
    with Sandbox(workers=1, cache_bytes=600_000) as sb:
        programs = [f"print('y' * 200_000)\ndef f():\n    return 1\n# {i}\n" for i in range(6)]
        results = sb.run_many([(p, task) for p in programs])
        assert all(r.passed and len(r.stdout) > 200_000 for r in results)
        assert 1 <= len(sb._cache) <= 2 and sb._cache_used <= 600_000
        assert sb.run(programs[-1], task).cached  # the newest entry survived
        assert not sb.run(programs[0], task).cached  # the oldest was evicted


def test_a_worker_whose_zygote_died_is_replaced():
    """Killing a worker's fork server costs at most the job in flight: the worker
    exits, the front starts a new one, and grading goes on."""
    task = Task(
        task_id="zygote/probe",
        prompt="p",
        entry_point="f",
        tests=[TestCase(kind="call", fn="f", args=[1], expected=2)],
    )
    with Sandbox(workers=1, cache_size=0) as sb:
        assert sb.run("def f(x):\n    return x + 1\n", task).passed
        worker = sb._workers[0]
        assert worker is not None and worker.zygote_pid is not None
        os.kill(worker.zygote_pid, signal.SIGKILL)
        results = [sb.run(f"def f(x):\n    return x + 1  # {i}\n", task) for i in range(3)]
        assert results[-1].passed
        assert sb.stats.worker_restarts == 1
        assert sb._workers[0].zygote_pid != worker.zygote_pid


def test_site_packages_are_the_running_environments_and_off_by_default():
    # tqdm is one of the project's dependencies: installed where the tests run. In a
    # virtual environment its folder is the environment's, which a worker started
    # without the site module cannot find by itself.
    import tqdm

    program = "def f():\n    import tqdm\n    return tqdm.__version__\n"
    task = call_task(((), tqdm.__version__))
    with Sandbox(workers=1, site_packages=True, cache_size=0) as sb:
        assert sb.run(program, task).passed
    with Sandbox(workers=1, cache_size=0) as sb:
        hidden = sb.run(program, task)
    assert not hidden.passed and "No module named 'tqdm'" in hidden.message


def test_preloaded_modules_are_already_imported_in_every_program():
    # fractions is not among the modules every worker preloads.
    program = "import sys\n\ndef f():\n    return 'fractions' in sys.modules\n"
    with Sandbox(workers=1, cache_size=0, preload=("fractions", "no_such_module_x")) as sb:
        assert sb.run(program, call_task(((), True))).passed
        missing = sb.run("import no_such_module_x\n", call_task(((), 1)))
        assert missing.subtype == "modulenotfounderror"
    with Sandbox(workers=1, cache_size=0) as sb:
        assert sb.run(program, call_task(((), False))).passed
    with pytest.raises(ValueError, match="not module names"):
        Sandbox(workers=1, preload=("os; import x",))

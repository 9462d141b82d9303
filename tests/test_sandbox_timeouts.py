"""A program stops at its first timeout (``Limits.stop_at_timeout``, on by default): the
verdict is the one it always was, the tests before keep their results, the rest are
not run, and a program that never ends costs one timeout, not one per test."""

from __future__ import annotations

import pytest

from code_env import Task, TestCase
from code_env.sandbox import Limits, Outcome

TASK = Task(
    task_id="t/loop",
    prompt="Return x.",
    entry_point="f",
    tests=[TestCase(kind="call", fn="f", args=[i], expected=i) for i in range(4)],
)
LOOPS_ON_1 = "def f(x):\n    while x == 1:\n        pass\n    return x\n"
STDIO = Task(
    task_id="t/stdio",
    prompt="Echo n.",
    tests=[TestCase(kind="stdio", input=f"{i}\n", expected=f"{i}\n") for i in range(3)],
)


def test_a_program_stops_at_its_first_timeout(sandbox):
    result = sandbox.run(LOOPS_ON_1, TASK, limits=Limits(timeout_s=0.5))
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "timeout")
    assert [t.error for t in result.tests] == [None, "timeout", "notrun", "notrun"]
    assert result.n_passed == 1 and result.n_tests == 4
    assert result.tests[2].message == "after a timeout"


def test_the_tests_after_a_timeout_still_run_when_asked(sandbox):
    limits = Limits(timeout_s=0.5, stop_at_timeout=False)
    result = sandbox.run(LOOPS_ON_1 + "# again\n", TASK, limits=limits)
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "timeout")
    assert [t.error for t in result.tests] == [None, "timeout", None, None]
    assert result.n_passed == 3


def test_a_stdio_program_stops_at_its_first_timeout(sandbox):
    program = "n = int(input())\nwhile n == 0:\n    pass\nprint(n)\n"
    result = sandbox.run(program, STDIO, limits=Limits(timeout_s=0.5))
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "timeout")
    assert [t.error for t in result.tests] == ["timeout", "notrun", "notrun"]


def test_stop_at_timeout_is_checked():
    with pytest.raises(ValueError, match="stop_at_timeout must be True or False"):
        Limits(stop_at_timeout="yes")  # type: ignore[arg-type]


REFERENCED = Task(
    task_id="t/referenced",
    prompt="Return x.",
    entry_point="f",
    solutions=["def f(x):\n    return x\n"],
    tests=[TestCase(kind="call", fn="f", args=[i], expected=i) for i in range(3)],
)


def test_timeouts_scale_from_the_reference_when_asked(sandbox):
    scaled = Limits(timeout_s=4.0, reference_factor=4.0, min_timeout_s=0.5)
    loops = sandbox.run("def f(x):\n    while True:\n        pass\n", REFERENCED, limits=scaled)
    assert (loops.outcome, loops.subtype) == (Outcome.RUNTIME_ERROR, "timeout")
    assert loops.duration_s < 4.0  # stopped near the floor (0.5 s): the nominal 4 s was not waited
    right = sandbox.run("def f(x):\n    return x\n# another\n", REFERENCED, limits=scaled)
    assert right.outcome is Outcome.PASSED


def test_a_task_without_a_passing_reference_keeps_the_nominal_timeout(sandbox):
    broken = Task(
        task_id="t/broken-reference",
        prompt="Return x.",
        entry_point="f",
        solutions=["def f(x):\n    return None\n"],
        tests=REFERENCED.tests,
    )
    scaled = Limits(timeout_s=1.5, reference_factor=4.0, min_timeout_s=0.2)
    program = "import time\ndef f(x):\n    time.sleep(0.6)\n    return x\n"
    assert sandbox.run(program, broken, limits=scaled).outcome is Outcome.PASSED
    # with a passing reference the same program is far slower than it: it times out
    assert sandbox.run(program, REFERENCED, limits=scaled).subtype == "timeout"


def test_reference_limits_are_checked():
    with pytest.raises(ValueError, match="reference_factor must be a positive number"):
        Limits(reference_factor=0)
    with pytest.raises(ValueError, match="min_timeout_s must be a positive number"):
        Limits(min_timeout_s=-1)

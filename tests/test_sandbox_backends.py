"""The same verdicts from every backend: fork (default), subprocess and bubblewrap."""

from __future__ import annotations

import shutil

import pytest

from code_env import Task, TestCase
from code_env.sandbox import Limits, Outcome, Sandbox

TASK = Task(
    task_id="t/add",
    prompt="p",
    entry_point="add",
    tests=[
        TestCase(kind="call", fn="add", args=[1, 2], expected=3),
        TestCase(kind="assert", code="assert add(2, 2) == 4"),
    ],
)
STDIO = Task(
    task_id="t/io", prompt="p", tests=[TestCase(kind="stdio", input="4\n", expected="8\n")]
)

CASES = [
    ("def add(a, b):\n    return a + b\n", TASK, Outcome.PASSED, None),
    ("def add(a, b):\n    return a - b\n", TASK, Outcome.FAILED_TEST, None),
    ("def add(a, b)\n    return a\n", TASK, Outcome.COMPILE_ERROR, "syntaxerror"),
    ("def add(a, b):\n    return [][1]\n", TASK, Outcome.RUNTIME_ERROR, "indexerror"),
    ("def add(a, b):\n    while True:\n        pass\n", TASK, Outcome.RUNTIME_ERROR, "timeout"),
    (
        "import os\ndef add(a, b):\n    os.fork()\n    return a + b\n",
        TASK,
        Outcome.RUNTIME_ERROR,
        "permissionerror",
    ),
    ("print(int(input()) * 2)\n", STDIO, Outcome.PASSED, None),
    ("print(int(input()) * 3)\n", STDIO, Outcome.FAILED_TEST, None),
]


def backends():
    yield "fork"
    yield "subprocess"
    yield pytest.param(
        "bubblewrap",
        marks=pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap is not installed"),
    )


@pytest.mark.parametrize("backend", list(backends()))
def test_backends_agree(backend):
    with Sandbox(
        workers=2, backend=backend, limits=Limits(timeout_s=0.5, total_timeout_s=1.5)
    ) as sb:
        results = sb.run_many([(program, task) for program, task, _, _ in CASES])
        assert "seccomp" in sb.layers or backend == "subprocess"
    for (program, _, outcome, subtype), result in zip(CASES, results, strict=True):
        assert (result.outcome, result.subtype) == (outcome, subtype), program


def test_bubblewrap_missing_gives_an_install_hint(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install bubblewrap"):
        Sandbox(backend="bubblewrap")

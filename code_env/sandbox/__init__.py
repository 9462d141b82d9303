"""Run untrusted programs against unit tests: confined, forgery-proof and fast.

>>> from code_env.sandbox import Sandbox, Limits
>>> with Sandbox(workers=2, limits=Limits(timeout_s=4.0, memory_mb=1024)) as sb:  # doctest: +SKIP
...     res = sb.run(program, task)                     # task.tests by default
...     res = sb.run(program, task, tests=task.example_tests)
...     many = sb.run_many([(program, task), ...])      # parallel, order kept
...     future = sb.submit(program, task)               # grade while you generate

:class:`RaySandbox` offers the same methods over the nodes of a Ray cluster (the
``ray`` extra). See docs/sandbox.md for the threat model, the layers, and what is not
isolated, and docs/scaling.md for clusters.
"""

from code_env.sandbox.base import BaseSandbox, SandboxStats
from code_env.sandbox.cluster import GraderNode, RayClusterError, RaySandbox, RaySandboxStats
from code_env.sandbox.judge import stdio_equal, values_equal
from code_env.sandbox.result import ExecutionResult, Limits, Outcome, TestResult
from code_env.sandbox.sandbox import BACKENDS, Sandbox

__all__ = [
    "BACKENDS",
    "BaseSandbox",
    "ExecutionResult",
    "GraderNode",
    "Limits",
    "Outcome",
    "RayClusterError",
    "RaySandbox",
    "RaySandboxStats",
    "Sandbox",
    "SandboxStats",
    "TestResult",
    "stdio_equal",
    "values_equal",
]

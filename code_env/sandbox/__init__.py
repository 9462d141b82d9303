"""Run untrusted programs against unit tests: confined, forgery-proof and fast.

>>> from code_env.sandbox import Sandbox, Limits
>>> with Sandbox(workers=2, limits=Limits(timeout_s=4.0, memory_mb=1024)) as sb:  # doctest: +SKIP
...     res = sb.run(program, task)                     # task.tests by default
...     res = sb.run(program, task, tests=task.example_tests)
...     many = sb.run_many([(program, task), ...])      # parallel, order kept

See docs/sandbox.md for the threat model, the layers, and what is not isolated.
"""

from code_env.sandbox.judge import stdio_equal, values_equal
from code_env.sandbox.result import ExecutionResult, Limits, Outcome, TestResult
from code_env.sandbox.sandbox import BACKENDS, Sandbox, SandboxStats

__all__ = [
    "BACKENDS",
    "ExecutionResult",
    "Limits",
    "Outcome",
    "Sandbox",
    "SandboxStats",
    "TestResult",
    "stdio_equal",
    "values_equal",
]

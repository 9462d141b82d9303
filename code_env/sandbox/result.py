"""What running a program against its tests produced: limits in, verdicts out."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Outcome(str, enum.Enum):
    """The four outcomes of CodeRL (Le et al. 2022), in order of precedence."""

    COMPILE_ERROR = "compile_error"
    """The program does not compile (found with ``compile()``, nothing was run)."""
    RUNTIME_ERROR = "runtime_error"
    """The program raised at import, or a test raised, timed out, or hit a limit."""
    FAILED_TEST = "failed_test"
    """Every test ran, and at least one produced a wrong value."""
    PASSED = "passed"
    """Every test produced the expected value."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Limits:
    """Resource limits for one program. Defaults suit benchmark-sized programs.

    Every limit is enforced outside the program: deadlines by the worker that watches
    the child, the rest by the kernel.
    """

    timeout_s: float = 4.0
    """Wall-clock seconds for importing the program, and again for each test."""
    total_timeout_s: float | None = None
    """Wall-clock seconds for the whole program; None: ``timeout_s * (tests + 1)``."""
    reference_factor: float | None = None
    """Scale each task's ``timeout_s`` from its reference solution (as evalplus does):
    ``min(timeout_s, max(min_timeout_s, reference_factor × the reference's run time))``.
    The reference runs once per task and tests at ``timeout_s`` (the sandbox keeps its
    time); a task without a reference, or whose reference does not pass, keeps
    ``timeout_s``. A program that never ends then costs about ``min_timeout_s``; a
    correct program more than ``reference_factor`` times slower than the reference
    times out. None: off."""
    min_timeout_s: float = 1.0
    """The floor of a timeout scaled by ``reference_factor``."""
    stop_at_timeout: bool = True
    """Stop a program at its first timeout: the tests that finished keep their results
    and the rest are not run (``notrun``, not passed). The verdict is the same either
    way (a timeout is a runtime error), so a program that never ends costs one
    ``timeout_s``, not one per test. False runs the remaining tests in a fresh child,
    as before 0.3 (partial-credit rewards then count the tests after the timeout)."""
    memory_mb: int = 1024
    """Address-space limit of the child (``RLIMIT_AS``)."""
    max_output_bytes: int = 1 << 20
    """Standard output and standard error are each cut, and the child killed, here."""
    file_size_mb: int = 16
    """Largest file the program may write (``RLIMIT_FSIZE``)."""
    tmpfs_mb: int = 64
    """Size of the child's private ``/tmp`` (where the kernel allows a mount namespace)."""
    max_open_files: int = 64
    """Open file descriptors (``RLIMIT_NOFILE``)."""
    max_processes: int = 32
    """Threads of the child (new processes are refused outright where seccomp works)."""
    max_program_bytes: int = 1 << 20
    """Longer programs are refused as a compile error (subtype ``toolarge``)."""

    def __post_init__(self) -> None:
        for name in (
            "timeout_s",
            "memory_mb",
            "max_output_bytes",
            "file_size_mb",
            "tmpfs_mb",
            "max_open_files",
            "max_processes",
            "max_program_bytes",
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")
        for name in ("reference_factor", "min_timeout_s"):
            value = getattr(self, name)
            if value is None and name == "reference_factor":
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")
        if not isinstance(self.stop_at_timeout, bool):
            raise ValueError(
                f"Limits.stop_at_timeout must be True or False, got {self.stop_at_timeout!r}"
            )
        if self.total_timeout_s is not None and self.total_timeout_s <= 0:
            raise ValueError(
                f"Limits.total_timeout_s must be positive, got {self.total_timeout_s!r}"
            )
        if self.memory_mb < 64:
            raise ValueError(
                f"Limits.memory_mb must be at least 64 (Python needs it), got {self.memory_mb}"
            )

    def total_for(self, n_tests: int) -> float:
        """The whole-program deadline for a program with ``n_tests`` tests."""
        if self.total_timeout_s is not None:
            return float(self.total_timeout_s)
        return self.timeout_s * (n_tests + 1)


@dataclass(frozen=True)
class TestResult:
    """The verdict on one test."""

    __test__ = False  # not a pytest test class

    index: int
    """Position of the test in the list that was run."""
    passed: bool
    """True if the test's value matched (or its assert held)."""
    error: str | None = None
    """Lower-case exception name (``typeerror``) or ``timeout``, ``memoryerror``,
    ``outputlimit``, ``segfault``, ``killed``, ``exit``, ``notrun``, ``stopped``; None when
    the test ran to a value, right or wrong."""
    message: str = ""
    """The exception's message, or why the value was rejected."""
    evidence: str = "value"
    """``"value"``: the parent compared a value the program produced with an expected
    value the child never saw (call, stdio and ``assert x == <literal>`` tests).
    ``"opaque"``: the child reported whether a check held (other asserts); a program
    that hijacks the result channel could forge it."""
    actual: str | None = None
    """A short ``repr`` of the value or output the program produced."""


@dataclass(frozen=True)
class ExecutionResult:
    """The graded run of one program against a list of tests."""

    outcome: Outcome
    """The CodeRL outcome class."""
    subtype: str | None
    """None for PASSED and FAILED_TEST; otherwise the lower-case name of what went
    wrong: ``syntaxerror``, ``indentationerror``, ``taberror``, ``toolarge`` (compile);
    an exception name such as ``nameerror`` or ``indexerror``, or ``timeout``,
    ``memoryerror``, ``outputlimit``, ``segfault``, ``killed``, ``exit`` (runtime)."""
    n_passed: int
    """How many tests passed."""
    n_tests: int
    """How many tests there were (also when the program failed before any ran)."""
    tests: tuple[TestResult, ...] = ()
    """Per-test verdicts, in order (empty when the program did not compile or import)."""
    stdout: str = ""
    """What the program printed (function tasks; for stdio tasks see ``tests``)."""
    stderr: str = ""
    """The end of what the program wrote to standard error."""
    duration_s: float = 0.0
    """Wall-clock seconds in the worker, compile to last test."""
    message: str = ""
    """The first error's message (the exception text, or the compile error)."""
    error_line: int | None = None
    """Line of a compile error, when known."""
    cached: bool = False
    """True if this result came from the sandbox's cache."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Backend details (e.g. the confinement layers in force)."""

    @property
    def passed(self) -> bool:
        """True when the outcome is PASSED."""
        return self.outcome is Outcome.PASSED

    @property
    def pass_rate(self) -> float:
        """``n_passed / n_tests`` (0.0 when there are no tests)."""
        return self.n_passed / self.n_tests if self.n_tests else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the outcome as its string value), e.g. for JSON logs."""
        data = asdict(self)
        data["outcome"] = self.outcome.value
        data["tests"] = [asdict(t) for t in self.tests]
        return data

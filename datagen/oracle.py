"""Oracle: expected outputs from running the reference in the project's sandbox.

Nothing of the reference runs in this process. For each function the sandbox runs
its reference program with a small *probe* appended (:data:`PROBE`), and every test
is a ``call`` of the probe's ``__datagen_call__(key, *args)``, whose arguments are the
input row's values as the function receives them (``bytes``, tuples and sets included:
``call`` tests hold any Python literal), which

* seeds ``random`` with ``key`` (the harness seeds every child with 0, which would
  hide a function's use of randomness),
* sends ``sys.stdout``/``sys.stderr`` to a buffer for the call, and
* records, with an audit hook (:pep:`578`) active only during the call, the side
  effects the interpreter reports: files opened for writing or created, moved or
  removed (``file_write``), files read outside the Python installation or folders
  listed (``file_read``), environment or working-directory changes
  (``environment``), sockets (``network``), processes (``process``), ``input()``
  (``stdin``), ctypes and sqlite (``ffi``),

and returns ``(value, effects)``. The sandbox sends that back as plain data (a value
that is not data, such as an arbitrary object, fails to cross; subclasses cross as
their base type: a named tuple as a tuple, a ``Counter`` as a dict), and the parent
reads it back from the test's ``actual`` field (its ``repr``) with
:func:`code_env.tasks.model.read_literal`.

A function's inputs run twice in one sandbox (``A``: every input, then every input
again, each with the same random seed both times) and the inputs that survive run
once more, in reverse order, in a second sandbox (``B``) whose workers have another
``PYTHONHASHSEED`` and whose calls get other random seeds. Values are compared
exactly (same types, floats to the bit, set items in any order, dict items in their
order: :func:`datagen.values.value_key`). A case is kept when

* it returns, within ``case_timeout_s`` (and the whole run within
  ``function_timeout_s``), without raising;
* its value is a test value (a Python literal: JSON data, tuples, sets, frozensets,
  bytes, complex numbers, dicts with literal keys; not objects, NaN or infinities,
  :func:`code_env.tasks.model.literal_value`) and its ``repr`` fits the sandbox's
  200-character ``actual`` field;
* the probe saw no side effect and nothing was printed.

The cases that agree run once more in ``B``, in a process whose environment
differs from the sandbox's own in every way a program can read without an audit
event: :data:`OTHER_ENVIRONMENT`'s variables (``HOME``, ``USER``, ``TZ``, ``LANG``,
``PATH``...) and another working directory, set by :data:`ENVIRONMENT_PROLOGUE`
before the reference's first line, so module-level constants see them too.

A function is dropped when its outputs differ between the two passes in ``A``
(``global_state``: a call depends on earlier calls), between ``A`` and ``B``
(``nondeterministic``: hash order, randomness, time...), between ``A`` and the
other environment (``environment_dependent``: a home folder, a user name, a time
zone, a locale, the working directory), when every kept case gives the same value
(``constant_output``), when no case survives (the most telling case reason:
``raises_always``, ``timeout``, ``side_effects``, ``non_serialisable``...), or when
fewer than ``min_tests`` cases survive (``too_few_cases``).

What is not detected: reads of process-wide state that neither environment changes
(the file system seen through ``os.stat``, the platform, the Python version),
environment variables other than those changed, and writes that raise no audit
event (``setattr`` on other modules, ``locale.setlocale``, ``sys.setrecursionlimit``)
unless they change a later call's output.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from code_env.sandbox import BaseSandbox, ExecutionResult, Limits, Sandbox, TestResult
from code_env.tasks import Task, TestCase
from code_env.tasks.model import NotALiteral, literal_value, read_literal
from datagen.config import DatagenConfig
from datagen.extract import Drop, ExtractedFunction
from datagen.grading import make_sandbox
from datagen.values import render_value, value_key

#: Appended to each reference program, with ``__DATAGEN_TARGET__`` replaced by the
#: function's name as a string literal (see :func:`probe_program`).
PROBE = """

def __datagen_install__(target_name):
    import io
    import os
    import random
    import sys

    target = globals()[target_name]
    prefixes = tuple(
        sorted({p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix) if p})
    )
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    writes = (
        "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link",
        "os.symlink", "os.truncate", "os.utime", "os.chflags", "os.lchflags", "os.lchmod",
        "os.lchown", "os.mkfifo", "os.mknod", "os.removexattr", "os.setxattr", "shutil.",
        "tempfile.", "sqlite3.",
    )
    reads = ("os.listdir", "os.scandir", "glob.glob", "os.getxattr", "os.listxattr", "os.walk")
    network = (
        "socket.", "http.client.", "urllib.Request", "ftplib.", "smtplib.", "poplib.",
        "imaplib.", "nntplib.", "telnetlib.", "webbrowser.",
    )
    processes = (
        "subprocess.", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
        "os.forkpty", "os.kill", "os.killpg", "pty.spawn", "os.startfile",
    )
    state = {"on": False, "fx": set()}

    def hook(event, args):
        if not state["on"]:
            return
        fx = state["fx"]
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if isinstance(mode, str):
                writing = any(c in mode for c in "wax+")
            else:
                writing = isinstance(flags, int) and bool(flags & write_flags)
            if writing:
                fx.add("file_write")
            elif not (isinstance(path, str) and path.startswith(prefixes)):
                fx.add("file_read")
        elif event.startswith(writes):
            fx.add("file_write")
        elif event.startswith(reads):
            fx.add("file_read")
        elif event in ("os.putenv", "os.unsetenv", "os.chdir", "os.fchdir"):
            fx.add("environment")
        elif event.startswith(network):
            fx.add("network")
        elif event.startswith(processes):
            fx.add("process")
        elif event == "builtins.input":
            fx.add("stdin")
        elif event.startswith(("ctypes.", "syslog.", "winreg.", "msvcrt.")):
            fx.add("ffi")

    sys.addaudithook(hook)

    def call(key, *args):
        random.seed(key)
        saved = sys.stdout, sys.stderr
        buffer = io.StringIO()
        sys.stdout = sys.stderr = buffer
        state["fx"] = set()
        state["on"] = True
        try:
            value = target(*args)
        finally:
            state["on"] = False
            sys.stdout, sys.stderr = saved
        fx = state["fx"]
        if buffer.getvalue():
            fx.add("print")
        return value, ",".join(sorted(fx))

    def probe():
        return hash("datagen hash probe")

    return call, probe


__datagen_call__, __datagen_probe__ = __datagen_install__(__DATAGEN_TARGET__)
del __datagen_install__
"""

#: The environment of the oracle's third pass, against the sandbox's own (``HOME``
#: ``/tmp``, ``LANG`` ``C.UTF-8``, no ``USER`` or ``TZ``, working directory ``/tmp``).
#: The time zone is a POSIX rule, so it needs no time-zone files.
OTHER_ENVIRONMENT = {
    "HOME": "/tmp/datagen-home",
    "USER": "datagen-other",
    "LOGNAME": "datagen-other",
    "USERNAME": "datagen-other",
    "TZ": "DGT-05:45",
    "LANG": "de_DE.ISO-8859-1",
    "LC_ALL": "de_DE.ISO-8859-1",
    "LANGUAGE": "de",
    "PATH": "/bin",
    "TMPDIR": "/tmp/datagen-tmp",
    "SHELL": "/bin/false",
    "TERM": "dumb",
}

#: Put before the reference (after a ``from __future__`` import) for the third pass:
#: sets :data:`OTHER_ENVIRONMENT` and moves to another working directory.
ENVIRONMENT_PROLOGUE = f"""\
import os as __datagen_os__
import time as __datagen_time__
__datagen_os__.environ.update({OTHER_ENVIRONMENT!r})
__datagen_time__.tzset()
__datagen_os__.makedirs("datagen-elsewhere/cwd", exist_ok=True)
__datagen_os__.chdir("datagen-elsewhere/cwd")
del __datagen_os__, __datagen_time__
"""

#: Case reasons, most telling first (a function with no kept case is dropped for the
#: most common one, ties broken in this order).
CASE_REASONS = (
    "side_effects",
    "non_serialisable",
    "too_large",
    "timeout",
    "limit",
    "raises",
)
_FUNCTION_REASON = {"raises": "raises_always"}
_TIMEOUTS = ("timeout",)
_LIMITS = ("memoryerror", "outputlimit", "segfault", "killed", "exit", "notrun", "stopped")


class HashSeededSandbox(Sandbox):
    """A :class:`~code_env.sandbox.Sandbox` whose workers run under another
    ``PYTHONHASHSEED``: ``Sandbox(hash_seed=...)`` under the name datagen used to
    give it, kept for callers. The :class:`Oracle` now makes its sandboxes with
    :func:`datagen.grading.make_sandbox` (local or on Ray), and still checks that its
    two sandboxes hash differently (:meth:`Oracle.check_hash_seeds`) before its first
    batch."""

    def __init__(self, hash_seed: int, **kwargs: Any) -> None:
        super().__init__(hash_seed=int(hash_seed), **kwargs)


@dataclass(frozen=True)
class Case:
    """One input and the reference's output on it."""

    args: list[Any]
    """Positional arguments, as the function receives them (Python literals)."""
    expected: Any
    """The output, as the sandbox sends it back (a Python literal: a tuple stays a
    tuple, bytes and sets are themselves; subclasses became their base type)."""
    shown: str
    """The output as Python source, set items sorted
    (:func:`datagen.values.render_value`), for the prompt's examples."""


@dataclass
class Labelled:
    """What the oracle made of one function."""

    function: ExtractedFunction
    """The function."""
    cases: list[Case] = field(default_factory=list)
    """Kept cases, in input order."""
    drop: Drop | None = None
    """Why the function was dropped, or None."""
    case_reasons: Counter[str] = field(default_factory=Counter)
    """Why cases were dropped (reason: count)."""


@dataclass(frozen=True)
class Observation:
    """One observed call: ``kind`` is ``value``, a case reason, and ``detail``."""

    kind: str
    value: Any = None
    detail: str = ""

    def same(self, other: Observation) -> bool:
        if self.kind != other.kind:
            return False
        if self.kind == "value":
            return _same_value(self.value, other.value)
        return self.kind != "raises" or self.detail == other.detail


def _same_value(a: Any, b: Any) -> bool:
    # Exact equality (same types, floats to the bit, set items in any order): outputs
    # of one reference should agree exactly.
    return type(a) is type(b) and value_key(a) == value_key(b)


def as_test_value(value: Any) -> tuple[bool, Any]:
    """``(True, value)`` if ``value`` can be a ``call`` test's value (a Python literal:
    :func:`code_env.tasks.model.literal_value`), else ``(False, None)``."""
    try:
        return True, literal_value(value)
    except (NotALiteral, RecursionError, MemoryError):
        return False, None


def observe(result: TestResult) -> Observation:
    """Decode one probe call's verdict into an observation."""
    if result.error is not None:
        if result.error in _TIMEOUTS:
            return Observation("timeout", detail=result.error)
        if result.error in _LIMITS:
            return Observation("limit", detail=result.error)
        return Observation("raises", detail=result.error)
    actual = result.actual
    if actual is None:
        return Observation("non_serialisable", detail=result.message[:120])
    if not actual.endswith(")"):  # the sandbox cut a long repr short
        return Observation("too_large", detail=f"{len(actual)}+ characters")
    try:  # a value that is not a literal (nan, inf) does not read back
        pair = read_literal(actual)
    except NotALiteral:
        return Observation("non_serialisable", detail=actual[:120])
    if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], str)):
        return Observation("non_serialisable", detail="malformed probe value")
    value, effects = pair
    if effects:
        return Observation("side_effects", value=value, detail=effects)
    ok, value = as_test_value(value)
    if not ok:
        return Observation("non_serialisable", detail=actual[:120])
    return Observation("value", value=value)


def probe_program(fn: ExtractedFunction) -> str:
    """The reference program of ``fn`` with :data:`PROBE` appended (for a method, after
    the function that builds the instance and calls it: a row's first
    ``fn.init_arity`` values go to the constructor)."""
    return fn.program() + fn.call_source() + PROBE.replace("__DATAGEN_TARGET__", repr(fn.call_name))


def in_other_environment(program: str) -> str:
    """``program`` with :data:`ENVIRONMENT_PROLOGUE` put before its first statement
    (after its ``from __future__`` imports, which must come first)."""
    lines = program.splitlines(keepends=True)
    at = 0
    while at < len(lines) and lines[at].startswith("from __future__ import"):
        at += 1
    return "".join(lines[:at]) + ENVIRONMENT_PROLOGUE + "".join(lines[at:])


def _limits(config: DatagenConfig) -> Limits:
    return Limits(
        timeout_s=config.case_timeout_s,
        total_timeout_s=config.function_timeout_s,
        memory_mb=config.memory_mb,
        stop_at_timeout=False,  # every input is observed, also after one that loops
    )


def _environment_limits(config: DatagenConfig) -> Limits:
    """The other environment's pass imports the references' modules afresh, where
    ``A`` and ``B`` had them preloaded, so it gets the allowance the env gives a
    program for that on top of the oracle's: the env's time per test (a package that
    imports lazily does so in the first call) and for the import, and at least the
    env's memory. Only cases that returned within ``case_timeout_s`` twice run here,
    so the larger limits cost time only where an import needs it."""
    env = Limits()
    return replace(
        _limits(config),
        timeout_s=max(config.case_timeout_s, env.timeout_s),
        total_timeout_s=config.function_timeout_s + env.timeout_s,
        memory_mb=max(config.memory_mb, env.memory_mb),
    )


def _probe_task(fn: ExtractedFunction, rows: Sequence[Sequence[Any]], keys: Sequence[int]) -> Task:
    tests = [
        TestCase(kind="call", fn="__datagen_call__", args=[k, *row], expected=None)
        for k, row in zip(keys, rows, strict=True)
    ]
    tests.append(TestCase(kind="call", fn="__datagen_probe__", args=[], expected=None))
    return Task(
        task_id=f"datagen/{fn.qualname}", prompt=fn.problem, tests=tests, entry_point=fn.name
    )


def _hash_of(result: TestResult) -> int | None:
    try:
        value = ast.literal_eval(result.actual or "")
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, int) else None


class Oracle:
    """Labels functions' inputs with the reference's outputs (see the module doc).

    Owns two sandboxes (``A`` and ``B``) with different hash seeds, whose workers
    import ``preload`` (the references' third-party modules) once, under their own
    hash seed, so that the probes, the passes and the mutants do not import them
    again. The other environment's pass runs under ``B``'s hash seed in a sandbox that
    preloads nothing (``B`` itself when ``preload`` is empty), so that the modules are
    imported afresh under it. Local
    :class:`~code_env.sandbox.Sandbox` es or, with ``config.ray``,
    :class:`~code_env.sandbox.RaySandbox` es sharing the cluster's nodes
    (:func:`datagen.grading.make_sandbox`; ``workers`` sizes local ones only); use as
    a context manager or call :meth:`close`. :attr:`sandbox` (``A``) is free for other
    runs too.
    """

    def __init__(
        self, config: DatagenConfig, workers: int = 1, preload: Sequence[str] = ()
    ) -> None:
        self.config = config
        self.preload = tuple(preload)
        # Two hash seeds that differ from each other and from the sandbox's default 0.
        self.seeds = (1 + 2 * config.seed, 2 + 2 * config.seed)
        limits = _limits(config)
        self.sandbox: BaseSandbox = make_sandbox(
            config, workers, hash_seed=self.seeds[0], limits=limits, preload=self.preload
        )
        try:
            self.sandbox_b: BaseSandbox = make_sandbox(
                config, workers, hash_seed=self.seeds[1], limits=limits, preload=self.preload
            )
        except BaseException:
            self.sandbox.close()  # B could not start (e.g. no room on the cluster)
            raise
        self._sandbox_e: BaseSandbox | None = None
        self._limits = limits
        self._workers = workers
        self._hashes: tuple[int, int] | None = None

    @property
    def sandbox_e(self) -> BaseSandbox:
        """Where the other environment's pass runs: ``B`` when nothing is preloaded,
        else a sandbox under ``B``'s hash seed that preloads nothing (started on first
        use; on Ray its actors reserve no CPU, as ``A`` and ``B`` hold the nodes')."""
        if not self.preload:
            return self.sandbox_b
        if self._sandbox_e is None:
            self._sandbox_e = make_sandbox(
                self.config,
                self._workers,
                hash_seed=self.seeds[1],
                limits=_environment_limits(self.config),
                cpus_per_worker=0.0,
            )
        return self._sandbox_e

    @property
    def sandboxes(self) -> dict[str, BaseSandbox]:
        """The sandboxes started, by name (``oracle``, ``oracle_b``, ``oracle_e``)."""
        named = {"oracle": self.sandbox, "oracle_b": self.sandbox_b}
        if self._sandbox_e is not None:
            named["oracle_e"] = self._sandbox_e
        return named

    def close(self) -> None:
        """Stop the sandboxes."""
        self.sandbox.close()
        self.sandbox_b.close()
        if self._sandbox_e is not None:
            self._sandbox_e.close()

    def __enter__(self) -> Oracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_hash_seeds(self) -> tuple[int, int]:
        """The probe hash under ``A`` and under ``B``; raises ``RuntimeError`` unless
        they differ (i.e. unless the two sandboxes really run under different seeds)."""
        program = "def __datagen_probe__():\n    return hash('datagen hash probe')\n"
        task = Task(
            task_id="datagen/hash-probe",
            prompt="probe",
            tests=[TestCase(kind="call", fn="__datagen_probe__", args=[], expected=None)],
            entry_point="__datagen_probe__",
        )
        a = _hash_of(self.sandbox.run(program, task).tests[0])
        b = _hash_of(self.sandbox_b.run(program, task).tests[0])
        if a is None or b is None or a == b:
            raise RuntimeError(
                "datagen could not run the oracle's two passes under different "
                f"PYTHONHASHSEED values (probe hashes {a} and {b}); the sandbox's worker "
                "environment may have changed"
            )
        return a, b

    def probe(
        self,
        items: Sequence[tuple[ExtractedFunction, Sequence[Sequence[Any]]]],
    ) -> list[list[Observation] | None]:
        """One pass of each function's rows in sandbox ``A`` (no second pass, no
        checks across calls): what each call did, or None for a function whose
        program did not run. Used to choose among guessed parameter types
        (:mod:`datagen.infer`); the oracle's own checks run later on the inputs
        of the combination chosen."""
        jobs = []
        for fn, rows in items:
            keys = [1_000_003 * self.seeds[0] + i for i in range(len(rows))]
            jobs.append((probe_program(fn), _probe_task(fn, rows, keys)))
        results = self.sandbox.run_many(jobs) if jobs else []
        out: list[list[Observation] | None] = []
        for (_, rows), res in zip(items, results, strict=True):
            if len(res.tests) != len(rows) + 1:
                out.append(None)
                continue
            obs = [observe(t) for t in res.tests[:-1]]
            if res.stdout.strip() or res.stderr.strip():
                obs = [
                    o if o.kind != "value" else Observation("side_effects", detail="print")
                    for o in obs
                ]
            out.append(obs)
        return out

    def label(
        self,
        items: Sequence[tuple[ExtractedFunction, Sequence[Sequence[Any]]]],
    ) -> list[Labelled]:
        """Outputs for each ``(function, input rows)``, or why the function is dropped."""
        if self._hashes is None:
            self._hashes = self.check_hash_seeds()
        first = []
        for fn, rows in items:
            keys = [1_000_003 * self.seeds[0] + i for i in range(len(rows))] * 2
            first.append((probe_program(fn), _probe_task(fn, list(rows) * 2, keys)))
        results_a = self.sandbox.run_many(first)
        out: list[Labelled] = []
        second: list[tuple[str, Task]] = []
        pending: list[tuple[Labelled, Sequence[Sequence[Any]], list[int], dict[int, Any]]] = []
        for (fn, rows), (program, _), res in zip(items, first, results_a, strict=True):
            labelled = Labelled(fn)
            out.append(labelled)
            n = len(rows)
            if len(res.tests) != 2 * n + 1:  # the program did not compile or import
                labelled.drop = self._drop(fn, "import_error", f"{res.subtype}: {res.message}")
                continue
            obs = [observe(t) for t in res.tests[:-1]]
            if res.stdout.strip() or res.stderr.strip():  # printed around the probe
                obs = [
                    o if o.kind != "value" else Observation("side_effects", detail="print")
                    for o in obs
                ]
            values: dict[int, Any] = {}
            for i in range(n):
                one, two = obs[i], obs[n + i]
                if "timeout" in (one.kind, two.kind):
                    labelled.case_reasons["timeout"] += 1
                elif not one.same(two):
                    labelled.drop = self._drop(fn, "global_state", f"input {list(rows[i])!r}")
                    break
                elif one.kind != "value":
                    labelled.case_reasons[one.kind] += 1
                else:
                    values[i] = one.value
            if labelled.drop is not None or not self._enough(labelled, list(values.values())):
                continue
            order = sorted(values, reverse=True)  # reversed: order-dependent calls show
            keys = [1_000_003 * self.seeds[1] + i for i in order]
            task = _probe_task(fn, [rows[i] for i in order], keys)
            second.append((program, task))
            pending.append((labelled, rows, order, values))
        results_b = self.sandbox_b.run_many(second) if second else []
        pending_env: list[tuple[Labelled, Sequence[Sequence[Any]], list[int], dict[int, Any]]] = []
        for (labelled, rows, order, values), res in zip(pending, results_b, strict=True):
            kept = self._confirm(labelled, rows, order, values, res, "nondeterministic")
            if kept is not None:
                pending_env.append((labelled, rows, sorted(kept), kept))
        # Third pass: the cases kept, in A, under another environment.
        third = []
        for labelled, rows, order, _ in pending_env:
            fn = labelled.function
            keys = [1_000_003 * self.seeds[1] + i for i in order]
            task = _probe_task(fn, [rows[i] for i in order], keys)
            third.append((in_other_environment(probe_program(fn)), task))
        # Under B's hash seed, which B's pass showed changes no output, so a difference
        # here is the environment's; in a sandbox that preloads nothing, so that the
        # references' modules are imported under the other environment too.
        results_e = self.sandbox_e.run_many(third) if third else []
        for (labelled, rows, order, kept), res in zip(pending_env, results_e, strict=True):
            final = self._confirm(labelled, rows, order, kept, res, "environment_dependent")
            if final is not None:
                labelled.cases = [
                    Case(list(rows[i]), final[i], render_value(final[i])) for i in sorted(final)
                ]
        return out

    def _confirm(
        self,
        labelled: Labelled,
        rows: Sequence[Sequence[Any]],
        order: Sequence[int],
        expected: dict[int, Any],
        res: ExecutionResult,
        reason: str,
    ) -> dict[int, Any] | None:
        """The cases of a later pass (run in ``order``) that gave the ``expected``
        values again, or None with ``labelled.drop`` set to ``reason`` when one gave
        another value or did not return, or when too few are left. A case that timed
        out is left out, not held against the function."""
        fn = labelled.function
        if len(res.tests) != len(order) + 1:
            detail = f"did not run: {res.subtype}: {res.message}"
            if (res.subtype or "") in _TIMEOUTS + _LIMITS:
                # Out of time or memory importing afresh, even with the env's
                # allowance for that (the other environment's sandbox preloads
                # nothing): no evidence either way, and the final check, under the
                # env's limits, would fail it too.
                labelled.drop = self._drop(fn, "import_error", f"{reason} pass {detail}")
            else:
                labelled.drop = self._drop(fn, reason, detail)
            return None
        kept: dict[int, Any] = {}
        for i, test in zip(order, res.tests[:-1], strict=True):
            seen = observe(test)
            if seen.kind == "timeout":
                labelled.case_reasons["timeout"] += 1
            elif seen.kind != "value" or not _same_value(seen.value, expected[i]):
                got = repr(seen.value) if seen.kind == "value" else seen.kind
                labelled.drop = self._drop(
                    fn, reason, f"input {list(rows[i])!r}: {expected[i]!r}, then {got[:80]}"
                )
                return None
            else:
                kept[i] = expected[i]
        if not self._enough(labelled, list(kept.values())):
            return None
        return kept

    def _drop(self, fn: ExtractedFunction, reason: str, detail: str = "") -> Drop:
        return Drop(fn.module, fn.display_name, fn.line, "oracle", reason, detail[:300])

    def _enough(self, labelled: Labelled, values: list[Any]) -> bool:
        """Set the function's drop if its kept values cannot make a task."""
        fn = labelled.function
        if not values:
            reasons = labelled.case_reasons
            if not reasons:
                labelled.drop = self._drop(fn, "no_inputs")
                return False
            top = max(reasons.values())
            reason = next(r for r in CASE_REASONS if reasons.get(r) == top)
            labelled.drop = self._drop(fn, _FUNCTION_REASON.get(reason, reason), str(dict(reasons)))
            return False
        if len(values) > 1 and all(_same_value(v, values[0]) for v in values):
            labelled.drop = self._drop(fn, "constant_output", repr(values[0])[:100])
            return False
        if len(values) < self.config.min_tests:
            labelled.drop = self._drop(
                fn, "too_few_cases", f"{len(values)} kept, {dict(labelled.case_reasons)}"
            )
            return False
        return True

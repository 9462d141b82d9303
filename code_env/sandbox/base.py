"""What every sandbox shares: asynchronous grading, the result cache, ``run_many``.

A sandbox here is anything that turns ``(program, task, tests)`` into an
:class:`~code_env.sandbox.ExecutionResult`. :class:`BaseSandbox` owns the parts that do
not depend on where programs run: the checks made before anything runs, the cache of
results for identical programs, :meth:`~BaseSandbox.submit` (a
:class:`concurrent.futures.Future` per program), and :meth:`~BaseSandbox.run` and
:meth:`~BaseSandbox.run_many` on top of it. A subclass only implements
:meth:`~BaseSandbox._dispatch`: send one checked job somewhere and return a future of
its result. :class:`~code_env.sandbox.Sandbox` dispatches to warm worker processes on
this machine, :class:`~code_env.sandbox.RaySandbox` to grading actors on a Ray cluster.
"""

from __future__ import annotations

import abc
import collections
import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, replace
from typing import Any

from code_env.sandbox.result import ExecutionResult, Limits, Outcome
from code_env.tasks.model import Task, TestCase

#: What ``run_many`` takes: ``(program, task)`` or ``(program, task, tests or None)``.
Item = tuple[str, Task] | tuple[str, Task, Sequence[TestCase] | None]

# Serialised test lists kept for cache keys (see BaseSandbox._tests_key).
_TESTS_KEYS_KEPT = 4096


@dataclass
class SandboxStats:
    """Counters since the sandbox started."""

    programs: int = 0
    """Programs graded (cache hits included)."""
    cache_hits: int = 0
    """Programs answered from the cache, or by an identical program already running."""
    executed: int = 0
    """Programs sent to a worker."""
    worker_restarts: int = 0
    """Workers replaced after dying or missing a deadline."""

    @property
    def cache_hit_rate(self) -> float:
        """``cache_hits / programs`` (0.0 before any program)."""
        return self.cache_hits / self.programs if self.programs else 0.0


class BaseSandbox(abc.ABC):
    """The grading API every sandbox offers; subclasses decide where programs run.

    Args:
        limits: Default resource limits (a :class:`~code_env.sandbox.Limits`).
        cache_size: Results kept for identical (program, tests, limits); 0 disables.
        cache_bytes: The cache's memory bound (stdout and stderr count).
        rel_tol: Relative tolerance for float comparisons.
        abs_tol: Absolute tolerance for float comparisons.
        site_packages: Whether programs may import installed packages.

    Thread-safe: several threads may call :meth:`submit`, :meth:`run` and
    :meth:`run_many` at once.
    """

    #: Worker processes grading at once (for reports; a subclass keeps it current).
    n_workers: int

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        cache_size: int = 100_000,
        cache_bytes: int = 32 << 20,
        rel_tol: float = 1e-6,
        abs_tol: float = 1e-9,
        site_packages: bool = False,
    ) -> None:
        if cache_size < 0 or cache_bytes < 0:
            raise ValueError(
                f"cache_size and cache_bytes must be >= 0, got {cache_size} and {cache_bytes}"
            )
        self.limits = limits or Limits()
        self.rel_tol, self.abs_tol = rel_tol, abs_tol
        self.site_packages = bool(site_packages)
        self.stats = self._new_stats()
        self._cache: collections.OrderedDict[bytes, tuple[ExecutionResult, int]] = (
            collections.OrderedDict()
        )
        self._cache_size = cache_size
        self._cache_bytes = cache_bytes
        self._cache_used = 0
        # Identical programs submitted while the first is still running share its run.
        self._running: dict[bytes, Future] = {}
        self._tests_keys: collections.OrderedDict[int, tuple[Any, str]] = collections.OrderedDict()
        # seconds a task's reference took at a nominal limit (None: it did not pass)
        self._reference_s: dict[tuple[str, str, str], float | None] = {}
        self._lock = threading.Lock()
        self._closed = False

    # --- what subclasses implement ---------------------------------------------------

    def _new_stats(self) -> SandboxStats:
        """The counters object (a subclass may return a richer one)."""
        return SandboxStats()

    @abc.abstractmethod
    def _dispatch(
        self,
        program: str,
        task: Task,
        tests: list[TestCase],
        limits: Limits,
        stop_on_failure: bool,
    ) -> Future:
        """Start grading one checked job; a future of its :class:`ExecutionResult`.

        The future must always complete, with a result for anything the program did.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release the workers. Idempotent."""

    @property
    @abc.abstractmethod
    def layers(self) -> list[str]:
        """The confinement layers in force where programs run."""

    def _dispatch_many(
        self, jobs: list[tuple[str, Task, list[TestCase], Limits, bool]]
    ) -> list[Future]:
        """:meth:`_dispatch` for many jobs at once (a subclass may batch them)."""
        return [self._dispatch(*job) for job in jobs]

    # --- public API ------------------------------------------------------------------

    def submit(
        self,
        program: str,
        task: Task,
        tests: Sequence[TestCase] | None = None,
        *,
        limits: Limits | None = None,
        stop_on_failure: bool = False,
    ) -> Future:
        """Start grading one program and return at once.

        Returns:
            A :class:`concurrent.futures.Future` whose result is the program's
            :class:`ExecutionResult` (already done for a cached program). It never
            holds an exception for anything the program did.

        Raises:
            ValueError: The task's tests mix stdio with call/assert kinds.
            RuntimeError: The sandbox is closed.
        """
        return self._submit_all(
            [(program, task, tests)], tests=None, limits=limits, stop=stop_on_failure
        )[0]

    def run(
        self,
        program: str,
        task: Task,
        tests: Sequence[TestCase] | None = None,
        *,
        limits: Limits | None = None,
        stop_on_failure: bool = False,
    ) -> ExecutionResult:
        """Grade one program against ``tests`` (default: the task's hidden tests).

        Never raises for anything the program does; raises ``ValueError`` for a task
        whose tests mix stdio with call/assert kinds, and ``RuntimeError`` after
        :meth:`close`.
        """
        return self.submit(
            program, task, tests, limits=limits, stop_on_failure=stop_on_failure
        ).result()

    def run_many(
        self,
        items: Iterable[Item],
        *,
        tests: Sequence[TestCase] | None = None,
        limits: Limits | None = None,
        stop_on_failure: bool = False,
        progress: bool = False,
    ) -> list[ExecutionResult]:
        """Grade many ``(program, task)`` or ``(program, task, tests)`` items in
        parallel over the workers; results come back in the order given.

        Args:
            items: What to grade. A third element overrides ``tests`` for that item.
            tests: Tests for every item without its own (default: each task's hidden
                tests); e.g. ``task.example_tests``.
            limits: Limits for this call (default: the sandbox's).
            stop_on_failure: Stop each program at its first failing test (the
                remaining tests are reported as ``stopped``).
            progress: Show a progress bar (tqdm).
        """
        futures = self._submit_all(list(items), tests=tests, limits=limits, stop=stop_on_failure)
        if progress and futures:
            from tqdm.auto import tqdm

            # as_completed waits on every future at once; waiting again on the whole
            # pending set after each completion would cost O(n) per program.
            with tqdm(total=len(futures), desc="grading", unit="prog") as bar:
                for _ in as_completed(futures):
                    bar.update(1)
        return [f.result() for f in futures]

    def clear_cache(self) -> None:
        """Forget every cached result."""
        with self._lock:
            self._cache.clear()
            self._cache_used = 0

    def __enter__(self) -> BaseSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -------------------------------------------------------------------

    def _submit_all(
        self,
        items: list[Item],
        *,
        tests: Sequence[TestCase] | None,
        limits: Limits | None,
        stop: bool,
    ) -> list[Future]:
        """Futures for ``items``: cached and duplicate programs answered here, the rest
        checked and handed to :meth:`_dispatch_many` in one call."""
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} is closed")
        limits = limits or self.limits
        per_item = (
            self._scaled_limits(items, tests, limits)
            if limits.reference_factor is not None
            else None
        )
        futures: list[Future | None] = [None] * len(items)
        jobs: list[tuple[str, Task, list[TestCase], Limits, bool]] = []
        job_slots: list[tuple[int, bytes]] = []  # (index in items, cache key) per job
        try:
            for index, item in enumerate(items):
                program, task = item[0], item[1]
                _check_item(index, program, task)
                item_tests = item[2] if len(item) > 2 and item[2] is not None else tests  # type: ignore[misc]
                source_tests = task.tests if item_tests is None else item_tests
                item_limits = limits if per_item is None else per_item[index]
                limits_key = repr(item_limits)
                key = self._key(
                    program, task.setup_code, self._tests_key(source_tests), limits_key, stop
                )
                with self._lock:
                    self.stats.programs += 1
                    entry = self._cache.get(key) if self._cache_size else None
                    if entry is not None:
                        self._cache.move_to_end(key)
                        self.stats.cache_hits += 1
                        futures[index] = _done(replace(entry[0], cached=True))
                        continue
                    running = self._running.get(key)
                    if running is not None:  # the same program already on its way
                        self.stats.cache_hits += 1
                        futures[index] = _derived(running)
                        continue
                early = _precheck(program, task, source_tests, item_limits)
                if early is not None:
                    futures[index] = _done(early)
                    continue
                placeholder: Future = Future()
                with self._lock:
                    self._running[key] = placeholder
                futures[index] = placeholder
                jobs.append((program, task, list(source_tests), item_limits, stop))
                job_slots.append((index, key))
            dispatched = self._dispatch_many(jobs) if jobs else []
        except BaseException as exc:  # e.g. mixed test kinds: no placeholder left waiting
            with self._lock:
                for _, key in job_slots:
                    self._running.pop(key, None)
            for index, _ in job_slots:
                placeholder = futures[index]
                if placeholder is not None and not placeholder.done():
                    placeholder.set_exception(exc)
            raise
        for (index, key), future in zip(job_slots, dispatched, strict=True):
            placeholder = futures[index]
            assert placeholder is not None
            future.add_done_callback(lambda f, key=key, out=placeholder: self._finish(key, f, out))
        return futures  # type: ignore[return-value]

    def _scaled_limits(
        self, items: list[Item], tests: Sequence[TestCase] | None, limits: Limits
    ) -> list[Limits]:
        """Per item, ``limits`` with ``timeout_s`` scaled from its task's reference run
        time (``Limits.reference_factor``); references not yet timed run first, all in
        one batch, at the nominal limits."""
        nominal = replace(limits, reference_factor=None)
        keys: list[tuple[str, str, str]] = []
        missing: dict[tuple[str, str, str], tuple[Task, Sequence[TestCase]]] = {}
        for index, item in enumerate(items):
            _check_item(index, item[0], item[1])
            task = item[1]
            item_tests = item[2] if len(item) > 2 and item[2] is not None else tests  # type: ignore[misc]
            source_tests = task.tests if item_tests is None else item_tests
            key = (task.task_id, self._tests_key(source_tests), repr(nominal))
            keys.append(key)
            if key not in self._reference_s and key not in missing:
                if task.solutions:
                    missing[key] = (task, source_tests)
                else:
                    self._reference_s[key] = None
        if missing:
            references = [(t.program(t.solutions[0]), t, list(ts)) for t, ts in missing.values()]
            timed = self._submit_all(references, tests=None, limits=nominal, stop=False)
            for key, future in zip(missing, timed, strict=True):
                result = future.result()
                self._reference_s[key] = result.duration_s if result.passed else None
        factor, floor = float(limits.reference_factor or 1.0), limits.min_timeout_s
        out = []
        for key in keys:
            seconds = self._reference_s[key]
            if seconds is None:
                out.append(nominal)
            else:
                scaled = min(limits.timeout_s, max(floor, factor * seconds))
                out.append(replace(nominal, timeout_s=scaled))
        return out

    def _finish(self, key: bytes, source: Future, out: Future) -> None:
        """A dispatched job ended: cache its result and resolve the caller's future."""
        exc = source.exception()
        with self._lock:
            self._running.pop(key, None)
            if exc is None and self._cache_size and key not in self._cache:
                result = source.result()
                size = _result_size(result)
                self._cache[key] = (result, size)
                self._cache_used += size
                while self._cache and (
                    len(self._cache) > self._cache_size or self._cache_used > self._cache_bytes
                ):
                    _, (_, freed) = self._cache.popitem(last=False)
                    self._cache_used -= freed
        if exc is not None:
            out.set_exception(exc)
        else:
            out.set_result(source.result())

    def _tests_key(self, tests: Sequence[TestCase]) -> str:
        """The tests' part of the cache key. A task's tests are serialised once, not
        once per program (RL grades many programs of each task): the list is held
        with its text, so its id cannot be reused while the entry lives."""
        with self._lock:
            entry = self._tests_keys.get(id(tests))
            if entry is not None and entry[0] is tests:
                self._tests_keys.move_to_end(id(tests))
                return entry[1]
        text = json.dumps([t.to_dict() for t in tests], sort_keys=True, ensure_ascii=False)
        with self._lock:
            self._tests_keys[id(tests)] = (tests, text)
            while len(self._tests_keys) > _TESTS_KEYS_KEPT:
                self._tests_keys.popitem(last=False)
        return text

    def _key(self, program: str, setup: str, tests_key: str, limits_key: str, stop: bool) -> bytes:
        """The cache key: a digest of everything the result depends on."""
        h = hashlib.blake2b(digest_size=20)
        for part in (
            program,
            setup,
            tests_key,
            limits_key,
            f"{self.rel_tol!r} {self.abs_tol!r} {stop} {self.site_packages}",
            self._cache_salt(),
        ):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.digest()

    def _cache_salt(self) -> str:
        """Anything else a result depends on (e.g. a hash seed); part of the key."""
        return ""


def _precheck(
    program: str, task: Task, tests: Sequence[TestCase], limits: Limits
) -> ExecutionResult | None:
    """What is decided before anything runs: a program too long to grade is a compile
    error; tests that mix stdio with other kinds are the caller's error."""
    if len(program.encode("utf-8", "surrogatepass")) > limits.max_program_bytes:
        return ExecutionResult(
            Outcome.COMPILE_ERROR,
            "toolarge",
            0,
            len(tests),
            message=f"program longer than {limits.max_program_bytes} bytes",
        )
    kinds = {t.kind for t in tests}
    if "stdio" in kinds and len(kinds) > 1:
        raise ValueError(
            f"task {task.task_id}: stdio tests cannot be mixed with "
            f"{', '.join(sorted(kinds - {'stdio'}))} tests"
        )
    return None


def _done(result: ExecutionResult) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


def _derived(source: Future) -> Future:
    """A future with ``source``'s result marked ``cached`` (a duplicate's answer)."""
    out: Future = Future()

    def copy(f: Future) -> None:
        exc = f.exception()
        if exc is not None:
            out.set_exception(exc)
        else:
            out.set_result(replace(f.result(), cached=True))

    source.add_done_callback(copy)
    return out


def _result_size(result: ExecutionResult) -> int:
    """Roughly what a cached result holds in memory, in bytes."""
    per_test = sum(200 + len(t.message) + len(t.actual or "") for t in result.tests)
    return 500 + len(result.stdout) + len(result.stderr) + len(result.message) + per_test


def _check_item(index: int, program: Any, task: Any) -> None:
    """A clear error for an item that is not ``(program text, Task)``, before anything
    runs (the item's index says which one, in a batch)."""
    where = f"item {index}: " if index else ""
    if isinstance(program, (bytes, bytearray)):
        raise TypeError(
            f"{where}program must be text (str), got {type(program).__name__}; "
            "decode it first, e.g. program.decode('utf-8')"
        )
    if not isinstance(program, str):
        raise TypeError(
            f"{where}program must be the program's source text (str), got {type(program).__name__}"
        )
    if not isinstance(task, Task):
        raise TypeError(
            f"{where}task must be a code_env Task (e.g. from load_tasks), got {type(task).__name__}"
        )

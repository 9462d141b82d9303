"""The :class:`RaySandbox`: the sandbox's grading spread over the nodes of a Ray cluster.

>>> from code_env.sandbox import RaySandbox
>>> with RaySandbox("auto") as rsb:                     # doctest: +SKIP
...     results = rsb.run_many([(program, task), ...])  # same verdicts as Sandbox
...     future = rsb.submit(program, task)              # grade while generating
...     rsb.nodes                                       # where the graders run

One grading actor per node, each holding an ordinary :class:`~code_env.sandbox.Sandbox`
sized to its node: its warm workers fork a confined child per program, with every
isolation layer of the local sandbox, and the actor judges the child's values as the
local front does. Untrusted code never runs in an actor's process, nor in this one.

This process keeps a queue of programs and sends them in chunks to whichever actor has
room, so every node stays busy whatever its size. A chunk whose actor dies (the actor
killed, its node lost) goes back to the queue and to a live actor; each program is tried
``max_retries`` times before it is reported as ``RUNTIME_ERROR``/``killed``. Ray restarts
an actor whose process died on a live node; an actor on a lost node is replaced when the
node comes back, and nodes that join are put to work. When no actor can be reached for
``cluster_timeout_s`` seconds every waiting caller gets a :class:`RayClusterError`
naming the cluster's address, never a hang.

Ray is an optional dependency (``pip install 'code-synthesis-rl[ray]'``), imported when
a :class:`RaySandbox` is made. See docs/scaling.md for clusters, the threat model Ray
adds, and measured costs.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from code_env.sandbox.base import BaseSandbox, SandboxStats
from code_env.sandbox.result import ExecutionResult, Limits, Outcome
from code_env.tasks.model import Task, TestCase

#: How to install the optional Ray dependency (said by every error about it).
RAY_INSTALL_HINT = "pip install 'code-synthesis-rl[ray]'"

#: ``Sandbox`` arguments a RaySandbox passes on to the sandbox of every actor.
ACTOR_SANDBOX_ARGS = (
    "backend",
    "rel_tol",
    "abs_tol",
    "hide_paths",
    "site_packages",
    "hash_seed",
    "preload",
)

# Chunks in flight per actor: one being graded, one waiting in the actor, so that its
# workers never wait for a round trip to this process.
_CHUNKS_IN_FLIGHT = 2

_Job = tuple[str, Task, list[TestCase], Limits, bool]


class RayClusterError(ConnectionError):
    """The Ray cluster could not be reached, or no grading actor could be reached on it
    for longer than ``cluster_timeout_s``. The message names the cluster's address."""


def import_ray(*, starting_local: bool = False) -> Any:
    """``ray``, or ``ImportError`` with the install hint.

    Ray's usage statistics (which would contact a server) are off unless the caller's
    environment says otherwise. When this process is about to start a local Ray, Ray is
    told to give its node the loopback address, so that nothing listens on another
    address (see :func:`_loopback_only`).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if starting_local:
        _loopback_only()
    try:
        import ray
    except ImportError as exc:
        raise ImportError(f"RaySandbox needs Ray, an optional extra: {RAY_INSTALL_HINT}") from exc
    if starting_local:
        _loopback_only()
    return ray


def _loopback_only() -> None:
    """Make the next local Ray use 127.0.0.1 for every node and process.

    Ray reads ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` once, when ``ray`` is imported, into
    a constant that it consults whenever it looks up the node's address; ``0`` means
    loopback. The variable is set for the processes Ray starts, and the constant for
    this one, in case ``ray`` was imported before the variable was set.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None and getattr(constants, "ENABLE_RAY_CLUSTER", False):
        constants.ENABLE_RAY_CLUSTER = False


# Ray instances this module started, and how many RaySandboxes use each one: the last
# to close shuts it down. A Ray that the caller started is never shut down here.
_ray_started_here = False
_ray_users = 0
_ray_lock = threading.Lock()


def join_ray(address: str | None = None, timeout: float = 60.0) -> tuple[Any, str]:
    """Join the cluster at ``address`` (``ray.init``'s meaning) or start a local Ray;
    returns ``(ray, the cluster's address)``. A process already joined stays joined.
    Pair every call with :func:`leave_ray`: a Ray started here is shut down when the
    last user leaves it.

    ``ray.init`` retries an address where nothing answers for minutes, so a
    ``host:port`` address is first checked with one TCP connection (``timeout``
    seconds at most). ``ray.init`` itself runs in the calling thread: the processes of
    a local Ray die with the thread that started them."""
    global _ray_started_here, _ray_users
    from_env = os.environ.get("RAY_ADDRESS")
    local = address is None and not from_env
    ray = import_ray(starting_local=local)
    with _ray_lock:
        if not ray.is_initialized():
            target = address or from_env
            shown = "a new local Ray" if local else repr(target)
            if target:
                _check_reachable(target, min(timeout, 10.0))
            try:
                if local:
                    # "local": a new Ray of our own, never the newest one on this machine
                    ray.init(address="local", include_dashboard=False, logging_level="WARNING")
                else:
                    ray.init(address=address, logging_level="WARNING")
            except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ...
                raise RayClusterError(
                    f"could not connect to the Ray cluster at {shown}: {type(exc).__name__}: {exc}"
                ) from exc
            if local:
                addresses = {n.get("NodeManagerAddress") for n in ray.nodes()}
                if addresses != {"127.0.0.1"}:
                    ray.shutdown()
                    raise RuntimeError(
                        f"the local Ray started on {sorted(addresses)}, not on 127.0.0.1 "
                        "only; it was shut down"
                    )
            _ray_started_here = True
        if _ray_started_here:
            _ray_users += 1
    return ray, _cluster_address(ray)


def _check_reachable(address: str, timeout: float) -> None:
    """``RayClusterError`` at once if nothing listens at a ``host:port`` address
    (``ray://host:port`` included); other forms (``auto``) are left to Ray."""
    import socket

    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayClusterError(
            f"could not connect to the Ray cluster at {address!r}: nothing answers there "
            f"({exc}); start one with `ray start --head` or check the address"
        ) from None


def leave_ray(ray: Any) -> None:
    """One user of :func:`join_ray` is done: shut down a Ray that ``join_ray`` started
    once its last user leaves (a Ray the caller started is left alone)."""
    global _ray_started_here, _ray_users
    with _ray_lock:
        if not _ray_started_here:
            return
        _ray_users -= 1
        if _ray_users <= 0:
            _ray_users = 0
            _ray_started_here = False
            with contextlib.suppress(Exception):
                ray.shutdown()


def _cluster_address(ray: Any) -> str:
    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:  # Ray Client connections have no GCS address here
        return os.environ.get("RAY_ADDRESS", "the connected Ray cluster")


class _GradingActor:
    """Runs in a Ray actor on one node: an ordinary local Sandbox, graded in chunks.

    The sandbox's workers are child processes of this actor; programs run in their
    children, never in this process, and the verdicts are judged here.
    """

    def __init__(self, workers: int, limits: Limits, sandbox_kwargs: dict[str, Any]) -> None:
        from code_env.sandbox.sandbox import Sandbox

        # Unpinned: Ray may place other actors (another RaySandbox, a model replica) on
        # this node's cores, and their sandboxes would pin from the same core 0.
        self.sandbox = Sandbox(
            workers=workers, limits=limits, cache_size=0, pin_workers=False, **sandbox_kwargs
        )
        self.layers = self.sandbox.layers  # starts a worker: the actor is ready when it is

    def info(self) -> dict[str, Any]:
        """Where this actor runs and what it holds."""
        import ray

        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "workers": self.sandbox.n_workers,
            "layers": list(self.layers),
            "worker_restarts": self.sandbox.stats.worker_restarts,
        }

    def grade(self, jobs: list[_Job]) -> list[ExecutionResult]:
        """Grade a chunk of jobs over this node's workers; results in order."""
        # Checked, deduplicated and cached by the RaySandbox already: straight to the
        # workers.
        return [f.result() for f in self.sandbox._dispatch_many(jobs)]


@dataclass
class GraderNode:
    """One grading actor of a :class:`RaySandbox` (see :attr:`RaySandbox.nodes`)."""

    node_id: str
    """Ray's id of the node."""
    address: str
    """The node's address, as Ray reports it."""
    workers: int
    """Sandbox workers of the actor (programs it runs at once)."""
    state: str
    """``"starting"`` (placed, not ready yet), ``"ready"`` or ``"lost"``."""
    programs: int = 0
    """Programs this actor has graded."""
    pid: int | None = None
    """The actor's process id on its node (once ready)."""


@dataclass
class RaySandboxStats(SandboxStats):
    """:class:`~code_env.sandbox.SandboxStats` plus what a cluster adds."""

    chunks: int = 0
    """Chunks of programs sent to actors."""
    retried: int = 0
    """Programs sent again because the actor grading them died."""
    actors_started: int = 0
    """Grading actors created (one per node at start, more as nodes join or return)."""
    actors_lost: int = 0
    """Grading actors that died (their process, or their node)."""


@dataclass
class _Pending:
    job: _Job
    future: Future
    attempts: int = 0


@dataclass
class _Grader:
    handle: Any
    node_id: str
    address: str
    workers: int
    state: str = "starting"
    inflight: int = 0
    programs: int = 0
    pid: int | None = None
    layers: list[str] = field(default_factory=list)


class RaySandbox(BaseSandbox):
    """Grades programs on every node of a Ray cluster, with the verdicts of
    :class:`~code_env.sandbox.Sandbox`.

    Args:
        address: The cluster, as ``ray.init`` takes it: None joins the cluster in
            ``RAY_ADDRESS`` or, without one, starts a local Ray on the loopback
            address; ``"auto"`` joins the cluster this machine belongs to;
            ``"ray://host:port"`` connects through Ray Client. If this process has
            already called ``ray.init``, that connection is used.
        workers_per_node: Sandbox workers of each node's actor; default: the node's
            CPUs, as Ray counts them.
        limits: Default resource limits (a :class:`~code_env.sandbox.Limits`).
        cpus_per_worker: CPUs each actor reserves per worker in Ray's accounting (so
            that Ray places actors where there is room; lower it to let other actors,
            such as a second RaySandbox, share the nodes).
        max_retries: Times a program is sent again after the actor grading it died;
            after that it is reported as ``RUNTIME_ERROR``/``killed``.
        max_actor_restarts: Restarts Ray grants an actor whose process died on a live
            node (``-1``: no limit).
        cluster_timeout_s: With no reachable actor for this long, waiting callers get
            a :class:`RayClusterError`; also how long start-up waits for actors.
        node_refresh_s: While there is work, the node list is read this often, so that
            nodes that join (or come back) get an actor.
        cache_size, cache_bytes: The result cache, kept in this process.
        **sandbox_kwargs: Passed to every actor's :class:`~code_env.sandbox.Sandbox`:
            ``backend``, ``rel_tol``, ``abs_tol``, ``hide_paths`` (default: this
            process's working and home directories), ``site_packages``, ``hash_seed``,
            ``preload``.

    Raises:
        ImportError: Ray is not installed (with the install hint).
        RayClusterError: The cluster cannot be reached, or no actor became ready
            within ``cluster_timeout_s``.
        TypeError: An argument in ``sandbox_kwargs`` is not one the actors take.

    Use as a context manager, or call :meth:`close`; the actors are released, and a Ray
    that this class started is shut down with the last RaySandbox that uses it.
    """

    stats: RaySandboxStats

    def __init__(
        self,
        address: str | None = None,
        *,
        workers_per_node: int | None = None,
        limits: Limits | None = None,
        cpus_per_worker: float = 1.0,
        max_retries: int = 3,
        max_actor_restarts: int = 2,
        cluster_timeout_s: float = 60.0,
        node_refresh_s: float = 10.0,
        cache_size: int = 100_000,
        cache_bytes: int = 32 << 20,
        **sandbox_kwargs: Any,
    ) -> None:
        unknown = sorted(set(sandbox_kwargs) - set(ACTOR_SANDBOX_ARGS))
        if unknown:
            hint = (
                " (a RaySandbox sizes each node with workers_per_node)"
                if "workers" in unknown
                else ""
            )
            raise TypeError(
                f"RaySandbox got unexpected argument(s) {', '.join(unknown)}{hint}; the "
                f"actors' sandboxes take {', '.join(ACTOR_SANDBOX_ARGS)}"
            )
        if workers_per_node is not None and (
            isinstance(workers_per_node, bool)
            or not isinstance(workers_per_node, int)
            or workers_per_node < 1
        ):
            raise ValueError(
                f"workers_per_node must be a positive integer, got {workers_per_node!r}"
            )
        if not cpus_per_worker >= 0:
            raise ValueError(f"cpus_per_worker must be >= 0, got {cpus_per_worker!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if not cluster_timeout_s > 0:
            raise ValueError(f"cluster_timeout_s must be positive, got {cluster_timeout_s!r}")
        if not node_refresh_s > 0:
            raise ValueError(f"node_refresh_s must be positive, got {node_refresh_s!r}")
        super().__init__(
            limits,
            cache_size=cache_size,
            cache_bytes=cache_bytes,
            rel_tol=sandbox_kwargs.get("rel_tol", 1e-6),
            abs_tol=sandbox_kwargs.get("abs_tol", 1e-9),
            site_packages=sandbox_kwargs.get("site_packages", False),
        )
        from code_env.sandbox.sandbox import default_hide_paths

        self.workers_per_node = workers_per_node
        self.cpus_per_worker = float(cpus_per_worker)
        self.max_retries = max_retries
        self.max_actor_restarts = max_actor_restarts
        self.cluster_timeout_s = float(cluster_timeout_s)
        self.node_refresh_s = float(node_refresh_s)
        self.hash_seed = int(sandbox_kwargs.get("hash_seed", 0))
        sandbox_kwargs.setdefault("hide_paths", default_hide_paths())
        sandbox_kwargs["hide_paths"] = [str(p) for p in sandbox_kwargs["hide_paths"]]
        self.sandbox_kwargs = sandbox_kwargs
        self._ray, self.address = join_ray(address, self.cluster_timeout_s)
        self._actor_class: Any = None
        self._graders: list[_Grader] = []
        self._pending: collections.deque[_Pending] = collections.deque()
        self._events: queue.Queue[tuple] = queue.Queue()
        self._broken: RayClusterError | None = None
        self._no_grader_since: float | None = time.monotonic()
        self._last_refresh = 0.0
        self._chunks: dict[int, list[_Pending]] = {}
        self._next_chunk = 0
        # Actors that failed to start, per node, and the last such error: a node whose
        # actor cannot start (e.g. this package missing there) is not tried forever.
        self._start_failures: collections.Counter[str] = collections.Counter()
        self._last_actor_error: BaseException | None = None
        self._slim: collections.OrderedDict[int, tuple[Task, Task]] = collections.OrderedDict()
        self._ready = threading.Condition()
        self._thread = threading.Thread(
            target=self._dispatcher, daemon=True, name="code_env-raysandbox"
        )
        self._starting = True
        try:
            self._thread.start()
            self._events.put(("refresh",))
            self._wait_for_actors()
        except BaseException:
            self.close()
            raise
        finally:
            self._starting = False

    # --- public API ------------------------------------------------------------------

    @property
    def nodes(self) -> list[GraderNode]:
        """The grading actors: node, address, workers, state and programs graded."""
        with self._ready:
            return [
                GraderNode(
                    node_id=g.node_id,
                    address=g.address,
                    workers=g.workers,
                    state="lost" if g.state == "dead" else g.state,
                    programs=g.programs,
                    pid=g.pid,
                )
                for g in self._graders
            ]

    @property
    def n_workers(self) -> int:  # type: ignore[override]
        """Sandbox workers on the actors that are ready now."""
        with self._ready:
            return sum(g.workers for g in self._graders if g.state == "ready")

    @property
    def layers(self) -> list[str]:
        """The confinement layers in force in the first ready actor's workers."""
        with self._ready:
            for g in self._graders:
                if g.state == "ready":
                    return list(g.layers)
        return []

    def close(self) -> None:
        """Release the actors; callers still waiting get ``RuntimeError``. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._events.put(("close",))
            self._thread.join(timeout=30)
        closed = RuntimeError("this RaySandbox was closed")
        self._fail_pending(closed)
        for chunk in list(self._chunks.values()):
            for pending in chunk:
                if not pending.future.done():
                    pending.future.set_exception(closed)
        for g in self._graders:
            with contextlib.suppress(Exception):
                self._ray.kill(g.handle, no_restart=True)
        leave_ray(self._ray)

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        with contextlib.suppress(Exception):
            self.close()

    # --- BaseSandbox hooks -------------------------------------------------------------

    def _new_stats(self) -> RaySandboxStats:
        return RaySandboxStats()

    def _cache_salt(self) -> str:
        return f"hash_seed={self.hash_seed}" if self.hash_seed else ""

    def _dispatch(
        self, program: str, task: Task, tests: list[TestCase], limits: Limits, stop_on_failure: bool
    ) -> Future:
        return self._dispatch_many([(program, task, tests, limits, stop_on_failure)])[0]

    def _dispatch_many(self, jobs: list[_Job]) -> list[Future]:
        if self._broken is not None:
            raise self._broken
        pending = [
            _Pending((p, self._slim_task(t), tests, lim, s), Future())
            for p, t, tests, lim, s in jobs
        ]
        with self._ready:
            self._pending.extend(pending)
        self._events.put(("work",))
        return [p.future for p in pending]

    # --- the dispatcher (one thread; the only one that talks to actors) -----------------

    def _dispatcher(self) -> None:
        while True:
            try:
                event = self._events.get(timeout=1.0)
            except queue.Empty:
                event = ("tick",)
            kind = event[0]
            if kind == "close":
                return
            try:
                if kind == "done":
                    self._chunk_done(*event[1:])
                elif kind == "ready":
                    self._actor_ready(*event[1:])
                self._check_health(force_refresh=kind == "refresh")
                self._pump()
            except Exception as exc:  # a Ray call failed: the cluster may be going
                self._cluster_trouble(exc)

    def _pump(self) -> None:
        """Send chunks of waiting programs to actors with room, least loaded first."""
        while True:
            with self._ready:
                if not self._pending:
                    return
                ready = [g for g in self._graders if g.state == "ready"]
                free = [g for g in ready if g.inflight < _CHUNKS_IN_FLIGHT]
                if not free:
                    return
                grader = min(free, key=lambda g: (g.inflight, -g.workers))
                chunk = self._take_chunk(grader, len(ready))
            jobs = [p.job for p in chunk]
            ref = grader.handle.grade.remote(jobs)
            self._next_chunk += 1
            chunk_id = self._next_chunk
            self._chunks[chunk_id] = chunk
            grader.inflight += 1
            self.stats.chunks += 1
            with self._lock:
                self.stats.executed += len(chunk)
            ref.future().add_done_callback(
                lambda f, g=grader, c=chunk_id: self._events.put(("done", g, c, f))
            )

    def _take_chunk(self, grader: _Grader, n_ready: int) -> list[_Pending]:
        """The next chunk for ``grader`` (under the lock): a program that was in a dead
        actor's chunk goes alone, so that a program that kills its actor takes no other
        program down with it twice; otherwise enough to keep the actor's workers busy,
        and no more than a fair share of what waits."""
        first = self._pending.popleft()
        if first.attempts:
            return [first]
        share = math.ceil((len(self._pending) + 1) / (n_ready * _CHUNKS_IN_FLIGHT))
        size = max(grader.workers, min(share, max(16, 4 * grader.workers)))
        chunk = [first]
        while len(chunk) < size and self._pending and not self._pending[0].attempts:
            chunk.append(self._pending.popleft())
        return chunk

    def _chunk_done(self, grader: _Grader, chunk_id: int, future: Future) -> None:
        grader.inflight -= 1
        chunk = self._chunks.pop(chunk_id)
        exc = future.exception()
        if exc is None:
            results = future.result()
            grader.programs += len(chunk)
            for pending, result in zip(chunk, results, strict=True):
                pending.future.set_result(result)
            return
        exceptions = self._ray.exceptions
        if isinstance(exc, exceptions.RayTaskError) or not isinstance(exc, exceptions.RayError):
            # Not a lost actor: an error in grading itself (e.g. a task that cannot be
            # sent). Retrying would fail the same way; the caller sees it.
            for pending in chunk:
                pending.future.set_exception(exc)
            return
        self._requeue(chunk, exc)
        self._actor_lost(grader)

    def _requeue(self, chunk: list[_Pending], exc: BaseException) -> None:
        back = []
        for pending in chunk:
            pending.attempts += 1
            if pending.attempts > self.max_retries:
                tests = pending.job[2]
                pending.future.set_result(
                    ExecutionResult(
                        Outcome.RUNTIME_ERROR,
                        "killed",
                        0,
                        len(tests),
                        message=(
                            f"the grading actor died {pending.attempts} times while this "
                            f"program was in its batch ({type(exc).__name__})"
                        ),
                    )
                )
            else:
                back.append(pending)
        with self._ready:
            self._pending.extendleft(reversed(back))
        self.stats.retried += len(back)

    def _actor_lost(self, grader: _Grader) -> None:
        """An actor's call failed: wait for Ray to restart it, or replace it."""
        if grader.state != "ready":
            return  # already known (several chunks fail for one loss)
        self.stats.actors_lost += 1
        with self._ready:
            grader.state = "starting"
        # If Ray restarts the actor, this answers once it is back; if the actor is dead
        # for good (its node lost, restarts spent), it fails and a new one is made.
        grader.handle.info.remote().future().add_done_callback(
            lambda f, g=grader: self._events.put(("ready", g, f))
        )

    def _actor_ready(self, grader: _Grader, future: Future) -> None:
        exc = future.exception()
        with self._ready:
            if exc is None:
                info = future.result()
                self._start_failures.pop(grader.node_id, None)
                grader.state = "ready"
                grader.pid = info["pid"]
                grader.workers = info["workers"]
                grader.layers = info["layers"]
            else:
                grader.state = "dead"
                if grader.pid is None:  # it never started
                    self._start_failures[grader.node_id] += 1
                    self._last_actor_error = exc
            self._ready.notify_all()
        if exc is not None:
            with contextlib.suppress(Exception):
                self._ray.kill(grader.handle, no_restart=True)
            self._last_refresh = 0.0  # look for its node (or another) at once

    def _check_health(self, force_refresh: bool = False) -> None:
        """Start actors on nodes without one; give up on a cluster that is gone."""
        now = time.monotonic()
        with self._ready:
            has_ready = any(g.state == "ready" for g in self._graders)
            busy = bool(self._pending) or any(g.inflight for g in self._graders)
        if has_ready or not (busy or self._starting):
            self._no_grader_since = None  # an idle sandbox waits for work, not actors
        elif self._no_grader_since is None:
            self._no_grader_since = now
        if force_refresh or (
            now - self._last_refresh > (self.node_refresh_s if has_ready else 2.0) and busy
        ):
            self._last_refresh = now
            self._refresh()
        if (
            self._no_grader_since is not None
            and now - self._no_grader_since > self.cluster_timeout_s
        ):
            self._cluster_trouble(None)

    def _refresh(self) -> None:
        """One actor for every live node that has CPUs and none yet."""
        nodes = _call_with_timeout(self._ray.nodes, timeout=min(30.0, self.cluster_timeout_s))
        alive = {
            n["NodeID"]: n
            for n in nodes
            if n.get("Alive") and float(n.get("Resources", {}).get("CPU", 0)) > 0
        }
        with self._ready:
            for g in self._graders:
                if g.state != "dead" and g.node_id not in alive:
                    g.state = "dead"  # its node is gone: its calls fail or never answer
            covered = {g.node_id for g in self._graders if g.state != "dead"}
            self._graders = [g for g in self._graders if g.state != "dead" or g.inflight]
        for node_id, node in alive.items():
            if node_id not in covered and self._start_failures[node_id] < 3:
                self._start_actor(node_id, node)

    def _start_actor(self, node_id: str, node: dict[str, Any]) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if self._actor_class is None:
            self._actor_class = self._ray.remote(_GradingActor)
        workers = self.workers_per_node or max(1, int(float(node["Resources"]["CPU"])))
        handle = self._actor_class.options(
            num_cpus=workers * self.cpus_per_worker,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
            max_restarts=self.max_actor_restarts,
            max_task_retries=0,  # a lost chunk is re-sent by this class, counted per program
            max_concurrency=_CHUNKS_IN_FLIGHT + 1,
        ).remote(workers, self.limits, self.sandbox_kwargs)
        grader = _Grader(handle, node_id, str(node.get("NodeManagerAddress", "?")), workers)
        with self._ready:
            self._graders.append(grader)
        self.stats.actors_started += 1
        handle.info.remote().future().add_done_callback(
            lambda f, g=grader: self._events.put(("ready", g, f))
        )

    def _cluster_trouble(self, exc: BaseException | None) -> None:
        """No actor for ``cluster_timeout_s``, or a Ray call failed: once the first has
        lasted long enough, every waiting caller (and every later one) gets the error."""
        now = time.monotonic()
        if self._no_grader_since is None and exc is not None:
            self._no_grader_since = now  # a failed call alone is not enough: wait it out
        since = self._no_grader_since if self._no_grader_since is not None else now
        if now - since <= self.cluster_timeout_s:
            return
        exc = exc or self._last_actor_error
        cause = f" (last error: {type(exc).__name__}: {exc})" if exc is not None else ""
        error = RayClusterError(
            f"no grading actor on the Ray cluster at {self.address} could be reached for "
            f"{self.cluster_timeout_s:.0f} s: the cluster is gone, or no node has "
            f"{self.cpus_per_worker:g} CPU per sandbox worker free{cause}"
        )
        self._broken = error
        self._fail_pending(error)
        with self._ready:
            self._ready.notify_all()

    def _fail_pending(self, exc: BaseException) -> None:
        with self._ready:
            pending, self._pending = list(self._pending), collections.deque()
        for p in pending:
            if not p.future.done():
                p.future.set_exception(exc)

    def _wait_for_actors(self) -> None:
        """Block until every placed actor is ready (or ``cluster_timeout_s``); at least
        one must be."""
        deadline = time.monotonic() + self.cluster_timeout_s
        with self._ready:
            while True:
                if self._broken is not None:
                    raise self._broken
                placed = [g for g in self._graders if g.state != "dead"]
                ready = [g for g in placed if g.state == "ready"]
                left = deadline - time.monotonic()
                if placed and len(ready) == len(placed):
                    return
                if left <= 0:
                    if ready:
                        return
                    last = self._last_actor_error
                    cause = f"; last error: {type(last).__name__}: {last}" if last else ""
                    raise RayClusterError(
                        f"no grading actor became ready on the Ray cluster at {self.address} "
                        f"within {self.cluster_timeout_s:.0f} s ({len(placed)} placed; each "
                        f"needs {self.cpus_per_worker:g} free CPU per sandbox worker{cause})"
                    )
                self._ready.wait(timeout=min(left, 0.5))

    def _slim_task(self, task: Task) -> Task:
        """The task as actors need it (no prompt, solutions or metadata to ship: APPS
        tasks carry dozens of solutions), made once per task."""
        entry = self._slim.get(id(task))
        if entry is not None and entry[0] is task:
            return entry[1]
        slim = replace(task, prompt="-", solutions=[], example_tests=[], metadata={})
        with self._ready:
            self._slim[id(task)] = (task, slim)
            while len(self._slim) > 4096:
                self._slim.popitem(last=False)
        return slim


def _call_with_timeout(fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()`` in a helper thread; ``TimeoutError`` if it has not answered in time
    (a call to a cluster that is gone may block for minutes)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="code_env-ray-call")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"Ray did not answer within {timeout:.0f} s")
    if "error" in box:
        raise box["error"]
    return box["value"]

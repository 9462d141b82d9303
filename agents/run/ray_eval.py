"""Distributed evaluation of a saved agent: generation on model replicas placed by Ray,
grading on a :class:`~code_env.sandbox.RaySandbox`, the two overlapped.

>>> from code_env.sandbox import RaySandbox
>>> from agents.run.ray_eval import evaluate_checkpoint_on_ray
>>> with RaySandbox("auto") as rsb:                                     # doctest: +SKIP
...     report = evaluate_checkpoint_on_ray("runs/latest", "builtin", sandbox=rsb, n=16)
>>> print(report.table())                                               # doctest: +SKIP

What happens:

* **Replicas.** Ray actors that each load the checkpoint's policy (only the policy: no
  reference copy, no optimiser), on CUDA in bf16 when the actor has a GPU, else on the
  CPU with one thread. One replica per GPU when the cluster has GPUs (``num_gpus=1``);
  otherwise one per CPU of each node, pinned to that node. Replicas ask Ray for no CPU
  (``num_cpus=0``): the CPUs stay with the RaySandbox's grading actors, which reserve
  them, so both can share one cluster. ``replicas=`` sets the count instead.
* **Chunks.** The tasks are cut into chunks of ``chunk_tasks`` tasks; a replica makes a
  chunk's greedy completion and ``n`` samples per task, each replica holding at most
  two chunks at once (one generating, one waiting), so a fast replica takes more.
* **Streaming.** As each chunk comes back its programs go to the sandbox with
  :meth:`~code_env.sandbox.BaseSandbox.submit`, so grading runs while the next chunks
  are generated.
* **One report.** The verdicts become an :class:`~agents.common.evaluation.EvalReport` through
  :func:`~agents.common.evaluation.report_from_results`, the code the local evaluation uses:
  the same pass@k, outcome shares, per-difficulty split and per-task records.

Generation settings (``max_new_tokens``, ``temperature``, ``top_p``, the batch size and
``max_prompt_tokens``) are the checkpoint's, as :meth:`agents.common.base.BaseAgent.evaluate`
uses them, so greedy results equal ``agent.evaluate(tasks, k=..., n=...)``'s. Samples are
drawn from a seed made of ``seed`` and the chunk's index: the same for a given ``seed`` and
``chunk_tasks`` whatever the number of replicas or where each chunk ran (on CPU; GPU
kernels may add their own nondeterminism).

A replica that dies (its node lost, its process killed) gives its chunks to the others;
the chunk's seed makes the retry draw the same samples. Replicas are killed at the end,
also on error or interrupt.

Ray is an optional dependency: ``pip install 'code-synthesis-rl[ray]'``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from code_env.sandbox import BaseSandbox, ExecutionResult
from code_env.sandbox.cluster import RAY_INSTALL_HINT, import_ray
from code_env.tasks import Task, load_tasks

if TYPE_CHECKING:
    from agents.common.config import SamplingConfig
    from agents.common.evaluation import EvalReport

__all__ = ["evaluate_checkpoint_on_ray", "plan_replicas"]

#: Chunks a replica holds at once: one generating, one waiting, so that it never idles
#: for a round trip to this process.
CHUNKS_PER_REPLICA = 2

#: Times a chunk is sent again after the replica generating it died.
MAX_CHUNK_RETRIES = 3

# The checkpoint's files a replica needs (shipped with ship_checkpoint=True): the
# config and the model, without the reference copy or the optimiser state.
_SKIPPED_WHEN_SHIPPED = ("state.pt", "model/reference")


def _ray() -> Any:
    """``ray``, or ``ImportError`` with the install hint."""
    try:
        return import_ray(starting_local=not os.environ.get("RAY_ADDRESS"))
    except ImportError as exc:
        raise ImportError(
            f"distributed evaluation needs Ray, an optional extra: {RAY_INSTALL_HINT}"
        ) from exc


class _Replica:
    """Runs in a Ray actor: the checkpoint's policy, generating chunks of tasks."""

    def __init__(self, checkpoint: str, files: dict[str, bytes] | None) -> None:
        import torch

        from agents.common.base import load_checkpoint_policy, read_checkpoint_config

        if not torch.cuda.is_available():
            # One replica per CPU: several threads each would only fight over the cores.
            torch.set_num_threads(1)
        if files is None and not Path(checkpoint).is_dir():
            raise FileNotFoundError(
                f"the checkpoint {checkpoint} is not on this node; put it where every node "
                "can read it (a shared file system) or pass ship_checkpoint=True"
            )
        with contextlib.ExitStack() as stack:
            if files is not None:  # shipped through the object store: no shared disk needed
                checkpoint = stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="code_synthesis_replica_")
                )
                for rel, data in files.items():
                    target = Path(checkpoint) / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
            # The model and tokenizer are read into memory here; the copy can go.
            _, config = read_checkpoint_config(checkpoint)
            self.policy = load_checkpoint_policy(checkpoint, config, device="auto", reference=False)
        self.chunks = 0

    def info(self) -> dict[str, Any]:
        """Where this replica runs and what it has done."""
        import ray

        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "device": str(self.policy.device),
            "chunks": self.chunks,
        }

    def generate(
        self, prompts: list[str], n: int, seed: int, sampling: SamplingConfig
    ) -> list[tuple[str, list[str]]]:
        """``(greedy completion, n sampled completions)`` for each prompt, the samples
        drawn after seeding every generator with ``seed``."""
        from agents.common.policy import seed_everything

        greedy = self.policy.sample(prompts, sampling, greedy=True)
        seed_everything(seed)
        groups = self.policy.sample(prompts, sampling, n=n)
        self.chunks += 1
        return [
            (g[0].text, [s.text for s in samples])
            for g, samples in zip(greedy, groups, strict=True)
        ]


def plan_replicas(ray: Any, replicas: int | None = None) -> list[dict[str, Any]]:
    """Ray actor options for each model replica on the connected cluster.

    With GPUs: one replica per GPU (``num_gpus=1, num_cpus=0``), each pinned to its
    node. Without: one per CPU of each node (``num_cpus=0``, pinned with
    ``NodeAffinitySchedulingStrategy``), so they leave the CPUs to the sandbox's grading
    actors. Replicas alternate over the nodes (node 1, node 2, ..., node 1, ...), so
    ``replicas=2`` on two nodes puts one on each.

    Args:
        ray: The ``ray`` module, connected.
        replicas: How many (default: one per GPU, or per CPU). Without GPUs it may
            exceed the CPUs (more replicas share the cores); with GPUs it may not
            exceed their number.

    Raises:
        ValueError: ``replicas`` is not a positive integer, or asks for more replicas
            than the cluster has GPUs.
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if replicas is not None and (
        isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1
    ):
        raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
    nodes = sorted((n for n in ray.nodes() if n.get("Alive")), key=lambda n: str(n.get("NodeID")))
    gpus = {n["NodeID"]: int(float(n.get("Resources", {}).get("GPU", 0))) for n in nodes}
    use_gpu = sum(gpus.values()) > 0
    per_node = (
        gpus
        if use_gpu
        else {n["NodeID"]: int(float(n.get("Resources", {}).get("CPU", 0))) for n in nodes}
    )
    # Slots alternate over the nodes: the first replicas spread over the whole cluster.
    slots: list[str] = []
    for i in range(max(per_node.values(), default=0)):
        slots += [node_id for node_id, count in per_node.items() if count > i]
    if use_gpu and replicas is not None and replicas > len(slots):
        raise ValueError(
            f"replicas={replicas}, but the cluster has {len(slots)} GPUs (one replica each)"
        )
    count = replicas if replicas is not None else max(1, len(slots))
    options = []
    for i in range(count):
        opts: dict[str, Any] = {"num_cpus": 0, "max_restarts": 0, "max_concurrency": 1}
        if use_gpu:
            opts["num_gpus"] = 1
        if slots:
            opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(
                slots[i % len(slots)], soft=False
            )
        options.append(opts)
    return options


def _chunk_seed(seed: int, index: int) -> int:
    """The sampling seed of chunk ``index``: a hash of both, so that neighbouring chunks
    (and neighbouring base seeds) draw unrelated samples."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def _checkpoint_files(path: Path) -> dict[str, bytes]:
    """The files of a checkpoint a replica needs, by path relative to it."""
    files = {}
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path).as_posix()
        if file.is_file() and not any(
            rel == skip or rel.startswith(skip + "/") for skip in _SKIPPED_WHEN_SHIPPED
        ):
            files[rel] = file.read_bytes()
    return files


@dataclass
class _Chunk:
    """A few consecutive tasks, generated together by one replica."""

    index: int
    """Its place among the chunks (it decides the chunk's sampling seed)."""
    tasks: list[Task]
    attempts: int = 0
    """Times its replica died while generating it."""
    samples: list[list[Future]] = field(default_factory=list)
    """Per task, the futures of its sampled programs' verdicts (once generated)."""
    greedy: list[Future] = field(default_factory=list)
    """Per task, the future of its greedy program's verdict (once generated)."""
    counted: set[int] = field(default_factory=set)
    """Tasks of this chunk already counted on the progress bar as graded."""


def evaluate_checkpoint_on_ray(
    checkpoint: str | os.PathLike[str],
    tasks: Any,
    *,
    sandbox: BaseSandbox,
    k: Iterable[int] = (1, 5),
    n: int = 8,
    replicas: int | None = None,
    chunk_tasks: int = 4,
    seed: int = 0,
    temperature: float | None = None,
    ship_checkpoint: bool = False,
    progress: bool = True,
    stats: dict[str, Any] | None = None,
) -> EvalReport:
    """Evaluate a saved agent with generation spread over model replicas on a Ray
    cluster and grading streamed to ``sandbox``: greedy pass@1, pass@k (unbiased
    estimator from ``n`` samples per task) and outcome shares.

    The report is built by the code of the local evaluation, with the checkpoint's
    generation settings, so with greedy decoding it equals
    ``Agent.load(checkpoint).evaluate(tasks, k=k, n=n)``'s (see the module's notes).

    Args:
        checkpoint: A folder saved by :meth:`agents.common.base.BaseAgent.save`, or a run
            folder holding one in ``checkpoint/``. Every node must be able to read it
            at the same path, unless ``ship_checkpoint``.
        tasks: The tasks: a list of :class:`~code_env.tasks.Task` or anything
            :func:`~code_env.load_tasks` takes (``"builtin"``, a ``.jsonl`` path...).
        sandbox: Where programs are graded: a :class:`~code_env.sandbox.RaySandbox` (its
            Ray connection also places the replicas), or any other
            :class:`~code_env.sandbox.BaseSandbox` (then Ray is joined as a
            RaySandbox would: ``RAY_ADDRESS``, or a local Ray on the loopback address).
        k: The k values of pass@k (each at most ``n``).
        n: Samples per task.
        replicas: Model replicas to start (default: one per GPU of the cluster, or,
            without GPUs, one per CPU).
        chunk_tasks: Tasks per chunk sent to a replica: smaller chunks start grading
            sooner and share work more evenly; larger ones batch more rows per
            ``generate`` call (worth it on GPUs).
        seed: Base seed of the samples; chunk ``i`` samples from a seed derived from
            ``(seed, i)``.
        temperature: Sampling temperature (default: the checkpoint's).
        ship_checkpoint: Send the checkpoint's model through Ray's object store to
            every replica, for clusters whose nodes share no file system.
        progress: Show a tqdm progress bar over tasks (a task counts once all of its
            programs are graded).
        stats: If given, filled with what the run used: ``replicas`` (node, pid,
            device and chunks of each), ``chunks``, ``chunk_tasks``, ``programs``,
            ``seconds``, ``seed`` and ``retried_chunks``.

    Returns:
        The :class:`~agents.common.evaluation.EvalReport`.

    Raises:
        ImportError: Ray is not installed (with the install hint).
        FileNotFoundError: No saved agent at ``checkpoint``.
        ValueError: ``n``, ``k``, ``replicas`` or ``chunk_tasks`` is out of range, or
            there are no tasks.
        TypeError: ``sandbox`` is not a sandbox.
        RuntimeError: Every replica died (the message holds the last error, e.g. the
            checkpoint missing on a node).
    """
    ray = _ray()
    from agents.common.base import evaluation_generation, read_checkpoint_config, resolve_checkpoint
    from agents.common.evaluation import _check_ks, report_from_results

    ks = _check_ks(k)
    if isinstance(n, bool) or not isinstance(n, int) or n < ks[-1]:
        raise ValueError(f"n must be an integer of at least max(k)={ks[-1]}, got {n!r}")
    if isinstance(chunk_tasks, bool) or not isinstance(chunk_tasks, int) or chunk_tasks < 1:
        raise ValueError(f"chunk_tasks must be a positive integer, got {chunk_tasks!r}")
    if not isinstance(sandbox, BaseSandbox):
        raise TypeError(f"sandbox must be a code_env BaseSandbox, got {type(sandbox).__name__}")
    task_list: list[Task] = list(load_tasks(tasks))
    if not task_list:
        raise ValueError("evaluate_checkpoint_on_ray needs at least one task")
    path = resolve_checkpoint(checkpoint)
    _, config = read_checkpoint_config(path)
    sampling = evaluation_generation(config, temperature)

    # A sandbox that is not a RaySandbox leaves Ray to us: join it as a RaySandbox would,
    # and leave it as we found it.
    from code_env.sandbox.cluster import join_ray, leave_ray

    connected_here = not ray.is_initialized()
    if connected_here:
        ray, _ = join_ray(None)

    started = time.perf_counter()
    chunks = [
        _Chunk(i, task_list[start : start + chunk_tasks])
        for i, start in enumerate(range(0, len(task_list), chunk_tasks))
    ]
    bar = None
    handles: list[Any] = []
    try:
        files = ray.put(_checkpoint_files(path)) if ship_checkpoint else None
        actor = ray.remote(_Replica)
        handles = [
            actor.options(**opts).remote(str(path.resolve()), files)
            for opts in plan_replicas(ray, replicas)
        ]
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(task_list), desc="evaluating on Ray", unit="task")
        retried = _generate_and_submit(ray, handles, chunks, n, seed, sampling, sandbox, bar)
        # Generation is over; the last programs may still be grading.
        while not _count_graded(chunks, bar, wait_s=0.2):
            pass
        results = {
            t.task_id: [f.result() for f in futures]
            for c in chunks
            for t, futures in zip(c.tasks, c.samples, strict=True)
        }
        greedy: dict[str, ExecutionResult] = {
            t.task_id: f.result() for c in chunks for t, f in zip(c.tasks, c.greedy, strict=True)
        }
        if stats is not None:
            infos = []
            for handle in handles:
                with contextlib.suppress(Exception):  # a dead replica has nothing to say
                    infos.append(ray.get(handle.info.remote(), timeout=30))
            stats.update(
                replicas=infos,
                chunks=len(chunks),
                chunk_tasks=chunk_tasks,
                programs=len(task_list) * (n + 1),
                seconds=time.perf_counter() - started,
                seed=seed,
                retried_chunks=retried,
            )
    finally:
        if bar is not None:
            bar.close()
        for handle in handles:
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)
        if connected_here:
            leave_ray(ray)
    return report_from_results(task_list, results, greedy, ks=ks)


def _generate_and_submit(
    ray: Any,
    handles: list[Any],
    chunks: list[_Chunk],
    n: int,
    seed: int,
    sampling: SamplingConfig,
    sandbox: BaseSandbox,
    bar: Any,
) -> int:
    """Hand chunks to replicas, each holding at most :data:`CHUNKS_PER_REPLICA`; submit
    each chunk's programs to ``sandbox`` as it comes back. Returns how many chunks were
    sent again after their replica died."""
    waiting = collections.deque(chunks)
    load = [0] * len(handles)
    alive = [True] * len(handles)
    inflight: dict[Any, tuple[int, _Chunk]] = {}
    last_error: BaseException | None = None
    retried = 0
    while waiting or inflight:
        while waiting:
            free = [i for i in range(len(handles)) if alive[i] and load[i] < CHUNKS_PER_REPLICA]
            if not free:
                break
            r = min(free, key=lambda i: load[i])
            chunk = waiting.popleft()
            prompts = [t.prompt for t in chunk.tasks]
            ref = handles[r].generate.remote(prompts, n, _chunk_seed(seed, chunk.index), sampling)
            inflight[ref] = (r, chunk)
            load[r] += 1
        if not inflight:
            raise RuntimeError(
                f"every model replica died ({len(handles)} started); last error: "
                f"{type(last_error).__name__}: {last_error}"
            )
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.2)
        for ref in ready:
            r, chunk = inflight.pop(ref)
            load[r] -= 1
            try:
                outputs = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                # The replica is gone (its process or node): its chunks go to the others;
                # the chunk's seed makes the retry draw the same samples.
                alive[r] = False
                last_error = exc
                chunk.attempts += 1
                if chunk.attempts > MAX_CHUNK_RETRIES:
                    raise RuntimeError(
                        f"chunk {chunk.index} lost its replica {chunk.attempts} times; last "
                        f"error: {type(exc).__name__}: {exc}"
                    ) from exc
                retried += 1
                waiting.appendleft(chunk)
                continue
            for task, (greedy_text, samples) in zip(chunk.tasks, outputs, strict=True):
                chunk.samples.append([sandbox.submit(task.program(s), task) for s in samples])
                chunk.greedy.append(sandbox.submit(task.program(greedy_text), task))
        _count_graded(chunks, bar)
    return retried


def _count_graded(chunks: Sequence[_Chunk], bar: Any, wait_s: float = 0.0) -> bool:
    """Count tasks whose programs are all graded on the progress bar (first waiting up
    to ``wait_s`` for the first task still grading); True once every task's are."""
    every = True
    first_grading: list[Future] | None = None
    for chunk in chunks:
        if len(chunk.greedy) < len(chunk.tasks):
            every = False  # not generated yet
        for i, greedy in enumerate(chunk.greedy):
            if i in chunk.counted:
                continue
            futures = [*chunk.samples[i], greedy]
            if first_grading is None and wait_s > 0:
                # One task's futures, not all: waiting on every future each time one ends
                # would cost the square of their number.
                first_grading = futures
                wait(futures, timeout=wait_s)
            if all(f.done() for f in futures):
                chunk.counted.add(i)
                if bar is not None:
                    bar.update(1)
            else:
                every = False
    return every

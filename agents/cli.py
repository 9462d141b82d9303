"""The ``code-synthesis`` command.

``code-synthesis eval --reference`` grades a task set's reference solutions in the
sandbox and prints the outcome table: the quickest check that a task set, its tests
and the sandbox agree. Later subcommands (training, data generation) build on the
same loaders and sandbox.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

OUTCOMES = ("passed", "failed_test", "runtime_error", "compile_error")


def _format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with right-aligned numbers."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _load(args: argparse.Namespace):
    from code_env import load_tasks

    kwargs = {"path": args.path} if args.path else {}
    source = args.tasks
    if Path(source).suffix in (".jsonl", ".gz") or source.endswith(".jsonl.gz"):
        return load_tasks(source, split=args.split)
    return load_tasks(source, split=args.split, **kwargs)


def cmd_eval(args: argparse.Namespace) -> int:
    """``code-synthesis eval``: grade reference solutions (for now) and report."""
    if not args.reference:
        print(
            "code-synthesis eval: nothing to evaluate; pass --reference to grade the "
            "task set's reference solutions",
            file=sys.stderr,
        )
        return 2
    from code_env.sandbox import Limits, Sandbox

    tasks = _load(args)
    with_ref = [t for t in tasks if t.solutions]
    print(f"{tasks.summary()}; {len(with_ref)} with a reference solution")
    limits = Limits(timeout_s=args.timeout)
    with Sandbox(workers=args.workers, limits=limits) as sandbox:
        start = time.perf_counter()
        results = sandbox.run_many(
            [(t.program(t.solutions[0]), t) for t in with_ref], progress=not args.quiet
        )
        elapsed = time.perf_counter() - start
        layers = sandbox.layers
    groups: dict[str, Counter] = defaultdict(Counter)
    for task, result in zip(with_ref, results, strict=True):
        key = str(task.metadata.get(args.by) or "-")
        groups[key][result.outcome.value] += 1
        groups["all"][result.outcome.value] += 1
    rows = []
    for key in [*sorted(k for k in groups if k != "all"), "all"]:
        counts = groups[key]
        total = sum(counts.values())
        rows.append(
            [key, total, *(counts[o] for o in OUTCOMES), f"{100 * counts['passed'] / total:.1f}%"]
        )
    print()
    print(_format_table([args.by, "tasks", *OUTCOMES, "pass rate"], rows))
    print(
        f"\ngraded {len(with_ref)} programs in {elapsed:.2f} s "
        f"({len(with_ref) / elapsed:.0f} programs/s) with {sandbox.n_workers} workers; "
        f"layers: {', '.join(layers)}"
    )
    failures = [(t, r) for t, r in zip(with_ref, results, strict=True) if not r.passed]
    for task, result in failures[:10]:
        print(
            f"  not passed: {task.task_id}: {result.outcome.value} {result.subtype or ''} "
            f"{result.message[:100]}"
        )
    if args.json:
        out = {
            "tasks": len(with_ref),
            "seconds": elapsed,
            "layers": layers,
            "by": args.by,
            "groups": {k: dict(v) for k, v in groups.items()},
            "failures": [{"task_id": t.task_id, **r.to_dict()} for t, r in failures],
        }
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0 if not failures or args.allow_failures else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="code-synthesis",
        description="Reinforcement learning for code synthesis: tasks, sandbox, env, agents.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ev = sub.add_parser(
        "eval",
        help="grade programs against a task set's unit tests",
        description="Grade a task set's reference solutions in the sandbox and print the "
        "outcome table (passed / failed test / runtime error / compile error).",
    )
    ev.add_argument(
        "--reference",
        action="store_true",
        help="grade each task's reference solution (the tasks' own check)",
    )
    ev.add_argument(
        "--tasks",
        default="builtin",
        help="task source: builtin, mbpp, humaneval, apps, or a .jsonl file (default: builtin)",
    )
    ev.add_argument(
        "--path",
        default=None,
        help="local file or folder for mbpp / humaneval / apps (otherwise the "
        "Hugging Face hub is tried)",
    )
    ev.add_argument("--split", default=None, help="only this split (e.g. train, test)")
    ev.add_argument(
        "--by",
        default="split",
        help="metadata field to group the table by (split, family, difficulty...)",
    )
    ev.add_argument(
        "--workers",
        type=int,
        default=None,
        help="sandbox worker processes (default: one per CPU core)",
    )
    ev.add_argument("--timeout", type=float, default=4.0, help="seconds per test (default: 4)")
    ev.add_argument("--json", default=None, help="also write the results to this JSON file")
    ev.add_argument(
        "--allow-failures",
        action="store_true",
        help="exit 0 even if some reference solution does not pass",
    )
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``code-synthesis`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

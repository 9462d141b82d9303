"""Generate tasks with unit tests from the Python standard library, then check them.

Runs datagen over the standard library's pure-Python modules (or the modules named
with ``--modules``, or a fixed sample of them with ``--sample``), loads the tasks it
wrote with ``code_env.load_tasks``, re-runs every reference solution against its
tests in a fresh sandbox, and prints the report and one task.

    python examples/datagen_stdlib.py                        # the whole standard library
    python examples/datagen_stdlib.py --sample 30 --workers 1  # the sample in docs/datagen.md
    python examples/datagen_stdlib.py --modules statistics,textwrap,colorsys
    python examples/datagen_stdlib.py --sample 30 --infer-types none  # the spec's rule only
    python examples/datagen_stdlib.py --small                # a smoke test, not a result
"""

from __future__ import annotations

import argparse
import ast
import statistics

from code_env import load_tasks
from code_env.sandbox import Sandbox
from datagen import DatagenConfig, find_sources, run_datagen
from datagen.config import INFER_TYPES


def stdlib_sample(n: int, min_documented: int = 3) -> list[str]:
    """A fixed, systematic sample of ``n`` standard modules: of the standard library's
    files (default excludes) with at least ``min_documented`` top-level functions
    that have a docstring, sorted by module name, every ``len / n``-th. (It depends
    on the Python version only.)"""
    rows = []
    for source in find_sources("stdlib"):
        try:
            with open(source.path, encoding="utf-8") as fh:
                tree = ast.parse(fh.read())
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        documented = sum(
            1 for s in tree.body if isinstance(s, ast.FunctionDef) and ast.get_docstring(s)
        )
        if documented >= min_documented:
            rows.append(source.module)
    rows.sort()
    step = len(rows) / n
    return [rows[int(i * step)] for i in range(min(n, len(rows)))]


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the example; returns its headline numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modules",
        default=None,
        help="comma-separated standard modules (default: the whole standard library)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=None,
        help="a fixed sample of this many standard modules (see stdlib_sample)",
    )
    parser.add_argument("--out", default="runs/datagen_stdlib/tasks.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument(
        "--infer-types",
        choices=INFER_TYPES,
        default=DatagenConfig.infer_types,
        help="types for unhinted parameters (default: usage+probe; none: the spec's rule)",
    )
    parser.add_argument("--small", action="store_true", help="a smoke test, not a result")
    args = parser.parse_args(argv)

    if args.modules:
        sources = args.modules.split(",")
    elif args.sample:
        sources = stdlib_sample(args.sample)
        print(f"sample of {len(sources)} modules: {', '.join(sources)}")
    else:
        sources = ["stdlib"]
    config = DatagenConfig(seed=args.seed, workers=args.workers, infer_types=args.infer_types)
    if args.small:
        sources = ["statistics", "colorsys"]
        config = DatagenConfig(
            seed=args.seed,
            workers=1,
            max_functions=8,
            max_inputs=10,
            progress=False,
            infer_types=args.infer_types,
        )
    report = run_datagen(sources, args.out, config)
    print(report.summary())
    if not report.tasks:
        return {"tasks": 0.0}

    tasks = load_tasks(args.out)
    with Sandbox(workers=config.workers) as sandbox:
        results = sandbox.run_many(
            [(t.program(t.solutions[0]), t) for t in tasks], progress=config.progress
        )
    passed = sum(r.passed for r in results) / len(results)
    print(f"references passing their tests in a fresh sandbox: {passed:.1%}")
    print(f"\nexample task {tasks[0].task_id}:\n{tasks[0].prompt}")
    return {
        "tasks": float(len(tasks)),
        "tasks_with_5_tests": float(sum(len(t.tests) >= 5 for t in tasks)),
        "inferred_tasks": float(report.inferred_tasks),
        "median_tests": float(statistics.median(len(t.tests) for t in tasks)),
        "median_mutation_score": float(statistics.median(report.mutation_scores)),
        "reference_pass_rate": passed,
        "functions_per_minute": report.functions_per_minute,
    }


if __name__ == "__main__":
    main()

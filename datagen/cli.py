"""``code-synthesis datagen``: generate tasks with unit tests from Python code.

Wire it into another command line with :func:`add_parser`, or run it alone with
:func:`main` (``python -m datagen``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from datagen.config import INFER_TYPES, DatagenConfig

DESCRIPTION = (
    "Generate programming tasks with unit tests from Python code (arXiv 2310.13669's data "
    "side): take top-level functions with a docstring, use the docstring's first paragraph "
    "as the problem and the def line as the signature, generate inputs from the type hints "
    "(or defaults and doctests, else from how the body uses them, checked by trial calls "
    "in the sandbox), label them by running the function in the sandbox, keep "
    "the deterministic, side-effect-free, non-constant ones, and pick the tests that kill "
    "the most mutants. Writes the tasks (JSONL, loadable with code_env.load_tasks) and "
    "report.json, drops.jsonl and mutation_scores.png beside them."
)


#: ``--ray`` given without an address: join ``RAY_ADDRESS``, else start a local Ray.
LOCAL_OR_ENV = ""


def _ray_address(value: str) -> str | None:
    """``--ray``'s value as ``DatagenConfig.ray_address``; ``ValueError`` for a value that
    cannot be an address (most likely a source that ``nargs="?"`` took)."""
    if value == LOCAL_OR_ENV:
        return None
    if value == "auto" or (":" in value and not value.startswith("hf:")):
        return value
    raise ValueError(
        f"--ray {value!r} is not a Ray address (HOST:PORT, auto, ray://HOST:PORT): for a "
        "local Ray give --ray alone; if it is a source, put it before --ray or write "
        "--ray=ADDRESS"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add datagen's flags to ``parser``."""
    d = DatagenConfig()
    parser.add_argument(
        "sources",
        nargs="*",
        default=["stdlib"],
        help="folders, .py files, installed module/package names, 'stdlib' (the "
        "standard library's pure-Python modules; the default), Hugging Face datasets of "
        "code as hf:NAME or hf:NAME:SPLIT (e.g. hf:NAME:train[:1000]), or folders written "
        "by Dataset.save_to_disk",
    )
    parser.add_argument(
        "--out",
        default="runs/datagen/tasks.jsonl",
        help="tasks file to write (default: runs/datagen/tasks.jsonl)",
    )
    parser.add_argument(
        "--report-dir", default=None, help="where the report goes (default: --out's folder)"
    )
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default: 0)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes and sandbox workers (default: one per usable core)",
    )
    parser.add_argument(
        "--max-functions",
        type=int,
        default=None,
        help="stop after this many candidate functions (default: all)",
    )
    parser.add_argument(
        "--max-inputs",
        type=int,
        default=d.max_inputs,
        help=f"candidate inputs per function (default: {d.max_inputs})",
    )
    parser.add_argument(
        "--min-tests",
        type=int,
        default=d.min_tests,
        help=f"fewest tests per task; functions with fewer good inputs are dropped "
        f"(default: {d.min_tests})",
    )
    parser.add_argument(
        "--max-tests",
        type=int,
        default=d.max_tests,
        help=f"most tests per task (default: {d.max_tests})",
    )
    parser.add_argument(
        "--min-score",
        type=float,
        default=d.min_mutation_score,
        help=f"drop tasks whose tests kill a smaller share of mutants "
        f"(default: {d.min_mutation_score})",
    )
    parser.add_argument(
        "--case-timeout",
        type=float,
        default=d.case_timeout_s,
        help=f"seconds a single call may take (default: {d.case_timeout_s})",
    )
    parser.add_argument(
        "--generator",
        choices=("seeded", "hypothesis"),
        default=d.generator,
        help="input engine: seeded (reproducible anywhere; default) or hypothesis",
    )
    parser.add_argument(
        "--infer-types",
        choices=INFER_TYPES,
        default=d.infer_types,
        help="types for parameters without hint, default or doctest: none (drop the "
        "function, the spec's rule), usage (from how the body uses them), usage+probe "
        f"(try the likeliest in the sandbox; default: {d.infer_types})",
    )
    parser.add_argument(
        "--dataset-column",
        default=d.dataset_column,
        help=f"column with the code, for hf:NAME sources (default: {d.dataset_column})",
    )
    parser.add_argument(
        "--site-packages",
        action="store_true",
        help="let references import installed packages in the sandbox",
    )
    parser.add_argument(
        "--no-private", action="store_true", help="skip functions whose name starts with _"
    )
    parser.add_argument(
        "--no-methods",
        action="store_true",
        help="skip the methods of classes (by default a method is a task too: its tests "
        "build an instance from generated constructor arguments, then call it)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the final re-run of every reference against its tests",
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL_OR_ENV,
        default=None,
        metavar="ADDRESS",
        help="grade on a Ray cluster (the 'ray' extra): probes, oracle, mutants and the "
        "final check run on every node, extraction stays here. ADDRESS as ray.init takes "
        "it (HOST:PORT, auto, ray://HOST:PORT); without one, RAY_ADDRESS or else a new "
        "local Ray on 127.0.0.1. Put sources before --ray, or write --ray=ADDRESS, so "
        "that a source is not read as the address",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def config_from_args(args: argparse.Namespace) -> DatagenConfig:
    """The :class:`DatagenConfig` the parsed flags describe."""
    return DatagenConfig(
        seed=args.seed,
        workers=args.workers,
        progress=not args.quiet,
        max_functions=args.max_functions,
        include_private=not args.no_private,
        methods=not args.no_methods,
        max_inputs=args.max_inputs,
        min_tests=args.min_tests,
        max_tests=args.max_tests,
        min_mutation_score=args.min_score,
        case_timeout_s=args.case_timeout,
        function_timeout_s=max(DatagenConfig.function_timeout_s, args.case_timeout),
        generator=args.generator,
        infer_types=args.infer_types,
        dataset_column=args.dataset_column,
        site_packages=args.site_packages,
        verify=not args.no_verify,
        ray=args.ray is not None,
        ray_address=None if args.ray is None else _ray_address(args.ray),
    )


def run(args: argparse.Namespace) -> int:
    """Run datagen for parsed arguments; prints the summary. Returns the exit status."""
    from datagen.pipeline import run_datagen

    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"code-synthesis datagen: {exc}", file=sys.stderr)
        return 2
    try:
        report = run_datagen(args.sources, args.out, config, report_dir=args.report_dir)
    except (FileNotFoundError, ConnectionError) as exc:
        # A missing source, or a cluster that cannot be reached (RayClusterError is a
        # ConnectionError): the user's to fix, not a crash.
        print(f"code-synthesis datagen: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        if not config.ray:
            raise
        print(f"code-synthesis datagen: {exc}", file=sys.stderr)  # Ray not installed
        return 2
    print(report.summary())
    return 0 if report.tasks else 1


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``datagen`` subcommand to an ``add_subparsers()`` object; the parser's
    ``func`` default is :func:`run`."""
    parser = subparsers.add_parser(
        "datagen",
        help="generate tasks with unit tests from Python code",
        description=DESCRIPTION,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``datagen`` as a command of its own (``python -m datagen``)."""
    parser = argparse.ArgumentParser(prog="datagen", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))

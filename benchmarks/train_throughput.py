"""Training throughput: generated tokens per second and peak memory, side by side.

PPOAgent, ActorCriticAgent, CodeRLAgent and TRL's GRPO (through TRLAgent) train the same
model (the tiny warm-start, or ``--model``) on the same tasks with the same batch
(``--tasks-per-update`` prompts × ``--samples-per-task`` programs, ``--max-new-tokens``)
for ``--updates`` updates after ``--warmup`` unmeasured ones. Each agent runs in its own
process, so its peak memory is its own: the peak resident set size on the CPU, and
``torch.cuda.max_memory_allocated`` on a GPU. Tokens per second counts every generated
token (sampled programs, and CodeRL's greedy baselines) over the whole update: sampling,
grading, and the optimisation step.

PPO makes ``ppo_epochs`` (default 4, as TRL's former ``PPOConfig``) optimisation passes
over each rollout where GRPO, the actor-critic and CodeRL make one; the ``ppo-2epochs``
row (PPO with ``ppo_epochs=2``) shows what the extra passes cost.

``--processes 1,2`` measures each agent alone and data-parallel on 2 processes of this
machine (started as ``code-synthesis train --processes 2`` starts them), the same update
split between them: tokens/s of the whole run, and the peak memory of the largest
process and of all of them together.

    .venv/bin/python benchmarks/train_throughput.py               # ~10 min on 2 cores
    .venv/bin/python benchmarks/train_throughput.py --updates 2 --warmup 1 --agents ppo,grpo
    .venv/bin/python benchmarks/train_throughput.py --processes 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: row name -> (the agent's command-line name, settings beyond the shared ones, the
#: suffix that tells the row apart in the table)
AGENTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "ppo": ("ppo", {}, ""),
    "ppo-2epochs": ("ppo", {"ppo_epochs": 2}, " (ppo_epochs=2)"),
    "actor-critic": ("actor-critic", {}, ""),
    # the critic's cost is a one-off before RL
    "coderl": ("coderl", {"token_weights": "none"}, ""),
    "grpo": ("grpo", {"algorithm": "grpo"}, " (GRPO)"),
}


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train one agent in this process; return what was measured."""
    import torch

    from agents import agent_class
    from agents.common.data import solution_pairs, split_ab, without_solutions
    from agents.run.train import WARM_START
    from agents.run.warm_start import warm_start
    from code_env import load_tasks
    from code_env.sandbox import Sandbox

    a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
    model = args.model or str(warm_start(solution_pairs(a_tasks), progress=False, **WARM_START))
    agent_name, extra, _ = AGENTS[name]
    cls = agent_class(agent_name)
    settings: dict[str, Any] = {
        "model": model,
        "seed": 0,
        "max_new_tokens": args.max_new_tokens,
        "tasks_per_update": args.tasks_per_update,
        "samples_per_task": args.samples_per_task,
        **extra,
    }
    config = cls.config_class(**settings)
    with Sandbox() as sandbox:  # each process grades its share in its own
        agent = cls(without_solutions(b_tasks), config, sandbox=sandbox)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        agent.learn(args.warmup, progress=False)
        tokens0, start = agent.tokens_generated, time.perf_counter()
        agent.learn(args.warmup + args.updates, progress=False)
        seconds = time.perf_counter() - start
        tokens = agent.tokens_generated - tokens0
    peaks = agent.dist.gather_objects([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])
    cuda = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    cuda_peaks = agent.dist.gather_objects([cuda])
    return {
        "agent": name,
        "class": cls.__name__,
        "processes": agent.dist.world_size,
        "updates": args.updates,
        "seconds": seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds if seconds else 0.0,
        "seconds_per_update": seconds / max(1, args.updates),
        "peak_rss_mb": max(peaks),
        "peak_rss_mb_all": sum(peaks),
        "peak_cuda_mb": None if cuda is None else max(c for c in cuda_peaks if c is not None),
        "device": str(agent.policy.device),
    }


def label(result: dict[str, Any]) -> str:
    """A row's name in the table: the class, and what distinguishes its settings."""
    return result["class"] + AGENTS[result["agent"]][2]


def _processes(text: str) -> list[int]:
    counts = [int(x) for x in text.split(",") if x.strip()]
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError(f"process counts must be >= 1, got {text!r}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default=",".join(AGENTS), help="comma-separated")
    parser.add_argument("--model", default=None, help="default: the cached tiny warm-start")
    parser.add_argument("--updates", type=int, default=10, help="measured updates per agent")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured updates first")
    parser.add_argument("--tasks-per-update", type=int, default=16)
    parser.add_argument("--samples-per-task", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument(
        "--processes",
        type=_processes,
        default=[1],
        help="comma-separated process counts to measure each agent with (default: 1)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write JSON here")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        return measure_in_child(args, sys.argv[1:] if argv is None else argv)

    names = [n.strip() for n in args.agents.split(",") if n.strip()]
    unknown = [n for n in names if n not in AGENTS]
    if unknown:
        parser.error(f"unknown agents {unknown}; valid: {', '.join(AGENTS)}")
    passthrough = [
        "--updates", str(args.updates), "--warmup", str(args.warmup),
        "--tasks-per-update", str(args.tasks_per_update),
        "--samples-per-task", str(args.samples_per_task),
        "--max-new-tokens", str(args.max_new_tokens),
        *(["--model", args.model] if args.model else []),
    ]  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="train-throughput-") as folder:
        for name in names:
            for processes in args.processes:
                where = Path(folder) / f"{name}-{processes}.json"
                command = [sys.executable, __file__, "--one", name, "--result", str(where)]
                child = subprocess.run(
                    [*command, "--processes", str(processes), *passthrough],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if child.returncode != 0 or not where.is_file():
                    print(child.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(
                        f"{name} on {processes} process(es): the measuring run failed "
                        f"({child.returncode})"
                    )
                result = json.loads(where.read_text())
                results.append(result)
                print(
                    f"{name} x{processes}: {result['tokens_per_s']:.0f} tokens/s, "
                    f"{result['seconds_per_update']:.2f} s/update, peak RSS "
                    f"{result['peak_rss_mb']:.0f} MB (all processes {result['peak_rss_mb_all']:.0f})",
                    flush=True,
                )

    from agents.common.reporting import format_table

    header = [
        "agent", "processes", "tokens/s", "s/update", "tokens",
        "peak RSS MB (largest process)", "peak RSS MB (all)", "peak CUDA MB",
    ]  # fmt: skip
    rows = [
        [
            label(r),
            r["processes"],
            f"{r['tokens_per_s']:.0f}",
            f"{r['seconds_per_update']:.2f}",
            r["tokens"],
            f"{r['peak_rss_mb']:.0f}",
            f"{r['peak_rss_mb_all']:.0f}",
            "-" if r["peak_cuda_mb"] is None else f"{r['peak_cuda_mb']:.0f}",
        ]
        for r in results
    ]
    print()
    print(format_table(header, rows))
    for processes in args.processes:
        grpo = next(
            (r for r in results if r["agent"] == "grpo" and r["processes"] == processes), None
        )
        for r in results:
            if grpo and r is not grpo and r["processes"] == processes:
                ratio = r["tokens_per_s"] / grpo["tokens_per_s"]
                verdict = "meets" if ratio >= 1 else "misses"
                print(
                    f"{label(r)} x{processes}: {ratio:.2f}x TRL GRPO's tokens/s "
                    f"({verdict} the bar of 1x)"
                )
    if len(args.processes) > 1:
        alone = {r["agent"]: r for r in results if r["processes"] == 1}
        for r in results:
            if r["processes"] > 1 and r["agent"] in alone:
                speedup = r["tokens_per_s"] / alone[r["agent"]]["tokens_per_s"]
                print(
                    f"{label(r)}: {r['processes']} processes give {speedup:.2f}x the tokens/s of 1"
                )
    print(
        f"\n{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; batch {args.tasks_per_update} x {args.samples_per_task}, "
        f"{args.max_new_tokens} new tokens at most, {args.updates} measured updates each"
    )
    if args.out:
        args.out.write_text(
            json.dumps({"results": results, "args": vars(args) | {"out": str(args.out)}}, indent=1)
        )
    return 0


def measure_in_child(args: argparse.Namespace, argv: list[str]) -> int:
    """The measuring run of one agent: alone, or (``--processes N``) started again in N
    processes, the main one writing the result to ``--result``."""
    from agents.common.distributed import Distributed, launched_processes

    (processes,) = args.processes
    if processes > 1 and launched_processes() == 1:
        from agents.run.launch import launch

        argv = [
            a for i, a in enumerate(argv) if a != "--processes" and argv[i - 1] != "--processes"
        ]
        return launch([__file__, *argv], processes)
    result = measure(args.one, args)
    if Distributed.current().is_main:
        text = json.dumps(result)
        if args.result is not None:
            args.result.write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

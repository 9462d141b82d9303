"""Train with TRL's GRPO (or RLOO) on the built-in suite, from Python.

The learning benchmark's protocol with TRL's maintained trainer doing the RL: the
built-in train split is cut into A (reference solutions used) and B (rewards only); a
tiny GPT-2-style model is warm-started with cross-entropy on A's solutions (cached after
the first run); ``TRLAgent`` runs ``trl.GRPOTrainer`` on B, rewarded by the env's unit
tests (the agent's own scorer, through the same sandbox); the warm-start and the trained
policy are compared on B and on the held-out test split C. Needs
``pip install 'code-synthesis-rl[trl]'``.

    python examples/train_trl_grpo.py                      # tens of minutes on 2 cores
    python examples/train_trl_grpo.py --updates 2 --warm-start-steps 20 --small
    python examples/train_trl_grpo.py --algorithm rloo

Data-parallel, TRL's trainer splitting every update's completions over the processes
(each generates and grades its share; prompts x samples must split over them):

    torchrun --nproc_per_node 2 examples/train_trl_grpo.py --small
    code-synthesis train --agent grpo --processes 2         # the command-line run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agents import TRLAgent, TRLConfig
from agents.common.data import solution_pairs, split_ab, without_solutions
from agents.common.distributed import Distributed
from agents.common.reporting import format_table, percent
from agents.run.warm_start import warm_start
from code_env import load_tasks
from code_env.sandbox import Sandbox


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=60, help="TRL optimizer steps (default: 60)")
    parser.add_argument(
        "--warm-start-steps", type=int, default=800, help="cross-entropy steps (default: 800)"
    )
    parser.add_argument(
        "--algorithm", choices=("grpo", "rloo"), default="grpo", help="TRL trainer (default: grpo)"
    )
    parser.add_argument("--beta", type=float, default=0.0, help="KL coefficient (default: 0)")
    parser.add_argument("--samples", type=int, default=8, help="samples per task for pass@k")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--small",
        action="store_true",
        help="a one-layer model, short programs and few tasks (a smoke test, not a result)",
    )
    args = parser.parse_args(argv)
    # Alone this is one process of one; under torchrun, this process's place in the run
    # (every process trains and evaluates its share; the main one prints).
    dist = Distributed.current()

    def say(*text: object) -> None:
        if dist.is_main:
            print(*text)

    # 1. Tasks: A has solutions we may use; B is learned from rewards alone; C is held out.
    a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
    c_tasks = load_tasks("builtin", split="test")
    tiny = {"n_layer": 1, "n_embd": 32, "n_head": 2} if args.small else {}
    # One update: tasks_per_update prompts x samples_per_task completions (GRPO's group).
    settings = {"max_new_tokens": 96, "tasks_per_update": 8, "samples_per_task": 8}
    if args.small:
        b_tasks, c_tasks = b_tasks[:4], c_tasks[:4]
        settings = {"max_new_tokens": 16, "tasks_per_update": 2, "samples_per_task": 2}
    say(f"A: {len(a_tasks)} tasks, B: {len(b_tasks)}, C: {len(c_tasks)}")

    # 2. Warm-start: the tiny model trained with cross-entropy on A (cached on disk).
    # Under torchrun the main process trains it first; the others then find it cached.
    start = time.perf_counter()

    def start_warm() -> Path:
        return warm_start(
            solution_pairs(a_tasks),
            steps=args.warm_start_steps,
            lr=2e-3,
            tiny_config=tiny,
            seed=args.seed,
            progress=dist.is_main,
        )

    model_path = start_warm() if dist.is_main else None
    dist.barrier()
    model_path = model_path or start_warm()
    say(f"warm-start in {time.perf_counter() - start:.0f} s: {model_path}")

    # 3. The agent: B without its solutions (TRL never sees a reference program).
    config = TRLConfig(
        algorithm=args.algorithm,
        beta=args.beta,
        model=str(model_path),
        seed=args.seed,
        **settings,
    )
    with Sandbox() as sandbox:
        agent = TRLAgent(without_solutions(b_tasks), config, sandbox=sandbox)
        k = tuple(x for x in (1, 5) if x <= args.samples)
        before = {
            "B": agent.evaluate(b_tasks, k=k, n=args.samples),
            "C": agent.evaluate(c_tasks, k=k, n=args.samples),
        }

        # 4. TRL samples, grades through the sandbox and updates; the bar shows the pass rate.
        start = time.perf_counter()
        agent.learn(args.updates)
        seconds = time.perf_counter() - start
        after = {
            "B": agent.evaluate(b_tasks, k=k, n=args.samples),
            "C": agent.evaluate(c_tasks, k=k, n=args.samples),
        }

    # 5. Warm-start against after RL.
    rows, summary = [], {}
    for label, reports in (("warm-start", before), ("after RL", after)):
        for split, report in reports.items():
            rows.append(
                [
                    label,
                    split,
                    percent(report.greedy_pass_at_1),
                    *(percent(report.pass_at_k[x]) for x in k),
                    percent(report.outcome_shares["passed"]),
                ]
            )
            summary[f"{label} {split}"] = {
                "greedy_pass_at_1": report.greedy_pass_at_1,
                "passed_share": report.outcome_shares["passed"],
            }
    header = ["model", "tasks", "greedy pass@1", *(f"pass@{x}" for x in k), "passed"]
    say()
    say(format_table(header, rows))
    say(
        f"\n{agent.n_updates} {args.algorithm.upper()} updates in {seconds:.0f} s, "
        f"{agent.tokens_generated} tokens generated"
    )
    return summary


if __name__ == "__main__":
    main()

"""Train the actor-critic agent (arXiv 2310.13669) on the built-in suite, from Python.

What ``code-synthesis train`` does, written out with the library's pieces so each step
can be changed: the built-in train split is cut into A (reference solutions used) and
B (rewards only); a tiny GPT-2-style model is warm-started with cross-entropy on A's
solutions (cached after the first run); the agent learns on B from unit-test rewards,
with A's solutions in its replay buffer; the warm-start and the trained policy are
compared on B and on the held-out test split C.

    python examples/train_actor_critic.py                 # about 8 minutes on 2 cores
    python examples/train_actor_critic.py --updates 2 --warm-start-steps 20 --small
"""

from __future__ import annotations

import argparse
import time

from agents import ActorCriticAgent, ActorCriticConfig
from agents.common.data import solution_pairs, split_ab, without_solutions
from agents.common.reporting import format_table, percent
from agents.run.warm_start import warm_start
from code_env import load_tasks
from code_env.sandbox import Sandbox


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=60, help="RL updates (default: 60)")
    parser.add_argument(
        "--warm-start-steps", type=int, default=800, help="cross-entropy steps (default: 800)"
    )
    parser.add_argument("--samples", type=int, default=8, help="samples per task for pass@k")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--small",
        action="store_true",
        help="a one-layer model, short programs and few tasks (a smoke test, not a result)",
    )
    args = parser.parse_args(argv)

    # 1. Tasks: A has solutions we may use; B is learned from rewards alone; C is held out.
    a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
    c_tasks = load_tasks("builtin", split="test")
    tiny = {"n_layer": 1, "n_embd": 32, "n_head": 2} if args.small else {}
    settings = {"max_new_tokens": 16 if args.small else 96}
    if args.small:
        b_tasks, c_tasks = b_tasks[:4], c_tasks[:4]
        settings.update(tasks_per_update=2, samples_per_task=2, replay_batch=2)
    print(f"A: {len(a_tasks)} tasks, B: {len(b_tasks)}, C: {len(c_tasks)}")

    # 2. Warm-start: the tiny model trained with cross-entropy on A (cached on disk).
    start = time.perf_counter()
    model_path = warm_start(
        solution_pairs(a_tasks),
        steps=args.warm_start_steps,
        lr=2e-3,
        tiny_config=tiny,
        seed=args.seed,
    )
    print(f"warm-start in {time.perf_counter() - start:.0f} s: {model_path}")

    # 3. The agent: B without its solutions; A's solutions seed the replay buffer.
    config = ActorCriticConfig(model=str(model_path), seed=args.seed, **settings)
    with Sandbox() as sandbox:
        agent = ActorCriticAgent(without_solutions(b_tasks), config, sandbox=sandbox)
        agent.add_references(a_tasks)
        k = tuple(x for x in (1, 5) if x <= args.samples)
        before = {
            "B": agent.evaluate(b_tasks, k=k, n=args.samples),
            "C": agent.evaluate(c_tasks, k=k, n=args.samples),
        }

        # 4. Learn from rewards; the progress bar shows the live pass rate.
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
    print()
    print(format_table(header, rows))
    print(f"\n{agent.n_updates} updates in {seconds:.0f} s")
    return summary


if __name__ == "__main__":
    main()

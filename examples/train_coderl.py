"""Train the CodeRL agent (Le et al. 2022) on the built-in suite, then try Critic Sampling.

The whole method, step by step, with the library's pieces:

1. cut the built-in train split into A (solutions used) and B (rewards only);
2. warm-start a tiny GPT-2-style model with cross-entropy on A (cached);
3. train the critics on programs the warm-start samples, and a copy of it after 40
   actor-critic updates on B (about 7 minutes on 2 cores): φ predicts the outcome
   (compile error, runtime error, failed test, passed), φ_test whether the example
   tests pass; print their held-out accuracy on the test split C;
4. train the actor on B with L_ce + L_rl, each sampled token weighted by
   (r(Wˢ) − r(Wᵇ)) · q̂_φ(wₜ), the baseline Wᵇ being the current greedy program;
5. compare plain sampling and Critic Sampling at the same budget on B.

    python examples/train_coderl.py                      # about 18 minutes on 2 cores
    python examples/train_coderl.py --updates 2 --warm-start-steps 20 --small
"""

from __future__ import annotations

import argparse
import tempfile
import time

from agents import CodeRLAgent, CodeRLConfig, OutcomeCritic
from agents.coderl.critic import CriticConfig
from agents.coderl.critic_sampling import CriticSampler, compare_at_budget
from agents.common.config import SamplingConfig
from agents.common.data import solution_pairs, split_ab, without_solutions
from agents.run.train import TrainPlan, train_critics
from agents.run.warm_start import warm_start
from code_env import load_tasks
from code_env.sandbox import Sandbox


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50, help="RL updates (default: 50)")
    parser.add_argument(
        "--warm-start-steps", type=int, default=800, help="cross-entropy steps (default: 800)"
    )
    parser.add_argument("--budget", type=int, default=8, help="Critic Sampling budget per task")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--small",
        action="store_true",
        help="a one-layer model, short programs and few tasks (a smoke test, not a result)",
    )
    args = parser.parse_args(argv)

    # 1. Tasks.
    a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
    c_tasks = load_tasks("builtin", split="test")
    tiny = {"n_layer": 1, "n_embd": 32, "n_head": 2} if args.small else {}
    settings = {"max_new_tokens": 16 if args.small else 96}
    critic_config = CriticConfig()  # the default recipe (see docs/results.md's ablation)
    if args.small:
        a_tasks, b_tasks, c_tasks = a_tasks[:4], b_tasks[:4], c_tasks[:4]
        settings.update(tasks_per_update=2, samples_per_task=2, ce_batch=2)
        critic_config = CriticConfig(
            samples_per_task=2, steps=5, temperatures=(1.0,), actor_rl_updates=1
        )

    # 2. Warm-start (cached on disk).
    model_path = str(
        warm_start(solution_pairs(a_tasks), steps=args.warm_start_steps, lr=2e-3, tiny_config=tiny)
    )

    # 3. The critics, on samples for A and B (B's solutions unused) from the warm-start
    #    and from a copy of it after a few actor-critic updates on B.
    critic_dir = tempfile.mkdtemp(prefix="coderl-critic-")
    plan = TrainPlan(b_tasks, a_tasks, c_tasks)
    report = train_critics(
        model_path,
        plan,
        critic_dir,
        max_new_tokens=settings["max_new_tokens"],
        config=critic_config,
        seed=args.seed,
    )
    print(f"φ held-out accuracy: {report['outcome']['held_out']['accuracy']:.1%}")

    # 4. The actor: CodeRL's model D (baseline + critic), rewards only on B.
    config = CodeRLConfig(model=model_path, critic=critic_dir, seed=args.seed, **settings)
    with Sandbox() as sandbox:
        agent = CodeRLAgent(without_solutions(b_tasks), config, sandbox=sandbox)
        agent.add_references(a_tasks)  # L_ce's buffer starts with A's solutions
        before = agent.evaluate(b_tasks, k=(1,), n=1).greedy_pass_at_1
        start = time.perf_counter()
        agent.learn(args.updates)
        after = agent.evaluate(b_tasks, k=(1,), n=1).greedy_pass_at_1
        print(
            f"greedy pass@1 on B: {before:.1%} -> {after:.1%} "
            f"({agent.n_updates} updates in {time.perf_counter() - start:.0f} s)"
        )

        # 5. Critic Sampling against plain sampling, same number of programs.
        test_critic = OutcomeCritic.load(f"{critic_dir}/test", agent.policy.device)
        sampling = SamplingConfig(max_new_tokens=settings["max_new_tokens"])
        sampler = CriticSampler(agent.policy, test_critic, sandbox, sampling=sampling)
        result = compare_at_budget(
            agent.policy, b_tasks, sandbox, sampler, args.budget, sampling=sampling
        )
    b = args.budget
    print(
        f"B, {b} programs per task: plain pass@{b} {result['plain'][f'pass@{b}']:.1%}, "
        f"1@{b} {result['plain'][f'1@{b}']:.1%} | Critic Sampling pass@{b} "
        f"{result['critic_sampling'][f'pass@{b}']:.1%}, 1@{b} "
        f"{result['critic_sampling'][f'1@{b}']:.1%}"
    )
    return {
        "before": before,
        "after": after,
        "critic_accuracy": report["outcome"]["held_out"]["accuracy"],
        "cs_pass": result["critic_sampling"][f"pass@{b}"],
    }


if __name__ == "__main__":
    main()

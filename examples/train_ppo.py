"""Train the token-level PPO agent against a ``CodeSynthesis-v0`` env, with a callback.

The agent takes the env itself (its tasks, reward and sandbox), as a Stable-Baselines3
algorithm would; a callback prints the clipped share and the KL every few updates and
stops training early once a rollout's pass rate is high enough.

    python examples/train_ppo.py                           # about 10 minutes on 2 cores
    python examples/train_ppo.py --updates 2 --warm-start-steps 20 --small
"""

from __future__ import annotations

import argparse

import gymnasium as gym

import code_env  # noqa: F401  (registers CodeSynthesis-v0)
from agents import BaseCallback, PPOAgent, PPOConfig
from agents.common.data import solution_pairs, split_ab, without_solutions
from agents.run.warm_start import warm_start
from code_env import load_tasks


class PrintEvery(BaseCallback):
    """Prints a few PPO diagnostics every ``every`` updates; stops at ``stop_at``."""

    def __init__(self, every: int, stop_at: float) -> None:
        super().__init__()
        self.every, self.stop_at = every, stop_at

    def _on_step(self) -> bool:
        m = self.metrics
        if self.n_updates % self.every == 0:
            print(
                f"update {self.n_updates}: pass rate {m['rollout/pass_rate']:.2f}, "
                f"clipped {m['train/clip_fraction']:.2f}, KL {m['train/kl']:.2f} "
                f"(β {m['train/kl_coef']:.3f}), value loss {m['train/value_loss']:.3f}"
            )
        return m["rollout/pass_rate"] < self.stop_at


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50, help="PPO updates (default: 50)")
    parser.add_argument("--warm-start-steps", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true", help="a smoke test, not a result")
    args = parser.parse_args(argv)

    a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
    tiny = {"n_layer": 1, "n_embd": 32, "n_head": 2} if args.small else {}
    settings = {"max_new_tokens": 16 if args.small else 96}
    if args.small:
        b_tasks = b_tasks[:4]
        settings.update(tasks_per_update=2, samples_per_task=2, minibatch_size=2)
    model = warm_start(
        solution_pairs(a_tasks), steps=args.warm_start_steps, lr=2e-3, tiny_config=tiny
    )

    # the env decides the tasks (B, without solutions), the reward and the sandbox
    env = gym.make(
        "CodeSynthesis-v0",
        tasks=without_solutions(b_tasks),
        reward="coderl_partial",
        max_new_tokens=settings["max_new_tokens"],
    )
    agent = PPOAgent(env, PPOConfig(model=str(model), seed=args.seed, **settings))
    before = agent.evaluate(b_tasks, k=(1,), n=1).greedy_pass_at_1
    agent.learn(args.updates, callback=PrintEvery(every=10, stop_at=0.9))
    after = agent.evaluate(b_tasks, k=(1,), n=1).greedy_pass_at_1
    print(f"greedy pass@1 on B: {before:.1%} -> {after:.1%} after {agent.n_updates} updates")
    env.close()
    return {"before": before, "after": after, "updates": float(agent.n_updates)}


if __name__ == "__main__":
    main()

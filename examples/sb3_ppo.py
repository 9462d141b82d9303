"""Train Stable-Baselines3's PPO on CodeSynthesis-v0, unchanged.

SB3 sees an ordinary Gymnasium env: a Dict of token arrays in, a token id out, a
graded reward at the end of each program. The only project-specific piece is the
features extractor, which embeds token ids instead of feeding them to an MLP as
floats. A policy that starts from scratch on an 8,192-token vocabulary will not write
working programs in a few thousand steps; this example shows the plumbing (and what
the rewards look like), not a result. The agents in ``agents/`` start from a language
model instead.

    python examples/sb3_ppo.py                      # 4,096 steps
    python examples/sb3_ppo.py --steps 512 --max-new-tokens 16
"""

from __future__ import annotations

import argparse
from collections import Counter

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

import code_env  # noqa: F401  (registers CodeSynthesis-v0)
from code_env.sb3 import TokenEmbeddingExtractor


class OutcomeLogger(BaseCallback):
    """Counts the graded outcomes of finished episodes and prints them per rollout."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: Counter[str] = Counter()
        self.episode_rewards: list[float] = []

    def _on_step(self) -> bool:
        for info, done, reward in zip(
            self.locals["infos"], self.locals["dones"], self.locals["rewards"], strict=True
        ):
            if done and "outcome" in info:
                self.outcomes[info["outcome"]] += 1
                self.episode_rewards.append(float(reward))
        return True

    def _on_rollout_end(self) -> None:
        recent = self.episode_rewards[-50:]
        mean = float(np.mean(recent)) if recent else float("nan")
        print(
            f"steps {self.num_timesteps:6d}  episodes {len(self.episode_rewards):4d}  "
            f"mean final reward (last 50) {mean:+.3f}  outcomes {dict(self.outcomes)}"
        )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4096, help="environment steps to train")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="longest program, in tokens")
    parser.add_argument("--n-steps", type=int, default=512, help="PPO rollout length")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    env = gym.make("CodeSynthesis-v0", split="train", max_new_tokens=args.max_new_tokens)
    model = PPO(
        "MultiInputPolicy",
        env,
        n_steps=args.n_steps,
        batch_size=min(64, args.n_steps),
        policy_kwargs={
            "features_extractor_class": TokenEmbeddingExtractor,
            "features_extractor_kwargs": {"embed_dim": 32, "features_dim": 128},
        },
        seed=args.seed,
        device="cpu",
        verbose=0,
    )
    logger = OutcomeLogger()
    model.learn(total_timesteps=args.steps, callback=logger)
    env.close()
    return {"episodes": len(logger.episode_rewards), "outcomes": dict(logger.outcomes)}


if __name__ == "__main__":
    main()

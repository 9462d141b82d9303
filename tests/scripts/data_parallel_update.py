"""One update of each own agent on a fixed rollout, then a few more learned ones: run
alone and under ``agents.run.launch`` with 2 processes by tests/test_data_parallel.py.

Usage: python data_parallel_update.py OUT_DIR

Writes (main process) ``OUT_DIR/<agent>-<processes>.pt``: the trainable parameters
(and value head or critic) after one update on the fixed rollout, and, after two more
learned updates, whether every process holds the same parameters.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from agents import (
    ActorCriticAgent,
    ActorCriticConfig,
    CodeRLAgent,
    CodeRLConfig,
    PPOAgent,
    PPOConfig,
)
from agents.common.base import Rollout
from code_env import load_tasks

TINY = {"n_layer": 1, "n_embd": 32, "n_head": 2}
COMMON = dict(
    model="tiny", tiny=TINY, tasks_per_update=4, samples_per_task=2, max_new_tokens=16, seed=5
)
WRONG = "    return None\n"


def fixed_rollout(agent, tasks) -> Rollout:
    """This process's share of a rollout that does not depend on sampling: for every
    task its reference solution and a wrong program."""
    mine = agent.dist.shard(tasks)
    flat, texts = [], []
    for task in mine:
        flat += [task, task]
        texts += [task.solutions[0], WRONG]
    graded = agent.scorer.score_many(list(zip(flat, texts, strict=True)))
    prompts = agent.policy.encode_prompts([t.prompt for t in flat])
    completions = [agent.policy.completion_ids(t) for t in texts]
    return Rollout(
        flat, prompts, completions, texts, [r for r, _ in graded], [g for _, g in graded]
    )


def parameters(agent) -> torch.Tensor:
    groups = agent.optimizer.param_groups
    return torch.cat([p.detach().float().flatten().cpu() for g in groups for p in g["params"]])


def main(out: Path) -> None:
    tasks = [t for t in load_tasks("builtin", split="train") if t.solutions][:8]
    agents = {
        "actor-critic": (ActorCriticAgent, ActorCriticConfig(**COMMON, replay_batch=4)),
        "ppo": (PPOAgent, PPOConfig(**COMMON, ppo_epochs=2)),
        "coderl": (CodeRLAgent, CodeRLConfig(**COMMON, token_weights="none", ce_batch=4)),
    }
    for name, (cls, config) in agents.items():
        agent = cls(tasks, config)
        agent.add_references(tasks[4:])
        metrics = agent.update(fixed_rollout(agent, tasks[:4]))
        after_one = parameters(agent)
        agent.n_updates = 1
        agent.learn(3, progress=False)
        checksums = agent.dist.gather_objects([float(parameters(agent).double().sum())])
        if agent.dist.is_main:
            torch.save(
                {
                    "after_one": after_one,
                    "metrics": metrics,
                    "checksums": checksums,
                    "history": agent.history,
                },
                out / f"{name}-{agent.dist.world_size}.pt",
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]))

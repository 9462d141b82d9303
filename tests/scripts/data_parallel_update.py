"""One update of each own agent on a fixed rollout, then a few more learned ones: run
alone and under ``agents.run.launch`` with 2 processes by tests/test_data_parallel.py.

Usage: python data_parallel_update.py OUT_DIR [--fsdp]

Writes (main process) ``OUT_DIR/<agent>-<processes>[-fsdp].pt``: the trainable
parameters (and value head or critic) after one update on the fixed rollout, and, after
two more learned updates, whether every process holds the same parameters; with
``--fsdp`` the modules are sharded over the processes (FSDP2), and the agent is saved
and loaded again at the end.
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
    """Every trained parameter, whole (a sharded one gathered), flat."""
    groups = agent.optimizer.param_groups
    whole = [getattr(p, "full_tensor", lambda p=p: p)() for g in groups for p in g["params"]]
    return torch.cat([p.detach().float().flatten().cpu() for p in whole])


def main(out: Path, fsdp: bool) -> None:
    tasks = [t for t in load_tasks("builtin", split="train") if t.solutions][:8]
    common = {**COMMON, "fsdp": fsdp}
    agents = {
        "actor-critic": (ActorCriticAgent, ActorCriticConfig(**common, replay_batch=4)),
        "ppo": (PPOAgent, PPOConfig(**common, ppo_epochs=2)),
        "coderl": (CodeRLAgent, CodeRLConfig(**common, token_weights="none", ce_batch=4)),
    }
    suffix = "-fsdp" if fsdp else ""
    for name, (cls, config) in agents.items():
        agent = cls(tasks, config)
        agent.add_references(tasks[4:])
        metrics = agent.update(fixed_rollout(agent, tasks[:4]))
        after_one = parameters(agent)
        agent.n_updates = 1
        agent.learn(3, progress=False)
        checksums = agent.dist.gather_objects([float(parameters(agent).double().sum())])
        reloaded = None
        if fsdp:  # gathered on save, sharded again on load: the same parameters
            folder = agent.save(out / f"{name}-checkpoint")
            reloaded = float(parameters(cls.load(folder, tasks)).double().sum())
        if agent.dist.is_main:
            torch.save(
                {
                    "after_one": after_one,
                    "metrics": metrics,
                    "checksums": checksums,
                    "history": agent.history,
                    "reloaded": reloaded,
                },
                out / f"{name}-{agent.dist.world_size}{suffix}.pt",
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--fsdp" in sys.argv[2:])

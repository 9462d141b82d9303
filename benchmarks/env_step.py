"""How fast CodeSynthesis-v0 steps, and what grading at the end of an episode costs.

Measured in one run:

1. Non-terminal steps per second on one core (the process is pinned to one CPU):
   through ``gym.make`` (with its wrappers: order enforcing and the passive env
   checker) and on ``env.unwrapped``. Each episode steps ``max_new_tokens - 1`` tokens
   that are not end-of-text; only ``step`` calls are timed, not ``reset``.
2. The terminal step: its wall time against the sandbox's own time for the same
   program (``sandbox.run`` called directly, cache off), over the reference solutions
   of the built-in suite; the difference is what the env adds (decoding, reward,
   info).

Bar (reported, not asserted): >= 50,000 non-terminal steps/s through ``gym.make`` on
one core.

    .venv/bin/python benchmarks/env_step.py
    .venv/bin/python benchmarks/env_step.py --steps 200000 --json env_step.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym

import code_env  # noqa: F401  (registers CodeSynthesis-v0)
from code_env.sandbox import Sandbox

BAR_STEPS_PER_S = 50_000


def non_terminal_rate(env: gym.Env, steps: int) -> float:
    """Steps per second over ``steps`` non-terminal steps (reset time excluded)."""
    base = env.unwrapped
    token = base.tokenizer.encode(" x", add_special_tokens=False)[0]
    assert token != base.eos_id
    per_episode = base.max_new_tokens - 1
    done = 0
    elapsed = 0.0
    seed = 0
    step = env.step
    while done < steps:
        env.reset(seed=seed)
        seed += 1
        n = min(per_episode, steps - done)
        start = time.perf_counter()
        for _ in range(n):
            step(token)
        elapsed += time.perf_counter() - start
        done += n
    return done / elapsed


def terminal_costs(max_new_tokens: int) -> dict[str, float]:
    """Terminal step wall time vs a direct sandbox run, over built-in references."""
    with Sandbox(workers=1, cache_size=0) as sandbox:
        env = gym.make("CodeSynthesis-v0", max_new_tokens=max_new_tokens, sandbox=sandbox)
        base = env.unwrapped
        step_ms, direct_ms, worker_ms = [], [], []
        for task in base.tasks:
            tokens = base.completion_tokens(task.solutions[0])
            if tokens[-1] != base.eos_id:
                continue  # cut at max_new_tokens: not the reference program
            env.reset(options={"task_id": task.task_id})
            for token in tokens[:-1]:
                env.step(token)
            sandbox.clear_cache()
            start = time.perf_counter()
            _, _, terminated, _, info = env.step(tokens[-1])
            step_ms.append((time.perf_counter() - start) * 1000)
            assert terminated and info["outcome"] == "passed", info
            program = info["program"]
            start = time.perf_counter()
            result = sandbox.run(program, task)
            direct_ms.append((time.perf_counter() - start) * 1000)
            worker_ms.append(result.duration_s * 1000)
        env.close()
    return {
        "programs": len(step_ms),
        "terminal_step_ms_median": statistics.median(step_ms),
        "sandbox_run_ms_median": statistics.median(direct_ms),
        "sandbox_worker_ms_median": statistics.median(worker_ms),
        "env_overhead_ms_median": statistics.median(
            s - d for s, d in zip(step_ms, direct_ms, strict=True)
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000, help="non-terminal steps timed")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="episode length")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    wrapped = gym.make("CodeSynthesis-v0", max_new_tokens=args.max_new_tokens)
    through_make = non_terminal_rate(wrapped, args.steps)
    unwrapped = non_terminal_rate(wrapped.unwrapped, args.steps)
    length = wrapped.observation_space["input_ids"].shape[0]
    wrappers = []
    env = wrapped
    while isinstance(env, gym.Wrapper):
        wrappers.append(type(env).__name__)
        env = env.env
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    terminal = terminal_costs(args.max_new_tokens)

    print(f"Machine: {platform.platform()}, Python {platform.python_version()}")
    print(f"Observation length {length} tokens; wrappers from gym.make: {', '.join(wrappers)}")
    print()
    print(f"non-terminal steps/s, one core, through gym.make : {through_make:10,.0f}")
    print(f"non-terminal steps/s, one core, env.unwrapped    : {unwrapped:10,.0f}")
    print()
    print(f"terminal step, {terminal['programs']} built-in reference programs (medians):")
    print(f"  env.step at end of episode : {terminal['terminal_step_ms_median']:.2f} ms")
    print(
        f"  sandbox.run, same program  : {terminal['sandbox_run_ms_median']:.2f} ms "
        f"(of which in the worker {terminal['sandbox_worker_ms_median']:.2f} ms)"
    )
    print(f"  what the env adds          : {terminal['env_overhead_ms_median']:.2f} ms")
    print()
    ok = through_make >= BAR_STEPS_PER_S
    print(
        f"Bar: >= {BAR_STEPS_PER_S:,} non-terminal steps/s through gym.make on one core: "
        f"{through_make:,.0f}  {'PASS' if ok else 'MISS'}"
    )
    if args.json:
        report = {
            "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
            "machine": platform.platform(),
            "observation_length": length,
            "wrappers": wrappers,
            "steps_per_s_gym_make": round(through_make),
            "steps_per_s_unwrapped": round(unwrapped),
            "terminal": terminal,
            "bar_steps_per_s": BAR_STEPS_PER_S,
        }
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

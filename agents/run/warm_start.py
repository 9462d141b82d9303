"""The supervised warm-start both papers begin from: ``warm_start`` fine-tunes the tiny
model with cross-entropy on reference solutions (prompt in, solution out) for a fixed
number of steps, and caches the result by everything it depends on, so the learning
benchmark and the main job pay for it once."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.common.supervised import train_supervised
from agents.common.tiny import TINY_DEFAULTS


def default_cache_dir() -> Path:
    """Where warm-starts are cached: ``$CODE_SYNTHESIS_CACHE`` or ``~/.cache/code-synthesis``."""
    root = os.environ.get("CODE_SYNTHESIS_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "code-synthesis"
    )
    return Path(root)


def rl_sampler_dir(model: str, updates: int, seed: int) -> Path:
    """Where the benchmarks cache the critics' copy of ``model`` after ``updates``
    actor-critic updates (:func:`agents.coderl.critic.train_rl_sampler`, which checks
    that a folder holds the actor asked for): one folder per model, updates and seed,
    shared by every benchmark that needs that actor."""
    return default_cache_dir() / "rl-actor" / f"{Path(model).name}-{updates}-seed{seed}"


def warm_start(
    pairs: Sequence[tuple[str, str]],
    *,
    steps: int = 1500,
    lr: float = 1e-3,
    batch_size: int = 16,
    seed: int = 0,
    tiny_config: dict[str, Any] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Path:
    """A warm-started tiny model (a folder loadable with ``from_pretrained``), trained
    with cross-entropy on ``pairs`` unless an identical training is cached.

    The cache key covers the pairs, every hyperparameter, the tiny architecture and
    the tokenizer, so a change to any of them trains anew.
    """
    from agents.common.policy import Policy, seed_everything
    from code_env.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(None)
    settings = {**TINY_DEFAULTS, **(tiny_config or {})}
    key_data = {
        "pairs": list(pairs),
        "steps": steps,
        "lr": lr,
        "batch_size": batch_size,
        "seed": seed,
        "tiny": settings,
        "vocab": tokenizer.get_vocab().__len__(),
        "tokenizer": hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest(),
        "version": 1,
    }
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(cache_dir or default_cache_dir()) / "warm-start" / key
    if (folder / "config.json").is_file() and (folder / "warm_start.json").is_file():
        return folder
    seed_everything(seed)
    policy = Policy(
        "tiny", reference=False, tiny_config={**(tiny_config or {}), "seed": seed}, device="auto"
    )
    start = time.perf_counter()
    losses = train_supervised(
        policy, pairs, steps=steps, lr=lr, batch_size=batch_size, seed=seed, progress=progress
    )
    partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
    policy.save(partial)
    (partial / "warm_start.json").write_text(
        json.dumps(
            {
                "pairs": len(pairs),
                "steps": steps,
                "lr": lr,
                "batch_size": batch_size,
                "seed": seed,
                "tiny": settings,
                "seconds": round(time.perf_counter() - start, 1),
                "final_loss": losses[-1],
                "losses_every_50": losses[::50],
            },
            indent=2,
        )
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(partial, folder)  # atomic: a crash never leaves a half cache entry
    except OSError:  # another process finished the same training first
        import shutil

        shutil.rmtree(partial, ignore_errors=True)
    return folder

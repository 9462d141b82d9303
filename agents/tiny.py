"""The tiny model, built here, and the supervised warm-start both papers begin from.

``build_tiny_model`` makes a small GPT-2 (or Llama, or a T5 encoder-decoder like the
CodeT5 that CodeRL trains) with the shipped tokenizer's vocabulary (about 5 M parameters
by default): nothing to download, trainable on two CPU cores. ``warm_start`` fine-tunes a policy with cross-entropy on reference
solutions (prompt in, solution out) for a fixed number of steps, and caches the result
by everything it depends on, so the learning benchmark and the main job pay for it once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

#: The default tiny architecture (GPT-2 style).
TINY_DEFAULTS: dict[str, Any] = {
    "arch": "gpt2",
    "n_layer": 4,
    "n_embd": 128,
    "n_head": 4,
    "n_positions": 512,
}


def build_tiny_model(tokenizer: Any, **overrides: Any) -> torch.nn.Module:
    """A small causal LM (or encoder-decoder) over ``tokenizer``'s vocabulary, with
    dropout off.

    Args:
        tokenizer: Sets the vocabulary size and the special token ids.
        overrides: ``arch`` (``"gpt2"``, ``"llama"`` or ``"t5"``), ``n_layer``,
            ``n_embd``, ``n_head``, ``n_positions``, ``seed``. For ``"t5"``, ``n_layer``
            counts the encoder's layers and the decoder's each, and ``n_positions`` is
            unused (T5's positions are relative).
    """
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        T5Config,
        T5ForConditionalGeneration,
    )

    settings = {**TINY_DEFAULTS, **overrides}
    unknown = set(settings) - set(TINY_DEFAULTS) - {"seed"}
    if unknown:
        raise ValueError(
            f"unknown tiny-model settings {sorted(unknown)}; valid: "
            f"{', '.join(sorted(TINY_DEFAULTS))}, seed"
        )
    if "seed" in settings:
        torch.manual_seed(int(settings["seed"]))
    vocab = len(tokenizer)
    eos, pad = int(tokenizer.eos_token_id), int(tokenizer.pad_token_id)
    if settings["arch"] == "gpt2":
        config = GPT2Config(
            vocab_size=vocab,
            n_positions=settings["n_positions"],
            n_embd=settings["n_embd"],
            n_layer=settings["n_layer"],
            n_head=settings["n_head"],
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=pad,
        )
        model = GPT2LMHeadModel(config)
    elif settings["arch"] == "llama":
        width = settings["n_embd"]
        config = LlamaConfig(
            vocab_size=vocab,
            hidden_size=width,
            intermediate_size=width * 2,
            num_hidden_layers=settings["n_layer"],
            num_attention_heads=settings["n_head"],
            num_key_value_heads=max(1, settings["n_head"] // 2),
            max_position_embeddings=settings["n_positions"],
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=pad,
            tie_word_embeddings=True,
        )
        model = LlamaForCausalLM(config)
    elif settings["arch"] == "t5":
        width, heads = settings["n_embd"], settings["n_head"]
        config = T5Config(
            vocab_size=vocab,
            d_model=width,
            d_kv=width // heads,
            d_ff=width * 2,
            num_layers=settings["n_layer"],
            num_decoder_layers=settings["n_layer"],
            num_heads=heads,
            dropout_rate=0.0,
            eos_token_id=eos,
            pad_token_id=pad,
            decoder_start_token_id=pad,  # T5's convention: the decoder starts from pad
            tie_word_embeddings=True,  # one embedding for encoder, decoder and output
        )
        model = T5ForConditionalGeneration(config)
    else:
        raise ValueError(f"unknown tiny arch {settings['arch']!r}; valid: gpt2, llama, t5")
    return model.eval()


def default_cache_dir() -> Path:
    """Where warm-starts are cached: ``$CODE_SYNTHESIS_CACHE`` or ``~/.cache/code-synthesis``."""
    root = os.environ.get("CODE_SYNTHESIS_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "code-synthesis"
    )
    return Path(root)


def supervised_batches(
    policy, pairs: Sequence[tuple[str, str]], batch_size: int, generator: torch.Generator
):
    """Endless shuffled batches of (prompt ids, completion ids + end-of-text)."""
    encoded = [(policy.encode_prompts([p])[0], policy.completion_ids(c)) for p, c in pairs]
    while True:
        order = torch.randperm(len(encoded), generator=generator).tolist()
        for start in range(0, len(order), batch_size):
            yield [encoded[i] for i in order[start : start + batch_size]]


def cross_entropy_loss(policy, batch) -> torch.Tensor:
    """Mean per-token negative log-likelihood of the completions (prompts not scored)."""
    prompts = [p for p, _ in batch]
    completions = [c for _, c in batch]
    logprobs, mask, _ = policy.token_logprobs(prompts, completions)
    return -(logprobs * mask).sum() / mask.sum().clamp(min=1)


def train_supervised(
    policy,
    pairs: Sequence[tuple[str, str]],
    *,
    steps: int,
    lr: float,
    batch_size: int,
    seed: int,
    progress: bool = True,
    desc: str = "warm-start",
) -> list[float]:
    """Fine-tune ``policy.model`` with cross-entropy on ``(prompt, completion)`` pairs for
    ``steps`` optimiser steps (AdamW, linear warm-up over 5%). Returns the losses."""
    if not pairs:
        raise ValueError("no (prompt, solution) pairs to train on")
    generator = torch.Generator().manual_seed(seed)
    batches = supervised_batches(policy, pairs, batch_size, generator)
    optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    losses: list[float] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc, unit="step")
    for _ in range(steps):
        loss = cross_entropy_loss(policy, next(batches))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.trainable_parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if bar is not None:
        bar.close()
    return losses


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
    from agents.policy import Policy, seed_everything
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

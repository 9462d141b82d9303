"""Supervised fine-tuning with cross-entropy: the loss the replay buffers and CodeRL's
L_ce use, and the loop the warm-start and the repair model train with."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from agents.common.optim import optimizer_step


def supervised_batches(
    policy, pairs: Sequence[tuple[str, str]], batch_size: int, generator: torch.Generator
):
    """Endless shuffled batches of (prompt ids, completion ids + end-of-text)."""
    encoded = [(policy.encode_prompts([p])[0], policy.completion_ids(c)) for p, c in pairs]
    while True:
        order = torch.randperm(len(encoded), generator=generator).tolist()
        for start in range(0, len(order), batch_size):
            yield [encoded[i] for i in order[start : start + batch_size]]


def cross_entropy_loss(policy, batch, total_tokens: int | None = None) -> torch.Tensor:
    """Mean per-token negative log-likelihood of the completions (prompts not scored).

    ``total_tokens`` divides instead of the batch's own token count: when the batch is
    one process's share of a larger one, the result is its share of that one's mean."""
    prompts = [p for p, _ in batch]
    completions = [c for _, c in batch]
    logprobs, mask, _ = policy.token_logprobs(prompts, completions)
    count = mask.sum().clamp(min=1) if total_tokens is None else max(1, total_tokens)
    return -(logprobs * mask).sum() / count


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
        optimizer_step(optimizer, loss, policy.trainable_parameters(), 1.0)
        scheduler.step()
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if bar is not None:
        bar.close()
    return losses

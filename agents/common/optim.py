"""The one optimiser step every trainer here takes: zero the gradients, back-propagate,
(in a data-parallel run) combine the gradients of the processes, clip, step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def optimizer_step(
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    clipped: Sequence[torch.nn.Parameter],
    max_grad_norm: float,
    *,
    combine: Callable[[], None] | None = None,
) -> float:
    """One step of ``optimizer`` on ``loss``: gradients zeroed, ``loss.backward()``,
    ``combine()`` (e.g. summing the gradients over processes), the ``clipped``
    parameters' gradients clipped to ``max_grad_norm``, then the step. Returns the
    clipped parameters' gradient norm before clipping."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if combine is not None:
        combine()
    norm = torch.nn.utils.clip_grad_norm_(clipped, max_grad_norm)
    optimizer.step()
    full = getattr(norm, "full_tensor", None)  # a sharded model's norm is a DTensor
    return float(full() if callable(full) else norm)

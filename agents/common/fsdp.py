"""Sharding the trained modules over the processes of a run with FSDP2 (PyTorch's
``fully_shard``), for models that do not fit one device.

What accelerate's FSDP2 plugin does, applied by the agents themselves so that the same
code runs on GPUs under ``accelerate launch --config_file`` with an FSDP config and on
CPUs (gloo) where accelerate turns FSDP off: every transformer block the model names in
``_no_split_modules`` is sharded, then the model itself; each process holds its slice of
every weight, gradient and optimiser state, and a block's weights are gathered only for
its forward and backward. Gradients are summed over the processes (the agents' losses
are each process's share of the update's loss), not averaged.

Checkpoints stay ordinary: the full weights and optimiser state are gathered on the
main process (:func:`full_state_dict`, :func:`full_optimizer_state`) and written as
without sharding; a resumed run loads them and shards again.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def block_classes(model: nn.Module) -> set[type]:
    """The classes of the model's transformer blocks (``_no_split_modules``, as
    accelerate's auto-wrap policy reads them)."""
    names = set(getattr(model, "_no_split_modules", None) or [])
    return {type(m) for m in model.modules() if type(m).__name__ in names}


def shard_module(module: nn.Module) -> nn.Module:
    """``module`` sharded in place: its blocks (if it names any), then itself; gradients
    summed over the processes. Returns it."""
    from torch.distributed.fsdp import FSDPModule, fully_shard

    blocks = block_classes(module)
    for sub in list(module.modules()):
        if sub is not module and type(sub) in blocks:
            fully_shard(sub)
    fully_shard(module)
    for sub in module.modules():
        if isinstance(sub, FSDPModule):
            sub.set_gradient_divide_factor(1.0)
            sub.set_force_sum_reduction_for_comms(True)  # gloo has no pre-scaled sum
    return module


def reshard(module: nn.Module) -> None:
    """Put every sharded part of ``module`` back in its sharded state. FSDP keeps the
    root's weights whole after a forward pass for the backward that usually follows;
    after generation (no backward) they stay whole until resharded, and a state dict
    taken then would not name the optimiser's (sharded) parameters."""
    from torch.distributed.fsdp import FSDPModule

    for sub in module.modules():
        if isinstance(sub, FSDPModule):
            sub.reshard()


def _options(**kwargs: Any) -> Any:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, **kwargs)


def full_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """The module's whole state dict on the main process (empty on the others); every
    process must call it."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    reshard(module)
    return get_model_state_dict(module, options=_options(cpu_offload=True))


def load_full_state_dict(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a whole state dict (as :func:`full_state_dict` gave it; every process holds
    it) into the sharded ``module``."""
    from torch.distributed.checkpoint.state_dict import set_model_state_dict

    set_model_state_dict(module, state, options=_options())


def full_optimizer_state(modules: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The optimiser's whole state, keyed by parameter name within ``modules``, on the
    main process (empty on the others); every process must call it."""
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    reshard(modules)
    return get_optimizer_state_dict(modules, optimizer, options=_options(cpu_offload=True))


def load_full_optimizer_state(
    modules: nn.Module, optimizer: torch.optim.Optimizer, state: dict
) -> None:
    """Load :func:`full_optimizer_state`'s output into the sharded optimiser."""
    from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

    set_optimizer_state_dict(modules, optimizer, state, options=_options())

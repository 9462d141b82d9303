"""Data-parallel training through accelerate: this process's place in a run, and the
few collective operations the agents need.

A run with N processes is started by ``torchrun --nproc_per_node N $(which
code-synthesis) train ...`` (CPUs with gloo, or GPUs with NCCL), by ``accelerate launch
--multi_gpu --num_processes N ...`` on GPUs, or by ``code-synthesis train --processes
N``, which calls torchrun for the user. Each process holds a whole copy of the policy
(and of any value head or critic), samples and grades its share of every update's
tasks, and computes its share of the update's loss; :class:`Distributed` then sums the
gradients over the processes, so every copy takes the same optimiser step and the
copies stay identical. Losses are written as each process's share of the loss of the
whole update (sums over its own samples divided by counts over all of them, see
:meth:`Distributed.sum`), which makes N processes take the step one process would take
on all the samples. With one process every operation here returns its input.

Models that do not fit one device are trained through accelerate's own FSDP or
DeepSpeed configuration (``accelerate launch --config_file ...``); see docs/agents.md.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence
from typing import Any, TypeVar

import torch

T = TypeVar("T")

ACCELERATE_INSTALL_HINT = "pip install 'code-synthesis-rl[trl]'  (accelerate>=1.15)"


def launched_processes() -> int:
    """How many processes the launcher started (``WORLD_SIZE``; 1 without a launcher)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


class Distributed:
    """This process's rank among the run's processes, and the collectives between them.

    Built once per process (:meth:`current`). Under a launcher (``WORLD_SIZE > 1``) it
    makes an ``accelerate.Accelerator``, which joins the process group (gloo on CPUs,
    NCCL on GPUs) and picks this process's device; alone it makes nothing.

    Args:
        device: The agents' ``device`` setting (``"auto"``, ``"cpu"``, ``"cuda"``).
    """

    _current: Distributed | None = None

    def __init__(self, device: str = "auto") -> None:
        self.world_size = launched_processes()
        self.accelerator: Any = None
        """The ``accelerate.Accelerator`` of a multi-process run (None alone)."""
        self.rank = 0
        self.local_rank = 0
        if self.world_size > 1:
            try:
                from accelerate import Accelerator
            except ImportError as exc:
                raise ImportError(
                    f"training on several processes needs accelerate: {ACCELERATE_INSTALL_HINT}"
                ) from exc
            on_cpu = device == "cpu" or not torch.cuda.is_available()
            _join_by_file(on_cpu)
            # bf16 needs no loss scaling, so the agents' own backward stays exact
            bf16 = not on_cpu and torch.cuda.is_bf16_supported()
            self.accelerator = Accelerator(cpu=on_cpu, mixed_precision="bf16" if bf16 else "no")
            self.rank = self.accelerator.process_index
            self.local_rank = self.accelerator.local_process_index
            self.world_size = self.accelerator.num_processes
            # leave the group before the interpreter tears down: a group still alive at
            # exit can end the process with "terminate called without an active exception"
            atexit.register(_leave_group)

    @classmethod
    def current(cls, device: str = "auto") -> Distributed:
        """The process's one :class:`Distributed` (made on first use)."""
        if cls._current is None:
            cls._current = cls(device)
        return cls._current

    # --- who am I --------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is the process that writes checkpoints, metrics and plots."""
        return self.rank == 0

    def device(self, requested: str = "auto") -> str:
        """The device this process trains on: ``requested`` alone; under a launcher,
        this process's own GPU (``cuda:<local rank>``) or the CPU."""
        if not self.enabled:
            return requested
        return str(self.accelerator.device)

    @property
    def accelerate_fsdp(self) -> bool:
        """Whether accelerate was configured for FSDP (``accelerate launch`` with an FSDP
        config; accelerate keeps it for GPUs only)."""
        if self.accelerator is None:
            return False
        from accelerate.utils import DistributedType

        return self.accelerator.distributed_type == DistributedType.FSDP

    def autocast(self) -> Any:
        """bf16 autocast on GPUs (accelerate's), a no-op on CPUs and alone."""
        import contextlib

        if self.accelerator is None:
            return contextlib.nullcontext()
        return self.accelerator.autocast()

    # --- splitting the work ----------------------------------------------------------

    def shard(self, items: Sequence[T]) -> list[T]:
        """This process's contiguous share of ``items`` (the first ``len % N`` processes
        take one more); concatenated in rank order the shares are ``items``."""
        items = list(items)
        if not self.enabled:
            return items
        base, extra = divmod(len(items), self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return items[start : start + base + (1 if self.rank < extra else 0)]

    # --- collectives -------------------------------------------------------------------

    def sum(self, value: torch.Tensor | float) -> torch.Tensor:
        """``value`` summed over the processes (a tensor; a float becomes one)."""
        tensor = torch.as_tensor(value)
        if not self.enabled:
            return tensor
        reduced = tensor.detach().clone().to(self.accelerator.device)
        torch.distributed.all_reduce(reduced, op=torch.distributed.ReduceOp.SUM)
        return reduced.to(tensor.device)

    def gather(self, values: torch.Tensor) -> torch.Tensor:
        """The processes' 1-D tensors concatenated in rank order (sizes may differ)."""
        if not self.enabled:
            return values
        parts = self.gather_objects([values.detach().cpu()])
        return torch.cat(parts).to(values.device)

    def gather_objects(self, items: Sequence[T]) -> list[T]:
        """Every process's ``items`` (picklable), concatenated in rank order."""
        if not self.enabled:
            return list(items)
        from accelerate.utils import gather_object

        return list(gather_object(list(items)))

    def broadcast_object(self, obj: T) -> T:
        """The main process's ``obj`` on every process."""
        if not self.enabled:
            return obj
        from accelerate.utils import broadcast_object_list

        box = [obj if self.is_main else None]
        broadcast_object_list(box, from_process=0)
        return box[0]  # type: ignore[return-value]

    def sum_gradients(self, parameters: Sequence[torch.nn.Parameter]) -> None:
        """Sum the gradients of ``parameters`` over the processes, in one flat buffer.

        A parameter without a gradient on this process counts as zero, so processes
        whose samples did not reach it (an empty replay share) still agree."""
        if not self.enabled or not parameters:
            return
        grads = [
            p.grad
            if p.grad is not None
            else torch.zeros_like(p, memory_format=torch.preserve_format)
            for p in parameters
        ]
        flat = torch.cat([g.reshape(-1).float() for g in grads])
        torch.distributed.all_reduce(flat, op=torch.distributed.ReduceOp.SUM)
        offset = 0
        for p, g in zip(parameters, grads, strict=True):
            n = g.numel()
            p.grad = flat[offset : offset + n].view_as(g).to(g.dtype)
            offset += n

    def barrier(self) -> None:
        """Wait until every process gets here."""
        if self.enabled:
            self.accelerator.wait_for_everyone()


def _join_by_file(on_cpu: bool) -> None:
    """Join the process group through the rendezvous file of ``code-synthesis train
    --processes`` (:mod:`agents.run.launch`), when there is one; accelerate then uses
    that group. Under torchrun or ``accelerate launch`` accelerate joins by itself."""
    store = os.environ.get("CODE_SYNTHESIS_RENDEZVOUS")
    if not store or torch.distributed.is_initialized():
        return
    torch.distributed.init_process_group(
        backend="gloo" if on_cpu else "nccl",
        init_method=f"file://{store}",
        rank=int(os.environ["RANK"]),
        world_size=int(os.environ["WORLD_SIZE"]),
    )


def _leave_group() -> None:
    """At exit: wait for the other processes (so that none tears its connections down
    while another still reads from them), then destroy this process's group."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    try:
        if torch.distributed.get_backend() == "gloo":  # gloo's barrier can time out
            from datetime import timedelta

            torch.distributed.monitored_barrier(timeout=timedelta(seconds=120))
        else:
            torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    except Exception:  # exiting anyway (another process failed): nothing to recover
        pass

"""``code-synthesis train --processes N``: start N training processes on this machine.

What ``torchrun --nproc_per_node N`` does for a data-parallel run, without its network
store: the processes meet through a file (``torch.distributed``'s FileStore) and
exchange tensors with gloo over the loopback interface, so nothing listens on another
address. Each gets the environment torchrun would give it (``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``) plus the rendezvous file
(:data:`RENDEZVOUS_ENV`), which :class:`~agents.common.distributed.Distributed` reads,
and an equal share of the CPU threads. If one process fails the others are stopped; a
signal to the launcher (Ctrl-C, a kill) reaches every process.

On GPUs, or across machines, use torchrun or ``accelerate launch`` themselves
(docs/agents.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

#: The environment variable that carries the rendezvous file to each process.
RENDEZVOUS_ENV = "CODE_SYNTHESIS_RENDEZVOUS"


def launch(command: Sequence[str], processes: int) -> int:
    """Run ``python *command`` (e.g. ``["-m", "agents.run.cli", "train", ...]`` or a
    script and its arguments) in ``processes`` processes of one data-parallel run;
    returns the first non-zero exit code (0 when all succeed)."""
    if processes < 2:
        raise ValueError(f"launch needs at least 2 processes, got {processes}")
    threads = max(1, (os.cpu_count() or 1) // processes)
    with tempfile.TemporaryDirectory(prefix="code-synthesis-rdzv-") as folder:
        store = os.path.join(folder, "store")
        children = []
        for rank in range(processes):
            env = {
                **os.environ,
                "RANK": str(rank),
                "LOCAL_RANK": str(rank),
                "WORLD_SIZE": str(processes),
                "LOCAL_WORLD_SIZE": str(processes),
                RENDEZVOUS_ENV: store,
                "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo"),
                "OMP_NUM_THREADS": str(threads),
            }
            children.append(subprocess.Popen([sys.executable, *command], env=env))

        def forward(signum: int, _frame: object) -> None:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signum)

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            return _wait(children)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()


def _wait(children: list[subprocess.Popen]) -> int:
    """Wait for every child; when one fails, stop the rest (they would wait for it in a
    collective forever) and return its code."""
    while True:
        codes = [child.poll() for child in children]
        failed = [code for code in codes if code not in (None, 0)]
        if failed:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            return failed[0]
        if all(code == 0 for code in codes):
            return 0
        time.sleep(0.2)

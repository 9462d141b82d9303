"""Metrics: a JSON line per update, always, and TensorBoard when it is installed."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


class MetricsLogger:
    """Append metrics to ``<run>/metrics.jsonl`` (and TensorBoard event files).

    Keys are namespaced: ``rollout/...`` (what sampling produced), ``train/...``
    (losses, KL), ``sandbox/...``, ``time/...``.
    """

    def __init__(self, run_dir: str | os.PathLike[str], *, tensorboard: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / "metrics.jsonl"
        self._writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(self.run_dir / "tensorboard"))
            except (ImportError, ModuleNotFoundError):
                self._writer = None  # tensorboard is optional

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """Write one update's metrics (flushed at once: nothing lost on a crash)."""
        record = {"update": step, **{k: _plain(v) for k, v in metrics.items()}}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self._writer is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)) and math.isfinite(float(value)):
                    self._writer.add_scalar(key, float(value), step)
            self._writer.flush()

    def truncate(self, last_update: int) -> None:
        """Drop records after ``last_update`` (a resumed run repeats them)."""
        if not self.path.is_file():
            return
        keep = [
            line
            for line in self.path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("update", 0) <= last_update
        ]
        self.path.write_text("".join(line + "\n" for line in keep), encoding="utf-8")

    def close(self) -> None:
        """Close the TensorBoard writer."""
        if self._writer is not None:
            self._writer.close()


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``."""
    return [
        json.loads(line)
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value

"""Callbacks, in Stable-Baselines3's shape: ``on_step()`` calls ``_on_step() -> bool``,
and returning False stops training after the current update."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.common.base import BaseAgent


class BaseCallback:
    """Subclass and override ``_on_step`` (and optionally the other hooks).

    Attributes set before training: ``agent``; updated every update: ``n_updates``
    and ``metrics`` (the update's metrics, namespaced keys such as
    ``rollout/pass_rate``).
    """

    def __init__(self) -> None:
        self.agent: BaseAgent | None = None
        self.n_updates = 0
        self.metrics: dict[str, Any] = {}

    def init_callback(self, agent: BaseAgent) -> None:
        """Attach to an agent (called by ``learn``)."""
        self.agent = agent

    def on_training_start(self) -> None:
        """Before the first update."""
        self._on_training_start()

    def on_step(self, n_updates: int, metrics: dict[str, Any]) -> bool:
        """After each update; False stops training."""
        self.n_updates = n_updates
        self.metrics = metrics
        return bool(self._on_step())

    def on_training_end(self) -> None:
        """After the last update."""
        self._on_training_end()

    def _on_training_start(self) -> None:
        pass

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        pass


class CallbackList(BaseCallback):
    """Several callbacks as one; training stops if any of them says so."""

    def __init__(self, callbacks: Sequence[BaseCallback]) -> None:
        super().__init__()
        self.callbacks = list(callbacks)

    def init_callback(self, agent: BaseAgent) -> None:
        super().init_callback(agent)
        for callback in self.callbacks:
            callback.init_callback(agent)

    def _on_training_start(self) -> None:
        for callback in self.callbacks:
            callback.on_training_start()

    def _on_step(self) -> bool:
        return all([c.on_step(self.n_updates, self.metrics) for c in self.callbacks])

    def _on_training_end(self) -> None:
        for callback in self.callbacks:
            callback.on_training_end()


class StopOnPassRate(BaseCallback):
    """Stop once the rollout pass rate reaches ``threshold``."""

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold

    def _on_step(self) -> bool:
        return float(self.metrics.get("rollout/pass_rate", 0.0)) < self.threshold

"""Loading benchmark rows from the Hugging Face hub through ``datasets``.

Every hub loader goes through :func:`load_hub_rows`, so that being offline (or the
dataset being unavailable) gives one clear error that says how to load the same data
from a local path instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HubUnavailableError(RuntimeError):
    """A dataset could not be loaded from the hub (offline, or no such dataset)."""


def load_hub_rows(
    name: str, config: str | None = None, *, split: str | None = None, hint: str = ""
) -> list[tuple[str | None, Mapping[str, Any]]]:
    """``(split, row)`` for every row of a hub dataset (every split unless ``split``
    is given), splits in sorted order.

    Raises:
        HubUnavailableError: the dataset could not be loaded; the message includes
            ``hint`` (how to load a local copy instead).
    """
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a core dependency
        raise HubUnavailableError(
            f"loading {name!r} from the hub needs `datasets` (pip install datasets); {hint}"
        ) from exc
    try:
        loaded = datasets.load_dataset(name, config, split=split)
    except Exception as exc:
        raise HubUnavailableError(
            f"could not load {name!r}"
            + (f" ({config})" if config else "")
            + f" from the Hugging Face hub: {type(exc).__name__}: {exc}. {hint}"
        ) from exc
    if isinstance(loaded, Mapping):  # a DatasetDict: every split, in a stable order
        return [(key, row) for key in sorted(loaded) for row in loaded[key]]
    return [(split, row) for row in loaded]

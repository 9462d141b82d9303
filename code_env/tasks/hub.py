"""Loading benchmark rows from the Hugging Face hub through ``datasets``.

Every hub loader goes through :func:`load_hub_rows`, so that being offline (or the
dataset being unavailable) gives one clear error that says how to load the same data
from a local path instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class HubUnavailableError(RuntimeError):
    """A dataset could not be loaded from the hub (offline, or no such dataset)."""


#: A Hugging Face repo id: ``name`` or ``owner/name``.
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def looks_like_repo_id(name: str) -> bool:
    """Whether ``name`` could name a hub repository (rather than only a local path)."""
    return bool(REPO_ID.match(name)) and ".." not in name


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face hub can be reached now: not in offline mode, and its
    host name resolves within ``timeout_s``. Offline, the hub's clients retry for tens
    of seconds before they fail; callers ask this first to fail at once instead."""
    import os
    import socket
    import threading
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        from huggingface_hub import constants

        host = urlparse(constants.ENDPOINT).hostname
    except ImportError:  # pragma: no cover - a dependency of datasets and transformers
        return False
    if not host:
        return False
    answer: list[bool] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, 443)
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(answer and answer[0])


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
        if hub_reachable():
            loaded = datasets.load_dataset(name, config, split=split)
        else:  # only what is cached; the hub's retries would take tens of seconds
            loaded = _load_cached(datasets, name, config, split)
    except Exception as exc:
        raise HubUnavailableError(
            f"could not load {name!r}"
            + (f" ({config})" if config else "")
            + f" from the Hugging Face hub: {type(exc).__name__}: {exc}. {hint}"
        ) from exc
    if isinstance(loaded, Mapping):  # a DatasetDict: every split, in a stable order
        return [(key, row) for key in sorted(loaded) for row in loaded[key]]
    return [(split, row) for row in loaded]


def _load_cached(datasets: Any, name: str, config: str | None, split: str | None) -> Any:
    """``load_dataset`` from the local cache only (the hub cannot be reached)."""
    previous = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = True
    try:
        return datasets.load_dataset(name, config, split=split)
    except Exception as exc:
        raise ConnectionError(
            "the Hugging Face hub cannot be reached (offline?) and no cached copy was found"
        ) from exc
    finally:
        datasets.config.HF_HUB_OFFLINE = previous

"""Tasks: problems with unit tests, and loaders for the benchmarks that provide them.

>>> from code_env.tasks import load_tasks
>>> tasks = load_tasks("builtin", split="train")
>>> tasks.summary()  # doctest: +SKIP
'... tasks from builtin (train: ...)'

Sources: ``"builtin"`` (shipped), ``"mbpp"``, ``"humaneval"``, ``"apps"`` (a local
path or the Hugging Face hub), a ``.jsonl`` path in the project's schema, a
``datasets.Dataset`` with the schema's columns, or an iterable of :class:`Task`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from code_env.tasks import apps, builtin, humaneval, mbpp
from code_env.tasks.hf import tasks_from_dataset, tasks_to_dataset
from code_env.tasks.hub import HubUnavailableError
from code_env.tasks.jsonl import read_jsonl, write_jsonl
from code_env.tasks.model import (
    TEST_KINDS,
    Task,
    TaskFormatError,
    TaskList,
    TestCase,
    collect_tasks,
)

__all__ = [
    "SOURCES",
    "TEST_KINDS",
    "HubUnavailableError",
    "Task",
    "TaskFormatError",
    "TaskList",
    "TestCase",
    "load_tasks",
    "read_jsonl",
    "tasks_from_dataset",
    "tasks_to_dataset",
    "write_jsonl",
]

logger = logging.getLogger(__name__)

#: Named sources: the loader and the splits it declares.
SOURCES: dict[str, tuple[Callable[..., TaskList], tuple[str, ...]]] = {
    "builtin": (builtin.load_builtin, builtin.SPLITS),
    "mbpp": (mbpp.load_mbpp, mbpp.SPLITS),
    "humaneval": (humaneval.load_humaneval, humaneval.SPLITS),
    "apps": (apps.load_apps, apps.SPLITS),
}


def _is_dataset(obj: Any) -> bool:
    # Checked by name so that plain loads never import `datasets` (slow to import).
    return any(c.__module__.startswith("datasets.") for c in type(obj).__mro__) and hasattr(
        obj, "column_names"
    )


def _unknown_source(source: Any) -> ValueError:
    return ValueError(
        f"unknown task source {source!r}: use one of {', '.join(SOURCES)}, a path to a "
        ".jsonl file, a datasets.Dataset, or a list of Task"
    )


def _filter_split(tasks: TaskList, split: str, declared: tuple[str, ...]) -> TaskList:
    present = sorted({str(t.split) for t in tasks if t.split is not None})
    valid = declared or tuple(present)
    if not valid:
        raise ValueError(
            f"split={split!r} asked for, but the tasks of {tasks.source} have no split"
        )
    if split not in valid:
        raise ValueError(
            f"unknown split {split!r} for {tasks.source}; valid splits: {', '.join(valid)}"
        )
    kept = TaskList((t for t in tasks if t.split == split), source=f"{tasks.source} [{split}]")
    if not kept:
        raise ValueError(f"split {split!r} of {tasks.source} holds no tasks")
    return kept


def load_tasks(
    source: str | os.PathLike[str] | Iterable[Task] | Any,
    split: str | None = None,
    **kwargs: Any,
) -> TaskList:
    """Load tasks from a named benchmark, a file, a dataset or a list.

    Args:
        source: ``"builtin"``, ``"mbpp"``, ``"humaneval"``, ``"apps"``, a path to a
            ``.jsonl``/``.jsonl.gz`` file in the project's schema, a
            ``datasets.Dataset`` with the schema's columns, or an iterable of
            :class:`Task`.
        split: Keep only this split (``metadata["split"]``), e.g. ``"train"``. None
            keeps all. An unknown split is an error listing the valid ones.
        **kwargs: Passed to the named source's loader, e.g. ``path=`` for
            ``"mbpp"`` / ``"humaneval"`` / ``"apps"`` (without it they load from the
            Hugging Face hub), ``variant="sanitized"`` for MBPP,
            ``difficulties=[...]`` for APPS.

    Returns:
        A :class:`TaskList` (a list of :class:`Task`) with ``source``, ``counts()``
        and ``summary()``.

    Raises:
        TaskFormatError: malformed data; the message names the file, line and field.
        ValueError: an unknown source or split (the message lists the valid ones).
        FileNotFoundError: a path that does not exist.
        HubUnavailableError: a hub load failed (offline); the message says how to
            load a local copy instead.
    """
    declared: tuple[str, ...] = ()
    if isinstance(source, str) and source in SOURCES:
        loader, declared = SOURCES[source]
        try:
            tasks = loader(**kwargs)
        except TypeError as exc:
            if "unexpected keyword" in str(exc):
                raise TypeError(f"load_tasks({source!r}): {exc}") from None
            raise
    elif isinstance(source, (str, os.PathLike)):
        if kwargs:
            raise TypeError(f"load_tasks(<path>) takes no options, got {', '.join(kwargs)}")
        path = Path(source)
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            tasks = read_jsonl(path)
        elif path.exists():
            raise ValueError(
                f"{path}: not a .jsonl task file; for a benchmark's own files use "
                f"load_tasks('mbpp' | 'humaneval' | 'apps', path=...)"
            )
        else:
            raise _unknown_source(source)
    elif _is_dataset(source):
        tasks = tasks_from_dataset(source, name=kwargs.pop("name", "dataset"))
    elif isinstance(source, Iterable):
        items = list(source)
        bad = [i for i, t in enumerate(items) if not isinstance(t, Task)]
        if bad:
            raise TypeError(
                f"item {bad[0]} of the task list is a {type(items[bad[0]]).__name__}, not a Task"
            )
        tasks = collect_tasks(enumerate(items), lambda t: t, file="task list", source="task list")
    else:
        raise _unknown_source(source)
    if split is not None:
        tasks = _filter_split(tasks, split, declared)
    logger.info("loaded %s", tasks.summary())
    return tasks

"""Tasks to and from a ``datasets.Dataset`` whose columns follow the task schema.

Columns are the :class:`~code_env.tasks.model.Task` fields. Because Arrow needs one
type per column and test values vary, ``tests``, ``example_tests`` and ``metadata``
may be stored as JSON text; :func:`tasks_to_dataset` writes them that way and
:func:`tasks_from_dataset` reads either form.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from code_env.tasks.model import Task, TaskFormatError, TaskList, collect_tasks

if TYPE_CHECKING:
    import datasets

_JSON_COLUMNS = ("tests", "example_tests", "metadata", "solutions")


def _row_to_task(row: Mapping[str, Any]) -> Task:
    data = {k: v for k, v in row.items()}
    for name in _JSON_COLUMNS:
        if isinstance(data.get(name), str):
            try:
                data[name] = json.loads(data[name])
            except json.JSONDecodeError as exc:
                raise TaskFormatError(f"not valid JSON text: {exc.msg}", field=name) from None
    return Task.from_dict(data)


def tasks_from_dataset(dataset: datasets.Dataset, *, name: str = "dataset") -> TaskList:
    """Load tasks from a ``datasets.Dataset`` (one task per row)."""
    missing = [c for c in ("task_id", "prompt", "tests") if c not in dataset.column_names]
    if missing:
        raise TaskFormatError(
            f"the dataset lacks the column(s) {', '.join(missing)}; it has "
            f"{', '.join(dataset.column_names)}",
            file=name,
            field=missing[0],
        )
    return collect_tasks(enumerate(dataset, start=1), _row_to_task, file=f"{name} row", source=name)


def tasks_to_dataset(tasks: Iterable[Task]) -> datasets.Dataset:
    """A ``datasets.Dataset`` with one row per task: ``task_id``, ``prompt`` and the
    other fields, the variable-typed ones as JSON text. Loads back with
    :func:`tasks_from_dataset`; TRL trainers read its ``prompt`` and ``task_id``."""
    import datasets

    rows = []
    for task in tasks:
        row = task.to_dict()
        for name in _JSON_COLUMNS:
            row[name] = json.dumps(row[name], ensure_ascii=False)
        rows.append(row)
    return datasets.Dataset.from_list(rows)

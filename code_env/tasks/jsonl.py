"""Read and write tasks as JSON Lines: one task object per line.

The fields are those of :class:`~code_env.tasks.model.Task`; each test case is an
object with a ``kind``. A test value JSON cannot hold (a tuple, a set, bytes, a dict
with non-string keys...) is the one-key object ``{"$literal": "<Python literal>"}``
(:func:`~code_env.tasks.model.to_json_value`; docs/tasks.md), so files round-trip
every literal exactly, and files of plain JSON values read and write back unchanged.
Blank lines are allowed; anything else that is not a valid task (text that is not
UTF-8 or not JSON included) is an error naming the file, the line and the field.
Files ending in ``.gz`` are read and written compressed.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from code_env.tasks.model import Task, TaskFormatError, TaskList, collect_tasks


def _open_text(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8")


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSONL file.

    Raises :class:`TaskFormatError` naming the file and line for bytes that are not
    UTF-8, text that is not JSON (or nests too deeply to parse), or JSON that is not
    an object.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise TaskFormatError(
                    f"not UTF-8 text: byte {exc.start + 1}", file=str(path), line=lineno
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaskFormatError(
                    f"not valid JSON: {exc.msg} (column {exc.colno})", file=str(path), line=lineno
                ) from None
            except RecursionError:
                raise TaskFormatError(
                    "not valid JSON: nested too deeply", file=str(path), line=lineno
                ) from None
            if not isinstance(obj, dict):
                raise TaskFormatError(
                    f"each line must be a JSON object, got {type(obj).__name__}",
                    file=str(path),
                    line=lineno,
                )
            yield lineno, obj


def read_jsonl(path: str | os.PathLike[str]) -> TaskList:
    """Load every task of a JSONL file in the project's schema.

    Raises:
        FileNotFoundError: the file does not exist.
        TaskFormatError: a line is not a valid task (the message names the file,
            line and field), two tasks share an id, or the file holds no task.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"task file not found: {path}")
    return collect_tasks(iter_jsonl(path), Task.from_dict, file=str(path), source=str(path))


def write_jsonl(tasks: Iterable[Task], path: str | os.PathLike[str]) -> int:
    """Write tasks to ``path``, one JSON object per line. Returns the count written.

    The file is written to a temporary name first and renamed, so a crash never
    leaves half a file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial{path.suffix}")  # keeps the .gz suffix
    count = 0
    with _open_text(tmp, "w") as fh:
        for task in tasks:
            fh.write(task.to_json())
            fh.write("\n")
            count += 1
    os.replace(tmp, path)
    return count

"""The task model: a problem prompt, its unit tests and reference solutions.

A :class:`Task` is what the sandbox runs and the env serves. Its tests are
:class:`TestCase` objects of three kinds:

``assert``
    A Python statement run after the program, e.g. ``assert add(1, 2) == 3``.
``call``
    Call ``fn(*args)`` and compare the returned value with ``expected``.
``stdio``
    Run the program as ``__main__`` with ``input`` on standard input and compare
    what it prints with ``expected``.

Tasks serialise to one JSON object per line (see :mod:`code_env.tasks.jsonl`) with
the same field names as the dataclasses; every field is validated on construction,
and the error names the field (and, when loading a file, the file and line).
"""

from __future__ import annotations

import ast
import json
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TestKind = Literal["assert", "call", "stdio"]

#: The test kinds a :class:`TestCase` may have.
TEST_KINDS: tuple[str, ...] = ("assert", "call", "stdio")

# Which fields each kind takes, the first ones required.
_KIND_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "assert": (("code",), ()),
    "call": (("fn", "args", "expected"), ()),
    "stdio": (("input", "expected"), ()),
}
_TESTCASE_FIELDS = ("kind", "code", "fn", "args", "expected", "input")
_TASK_FIELDS = (
    "task_id",
    "prompt",
    "tests",
    "example_tests",
    "entry_point",
    "setup_code",
    "solutions",
    "metadata",
    "program_prefix",
)
_MISSING: Any = object()


def parse_quietly(source: str, mode: str = "exec") -> ast.AST:
    """``ast.parse`` without the SyntaxWarnings old benchmark code triggers
    (invalid escape sequences in MBPP's regex tests, for instance)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, mode=mode)


class TaskFormatError(ValueError):
    """A task or test case is malformed.

    The message names where: the file and line when loading a file, and the field.
    The same facts are available as attributes for programs that handle the error.

    Attributes:
        file: The file being read, or None.
        line: The 1-based line number in ``file``, or None.
        field: The dotted field path (``tests[2].expected``), or None.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = message
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        if field is not None:
            where += f"field '{field}': "
        super().__init__(where + message)

    def located(self, file: str | None = None, line: int | None = None) -> TaskFormatError:
        """A copy of this error with a file and line added (kept if already set)."""
        return TaskFormatError(
            self.reason,
            file=self.file if self.file is not None else file,
            line=self.line if self.line is not None else line,
            field=self.field,
        )


def _is_json_data(value: Any, depth: int = 0) -> bool:
    """True if ``value`` is made only of JSON types (tuples allowed, read as lists)."""
    if depth > 100:
        return False
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_is_json_data(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_data(v, depth + 1) for k, v in value.items())
    return False


def _to_json_data(value: Any) -> Any:
    """Tuples become lists so that a value round-trips through JSON unchanged."""
    if isinstance(value, (list, tuple)):
        return [_to_json_data(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json_data(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class TestCase:
    """One unit test.

    Build one with the fields its kind takes::

        TestCase(kind="assert", code="assert add(1, 2) == 3")
        TestCase(kind="call", fn="add", args=[1, 2], expected=3)
        TestCase(kind="stdio", input="1 2\\n", expected="3\\n")

    ``call`` arguments and expected values are JSON data (tuples are stored as
    lists; the sandbox compares a returned tuple equal to a list with the same
    items). Construction validates the fields and raises :class:`TaskFormatError`.
    """

    __test__ = False  # not a pytest test class, despite the name

    kind: TestKind
    """One of ``"assert"``, ``"call"``, ``"stdio"``."""
    code: str | None = None
    """``assert`` tests: the statement(s) to run after the program."""
    fn: str | None = None
    """``call`` tests: the name of the function to call."""
    args: list[Any] | None = None
    """``call`` tests: positional arguments, as JSON data."""
    expected: Any = None
    """``call``: the expected return value; ``stdio``: the expected output text."""
    input: str | None = None
    """``stdio`` tests: the text fed to standard input."""

    def __post_init__(self) -> None:
        if self.kind not in TEST_KINDS:
            raise TaskFormatError(
                f"unknown test kind {self.kind!r}; valid kinds: {', '.join(TEST_KINDS)}",
                field="kind",
            )
        required, optional = _KIND_FIELDS[self.kind]
        allowed = set(required) | set(optional)
        for name in ("code", "fn", "args", "input"):
            if name not in allowed and getattr(self, name) is not None:
                raise TaskFormatError(
                    f"not used by {self.kind!r} tests (they take {', '.join(required)})",
                    field=name,
                )
        if self.kind == "assert":
            self._check_assert()
        elif self.kind == "call":
            self._check_call()
        else:
            self._check_stdio()

    def _check_assert(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise TaskFormatError("an assert test needs non-empty 'code' text", field="code")
        if self.expected is not None:
            raise TaskFormatError("not used by 'assert' tests", field="expected")
        try:
            parse_quietly(self.code)
        except SyntaxError as exc:
            raise TaskFormatError(
                f"test code does not parse: {exc.msg} (line {exc.lineno})", field="code"
            ) from None

    def _check_call(self) -> None:
        if not isinstance(self.fn, str) or not self.fn.isidentifier():
            raise TaskFormatError(f"a call test needs a function name, got {self.fn!r}", field="fn")
        if not isinstance(self.args, (list, tuple)):
            raise TaskFormatError(
                f"must be a list of arguments, got {type(self.args).__name__}", field="args"
            )
        if not _is_json_data(self.args):
            raise TaskFormatError("arguments must be JSON data", field="args")
        if not _is_json_data(self.expected):
            raise TaskFormatError("the expected value must be JSON data", field="expected")
        object.__setattr__(self, "args", _to_json_data(self.args))
        object.__setattr__(self, "expected", _to_json_data(self.expected))

    def _check_stdio(self) -> None:
        if not isinstance(self.input, str):
            raise TaskFormatError(f"must be text, got {type(self.input).__name__}", field="input")
        if not isinstance(self.expected, str):
            raise TaskFormatError(
                f"a stdio test's expected output must be text, got {type(self.expected).__name__}",
                field="expected",
            )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``kind`` plus the fields this kind takes."""
        out: dict[str, Any] = {"kind": self.kind}
        required, optional = _KIND_FIELDS[self.kind]
        for name in required + optional:
            out[name] = getattr(self, name)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> TestCase:
        """Build a test case from its JSON form, rejecting unknown or missing fields."""
        if not isinstance(data, Mapping):
            raise TaskFormatError(f"a test case must be an object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_TESTCASE_FIELDS))
        if unknown:
            raise TaskFormatError(
                f"unknown field; test case fields are {', '.join(_TESTCASE_FIELDS)}",
                field=unknown[0],
            )
        kind = data.get("kind", _MISSING)
        if kind is _MISSING:
            raise TaskFormatError("missing", field="kind")
        if kind in _KIND_FIELDS:
            for name in _KIND_FIELDS[kind][0]:
                if name not in data:
                    raise TaskFormatError(f"missing (required by {kind!r} tests)", field=name)
        return cls(**dict(data))

    def describe(self) -> str:
        """A one-line human-readable form, for logs and error messages."""
        if self.kind == "assert":
            text = (self.code or "").strip().splitlines()[0]
        elif self.kind == "call":
            args = ", ".join(repr(a) for a in self.args or [])
            text = f"{self.fn}({args}) == {self.expected!r}"
        else:
            text = f"stdin {self.input!r} -> stdout {self.expected!r}"
        return text if len(text) <= 120 else text[:117] + "..."


def _check_str(value: Any, name: str, *, allow_none: bool = False, nonempty: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, str):
        raise TaskFormatError(f"must be text, got {type(value).__name__}", field=name)
    if nonempty and not value.strip():
        raise TaskFormatError("must not be empty", field=name)


def _test_list(value: Any, name: str) -> list[TestCase]:
    if not isinstance(value, (list, tuple)):
        raise TaskFormatError(
            f"must be a list of test cases, got {type(value).__name__}", field=name
        )
    tests = []
    for i, item in enumerate(value):
        try:
            tests.append(item if isinstance(item, TestCase) else TestCase.from_dict(item))
        except TaskFormatError as exc:
            sub = f"{name}[{i}]" + (f".{exc.field}" if exc.field else "")
            raise TaskFormatError(exc.reason, field=sub) from None
    return tests


@dataclass
class Task:
    """A programming problem with hidden unit tests.

    The program that gets graded is ``task.program(completion)``:
    ``program_prefix + completion``. For most sources the prefix is empty and the
    completion is the whole program; for HumanEval-style tasks (and the built-in
    suite) the prefix is the prompt's signature and docstring and the completion is
    the function body; for APPS it is the standard import header APPS's own harness
    puts before every solution.

    ``solutions`` are reference completions in the same sense, so
    ``task.program(task.solutions[0])`` is a complete reference program.
    """

    task_id: str
    """Unique id, prefixed with the source (``builtin/sum_even``, ``MBPP/11``)."""
    prompt: str
    """The text a model sees, already formatted for its source."""
    tests: list[TestCase]
    """Hidden tests: they decide the reward. At least one."""
    example_tests: list[TestCase] = field(default_factory=list)
    """Tests the prompt may show (MBPP's asserts, APPS's statement examples)."""
    entry_point: str | None = None
    """The function the tests call; None for standard-input programs."""
    setup_code: str = ""
    """Runs after the program and before the tests, in the same namespace."""
    solutions: list[str] = field(default_factory=list)
    """Reference completions (see the class docstring)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Source, split, difficulty, family and anything else, as JSON data."""
    program_prefix: str = ""
    """Code placed before a completion to form the program (see :meth:`program`)."""

    def __post_init__(self) -> None:
        _check_str(self.task_id, "task_id", nonempty=True)
        _check_str(self.prompt, "prompt", nonempty=True)
        self.tests = _test_list(self.tests, "tests")
        if not self.tests:
            raise TaskFormatError("a task needs at least one hidden test", field="tests")
        self.example_tests = _test_list(self.example_tests, "example_tests")
        _check_str(self.entry_point, "entry_point", allow_none=True)
        if self.entry_point is not None and not self.entry_point.isidentifier():
            raise TaskFormatError(
                f"must be a function name, got {self.entry_point!r}", field="entry_point"
            )
        _check_str(self.setup_code, "setup_code")
        _check_str(self.program_prefix, "program_prefix")
        if not isinstance(self.solutions, (list, tuple)):
            raise TaskFormatError(
                f"must be a list of strings, got {type(self.solutions).__name__}",
                field="solutions",
            )
        for i, sol in enumerate(self.solutions):
            _check_str(sol, f"solutions[{i}]")
        self.solutions = list(self.solutions)
        if not isinstance(self.metadata, Mapping) or not _is_json_data(dict(self.metadata)):
            raise TaskFormatError("must be an object of JSON data", field="metadata")
        self.metadata = dict(self.metadata)

    @property
    def split(self) -> str | None:
        """The split this task belongs to (``metadata["split"]``), if any."""
        return self.metadata.get("split")

    @property
    def is_stdio(self) -> bool:
        """True when the program reads standard input (no entry point)."""
        return self.entry_point is None

    def program(self, completion: str) -> str:
        """The program to grade for a model's ``completion``."""
        return self.program_prefix + completion

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, one key per field."""
        return {
            "task_id": self.task_id,
            "prompt": self.prompt,
            "tests": [t.to_dict() for t in self.tests],
            "example_tests": [t.to_dict() for t in self.example_tests],
            "entry_point": self.entry_point,
            "setup_code": self.setup_code,
            "solutions": list(self.solutions),
            "metadata": dict(self.metadata),
            "program_prefix": self.program_prefix,
        }

    def to_json(self) -> str:
        """One line of JSON (the JSONL form)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> Task:
        """Build a task from its JSON form, rejecting unknown or missing fields."""
        if not isinstance(data, Mapping):
            raise TaskFormatError(f"a task must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_TASK_FIELDS))
        if unknown:
            raise TaskFormatError(
                f"unknown field; task fields are {', '.join(_TASK_FIELDS)}", field=unknown[0]
            )
        for name in ("task_id", "prompt", "tests"):
            if name not in data:
                raise TaskFormatError("missing (required)", field=name)
        return cls(**dict(data))


class TaskList(list[Task]):
    """The tasks a loader returned, with where they came from and counts.

    A plain ``list`` of :class:`Task` in every other respect.
    """

    def __init__(self, tasks: Iterable[Task] = (), *, source: str = "tasks") -> None:
        super().__init__(tasks)
        self.source = source
        """A short description of where the tasks came from."""

    def get(self, task_id: str) -> Task:
        """The task with this id; ``KeyError`` listing a few valid ids otherwise."""
        for task in self:
            if task.task_id == task_id:
                return task
        sample = ", ".join(t.task_id for t in self[:5])
        raise KeyError(f"no task {task_id!r} in {self.source} ({len(self)} tasks, e.g. {sample})")

    def counts(self) -> dict[str, dict[str, int]]:
        """Counts by split, test kind, difficulty and family, plus the total."""

        def tally(key) -> dict[str, int]:
            return dict(sorted(Counter(str(key(t)) for t in self).items()))

        return {
            "total": {"tasks": len(self)},
            "split": tally(lambda t: t.split),
            "kind": tally(lambda t: t.tests[0].kind),
            "difficulty": tally(lambda t: t.metadata.get("difficulty")),
            "family": tally(lambda t: t.metadata.get("family")),
        }

    def summary(self) -> str:
        """One line: how many tasks from where, per split."""
        splits = Counter(str(t.split) for t in self)
        per_split = ", ".join(f"{k}: {v}" for k, v in sorted(splits.items()))
        return f"{len(self)} tasks from {self.source} ({per_split})"


def collect_tasks(
    records: Iterable[tuple[int, Any]],
    convert: Callable[[Any], Task],
    *,
    file: str,
    source: str,
) -> TaskList:
    """Convert numbered records to tasks, the common core of every loader.

    Errors are located at ``file`` and the record's number; duplicate ids and an empty
    source are errors too, so nothing is ever silently skipped.
    """
    tasks = TaskList(source=source)
    first_seen: dict[str, int] = {}
    for number, record in records:
        try:
            task = convert(record)
        except TaskFormatError as exc:
            raise exc.located(file, number) from None
        if task.task_id in first_seen:
            raise TaskFormatError(
                f"duplicate task_id {task.task_id!r} (first at {first_seen[task.task_id]})",
                file=file,
                line=number,
                field="task_id",
            )
        first_seen[task.task_id] = number
        tasks.append(task)
    if not tasks:
        raise TaskFormatError("holds no tasks", file=file)
    return tasks

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

A ``call`` test's arguments and expected value are Python literals; one that JSON
cannot hold (a tuple, a set, bytes, a dict with int keys...) is written as
``{"$literal": "<its literal text>"}`` and read back exactly (:func:`to_json_value`,
:func:`from_json_value`; docs/tasks.md).
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


# --- test values: Python literals, and their JSON form -------------------------------------

#: The key of the one-key JSON object that carries a value JSON cannot hold, as the
#: text of a Python literal: ``{"$literal": "(1, 2)"}`` (see docs/tasks.md).
LITERAL_KEY = "$literal"
#: How deeply test values may nest (a ``frozenset`` counts twice: its text nests twice).
MAX_VALUE_DEPTH = 100
#: What a test value may be, for error messages.
LITERAL_TYPES = (
    "JSON data, tuples, sets, frozensets, bytes, complex numbers, dicts with any literal keys"
)


class NotALiteral(ValueError):
    """A value that is not a Python literal (see :func:`literal_value`)."""


def _plain_int(value: int) -> bool:
    """True if JSON (and ``repr``) can write the int in decimal (Python caps the digits)."""
    if value.bit_length() < 14_000:
        return True
    try:
        int.__repr__(value)
    except ValueError:
        return False
    return True


def _literal(value: Any, depth: int) -> tuple[Any, bool]:
    """``(value rebuilt from the builtin types, whether JSON holds it exactly)``.

    Subclasses become their base type (a named tuple a tuple, a ``Counter`` a dict,
    an ``IntEnum`` an int), as values do when they cross from the sandbox's child.
    """
    if depth > MAX_VALUE_DEPTH:
        raise NotALiteral(f"nested more than {MAX_VALUE_DEPTH} levels deep")
    if value is None or value is True or value is False:
        return value, True
    kind = type(value)
    if kind is str or isinstance(value, str):
        text = value if kind is str else str.__str__(value)
        if text.isascii():
            return text, True
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: JSON text in UTF-8 cannot hold them
            return text, False
        return text, True
    if kind is int or isinstance(value, int):
        number = value if kind is int else int.__index__(value)
        return number, _plain_int(number)
    if kind is float or isinstance(value, float):
        real = value if kind is float else float.__float__(value)
        if not math.isfinite(real):
            raise NotALiteral(f"{real!r} is not a literal")
        return real, True
    d = depth + 1
    if kind is list or isinstance(value, list):
        items = [_literal(v, d) for v in list.__iter__(value)]
        return [v for v, _ in items], all(p for _, p in items)
    if kind is dict or isinstance(value, dict):
        out: dict[Any, Any] = {}
        plain = not (len(value) == 1 and LITERAL_KEY in value)
        for k, v in dict.items(value):
            key, key_plain = _literal(k, d)
            item, item_plain = _literal(v, d)
            out[key] = item
            plain = plain and key_plain and type(key) is str and item_plain
        if len(out) != len(value):
            raise NotALiteral("dict keys that are equal once rebuilt")
        return out, plain
    if kind is tuple or isinstance(value, tuple):
        return tuple(_literal(v, d)[0] for v in tuple.__iter__(value)), False
    if kind is set or kind is frozenset or isinstance(value, (set, frozenset)):
        frozen = isinstance(value, frozenset)
        items = [_literal(v, d + 1 if frozen else d)[0] for v in value]
        made = frozenset(items) if frozen else set(items)
        if len(made) != len(value):
            raise NotALiteral("set items that are equal once rebuilt")
        return made, False
    if kind is bytes or isinstance(value, bytes):
        return bytes(value), False
    if kind is complex or isinstance(value, complex):
        number = complex(value.real, value.imag)
        if not (math.isfinite(number.real) and math.isfinite(number.imag)):
            raise NotALiteral(f"{number!r} is not a literal")
        return number, False
    raise NotALiteral(f"{kind.__name__!r} is not a literal type")


def literal_value(value: Any) -> Any:
    """``value`` rebuilt from builtin types, or :class:`NotALiteral`.

    A test value (a ``call`` test's arguments and expected value) is a Python
    literal: ``None``, bools, ints, finite floats and complex numbers, str, bytes,
    and lists, tuples, dicts, sets and frozensets of literals, nested at most
    :data:`MAX_VALUE_DEPTH` deep: anything whose literal text reads back as an equal
    value (:func:`literal_text`, :func:`read_literal`).
    """
    return _literal(value, 0)[0]


def is_json_value(value: Any) -> bool:
    """True if the literal ``value`` round-trips through JSON exactly (no tuple,
    set, bytes, complex, non-string key, unencodable text or over-long int)."""
    return _literal(value, 0)[1]


def _sorted_texts(items: Any) -> list[str]:
    """The literal texts of a set's items in an order that never depends on the
    hash seed: by value for numbers, text or bytes, else by text."""
    kinds = {type(v) for v in items}
    if kinds <= {int, float, bool} or kinds == {str} or kinds == {bytes}:
        return [literal_text(v) for v in sorted(items)]
    return sorted(literal_text(v) for v in items)


def literal_text(value: Any) -> str:
    """Python source for a literal (as :func:`literal_value` returns it) that
    :func:`read_literal` reads back as an equal value: ``repr``, except that set
    items are sorted (so the text does not depend on the hash seed) and ints too long
    for decimal text are written in hexadecimal."""
    kind = type(value)
    if kind is int:
        return int.__repr__(value) if _plain_int(value) else hex(value)
    if value is None or kind in (bool, float, complex, str, bytes):
        return repr(value)
    if kind is list:
        return "[" + ", ".join(literal_text(v) for v in value) + "]"
    if kind is tuple:
        if len(value) == 1:
            return "(" + literal_text(value[0]) + ",)"
        return "(" + ", ".join(literal_text(v) for v in value) + ")"
    if kind is dict:
        return (
            "{" + ", ".join(f"{literal_text(k)}: {literal_text(v)}" for k, v in value.items()) + "}"
        )
    if kind is set:
        return "{" + ", ".join(_sorted_texts(value)) + "}" if value else "set()"
    if kind is frozenset:
        return "frozenset({" + ", ".join(_sorted_texts(value)) + "})" if value else "frozenset()"
    raise NotALiteral(f"{kind.__name__!r} is not a literal type")


_SIGNS = {ast.UAdd: 1, ast.USub: -1}


def _read_node(node: ast.AST, depth: int) -> Any:
    """The value of a literal's syntax tree (``ast.literal_eval``'s grammar, plus
    ``frozenset()`` and ``frozenset({...})``)."""
    if depth > 2 * MAX_VALUE_DEPTH + 2:
        raise NotALiteral("nested too deeply")
    d = depth + 1
    if isinstance(node, ast.Constant):
        if node.value is Ellipsis:
            raise NotALiteral("... is not a test value")
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _SIGNS:
        operand = _read_node(node.operand, d)
        if isinstance(operand, bool) or not isinstance(operand, (int, float, complex)):
            raise NotALiteral("a sign before something that is not a number")
        return operand if isinstance(node.op, ast.UAdd) else -operand
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        # a complex number: real +/- imaginary, as repr writes it
        left, right = _read_node(node.left, d), _read_node(node.right, d)
        if (
            isinstance(left, (int, float))
            and not isinstance(left, bool)
            and isinstance(right, complex)
            and isinstance(node.right, ast.Constant)
            and right.real == 0
        ):
            imag = right.imag if isinstance(node.op, ast.Add) else -right.imag
            return complex(left, imag)
        raise NotALiteral("an operation that is not a complex number's + or -")
    if isinstance(node, ast.Tuple):
        return tuple(_read_node(e, d) for e in node.elts)
    if isinstance(node, ast.List):
        return [_read_node(e, d) for e in node.elts]
    if isinstance(node, ast.Set):
        return {_read_node(e, d) for e in node.elts}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise NotALiteral("** in a dict")
        return {
            _read_node(k, d): _read_node(v, d)  # type: ignore[arg-type]
            for k, v in zip(node.keys, node.values, strict=True)
        }
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("set", "frozenset")
        and not node.keywords
    ):
        if not node.args:
            return set() if node.func.id == "set" else frozenset()
        if (
            node.func.id == "frozenset"
            and len(node.args) == 1
            and isinstance(node.args[0], (ast.Set, ast.List, ast.Tuple))
        ):
            return frozenset(_read_node(e, d) for e in node.args[0].elts)
    raise NotALiteral(f"{type(node).__name__} is not part of a literal")


def read_literal(text: str) -> Any:
    """The value of a Python literal's text (the inverse of :func:`literal_text`).

    Reads what ``ast.literal_eval`` reads, plus ``frozenset(...)``; evaluates
    nothing else. Raises :class:`NotALiteral` for anything else, however malformed
    or deep.
    """
    if not isinstance(text, str):
        raise NotALiteral(f"literal text must be a string, got {type(text).__name__}")
    try:
        tree = parse_quietly(text.strip(), mode="eval")
        return _read_node(tree.body, 0)  # type: ignore[attr-defined]
    except NotALiteral:
        raise
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise NotALiteral(f"not a Python literal: {type(exc).__name__}: {exc}") from None


def to_json_value(value: Any) -> Any:
    """The JSON form of a literal: itself where JSON holds it exactly, else (at the
    outermost place JSON cannot hold) ``{"$literal": literal_text(value)}``."""
    if value is None or isinstance(value, (bool, float)):
        return value
    kind = type(value)
    if kind is str:
        return value if _literal(value, 0)[1] else {LITERAL_KEY: literal_text(value)}
    if kind is int:
        return value if _plain_int(value) else {LITERAL_KEY: literal_text(value)}
    if kind is list:
        return [to_json_value(v) for v in value]
    if (
        kind is dict
        and all(type(k) is str for k in value)
        and not (len(value) == 1 and LITERAL_KEY in value)
    ):
        return {k: to_json_value(v) for k, v in value.items()}
    return {LITERAL_KEY: literal_text(value)}


def from_json_value(data: Any, depth: int = 0) -> Any:
    """The inverse of :func:`to_json_value`: every one-key object ``{"$literal":
    text}`` becomes the value of ``text``; the rest is kept. Raises
    :class:`NotALiteral` for malformed literal text."""
    if depth > MAX_VALUE_DEPTH + 1:
        raise NotALiteral(f"nested more than {MAX_VALUE_DEPTH} levels deep")
    if isinstance(data, list):
        return [from_json_value(v, depth + 1) for v in data]
    if isinstance(data, dict):
        if len(data) == 1 and LITERAL_KEY in data:
            return read_literal(data[LITERAL_KEY])
        return {k: from_json_value(v, depth + 1) for k, v in data.items()}
    return data


@dataclass(frozen=True)
class TestCase:
    """One unit test.

    Build one with the fields its kind takes::

        TestCase(kind="assert", code="assert add(1, 2) == 3")
        TestCase(kind="call", fn="add", args=[1, 2], expected=3)
        TestCase(kind="stdio", input="1 2\\n", expected="3\\n")

    ``call`` arguments and expected values are Python literals (JSON data, tuples,
    sets, frozensets, bytes, complex numbers, dicts with any literal keys; see
    :func:`literal_value`), kept with their types; the sandbox compares a returned
    tuple equal to a list with the same items. In the JSON form (:meth:`to_dict`) a
    value JSON cannot hold is the one-key object ``{"$literal": "<Python literal>"}``
    (:func:`to_json_value`). Construction validates the fields and raises
    :class:`TaskFormatError`.
    """

    __test__ = False  # not a pytest test class, despite the name

    kind: TestKind
    """One of ``"assert"``, ``"call"``, ``"stdio"``."""
    code: str | None = None
    """``assert`` tests: the statement(s) to run after the program."""
    fn: str | None = None
    """``call`` tests: the name of the function to call."""
    args: list[Any] | None = None
    """``call`` tests: positional arguments, Python literals."""
    expected: Any = None
    """``call``: the expected return value (a Python literal); ``stdio``: the expected
    output text."""
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
        args, args_plain = [], True
        for i, arg in enumerate(self.args):
            try:
                value, plain = _literal(arg, 0)
            except NotALiteral as exc:
                raise TaskFormatError(
                    f"argument {i} must be a Python literal ({LITERAL_TYPES}): {exc}",
                    field="args",
                ) from None
            args.append(value)
            args_plain = args_plain and plain
        try:
            expected, expected_plain = _literal(self.expected, 0)
        except NotALiteral as exc:
            raise TaskFormatError(
                f"the expected value must be a Python literal ({LITERAL_TYPES}): {exc}",
                field="expected",
            ) from None
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "expected", expected)
        # Whether JSON holds them exactly: the JSON form and the sandbox's fast path.
        object.__setattr__(self, "_plain", (args_plain, expected_plain))

    @property
    def args_are_json(self) -> bool:
        """True if the arguments round-trip through JSON exactly (no tuple, set,
        bytes...): they then cross to the sandbox's child as plain JSON."""
        plain = self.__dict__.get("_plain")
        return plain[0] if plain is not None else is_json_value(self.args)

    def _check_stdio(self) -> None:
        if not isinstance(self.input, str):
            raise TaskFormatError(f"must be text, got {type(self.input).__name__}", field="input")
        if not isinstance(self.expected, str):
            raise TaskFormatError(
                f"a stdio test's expected output must be text, got {type(self.expected).__name__}",
                field="expected",
            )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``kind`` plus the fields this kind takes, each value that
        JSON cannot hold written as ``{"$literal": text}`` (:func:`to_json_value`)."""
        out: dict[str, Any] = {"kind": self.kind}
        required, optional = _KIND_FIELDS[self.kind]
        plain = self.__dict__.get("_plain")
        for name in required + optional:
            value = getattr(self, name)
            if name == "args" and not (plain[0] if plain else is_json_value(value)):
                value = [to_json_value(v) for v in value]
            elif name == "expected" and not (plain[1] if plain else is_json_value(value)):
                value = to_json_value(value)
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Any) -> TestCase:
        """Build a test case from its JSON form, rejecting unknown or missing fields.

        ``{"$literal": text}`` objects in ``args`` and ``expected`` are read back as the
        values they stand for (:func:`from_json_value`)."""
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
        fields = dict(data)
        for name in ("args", "expected"):
            if name in fields:
                try:
                    fields[name] = from_json_value(fields[name])
                except NotALiteral as exc:
                    raise TaskFormatError(f"bad {LITERAL_KEY!r} value: {exc}", field=name) from None
        return cls(**fields)

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

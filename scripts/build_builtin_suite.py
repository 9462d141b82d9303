"""Build the built-in task suite, ``code_env/data/builtin.jsonl``, from its definitions.

The definitions are hand-written tables in ``scripts/builtin_families/``. For every
task this script renders the prompt, runs the reference solution in this process
(trusted code) on the test inputs to compute the hidden expected values, checks the
hand-written expected values of the example tests against the reference, and builds
:class:`code_env.tasks.model.Task` objects so that every field is validated.

It also checks the suite's shape: unique ids, 1-2 example tests and at least 3 more
hidden tests per task, tests whose expected values are not all equal, every family
with at least 5 members in both splits, and hidden tests that tell each task apart
from its siblings of the same signature (so a sibling's solution fails).

Run from the repository root::

    python scripts/build_builtin_suite.py           # write code_env/data/builtin.jsonl
    python scripts/build_builtin_suite.py --check   # exit 1 if the shipped file is stale
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import io
import json
import math
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS_DIR.parent
OUTPUT = REPO_ROOT / "code_env" / "data" / "builtin.jsonl"

for _path in (str(REPO_ROOT), str(SCRIPTS_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from builtin_families import CHECKS, EASY, FAMILIES, MEDIUM, TEST, TRAIN  # noqa: E402
from builtin_families.spec import Family, Fn, Program  # noqa: E402

from code_env.tasks.model import Task, TestCase  # noqa: E402

MIN_EXTRA_TESTS = 3
"""Hidden tests each task has beyond its example tests, at least."""
MIN_FAMILY_SIZE = 5
STDIO_DOC_WIDTH = 66


class SuiteError(ValueError):
    """A definition is wrong: the message names the task and what is wrong."""


@dataclass
class _Built:
    """A built task with what the sibling check needs."""

    task: Task
    signature: str
    check: str
    function: Callable[..., Any] | None
    cases: list[tuple[tuple, Any]]


# --- rendering ------------------------------------------------------------------------


def parse_args(text: str) -> tuple:
    """The argument values written as call source text, e.g. ``"[1, 2], 3"``."""
    return ast.literal_eval(f"({text},)")


def render_call(name: str, args: tuple) -> str:
    """``name(arg, ...)`` with each argument rendered by ``repr``."""
    return f"{name}({', '.join(repr(a) for a in args)})"


def render_function_prompt(
    name: str, params: str, returns: str, doc: str, shown: list[tuple[tuple, Any]]
) -> str:
    """The signature and docstring, with a ``>>>`` example per shown ``(args, value)``."""
    lines = [f"def {name}({params}) -> {returns}:", f'    """{doc}', ""]
    for args, value in shown:
        lines.append(f"    >>> {render_call(name, args)}")
        lines.append(f"    {value!r}")
    lines.append('    """')
    return "\n".join(lines) + "\n"


def _comment(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.splitlines()]


def render_stdio_prompt(doc: str, examples: list[tuple[str, str]]) -> str:
    """The description and examples as comment lines."""
    lines = [f"# {line}" for line in textwrap.wrap(doc, width=STDIO_DOC_WIDTH)]
    for stdin, stdout in examples:
        lines += ["# Example input:", *_comment(stdin), "# Example output:", *_comment(stdout)]
    return "\n".join(lines) + "\n"


def indent_body(body: str) -> str:
    """The body dedented, then indented by four spaces, ending in a newline."""
    lines = textwrap.dedent(body).strip("\n").splitlines()
    return "".join(f"    {line}\n" if line.strip() else "\n" for line in lines)


# --- running references ---------------------------------------------------------------


def _json_form(value: Any) -> Any:
    """``value`` as JSON data (tuples become lists), or SuiteError."""
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SuiteError(f"result {value!r} is not JSON data ({exc})") from None
    return json.loads(text)


def _same(a: Any, b: Any) -> bool:
    """Strict equality of JSON data: 1 != 1.0 != True, dicts regardless of order."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _matches(got: Any, expected: Any, check: str) -> bool:
    """Whether a reference value matches an expected one under the task's check."""
    if check == "approx":
        return (
            isinstance(got, (int, float))
            and not isinstance(got, bool)
            and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12)
        )
    if check == "sorted":
        return isinstance(got, list) and _same(sorted(got), expected)
    return _same(got, expected)


def _load_function(program: str, name: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": f"builtin_{name}"}
    exec(compile(program, f"<builtin/{name}>", "exec"), namespace)
    return namespace[name]


def _call(function: Callable[..., Any], args: tuple) -> Any:
    """Call the reference on a copy of ``args``; its result as JSON data."""
    given = copy.deepcopy(args)
    value = function(*given)
    if given != args:
        raise SuiteError(f"the reference changed its arguments {args!r} to {given!r}")
    return _json_form(value)


def _run_stdio(program: str, stdin: str) -> str:
    """What the reference program prints for ``stdin``, run here as ``__main__``."""
    out = io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(program, "<stdio>", "exec"), {"__name__": "__main__"})
    finally:
        sys.stdin = saved
    return out.getvalue()


# --- building -------------------------------------------------------------------------


def _check_member(task_id: str, split: str, difficulty: str, n_examples: int) -> None:
    if split not in (TRAIN, TEST):
        raise SuiteError(f"{task_id}: split must be {TRAIN!r} or {TEST!r}, got {split!r}")
    if difficulty not in (EASY, MEDIUM):
        raise SuiteError(f"{task_id}: difficulty must be {EASY!r} or {MEDIUM!r}")
    if not 1 <= n_examples <= 2:
        raise SuiteError(f"{task_id}: needs 1 or 2 examples, has {n_examples}")


def _hidden_inputs(task_id: str, shown: list, inputs: list, key: Callable[[Any], str]) -> list:
    """The example inputs followed by the other inputs, with duplicates of examples left out."""
    seen = {key(x) for x in shown}
    extra = []
    for item in inputs:
        if key(item) in seen:
            continue
        seen.add(key(item))
        extra.append(item)
    if len(extra) < MIN_EXTRA_TESTS:
        raise SuiteError(
            f"{task_id}: needs {MIN_EXTRA_TESTS} hidden inputs beyond the examples, "
            f"has {len(extra)}"
        )
    return list(shown) + extra


def _metadata(split: str, difficulty: str, family: Family) -> dict[str, str]:
    return {"source": "builtin", "split": split, "difficulty": difficulty, "family": family.name}


def _assert_code(check: str, call: str, value: Any) -> str:
    if check == "sorted":
        return f"assert sorted({call}) == {value!r}"
    return f"assert abs({call} - {value!r}) < 1e-9"


def build_function_task(family: Family, fn: Fn) -> _Built:
    """One function task from its definition, checked against its reference."""
    task_id = f"builtin/{fn.name}"
    params = fn.params if fn.params is not None else family.params
    returns = fn.returns if fn.returns is not None else family.returns
    inputs = fn.inputs if fn.inputs is not None else family.inputs
    difficulty = fn.difficulty or family.difficulty
    check = family.check
    _check_member(task_id, fn.split, difficulty, len(fn.examples))
    if check not in CHECKS:
        raise SuiteError(f"{task_id}: unknown check {check!r}; valid: {', '.join(CHECKS)}")
    if not fn.name.isidentifier():
        raise SuiteError(f"{task_id}: the name must be an identifier")

    shown = [(parse_args(text), expected) for text, expected in fn.examples]
    prompt = render_function_prompt(fn.name, params, returns, fn.doc, shown)
    body = indent_body(fn.body)
    try:
        function = _load_function(prompt + body, fn.name)
    except Exception as exc:
        raise SuiteError(f"{task_id}: the program does not load: {exc!r}") from exc

    def run(args: tuple) -> Any:
        try:
            return _call(function, args)
        except SuiteError as exc:
            raise SuiteError(f"{task_id}: {render_call(fn.name, args)}: {exc}") from None
        except Exception as exc:
            raise SuiteError(
                f"{task_id}: the reference raised on {render_call(fn.name, args)}: {exc!r}"
            ) from exc

    for args, expected in shown:
        got = run(args)
        if not _matches(got, expected, check):
            raise SuiteError(
                f"{task_id}: the reference gives {render_call(fn.name, args)} == {got!r}, "
                f"the definition says {expected!r}"
            )

    all_args = _hidden_inputs(
        task_id, [a for a, _ in shown], [parse_args(t) for t in inputs], key=repr
    )
    cases = []
    for args in all_args:
        got = run(args)
        cases.append((args, sorted(got) if check == "sorted" else got))
    if len({json.dumps(v, sort_keys=True) for _, v in cases}) < 2:
        raise SuiteError(f"{task_id}: every hidden test expects the same value")

    def test_case(args: tuple, value: Any) -> TestCase:
        if check == "call":
            return TestCase(kind="call", fn=fn.name, args=list(args), expected=value)
        return TestCase(kind="assert", code=_assert_code(check, render_call(fn.name, args), value))

    task = Task(
        task_id=task_id,
        prompt=prompt,
        tests=[test_case(args, value) for args, value in cases],
        example_tests=[test_case(args, value) for args, value in shown],
        entry_point=fn.name,
        setup_code="",
        solutions=[body],
        metadata=_metadata(fn.split, difficulty, family),
        program_prefix=prompt,
    )
    return _Built(task, f"{params} -> {returns}", check, function, cases)


def build_stdio_task(family: Family, program: Program) -> _Built:
    """One standard-input task from its definition, checked against its reference."""
    task_id = f"builtin/{program.name}"
    difficulty = program.difficulty or family.difficulty
    _check_member(task_id, program.split, difficulty, len(program.examples))
    solution = textwrap.dedent(program.solution).strip("\n") + "\n"

    def run(stdin: str) -> str:
        try:
            return _run_stdio(solution, stdin)
        except Exception as exc:
            raise SuiteError(
                f"{task_id}: the reference raised on input {stdin!r}: {exc!r}"
            ) from exc

    for stdin, expected in program.examples:
        got = run(stdin)
        if got != expected:
            raise SuiteError(
                f"{task_id}: the reference prints {got!r} for {stdin!r}, "
                f"the definition says {expected!r}"
            )
    inputs = program.inputs if program.inputs is not None else family.inputs
    stdins = _hidden_inputs(task_id, [i for i, _ in program.examples], inputs, key=str)
    cases = [(stdin, run(stdin)) for stdin in stdins]
    if len({out for _, out in cases}) < 2:
        raise SuiteError(f"{task_id}: every hidden test expects the same output")

    task = Task(
        task_id=task_id,
        prompt=render_stdio_prompt(program.doc, program.examples),
        tests=[TestCase(kind="stdio", input=i, expected=o) for i, o in cases],
        example_tests=[TestCase(kind="stdio", input=i, expected=o) for i, o in program.examples],
        entry_point=None,
        setup_code="",
        solutions=[solution],
        metadata=_metadata(program.split, difficulty, family),
        program_prefix="",
    )
    return _Built(task, "stdio", "stdio", None, [])


def _check_siblings(family: Family, built: list[_Built]) -> None:
    """Each task's hidden tests must reject every sibling with the same signature."""
    for mine in built:
        for other in built:
            if other is mine or other.function is None or other.signature != mine.signature:
                continue
            for args, expected in mine.cases:
                try:
                    got = _call(other.function, args)
                except Exception:
                    break
                if not _matches(got, expected, mine.check):
                    break
            else:
                raise SuiteError(
                    f"{mine.task.task_id}: its hidden tests pass {other.task.task_id}'s "
                    f"solution too; add an input that tells them apart (family {family.name})"
                )


def _check_family(family: Family, built: list[_Built]) -> None:
    splits = Counter(b.task.split for b in built)
    if len(built) < MIN_FAMILY_SIZE:
        raise SuiteError(f"family {family.name}: {len(built)} members, needs {MIN_FAMILY_SIZE}")
    if not splits[TRAIN] or not splits[TEST]:
        raise SuiteError(f"family {family.name}: needs members in both splits, has {dict(splits)}")
    _check_siblings(family, built)


def build_tasks(families: list[Family] | None = None) -> list[Task]:
    """Every task of the suite, in definition order, each checked against its reference.

    Raises:
        SuiteError: A definition is wrong; the message names the task.
    """
    tasks: list[Task] = []
    for family in FAMILIES if families is None else families:
        built = [
            build_stdio_task(family, m)
            if isinstance(m, Program)
            else build_function_task(family, m)
            for m in family.members
        ]
        _check_family(family, built)
        tasks += [b.task for b in built]
    ids = Counter(t.task_id for t in tasks)
    repeated = sorted(i for i, n in ids.items() if n > 1)
    if repeated:
        raise SuiteError(f"task ids used more than once: {', '.join(repeated)}")
    return tasks


def render_jsonl(tasks: list[Task]) -> str:
    """The JSONL text of the tasks: one JSON object per line."""
    return "".join(json.dumps(t.to_dict(), ensure_ascii=False) + "\n" for t in tasks)


def summary(tasks: list[Task]) -> str:
    """Counts per split, difficulty, test kind and family, one line each."""

    def tally(key: Callable[[Task], str]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(Counter(map(key, tasks)).items()))

    return "\n".join(
        [
            f"{len(tasks)} tasks",
            f"split       {tally(lambda t: t.metadata['split'])}",
            f"difficulty  {tally(lambda t: t.metadata['difficulty'])}",
            f"test kind   {tally(lambda t: t.tests[0].kind)}",
            f"families    {tally(lambda t: t.metadata['family'])}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Write the suite, or with ``--check`` compare it with the shipped file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory and exit 1 if the shipped file differs, without writing",
    )
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help=f"the file to write or check ({OUTPUT})"
    )
    args = parser.parse_args(argv)
    try:
        tasks = build_tasks()
    except SuiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = render_jsonl(tasks)
    if args.check:
        shipped = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
        if shipped == text:
            print(f"{args.output} is up to date ({len(tasks)} tasks)")
            return 0
        if shipped is None:
            print(f"error: {args.output} is missing", file=sys.stderr)
        else:
            old = shipped.splitlines()
            new = text.splitlines()
            line = next(
                (i for i, (a, b) in enumerate(zip(old, new, strict=False), start=1) if a != b),
                min(len(old), len(new)) + 1,
            )
            where = f"line {line}"
            if line <= len(new):
                where += f", {json.loads(new[line - 1])['task_id']}"
            print(
                f"error: {args.output} differs from the definitions (first at {where}; "
                f"{len(old)} lines shipped, {len(new)} built)",
                file=sys.stderr,
            )
        print("run: python scripts/build_builtin_suite.py", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    print(summary(tasks))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Values between the parent and the child: nothing a program sends can crash a
worker or the caller, Python-literal test values (from Python and from JSONL), and
compile warnings that are kept instead of printed (docs/sandbox.md, docs/tasks.md)."""

from __future__ import annotations

import json
import os
import warnings

import pytest

from code_env import Task, TaskFormatError, TestCase, load_tasks
from code_env.sandbox import Limits, Outcome, Sandbox, values_equal
from code_env.sandbox.harness import FrameReader, decode_value, write_frame
from code_env.sandbox.judge import DecodeError, assemble, judge_test
from code_env.sandbox.plan import Check, plan_test
from code_env.tasks import write_jsonl
from code_env.tasks.model import (
    from_json_value,
    is_json_value,
    literal_text,
    read_literal,
    to_json_value,
)

LIMITS = Limits(timeout_s=2.0)
IDENTITY = "def f(x):\n    return x\n"
CONSTANT = "def f(x):\n    return 0\n"
DEEP = "def f():\n    x = []\n    for _ in range(100000):\n        x = [x]\n    return x\n"


def call_task(*cases, fn="f", task_id="t/values") -> Task:
    tests = [TestCase(kind="call", fn=fn, args=list(args), expected=exp) for args, exp in cases]
    return Task(task_id=task_id, prompt="p", tests=tests, entry_point=fn)


ONE_CALL = call_task(([], 1))
CORRECT_ONE = "def f():\n    return 1\n"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=1, limits=LIMITS) as sb:
        yield sb


def _worker_pid(sb: Sandbox) -> int:
    (worker,) = sb._workers
    assert worker is not None
    return worker.pid


# --- 1. nothing a program produces crashes a worker or the front -------------------------


@pytest.mark.parametrize("backend", ["fork", "subprocess"])
def test_deeply_nested_return_is_graded_and_the_worker_lives(backend, capfd):
    with Sandbox(workers=1, limits=LIMITS, backend=backend) as sb:
        assert sb.run(CORRECT_ONE, ONE_CALL).passed
        pid = _worker_pid(sb)
        deep = sb.run(DEEP, ONE_CALL)
        assert deep.outcome is Outcome.FAILED_TEST, deep
        assert "nested too deeply" in deep.tests[0].message
        again = sb.run("def f():\n    return 1 + 0\n", ONE_CALL)
        assert again.passed, again
        assert sb.stats.worker_restarts == 0
        assert _worker_pid(sb) == pid
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


# What a program may write to the result channel (fd 3) itself, then die without a
# result of its own: each is unreadable or malformed, and none may crash anything.
FORGED_LINES = {
    "deep_json": b"[" * 100_000 + b"\n",
    "deep_values": b'{"ev": "result", "i": 0, "values": [' + b"[" * 3000 + b"]" * 3000 + b"]}\n",
    "deep_tags": b'{"ev": "result", "i": 0, "values": [' + b'{"t": [' * 300 + b"]}" * 300 + b"]}\n",
    "not_utf8": b'{"ev": "result", "i": 0, "values": ["\xff\xfe"]}\n',
    "lone_surrogate": b'{"ev": "result", "i": 0, "values": ["\\ud800"]}\n',
    "not_an_object": b"[1, 2, 3]\n",
    "wrong_types": b'{"ev": "result", "i": "0", "error": ["x"]}\n',
    "float_index": b'{"ev": "result", "i": 0.0, "values": [1]}\n',
    "error_not_text": b'{"ev": "import", "error": {"a": 1}}\n',
    "huge_int": b'{"ev": "result", "i": 0, "values": [' + b"9" * 5000 + b"]}\n",
    "bad_tag": b'{"ev": "result", "i": 0, "values": [{"s": [[1]]}]}\n',
    "bad_hex": b'{"ev": "result", "i": 0, "values": [{"b": "zz"}]}\n',
    "nan_token": b'{"ev": "result", "i": 0, "values": [NaN]}\n',
    "unknown_kind": b'{"ev": "surprise"}\n',
}


@pytest.mark.parametrize("name", sorted(FORGED_LINES))
def test_forged_result_lines_become_verdicts(name, capfd):
    line = FORGED_LINES[name]
    program = f"import os\ndef f():\n    os.write(3, {line!r})\n    os._exit(0)\n"
    for backend in ("fork", "subprocess"):
        with Sandbox(workers=1, limits=LIMITS, backend=backend) as sb:
            result = sb.run(program, ONE_CALL)
            assert not result.passed, (backend, result)
            assert result.outcome in (Outcome.RUNTIME_ERROR, Outcome.FAILED_TEST), result
            assert sb.run(CORRECT_ONE, ONE_CALL).passed
            assert sb.stats.worker_restarts == 0
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_unreadable_message_without_a_result_is_a_protocol_error(sandbox):
    program = "import os\ndef f():\n    os.write(3, b'[' * 100000 + b'\\n')\n    os._exit(0)\n"
    result = sandbox.run(program, ONE_CALL)
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "protocol"), result


def test_forged_line_beside_a_real_result_leaves_the_value_to_decide(sandbox):
    # The forged line is ignored; the program's own value is still judged.
    writes = "import os\nos.write(3, b'[' * 100000 + b'\\n')\n"
    assert sandbox.run(writes + CORRECT_ONE, ONE_CALL).passed
    wrong = sandbox.run(writes + "def f():\n    return 2\n", ONE_CALL)
    assert wrong.outcome is Outcome.FAILED_TEST


def test_strings_with_lone_surrogates_cross_intact(capfd):
    task = call_task(([], "a\ud800b"), ([], "x"), task_id="t/surrogate")
    with Sandbox(workers=1, limits=LIMITS) as sb:
        result = sb.run("def f():\n    return 'a\\ud800b'\n", task)
        assert [t.passed for t in result.tests] == [True, False], result
        streamed = sb.run("def f():\n    return 'a\\ud800b'\n", task, stop_on_failure=True)
        assert [t.passed for t in streamed.tests] == [True, False], streamed
        assert sb.stats.worker_restarts == 0
    assert capfd.readouterr() == ("", "")


def test_forged_progress_mark_is_not_a_crash(capfd):
    # The child shares a page with the worker saying which test runs since when; a
    # NaN there once made the worker's deadline arithmetic raise.
    program = (
        "import struct, sys, time\n"
        "def f():\n"
        "    harness = sys.modules.get('__main__')\n"
        "    page = getattr(harness, 'PROGRESS', None)\n"
        "    if page is not None:\n"
        "        struct.pack_into('<qd', page, 0, 0, float('nan'))\n"
        "    time.sleep(0.3)\n"
        "    return 2\n"
    )
    with Sandbox(workers=1, limits=LIMITS) as sb:
        result = sb.run(program, ONE_CALL)
        assert not result.passed
        assert sb.run(CORRECT_ONE, ONE_CALL).passed
        assert sb.stats.worker_restarts == 0
    assert capfd.readouterr() == ("", "")


def test_stop_on_failure_streams_unreadable_values_without_crashing(capfd):
    task = call_task(([], 1), ([], 1), task_id="t/stream")
    with Sandbox(workers=1, limits=LIMITS) as sb:
        result = sb.run(DEEP, task, stop_on_failure=True)
        assert not result.passed
        assert sb.run(CORRECT_ONE, task, stop_on_failure=True).passed
        assert sb.stats.worker_restarts == 0
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize(
    "data",
    [
        {"s": [[1]]},
        {"b": "zz"},
        {"c": [1]},
        {"i": "xyz"},
        {"x": 1},
        {"d": [[1]]},
        {"t": 5},
        {"t": [], "s": []},
    ],
)
def test_decode_value_raises_only_decode_error(data):
    with pytest.raises(DecodeError):
        decode_value(data)


def test_decode_value_and_judge_are_total_on_deep_data():
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    with pytest.raises(DecodeError):
        decode_value(deep)
    check = Check(kind="value", expected=1, seq_equal=True)
    verdict = judge_test(0, {"ev": "result", "i": 0, "values": [deep]}, check, 1e-6, 1e-9)
    assert not verdict.passed and verdict.error is None and "malformed" in verdict.message
    # a value deep enough to pass decoding but too deep to compare or print
    nested: list = [1]
    for _ in range(110):
        nested = [nested]
    verdict = judge_test(0, {"ev": "result", "i": 0, "values": [nested]}, check, 1e-6, 1e-9)
    assert not verdict.passed


def _raw_frame(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def test_frame_reader_turns_unreadable_frames_into_errors(tmp_path):
    path = tmp_path / "frames"
    deep = b"[" * 100_000
    with open(path, "wb") as fh:
        fh.write(_raw_frame(b'{"id":7,"ev":"batch","events":[' + deep))
        fh.write(_raw_frame(b'{"ev":"result","i":0,"values":[' + deep + b'],"id":9}'))
        fh.write(_raw_frame(b"\xff\xfe not json"))
        fh.write(_raw_frame(b"[1, 2]"))
        fh.flush()
        write_frame(
            fh.fileno(), {"id": 3, "ev": "batch", "events": [{"ev": "end", "text": "\ud800"}]}
        )
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = FrameReader(fd)
        messages = []
        while (message := reader.read_blocking()) is not None:
            messages.append(message)
    finally:
        os.close(fd)
    batch, event, junk, not_object, good = messages
    assert batch["id"] == 7 and batch["ev"] == "batch"
    assert batch["events"][0]["ev"] == "sandbox_error"
    result = assemble(batch["events"], [Check(kind="value", expected=1)])
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "sandboxerror")
    assert (event["id"], event["ev"]) == (9, "unreadable")
    result = assemble([event], [Check(kind="value", expected=1)])
    assert (result.outcome, result.subtype) == (Outcome.RUNTIME_ERROR, "protocol")
    assert junk["ev"] == "unreadable" and not_object["ev"] == "unreadable"
    assert good == {"id": 3, "ev": "batch", "events": [{"ev": "end", "text": "\ud800"}]}


# --- 2. Python-literal test values -------------------------------------------------------

LITERALS = {
    "tuple": (1, "a", (2.5, None)),
    "empty_tuple": (),
    "one_tuple": (1,),
    "set": {3, 1, 2},
    "empty_set": set(),
    "str_set": {"pear", "apple", "fig"},
    "frozenset": frozenset({1, (2, 3)}),
    "empty_frozenset": frozenset(),
    "nested_frozenset": frozenset({frozenset({1}), frozenset()}),
    "bytes": b"\x00ab\xff",
    "int_keys": {1: "a", 2: "b"},
    "tuple_keys": {(1, 2): b"x", frozenset({3}): None, 4.5: {1, 2}},
    "complex": 1 + 2j,
    "negative_complex": complex(-1.5, -0.25),
    "none": None,
    "bool": True,
    "int": -7,
    "float": 2.5,
    "str": "héllo",
    "list_of_mixed": [1, (2, {3}), {"a": (4,)}],
    "str_keys_tuple_value": {"a": (1, 2)},
    "literal_key_dict": {"$literal": "(1, 2)"},
    "long_int": 7**6000,
    "surrogate": "a\ud800",
}
SHAPE = """
def shape(x):
    if isinstance(x, (list, tuple)):
        return [type(x).__name__, [shape(v) for v in x]]
    if isinstance(x, dict):
        return ["dict", sorted((repr(k), shape(v)) for k, v in x.items())]
    if isinstance(x, (set, frozenset)):
        return [type(x).__name__, sorted(repr(v) for v in x)]
    return type(x).__name__
"""
_namespace: dict = {}
exec(SHAPE, _namespace)
shape = _namespace["shape"]


def literal_task(value, task_id="t/literal") -> Task:
    """``f(value) == value`` and ``g(value) == shape(value)``: the second sees the
    exact types the argument arrived with."""
    return Task(
        task_id=task_id,
        prompt="p",
        entry_point="f",
        tests=[
            TestCase(kind="call", fn="f", args=[value], expected=value),
            TestCase(kind="call", fn="g", args=[value], expected=shape(value)),
        ],
    )


GOOD = IDENTITY + SHAPE + "def g(x):\n    return shape(x)\n"
WRONG = CONSTANT + SHAPE + "def g(x):\n    return shape(x)\n"


@pytest.mark.parametrize("name", sorted(LITERALS))
def test_literal_values_from_python_and_from_jsonl(name, sandbox, tmp_path):
    value = LITERALS[name]
    task = literal_task(value, task_id=f"t/{name}")
    test = task.tests[0]
    assert test.args == [value] and test.expected == value
    assert type(test.expected) is type(value) and shape(test.expected) == shape(value)
    # JSON form: plain where JSON holds the value, a $literal otherwise
    encoded = json.dumps(test.to_dict(), ensure_ascii=False)
    assert ("$literal" in encoded) == (not is_json_value(value))
    assert TestCase.from_dict(json.loads(encoded)) == test
    # a JSONL file round-trips it with its exact type
    path = tmp_path / "tasks.jsonl"
    write_jsonl([task], path)
    (loaded,) = load_tasks(path)
    assert loaded == task
    for got, want in zip(loaded.tests, task.tests, strict=True):
        assert shape(got.args) == shape(want.args) and shape(got.expected) == shape(want.expected)
    write_jsonl([loaded], tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == path.read_bytes()
    # graded: the right program passes (with the argument's exact types), a wrong one fails
    for graded in (task, loaded):
        good = sandbox.run(GOOD, graded)
        assert good.passed, (good.message, good.tests)
        wrong = sandbox.run(WRONG, graded)
        assert wrong.outcome is Outcome.FAILED_TEST, wrong


def test_arguments_cross_as_data_never_pickle():
    plain = plan_test(TestCase(kind="call", fn="f", args=[[1, 2], {"a": 1}], expected=1))
    assert plain.instruction == {"op": "call", "fn": "f", "args": '[[1, 2], {"a": 1}]'}
    tagged = plan_test(TestCase(kind="call", fn="f", args=[(1, 2), {1: b"x"}], expected=1))
    assert "args" not in tagged.instruction
    assert json.loads(tagged.instruction["targs"]) == [{"t": [1, 2]}, {"d": [[1, {"b": "78"}]]}]
    assert [decode_value(a) for a in json.loads(tagged.instruction["targs"])] == [
        (1, 2),
        {1: b"x"},
    ]


def test_a_set_compares_in_any_order(sandbox):
    items = [100, -5, 3, 17, 2, 9, 64, 1]
    task = call_task(
        ([items], set(items)),
        ([items], frozenset(items)),
        ([["b", "a", "c"]], {"c", "a", "b"}),
        task_id="t/sets",
    )
    program = "def f(xs):\n    out = set()\n    for x in reversed(xs):\n        out.add(x)\n    return out\n"
    assert sandbox.run(program, task).passed
    missing = sandbox.run("def f(xs):\n    return set(xs[1:])\n", task)
    assert missing.outcome is Outcome.FAILED_TEST
    assert values_equal({3, 1, 2}, {1, 2, 3}) and not values_equal({1, 2}, {1, 2, 3})


def test_existing_comparison_rules_stay(sandbox):
    # in call tests tuples equal lists, and floats (inside containers too) and the
    # parts of complex numbers compare with a tolerance; set items and dict keys do not
    task = call_task(
        ([0], (1, [2, 3])),
        ([1], [0.30000000001, {"a": (0.1 + 0.2,)}]),
        ([2], {(1, 2): 0.5}),
        ([3], 1 + 2j),
        ([4], {0.3}),
        ([5], {0.3: 1}),
        task_id="t/rules",
    )
    program = (
        "def f(n):\n"
        "    return [[1, (2, 3)], (0.3, {'a': [0.3]}), {(1, 2): 0.5000000001},\n"
        "            1.0000000001 + 2j, {0.1 + 0.2}, {0.1 + 0.2: 1}][n]\n"
    )
    result = sandbox.run(program, task)
    assert [t.passed for t in result.tests] == [True] * 4 + [False] * 2, result.tests
    assert values_equal(1 + 2j, 1.0000000001 + 2.0000000001j)
    assert not values_equal(1 + 2j, 1 + 2.1j) and not values_equal(b"a", "a")
    assert values_equal((1, 2), [1, 2], seq_equal=True) and not values_equal((1, 2), [1, 2])


def test_jsonl_with_literals_written_by_hand(tmp_path, sandbox):
    line = {
        "task_id": "t/hand",
        "prompt": "p",
        "entry_point": "f",
        "tests": [
            {"kind": "call", "fn": "f", "args": [{"$literal": "(1, 2)"}], "expected": [1, 2]},
            {
                "kind": "call",
                "fn": "f",
                "args": [{"$literal": "frozenset({1, 2})"}],
                "expected": {"$literal": "{2, 1}"},
            },
            {"kind": "call", "fn": "f", "args": [{"a": {"$literal": "b'x'"}}], "expected": 1},
        ],
    }
    path = tmp_path / "hand.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    (task,) = load_tasks(path)
    assert task.tests[0].args == [(1, 2)] and type(task.tests[0].args[0]) is tuple
    assert task.tests[1].args == [frozenset({1, 2})] and task.tests[1].expected == {1, 2}
    assert task.tests[2].args == [{"a": b"x"}]
    result = sandbox.run("def f(x):\n    return 1 if isinstance(x, dict) else set(x)\n", task)
    # (1, 2) -> {1, 2} is not [1, 2]; frozenset -> {1, 2} passes; the dict gives 1
    assert [t.passed for t in result.tests] == [False, True, True]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{\"$literal\": \"__import__('os').system('true')\"}", "Call"),
        ('{"$literal": 5}', "string"),
        ('{"$literal": "(1, "}', "not a Python literal"),
        ('{"$literal": "float(\'nan\')"}', "Call"),
        ('{"$literal": "1e999"}', "not a literal"),
        ('{"$literal": "x"}', "Name"),
    ],
)
def test_bad_literal_text_names_the_file_line_and_field(tmp_path, text, words):
    test = '{"kind": "call", "fn": "f", "args": [], "expected": ' + text + "}"
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n" + '{"task_id": "t/x", "prompt": "p", "tests": [' + test + "]}\n", encoding="utf-8"
    )
    with pytest.raises(TaskFormatError) as info:
        load_tasks(path)
    assert info.value.line == 2 and info.value.field == "tests[0].expected"
    assert words in str(info.value)


def test_jsonl_reader_is_total(tmp_path):
    bad = tmp_path / "bytes.jsonl"
    bad.write_bytes(b'{"task_id": "t/\xff"}\n')
    with pytest.raises(TaskFormatError, match="not UTF-8"):
        load_tasks(bad)
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(TaskFormatError, match="nested too deeply"):
        load_tasks(deep)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), complex(float("inf"), 0), object(), bytearray(b"x")]
)
def test_non_literals_are_refused(value):
    with pytest.raises(TaskFormatError) as info:
        TestCase(kind="call", fn="f", args=[value], expected=1)
    assert info.value.field == "args"
    with pytest.raises(TaskFormatError) as info:
        TestCase(kind="call", fn="f", args=[], expected=[value])
    assert info.value.field == "expected"


def test_subclasses_become_their_base_type():
    from collections import Counter, OrderedDict, namedtuple

    point = namedtuple("point", "x y")
    test = TestCase(
        kind="call", fn="f", args=[point(1, 2)], expected=[Counter("aab"), OrderedDict(a=1)]
    )
    assert type(test.args[0]) is tuple and test.args == [(1, 2)]
    assert [type(v) for v in test.expected] == [dict, dict]
    assert test.expected == [{"a": 2, "b": 1}, {"a": 1}]


def test_literal_text_is_deterministic_and_reads_back():
    assert literal_text({"b", "a", "c"}) == "{'a', 'b', 'c'}"
    assert literal_text({3, -1, 2.5}) == "{-1, 2.5, 3}"
    assert literal_text(frozenset()) == "frozenset()" and literal_text(set()) == "set()"
    for value in LITERALS.values():
        assert read_literal(literal_text(value)) == value
        assert from_json_value(json.loads(json.dumps(to_json_value(value)))) == value
    # plain JSON stays as it is
    plain = {"a": [1, 2.5, None, "x", {"b": True}]}
    assert to_json_value(plain) == plain and is_json_value(plain)
    assert to_json_value([1, (2,)]) == [1, {"$literal": "(2,)"}]


def test_shipped_jsonl_is_unchanged_when_written_back(tmp_path):
    from code_env.tasks.jsonl import read_jsonl

    source = os.path.join(os.path.dirname(__file__), "..", "code_env", "data", "builtin.jsonl")
    write_jsonl(read_jsonl(source), tmp_path / "builtin.jsonl")
    with open(source, "rb") as fh:
        assert (tmp_path / "builtin.jsonl").read_bytes() == fh.read()


# --- 3. compile warnings are kept, never printed -----------------------------------------

WARNING_PROGRAM = 'def f(x):\n    y = 1if x else 2\n    z = x is 1\n    return "\\d"\n'


@pytest.mark.parametrize("backend", ["fork", "subprocess"])
def test_compile_warnings_are_never_printed(backend, capfd):
    task = call_task(([1], "\\d"), task_id="t/warn")
    with Sandbox(workers=1, limits=LIMITS, backend=backend) as sb:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # even a caller that turns warnings into errors
            result = sb.run(WARNING_PROGRAM, task)
        assert result.passed, result
        found = result.extra.get("compile_warnings", [])
        assert any("SyntaxWarning: invalid decimal literal" in w for w in found), found
        assert any(w.startswith("<program>:3: SyntaxWarning") for w in found), found
        assert "Warning" not in result.stderr
        broken = sb.run("x = 1if True else 2\ndef f(:\n", task)
        assert broken.outcome is Outcome.COMPILE_ERROR
        clean = sb.run("def f(x):\n    return '\\\\d'\n", task)
        assert clean.passed and "compile_warnings" not in clean.extra
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_warnings_of_a_running_program_are_its_own_stderr(sandbox):
    program = "import warnings\ndef f(x):\n    warnings.warn('careful')\n    return '\\\\d'\n"
    result = sandbox.run(program, call_task(([1], "\\d"), task_id="t/runtime-warning"))
    assert result.passed and "careful" in result.stderr

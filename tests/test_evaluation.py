"""agents.common.evaluation: the pass@k estimator, grading completions, reports and plots."""

from __future__ import annotations

import json
import math

import pytest

from agents.common.evaluation import (
    EvalReport,
    evaluate_completions,
    outcome_shares,
    pass_at_k,
    plot_outcome_shares,
    plot_pass_at_k,
)
from code_env import load_tasks
from code_env.sandbox import ExecutionResult, Outcome, Sandbox
from code_env.scoring import Scorer

WRONG = "    return None\n"  # runs, returns the wrong value: failed_test
BROKEN = "    return (\n"  # does not compile: compile_error
RAISES = "    raise ValueError('boom')\n"  # raises in every test: runtime_error

EASY = ("builtin/sum_even", "builtin/sum_odd")
MEDIUM = ("builtin/index_of_first_even", "builtin/index_of_first_odd")


def result(outcome: Outcome) -> ExecutionResult:
    return ExecutionResult(outcome=outcome, subtype=None, n_passed=0, n_tests=1)


# --- pass@k ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 1, 1, 0.2),
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (5, 1, 5, 1.0),
        (10, 3, 1, 0.3),
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (16, 0, 1, 0.0),
        (16, 0, 16, 0.0),
        (16, 16, 1, 1.0),
        (16, 12, 5, 1.0),  # n - c = 4 < k
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
    ],
)
def test_pass_at_k_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_the_binomial_form_for_every_small_case() -> None:
    for n in range(1, 21):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - math.comb(n - c, k) / math.comb(n, k)
                got = pass_at_k(n, c, k)
                assert got == pytest.approx(exact, rel=1e-9, abs=1e-12), (n, c, k)
                assert isinstance(got, float)
                assert 0.0 <= got <= 1.0


def test_pass_at_k_is_exact_at_the_edges() -> None:
    assert pass_at_k(20, 0, 7) == 0.0
    assert pass_at_k(20, 20, 7) == 1.0
    assert pass_at_k(20, 14, 7) == 1.0  # n - c = 6 < 7


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ((5, 6, 1), "c=6"),
        ((5, -1, 1), "c=-1"),
        ((5, 1, 0), "k=0"),
        ((5, 1, 6), "k=6"),
        ((0, 0, 1), "n=0"),
        ((5.0, 1, 1), "n must be an integer, got 5.0"),
        ((5, 1.5, 1), "c must be an integer, got 1.5"),
        ((5, 1, "2"), "k must be an integer, got '2'"),
        ((5, True, 1), "c must be an integer, got True"),
    ],
)
def test_pass_at_k_rejects_bad_arguments(args: tuple, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        pass_at_k(*args)


# --- outcome shares -------------------------------------------------------------------


def test_outcome_shares_counts_each_outcome() -> None:
    results = [result(Outcome.PASSED)] * 2 + [
        result(Outcome.FAILED_TEST),
        result(Outcome.COMPILE_ERROR),
    ]
    shares = outcome_shares(results)
    assert list(shares) == ["compile_error", "runtime_error", "failed_test", "passed"]
    assert shares == {
        "compile_error": 0.25,
        "runtime_error": 0.0,
        "failed_test": 0.25,
        "passed": 0.5,
    }
    assert outcome_shares(iter(results)) == shares  # any iterable, consumed once


def test_outcome_shares_of_nothing_is_all_zeros() -> None:
    assert outcome_shares([]) == dict.fromkeys(
        ("compile_error", "runtime_error", "failed_test", "passed"), 0.0
    )


# --- grading in a real sandbox --------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(workers=2)
    yield sb
    sb.close()


@pytest.fixture(scope="module")
def tasks():
    by_id = {t.task_id: t for t in load_tasks("builtin")}
    return [by_id[tid] for tid in (*EASY, *MEDIUM)]


@pytest.fixture(scope="module")
def completions(tasks):
    """Five samples and one greedy completion per task, with hand-known outcomes."""
    sol = {t.task_id: t.solutions[0] for t in tasks}
    e1, e2, m1, m2 = (t.task_id for t in tasks)
    samples = {
        e1: [sol[e1], sol[e1], WRONG, WRONG, WRONG],  # c = 2
        e2: [sol[e2], BROKEN, BROKEN, RAISES, WRONG],  # c = 1
        m1: [WRONG] * 5,  # c = 0
        m2: [sol[m2]] * 5,  # c = 5
    }
    greedy = {e1: sol[e1], e2: WRONG, m1: BROKEN, m2: sol[m2]}
    return samples, greedy


@pytest.fixture(scope="module")
def report(tasks, completions, sandbox) -> EvalReport:
    samples, greedy = completions
    return evaluate_completions(tasks, samples, greedy, scorer_or_sandbox=sandbox, ks=(1, 2, 5))


def test_report_pass_at_k_and_greedy(report: EvalReport) -> None:
    assert report.n_tasks == 4
    assert report.n_samples == 5
    assert report.ks == (1, 2, 5)
    assert [r["c"] for r in report.per_task] == [2, 1, 0, 5]
    # pass@1 = c/n per task: 0.4, 0.2, 0, 1
    assert report.pass_at_k[1] == pytest.approx((0.4 + 0.2 + 0.0 + 1.0) / 4)
    # pass@2: 1 - C(3,2)/C(5,2) = 0.7, 1 - C(4,2)/C(5,2) = 0.4, 0, 1
    assert report.pass_at_k[2] == pytest.approx((0.7 + 0.4 + 0.0 + 1.0) / 4)
    assert report.pass_at_k[5] == pytest.approx(3 / 4)
    assert report.greedy_pass_at_1 == pytest.approx(2 / 4)
    assert [r["greedy_passed"] for r in report.per_task] == [True, False, False, True]


def test_report_outcome_shares(report: EvalReport) -> None:
    # 20 samples: 8 passed, 9 failed a test, 2 did not compile, 1 raised.
    assert report.outcome_shares == pytest.approx(
        {"compile_error": 2 / 20, "runtime_error": 1 / 20, "failed_test": 9 / 20, "passed": 8 / 20}
    )
    assert sum(report.outcome_shares.values()) == pytest.approx(1.0)
    assert report.greedy_outcome_shares == pytest.approx(
        {"compile_error": 0.25, "runtime_error": 0.0, "failed_test": 0.25, "passed": 0.5}
    )
    second = report.per_task[1]
    assert second["outcomes"] == {
        "compile_error": 2,
        "runtime_error": 1,
        "failed_test": 1,
        "passed": 1,
    }
    assert second["mean_reward"] is None  # graded by a bare Sandbox: no reward


def test_report_splits_by_difficulty(report: EvalReport) -> None:
    assert list(report.by_difficulty) == ["easy", "medium"]
    easy, medium = report.by_difficulty["easy"], report.by_difficulty["medium"]
    assert (easy.n_tasks, medium.n_tasks) == (2, 2)
    assert [r["task_id"] for r in easy.per_task] == list(EASY)
    assert easy.pass_at_k[1] == pytest.approx(0.3)
    assert easy.pass_at_k[5] == pytest.approx(1.0)
    assert medium.pass_at_k[1] == pytest.approx(0.5)
    assert medium.pass_at_k[5] == pytest.approx(0.5)
    assert easy.greedy_pass_at_1 == medium.greedy_pass_at_1 == pytest.approx(0.5)
    assert easy.outcome_shares["compile_error"] == pytest.approx(2 / 10)
    assert medium.outcome_shares["compile_error"] == 0.0
    assert medium.greedy_outcome_shares["compile_error"] == pytest.approx(0.5)
    assert easy.by_difficulty == {} and medium.by_difficulty == {}


def test_report_without_difficulties_has_no_split(tasks, completions, sandbox) -> None:
    from dataclasses import replace

    plain = [replace(t, metadata={}) for t in tasks[:2]]
    samples, _ = completions
    rep = evaluate_completions(
        plain, {t.task_id: samples[t.task_id] for t in plain}, scorer_or_sandbox=sandbox
    )
    assert rep.by_difficulty == {}
    assert rep.greedy_pass_at_1 is None and rep.greedy_outcome_shares is None
    assert rep.pass_at_k[1] == pytest.approx(0.3)
    assert rep.per_task[0]["difficulty"] is None


def test_report_to_dict_table_and_summary(report: EvalReport) -> None:
    data = json.loads(json.dumps(report.to_dict()))
    assert data["n_tasks"] == 4 and data["ks"] == [1, 2, 5]
    assert data["pass_at_k"]["5"] == pytest.approx(0.75)
    assert data["by_difficulty"]["easy"]["pass_at_k"]["1"] == pytest.approx(0.3)
    assert data["per_task"][0]["task_id"] == EASY[0]

    table = report.table("demo")
    lines = table.splitlines()
    assert lines[0] == "demo"
    assert "easy (2)" in table and "medium (2)" in table
    row = {line.split("  ")[0].strip(): line.split()[-3:] for line in lines[3:]}
    assert row["greedy pass@1"] == ["50.0", "50.0", "50.0"]
    assert row["pass@1"] == ["40.0", "30.0", "50.0"]
    assert row["pass@5"] == ["75.0", "100.0", "50.0"]
    assert row["samples: failed test"] == ["45.0", "40.0", "50.0"]
    assert row["greedy: compile error"] == ["25.0", "0.0", "50.0"]

    summary = report.summary()
    assert "\n" not in summary
    assert "greedy pass@1 50.0%" in summary and "pass@5 75.0%" in summary


def test_example_tests_mode(tasks, sandbox) -> None:
    # Hard-coding the example's answer passes the example test, not the hidden ones.
    sum_even = tasks[0]
    (example,) = sum_even.example_tests
    cheat = f"    return {example.expected!r}\n"
    samples = {sum_even.task_id: [cheat, WRONG]}
    hidden = evaluate_completions(
        [sum_even], samples, {sum_even.task_id: cheat}, scorer_or_sandbox=sandbox, ks=(1,)
    )
    shown = evaluate_completions(
        [sum_even],
        samples,
        {sum_even.task_id: cheat},
        scorer_or_sandbox=sandbox,
        ks=(1,),
        tests="example",
    )
    assert hidden.pass_at_k[1] == 0.0 and hidden.greedy_pass_at_1 == 0.0
    assert shown.pass_at_k[1] == pytest.approx(0.5) and shown.greedy_pass_at_1 == 1.0


def test_example_mode_needs_example_tests(tasks, sandbox) -> None:
    from dataclasses import replace

    bare = replace(tasks[0], example_tests=[])
    with pytest.raises(ValueError, match=f"task {bare.task_id!r} has no example tests"):
        evaluate_completions(
            [bare], {bare.task_id: [WRONG]}, scorer_or_sandbox=sandbox, ks=(1,), tests="example"
        )


def test_scorer_grades_the_same_and_gives_rewards(tasks, completions, sandbox, report) -> None:
    samples, greedy = completions
    scorer = Scorer(tasks, reward="coderl", sandbox=sandbox)
    rep = evaluate_completions(tasks, samples, greedy, scorer_or_sandbox=scorer, ks=(1, 2, 5))
    assert rep.pass_at_k == pytest.approx(report.pass_at_k)
    assert rep.outcome_shares == pytest.approx(report.outcome_shares)
    rewards = [r["mean_reward"] for r in rep.per_task]
    # coderl: +1 passed, -0.3 failed test, -0.6 runtime error, -1 compile error
    assert rewards == pytest.approx([(2 - 3 * 0.3) / 5, (1 - 2 - 0.6 - 0.3) / 5, -0.3, 1.0])


def test_unequal_sample_counts_are_an_error(tasks, completions, sandbox) -> None:
    samples, _ = completions
    short = dict(samples)
    short[MEDIUM[0]] = samples[MEDIUM[0]][:4]
    with pytest.raises(ValueError, match=rf"{MEDIUM[0]}.* has 4.*{EASY[0]}.* has 5"):
        evaluate_completions(tasks, short, scorer_or_sandbox=sandbox)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s, g: ({**s, "builtin/nope": ["x"]}, g, {}), "unknown task_id 'builtin/nope'"),
        (lambda s, g: ({k: v for k, v in s.items() if k != MEDIUM[1]}, g, {}), MEDIUM[1]),
        (lambda s, g: (s, {k: v for k, v in g.items() if k != EASY[1]}, {}), EASY[1]),
        (lambda s, g: (s, g, {"ks": (1, 8)}), "pass@8 needs at least 8 samples"),
        (lambda s, g: (s, g, {"ks": (0,)}), "at least 1, got 0"),
        (lambda s, g: (s, g, {"ks": ()}), "at least one k"),
        (lambda s, g: (s, g, {"tests": "secret"}), "'hidden' or 'example'"),
    ],
)
def test_bad_inputs_are_errors(tasks, completions, sandbox, change, message) -> None:
    samples, greedy, kwargs = change(*completions)
    with pytest.raises(ValueError, match=message):
        evaluate_completions(tasks, samples, greedy, scorer_or_sandbox=sandbox, **kwargs)


def test_neither_scorer_nor_sandbox_is_a_type_error(tasks, completions) -> None:
    samples, _ = completions
    with pytest.raises(TypeError, match=r"must be a code_env\.scoring\.Scorer"):
        evaluate_completions(tasks, samples, scorer_or_sandbox="sandbox")  # type: ignore[arg-type]


# --- plots ----------------------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plots_write_png_files(report: EvalReport, tmp_path) -> None:
    pytest.importorskip("matplotlib", reason="plots need matplotlib (the bench extra)")
    reports = {"warm-start": report.by_difficulty["easy"], "RL": report}
    shares = plot_outcome_shares(reports, tmp_path / "plots" / "shares.png", title="Outcomes")
    passk = plot_pass_at_k(reports, str(tmp_path / "passk.png"))
    for path in (shares, passk):
        assert path.is_file() and path.stat().st_size > 1000
        assert path.read_bytes()[:8] == PNG_MAGIC
    greedy = plot_outcome_shares(reports, tmp_path / "greedy.png", greedy=True)
    assert greedy.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="empty"):
        plot_pass_at_k({}, tmp_path / "none.png")

"""Grading model completions: pass@k, greedy pass@1 and CodeRL's outcome shares.

This module holds no model code. An agent (or a benchmark) generates completions,
then hands them here to be graded in the sandbox against each task's tests::

    from agents.common.evaluation import evaluate_completions

    report = evaluate_completions(
        tasks,
        samples={"builtin/sum_even": [c1, c2, ...], ...},   # n sampled completions per task
        greedy={"builtin/sum_even": g, ...},                # optional: one greedy completion
        scorer_or_sandbox=sandbox,
        ks=(1, 5, 16),
    )
    print(report.table("warm-start on B"))
    report.to_dict()                                        # plain data, for JSON

An evaluation that grades in its own way (streaming, as :mod:`agents.run.ray_eval` does)
hands its verdicts to :func:`report_from_results` and gets the same report.

pass@k is the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models
Trained on Code", the HumanEval paper): with ``n`` samples of which ``c`` passed,
``pass@k = 1 - C(n - c, k) / C(n, k)``, averaged over tasks. Outcome shares follow
CodeRL (Le et al. 2022, Figure 8): the fraction of programs that do not compile, raise
(or time out), fail a test, or pass.
"""

from __future__ import annotations

import numbers
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from code_env.sandbox import BaseSandbox, ExecutionResult, Outcome
from code_env.scoring import Scorer

if TYPE_CHECKING:
    from code_env.tasks.model import Task, TestCase

__all__ = [
    "OUTCOME_LABELS",
    "OUTCOME_NAMES",
    "EvalReport",
    "evaluate_completions",
    "outcome_shares",
    "pass_at_k",
    "plot_outcome_shares",
    "plot_pass_at_k",
    "report_from_results",
]

#: The outcome keys of every share dict, in CodeRL's order (worst first).
OUTCOME_NAMES: tuple[str, ...] = tuple(o.value for o in Outcome)

#: How tables and plots name each outcome.
OUTCOME_LABELS: dict[str, str] = {name: name.replace("_", " ") for name in OUTCOME_NAMES}

# Known difficulty names, in the order reports list them (builtin, then APPS); any other
# difficulty comes after these, sorted.
_DIFFICULTY_ORDER = ("easy", "medium", "hard", "introductory", "interview", "competition")

_BENCH_HINT = "pip install 'code-synthesis-rl[bench]'"


def _check_int(name: str, value: Any) -> int:
    """``value`` as an int, or ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. 2021 for one task.

    The probability that at least one of ``k`` samples drawn without replacement from
    ``n`` generated samples, ``c`` of them correct, is correct:
    ``1 - C(n - c, k) / C(n, k)``, computed as the numerically stable product
    ``1 - prod(1 - k / j for j in n - c + 1 .. n)``.

    Args:
        n: Samples generated for the task (at least 1).
        c: How many of them passed (``0 <= c <= n``).
        k: The k of pass@k (``1 <= k <= n``).

    Returns:
        pass@k in ``[0, 1]``; exactly 1.0 when ``n - c < k`` (every draw of ``k``
        contains a correct sample) and exactly 0.0 when ``c == 0``.

    Raises:
        ValueError: An argument is not an integer or is out of range (the message
            names it and its value).
    """
    n = _check_int("n", n)
    c = _check_int("c", c)
    k = _check_int("k", k)
    if n < 1:
        raise ValueError(f"n must be at least 1, got n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"c must be between 0 and n={n}, got c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and n={n}, got k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)))


def outcome_shares(results: Iterable[ExecutionResult]) -> dict[str, float]:
    """The share of ``results`` per outcome.

    Returns:
        A dict with exactly the keys ``compile_error``, ``runtime_error``,
        ``failed_test`` and ``passed`` (in that order), summing to 1.0; all zeros when
        ``results`` is empty.
    """
    counts = Counter(result.outcome.value for result in results)
    total = sum(counts.values())
    return {name: (counts[name] / total if total else 0.0) for name in OUTCOME_NAMES}


def _pct(value: float | None) -> str:
    """A share as a percentage with one decimal ("-" for None)."""
    return "-" if value is None else f"{100.0 * value:.1f}"


def _greedy_share(report: EvalReport, name: str) -> float | None:
    """The share of greedy programs with outcome ``name`` (None without greedy ones)."""
    shares = report.greedy_outcome_shares
    return None if shares is None else shares[name]


@dataclass
class EvalReport:
    """The graded completions of one model (or agent) on a set of tasks.

    Every rate is a fraction in ``[0, 1]``; :meth:`table` and :meth:`summary` print
    them as percentages.
    """

    n_tasks: int
    """How many tasks were evaluated."""
    n_samples: int
    """Sampled completions per task (the n of pass@k)."""
    ks: tuple[int, ...]
    """The k values of :attr:`pass_at_k`, ascending."""
    greedy_pass_at_1: float | None
    """Fraction of tasks whose greedy completion passed; None without greedy completions."""
    pass_at_k: dict[int, float]
    """Mean over tasks of the unbiased pass@k estimator, per k."""
    outcome_shares: dict[str, float]
    """Share of all sampled programs per outcome (``compile_error``, ``runtime_error``,
    ``failed_test``, ``passed``), summing to 1.0."""
    greedy_outcome_shares: dict[str, float] | None = None
    """The same for the greedy programs; None without greedy completions."""
    by_difficulty: dict[str, EvalReport] = field(default_factory=dict)
    """The same report restricted to the tasks of each ``metadata["difficulty"]`` (tasks
    without one count as ``"unknown"``); empty when no task has a difficulty, and in the
    nested reports themselves."""
    per_task: list[dict[str, Any]] = field(default_factory=list)
    """One record per task, in the order evaluated: ``task_id``, ``difficulty`` (or
    None), ``n``, ``c`` (passed samples), ``outcomes`` (sampled programs per outcome),
    ``greedy_passed`` and ``greedy_outcome`` (None without greedy completions), and
    ``mean_reward`` over the samples (None unless graded through a Scorer)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable data, nested reports included.

        ``pass_at_k`` keeps its int keys (``json.dumps`` writes them as strings).
        """
        return {
            "n_tasks": self.n_tasks,
            "n_samples": self.n_samples,
            "ks": list(self.ks),
            "greedy_pass_at_1": self.greedy_pass_at_1,
            "pass_at_k": {int(k): float(v) for k, v in self.pass_at_k.items()},
            "outcome_shares": dict(self.outcome_shares),
            "greedy_outcome_shares": (
                None if self.greedy_outcome_shares is None else dict(self.greedy_outcome_shares)
            ),
            "by_difficulty": {name: r.to_dict() for name, r in self.by_difficulty.items()},
            "per_task": [dict(record) for record in self.per_task],
        }

    def table(self, title: str = "") -> str:
        """A compact plain-text table, in percent with one decimal.

        Rows: greedy pass@1, pass@k for each k, then the outcome shares of the sampled
        programs (and of the greedy ones, when there were greedy completions). Columns:
        all tasks, then each difficulty.
        """
        columns: list[tuple[str, EvalReport]] = [("all", self)]
        columns += list(self.by_difficulty.items())
        header = ["(%)"] + [f"{name} ({r.n_tasks})" for name, r in columns]
        rows: list[list[str]] = []
        has_greedy = self.greedy_pass_at_1 is not None
        if has_greedy:
            rows.append(["greedy pass@1"] + [_pct(r.greedy_pass_at_1) for _, r in columns])
        for k in self.ks:
            rows.append([f"pass@{k}"] + [_pct(r.pass_at_k.get(k)) for _, r in columns])
        for name in OUTCOME_NAMES:
            label = f"samples: {OUTCOME_LABELS[name]}"
            rows.append([label] + [_pct(r.outcome_shares.get(name)) for _, r in columns])
        if has_greedy:
            for name in OUTCOME_NAMES:
                label = f"greedy: {OUTCOME_LABELS[name]}"
                rows.append([label] + [_pct(_greedy_share(r, name)) for _, r in columns])
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(row: Sequence[str]) -> str:
            cells = [
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            return "  ".join(cells).rstrip()

        lines = [title] if title else []
        lines.append(f"{self.n_tasks} tasks, n={self.n_samples} samples per task")
        lines += [line(header), "  ".join("-" * w for w in widths)]
        lines += [line(row) for row in rows]
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: tasks and samples, greedy pass@1, pass@k, and the outcome shares."""
        parts = []
        if self.greedy_pass_at_1 is not None:
            parts.append(f"greedy pass@1 {_pct(self.greedy_pass_at_1)}%")
        parts += [f"pass@{k} {_pct(self.pass_at_k[k])}%" for k in self.ks]
        shares = ", ".join(
            f"{OUTCOME_LABELS[name]} {_pct(self.outcome_shares[name])}%"
            for name in reversed(OUTCOME_NAMES)
        )
        return (
            f"{self.n_tasks} tasks x {self.n_samples} samples: {', '.join(parts)} "
            f"(samples: {shares})"
        )


@dataclass
class _Graded:
    """One task's graded completions (internal)."""

    task_id: str
    difficulty: str | None
    results: list[ExecutionResult]
    greedy: ExecutionResult | None
    rewards: list[float] | None


def _difficulty_key(name: str) -> tuple[int, str]:
    """Sort key: known difficulties in their natural order, then the rest by name."""
    if name in _DIFFICULTY_ORDER:
        return (_DIFFICULTY_ORDER.index(name), name)
    return (len(_DIFFICULTY_ORDER), name)


def _build_report(
    graded: Sequence[_Graded], n: int, ks: tuple[int, ...], has_greedy: bool, *, split: bool
) -> EvalReport:
    """The report for ``graded`` tasks (with its per-difficulty split if ``split``)."""
    per_task: list[dict[str, Any]] = []
    for g in graded:
        c = sum(1 for r in g.results if r.outcome is Outcome.PASSED)
        counts = Counter(r.outcome.value for r in g.results)
        per_task.append(
            {
                "task_id": g.task_id,
                "difficulty": g.difficulty,
                "n": len(g.results),
                "c": c,
                "outcomes": {name: counts[name] for name in OUTCOME_NAMES},
                "greedy_passed": None if g.greedy is None else g.greedy.passed,
                "greedy_outcome": None if g.greedy is None else g.greedy.outcome.value,
                "mean_reward": None if g.rewards is None else float(np.mean(g.rewards)),
            }
        )
    pass_k = {
        k: float(np.mean([pass_at_k(record["n"], record["c"], k) for record in per_task]))
        for k in ks
    }
    greedy_results = [g.greedy for g in graded if g.greedy is not None]
    report = EvalReport(
        n_tasks=len(graded),
        n_samples=n,
        ks=ks,
        greedy_pass_at_1=(
            sum(r.passed for r in greedy_results) / len(greedy_results) if has_greedy else None
        ),
        pass_at_k=pass_k,
        outcome_shares=outcome_shares(r for g in graded for r in g.results),
        greedy_outcome_shares=outcome_shares(greedy_results) if has_greedy else None,
        per_task=per_task,
    )
    if split and any(g.difficulty is not None for g in graded):
        groups: dict[str, list[_Graded]] = {}
        for g in graded:
            groups.setdefault(g.difficulty or "unknown", []).append(g)
        report.by_difficulty = {
            name: _build_report(groups[name], n, ks, has_greedy, split=False)
            for name in sorted(groups, key=_difficulty_key)
        }
    return report


def _check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    """``ks`` validated, deduplicated and sorted."""
    try:
        values = [_check_int("ks", k) for k in ks]
    except TypeError:
        raise ValueError(f"ks must be a sequence of integers, got {ks!r}") from None
    if not values:
        raise ValueError("ks must name at least one k, got an empty sequence")
    bad = [k for k in values if k < 1]
    if bad:
        raise ValueError(f"every k in ks must be at least 1, got {bad[0]}")
    return tuple(sorted(set(values)))


def grade_completions(
    tasks: Iterable[Task],
    samples: Mapping[str, Sequence[str]],
    greedy: Mapping[str, str] | None = None,
    *,
    scorer_or_sandbox: Scorer | BaseSandbox,
    ks: Sequence[int] = (1, 5),
    tests: Literal["hidden", "example"] = "hidden",
    progress: bool = False,
) -> GradedCompletions:
    """Grade sampled (and greedy) completions: what :func:`evaluate_completions` reports
    on, checked and graded, before the report is made (a data-parallel evaluation
    gathers these from its processes, then calls :func:`report_from_results`).

    Every program (``task.program(completion)``) of every task goes to the sandbox in
    one ``run_many`` batch, so they are graded in parallel over its workers (identical
    programs run once). A sample passes when its outcome is ``Outcome.PASSED``.

    Args:
        tasks: The tasks to evaluate (ids must be unique).
        samples: ``samples[task_id]``: the n sampled completions of that task; every
            task needs the same n, at least ``max(ks)``. Keys must be among the tasks.
        greedy: ``greedy[task_id]``: the task's greedy completion, for greedy pass@1;
            when given, every task needs one.
        scorer_or_sandbox: A sandbox to grade in (any
            :class:`~code_env.sandbox.BaseSandbox`: a local
            :class:`~code_env.sandbox.Sandbox` or a :class:`~code_env.sandbox.RaySandbox`),
            or a :class:`~code_env.scoring.Scorer` (its sandbox and limits are used, and
            its reward gives each task's ``mean_reward``).
        ks: The k values of pass@k (each between 1 and n).
        tests: ``"hidden"``: grade against ``task.tests`` (what decides the reward);
            ``"example"``: against ``task.example_tests`` (what a prompt may show).
        progress: Show a tqdm progress bar while grading.

    Returns:
        The :class:`GradedCompletions`.

    Raises:
        ValueError: Tasks are empty or repeat an id; a task has no samples, a different
            number of them than the others, fewer than ``max(ks)``, or no greedy
            completion while others have one; ``samples`` or ``greedy`` name an unknown
            task; ``tests`` is neither mode; in example mode a task has no example tests.
        TypeError: ``scorer_or_sandbox`` is neither a Scorer nor a sandbox.
    """
    if isinstance(scorer_or_sandbox, Scorer):
        scorer: Scorer | None = scorer_or_sandbox
        sandbox = scorer_or_sandbox.sandbox
        limits = scorer_or_sandbox.limits
    elif isinstance(scorer_or_sandbox, BaseSandbox):
        scorer, sandbox, limits = None, scorer_or_sandbox, None
    else:
        raise TypeError(
            "scorer_or_sandbox must be a code_env.scoring.Scorer or a sandbox "
            "(code_env.sandbox.Sandbox, RaySandbox or another BaseSandbox), "
            f"got {type(scorer_or_sandbox).__name__}"
        )
    if tests not in ("hidden", "example"):
        raise ValueError(f"tests must be 'hidden' or 'example', got {tests!r}")
    ks = _check_ks(ks)

    task_list = list(tasks)
    if not task_list:
        raise ValueError("grade_completions needs at least one task")
    by_id: dict[str, Task] = {}
    for task in task_list:
        if task.task_id in by_id:
            raise ValueError(f"task_id {task.task_id!r} appears more than once in tasks")
        by_id[task.task_id] = task
    for name, mapping in (("samples", samples), ("greedy", greedy or {})):
        unknown = [tid for tid in mapping if tid not in by_id]
        if unknown:
            raise ValueError(f"{name} has completions for unknown task_id {unknown[0]!r}")

    # Every task has the same number of samples, enough for the largest k.
    first = task_list[0].task_id
    if first not in samples:
        raise ValueError(f"samples has no completions for task {first!r}")
    n = len(samples[first])
    for task in task_list:
        if task.task_id not in samples:
            raise ValueError(f"samples has no completions for task {task.task_id!r}")
        if isinstance(samples[task.task_id], str):
            raise ValueError(
                f"samples[{task.task_id!r}] must be a list of completions, not one string"
            )
        count = len(samples[task.task_id])
        if count != n:
            raise ValueError(
                f"every task needs the same number of samples: task {task.task_id!r} has "
                f"{count}, task {first!r} has {n}"
            )
    if n < ks[-1]:
        raise ValueError(
            f"pass@{ks[-1]} needs at least {ks[-1]} samples per task, got n={n} "
            f"(e.g. task {first!r})"
        )
    if greedy is not None:
        missing = [t.task_id for t in task_list if t.task_id not in greedy]
        if missing:
            raise ValueError(f"greedy has no completion for task {missing[0]!r}")

    def tests_of(task: Task) -> Sequence[TestCase]:
        if tests == "hidden":
            return task.tests
        if not task.example_tests:
            raise ValueError(f"tests='example', but task {task.task_id!r} has no example tests")
        return task.example_tests

    # One batch: n samples per task, then the greedy completions.
    items: list[tuple[str, Task, Sequence[TestCase]]] = []
    for task in task_list:
        task_tests = tests_of(task)
        items += [(task.program(c), task, task_tests) for c in samples[task.task_id]]
    if greedy is not None:
        items += [(task.program(greedy[task.task_id]), task, tests_of(task)) for task in task_list]
    results = sandbox.run_many(items, limits=limits, progress=progress)

    sampled: dict[str, list[ExecutionResult]] = {}
    rewards: dict[str, list[float]] | None = {} if scorer is not None else None
    for i, task in enumerate(task_list):
        sampled[task.task_id] = results[i * n : (i + 1) * n]
        if scorer is not None and rewards is not None:
            programs = [program for program, _, _ in items[i * n : (i + 1) * n]]
            rewards[task.task_id] = [
                scorer.reward_of(result, task, program)
                for result, program in zip(sampled[task.task_id], programs, strict=True)
            ]
    greedy_results = (
        None
        if greedy is None
        else {t.task_id: results[len(task_list) * n + i] for i, t in enumerate(task_list)}
    )
    return GradedCompletions(task_list, sampled, greedy_results, rewards)


@dataclass
class GradedCompletions:
    """Completions graded by :func:`grade_completions`, as :func:`report_from_results`
    takes them."""

    tasks: list[Task]
    """The tasks, in order."""
    results: dict[str, list[ExecutionResult]]
    """The verdicts of each task's sampled programs."""
    greedy: dict[str, ExecutionResult] | None
    """The verdict of each task's greedy program (None without greedy completions)."""
    rewards: dict[str, list[float]] | None
    """The reward of each sampled program (None unless graded through a Scorer)."""

    def report(self, ks: Sequence[int] = (1, 5)) -> EvalReport:
        """The :class:`EvalReport` of these verdicts."""
        return report_from_results(
            self.tasks, self.results, self.greedy, ks=ks, rewards=self.rewards
        )


def evaluate_completions(
    tasks: Iterable[Task],
    samples: Mapping[str, Sequence[str]],
    greedy: Mapping[str, str] | None = None,
    *,
    scorer_or_sandbox: Scorer | BaseSandbox,
    ks: Sequence[int] = (1, 5),
    tests: Literal["hidden", "example"] = "hidden",
    progress: bool = False,
) -> EvalReport:
    """Grade sampled (and greedy) completions and report pass@k and outcome shares:
    :func:`grade_completions` (whose arguments, checks and errors these are), then
    :func:`report_from_results`. Returns the :class:`EvalReport`, split by difficulty
    when tasks have one."""
    return grade_completions(
        tasks,
        samples,
        greedy,
        scorer_or_sandbox=scorer_or_sandbox,
        ks=ks,
        tests=tests,
        progress=progress,
    ).report(ks)


def report_from_results(
    tasks: Iterable[Task],
    results: Mapping[str, Sequence[ExecutionResult]],
    greedy: Mapping[str, ExecutionResult] | None = None,
    *,
    ks: Sequence[int] = (1, 5),
    rewards: Mapping[str, Sequence[float]] | None = None,
) -> EvalReport:
    """The :class:`EvalReport` of completions that are graded already.

    :func:`evaluate_completions` grades, then calls this; an evaluation that grades in
    its own way (e.g. streaming each chunk of tasks to a sandbox as soon as it is
    generated, as :func:`agents.run.ray_eval.evaluate_checkpoint_on_ray` does) calls it
    with its verdicts and gets the same report, computed by the same code.

    Args:
        tasks: The tasks, in the order the report lists them (ids must be unique).
        results: ``results[task_id]``: the verdicts of the task's n sampled programs;
            every task needs the same n, at least ``max(ks)``.
        greedy: ``greedy[task_id]``: the verdict of the task's greedy program; when
            given, every task needs one.
        ks: The k values of pass@k.
        rewards: ``rewards[task_id]``: the reward of each sampled program, for each
            task's ``mean_reward`` (None: no rewards).

    Returns:
        The report, split by difficulty when tasks have one.

    Raises:
        ValueError: Tasks are empty or repeat an id; a task has no results, a different
            number of them than the others, fewer than ``max(ks)``, or no greedy
            result while ``greedy`` is given.
    """
    ks = _check_ks(ks)
    task_list = list(tasks)
    if not task_list:
        raise ValueError("report_from_results needs at least one task")
    if len({t.task_id for t in task_list}) != len(task_list):
        raise ValueError("task ids repeat in tasks")
    missing = [t.task_id for t in task_list if t.task_id not in results]
    if missing:
        raise ValueError(f"results has no verdicts for task {missing[0]!r}")
    first = task_list[0].task_id
    n = len(results[first])
    for task in task_list:
        count = len(results[task.task_id])
        if count != n:
            raise ValueError(
                f"every task needs the same number of samples: task {task.task_id!r} has "
                f"{count}, task {first!r} has {n}"
            )
    if n < ks[-1]:
        raise ValueError(f"pass@{ks[-1]} needs at least {ks[-1]} samples per task, got n={n}")
    if greedy is not None:
        missing = [t.task_id for t in task_list if t.task_id not in greedy]
        if missing:
            raise ValueError(f"greedy has no verdict for task {missing[0]!r}")

    graded: list[_Graded] = []
    for task in task_list:
        difficulty = task.metadata.get("difficulty")
        graded.append(
            _Graded(
                task_id=task.task_id,
                difficulty=None if difficulty is None else str(difficulty),
                results=list(results[task.task_id]),
                greedy=None if greedy is None else greedy[task.task_id],
                rewards=None if rewards is None else list(rewards[task.task_id]),
            )
        )
    return _build_report(graded, n, ks, greedy is not None, split=True)


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure on an Agg canvas (no pyplot, no global backend change)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"plotting needs matplotlib: {_BENCH_HINT}") from exc
    fig = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(fig)
    return fig


def _grouped_bars(
    ax: Any, groups: Sequence[str], series: Mapping[str, Sequence[float]], ylabel: str
) -> None:
    """Bars for each label in ``series``, side by side within each group."""
    n_series = max(len(series), 1)
    width = 0.8 / n_series
    x = np.arange(len(groups))
    for i, (label, values) in enumerate(series.items()):
        offsets = x - 0.4 + width * (i + 0.5)
        bars = ax.bar(offsets, values, width, label=label)
        labels = ["" if np.isnan(v) else f"{v:.1f}" for v in values]
        ax.bar_label(bars, labels=labels, fontsize=7, padding=1)
    ax.set_xticks(x)
    ax.set_xticklabels(groups)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 110)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    # Below the axes, so that it never hides a bar.
    ax.legend(
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=min(n_series, 4),
        frameon=False,
    )


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, format="png")
    return out


def _check_reports(reports: Mapping[str, EvalReport]) -> None:
    if not reports:
        raise ValueError("nothing to plot: reports is empty")
    for label, report in reports.items():
        if not isinstance(report, EvalReport):
            raise TypeError(
                f"reports[{label!r}] must be an EvalReport, got {type(report).__name__}"
            )


def plot_outcome_shares(
    reports: Mapping[str, EvalReport],
    path: str | os.PathLike[str],
    *,
    title: str = "",
    greedy: bool = False,
) -> Path:
    """A grouped bar chart of the four outcome shares per report, saved as PNG.

    In the style of CodeRL's Figure 8: one group of bars per outcome (compile error,
    runtime error, failed test, passed), one bar per report label, in percent.

    Args:
        reports: Label (a model, agent or checkpoint) to its report; the legend order.
        path: Where to write the PNG (parent folders are created).
        title: The chart's title.
        greedy: Plot the greedy programs' shares instead of the sampled ones (reports
            without greedy completions are left out).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    _check_reports(reports)
    series: dict[str, list[float]] = {}
    for label, report in reports.items():
        shares = report.greedy_outcome_shares if greedy else report.outcome_shares
        if shares is not None:
            series[label] = [100.0 * shares[name] for name in OUTCOME_NAMES]
    if not series:
        raise ValueError("greedy=True, but no report has greedy completions")
    fig = _figure(max(6.0, 1.2 + 0.5 * len(OUTCOME_NAMES) * len(series)), 4.0)
    ax = fig.add_subplot()
    programs = "greedy programs" if greedy else "sampled programs"
    _grouped_bars(ax, [OUTCOME_LABELS[n] for n in OUTCOME_NAMES], series, f"% of {programs}")
    ax.set_title(title or f"Outcomes of {programs}")
    return _save(fig, path)


def plot_pass_at_k(
    reports: Mapping[str, EvalReport],
    path: str | os.PathLike[str],
    *,
    title: str = "",
) -> Path:
    """A grouped bar chart of pass@k per k, one bar per report label, saved as PNG.

    The groups are greedy pass@1 (when any report has it) and then every k found in
    the reports; a report without that k has no bar there.

    Args:
        reports: Label to report; the legend order.
        path: Where to write the PNG (parent folders are created).
        title: The chart's title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    _check_reports(reports)
    ks = sorted({k for report in reports.values() for k in report.pass_at_k})
    has_greedy = any(r.greedy_pass_at_1 is not None for r in reports.values())
    groups = (["greedy pass@1"] if has_greedy else []) + [f"pass@{k}" for k in ks]
    series: dict[str, list[float]] = {}
    for label, report in reports.items():
        values = [100.0 * report.pass_at_k[k] if k in report.pass_at_k else np.nan for k in ks]
        if has_greedy:
            g = report.greedy_pass_at_1
            values.insert(0, np.nan if g is None else 100.0 * g)
        series[label] = values
    fig = _figure(max(6.0, 1.2 + 0.5 * len(groups) * len(series)), 4.0)
    ax = fig.add_subplot()
    _grouped_bars(ax, groups, series, "% of tasks")
    ax.set_title(title or "pass@k")
    return _save(fig, path)

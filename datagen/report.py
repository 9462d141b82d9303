"""The report of a datagen run: counts, drop reasons, tests per task, mutation scores."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.extract import Drop
from datagen.grading import summary_line


@dataclass
class DatagenReport:
    """What a run saw, kept and dropped, and how good the kept tests are."""

    sources: list[str]
    """The sources given (folders, files, ``stdlib``, package names)."""
    out: str
    """The tasks file written."""
    n_files: int = 0
    """Python files read."""
    functions_seen: int = 0
    """Top-level functions in those files (with or without docstring), and with
    ``config.methods`` the methods of their top-level classes (special methods such
    as ``__init__`` not counted)."""
    candidates: int = 0
    """Functions that passed extraction and input planning, duplicates removed (and
    cut to ``max_functions``): the ones sent to the sandbox."""
    tasks: int = 0
    """Tasks written."""
    inferred_candidates: int = 0
    """Candidates that reached the oracle with a parameter type guessed by
    :mod:`datagen.infer` (beyond the spec's hints/defaults/doctests rule)."""
    inferred_tasks: int = 0
    """Tasks written whose function has such a guessed parameter type."""
    method_candidates: int = 0
    """Candidates that are methods of a class (``config.methods``)."""
    method_tasks: int = 0
    """Tasks written from methods."""
    drops: list[Drop] = field(default_factory=list)
    """Every dropped function, with stage, reason and detail."""
    case_reasons: Counter[str] = field(default_factory=Counter)
    """Why single cases (inputs) were dropped, over all functions."""
    tests_per_task: list[int] = field(default_factory=list)
    """Number of hidden tests of each task written."""
    mutation_scores: list[float] = field(default_factory=list)
    """Mutation score of each task written."""
    all_scores: list[float] = field(default_factory=list)
    """Mutation score of every function that reached mutation analysis (the ones
    dropped for a low score included)."""
    oracle_restarts: int = 0
    """Times the oracle's sandboxes were replaced to preload another set of modules
    (``config.preload``)."""
    elapsed_s: float = 0.0
    """Wall-clock seconds of the whole run."""
    stage_s: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds per stage."""
    config: dict[str, Any] = field(default_factory=dict)
    """The :class:`~datagen.DatagenConfig` used."""
    grading: dict[str, Any] = field(default_factory=dict)
    """Where the sandbox stages ran (:func:`datagen.grading.describe`): ``backend``
    (``"local"`` or ``"ray"``), per sandbox its workers and programs, and with Ray
    the cluster's ``address`` and its ``nodes`` (address, workers, programs)."""

    @property
    def dropped(self) -> dict[str, int]:
        """Dropped functions per reason, most common first."""
        return dict(Counter(d.reason for d in self.drops).most_common())

    @property
    def functions_per_minute(self) -> float:
        """Functions seen per minute of wall-clock time."""
        return 60.0 * self.functions_seen / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def candidates_per_minute(self) -> float:
        """Candidate functions (through the sandbox stages) per minute."""
        return 60.0 * self.candidates / self.elapsed_s if self.elapsed_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``report.json`` (drops summarised by stage and reason)."""
        by_stage: dict[str, Counter[str]] = {}
        for d in self.drops:
            by_stage.setdefault(d.stage, Counter())[d.reason] += 1
        scores = self.mutation_scores
        return {
            "sources": self.sources,
            "out": self.out,
            "files": self.n_files,
            "functions_seen": self.functions_seen,
            "candidates": self.candidates,
            "tasks": self.tasks,
            "inferred_types": {
                "candidates": self.inferred_candidates,
                "tasks": self.inferred_tasks,
            },
            "methods": {"candidates": self.method_candidates, "tasks": self.method_tasks},
            "dropped": self.dropped,
            "dropped_by_stage": {k: dict(v.most_common()) for k, v in by_stage.items()},
            "case_reasons": dict(self.case_reasons.most_common()),
            "tests_per_task": dict(sorted(Counter(self.tests_per_task).items())),
            "mean_tests_per_task": statistics.fmean(self.tests_per_task)
            if self.tests_per_task
            else None,
            "median_mutation_score": statistics.median(scores) if scores else None,
            "mean_mutation_score": statistics.fmean(scores) if scores else None,
            "oracle_restarts": self.oracle_restarts,
            "elapsed_s": round(self.elapsed_s, 2),
            "stage_s": {k: round(v, 2) for k, v in self.stage_s.items()},
            "functions_per_minute": round(self.functions_per_minute, 1),
            "candidates_per_minute": round(self.candidates_per_minute, 1),
            "grading": self.grading,
            "config": self.config,
        }

    def summary(self) -> str:
        """A few lines for the terminal."""
        data = self.to_dict()
        median = data["median_mutation_score"]
        lines = [
            f"{self.tasks} tasks written to {self.out}",
            f"files {self.n_files}, functions seen {self.functions_seen}, "
            f"candidates {self.candidates}, kept {self.tasks}",
            f"types inferred (beyond hints, defaults, doctests): {self.inferred_candidates} "
            f"reached the oracle, {self.inferred_tasks} kept",
            f"methods: {self.method_candidates} candidates, {self.method_tasks} kept",
            "dropped: " + ", ".join(f"{k} {v}" for k, v in self.dropped.items()),
            f"tests per task: {data['tests_per_task']}",
            "median mutation score: " + ("n/a" if median is None else f"{median:.3f}"),
            f"{self.elapsed_s:.1f} s, {self.functions_per_minute:.0f} functions/min",
            summary_line(self.grading),
        ]
        return "\n".join(lines)

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write ``report.json``, ``drops.jsonl`` and ``mutation_scores.png`` (the last
        only when matplotlib is installed) to ``folder``; returns the paths written."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"report": folder / "report.json", "drops": folder / "drops.jsonl"}
        paths["report"].write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        with open(paths["drops"], "w", encoding="utf-8") as fh:
            for d in self.drops:
                fh.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
        png = folder / "mutation_scores.png"
        if self.histogram(png):
            paths["histogram"] = png
        return paths

    def histogram(self, path: str | Path) -> bool:
        """Plot the mutation scores (kept tasks over all analysed functions, with the
        threshold); False when matplotlib is missing."""
        try:  # the Figure API: no pyplot, so the caller's backend is left alone
            from matplotlib.figure import Figure
        except ImportError:
            return False
        bins = [i / 10 for i in range(11)]
        fig = Figure(figsize=(6, 3.5))
        ax = fig.subplots()
        ax.hist(self.all_scores, bins=bins, color="#c8c8c8", label="all analysed functions")
        ax.hist(self.mutation_scores, bins=bins, color="#3070b0", label="tasks written")
        threshold = self.config.get("min_mutation_score")
        if threshold is not None:
            ax.axvline(threshold, color="#b03030", linestyle="--", label="threshold")
        ax.set_xlabel("mutation score of the chosen tests")
        ax.set_ylabel("functions")
        ax.set_title(f"datagen: {self.tasks} tasks from {self.functions_seen} functions")
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        return True

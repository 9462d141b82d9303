"""Critic Sampling (CodeRL, Le et al. 2022, Sec. 3.3.4): spend a sampling budget where the
example tests and the critic say it pays.

CodeRL described the procedure but never released it ("We will release the
implementation details of our critic sampling procedure"). This module builds it from
the paper's text; where the text leaves a choice, the choice is stated here and in
docs/agents.md.

For each problem, with a budget of ``N`` programs:

1. **Sample** ``N // 2`` programs and run them against the problem's *example* tests
   (the ones a prompt may show; the hidden tests are never used at inference).
2. **Refine**, if some pass (set ``P``): for each passing program, φ_test (the binary
   critic of :mod:`agents.coderl.critic`) gives a per-token probability of PassedTest. The
   program is cut after the token where that probability peaks, and cut further at the
   first token where FailedTest beats PassedTest (:func:`refine_cut`). The rest of the
   budget is spread evenly over the seeds, each resampled from its prefix.
3. **Repair**, if none pass: the top ``M`` failing programs by φ_test's sequence
   score are shown to a repair model together with their outcome and error subtype
   (:func:`repair_prompt`); half the remaining budget goes to repairs (spread over the
   M), and the other half refines the repairs that pass the examples, or, if none
   does, is spent on more repairs.

Every program generated counts against the budget, so Critic Sampling and plain
sampling compare at equal cost. The pool is ranked: programs that pass the example
tests first, by φ_test's score; :func:`compare_at_budget` reports pass@N and 1@N
(the one program submitted per problem is the top of the ranking) for both.

The repair model (Eq. 13) is a copy of the actor fine-tuned with cross-entropy on
(repair prompt of a failing sample → reference solution) pairs from tasks with
solutions (:func:`repair_pairs`, :func:`train_repair_model`); without one, the actor
itself reads the repair prompts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.coderl.critic import TEST_CLASSES, OutcomeCritic
from agents.coderl.syntax import program_compiles
from agents.common.config import SamplingConfig
from code_env.sandbox import ExecutionResult, Sandbox
from code_env.tasks import Task

_PASSED = TEST_CLASSES.index("passed")
_FAILED = TEST_CLASSES.index("failed")


@dataclass
class Candidate:
    """One program generated for a problem."""

    task_id: str
    completion: str
    token_ids: list[int]
    stage: str
    """``"sample"``, ``"refine"``, ``"repair"`` or ``"repair-refine"``."""
    passed_examples: bool = False
    test_score: float = 0.0
    """φ_test's sequence-level probability that the program passes the example tests."""
    example_result: ExecutionResult | None = None


@dataclass
class CriticSamplingResult:
    """The ranked pool of every problem, and what each stage spent."""

    pools: dict[str, list[Candidate]]
    """Per task id, candidates best first (example tests passed, then φ_test score)."""
    stage_counts: dict[str, int] = field(default_factory=dict)


def refine_cut(pass_probs: Sequence[float], fail_probs: Sequence[float]) -> int:
    """How many leading tokens of a passing program to keep as a refine seed.

    Keep up to and including the token where PassedTest's probability peaks (the first
    peak on ties); then, if FailedTest beats PassedTest at an earlier token, keep only
    the tokens before the first such token.

    >>> refine_cut([0.2, 0.6, 0.9, 0.7], [0.8, 0.4, 0.1, 0.3])
    0
    >>> refine_cut([0.6, 0.7, 0.9, 0.7], [0.4, 0.3, 0.1, 0.3])
    3
    """
    if len(pass_probs) != len(fail_probs):
        raise ValueError(f"{len(pass_probs)} pass probabilities but {len(fail_probs)} fail ones")
    if not len(pass_probs):
        return 0
    keep = int(np.argmax(pass_probs)) + 1
    for t in range(keep):
        if fail_probs[t] > pass_probs[t]:
            return t
    return keep


def repair_prompt(task: Task, completion: str, result: ExecutionResult) -> str:
    """The repair model's input: the failed program (commented out), its outcome and
    error subtype, then the problem's own prompt, so that the repair is written as an
    ordinary completion of that prompt."""
    outcome = result.outcome.value.replace("_", " ")
    error = f": {result.subtype}" if result.subtype else ""
    lines = task.program(completion).rstrip("\n").splitlines() or [""]
    failed = "\n".join(f"# {line}" if line else "#" for line in lines)
    return f"# A previous attempt failed ({outcome}{error}):\n{failed}\n# A corrected program:\n{task.prompt}"


def _split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as possible (first parts get the rest)."""
    if parts <= 0:
        return []
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class CriticSampler:
    """Runs Critic Sampling for a policy.

    Args:
        policy: The actor (:class:`agents.common.policy.Policy`).
        test_critic: φ_test (classes failed/passed on the example tests).
        sandbox: Where example tests run.
        repair_policy: The repair model (default: ``policy`` itself).
        top_m: How many failing programs are repaired.
        sampling: How every program is sampled (length, temperature, top-p, batch,
            prompt cut), by the actor and the repair model alike; None:
            :class:`~agents.common.config.SamplingConfig`'s defaults.
    """

    def __init__(
        self,
        policy,
        test_critic: OutcomeCritic,
        sandbox: Sandbox,
        *,
        repair_policy=None,
        top_m: int = 2,
        sampling: SamplingConfig | None = None,
    ) -> None:
        if tuple(test_critic.classes) != TEST_CLASSES:
            raise ValueError(
                f"Critic Sampling needs φ_test (classes {TEST_CLASSES}), got a critic over "
                f"{test_critic.classes}"
            )
        if top_m < 1:
            raise ValueError(f"top_m must be >= 1, got {top_m}")
        self.policy = policy
        self.repair_policy = repair_policy or policy
        self.test_critic = test_critic
        self.sandbox = sandbox
        self.top_m = top_m
        self.sampling = SamplingConfig() if sampling is None else sampling

    # --- pieces -------------------------------------------------------------------------

    def _generate(self, policy, prompts, counts, prefixes=None, stage="sample", task_ids=()):
        """``counts[i]`` programs for ``prompts[i]`` (continuing ``prefixes[i]``)."""
        out: list[Candidate] = []
        jobs = [i for i, c in enumerate(counts) if c > 0]
        if not jobs:
            return out
        # one generate call per distinct count keeps batches full
        for n in sorted({counts[i] for i in jobs}):
            chosen = [i for i in jobs if counts[i] == n]
            groups = policy.sample(
                [prompts[i] for i in chosen],
                self.sampling,
                n=n,
                prefixes=[prefixes[i] for i in chosen] if prefixes is not None else None,
            )
            for i, samples in zip(chosen, groups, strict=True):
                out += [Candidate(task_ids[i], s.text, s.token_ids, stage) for s in samples]
        return out

    def _check(self, candidates: list[Candidate], tasks: dict[str, Task]) -> None:
        """Run example tests and φ_test on the candidates (in place)."""
        if not candidates:
            return
        results = self.sandbox.run_many(
            [
                (
                    tasks[c.task_id].program(c.completion),
                    tasks[c.task_id],
                    tasks[c.task_id].example_tests,
                )
                for c in candidates
            ]
        )
        prompts = self.policy.encode_prompts(
            [tasks[c.task_id].prompt for c in candidates], self.sampling.max_prompt_tokens
        )
        scores = self.test_critic.predict_proba(
            prompts,
            [c.token_ids for c in candidates],
            compiles=[program_compiles(tasks[c.task_id].program(c.completion)) for c in candidates],
        )
        for cand, res, score in zip(candidates, results, scores, strict=True):
            cand.example_result = res
            cand.passed_examples = res.passed
            cand.test_score = float(score[_PASSED])

    def _refine(self, seeds: list[Candidate], budget: int, tasks, stage: str) -> list[Candidate]:
        """Cut each seed with :func:`refine_cut` and resample ``budget`` continuations."""
        if budget <= 0 or not seeds:
            return []
        seeds = sorted(seeds, key=lambda c: -c.test_score)[:budget]
        prompts = self.policy.encode_prompts(
            [tasks[s.task_id].prompt for s in seeds], self.sampling.max_prompt_tokens
        )
        probs = self.test_critic.token_probs(
            prompts,
            [s.token_ids for s in seeds],
            compiles=[program_compiles(tasks[s.task_id].program(s.completion)) for s in seeds],
        )
        prefixes = []
        for seed, p in zip(seeds, probs, strict=True):
            keep = refine_cut(p[:, _PASSED], p[:, _FAILED])
            prefix = seed.token_ids[:keep]
            if prefix and prefix[-1] == self.policy.eos_id:  # a whole program: nothing to add
                prefix = prefix[:-1]
            prefixes.append(prefix)
        return self._generate(
            self.policy,
            [tasks[s.task_id].prompt for s in seeds],
            _split(budget, len(seeds)),
            prefixes,
            stage,
            [s.task_id for s in seeds],
        )

    def _repair(self, failed: list[Candidate], budget: int, tasks) -> list[Candidate]:
        """Repairs of the top-M failing programs by φ_test score."""
        if budget <= 0 or not failed:
            return []
        worst_first = sorted(failed, key=lambda c: -c.test_score)[: self.top_m]
        prompts = [
            repair_prompt(tasks[c.task_id], c.completion, c.example_result)  # type: ignore[arg-type]
            for c in worst_first
        ]
        return self._generate(
            self.repair_policy,
            prompts,
            _split(budget, len(worst_first)),
            None,
            "repair",
            [c.task_id for c in worst_first],
        )

    # --- the procedure ----------------------------------------------------------------------

    def run(self, tasks: Sequence[Task], budget: int) -> CriticSamplingResult:
        """Critic Sampling with ``budget`` programs per task. Tasks without example tests
        get plain samples only (nothing to refine or repair with)."""
        if budget < 2:
            raise ValueError(f"Critic Sampling needs a budget of at least 2, got {budget}")
        by_id = {t.task_id: t for t in tasks}
        first = budget // 2
        rest = budget - first
        pools: dict[str, list[Candidate]] = {t.task_id: [] for t in tasks}
        ids = [t.task_id for t in tasks]
        checked = [t for t in tasks if t.example_tests]
        plain = [t for t in tasks if not t.example_tests]
        # tasks without example tests: the whole budget is plain sampling
        for cand in self._generate(
            self.policy,
            [t.prompt for t in plain],
            [budget] * len(plain),
            None,
            "sample",
            [t.task_id for t in plain],
        ):
            pools[cand.task_id].append(cand)
        initial = self._generate(
            self.policy,
            [t.prompt for t in checked],
            [first] * len(checked),
            None,
            "sample",
            [t.task_id for t in checked],
        )
        self._check(initial, by_id)
        for cand in initial:
            pools[cand.task_id].append(cand)

        refined: list[Candidate] = []
        repair_jobs: list[tuple[list[Candidate], int]] = []
        for task in checked:
            mine = pools[task.task_id]
            passing = [c for c in mine if c.passed_examples]
            if passing:
                refined += self._refine(passing, rest, by_id, "refine")
            else:
                repair_jobs.append((mine, rest))
        repairs: list[Candidate] = []
        for mine, spend in repair_jobs:
            repairs += self._repair(mine, spend // 2, by_id)
        self._check(refined + repairs, by_id)
        second: list[Candidate] = []
        for mine, spend in repair_jobs:
            task_id = mine[0].task_id if mine else None
            if task_id is None:
                continue
            done = [c for c in repairs if c.task_id == task_id]
            left = spend - len(done)
            passing = [c for c in done if c.passed_examples]
            if passing:
                second += self._refine(passing, left, by_id, "repair-refine")
            else:
                second += self._repair(mine + done, left, by_id)
        self._check(second, by_id)
        counts: dict[str, int] = {}
        for cand in refined + repairs + second:
            pools[cand.task_id].append(cand)
        for pool in pools.values():
            for cand in pool:
                counts[cand.stage] = counts.get(cand.stage, 0) + 1
            pool.sort(key=lambda c: (not c.passed_examples, -c.test_score))
        missing = [i for i in ids if len(pools[i]) != budget]
        if missing:  # generation always returns what was asked; guard the accounting
            raise RuntimeError(f"Critic Sampling spent a different budget on {missing[:3]}")
        return CriticSamplingResult(pools, counts)


def compare_at_budget(
    policy,
    tasks: Sequence[Task],
    sandbox: Sandbox,
    sampler: CriticSampler,
    budget: int,
    *,
    sampling: SamplingConfig | None = None,
) -> dict[str, Any]:
    """Plain sampling and Critic Sampling with ``budget`` programs per task each, graded
    on the hidden tests. Returns pass@budget and 1@budget for both (1@budget: one
    program per task submitted, chosen by the example tests: plain sampling submits a
    uniformly chosen program among those that pass the examples — the expected value is
    reported — or among all when none does; Critic Sampling submits the top of its
    ranking), and the stage counts.

    ``sampling`` says how plain sampling samples (length, temperature, top-p, batch,
    prompt cut; None: :class:`~agents.common.config.SamplingConfig`'s defaults); give
    it the one ``sampler`` uses (:attr:`CriticSampler.sampling`) for a fair comparison."""
    from agents.common.evaluation import pass_at_k

    sampling = SamplingConfig() if sampling is None else sampling
    groups = policy.sample([t.prompt for t in tasks], sampling, n=budget)
    programs = [
        (task, task.program(s.text)) for task, g in zip(tasks, groups, strict=True) for s in g
    ]
    hidden = sandbox.run_many([(program, task) for task, program in programs])
    with_examples = [
        (program, task, task.example_tests) for task, program in programs if task.example_tests
    ]
    example_verdicts = iter(sandbox.run_many(with_examples))
    examples = [
        next(example_verdicts).passed if task.example_tests else False for task, _ in programs
    ]
    plain_pass, plain_one, per_k = [], [], {}
    for i, _task in enumerate(tasks):
        h = [r.passed for r in hidden[i * budget : (i + 1) * budget]]
        e = examples[i * budget : (i + 1) * budget]
        plain_pass.append(float(any(h)))
        pool = [hh for hh, ee in zip(h, e, strict=True) if ee] or h
        plain_one.append(sum(pool) / len(pool))
        for k in (1, 5):
            if k <= budget:
                per_k.setdefault(k, []).append(pass_at_k(budget, sum(h), k))

    result = sampler.run(tasks, budget)
    by_id = {t.task_id: t for t in tasks}
    flat = [(c, by_id[tid]) for tid, pool in result.pools.items() for c in pool]
    verdicts = sandbox.run_many([(t.program(c.completion), t) for c, t in flat])
    passed: dict[str, list[bool]] = {}
    for (cand, _), verdict in zip(flat, verdicts, strict=True):
        passed.setdefault(cand.task_id, []).append(verdict.passed)
    cs_pass = [float(any(passed[t.task_id])) for t in tasks]
    cs_one = [float(passed[t.task_id][0]) for t in tasks]
    n = max(1, len(tasks))
    return {
        "budget": budget,
        "tasks": len(tasks),
        "plain": {
            f"pass@{budget}": sum(plain_pass) / n,
            f"1@{budget}": sum(plain_one) / n,
            **{f"pass@{k}": float(np.mean(v)) for k, v in per_k.items()},
        },
        "critic_sampling": {
            f"pass@{budget}": sum(cs_pass) / n,
            f"1@{budget}": sum(cs_one) / n,
        },
        "stage_counts": result.stage_counts,
    }


def repair_pairs(
    policy,
    tasks: Sequence[Task],
    sandbox: Sandbox,
    *,
    samples_per_task: int = 4,
    sampling: SamplingConfig | None = None,
) -> list[tuple[str, str]]:
    """Eq. 13's training pairs: for tasks with a reference solution, programs the actor
    samples that fail the example tests (or the hidden tests, when there are no
    examples), each turned into (repair prompt, reference solution). ``sampling`` says
    how the actor samples them (length, temperature, top-p, batch, prompt cut; None:
    :class:`~agents.common.config.SamplingConfig`'s defaults)."""
    sampling = SamplingConfig() if sampling is None else sampling
    with_solutions = [t for t in tasks if t.solutions]
    groups = policy.sample([t.prompt for t in with_solutions], sampling, n=samples_per_task)
    jobs = [(t, s.text) for t, g in zip(with_solutions, groups, strict=True) for s in g]
    results = sandbox.run_many([(t.program(text), t, t.example_tests or None) for t, text in jobs])
    return [
        (repair_prompt(t, text, res), t.solutions[0])
        for (t, text), res in zip(jobs, results, strict=True)
        if not res.passed
    ]


def train_repair_model(
    actor_path: str | os.PathLike[str],
    pairs: Sequence[tuple[str, str]],
    out: str | os.PathLike[str],
    *,
    steps: int = 300,
    lr: float = 1e-3,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """A copy of the actor at ``actor_path`` fine-tuned with cross-entropy on repair
    pairs (Eq. 13), saved to ``out``."""
    from agents.common.policy import Policy
    from agents.common.supervised import train_supervised

    if not pairs:
        raise ValueError(
            "no repair pairs: every sampled program passed its tests; sample more, or at a "
            "higher temperature "
            "(repair_pairs(..., sampling=SamplingConfig(temperature=1.5)))"
        )
    policy = Policy(str(actor_path), reference=False)
    train_supervised(
        policy,
        pairs,
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
        desc="repair model",
    )
    out = Path(out)
    policy.save(out)
    return out

"""The datagen pipeline: sources in, tasks (JSONL) and a report out.

Stages: extract (:mod:`datagen.extract`) and plan inputs (:mod:`datagen.hints`,
:mod:`datagen.infer` for unhinted parameters, :mod:`datagen.inputs`) per file, in
parallel processes; deduplicate (:mod:`datagen.dedup`); then, chunk by chunk in the
sandbox: probe the guessed types of unhinted parameters (``infer_types=
"usage+probe"``), label with the oracle (:mod:`datagen.oracle`), run mutants and pick
tests (:mod:`datagen.mutation`), build tasks (whose ``call`` tests hold the inputs and
outputs as Python literals, bytes, tuples and sets included); re-run every reference
against its tests in a fresh default sandbox; write. The sandboxes are local, or spread
over a Ray cluster with ``config.ray`` (:mod:`datagen.grading`); extraction always runs
locally.

Determinism: each function's random choices (inputs, probe rows, mutant sample) are
seeded from ``config.seed`` and the function's module, name and line, never from the
order or process it is handled in, so the same sources and seed give the same tasks
whatever ``workers`` is. The exception is the sandbox's clock: a case, probe or mutant
whose run time is near a time limit may land on either side of it.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from code_env.tasks import Task, write_jsonl
from datagen.config import DatagenConfig
from datagen.dedup import deduplicate
from datagen.extract import (
    INSTALLED,
    Drop,
    ExtractedFunction,
    SourceFile,
    dataset_sources,
    extract_file,
    find_sources,
    is_dataset,
)
from datagen.grading import describe, make_sandbox, merge_grading, ray_session
from datagen.hints import HintError, Plan, plan_parameters
from datagen.infer import (
    ProbeSet,
    Untypable,
    choose_combination,
    infer_candidates,
    probe_combinations,
    type_summary,
)
from datagen.inputs import generate_inputs
from datagen.mutation import (
    call_tests,
    greedy_select,
    kill_matrix,
    make_mutants,
    mutation_score,
    output_key,
)
from datagen.oracle import Case, Oracle
from datagen.report import DatagenReport
from datagen.values import value_key


@dataclass(frozen=True)
class Candidate:
    """A function ready for the sandbox: its parameter plan and input rows."""

    function: ExtractedFunction
    """The extracted function."""
    plan: Plan
    """How its parameters are filled."""
    rows: list[list[Any]]
    """Argument rows to label (empty while ``probes`` is pending)."""
    probes: ProbeSet | None = None
    """Type combinations still to try in the sandbox (``infer_types="usage+probe"``);
    ``plan`` is then only the best-ranked guess."""


def function_seed(seed: int, fn: ExtractedFunction, purpose: str = "inputs") -> int:
    """A seed for one function's random choices, from the run's seed and the function's
    identity only (stable across processes and hash seeds)."""
    text = f"{seed}\x00{fn.module}\x00{fn.name}\x00{fn.line}\x00{purpose}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def prepare_file(
    source: SourceFile, config: DatagenConfig
) -> tuple[list[Candidate], list[Drop], int]:
    """Extract one file's functions and plan their inputs (runs in worker processes)."""
    functions, drops, seen = extract_file(source, config, source.text)
    candidates: list[Candidate] = []
    for fn in functions:
        try:
            plan = plan_parameters(fn)
        except HintError as exc:
            if exc.args[0] != "no_hints" or config.infer_types == "none":
                drops.append(Drop(fn.module, fn.display_name, fn.line, "inputs", *exc.args))
                continue
            # Beyond the spec's rule: guess the missing types (datagen.infer).
            try:
                guesses = infer_candidates(fn, config)
                if config.infer_types == "usage":
                    plan = plan_parameters(fn, {n: c[0] for n, c in guesses.items()}, "usage")
                else:
                    seed = function_seed(config.seed, fn, "probe")
                    probes = probe_combinations(fn, guesses, config, seed)
                    candidates.append(Candidate(fn, probes.plans[0], [], probes))
                    continue
            except (HintError, Untypable) as again:
                drops.append(Drop(fn.module, fn.display_name, fn.line, "inputs", *again.args))
                continue
        except (SyntaxError, ValueError, RecursionError) as exc:
            drops.append(
                Drop(fn.module, fn.display_name, fn.line, "inputs", "unsupported_hint", repr(exc))
            )
            continue
        rows = generate_inputs(fn, plan, config, function_seed(config.seed, fn))
        if len(rows) < config.min_tests:
            drops.append(
                Drop(
                    fn.module, fn.display_name, fn.line, "inputs", "too_few_inputs", str(len(rows))
                )
            )
            continue
        candidates.append(Candidate(fn, plan, rows))
    return candidates, drops, seen


def _prepare_star(
    args: tuple[SourceFile, DatagenConfig],
) -> tuple[list[Candidate], list[Drop], int]:
    return prepare_file(*args)


def _workers(config: DatagenConfig) -> int:
    if config.workers is not None:
        return config.workers
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _bar(total: int, desc: str, unit: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, dynamic_ncols=True)


def prepare(
    files: Sequence[SourceFile], config: DatagenConfig, workers: int
) -> Iterable[tuple[list[Candidate], list[Drop], int]]:
    """:func:`prepare_file` over ``files``, results in file order; parallel over
    ``workers`` processes. They are spawned, not forked (the caller may hold threads
    and sandboxes), so a script calling this with ``workers > 1`` needs the usual
    ``if __name__ == "__main__":`` guard."""
    bar = _bar(len(files), "extract", "file", config.progress)
    try:
        if workers > 1 and len(files) > 1:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                chunk = max(1, min(16, len(files) // (4 * workers)))
                for result in pool.map(
                    _prepare_star, [(f, config) for f in files], chunksize=chunk
                ):
                    bar.update(1)
                    yield result
        else:
            for f in files:
                result = prepare_file(f, config)
                bar.update(1)
                yield result
    finally:
        bar.close()


def build_task(
    fn: ExtractedFunction,
    cases: Sequence[Case],
    chosen: Sequence[int],
    config: DatagenConfig,
    metadata: dict[str, Any],
    task_id: str | None = None,
    preferred: Sequence[Sequence[Any]] = (),
) -> Task:
    """The task for ``fn`` with the ``chosen`` cases as hidden tests and
    ``config.n_examples`` of them as examples, shown in the prompt: those whose
    arguments are in ``preferred`` (the docstring's own examples) first, then the
    shortest. The tests call the function with the cases' arguments and expect the
    reference's outputs, as Python values (bytes, tuples, sets included)."""
    picked = [cases[i] for i in chosen]
    tests = call_tests(fn, picked)
    liked = {value_key(list(row)) for row in preferred}
    calls = [fn.call_text(c.args) for c in picked]
    by_size = sorted(
        range(len(picked)),
        key=lambda i: (
            value_key(picked[i].args) not in liked,
            len(calls[i]) + len(picked[i].shown),
            i,
        ),
    )
    shown = sorted(by_size[: config.n_examples])
    examples = [(calls[i], picked[i].shown) for i in shown]
    header = fn.header(examples)
    meta = {"source": "datagen", "module": fn.module, "function": fn.name, "line": fn.line}
    if fn.is_method:
        meta["class"] = fn.owner
    if config.split is not None:
        meta["split"] = config.split
    meta.update(metadata)
    return Task(
        task_id=task_id or f"datagen/{fn.qualname}",
        prompt=header,
        tests=tests,
        example_tests=[tests[i] for i in shown],
        entry_point=fn.owner or fn.name,
        solutions=[fn.body],
        metadata=meta,
        program_prefix=header,
    )


def resolve_probes(
    oracle: Oracle, chunk: Sequence[Candidate], config: DatagenConfig, report: DatagenReport
) -> list[Candidate]:
    """Run the pending type probes of ``chunk`` in the sandbox (one job per
    function) and give each probed candidate the chosen plan and its inputs; those
    with no qualifying combination are dropped (``no_hints``, stage ``probe``)."""
    probing = [c for c in chunk if c.probes is not None]
    if not probing:
        return list(chunk)
    observations = oracle.probe(
        [(c.function, c.probes.flat()) for c in probing]  # type: ignore[union-attr]
    )
    resolved: dict[int, Candidate] = {}
    for cand, obs in zip(probing, observations, strict=True):
        fn, probes = cand.function, cand.probes
        assert probes is not None
        index, account = choose_combination(probes, obs, config)
        if index is None:
            detail = f"no type combination returned data: {account}"
            report.drops.append(
                Drop(fn.module, fn.display_name, fn.line, "probe", "no_hints", detail)
            )
            continue
        plan = probes.plans[index]
        rows = generate_inputs(fn, plan, config, function_seed(config.seed, fn))
        if len(rows) < config.min_tests:
            report.drops.append(
                Drop(
                    fn.module, fn.display_name, fn.line, "inputs", "too_few_inputs", str(len(rows))
                )
            )
            continue
        resolved[id(cand)] = Candidate(fn, plan, rows)
    out = []
    for cand in chunk:
        if cand.probes is None:
            out.append(cand)
        elif id(cand) in resolved:
            out.append(resolved[id(cand)])
    return out


def _process_chunk(
    oracle: Oracle,
    chunk: Sequence[Candidate],
    config: DatagenConfig,
    report: DatagenReport,
    ids: set[str],
) -> list[Task]:
    """Probe types, label, mutate and select for a chunk of candidates; the tasks
    they give (drops and scores go to ``report``; ``ids`` holds the task ids taken so
    far)."""
    chunk = resolve_probes(oracle, chunk, config, report)
    plans = {id(c.function): c.plan for c in chunk}
    report.inferred_candidates += sum(1 for c in chunk if _inferred(c.plan))
    jobs = []
    labelled = oracle.label([(c.function, c.rows) for c in chunk])
    for item in labelled:
        report.case_reasons.update(item.case_reasons)
        if item.drop is not None:
            report.drops.append(item.drop)
            continue
        fn = item.function
        seed = function_seed(config.seed, fn, "mutants")
        mutants = make_mutants(fn.source, config.max_mutants, seed)
        if not mutants:
            report.drops.append(Drop(fn.module, fn.display_name, fn.line, "mutation", "no_mutants"))
            continue
        jobs.append((fn, mutants, item.cases))
    tasks = []
    for (fn, mutants, cases), killed in zip(
        jobs, kill_matrix(oracle.sandbox, jobs, config), strict=True
    ):
        doctests = plans[id(fn)].doctest_rows
        liked = {value_key(list(row)) for row in doctests}
        from_doc = [i for i, c in enumerate(cases) if value_key(c.args) in liked]
        chosen = greedy_select(
            killed,
            len(cases),
            config.max_tests,
            config.min_tests,
            [output_key(c) for c in cases],
            first=from_doc[: config.n_examples],
        )
        score = mutation_score(killed, chosen) or 0.0
        report.all_scores.append(score)
        if score < config.min_mutation_score:
            report.drops.append(
                Drop(
                    fn.module,
                    fn.display_name,
                    fn.line,
                    "mutation",
                    "low_mutation_score",
                    f"{score:.3f}",
                )
            )
            continue
        task_id = f"datagen/{fn.qualname}"
        if task_id in ids:
            task_id = f"{task_id}@{fn.line}"
        ids.add(task_id)
        types, sources = type_summary(plans[id(fn)])
        meta = {
            "param_types": types,
            "param_sources": sources,
            "mutation_score": round(score, 4),
            "mutants": len(mutants),
            "mutants_killed": sum(1 for row in killed if any(row[t] for t in chosen)),
            "cases": len(cases),
            "seed": config.seed,
        }
        tasks.append(build_task(fn, cases, chosen, config, meta, task_id, doctests))
    return tasks


def _describe(source: Any) -> str:
    if is_dataset(source):
        rows = getattr(source, "num_rows", None)
        return f"<{type(source).__name__}: {rows} rows>"
    return os.fspath(source)


def _inferred(plan: Plan) -> bool:
    return any(p.source in ("usage", "probe") for p in plan.params)


def third_party_imports(fn: ExtractedFunction) -> list[str]:
    """The modules outside the standard library that ``fn``'s reference imports
    (``import a.b`` gives ``a.b``; ``from a.b import c`` gives ``a.b``), in order."""
    try:
        tree = ast.parse(fn.context)
    except (SyntaxError, ValueError, RecursionError):
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    stdlib = sys.stdlib_module_names
    return [n for n in dict.fromkeys(names) if n.partition(".")[0] not in stdlib]


def _package_of(candidate: Candidate) -> str:
    """The top-level package a candidate comes from ("" for the standard library,
    whose references import nothing to preload)."""
    root = candidate.function.module.partition(".")[0]
    return "" if root in sys.stdlib_module_names else root


def _chunks(
    unique: Sequence[Candidate], config: DatagenConfig
) -> Iterator[tuple[list[Candidate], tuple[str, ...]]]:
    """Consecutive candidates, at most ``config.chunk_size`` at a time, each chunk with
    the modules its oracle preloads: with ``config.preload``, a chunk holds one
    package's candidates, and every chunk of a package preloads what all of them
    import (so its oracle is started once)."""
    preload: dict[str, set[str]] = {}
    if config.preload:
        for cand in unique:
            wanted = preload.setdefault(_package_of(cand), set())
            wanted.update(third_party_imports(cand.function))
    chunk: list[Candidate] = []
    package = None
    for cand in unique:
        this = _package_of(cand) if config.preload else ""
        if chunk and (len(chunk) == config.chunk_size or this != package):
            yield chunk, tuple(sorted(preload.get(package or "", ())))
            chunk = []
        chunk.append(cand)
        package = this
    if chunk:
        yield chunk, tuple(sorted(preload.get(package or "", ())))


def _described(oracle: Oracle) -> dict[str, Any]:
    return describe(oracle.sandboxes)


def _grade(
    unique: Sequence[Candidate], config: DatagenConfig, report: DatagenReport, workers: int
) -> list[Task]:
    """The sandbox stages: probe, label, mutate and select chunk by chunk, then verify;
    the tasks kept (drops, timings and where it graded go to ``report``).

    With ``config.preload``, the oracle preloads the third-party modules that one
    package's references import, and is replaced when the next package starts. A
    chunk holds one package's functions only (:func:`_chunks`): a preloaded package
    that is large (one that imports torch) would leave the programs of another little
    room under the memory limit."""
    t0 = time.perf_counter()
    tasks: list[Task] = []
    ids: set[str] = set()
    graded: dict[str, Any] = {}
    oracle: Oracle | None = None
    try:
        with _bar(len(unique), "datagen", "fn", config.progress) as bar:
            for chunk, preload in _chunks(unique, config):
                if oracle is None or oracle.preload != preload:
                    if oracle is not None:
                        graded = merge_grading(graded, _described(oracle))
                        oracle.close()
                        report.oracle_restarts += 1
                    oracle = Oracle(config, workers=workers, preload=preload)
                tasks += _process_chunk(oracle, chunk, config, report, ids)
                bar.update(len(chunk))
            if oracle is not None:
                graded = merge_grading(graded, _described(oracle))
                report.grading = graded
    finally:
        if oracle is not None:
            oracle.close()
    report.stage_s["sandbox"] = time.perf_counter() - t0

    # Every reference must pass its own tests in a fresh, default sandbox (the env's).
    if config.verify and tasks:
        t0 = time.perf_counter()
        with make_sandbox(config, workers) as sandbox:
            results = sandbox.run_many(
                [(t.program(t.solutions[0]), t) for t in tasks], progress=config.progress
            )
            report.grading = merge_grading(graded, describe({"verify": sandbox}))
        kept = []
        for task, res in zip(tasks, results, strict=True):
            if res.passed:
                kept.append(task)
            else:
                meta = task.metadata
                detail = f"{res.outcome.value} {res.subtype or ''} {res.message[:200]}"
                report.drops.append(
                    Drop(
                        meta["module"],
                        meta["function"],
                        meta["line"],
                        "verify",
                        "reference_fails",
                        detail,
                    )
                )
        tasks = kept
        report.stage_s["verify"] = time.perf_counter() - t0

    return tasks


def run_datagen(
    sources: Any,
    out: str | os.PathLike[str],
    config: DatagenConfig | None = None,
    report_dir: str | os.PathLike[str] | None = None,
) -> DatagenReport:
    """Generate tasks with unit tests from code, write them and a report.

    Args:
        sources: One source or a list of them: folders, ``.py`` files, installed
            module or package names, ``"stdlib"``, Hugging Face datasets of code
            (a ``datasets.Dataset``, ``"hf:NAME[:SPLIT]"``, or a folder written by
            ``save_to_disk``); see :func:`datagen.extract.find_sources`.
        out: The tasks file (``.jsonl`` or ``.jsonl.gz``), loadable with
            ``code_env.load_tasks(out)``.
        config: Options (:class:`DatagenConfig`); ``config.ray`` grades on a Ray
            cluster (:class:`~code_env.sandbox.RaySandbox`) instead of local
            sandboxes: see :mod:`datagen.grading`.
        report_dir: Where ``report.json``, ``drops.jsonl`` and
            ``mutation_scores.png`` go; default: ``out``'s folder.

    Returns:
        The :class:`DatagenReport` (also written to ``report_dir``). When no task
        survives, ``out`` is not written (an existing file there is removed: a task
        file must hold at least one task).

    Raises:
        FileNotFoundError: A source does not exist.
        ImportError: ``config.ray`` is on and Ray is not installed.
        RayClusterError: ``config.ray`` is on and the cluster cannot be reached, or
            has no room for the grading actors.
    """
    config = config or DatagenConfig()
    started = time.perf_counter()
    single = isinstance(sources, (str, os.PathLike)) or is_dataset(sources)
    source_list = [sources] if single else list(sources)
    if not config.site_packages and any(s == INSTALLED for s in source_list if isinstance(s, str)):
        # The installed distributions' references import their own packages.
        config = dataclasses.replace(config, site_packages=True)
    out_path = Path(out)
    report = DatagenReport(
        [_describe(s) for s in source_list], str(out_path), config=config.to_dict()
    )
    files: list[SourceFile] = []
    seen_paths: set[str] = set()
    in_memory = 0
    for source in source_list:
        if is_dataset(source):  # named dataset, dataset1, ...: their rows must not clash
            name = f"dataset{in_memory or ''}"
            in_memory += 1
            found = dataset_sources(source, name, config.dataset_column)
        else:
            found = find_sources(source, config)
        for f in found:
            if f.path not in seen_paths:
                seen_paths.add(f.path)
                files.append(f)
    report.n_files = len(files)
    workers = _workers(config)

    # Extract and plan, in parallel; then drop near-duplicates (first one wins).
    t0 = time.perf_counter()
    candidates: list[Candidate] = []
    for found, drops, seen in prepare(files, config, workers):
        candidates += found
        report.drops += drops
        report.functions_seen += seen
    unique: list[Candidate] = []
    for cand, first in deduplicate(candidates, lambda c: c.function.dedup_source):
        fn = cand.function
        if first is not None:
            detail = first.function.qualname
            report.drops.append(
                Drop(fn.module, fn.display_name, fn.line, "dedup", "duplicate", detail)
            )
        elif config.max_functions is None or len(unique) < config.max_functions:
            unique.append(cand)
    report.candidates = len(unique)
    report.method_candidates = sum(1 for c in unique if c.function.is_method)
    report.stage_s["extract"] = time.perf_counter() - t0

    with ray_session(config):
        tasks = _grade(unique, config, report, workers)

    for task in tasks:
        sources = task.metadata.get("param_sources", {}).values()
        report.inferred_tasks += any(s in ("usage", "probe") for s in sources)
        report.method_tasks += "class" in task.metadata
        report.tests_per_task.append(len(task.tests))
        report.mutation_scores.append(float(task.metadata["mutation_score"]))
    report.tasks = len(tasks)
    if tasks:
        write_jsonl(tasks, out_path)
    elif out_path.exists():  # no tasks: leave no stale file that looks like this run's
        out_path.unlink()
    report.elapsed_s = time.perf_counter() - started
    report.write(Path(report_dir) if report_dir is not None else out_path.parent)
    return report

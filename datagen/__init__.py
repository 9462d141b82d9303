"""Automatic unit-test data generation from code (the data side of arXiv 2310.13669).

>>> from datagen import DatagenConfig, run_datagen
>>> report = run_datagen("path/to/code", "tasks.jsonl", DatagenConfig(seed=0))  # doctest: +SKIP
>>> from code_env import load_tasks
>>> tasks = load_tasks("tasks.jsonl")  # doctest: +SKIP

Stages, one module each: :mod:`datagen.extract` (problems, signatures, self-contained
references; from folders, packages, the standard library or Hugging Face datasets),
:mod:`datagen.hints` and :mod:`datagen.inputs` (typed inputs), :mod:`datagen.infer`
(types for unhinted parameters, from their use and from trial calls in the sandbox),
:mod:`datagen.oracle` (expected outputs from the sandbox, with the determinism and
side-effect checks), :mod:`datagen.mutation` (mutants, greedy test choice, scores),
:mod:`datagen.dedup`, :mod:`datagen.pipeline` and :mod:`datagen.report`. This package
imports ``code_env`` and never ``agents``.
"""

from datagen.config import DatagenConfig
from datagen.dedup import normalized_key
from datagen.extract import (
    Drop,
    ExtractedFunction,
    SourceFile,
    dataset_sources,
    extract_file,
    find_sources,
)
from datagen.hints import Hint, HintError, Plan, plan_parameters, untyped_parameters
from datagen.infer import Untypable, infer_candidates, parameter_evidence, usage_candidates
from datagen.inputs import generate_inputs
from datagen.mutation import Mutant, greedy_select, kill_matrix, make_mutants, mutation_score
from datagen.oracle import Case, HashSeededSandbox, Labelled, Oracle
from datagen.pipeline import build_task, run_datagen
from datagen.report import DatagenReport

__all__ = [
    "Case",
    "DatagenConfig",
    "DatagenReport",
    "Drop",
    "ExtractedFunction",
    "HashSeededSandbox",
    "Hint",
    "HintError",
    "Labelled",
    "Mutant",
    "Oracle",
    "Plan",
    "SourceFile",
    "Untypable",
    "build_task",
    "dataset_sources",
    "extract_file",
    "find_sources",
    "generate_inputs",
    "greedy_select",
    "infer_candidates",
    "kill_matrix",
    "make_mutants",
    "mutation_score",
    "normalized_key",
    "parameter_evidence",
    "plan_parameters",
    "run_datagen",
    "untyped_parameters",
    "usage_candidates",
]

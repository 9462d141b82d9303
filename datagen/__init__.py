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
:mod:`datagen.dedup`, :mod:`datagen.grading` (local sandboxes, or a Ray cluster's),
:mod:`datagen.values` (test values as prompt text, and exact comparison keys),
:mod:`datagen.pipeline` and :mod:`datagen.report`. This package
imports ``code_env`` and never ``agents``. The names below are imported on first use,
so the command line's parser stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Case": "datagen.oracle",
    "DatagenConfig": "datagen.config",
    "DatagenReport": "datagen.report",
    "Drop": "datagen.extract",
    "ExtractedFunction": "datagen.extract",
    "HashSeededSandbox": "datagen.oracle",
    "Hint": "datagen.hints",
    "HintError": "datagen.hints",
    "Labelled": "datagen.oracle",
    "Mutant": "datagen.mutation",
    "Oracle": "datagen.oracle",
    "Plan": "datagen.hints",
    "SourceFile": "datagen.extract",
    "Untypable": "datagen.infer",
    "build_task": "datagen.pipeline",
    "dataset_sources": "datagen.extract",
    "extract_file": "datagen.extract",
    "find_sources": "datagen.extract",
    "generate_inputs": "datagen.inputs",
    "greedy_select": "datagen.mutation",
    "infer_candidates": "datagen.infer",
    "kill_matrix": "datagen.mutation",
    "make_mutants": "datagen.mutation",
    "mutation_score": "datagen.mutation",
    "normalized_key": "datagen.dedup",
    "parameter_evidence": "datagen.infer",
    "plan_parameters": "datagen.hints",
    "run_datagen": "datagen.pipeline",
    "untyped_parameters": "datagen.hints",
    "usage_candidates": "datagen.infer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'datagen' has no attribute {name!r}")

"""Shared fixtures: where the benchmark data beside the project lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
MBPP_DIR = SHARED_DATA / "mbpp"
APPS_DIR = SHARED_DATA / "apps_sample"

needs_shared_mbpp = pytest.mark.skipif(
    not (MBPP_DIR / "mbpp.jsonl").is_file(),
    reason="MBPP data beside the project (../shared/data/mbpp) is absent",
)
needs_shared_apps = pytest.mark.skipif(
    not APPS_DIR.is_dir(),
    reason="the APPS sample beside the project (../shared/data/apps_sample) is absent",
)

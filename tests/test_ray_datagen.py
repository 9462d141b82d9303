"""datagen on a Ray cluster: the oracle's two sandboxes, the mutants and the final check
run on the nodes of a real two-node loopback cluster (``ray_cluster``), and give the
tasks a local run gives."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import DATAGEN_FAST

from code_env import load_tasks
from datagen import DatagenConfig, run_datagen

#: The datagen tests' quick settings, with a lower mutation-score bar.
FAST = {**DATAGEN_FAST, "min_mutation_score": 0.5}

#: Hinted and unhinted (probed) functions, functions whose tests hold bytes, tuples and
#: sets, and one the oracle drops only because its two sandboxes hash differently (set
#: order shown in a string).
SOURCE = '''
from typing import List, Tuple


def scaled_sum(nums: List[int], offset: int = 0) -> int:
    """Sum the numbers after tripling each one, plus an offset.

    >>> scaled_sum([1, 2], 1)
    10
    """
    total = offset
    for n in nums:
        total += 3 * n
    return total


def count_vowels(text: str) -> int:
    """Count the vowels (a, e, i, o, u) in the text, ignoring case."""
    return sum(1 for ch in text.lower() if ch in "aeiou")


def clamp(x, lo, hi):
    """Clamp x into the closed range from lo to hi."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def swap_halves(data: bytes) -> bytes:
    """Swap the first and the second half of the bytes."""
    middle = len(data) // 2
    return data[middle:] + data[:middle]


def initials(words: List[str]) -> set:
    """The set of the first letters of the non-empty words, in upper case."""
    return {w[0].upper() for w in words if w}


def area(size: Tuple[int, int]) -> int:
    """Area of a rectangle of the given width and height, never negative."""
    width, height = size
    return abs(width * height)


def set_order(words: List[str]) -> str:
    """Join the distinct words in the order a set keeps them."""
    return "|".join(set(words))
'''


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A folder holding :data:`SOURCE` as ``funcs.py``."""
    folder = tmp_path_factory.mktemp("ray_datagen_src")
    (folder / "funcs.py").write_text(textwrap.dedent(SOURCE).lstrip(), encoding="utf-8")
    return folder


def _tasks(path: Path) -> dict[str, tuple]:
    """What defines each task written: prompt, tests, example tests, setup code."""
    return {
        t.task_id: (
            t.prompt,
            [c.to_dict() for c in t.tests],
            [c.to_dict() for c in t.example_tests],
            t.setup_code,
        )
        for t in load_tasks(path)
    }


def test_ray_datagen_gives_the_local_tasks(ray_cluster, source, tmp_path):
    local = run_datagen(source, tmp_path / "local" / "tasks.jsonl", DatagenConfig(**FAST))
    config = DatagenConfig(**FAST, ray=True, ray_address=ray_cluster.address)
    spread = run_datagen(source, tmp_path / "ray" / "tasks.jsonl", config)

    assert local.tasks >= 6, local.summary()
    assert _tasks(tmp_path / "ray" / "tasks.jsonl") == _tasks(tmp_path / "local" / "tasks.jsonl")
    # Bytes, sets and tuples are the tests' own values (the same on both backends).
    for where in ("local", "ray"):
        tasks = {t.entry_point: t for t in load_tasks(tmp_path / where / "tasks.jsonl")}
        assert {"swap_halves", "initials", "area"} <= set(tasks), sorted(tasks)
        swap, initials, area = tasks["swap_halves"], tasks["initials"], tasks["area"]
        assert all(type(t.args[0]) is bytes and type(t.expected) is bytes for t in swap.tests)
        assert all(type(t.expected) is set for t in initials.tests)
        assert all(type(t.args[0]) is tuple for t in area.tests)
        assert ">>> area((" in area.prompt and ">>> swap_halves(b'" in swap.prompt
        assert all(t.setup_code == "" and "adapter" not in t.metadata for t in tasks.values())
    assert spread.dropped == local.dropped  # set_order: nondeterministic in both
    assert spread.dropped.get("nondeterministic") == 1, spread.summary()

    assert local.grading["backend"] == "local"
    grading = json.loads((tmp_path / "ray" / "report.json").read_text())["grading"]
    assert grading["backend"] == "ray" and grading["address"]
    nodes = grading["nodes"]
    assert len(nodes) == 2 and {n["address"] for n in nodes} == {"127.0.0.1"}
    assert all(n["workers"] == 1 and n["programs"] > 0 for n in nodes), nodes
    assert set(grading["sandboxes"]) == {"oracle", "oracle_b", "verify"}
    assert all(s["workers"] == 2 for s in grading["sandboxes"].values()), grading
    assert "graded on the Ray cluster" in spread.summary()


def test_cli_ray_address(ray_cluster, source, tmp_path, capsys):
    from agents.run.cli import main

    out = tmp_path / "tasks.jsonl"
    argv = ["datagen", str(source), "--out", str(out), "--workers", "1", "--quiet"]
    assert main([*argv, "--ray", ray_cluster.address]) == 0
    assert "graded on the Ray cluster" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["ray"] and report["config"]["ray_address"] == ray_cluster.address
    assert len(report["grading"]["nodes"]) == 2 and report["tasks"] == len(load_tasks(out))
    # A source that nargs="?" would take as the address is refused, not dialled.
    assert main(["datagen", "--ray", str(source), "--out", str(out), "--quiet"]) == 2
    assert "not a Ray address" in capsys.readouterr().err


def test_config_and_flag_are_checked():
    import argparse

    from datagen.cli import add_parser, config_from_args

    with pytest.raises(ValueError, match="ray_address"):
        DatagenConfig(ray_address="127.0.0.1:6379")  # an address without ray=True
    with pytest.raises(ValueError, match="ray_address"):
        DatagenConfig(ray=True, ray_address="")
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    bare = config_from_args(parser.parse_args(["datagen", "src", "--ray"]))
    assert (bare.ray, bare.ray_address) == (True, None)
    given = config_from_args(parser.parse_args(["datagen", "--ray=auto", "src"]))
    assert (given.ray, given.ray_address) == (True, "auto")
    assert not config_from_args(parser.parse_args(["datagen"])).ray

"""Mutants of reference solutions: near misses for CodeRL's critics."""

from __future__ import annotations

import difflib

from conftest import TINY

from agents.coderl.critic import OUTCOME_CLASSES, collect_mutant_data
from agents.coderl.mutants import mutants
from code_env import load_tasks

BODY = """    total = 0
    for x in xs:
        if x > 0 and x % 2 == 0:
            total += x  # even ones
    return total
"""


def changed_lines(a: str, b: str) -> list[str]:
    return [
        line
        for line in difflib.ndiff(a.splitlines(), b.splitlines())
        if line.startswith(("-", "+"))
    ]


def test_each_mutant_is_one_edit_in_the_reference_layout():
    found = mutants(BODY, count=100)
    assert len(found) == len(set(found)) >= 10 and BODY not in found
    for mutant in found:
        diff = changed_lines(BODY, mutant)
        # one line changed in place (its indentation and comment kept), or one dropped
        assert [d[0] for d in diff] in (["-", "+"], ["-"]), diff
        if len(diff) == 2:
            old, new = diff[0][2:], diff[1][2:]
            assert len(old) - len(old.lstrip()) == len(new) - len(new.lstrip())
            assert old.endswith("# even ones") == new.endswith("# even ones")
    assert "        if x > 0 or x % 2 == 0:\n" in "".join(found)
    assert any("return None" in m for m in found)
    assert any("total -= x" in m for m in found)
    brackets = mutants("    return sorted(set(xs))[0]\n", count=100)
    assert "    return sorted(set(xs)][0]\n" in brackets  # a wrong closer
    assert "    return sorted(set(xs)[0]\n" in brackets  # a missing one


def test_mutants_are_a_seeded_sample():
    every = mutants(BODY, count=100)
    some = mutants(BODY, count=3, seed="s")
    assert len(some) == 3 and set(some) <= set(every)
    assert some == mutants(BODY, count=3, seed="s")
    assert mutants("def f(:\n    'unclosed\n", count=5) == []


def test_mutants_are_graded_like_sampled_programs(sandbox):
    from agents import Policy

    tasks = load_tasks("builtin", split="train")[:4]
    policy = Policy("tiny", reference=False, tiny_config=TINY)
    data = collect_mutant_data(policy, tasks, sandbox, per_reference=4, seed=0)
    outcome = data["outcome"]
    assert 0 < len(outcome) <= 16
    assert {e.source for e in outcome} == {"mutant"}
    assert {e.task_id for e in outcome} <= {t.task_id for t in tasks}
    # most edits break the reference: failed tests or errors, rarely a pass
    passed = OUTCOME_CLASSES.index("passed")
    assert sum(e.label != passed for e in outcome) > len(outcome) // 2
    assert all(e.label in (0, 1) for e in data["test"])
    prompt = policy.encode_prompts([tasks[0].prompt])[0]
    assert next(e for e in outcome if e.task_id == tasks[0].task_id).prompt_ids == prompt

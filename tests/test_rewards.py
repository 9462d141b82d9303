"""Rewards: the registry, built-ins, entry-point plugins, the TRL adapter, the docs."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest
from conftest import REPO_ROOT

from code_env import Task, TestCase, rewards
from code_env.sandbox import ExecutionResult, Outcome


def result(outcome: Outcome, n_passed: int, n_tests: int = 4) -> ExecutionResult:
    return ExecutionResult(outcome, None, n_passed, n_tests)


TASK = Task(task_id="t/f", prompt="p", tests=[TestCase(kind="call", fn="f", args=[], expected=1)])


@pytest.mark.parametrize(
    ("outcome", "n_passed", "coderl", "binary", "pass_rate", "partial"),
    [
        (Outcome.COMPILE_ERROR, 0, -1.0, 0.0, 0.0, -1.0),
        (Outcome.RUNTIME_ERROR, 2, -0.6, 0.0, 0.5, 0.2),
        (Outcome.FAILED_TEST, 3, -0.3, 0.0, 0.75, 0.675),
        (Outcome.PASSED, 4, 1.0, 1.0, 1.0, 1.0),
    ],
)
def test_builtin_rewards(outcome, n_passed, coderl, binary, pass_rate, partial):
    r = result(outcome, n_passed)
    values = [
        rewards.get(name)(r, TASK, "")
        for name in ("coderl", "binary", "pass_rate", "coderl_partial")
    ]
    assert values == pytest.approx([coderl, binary, pass_rate, partial])
    assert all(type(v) is float for v in values)


def test_registry_names_and_errors():
    assert {"coderl", "binary", "pass_rate", "coderl_partial"} <= set(rewards.names())
    with pytest.raises(ValueError, match=r"unknown reward 'nope'; registered rewards: .*coderl"):
        rewards.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        rewards.register("coderl", lambda r, t, p: 0.0)
    with pytest.raises(TypeError, match="callable"):
        rewards.register("not_callable", 3)  # type: ignore[arg-type]
    assert rewards.get(rewards.binary) is rewards.binary  # callables pass through


def test_a_reward_registered_in_another_module_is_used_by_name(tmp_path, monkeypatch):
    module = tmp_path / "my_team_rewards.py"
    module.write_text(
        textwrap.dedent("""
        from code_env import rewards

        @rewards.register("team_strict")
        def team_strict(result, task, program):
            return 2.0 if result.passed else -2.0
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_team_rewards  # noqa: F401

    env = gym.make("CodeSynthesis-v0", reward="team_strict", max_new_tokens=32)
    env.reset(options={"task_id": "builtin/sum_even"})
    reward, _ = env.unwrapped.score("    return sum(x for x in nums if x % 2 == 0)\n")
    assert reward == 2.0


def test_a_reward_from_an_entry_point_is_used_by_name(tmp_path, monkeypatch):
    """A 'package' installed on sys.path declares a reward under code_env.rewards."""
    (tmp_path / "plugin_rewards.py").write_text(
        "def half(result, task, program):\n    return 0.5 if result.passed else -0.5\n"
    )
    dist = tmp_path / "plugin_rewards-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-rewards\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[code_env.rewards]\nplugin_half = plugin_rewards:half\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(rewards, "_entry_points_loaded", False)
    assert "plugin_half" in rewards.names()
    env = gym.make("CodeSynthesis-v0", reward="plugin_half", max_new_tokens=32)
    env.reset(options={"task_id": "builtin/sum_even"})
    assert env.unwrapped.score("    return 0\n")[0] == -0.5
    rewards._REGISTRY.pop("plugin_half")


def test_trl_adapter_matches_env_score():
    fn = rewards.as_trl_reward("coderl", "builtin")
    assert fn.__name__ == "code_env_coderl"
    env = gym.make("CodeSynthesis-v0", max_new_tokens=64)
    completions = [
        "    return sum(x for x in nums if x % 2 == 0)\n",
        "    return 0\n",
        [{"role": "assistant", "content": "    return (\n"}],
    ]
    ids = ["builtin/sum_even"] * 3
    got = fn(prompts=["p"] * 3, completions=completions, task_id=ids, extra_column=[1, 2, 3])
    expected = [
        env.unwrapped.score(c if isinstance(c, str) else c[0]["content"], i)[0]
        for c, i in zip(completions, ids, strict=True)
    ]
    assert got == expected == [1.0, -0.3, -1.0]
    with pytest.raises(ValueError, match="2 completions but 1 task ids"):
        fn(prompts=["p"], completions=["a", "b"], task_id=["builtin/sum_even"])


def test_the_custom_reward_example_in_the_docs_runs():
    """Every Python block of docs/rewards.md runs, in order, in one namespace."""
    text = (REPO_ROOT / "docs" / "rewards.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/rewards.md has no python example"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/rewards.md", "exec"), namespace)
    assert namespace["checked"] is True  # the docs' last block sets it after its asserts


def test_the_env_docs_exist_with_gymnasium_sections():
    text = (REPO_ROOT / "docs" / "env.md").read_text(encoding="utf-8")
    for section in (
        "Description",
        "Action Space",
        "Observation Space",
        "Rewards",
        "Starting State",
        "Episode End",
        "Arguments",
        "Version History",
    ):
        assert f"## {section}" in text, section


def test_sb3_example_smoke():
    pytest.importorskip("stable_baselines3")
    sys.path.insert(0, str(Path(REPO_ROOT / "examples")))
    try:
        import sb3_ppo
    finally:
        sys.path.pop(0)
    summary = sb3_ppo.main(["--steps", "128", "--n-steps", "64", "--max-new-tokens", "8"])
    assert summary["episodes"] >= 16 and sum(summary["outcomes"].values()) == summary["episodes"]

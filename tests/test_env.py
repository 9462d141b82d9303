"""The CodeSynthesis-v0 environment: registration, spaces, episodes, checkers, scoring."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import code_env
from code_env import Task, TestCase, rewards
from code_env.env import CodeSynthesisEnv
from code_env.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def env():
    environment = gym.make("CodeSynthesis-v0", max_new_tokens=64)
    yield environment
    environment.close()


def step_text(environment, text: str, task_id: str):
    """Reset on a task and step the tokens of ``text`` plus end-of-text, as an agent
    would (the tokenizer directly, not the env's own helper)."""
    base = environment.unwrapped
    environment.reset(seed=0, options={"task_id": task_id})
    ids = base.tokenizer.encode(text, add_special_tokens=False)
    ids = [*ids, base.eos_id][: base.max_new_tokens]
    total, info = 0.0, {}
    for token in ids:
        _, reward, terminated, truncated, info = environment.step(token)
        total += reward
        assert not truncated
        if terminated:
            break
    return total, info, ids


# --- registration ---------------------------------------------------------------------


def test_registered_and_makeable_with_defaults(env):
    assert code_env.ENV_ID in gym.registry
    base = env.unwrapped
    assert isinstance(base, CodeSynthesisEnv)
    assert base.tokenizer.name_or_path == "code_env" and len(base.tokenizer) == 8192
    assert base.reward_fn is rewards.get("coderl")
    assert env.spec.max_episode_steps is None  # no TimeLimit truncating programs


def test_module_prefix_makes_it_from_a_fresh_interpreter():
    code = (
        "import gymnasium as gym\n"
        "env = gym.make('code_env:CodeSynthesis-v0', max_new_tokens=8)\n"
        "obs, info = env.reset(seed=1)\n"
        "print(info['task_id'], obs['input_ids'].shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("builtin/")


# --- spaces and observations ------------------------------------------------------------


def test_spaces(env):
    base = env.unwrapped
    length = base.max_prompt_tokens + base.max_new_tokens
    assert env.action_space == gym.spaces.Discrete(8192)
    ids_space = env.observation_space["input_ids"]
    assert ids_space.shape == (length,) and ids_space.dtype == np.int64
    assert ids_space.high.max() == 8191
    assert env.observation_space["attention_mask"].dtype == np.int8


def test_observation_is_right_aligned_and_fresh_each_step(env):
    obs, info = env.reset(seed=3)
    base = env.unwrapped
    n = info["prompt_tokens"]
    assert obs["attention_mask"].sum() == n and obs["attention_mask"][-n:].all()
    assert (obs["input_ids"][:-n] == base.pad_id).all()
    token = base.tokenizer.encode("    return", add_special_tokens=False)[0]
    obs2, reward, terminated, truncated, info2 = env.step(token)
    assert obs2["input_ids"][-1] == token and obs2["attention_mask"].sum() == n + 1
    assert obs["input_ids"][-1] != token  # the first observation was not mutated
    assert (reward, terminated, truncated, info2) == (0.0, False, False, {})
    assert type(reward) is float


def test_long_prompts_keep_their_end():
    task = Task(
        task_id="t/long",
        prompt="# filler\n" * 300 + "def f(x):\n",
        tests=[TestCase(kind="call", fn="f", args=[1], expected=1)],
        entry_point="f",
    )
    environment = CodeSynthesisEnv(tasks=[task], max_prompt_tokens=16, max_new_tokens=4)
    obs, info = environment.reset(seed=0)
    assert info["prompt_tokens"] == 16
    text = environment.tokenizer.decode(obs["input_ids"][obs["attention_mask"] == 1])
    assert text.endswith("def f(x):\n")


def test_invalid_actions_are_clear_errors(env):
    env.reset(seed=0)
    for bad in (8192, -1, 3.5, "a"):
        with pytest.raises(ValueError, match=r"8192"):
            env.unwrapped.step(bad)


def test_action_masks(env):
    mask = env.unwrapped.action_masks()
    base = env.unwrapped
    assert mask.shape == (8192,) and mask.dtype == bool
    assert mask[base.eos_id] and not mask[base.pad_id] and mask.sum() == 8191


def test_render_ansi():
    environment = gym.make("CodeSynthesis-v0", render_mode="ansi", max_new_tokens=8)
    environment.reset(seed=0, options={"task_id": "builtin/sum_even"})
    base = environment.unwrapped
    for token in base.tokenizer.encode("    return 0", add_special_tokens=False):
        environment.step(token)
    assert environment.render().endswith('"""\n    return 0')


# --- episodes ---------------------------------------------------------------------------


def test_reset_draws_tasks_from_the_seed(env):
    first = [env.reset(seed=s)[1]["task_id"] for s in range(5)]
    again = [env.reset(seed=s)[1]["task_id"] for s in range(5)]
    assert first == again and len(set(first)) > 1
    with pytest.raises(ValueError, match="unknown task_id"):
        env.reset(options={"task_id": "nope"})


def test_a_correct_program_earns_plus_one_and_full_info(env):
    reward, info, _ = step_text(
        env, "    return sum(x for x in nums if x % 2 == 0)\n", "builtin/sum_even"
    )
    assert reward == 1.0
    assert info["outcome"] == "passed" and info["subtype"] is None
    assert info["n_passed"] == info["n_tests"] == 6
    assert info["task_id"] == "builtin/sum_even" and "def sum_even" in info["program"]


@pytest.mark.parametrize(
    ("body", "reward", "outcome"),
    [
        ("    return 0\n", -0.3, "failed_test"),
        ("    return nums[99]\n", -0.6, "runtime_error"),
        ("    return (\n", -1.0, "compile_error"),
    ],
)
def test_coderl_rewards(env, body, reward, outcome):
    got, info, _ = step_text(env, body, "builtin/sum_even")
    assert (got, info["outcome"]) == (reward, outcome)


def test_episode_ends_at_max_new_tokens_and_step_after_end_raises():
    environment = gym.make("CodeSynthesis-v0", max_new_tokens=3)
    environment.reset(seed=0)
    space_id = environment.unwrapped.tokenizer.encode(" ", add_special_tokens=False)[0]
    results = [environment.step(space_id) for _ in range(3)]
    assert [r[2] for r in results] == [False, False, True]
    assert results[-1][4]["outcome"] in ("failed_test", "runtime_error", "compile_error")
    with pytest.raises(RuntimeError, match="reset"):
        environment.unwrapped.step(space_id)


def test_stdio_tasks_episode(env):
    program = "print(sum(map(int, input().split())))\n"
    reward, info, _ = step_text(env, program, "builtin/stdio_sum")
    assert (reward, info["outcome"]) == (1.0, "passed")


# --- checkers ---------------------------------------------------------------------------


def test_gymnasium_check_env_with_the_shipped_tokenizer():
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make("CodeSynthesis-v0", max_new_tokens=16).unwrapped, skip_render_check=True)


def test_gymnasium_check_env_with_a_gpt2_style_tokenizer(gpt2_tokenizer):
    from gymnasium.utils.env_checker import check_env

    environment = CodeSynthesisEnv(tokenizer=gpt2_tokenizer, max_new_tokens=16)
    assert environment.action_space.n == len(gpt2_tokenizer)
    check_env(environment, skip_render_check=True)


def test_stable_baselines3_check_env(gpt2_tokenizer):
    sb3_check = pytest.importorskip("stable_baselines3.common.env_checker").check_env
    sb3_check(gym.make("CodeSynthesis-v0", max_new_tokens=16).unwrapped, warn=True)
    sb3_check(CodeSynthesisEnv(tokenizer=gpt2_tokenizer, max_new_tokens=16), warn=True)


# --- scoring without stepping -------------------------------------------------------------


def test_score_equals_the_stepped_reward_across_kinds(env):
    base = env.unwrapped
    rng = np.random.default_rng(0)
    by_kind: dict[str, list[Task]] = {"call": [], "assert": [], "stdio": []}
    for task in base.tasks:
        by_kind[task.tests[0].kind].append(task)
    cases = []
    for tasks in by_kind.values():
        for task in tasks[:6]:
            cases.append((task, task.solutions[0]))  # reference completions
            cases.append((task, "    return None\n" if task.entry_point else "print(1)\n"))
            cases.append((task, "    return (\n"))
            random_ids = rng.integers(2, 8192, size=int(rng.integers(1, 12))).tolist()
            cases.append((task, base.tokenizer.decode(random_ids)))  # random tokens
    assert len(cases) >= 50
    scored = base.score_many([c for _, c in cases], [t.task_id for t, _ in cases])
    outcomes = set()
    for (task, completion), (reward, result) in zip(cases, scored, strict=True):
        stepped, info, _ = step_text(env, completion, task.task_id)
        assert stepped == reward, (task.task_id, completion)
        assert info["outcome"] == result.outcome.value
        assert base.score(completion, task.task_id)[0] == reward
        outcomes.add(info["outcome"])
    assert outcomes == {"passed", "failed_test", "runtime_error", "compile_error"}


def test_score_with_a_dense_reward_equals_the_episode_return():
    penalty = rewards.LengthPenalty("coderl", cost=0.01)
    environment = gym.make("CodeSynthesis-v0", reward=penalty, max_new_tokens=64)
    body = "    return sum(x for x in nums if x % 2 == 0)\n"
    stepped, _, ids = step_text(environment, body, "builtin/sum_even")
    scored, _ = environment.unwrapped.score(body, "builtin/sum_even")
    assert stepped == pytest.approx(scored) == pytest.approx(1.0 - 0.01 * len(ids))


# --- bad input at make time ----------------------------------------------------------------


def test_bad_arguments_are_clear_errors(gpt2_tokenizer):
    with pytest.raises(ValueError, match=r"unknown reward 'nope'.*coderl"):
        gym.make("CodeSynthesis-v0", reward="nope")
    with pytest.raises(ValueError, match="unknown task source"):
        gym.make("CodeSynthesis-v0", tasks="no-such-benchmark")
    with pytest.raises(ValueError, match="max_new_tokens"):
        gym.make("CodeSynthesis-v0", max_new_tokens=0)
    with pytest.raises(code_env.TaskFormatError, match="at least one hidden test"):
        gym.make("CodeSynthesis-v0", tasks=[Task(task_id="t", prompt="p", tests=[])])
    no_eos = load_tokenizer(None)
    no_eos.eos_token = None
    with pytest.raises(ValueError, match="no end-of-text token"):
        gym.make("CodeSynthesis-v0", tokenizer=no_eos)
    with pytest.raises(ValueError, match="action_size"):
        CodeSynthesisEnv(tokenizer=gpt2_tokenizer, action_size=10)


# --- vector envs ----------------------------------------------------------------------------


def test_sync_vector_env_autoresets():
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("CodeSynthesis-v0", max_new_tokens=2) for _ in range(3)]
    )
    obs, _ = envs.reset(seed=0)
    assert obs["input_ids"].shape[0] == 3
    eos = envs.envs[0].unwrapped.eos_id
    _, rewards_, terminated, _, infos = envs.step(np.array([eos] * 3))
    assert terminated.all() and (rewards_ == -0.3).sum() + (rewards_ == -1.0).sum() >= 0
    assert set(infos["outcome"]) <= {"passed", "failed_test", "runtime_error", "compile_error"}
    # next-step autoreset: the step after an episode's end resets that copy
    _, rewards_, terminated, _, _ = envs.step(np.array([eos] * 3))
    assert not terminated.any() and (rewards_ == 0.0).all()
    envs.close()


def test_async_vector_env_grades_in_each_process():
    envs = gym.vector.AsyncVectorEnv(
        [lambda: gym.make("CodeSynthesis-v0", max_new_tokens=2) for _ in range(2)]
    )
    try:
        envs.reset(seed=0)
        eos = 0
        _, rewards_, terminated, _, infos = envs.step(np.array([eos, eos]))
        assert terminated.all() and (rewards_ < 0).all()
        assert set(infos["outcome"]) <= {"failed_test", "runtime_error", "compile_error"}
    finally:
        envs.close()


def test_shared_sandbox_has_one_worker_in_a_child_process(tmp_path):
    code = (
        "import multiprocessing as mp\n"
        "def probe(q):\n"
        "    from code_env.scoring import shared_sandbox\n"
        "    q.put(shared_sandbox().n_workers)\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('spawn'); q = ctx.Queue()\n"
        "    p = ctx.Process(target=probe, args=(q,)); p.start(); print(q.get()); p.join()\n"
    )
    script = tmp_path / "probe.py"  # spawn re-imports the main module: it needs a file
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"

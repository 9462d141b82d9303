"""RaySandbox on a real two-node Ray cluster (loopback only, no mocks): placement,
verdicts equal to the local Sandbox, futures, a node lost and an actor killed mid-batch,
nodes joining, the env and the TRL adapter grading through it, and clear errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
from conftest import REPO_ROOT, load_script

from code_env import Task, TestCase, load_tasks, rewards
from code_env.sandbox import (
    ExecutionResult,
    Limits,
    Outcome,
    RaySandbox,
    Sandbox,
)

# The hostile programs of the adversarial suite that need no per-test set-up.
HOSTILE = (
    "infinite_loop_in_test",
    "alarm0_then_loop",
    "memory_bomb_huge_list",
    "deep_recursion",
    "segfault_ctypes",
    "posix_fork_bomb",
    "thread_bomb",
    "gigabyte_of_stderr",
    "os_exit_0",
    "always_equal_object",
    "fake_results_on_every_fd",
    "kill_worker",
    "killpg_worker_group",
    "killpg_own_group",
)
FAST = Limits(timeout_s=1.0, memory_mb=256)


def verdict(result: ExecutionResult) -> tuple:
    """What must agree between sandboxes: not timings, caching or layers."""
    return (
        result.outcome,
        result.subtype,
        result.n_passed,
        result.n_tests,
        tuple((t.passed, t.error) for t in result.tests),
    )


@pytest.fixture(scope="module")
def builtin():
    return load_tasks("builtin")


@pytest.fixture(scope="module")
def rsb(ray_cluster):
    """One RaySandbox for the module: an actor of one worker on each node; the node
    list is read every second while there is work, so that a node that joins is used
    within the test's patience."""
    with RaySandbox(
        ray_cluster.address, workers_per_node=1, cluster_timeout_s=60, node_refresh_s=1.0
    ) as sandbox:
        yield sandbox


def references(tasks, tag: str = "") -> list[tuple[str, Task]]:
    """Each task's reference, made distinct by ``tag`` so that no cache answers it."""
    return [(t.program(t.solutions[0]) + f"\n# {tag}\n", t) for t in tasks if t.solutions]


def test_one_actor_on_each_node(ray_cluster, rsb, builtin):
    import ray

    nodes = rsb.nodes
    assert [n.state for n in nodes] == ["ready", "ready"]
    assert {n.node_id for n in nodes} == {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert {n.address for n in nodes} == {"127.0.0.1"}
    assert rsb.n_workers == 2 and "rlimits" in rsb.layers
    rsb.run_many(references(builtin, "spread"))
    assert all(n.programs > 0 for n in rsb.nodes), rsb.nodes


def test_verdicts_equal_the_local_sandbox(rsb, sandbox, builtin):
    adversarial = load_script(REPO_ROOT / "tests" / "test_sandbox_adversarial.py", "adv_suite")
    attacks = {a.id: a for a in adversarial.ATTACKS}
    func = adversarial.TASKS["func"]
    stdio = next(t for t in builtin if t.entry_point is None)
    function = next(t for t in builtin if t.entry_point is not None)
    items: list[tuple[str, Task]] = references(builtin, "equal")
    items += [
        ("def broken(:\n", function),  # compile error
        (f"def {function.entry_point}(*a, **k):\n    return None\n", function),  # wrong
        (f"def {function.entry_point}(*a, **k):\n    return [][1]\n", function),  # raises
        ("import sys\nprint(sys.stdin.read()[::-1])\n", stdio),  # wrong output
        ("raise ValueError('at import')\n", stdio),
    ]
    hostile = [(attacks[name].source, adversarial.TASKS[attacks[name].task]) for name in HOSTILE]
    items += hostile
    local = sandbox.run_many(items, limits=FAST)
    remote = rsb.run_many(items, limits=FAST)
    assert [verdict(r) for r in remote] == [verdict(r) for r in local]
    n_refs = len(items) - len(hostile) - 5
    assert all(r.passed for r in remote[:n_refs])
    outcomes = [r.outcome for r in remote[n_refs : n_refs + 5]]
    assert outcomes == [
        Outcome.COMPILE_ERROR,
        Outcome.FAILED_TEST,
        Outcome.RUNTIME_ERROR,
        Outcome.FAILED_TEST,
        Outcome.RUNTIME_ERROR,
    ]
    for name, result in zip(HOSTILE, remote[-len(hostile) :], strict=True):
        assert result.outcome in attacks[name].outcomes, (name, result.outcome, result.subtype)
        assert result.outcome is not Outcome.PASSED, name
    # The timeouts really ran to their deadline on the cluster too.
    assert remote[-len(hostile)].subtype == "timeout"
    assert rsb.run(adversarial.CORRECT, func, limits=FAST).passed


def test_submit_returns_futures_on_both(rsb, sandbox, builtin):
    task = builtin[3]
    program = task.program(task.solutions[0]) + "\n# submit\n"
    futures = [s.submit(program, task) for s in (sandbox, rsb)]
    assert all(isinstance(f, Future) for f in futures)
    results = [f.result(timeout=60) for f in futures]
    assert [verdict(r) for r in results] == [verdict(results[0])] * 2 and results[0].passed
    # An identical program already graded is answered from the cache, at once.
    again = rsb.submit(program, task)
    assert again.done() and again.result().cached
    # A whole batch in flight at once: the futures resolve in any order, each to its own.
    items = references(builtin[:20], "futures")
    batch = [rsb.submit(p, t) for p, t in items]
    assert all(f.result(timeout=60).passed for f in batch)
    with pytest.raises(ValueError, match="stdio tests cannot be mixed"):
        mixed = [TestCase(kind="stdio", input="", expected=""), *task.tests]
        rsb.submit(program, task, tests=mixed)


def test_actor_killed_mid_batch_every_verdict_back(ray_cluster, rsb, builtin):
    import ray

    items = references(builtin, "kill") * 1
    retried = rsb.stats.retried
    futures = rsb._submit_all(items, tests=None, limits=None, stop=False)
    time.sleep(0.3)
    victim = rsb._graders[0]
    ray.kill(victim.handle, no_restart=False)  # Ray restarts it on its node
    results = [f.result(timeout=120) for f in futures]
    assert all(r.passed for r in results), [r.message for r in results if not r.passed][:3]
    assert rsb.stats.actors_lost >= 1 and rsb.stats.retried > retried
    deadline = time.monotonic() + 60
    while [n.state for n in rsb.nodes].count("ready") < 2 and time.monotonic() < deadline:
        rsb.run_many(references(builtin[:4], f"wait {time.monotonic()}"))
        time.sleep(0.2)
    assert [n.state for n in rsb.nodes].count("ready") == 2, rsb.nodes


def test_retries_are_bounded_then_killed(ray_cluster, builtin):
    import ray

    # A second sandbox beside the module's: its actors reserve no CPU, so Ray places
    # them on the nodes the first one holds.
    with RaySandbox(
        ray_cluster.address, workers_per_node=1, cpus_per_worker=0, max_retries=0
    ) as rsb:
        items = references(builtin, "bounded")
        # Generous limits: on a loaded machine a reference that runs past the default
        # 4 s would be a timeout, which is not what this test is about.
        futures = rsb._submit_all(items, tests=None, limits=Limits(timeout_s=60), stop=False)
        time.sleep(0.3)
        ray.kill(rsb._graders[0].handle, no_restart=True)
        results = [f.result(timeout=120) for f in futures]
    killed = [r for r in results if not r.passed]
    assert killed, "the actor was killed after every chunk had come back"
    assert all(
        (r.outcome, r.subtype) == (Outcome.RUNTIME_ERROR, "killed") and "died 1 times" in r.message
        for r in killed
    ), [(r.outcome, r.subtype, r.message) for r in killed][:3]
    assert len(killed) < len(items)  # the other actor's programs were unaffected


def test_actors_preload_modules(ray_cluster):
    # preload reaches every actor's sandbox: fractions is not among the modules every
    # worker imports anyway.
    program = "import sys\n\ndef f():\n    return 'fractions' in sys.modules\n"
    task = Task(
        task_id="t/preload",
        prompt="p",
        entry_point="f",
        tests=[TestCase(kind="call", fn="f", args=[], expected=True)],
    )
    with RaySandbox(
        ray_cluster.address, workers_per_node=1, cpus_per_worker=0, preload=("fractions",)
    ) as rsb:
        assert rsb.run(program, task).passed


def test_node_lost_mid_batch_then_a_node_joins(ray_cluster, rsb, builtin):
    head_pid = next(n.pid for n in rsb.nodes if n.node_id == _head_node_id())
    items = references(builtin, "node loss") * 2
    items = [(p + f"# copy {i}\n", t) for i, (p, t) in enumerate(items)]
    lost_before = rsb.stats.actors_lost
    futures = rsb._submit_all(items, tests=None, limits=None, stop=False)
    time.sleep(0.5)
    worker_node = next(iter(ray_cluster.worker_nodes))
    ray_cluster.remove_node(worker_node)
    results = [f.result(timeout=120) for f in futures]
    assert len(results) == len(items) and all(r.passed for r in results)
    assert rsb.stats.actors_lost > lost_before
    assert [n.pid for n in rsb.nodes if n.state == "ready"] == [head_pid]

    ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    deadline = time.monotonic() + 60
    while len([n for n in rsb.nodes if n.state == "ready"]) < 2:
        assert time.monotonic() < deadline, f"the new node got no actor: {rsb.nodes}"
        rsb.run_many(references(builtin[:4], f"join {time.monotonic()}"))
        time.sleep(0.2)
    rsb.run_many(references(builtin, "after join"))
    assert all(n.programs > 0 for n in rsb.nodes if n.state == "ready")


def _head_node_id() -> str:
    import ray

    return next(
        n["NodeID"]
        for n in ray.nodes()
        if n["Alive"] and "node:__internal_head__" in n["Resources"]
    )


def test_env_and_trl_adapter_grade_through_it(rsb, sandbox, builtin):
    import gymnasium as gym

    import code_env  # noqa: F401  (registers the env)

    train = [t for t in builtin if t.split == "train" and t.entry_point][:12]
    env = gym.make("CodeSynthesis-v0", tasks=train, sandbox=rsb)
    local_env = gym.make("CodeSynthesis-v0", tasks=train, sandbox=sandbox)
    for task in train[:4]:
        completions = [task.solutions[0], "    return None\n", "    return [][1]\n"]
        for completion in completions:
            remote_reward, remote = env.unwrapped.score(completion, task_id=task.task_id)
            local_reward, local = local_env.unwrapped.score(completion, task_id=task.task_id)
            assert (remote_reward, verdict(remote)) == (local_reward, verdict(local))
    # Stepping token by token ends in the same reward as scoring the text.
    env.reset(seed=0, options={"task_id": train[0].task_id})
    tokenizer = env.unwrapped.tokenizer
    ids = [*tokenizer.encode(train[0].solutions[0]), tokenizer.eos_token_id]
    for token in ids:
        _, reward, terminated, _, info = env.step(token)
        if terminated:
            break
    assert terminated and info["outcome"] == "passed" and reward == 1.0

    remote_fn = rewards.as_trl_reward("coderl", train, sandbox=rsb)
    local_fn = rewards.as_trl_reward("coderl", train, sandbox=sandbox)
    ids = [t.task_id for t in train]
    completions = [t.solutions[0] if i % 2 else "    return 0\n" for i, t in enumerate(train)]
    assert remote_fn(None, completions, ids) == local_fn(None, completions, ids)


def test_unreachable_address_is_a_clear_error_at_once():
    with socket.socket() as s:  # a loopback port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # ray.init is already connected in this process (the module's cluster); the check
    # runs in a fresh interpreter, where RaySandbox must call ray.init itself.
    code = textwrap.dedent(
        f"""
        import time
        from code_env.sandbox import RaySandbox, RayClusterError
        start = time.monotonic()
        try:
            RaySandbox("127.0.0.1:{port}")
        except RayClusterError as exc:
            print("ERROR", round(time.monotonic() - start, 1), exc)
        """
    )
    out = _python(code, timeout=60)
    assert "ERROR" in out and f"127.0.0.1:{port}" in out and "nothing answers" in out, out
    assert float(out.split("ERROR")[1].split()[0]) < 15, out


def test_no_address_starts_a_local_ray_on_loopback_and_stops_it():
    code = textwrap.dedent(
        """
        from code_env import load_tasks
        from code_env.sandbox import RaySandbox
        import ray
        tasks = [t for t in load_tasks("builtin") if t.solutions][:6]
        with RaySandbox(workers_per_node=1) as rsb:
            results = rsb.run_many([(t.program(t.solutions[0]), t) for t in tasks])
            print("PASSED", sum(r.passed for r in results))
            print("NODES", [n.address for n in rsb.nodes], rsb.address)
        print("AFTER", ray.is_initialized())
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)  # RaySandbox must set it itself
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        env=env,
    )
    out = proc.stdout + proc.stderr[-2000:]
    assert "PASSED 6" in out and "NODES ['127.0.0.1']" in out and "AFTER False" in out, out
    assert "127.0.0.1:" in out.split("NODES")[1].splitlines()[0], out


def test_whole_cluster_gone_is_a_clear_error_not_a_hang(ray_cluster, tmp_path):
    from ray.cluster_utils import Cluster

    other = Cluster(
        initialize_head=True,
        connect=False,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    address = other.address
    try:
        code = textwrap.dedent(
            f"""
            import sys, time
            from code_env import load_tasks
            from code_env.sandbox import Limits, RaySandbox, RayClusterError
            tasks = [t for t in load_tasks("builtin") if t.solutions][:8]
            # patient enough for a loaded machine: the test is about the cluster going
            rsb = RaySandbox({other.address!r}, workers_per_node=1, cluster_timeout_s=20,
                             limits=Limits(timeout_s=30))
            assert all(r.passed for r in rsb.run_many([(t.program(t.solutions[0]), t) for t in tasks]))
            print("READY", flush=True)
            sys.stdin.readline()
            start = time.monotonic()
            try:
                rsb.run_many([(t.program(t.solutions[0]) + "# again", t) for t in tasks])
                print("NO ERROR")
            except RayClusterError as exc:
                print("ERROR", round(time.monotonic() - start, 1), exc, flush=True)
            try:
                rsb.run(tasks[0].program(tasks[0].solutions[0]) + "# later", tasks[0])
            except RayClusterError:
                print("LATER ERROR", flush=True)
            import os
            os._exit(0)  # Ray's own exit handlers would wait for the dead cluster
            """
        )
        errors = tmp_path / "stderr.txt"
        with errors.open("w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=REPO_ROOT,
            )
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        assert line.startswith("READY"), (line, errors.read_text()[-2000:])
        other.shutdown()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=120)
    finally:
        other.shutdown()
    assert "ERROR" in out and address in out and "NO ERROR" not in out, out
    assert "LATER ERROR" in out, out


def test_missing_ray_is_an_import_error_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'code-synthesis-rl\[ray\]'"):
        RaySandbox()


def test_unknown_arguments_are_named():
    with pytest.raises(TypeError, match=r"workers.*workers_per_node"):
        RaySandbox(workers=4)
    with pytest.raises(ValueError, match="workers_per_node"):
        RaySandbox(workers_per_node=0)


def _python(code: str, timeout: float) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(REPO_ROOT),
    )
    return proc.stdout + proc.stderr[-2000:]


def test_local_sandbox_submit_shares_a_running_duplicate(builtin):
    task = builtin[0]
    program = task.program(task.solutions[0])
    with Sandbox(workers=1) as local:
        first, second = local.submit(program, task), local.submit(program, task)
        assert first is not second
        a, b = first.result(timeout=30), second.result(timeout=30)
        assert verdict(a) == verdict(b) and not a.cached and b.cached
        assert local.stats.executed == 1 and local.stats.programs == 2

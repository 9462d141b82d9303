"""Where datagen grades: local sandboxes, or sandboxes spread over a Ray cluster.

Datagen's sandbox runs (type probes, the oracle's two passes, mutants, the final
verification) go through :func:`make_sandbox`: a local
:class:`~code_env.sandbox.Sandbox`, or with ``config.ray`` a
:class:`~code_env.sandbox.RaySandbox` with the same arguments, one grading actor per
node. Extraction (parsing files, planning inputs) always runs in local processes: it
runs no untrusted code and is cheap next to the sandbox stages.

:func:`ray_session` keeps one Ray connection for the whole run, so that a local Ray
started for the oracle is not shut down and started again for the verification;
:func:`describe` says where programs ran, for the report.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from code_env.sandbox import BaseSandbox, Limits, RaySandbox, Sandbox
from datagen.config import DatagenConfig

#: CPUs each Ray grading actor reserves per sandbox worker. The oracle's two sandboxes
#: (two hash seeds) are alive at once with one actor each on every node, sized to the
#: node's CPUs: at half a CPU per worker the two together reserve the node, no more.
RAY_CPUS_PER_WORKER = 0.5


def make_sandbox(
    config: DatagenConfig,
    workers: int,
    *,
    hash_seed: int = 0,
    limits: Limits | None = None,
    preload: Sequence[str] = (),
    cpus_per_worker: float = RAY_CPUS_PER_WORKER,
) -> BaseSandbox:
    """A sandbox for datagen's runs, with no result cache (every run is new).

    Args:
        config: ``site_packages``, and ``ray``/``ray_address`` for where to grade.
        workers: Local sandbox workers. Unused with Ray: each node's actor has one
            worker per CPU of its node, as Ray counts them.
        hash_seed: The workers' ``PYTHONHASHSEED`` (0: the sandbox's default).
        limits: Default limits (None: the sandbox's defaults, the env's).
        preload: Modules each worker imports once, before its first program
            (:class:`~code_env.sandbox.Sandbox`'s ``preload``).
        cpus_per_worker: With Ray, the CPUs each worker reserves on its node.
    """
    if config.ray:
        return RaySandbox(
            config.ray_address,
            limits=limits,
            cpus_per_worker=cpus_per_worker,
            cache_size=0,
            site_packages=config.site_packages,
            hash_seed=hash_seed,
            preload=tuple(preload),
        )
    return Sandbox(
        workers=workers,
        limits=limits,
        cache_size=0,
        site_packages=config.site_packages,
        hash_seed=hash_seed,
        preload=tuple(preload),
    )


@contextlib.contextmanager
def ray_session(config: DatagenConfig) -> Iterator[None]:
    """Hold one Ray connection while the block runs, when ``config.ray`` is on.

    A RaySandbox that starts a local Ray shuts it down when it is the last one
    closed; the pipeline closes the oracle's sandboxes before it opens the verifying
    one, which would start (and wait for) a second local Ray. So the run joins Ray
    itself (``config.ray_address``, else ``RAY_ADDRESS``, else a new local Ray on the
    loopback address with no dashboard, never another cluster that happens to run on
    this machine), and leaves it at the end. A Ray this process had already joined is
    used and left running.

    Raises:
        ImportError: Ray is not installed (with the install hint).
        RayClusterError: The cluster cannot be reached.
    """
    if not config.ray:
        yield
        return
    from code_env.sandbox.cluster import join_ray, leave_ray

    ray, _ = join_ray(config.ray_address)
    try:
        yield
    finally:
        leave_ray(ray)


def describe(sandboxes: Mapping[str, BaseSandbox]) -> dict[str, Any]:
    """Where the named sandboxes graded, as plain data for the report.

    Local: ``{"backend": "local", "workers": w, "sandboxes": {name: {"workers",
    "programs"}}}``. Ray adds the cluster's ``address`` and ``nodes``: per node its
    id, address, workers (of each sandbox's actor there) and programs graded there
    by all the sandboxes together.
    """
    per_sandbox = {
        name: {"workers": sb.n_workers, "programs": sb.stats.programs}
        for name, sb in sandboxes.items()
    }
    rays = [sb for sb in sandboxes.values() if isinstance(sb, RaySandbox)]
    if not rays:
        workers = max((s["workers"] for s in per_sandbox.values()), default=0)
        return {"backend": "local", "workers": workers, "sandboxes": per_sandbox}
    nodes: dict[str, dict[str, Any]] = {}
    for name, sb in sandboxes.items():
        if not isinstance(sb, RaySandbox):
            continue
        workers = 0
        for g in sb.nodes:
            node = nodes.setdefault(
                g.node_id,
                {"node_id": g.node_id, "address": g.address, "workers": 0, "programs": 0},
            )
            node["workers"] = max(node["workers"], g.workers)
            node["programs"] += g.programs
            if g.state != "lost":
                workers += g.workers
        # n_workers counts ready actors only; the report wants every live one's.
        per_sandbox[name]["workers"] = workers
    return {
        "backend": "ray",
        "address": rays[0].address,
        "nodes": sorted(nodes.values(), key=lambda n: (n["address"], n["node_id"])),
        "sandboxes": per_sandbox,
    }


def merge_grading(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Two :func:`describe` results of sandboxes used one after the other under the
    same names (an oracle replaced by the next): programs summed per sandbox and per
    node, workers the most seen."""
    if not before:
        return dict(after)
    merged = {**after, "sandboxes": {}}
    for name in {**before.get("sandboxes", {}), **after.get("sandboxes", {})}:
        one = before.get("sandboxes", {}).get(name, {"workers": 0, "programs": 0})
        two = after.get("sandboxes", {}).get(name, {"workers": 0, "programs": 0})
        merged["sandboxes"][name] = {
            "workers": max(one["workers"], two["workers"]),
            "programs": one["programs"] + two["programs"],
        }
    if "workers" in before or "workers" in after:
        merged["workers"] = max(before.get("workers", 0), after.get("workers", 0))
    if "nodes" in before or "nodes" in after:
        nodes: dict[str, dict[str, Any]] = {}
        for node in [*before.get("nodes", []), *after.get("nodes", [])]:
            seen = nodes.setdefault(node["node_id"], {**node, "workers": 0, "programs": 0})
            seen["workers"] = max(seen["workers"], node["workers"])
            seen["programs"] += node["programs"]
        merged["nodes"] = sorted(nodes.values(), key=lambda n: (n["address"], n["node_id"]))
    return merged


def summary_line(grading: Mapping[str, Any]) -> str:
    """One line for the terminal: where the run graded."""
    if not grading:
        return "graded: nothing run in the sandbox"
    if grading.get("backend") != "ray":
        return f"graded locally: {_count(grading.get('workers', 0), 'sandbox worker')}"
    nodes = grading.get("nodes", [])
    parts = ", ".join(
        f"{n['address']} ({_count(n['workers'], 'worker')}, {_count(n['programs'], 'program')})"
        for n in nodes
    )
    where = f"graded on the Ray cluster at {grading.get('address')}"
    return f"{where}: {_count(len(nodes), 'node')}: {parts}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"

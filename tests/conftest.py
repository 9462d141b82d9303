"""Shared fixtures: where the benchmark data beside the project lives, a sandbox per
module, and the tiny model's test size."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

# Ray, where a test starts it, gives every node 127.0.0.1 (read when ray is first
# imported) and sends no usage statistics: nothing a test starts listens on, or talks
# to, another address.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
MBPP_DIR = SHARED_DATA / "mbpp"
APPS_DIR = SHARED_DATA / "apps_sample"

#: A one-layer tiny model: the agents' tests train it in seconds.
TINY = {"n_layer": 1, "n_embd": 32, "n_head": 2}

#: Datagen settings for tests, small and quick: few inputs, short time limits, one
#: sandbox worker.
DATAGEN_FAST = {
    "workers": 1,
    "progress": False,
    "max_inputs": 8,
    "min_tests": 3,
    "max_tests": 6,
    "case_timeout_s": 0.5,
    "function_timeout_s": 2.0,
    "max_mutants": 20,
}


def load_script(path: Path, name: str) -> ModuleType:
    """A script that is not in a package (``benchmarks/``, ``scripts/``) imported as the
    module ``name``, registered in ``sys.modules`` (dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


needs_shared_mbpp = pytest.mark.skipif(
    not (MBPP_DIR / "mbpp.jsonl").is_file(),
    reason="MBPP data beside the project (../shared/data/mbpp) is absent",
)
needs_shared_apps = pytest.mark.skipif(
    not APPS_DIR.is_dir(),
    reason="the APPS sample beside the project (../shared/data/apps_sample) is absent",
)


@pytest.fixture(scope="session")
def gpt2_tokenizer():
    """A GPT-2-style tokenizer built here: byte-level BPE whose only special token is
    ``<|endoftext|>`` (no pad token, as GPT-2), trained on the built-in prompts."""
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2TokenizerFast

    lines = (REPO_ROOT / "code_env" / "data" / "builtin.jsonl").read_text().splitlines()
    corpus = [json.loads(line)["prompt"] for line in lines]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    return GPT2TokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )


@pytest.fixture(scope="module")
def sandbox():
    """A two-worker sandbox, one per test module that asks for it."""
    from code_env.sandbox import Sandbox

    with Sandbox(workers=2) as sb:
        yield sb


@pytest.fixture(scope="module")
def ray_cluster():
    """A real two-node Ray cluster on this machine, one per test module that asks for
    it: two nodes of one CPU each, both on 127.0.0.1, no dashboard, and this process
    connected to it as the driver. Stopped at the end of the module."""
    import ray
    from ray.cluster_utils import Cluster

    if os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") != "0":
        pytest.fail(
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER must be 0: Ray would use this machine's address"
        )
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level="WARNING")
        addresses = {n["NodeManagerAddress"] for n in ray.nodes()}
        assert addresses == {"127.0.0.1"}, f"Ray nodes not on loopback: {addresses}"
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()

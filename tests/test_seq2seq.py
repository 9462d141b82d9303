"""Encoder-decoder actors (CodeRL's CodeT5 setting): a tiny T5 behind the same Policy."""

from __future__ import annotations

import pytest
import torch

from agents.actor_critic.agent import ActorCriticAgent, ActorCriticConfig
from agents.coderl.agent import CodeRLAgent, CodeRLConfig
from agents.common.data import solution_pairs, without_solutions
from agents.common.policy import Policy
from agents.common.supervised import cross_entropy_loss, train_supervised
from agents.run.warm_start import warm_start
from code_env import load_tasks
from code_env.tokenizer import load_tokenizer

T5 = {"arch": "t5", "n_layer": 1, "n_embd": 32, "n_head": 2}
PROMPTS = ["def f(x):\n    return", 'def sum_even(nums: list[int]) -> int:\n    """Sum."""\n']


@pytest.fixture(scope="module")
def tasks():
    return load_tasks("builtin", split="train")[:6]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy("tiny", tiny_config={**T5, "seed": 0})


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def manual_logprobs(policy: Policy, prompt: list[int], completion: list[int]) -> torch.Tensor:
    """Teacher forcing by hand, one row, no padding: log p(completion[t] | prompt, <t)."""
    decoder = [policy.decoder_start_id, *completion[:-1]]
    with torch.no_grad():
        logits = policy.model(
            input_ids=torch.tensor([prompt]), decoder_input_ids=torch.tensor([decoder])
        ).logits[0]
    return logits.log_softmax(-1).gather(-1, torch.tensor(completion).unsqueeze(-1)).squeeze(-1)


# --- the policy ---------------------------------------------------------------------------


def test_tiny_t5_is_a_seq2seq_policy(policy):
    assert policy.is_seq2seq
    assert type(policy.model).__name__ == "T5ForConditionalGeneration"
    tokenizer = load_tokenizer(None)
    config = policy.model.config
    assert config.vocab_size == len(tokenizer) and config.d_model == 32
    assert config.decoder_start_token_id == tokenizer.pad_token_id == policy.decoder_start_id
    assert policy.hidden_size == 32
    assert not Policy("tiny", tiny_config=T5 | {"arch": "gpt2"}, reference=False).is_seq2seq


def test_unknown_arch_names_the_valid_ones():
    with pytest.raises(ValueError, match="valid: gpt2, llama, t5"):
        Policy("tiny", tiny_config={"arch": "bart"})


def test_generate_greedy_and_sampled(policy):
    greedy = policy.generate(PROMPTS, greedy=True, n=5, max_new_tokens=6)
    sampled = policy.generate(PROMPTS, n=3, max_new_tokens=6, temperature=1.0)
    assert [len(g) for g in greedy] == [1, 1] and [len(g) for g in sampled] == [3, 3]
    for groups in (greedy, sampled):
        for index, group in enumerate(groups):
            for sample in group:
                ids = sample.token_ids
                assert sample.prompt_index == index
                assert ids and (ids[-1] == policy.eos_id or len(ids) == 6)
                assert policy.eos_id not in ids[:-1]
                assert sample.text == policy.decode(ids)
    # the encoder's right padding changes nothing: a batch equals its rows one by one
    single = [policy.generate([p], greedy=True, max_new_tokens=6)[0][0] for p in PROMPTS]
    assert [g[0].token_ids for g in greedy] == [s.token_ids for s in single]


def test_greedy_generation_continues_prefixes(policy):
    prefixes = [policy.completion_ids("    return x")[:-1], policy.completion_ids("  s")[:-1]]
    assert len(prefixes[0]) != len(prefixes[1])  # rows of two decoder lengths in one call
    groups = policy.generate(PROMPTS, greedy=True, max_new_tokens=4, prefixes=prefixes)
    for prefix, (sample,) in zip(prefixes, groups, strict=True):
        assert sample.token_ids[: len(prefix)] == prefix
        assert 0 < len(sample.token_ids) - len(prefix) <= 4
        assert sample.text == policy.decode(sample.token_ids)
    alone = [
        policy.generate([p], greedy=True, max_new_tokens=4, prefixes=[x])[0][0]
        for p, x in zip(PROMPTS, prefixes, strict=True)
    ]
    assert [g[0].token_ids for g in groups] == [s.token_ids for s in alone]
    with pytest.raises(ValueError, match="one per prompt"):
        policy.generate(PROMPTS, prefixes=[[1]])


def test_token_logprobs_are_right_aligned_teacher_forced_scores(policy):
    prompt_ids = policy.encode_prompts(PROMPTS)
    greedy = policy.generate(PROMPTS, greedy=True, max_new_tokens=6)
    completions = [greedy[0][0].token_ids, greedy[1][0].token_ids[:3]]
    width = max(len(c) for c in completions)
    logprobs, mask, hidden = policy.token_logprobs(prompt_ids, completions, with_hidden=True)
    assert logprobs.shape == mask.shape == (2, width)
    assert logprobs.requires_grad
    for i, (p, c) in enumerate(zip(prompt_ids, completions, strict=True)):
        expected = manual_logprobs(policy, p, c)
        assert mask[i].tolist() == [0.0] * (width - len(c)) + [1.0] * len(c)
        assert torch.allclose(logprobs[i, width - len(c) :], expected, atol=1e-5)
    # greedy tokens are the argmax: each scores the best log-probability at its step
    p, c = prompt_ids[0], completions[0]
    with torch.no_grad():
        logits = policy.model(
            input_ids=torch.tensor([p]),
            decoder_input_ids=torch.tensor([[policy.decoder_start_id, *c[:-1]]]),
        ).logits[0]
    assert torch.allclose(logprobs[0, width - len(c) :], logits.log_softmax(-1).max(-1).values)
    # the hidden state: the decoder's last layer at the start token, given the prompt
    assert hidden.shape == (2, policy.hidden_size) and hidden.dtype == torch.float32
    with torch.no_grad():
        out = policy.model(
            input_ids=torch.tensor([prompt_ids[1]]),
            decoder_input_ids=torch.tensor([[policy.decoder_start_id]]),
            output_hidden_states=True,
        )
    assert torch.allclose(hidden[1], out.decoder_hidden_states[-1][0, 0], atol=1e-5)
    ref, _, _ = policy.token_logprobs(prompt_ids, completions, reference=True)
    assert not ref.requires_grad
    assert torch.allclose(ref * mask, logprobs.detach() * mask)  # KL 0 before training
    empty, empty_mask, _ = policy.token_logprobs(prompt_ids, [[], []])
    assert empty.shape == empty_mask.shape == (2, 0)


def test_cross_entropy_training_moves_the_weights_and_lowers_the_loss():
    policy = Policy("tiny", tiny_config={**T5, "seed": 1}, reference=False)
    pairs = solution_pairs(load_tasks("builtin", split="train"))[:2]
    batch = [(policy.encode_prompts([p])[0], policy.completion_ids(c)) for p, c in pairs]
    before_weights = weights(policy.model)
    with torch.no_grad():
        before = float(cross_entropy_loss(policy, batch))
    train_supervised(policy, pairs, steps=8, lr=3e-3, batch_size=2, seed=0, progress=False)
    with torch.no_grad():
        assert float(cross_entropy_loss(policy, batch)) < before
    after = weights(policy.model)
    assert any(not torch.equal(before_weights[k], v) for k, v in after.items())


def test_save_and_reload_by_path_stays_seq2seq(policy, tmp_path):
    policy.save(tmp_path / "model", with_reference=True)
    again = Policy(tmp_path / "model", None, reference_model=str(tmp_path / "model" / "reference"))
    assert again.is_seq2seq and type(again.reference_model).__name__.startswith("T5")
    ours = policy.generate(PROMPTS, greedy=True, max_new_tokens=6)
    theirs = again.generate(PROMPTS, greedy=True, max_new_tokens=6)
    assert [g[0].token_ids for g in ours] == [g[0].token_ids for g in theirs]
    plain = Policy(str(tmp_path / "model"), None, reference=False)
    assert plain.is_seq2seq and plain.reference_model is None


def test_lora_on_a_seq2seq_policy():
    policy = Policy("tiny", tiny_config={**T5, "seed": 2}, lora={"r": 4, "lora_alpha": 8})
    assert policy.is_seq2seq and policy.model.peft_config["default"].task_type == "SEQ_2_SEQ_LM"
    prompt_ids = policy.encode_prompts(PROMPTS)
    completions = [s[0].token_ids for s in policy.generate(PROMPTS, greedy=True, max_new_tokens=4)]
    logprobs, mask, _ = policy.token_logprobs(prompt_ids, completions)
    ref, _, _ = policy.token_logprobs(prompt_ids, completions, reference=True)
    assert torch.allclose(ref * mask, logprobs.detach() * mask)  # adapters start at zero
    assert policy.trainable_parameters() and all(
        "lora" in name for name, p in policy.model.named_parameters() if p.requires_grad
    )


def test_warm_start_a_tiny_t5(tmp_path):
    pairs = solution_pairs(load_tasks("builtin", split="train"))[:4]
    folder = warm_start(
        pairs, steps=2, batch_size=2, tiny_config=T5, cache_dir=tmp_path, progress=False
    )
    assert Policy(folder, reference=False).is_seq2seq


# --- the agents ---------------------------------------------------------------------------


def test_actor_critic_agent_learns_and_resumes_with_a_seq2seq_actor(tmp_path, tasks, sandbox):
    config = ActorCriticConfig(
        model="tiny",
        tiny=T5,
        max_new_tokens=12,
        tasks_per_update=2,
        samples_per_task=2,
        replay_batch=2,
        generation_batch_size=8,
    )
    agent = ActorCriticAgent(without_solutions(tasks), config, sandbox=sandbox, run_dir=tmp_path)
    assert agent.policy.is_seq2seq
    before = weights(agent.policy.model)
    agent.learn(2, progress=False)
    assert agent.n_updates == 2
    assert any(not torch.equal(before[k], v) for k, v in weights(agent.policy.model).items())
    resumed = ActorCriticAgent.load(
        tmp_path / "checkpoint", without_solutions(tasks), sandbox=sandbox
    )
    assert resumed.policy.is_seq2seq and resumed.policy.reference_model is not None
    for key, value in weights(agent.policy.model).items():
        assert torch.equal(value, resumed.policy.model.state_dict()[key]), key


def test_coderl_agent_learns_with_a_seq2seq_actor(tasks, sandbox):
    config = CodeRLConfig(
        model="tiny",
        tiny=T5,
        max_new_tokens=12,
        tasks_per_update=2,
        samples_per_task=2,
        ce_batch=2,
        generation_batch_size=8,
        critic_samples_per_task=2,
        critic_steps=3,
    )
    agent = CodeRLAgent(without_solutions(tasks), config, sandbox=sandbox)
    assert agent.policy.is_seq2seq
    before = weights(agent.policy.model)
    agent.learn(2, progress=False)
    assert agent.n_updates == 2 and agent.critic is not None
    assert "train/rl_loss" in agent.history[-1]
    assert any(not torch.equal(before[k], v) for k, v in weights(agent.policy.model).items())

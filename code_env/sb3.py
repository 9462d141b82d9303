"""A Stable-Baselines3 features extractor for the env's token observations.

SB3's default policies cast observations to floats and feed them to an MLP, which
learns nothing from token ids. :class:`TokenEmbeddingExtractor` embeds the ids and
pools them, so SB3's PPO, A2C or DQN can run on ``CodeSynthesis-v0`` unchanged::

    from stable_baselines3 import PPO
    from code_env.sb3 import TokenEmbeddingExtractor

    model = PPO("MultiInputPolicy", env, policy_kwargs=dict(
        features_extractor_class=TokenEmbeddingExtractor,
        features_extractor_kwargs=dict(embed_dim=64)))

Install with ``pip install code-synthesis-rl[sb3]``.
"""

from __future__ import annotations

try:
    import torch
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "code_env.sb3 needs stable-baselines3: pip install 'code-synthesis-rl[sb3]'"
    ) from exc

from gymnasium import spaces


class TokenEmbeddingExtractor(BaseFeaturesExtractor):
    """Embed ``input_ids`` and pool them into a feature vector.

    The features are the embeddings of the last ``last_k`` tokens (the env aligns the
    newest token to the end), concatenated, plus the mean embedding of every real token
    (``attention_mask`` 1), each passed through a linear layer and a ReLU.

    Args:
        observation_space: The env's ``Dict`` space.
        embed_dim: Size of each token embedding.
        last_k: How many of the newest tokens keep their position.
        features_dim: Size of the output.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        embed_dim: int = 64,
        last_k: int = 8,
        features_dim: int = 256,
    ) -> None:
        super().__init__(observation_space, features_dim)
        ids_space = observation_space["input_ids"]
        vocab = int(ids_space.high.max()) + 1
        self.last_k = min(last_k, ids_space.shape[0])
        self.embed = nn.Embedding(vocab, embed_dim)
        self.project = nn.Sequential(
            nn.Linear(embed_dim * (self.last_k + 1), features_dim), nn.ReLU()
        )

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        # SB3 hands Box observations over as floats; token ids are exact in float32.
        ids = observations["input_ids"].long()
        mask = observations["attention_mask"].float()
        vectors = self.embed(ids)  # (batch, length, dim)
        recent = vectors[:, -self.last_k :, :].flatten(1)
        mean = (vectors * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return self.project(torch.cat([recent, mean], dim=1))

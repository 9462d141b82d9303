"""GRPO and RLOO through TRL's maintained trainers (``pip install 'code-synthesis-rl[trl]'``).
The agent is in ``agents.trl.agent``; this package imports nothing until asked."""

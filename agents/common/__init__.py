"""The agents' core: the base and on-policy layers, the policy, configs, buffers,
metrics, evaluation and data-parallel training (see docs/architecture.md). Import the
modules themselves (``agents.common.base``...); this package imports nothing, so the
command line starts without torch."""

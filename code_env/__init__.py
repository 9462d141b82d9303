"""CodeSynthesis: a Gymnasium environment for reinforcement learning on code synthesis.

The state is a problem prompt plus the tokens generated so far, an action is the next
token, and at the end of an episode the program runs against unit tests in a sandbox
and earns a graded reward.

``import code_env`` registers ``CodeSynthesis-v0`` and ``CodeRepair-v0`` (multi-turn:
rewrite a failing program from its example tests' feedback) with Gymnasium; from a
fresh interpreter ``gym.make("code_env:CodeSynthesis-v0")`` imports it first.

Public names: :class:`Task`, :class:`TestCase`, :func:`load_tasks`,
:class:`TaskFormatError`; the env is :class:`code_env.env.CodeSynthesisEnv`, the
rewards :mod:`code_env.rewards`, the sandbox :mod:`code_env.sandbox`.
"""

from gymnasium.envs.registration import register, registry

from code_env.tasks import Task, TaskFormatError, TaskList, TestCase, load_tasks

__all__ = [
    "ENV_ID",
    "REPAIR_ENV_ID",
    "Task",
    "TaskFormatError",
    "TaskList",
    "TestCase",
    "__version__",
    "load_tasks",
]

__version__ = "0.1.0"

#: The environment's id. A change of meaning gets a new version, never a silent edit.
ENV_ID = "CodeSynthesis-v0"

#: The multi-turn repair environment's id (code_env.repair).
REPAIR_ENV_ID = "CodeRepair-v0"

# No max_episode_steps: a TimeLimit would truncate a program before it is graded.
if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="code_env.env:CodeSynthesisEnv")
if REPAIR_ENV_ID not in registry:
    register(id=REPAIR_ENV_ID, entry_point="code_env.repair:CodeRepairEnv")
# The same episodes with whole programs as actions and text as observations.
if "CodeRepairText-v0" not in registry:
    register(id="CodeRepairText-v0", entry_point="code_env.text_env:TextRepairEnv")

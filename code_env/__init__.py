"""CodeSynthesis: a Gymnasium environment for reinforcement learning on code synthesis.

The state is a problem prompt plus the tokens generated so far, an action is the next
token, and at the end of an episode the program runs against unit tests in a sandbox
and earns a graded reward.

Public names: :class:`Task`, :class:`TestCase`, :func:`load_tasks`,
:class:`TaskFormatError`.
"""

from code_env.tasks import Task, TaskFormatError, TaskList, TestCase, load_tasks

__all__ = ["Task", "TaskFormatError", "TaskList", "TestCase", "__version__", "load_tasks"]

__version__ = "0.1.0"

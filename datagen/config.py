"""The one configuration of a datagen run, checked on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: Directory names never searched for source files (tests, demos, GUI code, caches).
DEFAULT_EXCLUDE: tuple[str, ...] = (
    "__pycache__",
    "test",
    "tests",
    "idlelib",
    "tkinter",
    "turtledemo",
    "lib2to3",
    "ensurepip",
    "site-packages",
    "dist-packages",
    "venv",
)


#: The values of :attr:`DatagenConfig.infer_types`.
INFER_TYPES: tuple[str, ...] = ("none", "usage", "usage+probe")


@dataclass
class DatagenConfig:
    """Every knob of :func:`datagen.run_datagen`; errors name the field and the value."""

    seed: int = 0
    """Seed of every random choice; the same seed and sources give the same tasks."""
    workers: int | None = None
    """Processes for extraction and sandbox workers; None: one per usable core. With
    ``ray``, extraction only: each node grades with one worker per CPU it has."""
    progress: bool = True
    """Show tqdm progress bars."""
    max_functions: int | None = None
    """Stop after this many extracted candidate functions (quick runs); None: all."""
    dataset_column: str = "content"
    """The column with the code, for Hugging Face dataset sources."""
    include_private: bool = True
    """Also take functions whose name starts with an underscore."""
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    """Directory names skipped when searching a folder or package for ``.py`` files."""
    min_doc_words: int = 3
    """Drop functions whose problem text (docstring's first paragraph) is shorter."""
    methods: bool = True
    """Also take the documented methods of top-level classes: a test builds an instance
    from generated constructor arguments, then calls the method; the prompt shows the
    class as far as the method needs it."""
    check_problem: bool = True
    """Drop functions whose problem text leans on what the prompt does not show: a role
    instead of a behaviour ("Helper for X"), a function it does not show ("Same as
    X, except..."), a private name (:mod:`datagen.problem`)."""
    max_function_lines: int = 80
    """Drop functions longer than this (lines of source, docstring included)."""
    max_context_lines: int = 100
    """Drop functions whose imports and helpers (and, for a method, class) together are
    longer than this, in lines."""
    generator: str = "seeded"
    """Input engine: ``"seeded"`` (own generators on ``random.Random``, reproducible in
    any process) or ``"hypothesis"`` (hypothesis strategies; see :mod:`datagen.inputs`)."""
    infer_types: str = "usage+probe"
    """Types for required parameters without a hint, default or doctest value (see
    :mod:`datagen.infer`): ``"none"`` drops such functions (the spec's rule);
    ``"usage"`` takes the type the body's use of the parameter suggests most;
    ``"usage+probe"`` (default) tries the likeliest combinations in the sandbox and
    keeps the one the function returns data on most often."""
    probe_types: int = 3
    """Candidate types per parameter a probe tries."""
    probe_max_combos: int = 8
    """Most type combinations probed per function."""
    probe_rows: int = 6
    """Random argument rows per probed combination."""
    probe_min_share: float = 0.5
    """A probed combination qualifies when the function returns data (no exception,
    no side effect) on at least this share of its rows."""
    max_inputs: int = 24
    """Candidate inputs generated per function (boundary, doctest, mined and random)."""
    int_range: int = 10
    """Random ints are drawn from ``[-int_range, int_range]`` most of the time."""
    wide_int_range: int = 1000
    """... and sometimes from ``[-wide_int_range, wide_int_range]``."""
    max_list_size: int = 5
    """Longest generated list (and most keys in a generated dict)."""
    max_text_size: int = 8
    """Longest generated string."""
    case_timeout_s: float = 0.5
    """A case (one call) slower than this in the sandbox is dropped as not fast."""
    function_timeout_s: float = 6.0
    """Wall-clock budget for one function's whole oracle or mutant run in the sandbox."""
    mutant_budget_s: float = 2.0
    """Wall-clock budget for one mutant's run over all its tests (a mutant that loops
    forever would otherwise cost ``function_timeout_s``)."""
    memory_mb: int = 512
    """Address-space limit of a sandboxed run."""
    site_packages: bool = False
    """Let references import installed packages in the sandbox (needed for packages that
    import third-party code; the standard library is always available). On by itself
    for the ``installed`` source."""
    preload: bool = True
    """Import the third-party modules a batch's references import once per sandbox
    worker, instead of once per program (a slow package such as sympy takes ~0.3 s
    to import, and a function's probes, passes and mutants are ~45 programs). The
    second pass and the other environment's still import them afresh."""
    min_tests: int = 5
    """Drop functions with fewer kept cases than this; tasks get at least this many tests."""
    max_tests: int = 8
    """Most tests per task (picked greedily by mutants killed)."""
    n_examples: int = 2
    """Example tests per task (shown in the prompt's docstring): 1 or 2."""
    max_mutants: int = 40
    """Most mutants per function (a seeded sample when there are more)."""
    min_mutation_score: float = 0.6
    """Drop tasks whose chosen tests kill a smaller share of the mutants."""
    verify: bool = True
    """Re-run every task's reference against its tests in a fresh default sandbox and
    drop any that does not pass (there should be none)."""
    split: str | None = "train"
    """``metadata["split"]`` of the tasks written; None: no split."""
    chunk_size: int = 64
    """Functions sent to the sandbox per batch (bounds memory, paces the progress bar)."""
    ray: bool = False
    """Grade on a Ray cluster (:class:`~code_env.sandbox.RaySandbox`): probes, oracle,
    mutants and the final verification run on its nodes; extraction stays local."""
    ray_address: str | None = None
    """The cluster when ``ray`` is on, as ``ray.init`` takes it (``"host:port"``,
    ``"auto"``, ``"ray://host:port"``); None: the Ray this process has joined, else
    ``RAY_ADDRESS``, else a new local Ray on the loopback address."""

    def __post_init__(self) -> None:
        for name in (
            "max_inputs",
            "probe_types",
            "probe_max_combos",
            "probe_rows",
            "int_range",
            "wide_int_range",
            "max_list_size",
            "max_text_size",
            "case_timeout_s",
            "function_timeout_s",
            "mutant_budget_s",
            "memory_mb",
            "min_tests",
            "max_tests",
            "max_mutants",
            "max_function_lines",
            "max_context_lines",
            "chunk_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"DatagenConfig.{name} must be positive, got {value!r}")
        for name in ("seed", "min_doc_words"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"DatagenConfig.{name} must be an int >= 0, got {value!r}")
        for name in ("workers", "max_functions"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"DatagenConfig.{name} must be None or >= 1, got {value!r}")
        if self.generator not in ("seeded", "hypothesis"):
            raise ValueError(
                f"DatagenConfig.generator must be 'seeded' or 'hypothesis', got {self.generator!r}"
            )
        if self.infer_types not in INFER_TYPES:
            raise ValueError(
                f"DatagenConfig.infer_types must be one of {', '.join(map(repr, INFER_TYPES))}, "
                f"got {self.infer_types!r}"
            )
        if not 0.0 < self.probe_min_share <= 1.0:
            raise ValueError(
                f"DatagenConfig.probe_min_share must be in (0, 1], got {self.probe_min_share!r}"
            )
        if self.n_examples not in (1, 2):
            raise ValueError(f"DatagenConfig.n_examples must be 1 or 2, got {self.n_examples!r}")
        if self.min_tests > self.max_tests:
            raise ValueError(
                f"DatagenConfig.min_tests ({self.min_tests}) must not exceed "
                f"max_tests ({self.max_tests})"
            )
        if self.n_examples > self.min_tests:
            raise ValueError(
                f"DatagenConfig.n_examples ({self.n_examples}) must not exceed "
                f"min_tests ({self.min_tests})"
            )
        if self.min_tests > self.max_inputs:
            raise ValueError(
                f"DatagenConfig.min_tests ({self.min_tests}) must not exceed "
                f"max_inputs ({self.max_inputs})"
            )
        if not 0.0 <= self.min_mutation_score <= 1.0:
            raise ValueError(
                "DatagenConfig.min_mutation_score must be in [0, 1], "
                f"got {self.min_mutation_score!r}"
            )
        if self.function_timeout_s < self.case_timeout_s:
            raise ValueError(
                f"DatagenConfig.function_timeout_s ({self.function_timeout_s}) must be at "
                f"least case_timeout_s ({self.case_timeout_s})"
            )
        if self.memory_mb < 64:
            raise ValueError(f"DatagenConfig.memory_mb must be at least 64, got {self.memory_mb}")
        if not isinstance(self.ray, bool):
            raise ValueError(f"DatagenConfig.ray must be True or False, got {self.ray!r}")
        if self.ray_address is not None:
            if not isinstance(self.ray_address, str) or not self.ray_address.strip():
                raise ValueError(
                    "DatagenConfig.ray_address must be None or a non-empty string, "
                    f"got {self.ray_address!r}"
                )
            if not self.ray:
                # An address alone would silently grade locally: say so instead.
                raise ValueError(
                    f"DatagenConfig.ray_address is {self.ray_address!r} but ray is False; "
                    "set ray=True to grade on that cluster"
                )
        self.exclude = tuple(self.exclude)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, e.g. for the report."""
        data = asdict(self)
        data["exclude"] = list(self.exclude)
        return data

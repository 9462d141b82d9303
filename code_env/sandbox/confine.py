"""The confinement layers around one sandboxed child process (standard library only).

This module runs inside the sandbox's worker processes, which are started as
``python -s -S -B`` running ``harness.py``, and must not import the rest of the
package. Each layer is cheap and independent; the worker probes once at start which
of them the kernel and its privileges allow, and applies those to every child forked
for it:

==================  ==================================================================
layer               what it stops
==================  ==================================================================
session             a child's processes are one group the worker can kill at once
rlimits             memory (address space), CPU time, file size, open files, cores
seccomp             new processes (fork, vfork, clone without CLONE_THREAD, exec),
                    sockets, ptrace, signals to other processes, mounts, namespaces,
                    System V IPC objects, kernel keyrings, BPF, io_uring (x86_64 and
                    aarch64)
uid                 (root only) a fresh unprivileged uid per worker: no write access to
                    files it does not own, no signals to other users' processes, and
                    RLIMIT_NPROC counts only its own processes
netns               (root only) an empty network namespace: no interface but a loopback
                    that is down, so no TCP, UDP or DNS
mountns / tmpfs     (root only) the worker's private mount namespace, with size-limited
                    tmpfs over the world-writable directories (/tmp, /var/tmp, /dev/shm,
                    ...): the child works in /tmp, and the worker empties them all after
                    every program, so nothing a program writes reaches the host or the
                    next program
hidden dirs         (root only) empty read-only tmpfs over every top-level directory
                    but the system's (/usr, /etc, /lib, /dev, /proc, /sys), over
                    site-packages and over any path asked for; the import path is
                    bind-mounted read-only on its own, so a program can import the
                    standard library but cannot read the project's files, task data
                    with expected outputs, or an installed benchmark's answers
cgroup              (root, cgroup v1/v2 pids controller) a pids limit and a list of
                    every process the child made, however it detached, for the kill
==================  ==================================================================

What none of these layers stop is written down in docs/sandbox.md.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import struct
import time

CLONE_THREAD = 0x00010000
CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REC = 0x4000
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_RDONLY = 0x1
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
SECCOMP_MODE_FILTER = 2
_SIGKILL = int(signal.SIGKILL)  # a plain int: no enum machinery in a fresh child

#: World-writable directories that get a private tmpfs in the child's mount namespace.
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
#: The first of the unprivileged uids given to workers (uid = base + worker pid).
UID_BASE = 200_000
CGROUP_NAME = "code_env_sandbox"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]


def _check(result: int, what: str, option: int | None = None) -> None:
    if result != 0:
        err = ctypes.get_errno()
        name = what if option is None else f"{what}({option})"
        raise OSError(err, f"{name}: {os.strerror(err)}")


def prctl(option: int, arg: int = 0) -> None:
    """``prctl(option, arg)``, raising OSError on failure."""
    _check(_libc.prctl(option, arg, 0, 0, 0), "prctl", option)


def unshare(flags: int) -> None:
    """``unshare(flags)``, raising OSError on failure."""
    _check(_libc.unshare(flags), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    """``mount(2)``, raising OSError on failure."""
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


# --- seccomp ----------------------------------------------------------------------------

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# name: (x86_64 number, aarch64 number; None where the syscall does not exist),
# from the kernel's syscall tables.
_SYSCALLS: dict[str, tuple[int | None, int | None]] = {
    # creating processes and running programs
    "fork": (57, None),
    "vfork": (58, None),
    "execve": (59, 221),
    "execveat": (322, 281),
    # reading or steering other processes
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "process_madvise": (440, 440),
    "pidfd_getfd": (438, 438),
    "pidfd_send_signal": (424, 424),
    "tkill": (200, 130),
    # the file system tree and namespaces
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "unshare": (272, 97),
    "setns": (308, 268),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "open_by_handle_at": (304, 265),
    "name_to_handle_at": (303, 264),
    # state that outlives the process: System V IPC objects, POSIX message queues
    "shmget": (29, 194),
    "semget": (64, 190),
    "msgget": (68, 186),
    "mq_open": (240, 180),
    # the kernel itself
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "reboot": (169, 142),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "acct": (163, 89),
    "personality": (135, 92),
    "syslog": (103, 116),
    "iopl": (172, None),
    "ioperm": (173, None),
    "fanotify_init": (300, 262),
    # handled by special rules below
    "clone": (56, 220),
    "clone3": (435, 435),
    "socket": (41, 198),
    "kill": (62, 129),
    "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240),
}
_SPECIAL_NAMES = (
    "clone",
    "clone3",
    "socket",
    "kill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
)


def _numbers(arch: str) -> dict[str, int]:
    column = 0 if arch == "x86_64" else 1
    return {name: nrs[column] for name, nrs in _SYSCALLS.items() if nrs[column] is not None}


_X32_SYSCALL_BIT = 0x40000000

# Classic BPF opcodes.
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


def seccomp_arch() -> str | None:
    """The machine name if this module has a seccomp syscall table for it, else None."""
    machine = os.uname().machine
    return machine if machine in AUDIT_ARCH else None


#: Where the filter's rules are installed: ``"all"`` every rule, on the child alone;
#: ``"worker"`` the rules that name no pid and that the worker itself keeps to, installed
#: once on the worker and inherited by every child; ``"child"`` the rest, which each
#: child adds on top (stacked filters: the strictest answer wins).
FILTER_PARTS = ("all", "worker", "child")
#: Denied to children but used by the worker after its set-up (remounting /tmp at a
#: job's size): in the child's part.
_CHILD_ONLY_DENIALS = ("mount",)


def build_seccomp_filter(own_pid: int, arch: str, part: str = "all") -> bytes:
    """A classic-BPF seccomp program for a child whose pid is ``own_pid``.

    Allows every syscall except: the plain ones in ``_SYSCALLS`` (EPERM); ``clone`` without
    ``CLONE_THREAD`` (EPERM: threads yes, processes no); ``clone3`` (ENOSYS, so the C
    library falls back to ``clone``, whose flags a filter can read); ``socket``
    (EACCES); ``kill``/``tgkill`` aimed at any process but the child itself or its
    own group (EPERM); and, on x86_64, the x32 ABI (EPERM). A foreign architecture
    kills the process. ``part`` (one of :data:`FILTER_PARTS`) selects the rules: the
    ``"worker"`` and ``"child"`` programs stacked deny exactly what ``"all"`` denies.
    """
    if part not in FILTER_PARTS:
        raise ValueError(f"part must be one of {FILTER_PARTS}, got {part!r}")
    nr_off, arch_off, arg0_off = 0, 4, 16  # offsets in struct seccomp_data
    numbers = _numbers(arch)
    plain = sorted(
        nr
        for name, nr in numbers.items()
        if name not in _SPECIAL_NAMES
        and (part == "all" or (name in _CHILD_ONLY_DENIALS) == (part == "child"))
    )
    eperm = _RET_ERRNO | errno.EPERM
    prog: list[bytes] = []

    def ret(value: int) -> None:
        prog.append(_insn(_RET_K, 0, 0, value))

    # 1. the architecture must be the one the numbers are for
    prog.append(_insn(_LD_W_ABS, 0, 0, arch_off))
    prog.append(_insn(_JEQ_K, 1, 0, AUDIT_ARCH[arch]))
    ret(_RET_KILL_PROCESS)
    prog.append(_insn(_LD_W_ABS, 0, 0, nr_off))
    if arch == "x86_64" and part != "child":
        prog.append(_insn(_JGE_K, 0, 1, _X32_SYSCALL_BIT))
        ret(eperm)
    # 2. plain denials
    for nr in plain:
        prog.append(_insn(_JEQ_K, 0, 1, nr))
        ret(eperm)
    if part != "child":
        # 3. clone3: ENOSYS makes glibc fall back to clone, whose flags we can inspect
        prog.append(_insn(_JEQ_K, 0, 1, numbers["clone3"]))
        ret(_RET_ERRNO | errno.ENOSYS)
        # 4. socket: no network, no unix sockets to host services
        prog.append(_insn(_JEQ_K, 0, 1, numbers["socket"]))
        ret(_RET_ERRNO | errno.EACCES)
    if part == "worker":
        ret(_RET_ALLOW)
        return b"".join(prog)
    # 5. clone: threads only
    prog.append(_insn(_JEQ_K, 0, 4, numbers["clone"]))
    prog.append(_insn(_LD_W_ABS, 0, 0, arg0_off))
    prog.append(_insn(_JSET_K, 0, 1, CLONE_THREAD))
    ret(_RET_ALLOW)
    ret(eperm)
    # 6. kill(pid, sig): only itself, its own group (0 or -pid)
    prog.append(_insn(_JEQ_K, 0, 6, numbers["kill"]))
    prog.append(_insn(_LD_W_ABS, 0, 0, arg0_off))
    prog.append(_insn(_JEQ_K, 3, 0, own_pid))
    prog.append(_insn(_JEQ_K, 2, 0, 0))
    prog.append(_insn(_JEQ_K, 1, 0, -own_pid))
    ret(eperm)
    ret(_RET_ALLOW)
    # 7. tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo: the first argument is the target
    #    process, which must be the child itself
    for name in ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        prog.append(_insn(_JEQ_K, 0, 4, numbers[name]))
        prog.append(_insn(_LD_W_ABS, 0, 0, arg0_off))
        prog.append(_insn(_JEQ_K, 1, 0, own_pid))
        ret(eperm)
        ret(_RET_ALLOW)
    ret(_RET_ALLOW)
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class SeccompFilter:
    """A filter built once in the worker; each child patches in its own pid.

    The pid appears as the constant of a few compare instructions; rebuilding the
    whole program in every child would cost a quarter of a millisecond. ``part`` is
    one of :data:`FILTER_PARTS`.
    """

    _PLACEHOLDER = 0x7EADBEEF

    def __init__(self, arch: str, part: str = "all") -> None:
        self.arch = arch
        self.part = part
        template = build_seccomp_filter(self._PLACEHOLDER, arch, part)
        self._buffer = ctypes.create_string_buffer(template, len(template))
        self._fprog = _SockFprog(len(template) // 8, ctypes.addressof(self._buffer))
        self._fprog_address = ctypes.addressof(self._fprog)
        # (offset of the k field, sign) for every instruction comparing against the pid
        self._slots = []
        for offset in range(0, len(template), 8):
            (k,) = struct.unpack_from("I", template, offset + 4)
            if k == self._PLACEHOLDER:
                self._slots.append((offset + 4, 1))
            elif k == (-self._PLACEHOLDER) & 0xFFFFFFFF:
                self._slots.append((offset + 4, -1))

    def install(self, own_pid: int) -> None:
        """Patch in ``own_pid`` and install the filter on the calling process.

        The child's part goes on top of the worker's, which set ``no_new_privs``
        (inherited, and never cleared): the child does not set it again.
        """
        for offset, sign in self._slots:
            struct.pack_into("I", self._buffer, offset, (sign * own_pid) & 0xFFFFFFFF)
        if self.part != "child":
            prctl(PR_SET_NO_NEW_PRIVS, 1)
        _check(
            _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, self._fprog_address, 0, 0),
            "seccomp",
        )


def install_seccomp(program: bytes) -> None:
    """Install a seccomp filter given as raw BPF (used by the probe)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
    _check(
        _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0),
        "seccomp",
    )


# --- cgroups ----------------------------------------------------------------------------


def _pids_cgroup_root() -> str | None:
    """The writable root of a pids controller hierarchy (v1 or v2), or None."""
    candidates = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"]
    for root in candidates:
        if root.endswith("pids"):
            ok = os.path.isfile(os.path.join(root, "cgroup.procs"))
        else:  # cgroup v2: the pids controller must be enabled for children
            try:
                with open(os.path.join(root, "cgroup.subtree_control")) as fh:
                    ok = "pids" in fh.read().split()
            except OSError:
                ok = False
        if ok and os.access(root, os.W_OK):
            return root
    return None


class Cgroup:
    """A pids cgroup for one worker's children: a process limit and a process list."""

    def __init__(self, path: str, max_pids: int) -> None:
        self.path = path
        self._current_fd: int | None = None
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "pids.max"), "w") as fh:
            fh.write(str(max_pids))

    @classmethod
    def create(cls, name: str, max_pids: int) -> Cgroup | None:
        """A new cgroup named ``name`` under this project's folder, or None if the
        pids controller is not available or not writable. Empty cgroups that workers
        killed before they could clean up are removed on the way."""
        root = _pids_cgroup_root()
        if root is None:
            return None
        parent = os.path.join(root, CGROUP_NAME)
        try:
            for stale in os.listdir(parent):
                if stale.startswith("worker-") and not _alive(int(stale[7:] or 0)):
                    try:
                        os.rmdir(os.path.join(parent, stale))
                    except OSError:
                        pass
        except (OSError, ValueError):
            pass
        try:
            return cls(os.path.join(parent, name), max_pids)
        except OSError:
            return None

    def add(self, pid: int) -> None:
        """Move a process into this cgroup."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as fh:
            fh.write(str(pid))

    def count(self) -> int:
        """How many tasks (processes and threads) are in this cgroup now."""
        try:
            if self._current_fd is None:  # kept open: one pread per program, not three calls
                self._current_fd = os.open(os.path.join(self.path, "pids.current"), os.O_RDONLY)
            return int(os.pread(self._current_fd, 32, 0))
        except (OSError, ValueError):
            return -1

    def pids(self) -> list[int]:
        """The processes in this cgroup now."""
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as fh:
                return [int(line) for line in fh if line.strip()]
        except OSError:
            return []

    def remove(self) -> None:
        """Delete the cgroup (it must hold no process)."""
        try:
            os.rmdir(self.path)
        except OSError:
            pass


# --- the worker's own set-up, once --------------------------------------------------------


class Capabilities:
    """What confinement the kernel and this worker's privileges allow."""

    def __init__(self) -> None:
        self.root = os.geteuid() == 0
        self.seccomp_arch = seccomp_arch()
        self.netns = False
        self.mountns = False
        self.cgroup: Cgroup | None = None
        self.uid: int | None = None
        self.seccomp: SeccompFilter | None = None
        self.scratch: list[str] = []
        self.hidden: list[str] = []
        self.import_renames: dict[str, str] = {}
        self.tmpfs_mb = 0
        #: Processes of the worker's own (its zygote) that the clean-up after a child
        #: must leave alone.
        self.spared_pids: set[int] = set()
        #: Free inodes of each scratch tmpfs when it was last seen empty.
        self.scratch_free_inodes: dict[str, int] = {}

    def layers(self) -> list[str]:
        """The names of the layers in force, for reports and docs."""
        names = ["session", "rlimits", "scrubbed-env", "fd-hygiene"]
        if self.seccomp is not None:
            names.append("seccomp")
        if self.uid is not None:
            names.append("uid")
        if self.netns:
            names.append("netns")
        if self.mountns:
            names.append("mountns-tmpfs")
        if self.hidden:
            names.append("hidden-dirs")
        if self.cgroup is not None:
            names.append("cgroup-pids")
        return names


def _can_fork_and(fn) -> bool:
    """Run ``fn`` in a throwaway child; True if it returned without raising."""
    pid = os.fork()
    if pid == 0:
        try:
            fn()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


#: Top-level directories children keep seeing (read-only to them): the system the
#: interpreter and its libraries need. Every other top-level directory (/home, /root,
#: /work, /srv, /opt, /mnt, /var, /run, ...) is hidden under an empty tmpfs.
KEEP_TOP = (
    "bin",
    "dev",
    "etc",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "proc",
    "sbin",
    "sys",
    "tmp",
    "usr",
)
#: Where the import path is bind-mounted for children (inside a hidden directory).
IMPORT_ROOT_CANDIDATES = ("/root", "/mnt", "/opt", "/srv", "/media", "/home")


def _empty_tmpfs(path: str, *, read_only: bool, size: str = "64k", mode: str = "0755") -> None:
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if read_only else 0)
    mount("tmpfs", path, "tmpfs", flags, f"size={size},mode={mode}")


def _remount_read_only(path: str, *, bind: bool) -> None:
    flags = MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | (MS_BIND if bind else 0)
    mount("none", path, None, flags, None)


def build_view(
    import_dirs: list[str], hide: list[str], tmpfs_mb: int
) -> tuple[dict[str, str], list[str], list[str]]:
    """Rebuild what children see of the file system, in this mount namespace.

    1. The import path (``import_dirs``) is bind-mounted read-only under
       ``/<hidden dir>/.code_env_py/N``: a program can import from it and walk
       nowhere above it (``..`` at a mount's root stays inside the new tree).
    2. Every top-level directory not in :data:`KEEP_TOP`, and every path in ``hide``
       (e.g. site-packages under /usr), gets an empty read-only tmpfs over it.
    3. The world-writable scratch directories get fresh size-limited tmpfs.

    Returns ``(import path renames, hidden directories, scratch directories)``.
    """
    # Hold the import directories by fd: the bind mounts below are made after what
    # contains them may already be hidden.
    held = [(d, os.open(d, os.O_PATH | os.O_DIRECTORY)) for d in import_dirs]
    existing = [p for p in IMPORT_ROOT_CANDIDATES if os.path.isdir(p) and not os.path.islink(p)]
    renames: dict[str, str] = {}
    hidden: list[str] = []
    if existing:
        base = existing[0]
        _empty_tmpfs(base, read_only=False, size="1m")
        hidden.append(base)
        for i, (path, fd) in enumerate(held):
            target = os.path.join(base, ".code_env_py", str(i))
            os.makedirs(target, mode=0o755)
            mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC, None)
            _remount_read_only(target, bind=True)
            renames[path] = target
        _remount_read_only(base, bind=False)
    for fd in (fd for _, fd in held):
        os.close(fd)
    # Hide the rest of the top level (files too: /dev/null over each), then the extras.
    # A scratch directory inside a hidden one (/var/tmp, /run/lock) is recreated in the
    # empty tmpfs before it turns read-only, so programs still find it.
    for name in sorted(os.listdir("/")):
        path = "/" + name
        if name in KEEP_TOP or path in hidden or os.path.islink(path):
            continue
        try:
            if os.path.isdir(path):
                inner = [p for p in SCRATCH_DIRS if p.startswith(path + "/") and os.path.isdir(p)]
                _empty_tmpfs(path, read_only=not inner)
                if inner:
                    for sub in inner:
                        os.makedirs(sub, mode=0o755, exist_ok=True)
                    _remount_read_only(path, bind=False)
            else:
                mount("/dev/null", path, None, MS_BIND, None)
            hidden.append(path)
        except OSError:
            pass
    for path in hide:
        real = os.path.realpath(path)
        if real == "/" or real in hidden or not os.path.isdir(real):
            continue
        if any(real.startswith(h + "/") for h in hidden):
            continue  # already out of sight
        try:
            _empty_tmpfs(real, read_only=True)
            hidden.append(real)
        except OSError:
            pass
    scratch = [p for p in SCRATCH_DIRS if os.path.isdir(p) and p not in hidden]
    for path in scratch:
        mount(
            "tmpfs",
            path,
            "tmpfs",
            MS_NOSUID | MS_NODEV,
            f"size={tmpfs_mb}m,nr_inodes=4096,mode=1777",
        )
    return renames, hidden, scratch


def prepare_worker(
    max_pids: int,
    tmpfs_mb: int = 64,
    hide: list[str] | None = None,
    import_dirs: list[str] | None = None,
) -> Capabilities:
    """Set up the worker process itself and probe what its children can get.

    The worker becomes a child subreaper (orphans of its children are re-parented to
    it, not to init, so it can find and kill them). As root it moves itself into an
    empty network namespace and a private mount namespace whose file system view
    :func:`build_view` rebuilds; every child inherits both at no per-child cost.
    ``caps.import_renames`` then maps each import directory to where children see it.
    """
    caps = Capabilities()
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass
    if caps.seccomp_arch:
        seccomp = SeccompFilter(caps.seccomp_arch)
        if _can_fork_and(lambda: seccomp.install(os.getpid())):
            caps.seccomp = seccomp
        else:
            caps.seccomp_arch = None
    if caps.root:
        try:
            unshare(CLONE_NEWNET)
            caps.netns = True
        except OSError:
            pass
        try:
            unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)
            mount("none", "/", None, MS_REC | MS_PRIVATE, None)
            caps.import_renames, caps.hidden, caps.scratch = build_view(
                list(import_dirs or []), list(hide or []), tmpfs_mb
            )
            caps.mountns = True
            caps.tmpfs_mb = tmpfs_mb
        except OSError:
            caps.scratch = []
        uid = UID_BASE + os.getpid()

        def switch_uid() -> None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

        if _can_fork_and(switch_uid):  # fails in a user namespace without that uid
            caps.uid = uid
        # The worker joins its own cgroup once; children inherit it at fork, which is
        # much cheaper than moving each child in (an RCU grace period per move).
        # (+2: the worker and its zygote)
        caps.cgroup = Cgroup.create(f"worker-{os.getpid()}", max_pids + 2)
        if caps.cgroup is not None:
            try:
                caps.cgroup.add(os.getpid())
            except OSError:
                caps.cgroup.remove()
                caps.cgroup = None
    return caps


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``; a no-op
    elsewhere), so that a fork has fewer resident pages to map into the child."""
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def seal_worker(caps: Capabilities) -> None:
    """Install the part of the seccomp filter that names no pid on the worker itself.

    Called once, after the worker's own set-up (namespaces, mounts, cgroup, probes).
    Every child inherits it, so a child installs only the short part that names its
    pid (or that the worker still needs itself): the kernel checks and compiles a
    filter at each install, and the whole one cost a child about 0.15 ms. Where the
    worker cannot take it, each child keeps installing the whole filter.
    """
    if caps.seccomp is None or caps.seccomp.part != "all":
        return
    worker_part = SeccompFilter(caps.seccomp.arch, "worker")
    child_part = SeccompFilter(caps.seccomp.arch, "child")

    def both() -> None:
        worker_part.install(os.getpid())
        child_part.install(os.getpid())

    if not _can_fork_and(both):
        return
    try:
        worker_part.install(os.getpid())
    except OSError:
        return
    caps.seccomp = child_part


# --- the child, after fork and before the untrusted program ---------------------------------


def confine_child(
    caps: Capabilities,
    *,
    memory_mb: int,
    cpu_seconds: int,
    file_size_mb: int,
    max_open_files: int,
    max_processes: int,
) -> None:
    """Apply every available layer to the calling (freshly forked) process.

    The namespaces were set up once by the worker and are inherited. Order matters:
    the uid switch needs privileges and clears the parent-death signal, and the
    seccomp filter comes last.
    """
    parent_pid = os.getppid()  # the worker, or its zygote
    if os.getsid(0) != os.getpid():  # the subprocess backend starts it as a leader
        os.setsid()
    mb = 1024 * 1024
    setrlimit = resource.setrlimit
    setrlimit(resource.RLIMIT_AS, (memory_mb * mb, memory_mb * mb))
    setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    setrlimit(resource.RLIMIT_FSIZE, (file_size_mb * mb, file_size_mb * mb))
    setrlimit(resource.RLIMIT_NOFILE, (max_open_files, max_open_files))
    setrlimit(resource.RLIMIT_CORE, (0, 0))
    uid = caps.uid
    if uid is not None:
        setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    die_with_parent(parent_pid)  # after the uid switch, which clears it
    if caps.seccomp is not None:
        caps.seccomp.install(os.getpid())


def die_with_parent(parent_pid: int) -> None:
    """Be killed when the parent dies (``PR_SET_PDEATHSIG``); exit now if it already
    has (it died before the signal was set: the process was re-parented)."""
    prctl(PR_SET_PDEATHSIG, _SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(70)


def kill_leftovers(caps: Capabilities, child_pid: int) -> int:
    """Kill whatever a child left behind; return how many processes were killed.

    The cgroup lists every process the child created, however it detached (a new
    session, a double fork). Without one, a seccomp filter means the child could not
    create processes, so its own group is all there is. Without either, the worker's
    children (it is a subreaper: orphans come back to it) and the child's session are
    searched in /proc.
    """
    killed = 0
    if child_pid > 0:
        try:
            os.killpg(child_pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if caps.cgroup is not None:
        if caps.cgroup.count() == 1 + len(caps.spared_pids):  # nothing was left
            _reap_all()
            return killed
        spared = {os.getpid(), *caps.spared_pids}
        for _ in range(1000):
            pids = [p for p in caps.cgroup.pids() if p not in spared]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            _reap_all()
            time.sleep(0.001)
    elif caps.seccomp is None:
        me = os.getpid()
        for pid in _proc_pids():
            stat = _proc_stat(pid)
            if (
                stat
                and pid != me
                and pid not in caps.spared_pids
                and (stat[1] == me or (child_pid > 0 and stat[2] == child_pid))
            ):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except (ProcessLookupError, PermissionError):
                    pass
    _reap_all()
    return killed


def kill_session(session_id: int) -> int:
    """Kill every process of a session (the child's own, which it leads)."""
    killed = 0
    try:
        os.killpg(session_id, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in _proc_pids():
        stat = _proc_stat(pid)
        if stat and stat[2] == session_id and pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    return killed


def probe_exec_child() -> Capabilities:
    """The layers a freshly started (not forked-from-a-worker) child can give itself."""
    caps = Capabilities()
    if caps.seccomp_arch:
        try:
            caps.seccomp = SeccompFilter(caps.seccomp_arch)
        except OSError:
            caps.seccomp_arch = None
    if caps.root:
        try:
            unshare(CLONE_NEWNET)
            caps.netns = True
        except OSError:
            pass
        caps.uid = UID_BASE + os.getpid()
    return caps


def wipe_scratch(caps: Capabilities) -> None:
    """Empty the scratch tmpfs between programs.

    A directory whose tmpfs has as many free inodes as when it was last emptied holds
    nothing (each scratch directory is its own tmpfs, and every file, directory,
    link or pipe takes an inode): one ``statvfs`` instead of listing it.
    """
    import shutil

    for path in caps.scratch:
        try:
            if os.statvfs(path).f_ffree == caps.scratch_free_inodes.get(path):
                continue
            entries = list(os.scandir(path))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
        caps.scratch_free_inodes.pop(path, None)
        try:  # remembered only for a directory seen empty
            free = os.statvfs(path).f_ffree
            if not any(True for _ in os.scandir(path)):
                caps.scratch_free_inodes[path] = free
        except OSError:
            pass


def resize_scratch(caps: Capabilities, tmpfs_mb: int) -> None:
    """Give the scratch tmpfs a new size limit (before a program that asks for it)."""
    if tmpfs_mb == caps.tmpfs_mb:
        return
    caps.scratch_free_inodes.clear()
    for path in caps.scratch:
        mount(
            "tmpfs",
            path,
            None,
            MS_REMOUNT | MS_NOSUID | MS_NODEV,
            f"size={tmpfs_mb}m,nr_inodes=4096,mode=1777",
        )
    caps.tmpfs_mb = tmpfs_mb


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _alive(pid: int) -> bool:
    return pid > 0 and os.path.exists(f"/proc/{pid}")


def _proc_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(pid, parent pid, session id) from /proc/<pid>/stat, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return pid, int(fields[1]), int(fields[3])

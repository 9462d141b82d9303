"""The fork server: one small process per worker that forks the sandbox's children.

The worker forks its zygote once, when its own set-up is done, and from then on asks
it for every child instead of forking itself. A fork marks each written page of the
forking process copy-on-write, and that process then takes a page fault on every
page it writes afterwards, just as the child does. Between two forks the worker
decodes a job, polls pipes and parses events: about 290 such faults per program
here, as many as the child's own, plus the copy of its page tables in the fork
itself. The zygote writes a handful of pages between forks, and the worker no
longer forks at all.

Protocol, over a Unix stream socket pair (the worker asks for one child at a time)::

    worker -> zygote   a 4-byte length with the child's file descriptors attached
                       (SCM_RIGHTS), then that many bytes of request
    zygote -> worker   b"s" + pid   the child is forked (b"f" + errno: it is not)
                       b"e" + status  the child has ended: its wait status (the
                                      zygote reaps it; the worker polls the socket)

The request is opaque here: the zygote's child hands it and the descriptors to the
function the worker gave :meth:`Zygote.start`. The zygote is the worker's own fork
and trusts it; a child reaches it only by ending. It dies with the worker
(``PR_SET_PDEATHSIG``), and a child's orphans go to the worker, the subreaper.
Standard library only, like the rest of the worker; it uses ``_socket`` rather than
``socket`` (which imports ``selectors``, ``select`` and ``array``), since every module
the zygote holds is mapped into, and torn down with, each child.
"""

from __future__ import annotations

import _socket
import os
import struct
from collections.abc import Callable, Sequence

_LENGTH = struct.Struct("!I")
_FD = struct.Struct("i")
_REPLY = struct.Struct("!ci")
#: The most descriptors one request may carry.
MAX_FDS = 8


class ZygoteError(RuntimeError):
    """The zygote is gone or answered out of turn; the worker cannot go on with it."""


class Zygote:
    """The worker's handle on its fork server (see the module docstring)."""

    def __init__(self, pid: int, sock: _socket.socket) -> None:
        self.pid = pid
        self.sock = sock

    @classmethod
    def start(
        cls,
        run_child: Callable[[bytes, list[int]], None],
        *,
        prepare: Callable[[], None] | None = None,
        close_fds: Sequence[int] = (),
    ) -> Zygote:
        """Fork the zygote from the calling process.

        Args:
            run_child: Runs in each forked child with the request and its
                descriptors; it must not return (it ends the process itself).
            prepare: Runs once in the zygote before it serves (e.g. tie its life
                to the worker's).
            close_fds: Descriptors of the worker the zygote must not hold (its
                channel to the front, whose end of file must mean the worker's).
        """
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:  # the zygote
            status = 0
            try:
                ours.close()
                for fd in close_fds:
                    os.close(fd)
                if prepare is not None:
                    prepare()
                _serve(theirs, run_child)
            except BaseException:
                status = 70
            finally:
                os._exit(status)
        theirs.close()
        return cls(pid, ours)

    def spawn(self, request: bytes, fds: Sequence[int]) -> int:
        """Have the zygote fork a child for ``request``; returns the child's pid.

        The descriptors are duplicated into the zygote (the caller still owns and
        closes its own). Raises :class:`OSError` if the fork failed and
        :class:`ZygoteError` if the zygote is gone.
        """
        try:
            rights = b"".join(_FD.pack(fd) for fd in fds)
            self.sock.sendmsg(
                [_LENGTH.pack(len(request))],
                [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)] if rights else [],
            )
            self.sock.sendall(request)
        except OSError as exc:
            raise ZygoteError(f"the zygote is gone: {exc}") from exc
        kind, value = self._reply()
        if kind == b"f":
            raise OSError(value, f"the zygote could not fork: {os.strerror(value)}")
        if kind != b"s":
            raise ZygoteError(f"the zygote answered {kind!r} to a request")
        return value

    def fileno(self) -> int:
        """Readable when the current child has ended (then call :meth:`wait`)."""
        return self.sock.fileno()

    def wait(self) -> int:
        """The current child's wait status, once it has ended (blocks until then)."""
        kind, value = self._reply()
        if kind != b"e":
            raise ZygoteError(f"the zygote answered {kind!r} where a child's end was due")
        return value

    def close(self) -> None:
        """Stop the zygote (end of its input) and reap it."""
        try:
            self.sock.close()
        finally:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass

    def _reply(self) -> tuple[bytes, int]:
        data = _read_exactly(self.sock, _REPLY.size)
        if data is None:
            raise ZygoteError("the zygote exited")
        kind, value = _REPLY.unpack(data)
        return kind, value


def _read_exactly(sock: _socket.socket, size: int) -> bytes | None:
    """``size`` bytes from ``sock``, or None at its end."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _received_fds(ancillary: list[tuple[int, int, bytes]]) -> list[int]:
    """The descriptors that came with a message (SCM_RIGHTS)."""
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(data) - len(data) % _FD.size
            fds += [value for (value,) in _FD.iter_unpack(data[:usable])]
    return fds


def _serve(sock: _socket.socket, run_child: Callable[[bytes, list[int]], None]) -> None:
    """The zygote's loop: take a request, fork its child, report the pid, reap the
    child, report its status. Returns when the worker closes its end."""
    ancillary_size = _socket.CMSG_SPACE(MAX_FDS * _FD.size)
    while True:
        header, ancillary, _, _ = sock.recvmsg(_LENGTH.size, ancillary_size)
        fds = _received_fds(ancillary)
        if len(header) < _LENGTH.size:
            rest = _read_exactly(sock, _LENGTH.size - len(header)) if header else None
            if rest is None:
                return
            header += rest
        (length,) = _LENGTH.unpack(header)
        request = _read_exactly(sock, length) if length else b""
        if request is None:
            return
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            sock.sendall(_REPLY.pack(b"f", exc.errno or 0))
            continue
        if pid == 0:  # the child: never comes back here
            try:
                run_child(request, fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        del request
        sock.sendall(_REPLY.pack(b"s", pid))
        _, status = os.waitpid(pid, 0)
        sock.sendall(_REPLY.pack(b"e", status))

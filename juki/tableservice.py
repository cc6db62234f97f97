"""The table service as a resident process: ``juki serve-tables`` on a local socket.

``PREFIX/bin/juki table`` crosses into the service account through sudo and starts Python each
time (about 1.8 s).  The explorer asks for a table at every widget change, so an installation
also runs the service as a process of the service account (``juki-tables`` systemd unit, or any
supervisor) listening on ``PREFIX/run/tables.sock``.  The socket is open to every local account;
who asks is taken from the kernel (``SO_PEERCRED``: the caller's uid, which it cannot forge),
their roles from their OS groups, exactly as for sudo.  A request is the argument list of
``juki table``; nothing else can be asked.  Each query is logged like any other (who, which table
definition -- never the numbers).  :func:`juki.tables.query` uses the socket when it answers and
falls back to sudo otherwise.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import pwd
import socket
import socketserver
import struct
from pathlib import Path

from .errors import JukiError

MAX_REQUEST = 4096


def socket_path() -> Path | None:
    from .server import installation
    inst = installation()
    return inst.prefix / "run" / "tables.sock" if inst is not None else None


def peer_account(sock: socket.socket) -> str:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def handle(account: str, args: list, run) -> dict:
    """Answer one request as ``juki table ARGS`` run by ``account`` through ``run`` (the command
    line's ``main``, handed in by ``juki serve-tables``): {"ok", "out" | "error"}."""
    from . import server
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args) or len(args) > 40:
        return {"ok": False, "error": "a request is the argument list of 'juki table'"}
    out, err = io.StringIO(), io.StringIO()
    with server.acting_for(account), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = run(["table", "--format", "json", *args])
    if rc != 0:
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        return {"ok": False, "error": (lines[-1] if lines else f"exit {rc}").removeprefix("juki: error: ")}
    return {"ok": True, "out": out.getvalue()}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        account = peer_account(self.connection)
        line = self.rfile.readline(MAX_REQUEST)
        try:
            req = json.loads(line)
            res = handle(account, req.get("args"), self.server.run)
        except (ValueError, AttributeError):
            res = {"ok": False, "error": "a request is one JSON line {\"args\": [...]}"}
        self.wfile.write((json.dumps(res, ensure_ascii=False) + "\n").encode())


def serve(run, path: Path | None = None) -> int:
    """Listen until stopped (the service account only), answering each request with ``run``."""
    from .server import installation
    inst = installation()
    if inst is None:
        raise JukiError("serve-tables belongs to an installation (bin/setup-server); a single-user checkout "
                        "answers tables in-process")
    if not inst.is_service() or os.environ.get("SUDO_USER"):
        raise JukiError(f"serve-tables runs as the service account {inst.service} itself (systemd unit juki-tables)")
    p = Path(path) if path else socket_path()
    with contextlib.suppress(FileNotFoundError):
        p.unlink()
    old = os.umask(0o111)
    try:
        srv = socketserver.UnixStreamServer(str(p), _Handler)
    finally:
        os.umask(old)
    srv.run = run
    print(f"juki table service on {p}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return 0


def ask(args: list[str], timeout: float = 120) -> dict | None:
    """The resident service's answer, or None when it is not running (the caller falls back to sudo)."""
    p = socket_path()
    if p is None or not p.exists():
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(p))
    except OSError:
        s.close()
        return None
    with s:
        s.sendall((json.dumps({"args": args}, ensure_ascii=False) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    if not buf:
        return None
    return json.loads(buf)

"""A multi-account installation (``bin/setup-server``): who may do what is the operating system's.

On a shared server juki is installed under a prefix (default ``/opt/juki``)::

    PREFIX/venv/              root-owned: Python and juki (nobody else can change the code)
    PREFIX/etc/server.toml    root-owned: this installation's accounts and folders (read here)
    PREFIX/etc/               root-owned configuration: operators.toml (0640, service group),
                              retention.toml, export_profiles/, profiles/
    PREFIX/data/              the service account's only (0700): registry and analysis stores,
                              the operation log and its key, the CKM secret
    PREFIX/witness/           the witness account's: one line per log entry (seq, hash)
    PREFIX/exports/ reports/  written by the service account, new files only
    PREFIX/bin/juki           what people type: crosses into the service account through sudo
    PREFIX/libexec/           juki-entry (the one program sudo lets anyone run as the service
                              account, Python in isolated mode) and juki-witness

The installation is found from the running interpreter itself (``sys.prefix`` is
``PREFIX/venv``), never from a variable a caller could set.  A checkout's ``.venv`` has no
``etc/server.toml`` beside it: that is the single-user installation of ``bin/setup``.

Roles are OS group membership (``juki-administrator``, ``juki-reviewer``, ``juki-number_clerk``,
``juki-analyst``, ``juki-scheduler``, ``juki-auditor``), which a city's directory can supply
through SSSD.  ``operators.toml`` may name operators, disable them and narrow their roles; it
cannot grant a role the groups do not.
"""
from __future__ import annotations

import contextlib
import grp
import os
import pwd
import stat
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import JukiError

GROUP_PREFIX = "juki-"


@dataclass(frozen=True)
class Installation:
    prefix: Path
    service: str              # the service account that alone reads the data
    witness: str              # the account that alone writes the log's witness
    group_prefix: str = GROUP_PREFIX

    @property
    def etc(self) -> Path:
        return self.prefix / "etc"

    @property
    def data(self) -> Path:
        return self.prefix / "data"

    @property
    def reports(self) -> Path:
        return self.prefix / "reports"

    @property
    def exports(self) -> Path:
        return self.prefix / "exports"

    @property
    def notebooks(self) -> Path:
        return self.prefix / "share" / "notebooks"

    @property
    def witness_file(self) -> Path:
        return self.prefix / "witness" / "oplog.witness"

    @property
    def witness_program(self) -> Path:
        return self.prefix / "libexec" / "juki-witness"

    @property
    def command(self) -> Path:
        return self.prefix / "bin" / "juki"

    @property
    def service_uid(self) -> int:
        return pwd.getpwnam(self.service).pw_uid

    def is_service(self) -> bool:
        try:
            return os.getuid() == self.service_uid
        except KeyError:
            return False


def _trusted_root_file(p: Path) -> bool:
    try:
        st = p.stat()
    except OSError:
        return False
    return st.st_uid == 0 and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


@lru_cache(maxsize=1)
def installation() -> Installation | None:
    """This interpreter's server installation, or None (single-user, ``bin/setup``)."""
    conf = Path(sys.prefix).resolve().parent / "etc" / "server.toml"
    if not conf.exists():
        return None
    if not _trusted_root_file(conf) or not _trusted_root_file(conf.parent):
        raise JukiError(f"{conf} is not owned by root or is writable by others: this installation is not trusted")
    from .tomlfile import read
    d = read(conf, "server configuration")
    return Installation(prefix=Path(d.get("prefix", conf.parent.parent)), service=d.get("service", "juki"),
                        witness=d.get("witness", "juki-witness"), group_prefix=d.get("group_prefix", GROUP_PREFIX))


_PEER: list = []


@contextlib.contextmanager
def acting_for(account: str):
    """Inside the resident table service: answer one request on behalf of the socket's peer
    (``SO_PEERCRED``), whose roles come from their own OS groups."""
    _PEER.append(account)
    try:
        yield
    finally:
        _PEER.pop()


def caller() -> tuple[str, bool]:
    """(account, via_sudo): the person behind this process.

    In an installation, the service account runs on behalf of the account sudo names
    (``SUDO_USER``: sudo sets it from the real caller; ``juki-entry`` passes only it on).  Anyone
    else running juki's Python directly is who they are -- and cannot read the data anyway."""
    inst = installation()
    uid = os.getuid()
    if inst is not None and inst.is_service():
        if _PEER:
            return _PEER[-1], True
        who = os.environ.get("SUDO_USER")
        if who and who != inst.service:
            return who, True
    try:
        return pwd.getpwuid(uid).pw_name, False
    except KeyError:
        return f"uid:{uid}", False


def group_roles(account: str, roles) -> frozenset:
    """The roles the OS groups give ``account`` (``juki-<role>``); root is the auditor."""
    inst = installation()
    prefix = inst.group_prefix if inst else GROUP_PREFIX
    try:
        pw = pwd.getpwnam(account)
    except KeyError:
        return frozenset()
    names = set()
    for gid in os.getgrouplist(account, pw.pw_gid):
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    out = {r for r in roles if f"{prefix}{r}" in names}
    if pw.pw_uid == 0:
        out.add("auditor")
    return frozenset(out)


def require_service(what: str) -> None:
    """In an installation, registry work runs only as the service account (through bin/juki)."""
    inst = installation()
    if inst is not None and not inst.is_service():
        raise JukiError(f"{what} runs as the service account: use {inst.command} (through sudo)")


def share_report(folder) -> None:
    """In an installation: let the administrators' group read a finished report folder (it holds
    aggregates and masked listings only; the reports folder is setgid juki-administrator)."""
    inst = installation()
    if inst is None or folder is None:
        return
    folder = Path(folder)
    if not folder.exists() or inst.reports.resolve() not in folder.resolve().parents:
        return
    for p in [folder, *folder.rglob("*")]:
        if p.is_symlink():
            continue
        os.chmod(p, 0o2750 if p.is_dir() else 0o640)

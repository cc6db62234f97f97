"""Where things live: the project root, the data folder, the stores, the log, the reports.

The root is ``JUKI_HOME`` if set, else the checkout that holds this package (an editable
install), else the current directory.  The data folder (``JUKI_DATA`` or ``<root>/data``)
holds the registry store, the analysis store, the operation log and its anchor, and the
operators file.

Locations that decide *who* someone is or *where their actions are recorded* (the operators
file, the operation log) are honoured from the environment only when :func:`untrusted` finds
nothing wrong with them: owned by root or by the account that installed juki, and not
writable by group or others -- the rule sudo applies to sudoers.  Anyone else pointing juki at
a file of their own is refused.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _inst():
    from .server import installation
    return installation()


def root() -> Path:
    inst = _inst()
    if inst is not None:
        return inst.prefix
    env = os.environ.get("JUKI_HOME")
    if env:
        return Path(env).resolve()
    here = PACKAGE.parent
    if (here / "pyproject.toml").exists() and (here / "notebooks").is_dir():
        return here
    return Path.cwd()


def data_dir() -> Path:
    inst = _inst()
    if inst is not None:        # an installation's folders are its own, never a variable's
        return inst.data
    env = os.environ.get("JUKI_DATA")
    return Path(env) if env else root() / "data"


def default_db() -> Path:
    """``JUKI_DB`` or ``<data>/juki.duckdb``: the registry store."""
    env = None if _inst() else os.environ.get("JUKI_DB")
    return Path(env) if env else data_dir() / "juki.duckdb"


def analysis_db(registry=None) -> Path:
    """``JUKI_ANALYSIS_DB``, else ``analysis.duckdb`` beside the registry store (``<data>/`` by
    default): the de-identified analysis store."""
    env = None if _inst() else os.environ.get("JUKI_ANALYSIS_DB")
    if env:
        return Path(env)
    return (Path(registry).parent if registry else data_dir()) / "analysis.duckdb"


def oplog() -> Path:
    env = None if _inst() else os.environ.get("JUKI_OPLOG")
    return Path(env) if env else data_dir() / "oplog.jsonl"


def operators() -> Path:
    inst = _inst()
    if inst is not None:
        return inst.etc / "operators.toml"
    env = os.environ.get("JUKI_OPERATORS")
    return Path(env) if env else data_dir() / "operators.toml"


def notebooks() -> Path:
    inst = _inst()
    return inst.notebooks if inst is not None else root() / "notebooks"


def reports() -> Path:
    inst = _inst()
    if inst is not None:
        return inst.reports
    env = os.environ.get("JUKI_REPORTS")
    return Path(env) if env else root() / "reports"


def exports() -> Path:
    """Where ``--out`` files are created (new files only): ``PREFIX/exports`` in an
    installation, else ``JUKI_EXPORTS`` or ``<root>/exports``."""
    inst = _inst()
    if inst is not None:
        return inst.exports
    env = os.environ.get("JUKI_EXPORTS")
    return Path(env) if env else root() / "exports"


def config_dir() -> Path | None:
    """The root-owned configuration folder of an installation (None in a single-user checkout)."""
    inst = _inst()
    return inst.etc if inst is not None else None


def config_file(folder: str, name: str) -> Path:
    """``<etc>/<folder>/<name>.toml`` in an installation; else ``<data>/<folder>/<name>.toml``,
    else the checkout's ``data/<folder>/<name>.toml`` (examples)."""
    etc = config_dir()
    if etc is not None:
        return etc / folder / f"{name}.toml"
    local = data_dir() / folder / f"{name}.toml"
    if local.exists():
        return local
    shipped = root() / "data" / folder / f"{name}.toml"
    return shipped if shipped.exists() else local


def install_owner() -> int:
    """The account that installed juki (owner of the package folder)."""
    return PACKAGE.stat().st_uid


def untrusted(path: Path) -> str | None:
    """Why ``path`` (or, when it does not exist yet, its folder) cannot be trusted; None if it can."""
    p = Path(path)
    target = p if p.exists() else p.parent
    try:
        st = target.stat()
    except OSError as e:
        return f"{target}: {e.strerror}"
    owners = {0, install_owner()}
    if st.st_uid not in owners:
        return f"{target} is owned by uid {st.st_uid}, not by root or the installing account"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{target} is writable by group or others"
    return None

"""Where things live: the project root, the default store, the reports folder.

The root is ``JUKI_HOME`` if set, else the checkout that holds this package (an editable
install), else the current directory.
"""
from __future__ import annotations

import os
from pathlib import Path


def root() -> Path:
    env = os.environ.get("JUKI_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists() and (here / "notebooks").is_dir():
        return here
    return Path.cwd()


def default_db() -> Path:
    """``JUKI_DB`` or ``<root>/data/juki.duckdb``."""
    env = os.environ.get("JUKI_DB")
    return Path(env) if env else root() / "data" / "juki.duckdb"


def notebooks() -> Path:
    return root() / "notebooks"


def reports() -> Path:
    env = os.environ.get("JUKI_REPORTS")
    return Path(env) if env else root() / "reports"

"""The run folder of the notebook this kernel runs for ``juki run`` (None elsewhere).

:func:`juki.session.begin` sets it; the guard writes the notebook's audit events beside its
outputs there, and the runner that made the folder logs them when the notebook ends (the
kernel is another process).  A module of its own, so that neither imports the other.
"""
from __future__ import annotations

from pathlib import Path

_RUN_DIR: list = [None]


def set_run_dir(path) -> None:
    _RUN_DIR[0] = Path(path) if path else None


def run_dir() -> Path | None:
    return _RUN_DIR[0]

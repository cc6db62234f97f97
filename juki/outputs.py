"""Where an entry point may write what a caller names (``--out``): new files only, never over
anything, never into the data or configuration folders.

* In an installation (``bin/setup-server``) ``--out`` is a plain file name: the file is created
  in ``PREFIX/exports/<account>/`` by the service account, or ``-`` streams it to the caller's
  own standard output, where the caller's own shell (and permissions) write it.
* In a single-user checkout ``--out`` may be a path, but it must not exist yet, must not be a
  symlink, and must not lie in the data folder (stores, log, keys, configuration).

Either way the file is written to a temporary name and hard-linked into place, which fails if
anything appeared there meanwhile; its full path and SHA-256 go into the log entry.

>>> check_name("kokuho.csv")
'kokuho.csv'
>>> check_name("../data/oplog.jsonl")   # doctest: +ELLIPSIS
Traceback (most recent call last):
...
juki.access.roles.Refused: --out '../data/oplog.jsonl': give a plain file name ...
"""
from __future__ import annotations

import re
from pathlib import Path

from . import atomic, paths
from .access.roles import Refused
from .errors import JukiError

STDOUT = "-"
_NAME = re.compile(r"^[0-9A-Za-z_\-\u3040-\u30ff\u4e00-\u9fff][0-9A-Za-z_.\-\u3040-\u30ff\u4e00-\u9fff]{0,120}$")


def check_name(out: str) -> str:
    if not _NAME.match(out) or ".." in out:
        raise Refused(f"--out {out!r}: give a plain file name (it is created in the installation's exports folder) "
                        "or '-' for standard output")
    return out


def target(out: str, account: str | None = None) -> Path | None:
    """The path ``--out`` stands for (None: standard output); refused when it could overwrite."""
    from .server import installation
    if out == STDOUT:
        return None
    inst = installation()
    if inst is not None:
        from .access.identity import os_account
        who = account or os_account()[0]
        folder = atomic.private_dir(paths.exports() / re.sub(r"[^0-9A-Za-z_.-]", "_", who))
        return folder / check_name(out)
    p = Path(out).absolute()
    if p.is_symlink() or p.exists():
        raise Refused(f"--out {out}: exists already: outputs are created new, never written over")
    if not p.parent.is_dir():
        raise JukiError(f"cannot write {out}: folder {p.parent} does not exist")
    data = paths.data_dir().resolve()
    here = p.parent.resolve()
    if here == data or data in here.parents:
        raise Refused(f"--out {out}: lies in the data folder {data} (stores, log, keys): write elsewhere")
    return p

"""What a notebook runs under: one call gives it its store, reference date and output folder.

Every notebook starts with ``ctx = juki.session.begin(db=db, run_dir=run_dir, operator=operator,
as_of=as_of)`` -- its parameters are the only channel from the runner into the kernel:

* ``run_dir`` -- the run folder ``juki run`` made (outputs and the audit events of library
  calls go there); ``None`` when the notebook is opened in JupyterLab, in which case outputs go
  to a per-user folder under ``reports/interactive/`` (never into ``notebooks/``);
* ``operator`` -- who the runner identified; the kernel identifies the OS account itself and
  refuses to go on if the two differ (a parameter cannot make anyone someone else);
* ``db`` / ``as_of`` -- the store and the reference date (:func:`juki.residency.reference_date`:
  the parameter, else the store's own, else one line saying which command to run).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from . import paths
from .access import runfolder

_STATE: dict = {}


def run_dir() -> Path | None:
    """The run folder of the notebook being run by ``juki run`` (None elsewhere)."""
    return runfolder.run_dir()


def interactive_dir() -> Path:
    """Where a notebook opened by hand writes: ``reports/interactive/<account>/<date-time>/``."""
    from .access.identity import os_account
    from .atomic import private_dir
    if "interactive_dir" not in _STATE:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        _STATE["interactive_dir"] = paths.reports() / "interactive" / os_account()[0] / stamp
    return private_dir(_STATE["interactive_dir"])


def output_dir() -> Path:
    return run_dir() or interactive_dir()


@dataclass
class Session:
    db: str | None
    run_dir: Path | None
    operator: object = None
    as_of: dt.date | None = None
    extra: dict = field(default_factory=dict)

    analysis: object = None

    @property
    def out(self) -> Path:
        return output_dir()

    def store(self):
        """The registry store (ibis), for the roles that may open it."""
        from . import store
        return store.connect(self.db)

    def may(self, action: str) -> bool:
        """Whether the operator holds a role of ``action`` (e.g. ``below_floor``)."""
        from .access import guard
        return guard.has_role(action)


def begin(db=None, run_dir=None, operator=None, as_of=None, needs_store: bool = True, store: str = "registry",
          **extra) -> Session:
    """Start a notebook: record the run folder, check who runs it, resolve the reference date.

    ``store="analysis"``: the notebook reads the analysis store (``db`` is its path) and the
    reference date must be one it publishes."""
    from .access import guard
    from .errors import JukiError
    runfolder.set_run_dir(run_dir)
    op = guard.current()
    if operator and operator != op.id:
        raise JukiError(f"this kernel runs as operator {op.id}, not {operator}")
    s = Session(db=db, run_dir=runfolder.run_dir(), operator=op, extra=extra)
    if store == "analysis":
        from .analysis.store import Analysis
        s.analysis = Analysis(db)
        s.as_of = s.analysis.ref_date(as_of)
        return s
    if needs_store:
        from . import residency, store
        con = store.connect(db)
        try:
            s.as_of = residency.reference_date(con, as_of)
        finally:
            con.disconnect()
    elif as_of:
        from . import residency
        s.as_of = residency.reference_date(None, as_of)
    return s

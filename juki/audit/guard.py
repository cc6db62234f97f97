"""One guard for every entry point: check the operator's role, then log exactly one entry.

Inside a notebook run by ``juki run`` (``JUKI_RUN_DIR`` set) the events of library calls are
collected in the run folder and the runner writes the run's single log entry with them.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from . import oplog, roles

EVENTS = "audit_events.jsonl"


@dataclass
class Guard:
    operator: str
    role: str
    records: int | None = None
    detail: str = ""
    number_accessed: bool = False


def _emit(action, target, *, operator, role, params, records, outcome, number_accessed, detail):
    run_dir = os.environ.get("JUKI_RUN_DIR")
    event = dict(action=action, target=target, operator=operator, role=role, params=params or {},
                 records=records, outcome=outcome, number_accessed=number_accessed, detail=detail)
    if run_dir and Path(run_dir).is_dir():
        with open(Path(run_dir) / EVENTS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, ensure_ascii=False) + "\n")
        return
    oplog.append(action, target, operator=operator, role=role, params=params, records=records,
                 outcome=outcome, number_accessed=number_accessed, detail=detail)


@contextlib.contextmanager
def entry(action: str, target: str, needs, operator: str | None = None, params: dict | None = None,
          number_accessed: bool = False):
    op_id = roles.current_id(operator)
    try:
        op = roles.check(roles.load(), op_id, target, set(needs))
    except roles.Refused as e:
        _emit(action, target, operator=op_id, role="", params=params, records=None, outcome="refused",
              number_accessed=False, detail=str(e))
        raise
    g = Guard(op.id, roles.primary_role(op, needs), number_accessed=number_accessed)
    try:
        yield g
    except BaseException as e:
        _emit(action, target, operator=g.operator, role=g.role, params=params, records=g.records,
              outcome="failed", number_accessed=g.number_accessed, detail=f"{type(e).__name__}: {e}"[:300])
        raise
    _emit(action, target, operator=g.operator, role=g.role, params=params, records=g.records,
          outcome="ok", number_accessed=g.number_accessed, detail=g.detail)


def collected(run_dir: Path) -> list[dict]:
    p = Path(run_dir) / EVENTS
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]

"""問合せ・開示請求 (PIA V): each request recorded when it comes in, and linked to its answer.

``juki audit request --kind 開示請求|問合せ --channel 窓口|郵送|電話|電子 --handler NAME
(--subject 宛名番号 | --description TEXT) [--received DATE]`` logs a ``request`` entry and prints
its number (``REQ-<seq>``); ``juki audit person 宛名番号 --request REQ-<seq>`` answers it (the
answer's log entry names the request).  The 宛名番号 goes to the entry's persons, never to its
parameters.  The access audit counts open and answered requests.
"""
from __future__ import annotations

import datetime as dt
import re

from ..errors import JukiError

KINDS = ("開示請求", "問合せ")
CHANNELS = ("窓口", "郵送", "電話", "電子")


def record(kind, channel, handler, subject=None, description=None, received=None, flag=None) -> str:
    """Log an incoming request; returns its number."""
    from ..access import guard
    if kind not in KINDS:
        raise JukiError(f"--kind must be {' or '.join(KINDS)}")
    if channel not in CHANNELS:
        raise JukiError(f"--channel must be one of {', '.join(CHANNELS)}")
    if not handler or not handler.strip():
        raise JukiError("--handler NAME: who handles the request")
    if not subject and not (description and description.strip()):
        raise JukiError("give --subject 宛名番号 or --description (who the request is about)")
    if subject and not re.fullmatch(r"[0-9]{1,15}", subject):
        raise JukiError(f"--subject {subject!r}: a 宛名番号 is digits")
    received = received or dt.date.today()
    if received > dt.date.today():
        raise JukiError(f"--received {received} is after today")
    params = {"kind": kind, "channel": channel, "handler": handler.strip()[:80], "received": received.isoformat(),
              "description": (description or "").strip()[:200]}
    with guard.entry("request", kind, params=params, flag=flag) as g:
        g.persons = [subject] if subject else None
    return f"REQ-{g.entry['seq']}"


def check_open(number: str) -> int:
    """The seq of an open request ``REQ-<seq>``; refused if there is none or it was answered."""
    from ..log import oplog
    m = re.fullmatch(r"REQ-([0-9]+)", number or "")
    if not m:
        raise JukiError(f"--request {number!r}: a request number looks like REQ-123")
    seq = int(m.group(1))
    es = oplog.entries()
    if not any(e.get("seq") == seq and e.get("action") == "request" and e.get("outcome") == "ok" for e in es):
        raise JukiError(f"no request {number} in the operation log")
    if any((e.get("params") or {}).get("request") == number and e.get("outcome") == "ok" for e in es
           if e.get("action") == "audit_read"):
        raise JukiError(f"request {number} was answered already")
    return seq

"""The disclosure policy: floors analysts cannot lower.

Defaults in ``juki/stats/disclosure_policy.toml``; a city's own in ``data/disclosure.toml``,
honoured only when the file is trustworthy (owned by root or the installing account, not
writable by group or others -- so an analyst cannot write one).

>>> p = load()
>>> p.threshold, p.ptable.js
(2, 2)
>>> p.check_threshold(3, can_go_below=False)
(3, False)
>>> p.check_threshold(0, can_go_below=True)
(0, True)
>>> p.check_threshold(1, can_go_below=False)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
juki.access.roles.Refused: threshold 1 is below the disclosure floor 2 (data/disclosure.toml): only an administrator ...
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from .. import paths
from ..errors import JukiError
from .ckm import PTableParams

DEFAULT = Path(__file__).with_name("disclosure_policy.toml")


@dataclass(frozen=True)
class Policy:
    threshold: int
    ptable: PTableParams
    source: str
    path: Path | None = None
    protection: int = 2          # a hidden cell's range must cover its value ± this (linked-table audit)

    def as_dict(self) -> dict:
        return {"threshold": self.threshold, "ptable": asdict(self.ptable), "source": self.source}

    def check_threshold(self, asked, can_go_below: bool) -> tuple[int, bool]:
        """(threshold to use, internal?) for a requested threshold."""
        from ..access.roles import Refused
        if asked is None:
            return self.threshold, False
        try:
            t = int(asked)
        except (TypeError, ValueError):
            raise JukiError(f"threshold {asked!r} is not a whole number") from None
        if t < 0:
            raise JukiError(f"threshold {t} is negative")
        if t >= self.threshold:
            return t, False
        if not can_go_below:
            raise Refused(f"threshold {t} is below the disclosure floor {self.threshold} (data/disclosure.toml): only "
                          "an administrator may run below it, and the output is marked 内部資料・公表不可")
        return t, True


def load() -> Policy:
    from ..tomlfile import read
    local = paths.data_dir() / "disclosure.toml"
    src = DEFAULT
    if local.exists():
        why = paths.untrusted(local)
        if why:
            raise JukiError(f"disclosure policy not trusted: {why}")
        src = local
    d = read(src, "disclosure policy")
    pt = d.get("ptable", {})
    try:
        params = PTableParams(D=int(pt.get("D", 3)), V=float(pt.get("V", 2.0)), js=int(pt.get("js", 2)))
        threshold = int(d.get("threshold", 2))
    except (TypeError, ValueError) as e:
        raise JukiError(f"disclosure policy {src.name}: {e}") from None
    if threshold < 0 or params.D < 1 or params.V <= 0 or params.js < 0:
        raise JukiError(f"disclosure policy {src.name}: threshold, D, V and js must be positive")
    try:
        protection = int(d.get("protection", 2))
    except (TypeError, ValueError) as e:
        raise JukiError(f"disclosure policy {src.name}: protection: {e}") from None
    return Policy(threshold, params, str(src.name), Path(src), protection)

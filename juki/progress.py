"""Progress of long steps: a tqdm bar on a terminal, plain lines (with rows per second) in logs.

>>> import io
>>> out = io.StringIO()
>>> p = Progress(stream=out, tty=False, every=0)
>>> with p.task("load", total=1000, unit="rows") as t:
...     t.update(500); t.update(500)
>>> lines = out.getvalue().splitlines()
>>> lines[0].startswith("load: 500/1,000 rows (50%)"), lines[-1].startswith("load: done, 1,000 rows")
(True, True)
"""
from __future__ import annotations

import contextlib
import sys
import time


class _Task:
    def __init__(self, owner, name, total, unit):
        self.owner, self.name, self.total, self.unit = owner, name, total, unit
        self.done = 0
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.bar = None
        if owner.tty and not owner.quiet:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=name, unit=f" {unit}", unit_scale=True, file=owner.stream,
                            leave=False, dynamic_ncols=True)

    def rate(self) -> float:
        return self.done / max(time.perf_counter() - self.t0, 1e-9)

    def update(self, n: int = 1, note: str | None = None) -> None:
        self.done += n
        if self.owner.quiet:
            return
        if self.bar is not None:
            self.bar.update(n)
            if note:
                self.bar.set_postfix_str(note)
            return
        now = time.perf_counter()
        if now - self.last >= self.owner.every:
            self.last = now
            of = f"/{self.total:,}" if self.total else ""
            pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
            self.owner.line(f"{self.name}: {self.done:,}{of} {self.unit}{pct} {self.rate():,.0f}/s"
                            + (f" {note}" if note else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if not self.owner.quiet:
            secs = time.perf_counter() - self.t0
            self.owner.line(f"{self.name}: done, {self.done:,} {self.unit} in {secs:.1f} s ({self.rate():,.0f}/s)")


class Progress:
    """``with progress.task(name, total, unit) as t: t.update(n)``; ``progress.line(text)``."""

    def __init__(self, quiet: bool = False, stream=None, tty: bool | None = None, every: float = 5.0):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = every

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    @contextlib.contextmanager
    def task(self, name: str, total: int | None = None, unit: str = "rows"):
        t = _Task(self, name, total, unit)
        try:
            yield t
        finally:
            t.close()


#: Progress that says nothing (library default).
SILENT = Progress(quiet=True)

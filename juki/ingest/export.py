"""``juki export``: a table to CSV in the same forms the loader reads (encoding, date style,
header by Japanese item names or column ids), written to a temporary file and renamed."""
from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

from .. import store
from ..codes.era import to_era_code, to_wareki
from ..errors import JukiError
from ..layouts import LAYOUTS

DATE_STYLES = {
    "iso": lambda d: d.isoformat(),
    "yyyymmdd": lambda d: d.strftime("%Y%m%d"),
    "wareki": to_wareki,
    "era-code": to_era_code,
}


def export(table: str, out, db=None, encoding: str = "utf-8", dates: str = "iso", header: str = "ja",
           operator: str | None = None) -> int:
    from ..audit import guard
    if table not in LAYOUTS:
        raise JukiError(f"unknown table {table!r}; known: {', '.join(LAYOUTS)}")
    if dates not in DATE_STYLES:
        raise JukiError(f"unknown date style {dates!r}; known: {', '.join(DATE_STYLES)}")
    if encoding not in ("utf-8", "utf-8-sig", "cp932"):
        raise JukiError("encoding must be utf-8, utf-8-sig or cp932")
    layout = LAYOUTS[table]
    out = Path(out)
    if not out.parent.is_dir():
        raise JukiError(f"cannot write {out}: folder {out.parent} does not exist")
    with guard.entry("export", table, {"administrator"}, operator=operator, number_accessed=True,
                     params={"file": out.name, "encoding": encoding, "dates": dates}) as g:
        con = store.connect(db)
        duck = getattr(con, "con", con)
        fmt = DATE_STYLES[dates]
        kinds = [i.type for i in layout.all_columns]
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        n = 0
        try:
            with open(tmp, "w", encoding=encoding, newline="", errors="strict") as fh:
                w = csv.writer(fh, lineterminator="\r\n")
                w.writerow([i.name if header == "ja" else i.column for i in layout.all_columns])
                cur = duck.execute(f"SELECT {', '.join(layout.columns)} FROM {table} ORDER BY {', '.join(layout.key)}")
                while True:
                    batch = cur.fetchmany(50_000)
                    if not batch:
                        break
                    for row in batch:
                        w.writerow(["" if v is None else fmt(v) if k == "DATE" else
                                    v.strftime("%H:%M:%S") if k == "TIME" else
                                    v.isoformat() if k == "TIMESTAMP" else str(v) for v, k in zip(row, kinds)])
                    n += len(batch)
            os.replace(tmp, out)
        except UnicodeEncodeError as e:
            tmp.unlink(missing_ok=True)
            raise JukiError(f"a value cannot be written in {encoding} ({e.object[e.start:e.end]!r} is outside it); "
                            "use utf-8") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        g.records = n
    return n

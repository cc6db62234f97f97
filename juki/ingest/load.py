"""Loading registry exports: CSV in UTF-8 (with or without BOM) or cp932, headers by the
PIA's Japanese item names or by column identifiers, dates in any export form, full-width
digits normalised where the layout says numeric.

Rows that break types, lengths, required items, code tables or check digits -- or that
carry a NUL, a stray BOM or a line break inside a field, have the wrong number of fields, or
repeat a row key -- go to the ``quarantine`` table with file, line and reason; the rest load.
The whole load is one transaction: an I/O error or a kill leaves the table as it was.
Rows read = loaded + quarantined, always.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import codes, store
from ..codes import municipality
from ..codes.era import parse_date
from ..errors import JukiError
from ..layouts import LAYOUTS, Layout, _norm

QUARANTINE_DDL = """CREATE TABLE IF NOT EXISTS quarantine (
    loaded_at TIMESTAMP, source_file VARCHAR, line INTEGER, target_table VARCHAR, reason VARCHAR, raw VARCHAR)"""
ENCODINGS = ("utf-8", "utf-8-sig", "cp932")
NUMERIC_FORMAT = ("^[0-9]", "^T[0-9]")  # layouts whose format is digits: full-width digits are normalised


@dataclass
class LoadReport:
    file: str
    table: str
    encoding: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)
    warnings: list = field(default_factory=list)

    def __str__(self):
        head = (f"{self.file}: {self.read:,} rows read = {self.loaded:,} loaded + {self.quarantined:,} quarantined "
                f"into {self.table} ({self.encoding})")
        lines = [head] + [f"  {n:,} × {r}" for r, n in self.reasons.most_common()] + [f"  note: {w}" for w in self.warnings]
        return "\n".join(lines)


def decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    if not data:
        raise JukiError("empty file: nothing to load")
    if encoding:
        enc = {"sjis": "cp932", "shift_jis": "cp932", "shift-jis": "cp932", "utf8": "utf-8"}.get(encoding.lower(), encoding.lower())
        if enc not in ENCODINGS:
            raise JukiError(f"unsupported encoding {encoding!r}: use utf-8 or cp932")
        if enc == "utf-8" and data.startswith(codecs.BOM_UTF8):
            enc = "utf-8-sig"
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as e:
            other = "cp932" if enc.startswith("utf") else "utf-8"
            raise JukiError(f"the file is not valid {enc} (byte {e.start}); try --encoding {other}") from None
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as e:
        raise JukiError(f"the file is neither UTF-8 nor cp932 (bad byte at {e.start})") from None


def map_header(header: list[str], layout: Layout) -> list[str]:
    """Header cells -> column ids (Japanese item names or ids); clear errors otherwise."""
    by_name = {_norm(i.name): i.column for i in layout.all_columns}
    ids = set(layout.columns)
    out = []
    for h in header:
        h2 = h.strip().lstrip("\ufeff")
        col = h2 if h2 in ids else by_name.get(_norm(h2))
        if col is None:
            raise JukiError(f"unknown column {h2!r} for {layout.file}")
        out.append(col)
    dup = [c for c, n in Counter(out).items() if n > 1]
    if dup:
        raise JukiError(f"duplicated column(s) in the header: {', '.join(dup)}")
    missing_keys = [k for k in layout.key if k not in out]
    if missing_keys:
        raise JukiError(f"missing key column(s): {', '.join(missing_keys)}")
    return out


def _numeric(item) -> bool:
    return item.type in ("INTEGER", "BIGINT") or bool(item.format and item.format.startswith(NUMERIC_FORMAT))


def _kojin_bango_valid(v: pd.Series) -> pd.Series:
    """python-stdnum's jp.in_ rule, vectorised for 12-digit values; anything the vectorised
    check rejects is confirmed by stdnum itself (the authority)."""
    import numpy as np
    from stdnum.jp import in_

    from ..codes.kojin_bango import check_digits_array
    ok = pd.Series(False, index=v.index)
    form = v.str.fullmatch(r"[0-9]{12}")
    if form.any():
        digits = np.frombuffer("".join(v[form]).encode("ascii"), dtype=np.uint8).reshape(-1, 12) - 48
        ok[form] = check_digits_array(digits[:, :11].astype(np.int64)) == digits[:, 11]
    rejected = ~ok & (v != "")
    if rejected.any():
        ok[rejected] = v[rejected].map(in_.is_valid)
    return ok


def _check(layout: Layout, df: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    """Normalise and type every column; write the first reason of each bad row into ``reasons``."""
    def fail(mask, why):
        m = mask & reasons.isna()
        reasons[m] = why

    out = {}
    for col in df.columns:
        item = layout.item(col)
        s = df[col]
        present = s.notna() & (s != "")
        if _numeric(item) or item.type in ("DATE", "TIME", "TIMESTAMP"):
            s = s.where(~present, s[present].map(lambda v: unicodedata.normalize("NFKC", v).strip()))
        if item.type in ("INTEGER", "BIGINT"):
            num = pd.to_numeric(s.where(present), errors="coerce")
            fail(present & num.isna(), f"{item.name}: not a whole number")
            out[col] = num.astype("Int64")
        elif item.type == "DATE":
            vals = pd.Series([None] * len(s), index=s.index, dtype=object)
            iso = present & s.fillna("").str.fullmatch(r"\d{4}-\d{2}-\d{2}")
            ymd = present & s.fillna("").str.fullmatch(r"\d{8}")
            fast = pd.to_datetime(s.where(iso), format="%Y-%m-%d", errors="coerce")
            fast = fast.fillna(pd.to_datetime(s.where(ymd), format="%Y%m%d", errors="coerce"))
            vals[fast.notna()] = fast[fast.notna()].dt.date
            slow = present & fast.isna()
            parsed, errors = {}, {}
            for text in s[slow].unique():  # era text etc.: parse each distinct value once
                try:
                    parsed[text] = parse_date(text)
                except ValueError as e:
                    errors[text] = f"{item.name}: {e}"
            if parsed:
                vals[slow] = s[slow].map(parsed)
            if errors:
                bad = s.where(slow).map(errors)
                m = bad.notna() & reasons.isna()
                reasons[m] = bad[m]
            out[col] = vals
        elif item.type == "TIME":
            t = pd.to_datetime(s.where(present), format="%H:%M:%S", errors="coerce")
            fail(present & t.isna(), f"{item.name}: not a time HH:MM:SS")
            out[col] = t.dt.time
        elif item.type == "TIMESTAMP":
            t = pd.to_datetime(s.where(present), errors="coerce", format="ISO8601")
            fail(present & t.isna(), f"{item.name}: not a timestamp")
            out[col] = t
        else:
            v = s.where(present)
            if item.length:
                fail(present & (v.str.len() > item.length), f"{item.name}: longer than {item.length}")
            if item.format:
                fail(present & ~v.fillna("").str.fullmatch(item.format.strip("^$")), f"{item.name}: wrong format")
            if item.code and item.code != "municipality":
                fail(present & ~v.isin(codes.codes(item.code)), f"{item.name}: not in code table {item.code}")
            if item.code == "municipality":
                fail(present & ~v.fillna("").map(municipality.is_valid), f"{item.name}: wrong check digit")
            if item.sensitivity == "individual_number":
                fail(present & ~_kojin_bango_valid(v.fillna("")), f"{item.name}: wrong check digit")
            out[col] = v
        if not item.nullable and not item.applies or col in layout.key:
            fail(~present, f"{item.name}: required")
    return pd.DataFrame(out, index=df.index)


def read_rows(text: str, layout: Layout):
    """(columns, rows as lists, first line of each row, reasons for rows broken at CSV level)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise JukiError("empty file: nothing to load") from None
    except csv.Error as e:
        raise JukiError(f"unreadable header: {e}") from None
    cols = map_header(header, layout)
    rows, lines, broken = [], [], {}
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            rows.append([])
            lines.append(start)
            broken[len(rows) - 1] = f"unreadable CSV row: {e}"
            start = reader.line_num + 1
            continue
        end = reader.line_num
        if row == [] or row == [""]:
            start = end + 1
            continue
        i = len(rows)
        rows.append(row)
        lines.append(start)
        if len(row) != len(cols):
            broken[i] = f"{len(row)} fields where the header has {len(cols)} (truncated or misquoted row)"
        else:
            joined = "\x1f".join(row)  # one scan per row instead of one per field
            if "\x00" in joined:
                broken[i] = "NUL byte in a field"
            elif "\ufeff" in joined:
                broken[i] = "byte order mark in the middle of the file"
            elif "\n" in joined or "\r" in joined:
                broken[i] = "line break inside a field"
        start = end + 1
    return cols, rows, lines, broken


def load(path, table: str, db=None, encoding: str | None = None, replace: bool = False,
         operator: str | None = None) -> LoadReport:
    """Load one CSV export into ``table`` (append, or ``replace`` its contents), atomically."""
    from ..audit import guard
    if table not in LAYOUTS:
        raise JukiError(f"unknown table {table!r}; known: {', '.join(LAYOUTS)}")
    path = Path(path)
    with guard.entry("load", table, {"administrator"}, operator=operator,
                     params={"file": path.name, "replace": replace}) as g:
        rep = _load(path, LAYOUTS[table], db, encoding, replace)
        g.records = rep.loaded
        g.detail = f"read {rep.read}, loaded {rep.loaded}, quarantined {rep.quarantined}"
    return rep


def _load(path: Path, layout: Layout, db, encoding, replace) -> LoadReport:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise JukiError(f"cannot read {path}: {e.strerror}") from None
    text, enc = decode(data, encoding)
    cols, rows, lines, broken = read_rows(text, layout)
    rep = LoadReport(file=path.name, table=layout.table, encoding=enc, read=len(rows))
    missing = [c for c in layout.columns if c not in cols]
    if missing:
        rep.warnings.append(f"{len(missing)} column(s) absent from the file, loaded as empty: {', '.join(missing[:5])}"
                            + (" …" if len(missing) > 5 else ""))
    ok_shape = [i for i in range(len(rows)) if i not in broken]
    df = pd.DataFrame([rows[i] for i in ok_shape], columns=cols, index=ok_shape, dtype=object)
    reasons = pd.Series([None] * len(df), index=df.index, dtype=object)
    typed = _check(layout, df, reasons) if len(df) else df
    for c in missing:
        typed[c] = None
    dbp = store.db_path(db)
    store.check_writable(dbp)
    import duckdb
    con = duckdb.connect(str(dbp))
    con.execute("SET enable_progress_bar = false")
    try:
        store.create_schema(con)
        con.execute(QUARANTINE_DDL)
        # duplicate row keys: within the file, or already in the table (append mode)
        good = typed[reasons.isna()]
        key = list(layout.key)
        kstr = pd.Series(dtype=object)
        if len(good):
            kstr = good[key[0]].astype(str)
            for k in key[1:]:
                kstr = kstr + "|" + good[k].astype(str)
        dup_in_file = kstr.duplicated(keep="first")
        reasons[dup_in_file[dup_in_file].index] = "duplicate row key in the file"
        if not replace and len(good):
            existing = {"|".join(map(str, r)) for r in con.execute(f"SELECT {', '.join(key)} FROM {layout.table}").fetchall()}
            clash = kstr.isin(existing) & ~dup_in_file
            reasons[clash[clash].index] = "row key already in the table"
        for i, why in broken.items():
            reasons.loc[i] = why
        good = typed[reasons.reindex(typed.index).isna()][layout.columns]
        now = dt.datetime.now()
        bad_idx = sorted(set(broken) | set(reasons.dropna().index))
        q = pd.DataFrame({"loaded_at": now, "source_file": path.name,
                          "line": [lines[i] for i in bad_idx], "target_table": layout.table,
                          "reason": [reasons.get(i) if i in reasons.index and reasons.get(i) else broken.get(i) for i in bad_idx],
                          "raw": [",".join(rows[i])[:2000] for i in bad_idx]})
        con.execute("BEGIN TRANSACTION")
        if replace:
            con.execute(f"DELETE FROM {layout.table}")
        if len(good):
            con.register("_good", good)
            con.execute(f"INSERT INTO {layout.table} SELECT {', '.join(layout.columns)} FROM _good")
            con.unregister("_good")
        if len(q):
            con.register("_q", q)
            con.execute("INSERT INTO quarantine SELECT * FROM _q")
            con.unregister("_q")
        if os.environ.get("JUKI_TEST_PAUSE") == "load_before_commit":
            from pathlib import Path as _P
            _P(os.environ["JUKI_TEST_PAUSE_FILE"]).write_text("paused")
            import time
            time.sleep(600)
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except Exception:
            pass
        raise
    finally:
        con.close()
    rep.loaded = len(good)
    rep.quarantined = len(q)
    rep.reasons = Counter(q["reason"]) if len(q) else Counter()
    if rep.read != rep.loaded + rep.quarantined:  # pragma: no cover - the invariant
        raise RuntimeError(f"row accounting broken: {rep.read} != {rep.loaded} + {rep.quarantined}")
    return rep

"""整合性確認: the city's 本人確認情報 against another copy, item by item.

The PIA (本人確認情報ファイル ⑧) has the city hand 整合性確認用本人確認情報 to the prefecture's
server and J-LIS's, so that the three copies agree, and promises 「既存住基システムとの整合処理を
定期的実施」.  :func:`reconcile` takes the other side's file (``prefecture`` or ``jlis``: the
36 PIA items, cp932 or UTF-8, read by the same loader and vendor profiles as ``juki load``), or
with ``kizon`` the registry's own 住民基本台帳ファイル, and names what differs:

* each side's copy of a person is their latest 本人確認情報 (highest 更新順番号) stamped by the
  reference date; persons are matched by 住民票コード;
* 区分 is 当方のみ (only the city has the person), 相手方のみ (only the other side) or 項目相違
  with the PIA item name that differs -- the PIA items of the file other than the processing
  items (操作者ID, 更新順番号, タイムスタンプ …), which each copy keeps for itself;
* values are shown masked where the PIA's item is a number or a name (個人番号 all ``*``, a name
  by its first character); the files show the 住民票コード by its last four digits beside the
  city's 宛名番号, and the log names persons by 宛名番号 (a whole 住民票コード stays in memory, for
  the caller's own matching);
* differences are followed between runs like quality problems (新規 / 継続 / 解消, with owner
  and status through ``juki followup``), one record per side beside the registry.
"""
from __future__ import annotations

import datetime as dt
import html
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import atomic, store
from . import engine as engines
from .errors import JukiError
from .layouts import get
from .privacy import key_label, mask
from .residency import current as jumin_current
from .residency import honnin_current, reference_date

SIDES = {"prefecture": "都道府県（都道府県知事保存本人確認情報）", "jlis": "地方公共団体情報システム機構（機構保存本人確認情報）",
         "kizon": "既存住基システム（住民基本台帳ファイル）"}
KINDS = ("当方のみ", "相手方のみ", "項目相違")
CSV = "differences.csv"
HTML = "differences.html"
#: 本人確認情報 item <- the 住民基本台帳ファイル item it is kept from (the 整合処理 with 既存住基)
KIZON = {"kanji_shimei": "shimei", "seinengappi": "seinengappi", "seibetsu": "seibetsu", "jusho": "genjusho",
         "kojin_bango": "kojin_bango", "jumin_date": "jumin_date", "jusho_date": "jusho_date"}


def compared_items(side: str) -> list:
    """The 本人確認情報 items compared with ``side``: every PIA item but the key and the processing
    items, or for ``kizon`` the items kept from the 住民基本台帳ファイル."""
    lay = get("honnin")
    if side == "kizon":
        return [lay.item(c) for c in KIZON]
    return [i for i in lay.items if i.column != "jumin_code" and i.sensitivity != "processing"]


def followup_path(side: str, registry=None) -> Path:
    return store.db_path(registry).resolve().parent / f"reconcile_{side}.parquet"


@dataclass
class Result:
    side: str
    as_of: dt.date
    ours: int                    # persons on our side
    theirs: int                  # persons on the other side
    differences: pd.DataFrame    # 住民票コード, 区分, 項目, 当方, 相手方 (masked)
    quarantined: int = 0         # the other side's rows the loader refused
    followup: object = None      # quality.followup.FollowUp over the differences

    def counts(self) -> dict:
        return {k: int((self.differences["区分"] == k).sum()) for k in KINDS}

    def line(self) -> str:
        c = self.counts()
        fu = f"（{self.followup.headline()}）" if self.followup is not None else ""
        bad = f"、相手方ファイルの不正な行 {self.quarantined:,}" if self.quarantined else ""
        return (f"整合性確認 {SIDES[self.side]} 基準日 {self.as_of}: 当方 {self.ours:,}人、相手方 {self.theirs:,}人 — "
                f"当方のみ {c['当方のみ']:,}、相手方のみ {c['相手方のみ']:,}、項目相違 {c['項目相違']:,}{bad}{fu}")

    def persons(self) -> list[str]:
        """For the log: each person's 宛名番号, or the masked 住民票コード of a person the city
        does not hold (the log never holds a whole 住民票コード)."""
        d = self.differences
        atena = d["宛名番号"] if "宛名番号" in d else [""] * len(d)
        return sorted({a or key_label("honnin", "jumin_code", c) for a, c in zip(atena, d["住民票コード"])})

    def shown(self) -> pd.DataFrame:
        """The differences as written to files: 住民票コード by its last four digits (as everywhere
        juki shows one), the city's 宛名番号 beside it to find the person."""
        d = self.differences.copy()
        d["住民票コード"] = [key_label("honnin", "jumin_code", c) for c in d["住民票コード"]]
        return d

    def write(self, folder) -> list[Path]:
        """``differences.csv`` (UTF-8 with BOM) and ``differences.html``, each written whole or not."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        shown = self.shown()
        csv = atomic.atomic_write_bytes(folder / CSV, shown.to_csv(index=False).encode("utf-8-sig"))
        body = shown.head(5000).to_html(index=False, border=0, escape=True)
        more = "" if len(self.differences) <= 5000 else f"<p>先頭 5,000 件を表示（全 {len(self.differences):,} 件は {CSV}）</p>"
        page = (f"<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'><title>整合性確認</title><style>"
                "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                "td,th{border-bottom:1px solid #ccc;padding:2px 8px;text-align:left}</style></head><body>"
                f"<h1>整合性確認（{SIDES[self.side]}）</h1><p>{html.escape(self.line())}</p>"
                "<p>個人番号と氏名はマスクして表示しています。</p>" + more + body + "</body></html>")
        return [csv, atomic.atomic_write_text(folder / HTML, page)]


def reconcile(files, side: str, as_of: dt.date | None = None, db=None, encoding: str | None = None,
              profile: str | None = None, out=None, record: bool = True, engine: str | None = None) -> Result:
    """Compare the registry's 本人確認情報 with the other side's copy (``files``; none for
    ``kizon``), log it with the persons touched, record the follow-up, and write ``out``.
    ``engine`` spark: the comparison runs on Spark over both copies written as Parquet."""
    from .access import guard
    if side not in SIDES:
        raise JukiError(f"--side must be one of {', '.join(SIDES)} (got {side!r})")
    if side == "kizon" and files:
        raise JukiError("--side kizon compares the registry's own two files: give no FILE")
    if side != "kizon" and not files:
        raise JukiError(f"--side {side} needs the other side's 本人確認情報 file(s)")
    with guard.entry("reconcile", side, params={"files": len(files or []), "as_of": str(as_of or "")}) as g:
        res = _reconcile(files, side, as_of, db, encoding, profile, engines.choose(engine))
        g.records = len(res.differences)
        res.differences["宛名番号"] = _atena_of(res.differences["住民票コード"], db)
        g.persons = res.persons()
        if record:
            from .quality import followup
            res.followup = followup.record({"honnin": _as_problems(res)}, res.as_of, followup_path(side, db))
        if out is not None:
            res.write(out)
        g.detail = res.line()[:300]
    return res


def _as_problems(res: Result):
    import pyarrow as pa
    d = res.differences
    rule = [f"reconcile.{res.side}.{k}.{i}" for k, i in zip(d["区分"], d["項目"])]
    return pa.table({"jumin_code": pa.array(list(d["住民票コード"]), pa.string()),
                     "koshin_jun_no": pa.array([res.side] * len(d), pa.string()), "rule": pa.array(rule, pa.string())})


def _atena_of(codes, db) -> list[str]:
    """The 宛名番号 of each 住民票コード the registry holds ("" for a person it does not)."""
    wanted = sorted(set(codes))
    if not wanted:
        return []
    con = store.connect(db)
    try:
        j = con.table("jumin")
        m = j.filter(j.jumin_code.isin(wanted)).select("jumin_code", "atena_no").distinct().execute()
    finally:
        con.disconnect()
    found = dict(zip(m["jumin_code"], m["atena_no"]))
    return [found.get(c, "") for c in codes]


def _reconcile(files, side, as_of, db, encoding, profile, engine: str = "duckdb") -> Result:
    path = store.db_path(db)
    if engine == "spark":
        return _reconcile_on_spark(files, side, as_of, path, encoding, profile)
    if side == "kizon":
        con = store.connect(path)
        try:
            as_of = reference_date(con, as_of)
            return _compare(honnin_current(con.table("honnin"), as_of), _kizon(con.table("jumin"), as_of), side,
                            as_of, 0)
        finally:
            con.disconnect()
    as_of = _store_date(path, as_of)
    tmp = Path(tempfile.mkdtemp(prefix=".juki-reconcile-", dir=path.resolve().parent))
    try:
        other = tmp / "other.duckdb"
        quarantined = _load_other(files, other, encoding, profile, as_of)
        import ibis
        oc = ibis.duckdb.connect(str(other))
        store.configure(oc, other)
        oc.attach(str(path.resolve()), name="reg", read_only=True)
        try:
            ours = honnin_current(oc.table("honnin", database="reg"), as_of)
            return _compare(ours, honnin_current(oc.table("honnin"), as_of), side, as_of, quarantined)
        finally:
            oc.disconnect()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _kizon(jumin, as_of: dt.date):
    """既存住基's side: each person's current 住民基本台帳 record, under the 本人確認情報's items."""
    j = jumin_current(jumin, as_of)
    return j.filter(j.jumin_code.notnull()).select(jumin_code=j.jumin_code, **{h: j[c] for h, c in KIZON.items()})


def _store_date(path: Path, as_of):
    """``as_of``, else the store's reference date (opening the store is also the role check)."""
    con = store.connect(path)
    try:
        return reference_date(con, as_of)
    finally:
        con.disconnect()


def _reconcile_on_spark(files, side, as_of, path: Path, encoding, profile) -> Result:
    """The same comparison on Spark: the registry's files and the other side's, loaded through
    the loader, written as Parquet into a private scratch folder (removed afterwards)."""
    as_of = _store_date(path, as_of)
    tmp = Path(tempfile.mkdtemp(prefix=".juki-reconcile-", dir=path.resolve().parent))
    try:
        tables = ("honnin", "jumin") if side == "kizon" else ("honnin",)
        store.to_parquet(path, tmp, tables)
        quarantined = 0
        if side != "kizon":
            other = tmp / "other.duckdb"
            quarantined = _load_other(files, other, encoding, profile, as_of)
            store.to_parquet(other, tmp / "theirs", ("honnin",))
            (tmp / "theirs" / "honnin.parquet").rename(tmp / "theirs_honnin.parquet")
            tables += ("theirs_honnin",)
        sp = engines.spark_backend(tmp, tables)
        ours = honnin_current(sp.table("honnin"), as_of)
        theirs = _kizon(sp.table("jumin"), as_of) if side == "kizon" else honnin_current(sp.table("theirs_honnin"), as_of)
        return _compare(ours, theirs, side, as_of, quarantined)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_other(files, other: Path, encoding, profile, as_of) -> int:
    """The other side's file(s) into a scratch store through the loader; rows it refused."""
    from .ingest import load, profiles
    prof = profiles.load(profile)
    res = load._load(load.expand(files), "honnin", other, encoding, True, prof, as_of or dt.date.today(), "reconcile")
    if not res.loaded:
        raise JukiError("the other side's file holds no 本人確認情報 row that could be read")
    return sum(f.quarantined for f in res.files)


def _compare(ours, theirs, side: str, as_of: dt.date, quarantined: int) -> Result:
    items = compared_items(side)
    cols = [i.column for i in items]
    a = ours.select("jumin_code", *cols)
    b = theirs.select("jumin_code", *cols).rename({f"{c}_b": c for c in ["jumin_code", *cols]})
    j = a.outer_join(b, a.jumin_code == b.jumin_code_b)
    n_ours, n_theirs = int(a.count().execute()), int(b.count().execute())
    only = j.filter(j.jumin_code.isnull() | j.jumin_code_b.isnull()).select(
        code=j.jumin_code.fill_null(j.jumin_code_b), ours=j.jumin_code.notnull()).execute()
    rows = [{"住民票コード": c, "区分": "当方のみ" if o else "相手方のみ", "項目": "", "当方": "", "相手方": ""}
            for c, o in zip(only["code"], only["ours"])]
    both = j.filter(j.jumin_code.notnull() & j.jumin_code_b.notnull())
    differs = None
    for c in cols:
        d = both[c].cast("string").fill_null("") != both[f"{c}_b"].cast("string").fill_null("")
        differs = d if differs is None else differs | d
    if differs is not None:
        diff = both.filter(differs).execute()
        for i, c in zip(items, cols):
            x, y = diff[c].astype("string").fillna(""), diff[f"{c}_b"].astype("string").fillna("")
            for k in (x != y).to_numpy().nonzero()[0]:
                rows.append({"住民票コード": diff["jumin_code"].iat[k], "区分": "項目相違", "項目": i.name,
                             "当方": _show(c, diff[c].iat[k]), "相手方": _show(c, diff[f"{c}_b"].iat[k])})
    out = pd.DataFrame(rows, columns=["住民票コード", "区分", "項目", "当方", "相手方"])
    order = {k: n for n, k in enumerate(KINDS)}
    out = out.sort_values(["住民票コード", "区分", "項目"], key=lambda s: s.map(order) if s.name == "区分" else s,
                          kind="stable").reset_index(drop=True)
    return Result(side, as_of, n_ours, n_theirs, out, quarantined)


def _show(column: str, value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (dt.date, pd.Timestamp)):
        value = value.date().isoformat() if isinstance(value, pd.Timestamp) else value.isoformat()
    return mask("honnin", column, value)

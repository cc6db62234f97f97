"""Quality problems followed between reviews: each failing (rule, record) pair keeps the date it
was first seen, so a problem found this month and still open next month is shown as still open
(with its age), not as new; one that no longer fails is shown as resolved.

The state is a small DuckDB file beside the registry store (``dq_followup.duckdb``): one row
per problem -- rule, row key (internal keys only: 宛名番号 and 履歴番号, 住民票コード and
更新順番号, 送付先管理番号), first seen, last seen, resolved on, and an optional owner / status
/ note that reviewers set (:func:`annotate`, logged).  The scheduled report records each review
(:func:`record`, one transaction); a review run by hand only compares (:func:`compare`).

>>> import datetime as dt, pyarrow as pa, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "f.duckdb"
>>> v = lambda keys: {"jumin": pa.table({"atena_no": [k for k, _ in keys], "rireki_no": ["1"] * len(keys),
...                                      "rule": [r for _, r in keys]})}
>>> f1 = record(v([("A", "jumin.x"), ("B", "jumin.x")]), dt.date(2026, 4, 1), p)
>>> f1.totals()
{'new': 2, 'open': 0, 'resolved': 0}
>>> f2 = record(v([("A", "jumin.x")]), dt.date(2026, 5, 1), p)
>>> f2.totals(), f2.oldest
({'new': 0, 'open': 1, 'resolved': 1}, (datetime.date(2026, 4, 1), 'jumin.x', 30))
>>> record(v([("A", "jumin.x")]), dt.date(2026, 5, 1), p).totals()     # the same day again: the same answer
{'new': 0, 'open': 1, 'resolved': 1}
>>> record(v([("A", "jumin.x"), ("C", "jumin.x")]), dt.date(2026, 6, 1), p).totals()
{'new': 1, 'open': 1, 'resolved': 0}
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..errors import JukiError
from ..layouts import get

FILE = "dq_followup.duckdb"
JSON = "dq_followup.json"
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS problems (rule VARCHAR, key VARCHAR, first_seen DATE, last_seen DATE,
        resolved_on DATE, owner VARCHAR, status VARCHAR, note VARCHAR, noted_by VARCHAR, noted_at TIMESTAMP,
        PRIMARY KEY (rule, key))""",
    "CREATE TABLE IF NOT EXISTS reviews (as_of DATE PRIMARY KEY, recorded_at TIMESTAMP, failing BIGINT)",
]
STATUSES = ("未対応", "対応中", "確認待ち", "対応不要")


def path_for(registry=None) -> Path:
    """``dq_followup.duckdb`` beside the registry store."""
    from .. import store
    return store.db_path(registry).resolve().parent / FILE


@dataclass
class FollowUp:
    as_of: dt.date
    previous: dt.date | None                     # the last recorded review before this one
    by_rule: pd.DataFrame                        # rule, new, open, resolved, oldest_first_seen
    oldest: tuple | None = None                  # (first seen, rule, age in days) of the oldest open problem
    recorded: bool = False
    notes: pd.DataFrame = field(default_factory=pd.DataFrame)

    def totals(self) -> dict[str, int]:
        return {k: int(self.by_rule[k].sum()) if len(self.by_rule) else 0 for k in ("new", "open", "resolved")}

    def table(self) -> pd.DataFrame:
        """By rule, in Japanese: 新規 / 継続 / 解消 and the oldest open problem's first-seen date."""
        from .rules import get_rule
        if not len(self.by_rule):
            return pd.DataFrame({"状況": ["不適合はありません（前回から解消したものもありません）"]})
        rows = []
        for r in self.by_rule.itertuples(index=False):
            rule = get_rule(r.rule)
            age = (self.as_of - r.oldest_first_seen).days if r.open and not pd.isna(r.oldest_first_seen) else None
            rows.append({"ファイル": get(rule.table).file, "内容": rule.description, "重要度": rule.severity_label,
                         "新規": int(r.new), "継続": int(r.open), "解消": int(r.resolved),
                         "最初の検出日": r.oldest_first_seen.isoformat() if r.open and not pd.isna(r.oldest_first_seen) else "—",
                         "経過日数": age})
        return pd.DataFrame(rows).set_index("ファイル")

    def write(self, folder) -> Path:
        from ..atomic import atomic_write_json
        rows = [{**r, "oldest_first_seen": r["oldest_first_seen"].isoformat()
                 if isinstance(r["oldest_first_seen"], dt.date) else None} for r in self.by_rule.to_dict("records")]
        return atomic_write_json(Path(folder) / JSON, {
            "as_of": self.as_of.isoformat(), "previous": self.previous.isoformat() if self.previous else None,
            "recorded": self.recorded, "totals": self.totals(), "by_rule": rows,
            "oldest": [self.oldest[0].isoformat(), self.oldest[1], self.oldest[2]] if self.oldest else None})

    @classmethod
    def load(cls, folder) -> "FollowUp":
        import json
        p = Path(folder) / JSON
        if not p.exists():
            raise JukiError(f"no quality follow-up in {folder}")
        d = json.loads(p.read_text(encoding="utf-8"))
        df = pd.DataFrame(d["by_rule"], columns=["rule", "new", "open", "resolved", "oldest_first_seen"])
        df["oldest_first_seen"] = pd.Series([dt.date.fromisoformat(x) if isinstance(x, str) else None
                                             for x in df["oldest_first_seen"]], dtype=object)
        old = d.get("oldest")
        return cls(dt.date.fromisoformat(d["as_of"]), dt.date.fromisoformat(d["previous"]) if d["previous"] else None,
                   df, (dt.date.fromisoformat(old[0]), old[1], old[2]) if old else None, d["recorded"])

    def headline(self) -> str:
        t = self.totals()
        prev = f"前回の記録（{self.previous}）と比べて" if self.previous else "初回の記録のため、すべて新規として"
        old = f"、最も古い未解決の問題は {self.oldest[0]} から {self.oldest[2]}日" if self.oldest else ""
        return f"{prev}: 新規 {t['new']:,}件、継続 {t['open']:,}件、解消 {t['resolved']:,}件{old}。"


def _current(violations: dict) -> pa.Table:
    parts = []
    for t, v in violations.items():
        if v is None or not v.num_rows:
            continue
        k = list(get(t).key)
        keys = pa.compute.binary_join_element_wise(v.column(k[0]).cast(pa.string()), v.column(k[1]).cast(pa.string()),
                                                   "|")
        parts.append(pa.table({"rule": v.column("rule"), "key": keys}))
    return pa.concat_tables(parts) if parts else pa.table({"rule": pa.array([], pa.string()), "key": pa.array([], pa.string())})


def _open(path: Path, write: bool):
    import duckdb
    if not write and not path.exists():
        con = duckdb.connect()
    else:
        con = duckdb.connect(str(path), read_only=not write)
    if write or not path.exists():
        for s in SCHEMA:
            con.execute(s)
    return con


#: Open just before a review on ``?``: seen before that day and not resolved before it (a review
#: run again for the same day therefore classifies as the first run of that day did).
WAS_OPEN = "first_seen < ? AND (resolved_on IS NULL OR resolved_on >= ?)"


def _classify(con, cur: pa.Table, as_of: dt.date) -> None:
    """Temp table ``cls``: every (rule, key) failing now or open before ``as_of``, with its state."""
    con.register("cur", cur)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE cls AS
        WITH o AS (SELECT rule, key, first_seen FROM problems WHERE {WAS_OPEN}),
        c AS (SELECT DISTINCT rule, key FROM cur)
        SELECT coalesce(c.rule, o.rule) AS rule, coalesce(c.key, o.key) AS key, c.key IS NOT NULL AS failing,
               o.key IS NOT NULL AS was_open, o.first_seen
        FROM c FULL JOIN o ON o.rule = c.rule AND o.key = c.key""", [as_of, as_of])
    con.unregister("cur")


def _compare(con, cur: pa.Table, as_of: dt.date) -> tuple[pd.DataFrame, dt.date | None]:
    _classify(con, cur, as_of)
    prev = con.execute("SELECT max(as_of) FROM reviews WHERE as_of < ?", [as_of]).fetchone()[0]
    df = con.execute("""
        SELECT rule, count(*) FILTER (WHERE failing AND NOT was_open) AS new,
               count(*) FILTER (WHERE failing AND was_open) AS open,
               count(*) FILTER (WHERE NOT failing AND was_open) AS resolved,
               min(first_seen) FILTER (WHERE failing AND was_open) AS oldest_first_seen
        FROM cls GROUP BY rule ORDER BY rule""").fetchdf()
    for k in ("new", "open", "resolved"):
        df[k] = df[k].astype(int)
    df["oldest_first_seen"] = pd.Series([None if pd.isna(x) else pd.Timestamp(x).date() for x in df["oldest_first_seen"]],
                                        dtype=object)
    return df, prev


def _oldest(df: pd.DataFrame, as_of: dt.date) -> tuple | None:
    o = df[(df["open"] > 0) & df["oldest_first_seen"].notna()]
    if not len(o):
        return None
    r = o.sort_values("oldest_first_seen").iloc[0]
    return (r["oldest_first_seen"], r["rule"], (as_of - r["oldest_first_seen"]).days)


def compare(violations: dict, as_of: dt.date, path) -> FollowUp:
    """New / still open / resolved against the recorded state, changing nothing."""
    con = _open(Path(path), write=False)
    try:
        df, prev = _compare(con, _current(violations), as_of)
    finally:
        con.close()
    return FollowUp(as_of, prev, df, _oldest(df, as_of), recorded=False)


def record(violations: dict, as_of: dt.date, path) -> FollowUp:
    """Compare, then record this review in one transaction: new problems get ``as_of`` as their
    first-seen date, open ones their last-seen date, the ones that no longer fail are resolved on
    ``as_of``.  Running the review again for the same day gives the same record; a review older
    than the last recorded one only compares (the record moves forward only)."""
    path = Path(path)
    con = _open(path, write=True)
    try:
        cur = _current(violations)
        df, prev = _compare(con, cur, as_of)
        later = con.execute("SELECT count(*) FROM reviews WHERE as_of > ?", [as_of]).fetchone()[0]
        if later:
            return FollowUp(as_of, prev, df, _oldest(df, as_of), recorded=False)
        con.execute("BEGIN")
        # a same-day earlier run's new problems that no longer fail never were
        con.execute("DELETE FROM problems WHERE first_seen = ? AND (rule, key) NOT IN "
                    "(SELECT rule, key FROM cls WHERE failing)", [as_of])
        con.execute("UPDATE problems SET resolved_on = ? WHERE (rule, key) IN "
                    "(SELECT rule, key FROM cls WHERE was_open AND NOT failing)", [as_of])
        con.execute("UPDATE problems SET last_seen = ?, resolved_on = NULL WHERE (rule, key) IN "
                    "(SELECT rule, key FROM cls WHERE was_open AND failing)", [as_of])
        # failing and not open before: reopened (resolved earlier) or new
        con.execute("""UPDATE problems SET first_seen = ?, last_seen = ?, resolved_on = NULL
                       WHERE (rule, key) IN (SELECT rule, key FROM cls WHERE failing AND NOT was_open)""", [as_of, as_of])
        con.execute("""INSERT INTO problems (rule, key, first_seen, last_seen)
                       SELECT c.rule, c.key, ?, ? FROM cls c WHERE c.failing AND NOT c.was_open
                       AND NOT EXISTS (SELECT 1 FROM problems p WHERE p.rule = c.rule AND p.key = c.key)""",
                    [as_of, as_of])
        con.execute("INSERT OR REPLACE INTO reviews VALUES (?, now()::TIMESTAMP, ?)", [as_of, cur.num_rows])
        con.execute("COMMIT")
    finally:
        con.close()
    path.chmod(0o600)
    return FollowUp(as_of, prev, df, _oldest(df, as_of), recorded=True)


def annotate(rule: str, key: str, path, owner: str | None = None, status: str | None = None,
             note: str | None = None) -> None:
    """Set the owner / status / note of one open problem (reviewers; logged)."""
    from ..access import guard
    from .rules import get_rule
    try:
        table = get_rule(rule).table
    except KeyError:
        raise JukiError(f"unknown rule {rule!r} (dq_summary.json lists the rule ids)") from None
    if status is not None and status not in STATUSES:
        raise JukiError(f"status must be one of {', '.join(STATUSES)}")
    path = Path(path)
    if not path.exists():
        raise JukiError(f"no follow-up record at {path}: it starts with the first scheduled report")
    with guard.entry("followup", rule, params={"key": key, "owner": owner, "status": status}) as g:
        con = _open(path, write=True)
        try:
            n = con.execute("SELECT count(*) FROM problems WHERE rule = ? AND key = ? AND resolved_on IS NULL",
                            [rule, key]).fetchone()[0]
            if not n:
                raise JukiError(f"no open problem {rule} for record {key}")
            me = guard.current().id
            con.execute("""UPDATE problems SET owner = coalesce(?, owner), status = coalesce(?, status),
                           note = coalesce(?, note), noted_by = ?, noted_at = now()::TIMESTAMP
                           WHERE rule = ? AND key = ?""", [owner, status, note, me, rule, key])
        finally:
            con.close()
        g.records = 1
        if table == "jumin":
            g.persons = [key.split("|")[0]]


def notes(path) -> pd.DataFrame:
    """Open problems that carry an owner, status or note (for the review page)."""
    from .rules import get_rule
    path = Path(path)
    if not path.exists():
        return pd.DataFrame()
    con = _open(path, write=False)
    try:
        df = con.execute("""SELECT rule, first_seen, owner, status, note, noted_by, noted_at FROM problems
                            WHERE resolved_on IS NULL AND (owner IS NOT NULL OR status IS NOT NULL OR note IS NOT NULL)
                            ORDER BY first_seen""").fetchdf()
    finally:
        con.close()
    if not len(df):
        return df
    df["rule"] = df["rule"].map(lambda r: get_rule(r).description)
    return df.rename(columns={"rule": "内容", "first_seen": "最初の検出日", "owner": "担当", "status": "状況",
                              "note": "メモ", "noted_by": "記入者", "noted_at": "記入日時"})

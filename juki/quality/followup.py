"""Quality problems followed between reviews: each failing (rule, record) pair keeps the date it
was first seen, so a problem found this month and still open next month is shown as still open
(with its age), not as new; one that no longer fails is shown as resolved.

The state is one Parquet file beside the registry store (``dq_followup.parquet``): one row
per problem -- rule, row key (internal keys only: 宛名番号 and 履歴番号, 住民票コード and
更新順番号, 送付先管理番号, joined by ``|``; keys of any length), first seen, last seen, resolved
on, and an optional owner / status / note that reviewers set (:func:`annotate`, logged) -- and
the recorded reviews in the file's metadata.  The scheduled report records each review
(:func:`record`); a review run by hand only compares (:func:`compare`).  The next state is an
ibis expression over the last one; it is written to a temporary file and renamed over the old
one under a lock, so a crash leaves the old state whole and two writers never interleave.

>>> import datetime as dt, pyarrow as pa, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "f.parquet"
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..errors import JukiError
from ..layouts import get

FILE = "dq_followup.parquet"
JSON = "dq_followup.json"
#: One row per (rule, key) ever seen failing.
SCHEMA = pa.schema([("rule", pa.string()), ("key", pa.string()), ("first_seen", pa.date32()),
                    ("last_seen", pa.date32()), ("resolved_on", pa.date32()), ("owner", pa.string()),
                    ("status", pa.string()), ("note", pa.string()), ("noted_by", pa.string()),
                    ("noted_at", pa.timestamp("us"))])
#: The file's metadata key holding the recorded reviews ({as_of: [recorded_at, failing rows]}).
REVIEWS = b"juki.reviews"
STATUSES = ("未対応", "対応中", "確認待ち", "対応不要")


def path_for(registry=None) -> Path:
    """``dq_followup.parquet`` beside the registry store."""
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
    """(rule, key) of every failing row now; the key is the row's key columns joined by ``|``."""
    import pyarrow.compute as pc
    parts = []
    for t, v in violations.items():
        if v is None or not v.num_rows:
            continue
        cols = [v.column(k).cast(pa.string()) for k in get(t).key]
        keys = pc.binary_join_element_wise(*cols, "|") if len(cols) > 1 else cols[0]
        parts.append(pa.table({"rule": v.column("rule").cast(pa.string()), "key": keys}))
    return pa.concat_tables(parts) if parts else pa.table({"rule": pa.array([], pa.string()), "key": pa.array([], pa.string())})


# ------------------------------------------------------------------ the state file

def _read(path: Path) -> tuple[pa.Table, dict]:
    """The problems and the recorded reviews ({as_of: [recorded_at, failing rows]})."""
    import json

    import pyarrow.parquet as pq
    if not path.exists():
        return _earlier(path.with_suffix(".duckdb"))
    t = pq.read_table(path)
    reviews = json.loads((t.schema.metadata or {}).get(REVIEWS, b"{}"))
    return t.replace_schema_metadata(None).select(SCHEMA.names).cast(SCHEMA), reviews


def _earlier(old: Path) -> tuple[pa.Table, dict]:
    """The state an earlier juki kept in a DuckDB file of the same name (read once; the next
    record writes the Parquet file), or an empty one."""
    if not old.exists():
        return SCHEMA.empty_table(), {}
    import ibis
    con = ibis.duckdb.connect(database=str(old), read_only=True)
    try:
        problems = con.to_pyarrow(con.table("problems")).select(SCHEMA.names).cast(SCHEMA)
        reviews = {r["as_of"].isoformat(): [r["recorded_at"].isoformat(timespec="seconds"), int(r["failing"])]
                   for r in con.to_pyarrow(con.table("reviews")).to_pylist()}
    finally:
        con.disconnect()
    return problems, reviews


def _write(path: Path, problems: pa.Table, reviews: dict) -> None:
    import json

    import pyarrow.parquet as pq

    from ..atomic import replacing
    t = problems.select(SCHEMA.names).cast(SCHEMA).sort_by([("rule", "ascending"), ("key", "ascending")])
    t = t.replace_schema_metadata({REVIEWS: json.dumps(reviews, sort_keys=True).encode()})
    with replacing(path) as tmp:
        pq.write_table(t, tmp)


@contextmanager
def _locked(path: Path):
    """One writer at a time (a record and an annotation never interleave their read and rename)."""
    import fcntl
    import os
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _backend():
    import ibis
    return ibis.duckdb.connect()


def _classify(problems, cur, as_of: dt.date):
    """Every (rule, key) failing now or open just before ``as_of``, with its state: ``failing``,
    ``was_open`` (seen before that day and not resolved before it, so a review run again for the
    same day classifies as the first run of that day did) and its ``first_seen``."""
    import ibis
    from ibis import _
    d = _date(as_of)
    o = problems.filter((problems.first_seen < d) & (problems.resolved_on.isnull() | (problems.resolved_on >= d)))
    o = o.select(o_rule=o.rule, o_key=o.key, first_seen=o.first_seen)
    c = cur.select(c_rule=cur.rule, c_key=cur.key).distinct()
    j = c.outer_join(o, [c.c_rule == o.o_rule, c.c_key == o.o_key])
    return j.select(rule=ibis.coalesce(_.c_rule, _.o_rule), key=ibis.coalesce(_.c_key, _.o_key),
                    failing=_.c_key.notnull(), was_open=_.o_key.notnull(), first_seen=_.first_seen)


def _by_rule(con, cls, as_of: dt.date) -> pd.DataFrame:
    df = con.to_pandas(cls.group_by("rule").aggregate(
        new=cls.rule.count(where=cls.failing & ~cls.was_open),
        open=cls.rule.count(where=cls.failing & cls.was_open),
        resolved=cls.rule.count(where=~cls.failing & cls.was_open),
        oldest_first_seen=cls.first_seen.min(where=cls.failing & cls.was_open)).order_by("rule"))
    for k in ("new", "open", "resolved"):
        df[k] = df[k].astype(int)
    df["oldest_first_seen"] = pd.Series([None if pd.isna(x) else pd.Timestamp(x).date() for x in df["oldest_first_seen"]],
                                        dtype=object)
    return df


def _previous(reviews: dict, as_of: dt.date) -> dt.date | None:
    before = [dt.date.fromisoformat(d) for d in reviews if d < as_of.isoformat()]
    return max(before) if before else None


def _next_state(problems, cls, as_of: dt.date):
    """The problems after recording a review on ``as_of``: an earlier same-day run's new problems
    that no longer fail never were; open ones that no longer fail are resolved on ``as_of``; open
    ones still failing are seen on ``as_of``; failing ones not open before (new, or reopened) are
    first seen on ``as_of``."""
    import ibis
    d = _date(as_of)
    none = ibis.literal(None, type="date")
    k = cls.select(k_rule=cls.rule, k_key=cls.key, k_failing=cls.failing, k_was_open=cls.was_open)
    j = problems.left_join(k, [problems.rule == k.k_rule, problems.key == k.k_key]).select(
        *SCHEMA.names, failing=ibis.coalesce(k.k_failing, False), was_open=ibis.coalesce(k.k_was_open, False))
    kept = j.filter(~((j.first_seen == d) & ~j.failing))
    resolve, still, again = kept.was_open & ~kept.failing, kept.was_open & kept.failing, kept.failing & ~kept.was_open
    kept = kept.mutate(first_seen=ibis.ifelse(again, d, kept.first_seen),
                       last_seen=ibis.ifelse(still | again, d, kept.last_seen),
                       resolved_on=ibis.cases((resolve, d), (still | again, none), else_=kept.resolved_on)).select(*SCHEMA.names)
    new = cls.filter(cls.failing & ~cls.was_open)
    new = new.anti_join(problems, [new.rule == problems.rule, new.key == problems.key])
    new = new.select(rule=new.rule, key=new.key, first_seen=d, last_seen=d, resolved_on=none,
                     **{c: ibis.literal(None, type=str(SCHEMA.field(c).type) if c != "noted_at" else "timestamp")
                        for c in ("owner", "status", "note", "noted_by", "noted_at")})
    return kept.union(new.cast(kept.schema()))


def _state(path: Path):
    import ibis
    problems, reviews = _read(path)
    return ibis.memtable(problems), reviews


def compare(violations: dict, as_of: dt.date, path) -> FollowUp:
    """New / still open / resolved against the recorded state, changing nothing."""
    import ibis
    con = _backend()
    try:
        problems, reviews = _state(Path(path))
        df = _by_rule(con, _classify(problems, ibis.memtable(_current(violations)), as_of), as_of)
    finally:
        con.disconnect()
    return FollowUp(as_of, _previous(reviews, as_of), df, _oldest(df, as_of), recorded=False)


def _oldest(df: pd.DataFrame, as_of: dt.date) -> tuple | None:
    o = df[(df["open"] > 0) & df["oldest_first_seen"].notna()]
    if not len(o):
        return None
    r = o.sort_values("oldest_first_seen").iloc[0]
    return (r["oldest_first_seen"], r["rule"], (as_of - r["oldest_first_seen"]).days)


def record(violations: dict, as_of: dt.date, path) -> FollowUp:
    """Compare, then record this review: new problems get ``as_of`` as their first-seen date, open
    ones their last-seen date, the ones that no longer fail are resolved on ``as_of``.  Running the
    review again for the same day gives the same record; a review older than the last recorded
    one only compares (the record moves forward only)."""
    import ibis
    path = Path(path)
    cur = _current(violations)
    con = _backend()
    try:
        with _locked(path):
            problems, reviews = _state(path)
            cls = _classify(problems, ibis.memtable(cur), as_of)
            df = _by_rule(con, cls, as_of)
            prev = _previous(reviews, as_of)
            if any(d > as_of.isoformat() for d in reviews):
                return FollowUp(as_of, prev, df, _oldest(df, as_of), recorded=False)
            nxt = con.to_pyarrow(_next_state(problems, cls, as_of))
            reviews[as_of.isoformat()] = [dt.datetime.now().isoformat(timespec="seconds"), cur.num_rows]
            _write(path, nxt, reviews)
    finally:
        con.disconnect()
    return FollowUp(as_of, prev, df, _oldest(df, as_of), recorded=True)


def annotate(rule: str, key: str, path, owner: str | None = None, status: str | None = None,
             note: str | None = None) -> None:
    """Set the owner / status / note of one open problem (reviewers; logged)."""
    import ibis

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
        con = _backend()
        try:
            with _locked(path):
                problems, reviews = _state(path)
                this = (problems.rule == rule) & (problems.key == key)
                if not con.execute(problems.filter(this & problems.resolved_on.isnull()).count()):
                    raise JukiError(f"no open problem {rule} for record {key}")
                given = {"owner": owner, "status": status, "note": note}
                nxt = problems.mutate(
                    **{c: ibis.ifelse(this, ibis.coalesce(ibis.literal(v, type="string"), problems[c]), problems[c])
                       for c, v in given.items()},
                    noted_by=ibis.ifelse(this, ibis.literal(guard.current().id), problems.noted_by),
                    noted_at=ibis.ifelse(this, ibis.literal(dt.datetime.now().replace(microsecond=0)), problems.noted_at))
                _write(path, con.to_pyarrow(nxt.select(*SCHEMA.names)), reviews)
        finally:
            con.disconnect()
        g.records = 1
        if table == "jumin":
            g.persons = [key.split("|")[0]]


def _open_problems(path: Path):
    problems, _ = _state(path)
    return problems.filter(problems.resolved_on.isnull())


def open_count(path) -> int:
    """How many problems are open (not resolved) in the record at ``path`` (0 when there is none)."""
    con = _backend()
    try:
        return int(con.execute(_open_problems(Path(path)).count()))
    finally:
        con.disconnect()


def resolved_by(path, cutoff: dt.date) -> list[tuple[tuple[str, str], dt.date]]:
    """((rule, key), resolved on) of each problem resolved on or before ``cutoff`` (for retention)."""
    con = _backend()
    try:
        problems, _ = _state(Path(path))
        gone = problems.filter(problems.resolved_on <= _date(cutoff)).order_by(["resolved_on", "rule", "key"])
        return [((r["rule"], r["key"]), r["resolved_on"]) for r in con.to_pyarrow(gone).to_pylist()]
    finally:
        con.disconnect()


def forget_resolved(path, cutoff: dt.date) -> int:
    """Remove the problems resolved on or before ``cutoff`` (retention); how many went."""
    path = Path(path)
    if not path.exists():
        return 0
    con = _backend()
    try:
        with _locked(path):
            problems, reviews = _state(path)
            gone = problems.resolved_on.notnull() & (problems.resolved_on <= _date(cutoff))
            n = int(con.execute(problems.filter(gone).count()))
            if n:
                _write(path, con.to_pyarrow(problems.filter(~gone)), reviews)
            return n
    finally:
        con.disconnect()


def _date(d: dt.date):
    import ibis
    return ibis.literal(d, type="date")


def notes(path) -> pd.DataFrame:
    """Open problems that carry an owner, status or note (for the review page)."""
    from .rules import get_rule
    path = Path(path)
    if not path.exists():
        return pd.DataFrame()
    con = _backend()
    try:
        o = _open_problems(path)
        o = o.filter(o.owner.notnull() | o.status.notnull() | o.note.notnull())
        df = con.to_pandas(o.order_by(["first_seen", "rule", "key"])
                           .select("rule", "first_seen", "owner", "status", "note", "noted_by", "noted_at"))
    finally:
        con.disconnect()
    if not len(df):
        return df
    df["rule"] = df["rule"].map(lambda r: get_rule(r).description)
    return df.rename(columns={"rule": "内容", "first_seen": "最初の検出日", "owner": "担当", "status": "状況",
                              "note": "メモ", "noted_by": "記入者", "noted_at": "記入日時"})

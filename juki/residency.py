"""Who is a resident on a date, which record is current, and what date a store describes.

One definition for the whole workbench (quality review, statistics publication, purge,
search, tests), written once as ibis expressions.  Rooms that speak SQL (the rule base, the
retention policy) embed the same expressions compiled by ibis (:func:`sql`), so the rule
exists once and can run on any backend ibis compiles for.

The rules (住民記録システム標準仕様書: history rows keyed by 宛名番号 + 履歴番号; a planned
転出 keeps the person a resident until its date):

* **the registry as it stood at the end of day D** holds the rows processed by D
  (処理年月日 ≤ D);
* a person's **current record** on D is their row with the highest 履歴番号 among those;
* the person is a **resident** on D unless that record is a removal (異動情報 消除) whose
  住民でなくなった日 is on or before D -- so a 転出 notified before D with a planned date
  after D still counts;
* a row **takes effect** on its 処理年月日, except a removal whose 住民でなくなった日 is later
  (a planned 転出): it takes effect on that day.  Movements are counted by this date, so that
  population(D0) + 記載 − 消除 over (D0, D1] = population(D1) for consistent records;
* a person's **age** on D is in completed years; a partial birth date counts from the middle of
  what is known (年のみ: 1 July, 年月のみ: the 15th) and an unknown one gives no age (不詳).

>>> import datetime as dt
>>> sql_text = sql("flags", dt.date(2026, 4, 1))
>>> "is_resident" in sql_text and "MAKE_DATE(2026, 4, 1)" in sql_text
True
"""
from __future__ import annotations

import datetime as dt

from .errors import JukiError

REMOVAL = "2"                     # 異動情報: 消除
NO_REFERENCE_DATE = ("the store has no reference date: load it with 'juki load FILE --as-of YYYY-MM-DD' "
                     "(or generate a city with 'juki generate')")


def _date(d):
    import ibis
    if isinstance(d, str):
        d = dt.date.fromisoformat(d)
    return ibis.date(d.year, d.month, d.day)


def is_removal(t):
    """The row removes the person (異動情報 = 消除)."""
    return (t.ido_kubun == REMOVAL).fill_null(False)


def effective_date(t):
    """The day a row takes effect: its 処理年月日, or a removal's later 住民でなくなった日."""
    import ibis
    later = is_removal(t) & (t.shojo_date > t.shori_date).fill_null(False)
    return ibis.ifelse(later, t.shojo_date, t.shori_date)


def flags(t, as_of: dt.date):
    """Every 住民基本台帳 row with ``is_current`` and ``is_resident`` as of the end of ``as_of``."""
    import ibis
    d = _date(as_of)
    known = t.shori_date <= d
    cur = ibis.ifelse(known, t.rireki_no, ibis.null()).max().over(group_by=t.atena_no)
    t = t.mutate(is_current=(known & (t.rireki_no == cur)).fill_null(False))
    gone = is_removal(t) & (t.shojo_date <= d).fill_null(True)
    return t.mutate(is_resident=t.is_current & ~gone)


def current(t, as_of: dt.date | None = None):
    """Each person's current record as of the end of ``as_of`` (None: every row processed so far)."""
    if as_of is None:
        return _latest(t, t.rireki_no, t.atena_no)
    f = flags(t, as_of)
    return f.filter(f.is_current).drop("is_current", "is_resident")


def residents(t, as_of: dt.date):
    """The current records of the persons who are residents at the end of ``as_of``."""
    f = flags(t, as_of)
    return f.filter(f.is_resident).drop("is_current", "is_resident")


def honnin_current(h, as_of: dt.date | None = None):
    """Each person's current 本人確認情報: the highest 更新順番号 among rows stamped by ``as_of``."""
    if as_of is not None:
        d = _date(as_of)
        h = h.filter(h.time_stamp.date() <= d)
    return _latest(h, h.koshin_jun_no, h.jumin_code)


def _latest(t, order, person):
    """The rows of ``t`` with the highest ``order`` per ``person``.  The window goes into a column
    first: a window inside a filter compiles wrongly for Spark (ibis 12's QUALIFY rewrite)."""
    w = t.mutate(__latest=order.max().over(group_by=person))
    return w.filter(w[order.get_name()] == w.__latest).drop("__latest")


def birth_reference(birth, precision):
    """The birth date ages are counted from: partial dates from the middle of what is known."""
    import ibis
    return ibis.cases(
        (precision == "U", ibis.null("date")),
        (precision == "Y", birth.truncate("Y") + ibis.interval(months=6)),
        (precision == "M", birth.truncate("M") + ibis.interval(days=14)),
        else_=birth)


def age(birth, as_of, precision=None):
    """Completed years on ``as_of`` -- a date, or a date expression per row (NULL when the birth
    date is unknown)."""
    import ibis
    b = birth if precision is None else birth_reference(birth, precision)
    d = as_of if isinstance(as_of, ibis.Expr) else ibis.date(as_of.year, as_of.month, as_of.day)
    before_birthday = (d.month() * 100 + d.day()) < (b.month() * 100 + b.day())
    return ((d.year() - b.year()) - before_birthday.cast("int32")).cast("int32")


def resident_ages(t, as_of: dt.date):
    """Residents on ``as_of`` with their ``age`` (NULL = 不詳)."""
    r = residents(t, as_of)
    return r.mutate(age=age(r.seinengappi, as_of, r.seinengappi_prec))


def transitions(t, detail: bool = True):
    """Every row as a change of the person's state, in 履歴番号 order: ``eff_date`` (when it takes
    effect), the person's ``age`` that day, ``resident_after`` (a removal leaves the person non-resident, any other row
    resident) and the state before it (``resident_before``, ``town_before``, ``kokuseki_before``,
    ``seibetsu_before``; the first row starts from non-resident).

    Movements counted from these transitions balance with :func:`residents` for consistent
    records: residents(D1) = residents(D0) + rows entering over (D0, D1] − rows leaving.  Records
    where they do not (a removal processed before the person's earlier rows, a record changed
    without a 記載, ...) are what the balance check names.  Without ``detail``:
    ``eff_date``, ``resident_after``, ``resident_before`` and ``prev_eff`` (the previous row's
    ``eff_date``) only."""
    import ibis
    w = ibis.window(group_by=t.atena_no, order_by=t.rireki_no)
    after = ~is_removal(t)
    eff = effective_date(t)
    if not detail:   # the state alone (the quality review): DuckDB computes every window it is given
        return t.mutate(eff_date=eff, resident_after=after, resident_before=after.lag().over(w).fill_null(False),
                        prev_eff=eff.lag().over(w))
    return t.mutate(eff_date=eff, age=age(t.seinengappi, eff, t.seinengappi_prec), resident_after=after,
                    resident_before=after.lag().over(w).fill_null(False),
                    town_before=t.town_code.lag().over(w), kokuseki_before=t.kokuseki.lag().over(w),
                    seibetsu_before=t.seibetsu.lag().over(w), shojo_before=t.shojo_date.lag().over(w))


# ---------------------------------------------------------------- SQL for rooms that speak SQL

def unbound(table: str, name: str | None = None):
    """An ibis table over a layout's columns, not bound to any connection (for compiling SQL)."""
    import ibis

    from .layouts import get
    return ibis.table(get(table).ibis_schema(), name=name or table)


def sql(kind: str, as_of: dt.date | None = None, table: str = "jumin", name: str | None = None) -> str:
    """DuckDB SQL of one definition over table ``name``: ``flags``, ``current``, ``residents``,
    ``resident_ages``, ``transitions`` (住民基本台帳) or ``honnin_current``."""
    import ibis
    fn = {"flags": flags, "current": current, "residents": residents, "resident_ages": resident_ages,
          "transitions": lambda t, _: transitions(t), "honnin_current": honnin_current}[kind]
    t = unbound("honnin" if kind == "honnin_current" else table, name)
    expr = fn(t, as_of)
    return str(ibis.to_sql(expr, dialect="duckdb"))


# ---------------------------------------------------------------- the store's reference date

def store_as_of(con, schema: str | None = None) -> dt.date | None:
    """The reference date recorded in the store (``juki_meta``, of the attached ``schema``), or None."""
    import json

    from .engine import backend
    try:
        b = backend(con)
        m = b.table("juki_meta", database=schema) if schema else b.table("juki_meta")
        values = m.filter(m.key == "as_of").select("value").to_pyarrow().column(0).to_pylist()
    except Exception:  # no juki_meta: another engine, or a store written by something else
        return None
    value = json.loads(values[0]) if values and values[0] not in (None, "null") else None
    return dt.date.fromisoformat(value) if value else None


def reference_date(con=None, as_of=None, schema: str | None = None) -> dt.date:
    """The date a notebook or command works on: ``as_of`` when given, else the store's own.

    One line (a :class:`JukiError`) says which command to run when there is neither.
    """
    if as_of:
        if isinstance(as_of, dt.date):
            return as_of
        try:
            return dt.date.fromisoformat(str(as_of))
        except ValueError:
            raise JukiError(f"as_of: {as_of!r} is not a valid date (YYYY-MM-DD)") from None
    d = store_as_of(con, schema) if con is not None else None
    if d is None:
        raise JukiError(NO_REFERENCE_DATE)
    return d

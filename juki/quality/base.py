"""The rule base of each file: the table plus the derived columns its rules read, as ibis.

One expression per table, so every rule of a table is evaluated in a single pass of whichever
engine runs it (DuckDB, Spark).  Who is current and who is a resident on ``as_of`` come from
:mod:`juki.residency`, never from a window written here.  Cross-row and cross-file facts
derived here:

* ``jumin``: ``is_current`` and ``is_resident`` (residency), each row as a change of state
  (``eff_date``, ``prev_eff``, ``resident_before``/``after``: residency's transitions), household aggregates over
  residents (``hh_heads``, ``hh_head_name``/``_sex``/``_birth``), duplicate counts among
  residents, and ``honnin_match`` against the person's current 本人確認情報;
* ``honnin``: ``has_resident``, ``n_current`` (rows with レコード状況フラグ 0 per person),
  ``prev_koshin`` (the 更新順番号 of the previous row in time);
* ``sofusaki``: ``n_in_batch`` and ``resident_match`` against the resident's current record.

Joins are on equalities only, with the right side's columns renamed apart (a non-equality
conjunct makes DuckDB fall back to a nested loop).
"""
from __future__ import annotations

import datetime as dt

from .. import residency
from ..layouts import get

#: The basic items compared with the other file, (this file's column, the other's column).
_BASIC = ("kojin_bango", "shimei", "seinengappi", "seibetsu")


def _same(left, right):
    """All pairs equal, NULL equal to NULL (IS NOT DISTINCT FROM)."""
    out = None
    for a, b in zip(left, right):
        e = a.identical_to(b)
        out = e if out is None else out & e
    return out


def base(con, table: str, as_of: dt.date):
    """The rule base of ``table`` on ``as_of``: an ibis table over backend ``con``."""
    import ibis
    d = ibis.date(as_of.year, as_of.month, as_of.day)
    if table == "jumin":
        j = con.table("jumin")
        cols = get("jumin").columns
        tr = residency.transitions(residency.flags(j, as_of), detail=False)
        jl = tr.select(*cols, "is_current", "is_resident", "eff_date", "resident_before", "resident_after", "prev_eff")
        living = jl.filter(jl.is_resident)
        head = living.zokugara == "01"
        hh = living.group_by(hh_setai=living.setai_no).aggregate(
            hh_heads=living.setai_no.count(where=head), hh_head_name=living.shimei.min(where=head),
            hh_head_sex=living.seibetsu.min(where=head), hh_head_birth=living.seinengappi.min(where=head))
        u1 = living.group_by(u1_kb=living.kojin_bango).aggregate(n_same_kojin_bango=living.count())
        u2 = living.group_by(u2_code=living.jumin_code).aggregate(n_same_jumin_code=living.count())
        h = residency.honnin_current(con.table("honnin"), as_of)
        hc = h.select(hc_code=h.jumin_code, hc_kb=h.kojin_bango, hc_name=h.kanji_shimei, hc_birth=h.seinengappi,
                      hc_sex=h.seibetsu, hc_addr=h.jusho)
        x = (jl.left_join(hh, jl.setai_no == hh.hh_setai).left_join(u1, jl.kojin_bango == u1.u1_kb)
             .left_join(u2, jl.jumin_code == u2.u2_code).left_join(hc, jl.jumin_code == hc.hc_code))
        match = hc.hc_code.notnull() & _same([hc.hc_kb, hc.hc_name, hc.hc_birth, hc.hc_sex, hc.hc_addr],
                                             [jl[c] for c in (*_BASIC, "genjusho")])
        return x.select(*[jl[c] for c in jl.columns], as_of=d, hh_heads=hh.hh_heads, hh_head_name=hh.hh_head_name,
                        hh_head_sex=hh.hh_head_sex, hh_head_birth=hh.hh_head_birth,
                        n_same_kojin_bango=u1.n_same_kojin_bango, n_same_jumin_code=u2.n_same_jumin_code,
                        honnin_match=match)
    if table == "honnin":
        h = con.table("honnin")
        j = con.table("jumin")
        r = j.select(r_code=j.jumin_code).distinct()
        per_person = ibis.window(group_by=h.jumin_code)
        in_time = ibis.window(group_by=h.jumin_code, order_by=[h.time_stamp, h.koshin_jun_no])
        hw = h.mutate(n_current=h.record_jokyo_flag.count(where=h.record_jokyo_flag == "0").over(per_person),
                      prev_koshin=h.koshin_jun_no.lag().over(in_time))
        x = hw.left_join(r, hw.jumin_code == r.r_code)
        return x.select(*[hw[c] for c in hw.columns], as_of=d, has_resident=r.r_code.notnull())
    if table == "sofusaki":
        s = con.table("sofusaki")
        cur = residency.current(con.table("jumin"), as_of)
        c = cur.select(c_code=cur.jumin_code, c_kb=cur.kojin_bango, c_name=cur.shimei, c_birth=cur.seinengappi,
                       c_sex=cur.seibetsu, c_addr=cur.genjusho)
        sw = s.mutate(n_in_batch=s.count().over(ibis.window(group_by=s.sofusaki_kanri_no)))
        x = sw.left_join(c, sw.jumin_code == c.c_code)
        match = c.c_code.notnull() & _same([c.c_kb, c.c_name, c.c_birth, c.c_sex, c.c_addr],
                                           [sw[k] for k in (*_BASIC, "jusho")])
        return x.select(*[sw[k] for k in sw.columns], as_of=d, resident_match=match)
    raise KeyError(f"no rule base for table {table!r}")


class Unbound:
    """A stand-in backend whose tables are bound to no connection (to compile without one)."""

    def table(self, name: str):
        return residency.unbound(name)


def unbound(table: str):
    """An unbound table with the columns of ``table``'s rule base (to show a rule as SQL)."""
    import ibis
    return ibis.table(base(Unbound(), table, dt.date(2000, 1, 1)).schema(), name=f"{table}_base")

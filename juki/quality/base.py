"""The rule base of each file: the table plus the derived columns its rules read.

One SELECT per table, so every rule of a table is evaluated in a single DuckDB pass.  Who is
current and who is a resident on ``as_of`` come from :mod:`juki.residency` (compiled to SQL),
never from a window written here.  Cross-row and cross-file facts derived here:

* ``jumin``: ``is_current`` and ``is_resident`` (residency), each row as a change of state
  (``eff_date``, ``prev_eff``, ``resident_before``/``after``: residency's transitions), household aggregates over
  residents (``hh_heads``, ``hh_head_name``/``_sex``/``_birth``), duplicate counts among
  residents, and ``honnin_match`` against the person's current 本人確認情報;
* ``honnin``: ``has_resident``, ``n_current`` (rows with レコード状況フラグ 0 per person),
  ``prev_koshin`` (the 更新順番号 of the previous row in time);
* ``sofusaki``: ``n_in_batch`` and ``resident_match`` against the resident's current record.
"""
from __future__ import annotations

import datetime as dt

from .. import residency


def base_sql(table: str, as_of: dt.date) -> str:
    d = f"DATE '{as_of.isoformat()}'"
    if table == "jumin":
        return f"""
        WITH fl AS ({residency.sql("flags", as_of)}),
        tr AS (SELECT atena_no AS tr_atena, rireki_no AS tr_rireki, eff_date, resident_before, resident_after,
                      lag(eff_date) OVER (PARTITION BY atena_no ORDER BY rireki_no) AS prev_eff
               FROM ({residency.sql("transitions")}) t),
        jl AS (SELECT fl.*, tr.eff_date, tr.resident_before, tr.resident_after, tr.prev_eff
               FROM fl JOIN tr ON tr.tr_atena = fl.atena_no AND tr.tr_rireki = fl.rireki_no),
        living AS (SELECT * FROM jl WHERE is_resident),
        hh AS (
            SELECT setai_no, count(*) FILTER (WHERE zokugara = '01') AS hh_heads,
                   min(shimei) FILTER (WHERE zokugara = '01') AS hh_head_name,
                   min(seibetsu) FILTER (WHERE zokugara = '01') AS hh_head_sex,
                   min(seinengappi) FILTER (WHERE zokugara = '01') AS hh_head_birth
            FROM living GROUP BY setai_no
        ), u1 AS (SELECT kojin_bango, count(*) AS n_same_kojin_bango FROM living GROUP BY kojin_bango),
        u2 AS (SELECT jumin_code, count(*) AS n_same_jumin_code FROM living GROUP BY jumin_code),
        hc AS (
            SELECT jumin_code AS hc_code, kojin_bango AS hc_kb, kanji_shimei AS hc_name, seinengappi AS hc_birth,
                   seibetsu AS hc_sex, jusho AS hc_addr FROM ({residency.sql("honnin_current", as_of)}) h
        )
        SELECT jl.*, {d} AS as_of, hh.hh_heads, hh.hh_head_name, hh.hh_head_sex, hh.hh_head_birth,
               u1.n_same_kojin_bango, u2.n_same_jumin_code,
               (hc.hc_code IS NOT NULL AND hc.hc_kb IS NOT DISTINCT FROM jl.kojin_bango
                AND hc.hc_name IS NOT DISTINCT FROM jl.shimei AND hc.hc_birth IS NOT DISTINCT FROM jl.seinengappi
                AND hc.hc_sex IS NOT DISTINCT FROM jl.seibetsu AND hc.hc_addr IS NOT DISTINCT FROM jl.genjusho)
               AS honnin_match
        -- equality-only joins: a non-equality conjunct in ON makes DuckDB fall back to a nested loop
        FROM jl
        LEFT JOIN hh ON hh.setai_no = jl.setai_no
        LEFT JOIN u1 ON u1.kojin_bango = jl.kojin_bango
        LEFT JOIN u2 ON u2.jumin_code = jl.jumin_code
        LEFT JOIN hc ON hc.hc_code = jl.jumin_code
        """
    if table == "honnin":
        return f"""
        WITH r AS (SELECT DISTINCT jumin_code AS r_code FROM jumin)
        SELECT h.*, {d} AS as_of, r.r_code IS NOT NULL AS has_resident,
               count(*) FILTER (WHERE record_jokyo_flag = '0') OVER (PARTITION BY jumin_code) AS n_current,
               lag(koshin_jun_no) OVER (PARTITION BY jumin_code ORDER BY time_stamp, koshin_jun_no) AS prev_koshin
        FROM honnin h LEFT JOIN r ON r.r_code = h.jumin_code
        """
    if table == "sofusaki":
        return f"""
        WITH c AS (
            SELECT jumin_code AS c_code, kojin_bango AS c_kb, shimei AS c_name, seinengappi AS c_birth,
                   seibetsu AS c_sex, genjusho AS c_addr FROM ({residency.sql("current", as_of)}) cur
        )
        SELECT s.*, {d} AS as_of, count(*) OVER (PARTITION BY sofusaki_kanri_no) AS n_in_batch,
               (c.c_code IS NOT NULL AND c.c_kb IS NOT DISTINCT FROM s.kojin_bango
                AND c.c_name IS NOT DISTINCT FROM s.shimei AND c.c_birth IS NOT DISTINCT FROM s.seinengappi
                AND c.c_sex IS NOT DISTINCT FROM s.seibetsu AND c.c_addr IS NOT DISTINCT FROM s.jusho)
               AS resident_match
        FROM sofusaki s LEFT JOIN c ON c.c_code = s.jumin_code
        """
    raise KeyError(f"no rule base for table {table!r}")

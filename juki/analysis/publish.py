"""``juki publish-analysis``: the de-identified analysis store analysts read instead of the registry.

Published by an administrator (or the scheduler) for a reference date D, written atomically to
``data/analysis.duckdb`` (or beside the given registry store).  It holds only what statistics
need, computed on the registry side with :mod:`juki.residency`, so analysts never need the
registry:

* ``stock`` -- one row per resident on each *reference date* (D, a month before D, and 1 January
  of D's year and the two before): person and household pseudonyms, sex, group, nationality,
  第30条の45 区分, 在留資格, 続柄, 町丁字 and **age in completed years on that date** -- no birth date;
* ``events`` -- one row per 異動 as a change of state (:func:`juki.residency.transitions`): the day
  it takes effect, month of processing, 事由 and its statistical category, group/sex/町丁字 before
  and after, age on that day, the municipality moved from or to (code), the branch office --
  no names, numbers, addresses, staff or terminal IDs;
* ``persons`` -- the person pseudonym and its **record key** for the cell-key method.

Pseudonyms are keyed hashes with a key drawn for this publication only (never stored), so they
link rows within one publication and nothing else.  Record keys are derived from a secret kept
on the registry side (``data/ckm.key``), so the same person keeps the same key from month to
month and the same cell gets the same noise (averaging several publications gains nothing).
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from pathlib import Path

from .. import atomic, codes, paths, residency, store
from ..codes import address
from ..errors import JukiError

GROUPS = {"japanese": "日本人住民", "foreign": "外国人住民"}


def reference_dates(as_of: dt.date) -> list[dt.date]:
    """D, the same day a month before, and 1 January of D's year and the two years before.

    >>> [str(d) for d in reference_dates(dt.date(2026, 3, 31))]
    ['2026-03-31', '2026-02-28', '2026-01-01', '2025-01-01', '2024-01-01']
    """
    prev_month = (as_of.replace(day=1) - dt.timedelta(days=1))
    prev = prev_month.replace(day=min(as_of.day, prev_month.day))
    out = [as_of, prev] + [dt.date(as_of.year - k, 1, 1) for k in range(3)]
    return list(dict.fromkeys(out))


def ckm_key() -> bytes:
    """The secret the record keys derive from (created once, readable by its owner only)."""
    p = paths.data_dir() / "ckm.key"
    if not p.exists():
        atomic.private_dir(p.parent)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
        except FileExistsError:
            pass
    return p.read_bytes()


def publish(db=None, as_of: dt.date | None = None, out=None) -> dict:
    """Publish the analysis store for ``as_of`` (default: the registry's own date)."""
    from ..access import guard
    src = store.db_path(db)
    if not src.exists():
        raise JukiError(f"no store at {src}: run 'juki generate' or 'juki load' first")
    target = Path(out) if out else paths.analysis_db(src if db else None)
    if target.resolve() == src.resolve():
        raise JukiError("the analysis store cannot replace the registry store")
    if target.is_symlink():
        raise JukiError(f"{target} is a symlink: the analysis store is written only as a plain file")
    if target.exists():
        from .store import _meta
        _meta(target)      # replaces only an earlier analysis store: one-line refusal for a log, a key, a store
    elif out and target.resolve() != paths.analysis_db(src if db else None).resolve():
        from .. import outputs  # anywhere but the installation's own analysis store: a new file only
        target = outputs.target(str(out))
    with guard.entry("publish_analysis", target.name, params={"as_of": str(as_of) if as_of else None}) as g:
        res = _publish(src, target, as_of)
        g.records = res["persons"]
        g.detail = f"as of {res['as_of']}, reference dates {', '.join(res['ref_dates'])}"
    return res


def _publish(src: Path, target: Path, as_of) -> dict:
    t0 = time.perf_counter()
    pkey = secrets.token_hex(16)           # pseudonyms of this publication only
    rkey = ckm_key().hex()
    with store.rewrite(target, attach_source=False, schema=False) as rw:
        con = rw.con
        con.execute(f"ATTACH '{src}' AS reg (READ_ONLY)")
        as_of = residency.reference_date(con, as_of, schema="reg")
        refs = reference_dates(as_of)
        con.execute("CREATE TEMP VIEW __reg_jumin AS SELECT * FROM reg.jumin")
        if not con.execute("SELECT count(*) FROM reg.jumin").fetchone()[0]:
            raise JukiError("the registry holds no 住民基本台帳ファイル: nothing to publish")
        # the key from 宛名番号 to pseudonym exists in this connection's memory only
        con.execute(f"""CREATE TEMP TABLE __ids AS
            SELECT substr(sha256('{pkey}' || atena_no), 1, 16) AS person,
                   round(CAST(('0x' || substr(sha256('{rkey}' || atena_no), 1, 8))::UBIGINT AS DOUBLE) / 4294967296.0, 8)
                   AS record_key, atena_no AS __atena
            FROM (SELECT DISTINCT atena_no FROM reg.jumin)""")
        con.execute("CREATE TABLE persons AS SELECT person, record_key FROM __ids ORDER BY person")
        _stock(con, refs, pkey)
        _events(con)
        con.execute("DROP TABLE __ids")
        con.execute("DETACH reg")
        n = int(con.execute("SELECT count(*) FROM persons").fetchone()[0])
        from ..stats.policy import load as load_policy
        store.set_meta(con, {"kind": "analysis", "as_of": as_of.isoformat(), "ref_dates": [d.isoformat() for d in refs],
                             "published_at": dt.datetime.now().isoformat(timespec="seconds"),
                             "persons": n, "policy": load_policy().as_dict()})
    os.chmod(target, 0o600)    # the service account's only: analysts reach it through the table service
    return {"path": str(target), "as_of": as_of.isoformat(), "ref_dates": [d.isoformat() for d in refs],
            "persons": n, "seconds": round(time.perf_counter() - t0, 2)}


def _stock(con, refs, pkey) -> None:
    con.execute("""CREATE TABLE stock (ref_date DATE, person VARCHAR, household VARCHAR, sex VARCHAR, grp VARCHAR,
                   nationality VARCHAR, kubun VARCHAR, shikaku VARCHAR, zokugara VARCHAR, town VARCHAR, age INTEGER)""")
    for d in refs:
        con.execute(f"""INSERT INTO stock SELECT DATE '{d}', i.person, substr(sha256('{pkey}' || r.setai_no), 1, 16),
                r.seibetsu, CASE WHEN r.kokuseki IS NULL THEN '{GROUPS["japanese"]}' ELSE '{GROUPS["foreign"]}' END,
                r.kokuseki, r.kubun_30_45, r.zairyu_shikaku, r.zokugara, r.town_code, r.age
            FROM ({residency.sql('resident_ages', d, name='__reg_jumin')}) r JOIN __ids i ON i.__atena = r.atena_no""")


def _events(con) -> None:
    cat = {r["code"]: r["stats"] for r in codes.rows("ido_jiyu")}
    branch = dict(zip(codes.terminals()["code"], codes.terminals()["branch"]))
    con.execute("CREATE TEMP TABLE __cat (jiyu VARCHAR, cat VARCHAR)")
    con.executemany("INSERT INTO __cat VALUES (?, ?)", [(k, v or None) for k, v in cat.items()])
    con.execute("CREATE TEMP TABLE __branch (term VARCHAR, branch VARCHAR)")
    con.executemany("INSERT INTO __branch VALUES (?, ?)", list(branch.items()))
    address.register_municipalities(con)
    con.execute(f"CREATE TEMP TABLE __tr AS {residency.sql('transitions', None, name='__reg_jumin')}")
    texts = "SELECT zen_jusho AS t FROM __tr UNION SELECT tenshutsu_yotei_jusho FROM __tr"
    con.execute(f"CREATE TEMP TABLE __muni AS {address.municipality_match_sql(texts)}")
    g = lambda k: f"CASE WHEN {k} IS NULL THEN '{GROUPS['japanese']}' ELSE '{GROUPS['foreign']}' END"  # noqa: E731
    con.execute(f"""CREATE TABLE events AS SELECT
            i.person, t.rireki_no AS seq, t.eff_date, date_trunc('month', t.shori_date)::DATE AS shori_month,
            date_trunc('month', t.ido_date)::DATE AS ido_month, t.ido_kubun AS kubun, t.ido_jiyu AS jiyu, c.cat,
            t.resident_before, t.resident_after,
            CASE WHEN t.resident_before THEN {g('t.kokuseki_before')} END AS grp_before,
            CASE WHEN t.resident_before THEN t.seibetsu_before END AS sex_before,
            CASE WHEN t.resident_before THEN t.town_before END AS town_before,
            {g('t.kokuseki')} AS grp, t.seibetsu AS sex, t.town_code AS town, t.kokuseki AS nationality,
            t.age,
            CASE WHEN t.ido_jiyu IN ('11', '12', '16') THEN coalesce(mz.code, CASE WHEN t.ido_jiyu = '12' THEN '国外' END) END
                AS from_municipality,
            CASE WHEN t.ido_jiyu IN ('20', '21', '22') THEN coalesce(md.code, CASE WHEN t.ido_jiyu = '22' THEN '国外' END) END
                AS to_municipality,
            b.branch
        FROM __tr t JOIN __ids i ON i.__atena = t.atena_no
        LEFT JOIN __cat c ON c.jiyu = t.ido_jiyu
        LEFT JOIN __branch b ON b.term = t.tanmatsu_id
        LEFT JOIN __muni mz ON mz.t = t.zen_jusho
        LEFT JOIN __muni md ON md.t = t.tenshutsu_yotei_jusho""")
    con.execute("DROP TABLE __tr")

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
from .. import engine as engines
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


def publish(db=None, as_of: dt.date | None = None, out=None, engine: str | None = None) -> dict:
    """Publish the analysis store for ``as_of`` (default: the registry's own date).  With
    ``engine`` spark the tables are computed on Spark (the registry written as Parquet into a
    private scratch folder) and written into the analysis store by DuckDB."""
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
        res = _publish(src, target, as_of, engines.choose(engine))
        g.records = res["persons"]
        g.detail = f"as of {res['as_of']}, reference dates {', '.join(res['ref_dates'])}"
    return res


def _publish(src: Path, target: Path, as_of, engine: str = "duckdb") -> dict:
    import shutil
    import tempfile

    import ibis
    t0 = time.perf_counter()
    pkey = secrets.token_hex(16)           # pseudonyms of this publication only
    rkey = ckm_key().hex()
    scratch = None
    with store.rewrite(target, attach_source=False, schema=False) as rw:
        b = engines.backend(rw.con)
        b.attach(str(src), name="reg", read_only=True)
        as_of = residency.reference_date(rw.con, as_of, schema="reg")
        refs = reference_dates(as_of)
        j = b.table("jumin", database="reg")
        if not int(j.count().execute()):
            raise JukiError("the registry holds no 住民基本台帳ファイル: nothing to publish")
        on = b                                     # where the tables are computed
        try:
            if engine == "spark":
                scratch = Path(tempfile.mkdtemp(prefix=".spark-", dir=src.resolve().parent))   # 0700: registry rows
                store.to_parquet(src, scratch, ("jumin",))
                on = engines.spark_backend(scratch, ("jumin",))
                j = on.table("jumin")
            # the key from 宛名番号 to pseudonym exists in this computation's memory only
            ids = engines.hold(on, "__ids", _ids(j, pkey, rkey))
            tr = engines.hold(on, "__tr", residency.transitions(j))
            tables = {"persons": ids.select("person", "record_key").order_by("person"),
                      "stock": _stock(j, ids, refs, pkey), "events": _events(on, tr, ids)}
            for name, expr in tables.items():       # computed elsewhere: fetched as Arrow, written here
                b.create_table(name, expr if on is b else ibis.memtable(expr.to_pyarrow()))
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        b.detach("reg")
        # the pseudonym key, the transitions and the municipalities are cached in the computation's
        # memory only, never written to the file
        n = int(b.table("persons").count().execute())
        from ..stats.policy import load as load_policy
        store.set_meta(rw.con, {"kind": "analysis", "as_of": as_of.isoformat(), "ref_dates": [d.isoformat() for d in refs],
                                "published_at": dt.datetime.now().isoformat(timespec="seconds"),
                                "persons": n, "policy": load_policy().as_dict()})
    os.chmod(target, 0o600)    # the service account's only: analysts reach it through the table service
    return {"path": str(target), "as_of": as_of.isoformat(), "ref_dates": [d.isoformat() for d in refs],
            "persons": n, "seconds": round(time.perf_counter() - t0, 2)}


def _keyed(key: str, col, n: int):
    """The first ``n`` hex digits of SHA-256(key || value): a keyed pseudonym."""
    import ibis
    return (ibis.literal(key) + col).hexdigest("sha256").substr(0, n)


def _hex_fraction(h):
    """An 8-digit hex text as a number in [0, 1): its value / 2^32 (the cell-key method's record key)."""
    import ibis
    digits = ibis.literal("0123456789abcdef")
    v = None
    for i in range(8):
        d = digits.find(h.substr(i, 1)).cast("int64") * (16 ** (7 - i))
        v = d if v is None else v + d
    return (v.cast("float64") / 4294967296.0).round(8)


def _ids(j, pkey: str, rkey: str):
    a = j.select("atena_no").distinct()
    return a.select(person=_keyed(pkey, a.atena_no, 16), record_key=_hex_fraction(_keyed(rkey, a.atena_no, 8)),
                    __atena=a.atena_no)


def _group(kokuseki):
    import ibis
    return ibis.ifelse(kokuseki.isnull(), GROUPS["japanese"], GROUPS["foreign"])


def _stock(j, ids, refs, pkey):
    import ibis
    out = None
    for d in refs:
        r = residency.resident_ages(j, d)
        x = r.join(ids, r.atena_no == ids.__atena)
        part = x.select(ref_date=ibis.date(d.year, d.month, d.day), person=x.person,
                        household=_keyed(pkey, x.setai_no, 16), sex=x.seibetsu, grp=_group(x.kokuseki),
                        nationality=x.kokuseki, kubun=x.kubun_30_45, shikaku=x.zairyu_shikaku, zokugara=x.zokugara,
                        town=x.town_code, age=x.age.cast("int32"))
        out = part if out is None else out.union(part, distinct=False)
    return out


def _events(on, t, ids):
    import ibis
    cat = engines.lookup(on, "juki_ido_jiyu", {"c_jiyu": [r["code"] for r in codes.rows("ido_jiyu")],
                                               "cat": [r["stats"] or None for r in codes.rows("ido_jiyu")]})
    term = codes.terminals()
    branch = engines.lookup(on, "juki_terminals", {"b_term": list(term["code"]), "branch": list(term["branch"])})
    texts = t.select(t=t.zen_jusho).union(t.select(t=t.tenshutsu_yotei_jusho))
    muni = engines.hold(on, "__muni", address.municipality_of(texts, on))
    mz, md = muni.rename(mz_t="t", mz_code="code"), muni.rename(md_t="t", md_code="code")
    x = (t.join(ids, t.atena_no == ids.__atena).left_join(cat, t.ido_jiyu == cat.c_jiyu)
         .left_join(branch, t.tanmatsu_id == branch.b_term).left_join(mz, t.zen_jusho == mz.mz_t)
         .left_join(md, t.tenshutsu_yotei_jusho == md.md_t))
    before = t.resident_before
    none = ibis.null("string")
    abroad = ibis.literal("国外")
    moved_in = t.ido_jiyu.isin(["11", "12", "16"])
    moved_out = t.ido_jiyu.isin(["20", "21", "22"])
    events = x.select(
        person=ids.person, seq=t.rireki_no, eff_date=t.eff_date, shori_month=t.shori_date.truncate("M"),
        ido_month=t.ido_date.truncate("M"), kubun=t.ido_kubun, jiyu=t.ido_jiyu, cat=cat.cat,
        resident_before=t.resident_before, resident_after=t.resident_after,
        grp_before=ibis.ifelse(before, _group(t.kokuseki_before), none),
        sex_before=ibis.ifelse(before, t.seibetsu_before, none), town_before=ibis.ifelse(before, t.town_before, none),
        grp=_group(t.kokuseki), sex=t.seibetsu, town=t.town_code, nationality=t.kokuseki, age=t.age,
        from_municipality=ibis.ifelse(moved_in, mz.mz_code.coalesce(ibis.ifelse(t.ido_jiyu == "12", abroad, none)), none),
        to_municipality=ibis.ifelse(moved_out, md.md_code.coalesce(ibis.ifelse(t.ido_jiyu == "22", abroad, none)), none),
        branch=branch.branch)
    return events

"""The synthetic registry looks like, and behaves like, a real city's files."""
import datetime as dt
import hashlib
import re

import pytest
from stdnum.jp import in_

from juki.layouts import LAYOUTS
from juki.quality.required import rules
from juki.synth import Params, generate

from .conftest import AS_OF, SMALL

D = AS_OF.isoformat()
CURRENT = f"""
    (SELECT * FROM jumin QUALIFY rireki_no = max(rireki_no) OVER (PARTITION BY atena_no))"""
LIVING = f"(SELECT * FROM {CURRENT} WHERE ido_kubun <> '2' OR shojo_date > DATE '{D}')"


def _digest(tables):
    h = hashlib.sha256()
    for name in sorted(tables):
        t = tables[name]
        h.update(name.encode())
        for batch in t.to_batches():
            for col in batch.columns:
                h.update(repr(col.to_pylist()).encode())
    return h.hexdigest()


def test_same_seed_same_city_and_other_seed_differs():
    p = Params(residents=800, seed=5, as_of=AS_OF)
    a, b = generate(p), generate(p)
    assert _digest(a) == _digest(b)
    c = generate(Params(residents=800, seed=6, as_of=AS_OF))
    assert _digest(a) != _digest(c)


def test_exact_number_of_living_residents(duck):
    n = duck.execute(f"SELECT count(*) FROM {LIVING} WHERE ido_kubun <> '2'").fetchone()[0]
    assert n == SMALL


def test_one_head_per_household_and_head_name(duck):
    bad = duck.execute(f"""
        SELECT setai_no, count(*) FILTER (WHERE zokugara = '01') AS heads FROM {LIVING}
        GROUP BY setai_no HAVING heads <> 1""").fetchall()
    assert bad == []
    mism = duck.execute(f"""
        WITH l AS {LIVING}, h AS (SELECT setai_no, shimei FROM l WHERE zokugara = '01')
        SELECT count(*) FROM l JOIN h USING (setai_no) WHERE l.setainushi_mei <> h.shimei""").fetchone()[0]
    assert mism == 0


def test_zokugara_consistent_with_sex_and_age(duck):
    bad = duck.execute(f"""
        WITH l AS {LIVING}, h AS (SELECT setai_no, seinengappi AS hb, seibetsu AS hs FROM l WHERE zokugara = '01')
        SELECT count(*) FROM l JOIN h USING (setai_no) WHERE
            (zokugara IN ('03', '05') AND (seibetsu <> '2' OR hs <> '1')) OR
            (zokugara IN ('02', '04') AND (seibetsu <> '1' OR hs <> '2')) OR
            (zokugara = '06' AND date_diff('day', hb, seinengappi) < 12 * 365) OR
            (zokugara IN ('09', '10') AND date_diff('day', seinengappi, hb) < 12 * 365) OR
            (zokugara = '09' AND seibetsu <> '1') OR (zokugara = '10' AND seibetsu <> '2')
    """).fetchone()[0]
    assert bad == 0


def test_required_when_rules_hold_on_every_file(duck):
    failures = {}
    for lay in LAYOUTS.values():
        for r in rules(lay):
            n = duck.execute(f"SELECT count(*) FROM {lay.table} WHERE {r.failing_sql}").fetchone()[0]
            if n:
                failures[r.id] = n
    assert failures == {}


def test_foreign_residents_carry_kubun_and_japanese_none(duck):
    rows = duck.execute(f"SELECT kokuseki IS NOT NULL, kubun_30_45 IS NOT NULL, count(*) FROM {LIVING} GROUP BY ALL").fetchall()
    for foreign, has_kubun, n in rows:
        assert foreign == has_kubun
    share = duck.execute(f"SELECT avg((kokuseki IS NOT NULL)::INT) FROM {LIVING}").fetchone()[0]
    assert 0.025 < share < 0.06
    kinds = {r[0] for r in duck.execute(f"SELECT DISTINCT kubun_30_45 FROM {LIVING} WHERE kubun_30_45 IS NOT NULL").fetchall()}
    assert {"1", "2"} <= kinds
    past = duck.execute(f"SELECT count(*) FROM {LIVING} WHERE ido_kubun <> '2' AND zairyu_manryo < DATE '{D}'").fetchone()[0]
    assert past == 0


def test_individual_numbers_valid_and_unique(duck):
    nums = [r[0] for r in duck.execute(f"SELECT kojin_bango FROM {LIVING}").fetchall()]
    assert all(in_.is_valid(n) for n in nums)
    assert len(nums) == len(set(nums))
    allnums = duck.execute("SELECT DISTINCT kojin_bango FROM jumin").fetchall()
    assert all(in_.is_valid(r[0]) for r in allnums)
    codes = [r[0] for r in duck.execute(f"SELECT jumin_code FROM {LIVING}").fetchall()]
    assert all(re.fullmatch(r"\d{11}", c) for c in codes) and len(codes) == len(set(codes))


def test_current_honnin_equals_jumin(duck):
    bad = duck.execute(f"""
        WITH h AS (SELECT * FROM honnin QUALIFY koshin_jun_no = max(koshin_jun_no) OVER (PARTITION BY jumin_code))
        SELECT count(*) FROM {LIVING} j LEFT JOIN h ON h.jumin_code = j.jumin_code
        WHERE h.jumin_code IS NULL OR h.kojin_bango <> j.kojin_bango OR h.kanji_shimei <> j.shimei
           OR h.seinengappi <> j.seinengappi OR h.seibetsu <> j.seibetsu OR h.jusho <> j.genjusho
           OR (j.ido_kubun <> '2' AND h.record_jokyo_flag <> '0')""").fetchone()[0]
    assert bad == 0
    inc = duck.execute("""SELECT count(*) FROM (SELECT jumin_code, koshin_jun_no,
        lag(time_stamp) OVER (PARTITION BY jumin_code ORDER BY koshin_jun_no) AS prev, time_stamp FROM honnin)
        WHERE prev >= time_stamp""").fetchone()[0]
    assert inc == 0
    assert duck.execute("SELECT count(*) FROM honnin").fetchone()[0] == duck.execute("SELECT count(*) FROM jumin").fetchone()[0]


def test_dates_are_ordered(duck):
    bad = duck.execute(f"""SELECT ido_jiyu, count(*) FROM jumin WHERE
        seinengappi > jumin_date OR jumin_date > jusho_date OR seinengappi > ido_date
        OR (todoke_date IS NOT NULL AND ido_jiyu NOT IN ('21', '22') AND NOT (ido_date <= todoke_date AND todoke_date <= shori_date))
        OR (todoke_date IS NOT NULL AND ido_jiyu IN ('21', '22') AND todoke_date > shori_date)
        OR (todoke_date IS NULL AND ido_date > shori_date)
        OR shori_date > DATE '{D}'
        GROUP BY ALL""").fetchall()
    assert bad == []


def test_removed_records_and_history(duck):
    assert duck.execute("SELECT count(*) FROM jumin WHERE ido_kubun = '2' AND shojo_date IS NULL").fetchone()[0] == 0
    assert duck.execute("SELECT count(*) FROM jumin WHERE ido_kubun <> '2' AND shojo_date IS NOT NULL").fetchone()[0] == 0
    years = duck.execute("SELECT count(DISTINCT year(shojo_date)) FROM jumin WHERE shojo_date IS NOT NULL").fetchone()[0]
    assert years >= 10
    first = duck.execute("SELECT min(ido_date) FROM jumin").fetchone()[0]
    assert first <= dt.date(AS_OF.year - 10, 1, 31)
    kinds = {r[0] for r in duck.execute("SELECT DISTINCT ido_jiyu FROM jumin").fetchall()}
    assert {"11", "12", "13", "17", "21", "22", "23", "31", "40", "43"} <= kinds


def test_processing_records_and_sofusaki(duck):
    assert duck.execute("SELECT count(*) FROM jumin WHERE tanmatsu_id IS NULL OR shokuin_no IS NULL OR shori_id IS NULL").fetchone()[0] == 0
    n = duck.execute("SELECT count(*) FROM sofusaki").fetchone()[0]
    assert n > 0
    bad = duck.execute("""SELECT count(*) FROM sofusaki s JOIN
        (SELECT sofusaki_kanri_no, count(*) AS n FROM sofusaki GROUP BY 1) b USING (sofusaki_kanri_no)
        WHERE s.taisho_ninzu <> b.n""").fetchone()[0]
    assert bad == 0
    assert duck.execute("SELECT count(*) FROM sofusaki WHERE sent_date IS NOT NULL AND sent_date <= shori_date").fetchone()[0] == 0


def test_no_clear_text_pin(duck):
    vals = [r[0] for r in duck.execute("SELECT conveni_pin_hash FROM jumin WHERE conveni_pin_hash IS NOT NULL").fetchall()]
    assert vals and all(re.fullmatch(r"hmac-sha256\$[0-9a-f]{32}\$[0-9a-f]{64}", v) for v in vals)
    assert not any(re.fullmatch(r"\d{4}", v) for v in vals)
    assert len(set(vals)) == len(vals)  # salted


def test_names_have_readings_and_some_gaiji(duck):
    bad = duck.execute(r"""SELECT count(*) FROM honnin WHERE NOT regexp_full_match(furigana_shimei, '[ァ-ヶー　]+')""").fetchone()[0]
    assert bad == 0


@pytest.mark.parametrize("n", [1, 7, 40])
def test_tiny_cities_generate(n):
    t = generate(Params(residents=n, seed=2, as_of=AS_OF))
    assert t["jumin"].num_rows >= n

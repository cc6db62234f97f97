import random

import numpy as np
from stdnum.jp import in_

from juki import codes
from juki.codes import atena, kojin_bango, municipality


def test_vectorised_individual_number_check_digit_matches_stdnum():
    rng = np.random.default_rng(3)
    bases = rng.integers(0, 10, (2000, 11))
    cds = kojin_bango.check_digits_array(bases)
    for b, c in zip(bases, cds):
        s = "".join(map(str, b))
        assert in_.calc_check_digit(s) == str(c)
        assert in_.is_valid(s + str(c))


def test_reference_vectors():
    assert in_.is_valid("621498320257") and not in_.is_valid("621498320258")
    assert in_.is_valid("123456789018")
    for code in ("131016", "011002", "121002", "122041", "122076"):
        assert municipality.is_valid(code)


def test_atena_vectorised_matches_scalar():
    serials = np.array(random.Random(1).sample(range(10 ** 8, 10 ** 9), 500))
    for s, c in zip(serials, atena.check_digits_array(serials)):
        assert atena.calc_check_digit(f"{s:09d}") == str(c)


def test_municipality_table_has_valid_codes():
    m = codes.municipalities()
    assert all(municipality.is_valid(c) for c in m.index)
    assert "122076" in m.index


def test_towns_and_branches():
    t = codes.towns()
    assert t["code"].is_unique and t["code"].str.fullmatch(r"\d{6}").all()
    assert t["postcode"].str.fullmatch(r"27[01]\d{4}").all()
    assert set(t["branch"]) <= set(codes.branches()["name"])
    assert set(codes.branches()["name"]) >= {"本庁", "常盤平", "小金", "小金原", "六実", "馬橋", "新松戸", "矢切", "東松戸"}


def test_ido_jiyu_follows_the_standard_categories():
    rows = codes.rows("ido_jiyu")
    by = {}
    for r in rows:
        by.setdefault(r["kubun"], []).append(r["name"])
    assert {"国内転入", "国外転入等", "出生", "職権記載(帰化等)", "職権記載(国籍喪失)"} <= set(by["1"])
    assert {"国内転出", "国外転出", "死亡", "職権消除(帰化等)", "職権消除(国籍喪失)"} <= set(by["2"])
    assert {"転居", "世帯分離", "世帯主変更", "個人番号の変更請求", "住民票コードの変更請求"} <= set(by["3"])


def test_kubun_required_items_are_layout_columns():
    from juki.layouts import get
    cols = set(get("jumin").columns)
    for r in codes.rows("kubun_30_45"):
        assert set(filter(None, r["required_items"].split(";"))) <= cols

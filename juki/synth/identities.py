"""Who each person is: name and reading, numbers, and a foreign resident's 第30条の45 facts.

Numbers are unique across the whole city without any global state: 宛名番号 and 世帯番号 are the
person's and household's global index with their M11W2-7 check digit, 個人番号 and 住民票コード
keyed permutations of the person's index (:mod:`.numbers`), so a block is the same whatever the
chunk it is generated in.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import codes
from ..codes import atena, kojin_bango
from . import names as N
from .clock import NA
from .numbers import digits, pad, permute
from .people import People, Window

#: Global index strides: persons and households of block b are numbered from b x stride.
PERSON_STRIDE = 1 << 17
HOUSEHOLD_STRIDE = 1 << 14


@dataclass
class Identities:
    atena_no: np.ndarray
    setai_no: np.ndarray          # per household
    shimei: np.ndarray
    kana: np.ndarray
    nat: np.ndarray               # 国籍・地域 code of foreign (and formerly foreign) persons, else None
    kb_old: np.ndarray
    kb_new: np.ndarray            # after a 個人番号の変更請求 (None: no change)
    jc_old: np.ndarray
    jc_new: np.ndarray
    kubun: np.ndarray
    shikaku: np.ndarray
    kikan: np.ndarray
    manryo: np.ndarray            # day (NA)
    zcard: np.ndarray
    tsusho: np.ndarray


@lru_cache(maxsize=1)
def _shikaku():
    sk = codes.frame("zairyu_shikaku")
    w = sk["weight"].astype(float).to_numpy()
    return sk["code"].to_numpy(), w / w.sum(), dict(zip(sk["code"], sk["periods"].str.split(";")))


def months(period: str) -> int:
    """'5年' -> 60, '4年3月' -> 51, '6月' -> 6, '無期限' -> 0.

    >>> [months(x) for x in ('5年', '4年3月', '6月', '無期限')]
    [60, 51, 6, 0]
    """
    if period == "無期限":
        return 0
    years, _, rest = period.partition("年") if "年" in period else ("0", "", period)
    return int(years) * 12 + (int(rest[:-1]) if rest.endswith("月") else 0)


def build(rng, pp: People, w: Window, block: int, seed: int, changed35: np.ndarray, changed38: np.ndarray) -> Identities:
    P = pp.persons
    n = len(P)
    H = len(pp.kind)
    hh = P["hh"].to_numpy()
    sex = P["sex"].to_numpy()
    foreign = pp.foreign[hh]
    was_foreign = foreign | (pp.naturalised[hh] != NA)

    # names: Japanese households share a surname; split-offs carry their parents'
    sur_k, sur_r = N.japanese_surnames(rng, H)
    fam_hh = hh.copy()
    fam_hh[pp.split] = pp.alt_hh[pp.split]
    giv_k, giv_r = N.given_names(rng, sex)
    name = sur_k[fam_hh] + "　" + giv_k
    kana = sur_r[fam_hh] + "　" + giv_r
    kok = codes.frame("kokuseki")
    kw = kok["weight"].astype(float).to_numpy()
    hh_nat = kok["code"].to_numpy()[rng.choice(len(kok), size=H, p=kw / kw.sum())]
    # naturalised households came mostly from Korea and China
    hh_nat = np.where(pp.naturalised != NA, np.where(rng.random(H) < 0.55, "410", "156"), hh_nat)
    nat = np.where(was_foreign, hh_nat[hh], None)
    f = np.nonzero(foreign)[0]
    fn, fk = N.foreign_names(rng, hh_nat[hh][f])
    name[f], kana[f] = fn, fk

    pid = block * PERSON_STRIDE + np.arange(n, dtype=np.int64)
    serial = 100_000_001 + pid
    atena_no = pad(serial * 10 + atena.check_digits_array(serial), 10)
    hs = 800_000_001 + block * HOUSEHOLD_STRIDE + np.arange(H, dtype=np.int64)
    setai_no = pad(hs * 10 + atena.check_digits_array(hs), 10)
    kb = [permute(pid.astype(np.uint64) * 2 + k, seed, "kojin_bango").astype(np.int64) for k in (0, 1)]
    kb = [pad(b * 10 + kojin_bango.check_digits_array(digits(b, 11)), 12) for b in kb]
    jc = [pad(permute(pid.astype(np.uint64) * 2 + k, seed, "jumin_code").astype(np.int64), 11) for k in (0, 1)]
    kb_new = np.full(n, None, dtype=object)
    kb_new[changed35] = kb[1][changed35]
    jc_new = np.full(n, None, dtype=object)
    jc_new[changed38] = jc[1][changed38]

    # foreign residents (and the naturalised, before): 第30条の45 区分 and its items
    kubun = np.full(n, None, dtype=object)
    shikaku = np.full(n, None, dtype=object)
    kikan = np.full(n, None, dtype=object)
    card = np.full(n, None, dtype=object)
    korean = np.isin(nat, ["410", "408"])
    r = rng.random(n)
    age = P["age"].to_numpy()
    k = np.where(korean & (r < 0.55) & (age > 15), "2", np.where(r > 0.997, "4", np.where(r > 0.996, "3", "1")))
    k = np.where((w.A - P["birth"].to_numpy()) < 60, "5", k)
    kubun[was_foreign] = k[was_foreign]
    codes_, wts, periods = _shikaku()
    s = codes_[rng.choice(len(codes_), size=H, p=wts)][hh]
    s = np.where((age < 18) & ~np.isin(s, ["27", "28", "30"]), "25", s)
    s = np.where(pp.naturalised[hh] != NA, "27", s)          # naturalised after permanent residence
    c1 = was_foreign & (kubun == "1")
    shikaku[c1] = s[c1]
    pick = rng.random(n)
    fi = np.nonzero(was_foreign)[0]
    span = np.zeros(n, dtype=np.int64)
    kikan_all = np.full(n, None, dtype=object)
    kikan_all[fi] = [periods[c][int(x * len(periods[c]))] for c, x in zip(s[fi], pick[fi])]
    span[fi] = [months(x) for x in kikan_all[fi]]
    kikan[c1] = kikan_all[c1]
    c34 = was_foreign & np.isin(kubun, ["3", "4"])
    kikan[c34] = "6月"
    span = np.where(c34, 6, span)
    need_m = (c1 & ~np.isin(shikaku, ["06", "27"])) | c34
    manryo = np.where(need_m, w.A + 1 + (rng.random(n) * np.maximum(span * 30, 30)).astype(np.int64), NA)
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))
    li = rng.integers(0, len(letters), (n, 4))
    card_all = (letters[li[:, 0]].astype(object) + letters[li[:, 1]] + pad(rng.integers(0, 10 ** 8, n), 8)
                + letters[li[:, 2]] + letters[li[:, 3]])
    cc = was_foreign & np.isin(kubun, ["1", "2"])
    card[cc] = card_all[cc]
    tk, _ = N.japanese_surnames(rng, n)
    tsusho = np.where(foreign & (kubun == "2") & (rng.random(n) < 0.3), "通称 " + tk + "　" + giv_k + " (記載)", None)
    return Identities(atena_no, setai_no, name, kana, nat, kb[0], kb_new, jc[0], jc_new, kubun, shikaku, kikan,
                      manryo, card, tsusho)

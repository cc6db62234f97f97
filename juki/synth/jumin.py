"""The 住民基本台帳ファイル of a block: a full-row snapshot per 異動 (key 宛名番号 + 履歴番号).

Dates follow the law: 異動年月日 ≤ 届出年月日 ≤ 処理年月日, except a 転出, which is notified
before the planned move-out date; 届出 and 処理 fall on business days; 職権 rows have no 届出;
processing dates never go backwards within a person's history, so the rows' effective dates
follow their 履歴番号 (what :mod:`juki.residency` and the balance of the official tables rely on).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import codes
from .clock import FAR, NA, Calendar
from .events import Events
from .identities import Identities
from .numbers import pad
from .people import People, Window

SHOKKEN = ("14", "16", "17", "20", "24", "26", "43")   # rows written by the office, without a 届出
LEAVING = ("21", "22")
HONSEKI = np.array(["千葉県松戸市", "東京都葛飾区", "茨城県水戸市", "福島県郡山市", "新潟県長岡市", "宮城県石巻市",
                    "長野県松本市", "千葉県銚子市"], dtype=object)
ABROAD = np.array(["中華人民共和国", "ベトナム社会主義共和国", "フィリピン共和国", "大韓民国", "ネパール", "アメリカ合衆国",
                   "タイ王国", "インド"], dtype=object)


@dataclass
class Places:
    """Addresses of a block's households: in the city (now and before a 転居), outside it."""
    ti: np.ndarray
    addr: np.ndarray
    kata: np.ndarray
    ti_old: np.ndarray
    addr_old: np.ndarray
    kata_old: np.ndarray
    from_code: np.ndarray       # municipality of the previous address (転入)
    from_addr: np.ndarray
    to_code: np.ndarray         # municipality moved to (転出)
    to_addr: np.ndarray
    abroad_from: np.ndarray
    abroad_to: np.ndarray


def _city_addresses(rng, n, pref_city: str):
    towns = codes.towns()
    w = towns["weight"].to_numpy()
    ti = rng.choice(len(towns), size=n, p=w / w.sum())
    style = towns["style"].to_numpy()[ti]
    name = towns["name"].to_numpy()[ti].astype(object)
    num = lambda lo, hi: pd.Series(rng.integers(lo, hi, n)).astype(str).to_numpy(object)  # noqa: E731
    eda = rng.integers(0, 20, n)
    addr = np.where(style == "住居表示", pref_city + name + num(1, 30) + "番" + num(1, 25) + "号",
                    pref_city + name + num(1, 3000) + "番地"
                    + np.where(eda > 0, "の" + pd.Series(eda).astype(str).to_numpy(object), ""))
    building = np.array(["メゾン", "ハイツ", "コーポ", "レジデンス", "パークハイム", "グランドール"], dtype=object)
    room = pd.Series(rng.integers(1, 8, n) * 100 + rng.integers(1, 12, n)).astype(str).to_numpy(object)
    kata = np.where(rng.random(n) < 0.42, building[rng.integers(0, len(building), n)]
                    + towns["choiki"].to_numpy()[ti].astype(object) + room + "号室", None)
    return ti, addr, kata


def _outside(rng, n, city_code: str):
    m = codes.municipalities()
    m = m[m.index != city_code]
    w = m["weight"].to_numpy(float)
    i = rng.choice(len(m), size=n, p=w / w.sum())
    chome = np.array(list("一二三四五"), dtype=object)[rng.integers(0, 5, n)]
    town = np.array(["本町", "中央", "旭町", "緑町", "栄町", "南町", "東町"], dtype=object)[rng.integers(0, 7, n)]
    num = lambda hi: pd.Series(rng.integers(1, hi, n)).astype(str).to_numpy(object)  # noqa: E731
    addr = (m["prefecture"].to_numpy(object)[i] + m["name"].to_numpy(object)[i] + town + chome + "丁目"
            + num(30) + "番" + num(20) + "号")
    return m.index.to_numpy(object)[i], addr


def places(rng, H: int, pref_city: str, city_code: str) -> Places:
    ti, addr, kata = _city_addresses(rng, H, pref_city)
    ti_old, addr_old, kata_old = _city_addresses(rng, H, pref_city)
    fc, fa = _outside(rng, H, city_code)
    tc, ta = _outside(rng, H, city_code)
    return Places(ti, addr, kata, ti_old, addr_old, kata_old, fc, fa, tc, ta,
                  ABROAD[rng.integers(0, len(ABROAD), H)], ABROAD[rng.integers(0, len(ABROAD), H)])


def _staff(rng):
    """Staff numbers per branch office (職員番号 / 操作者ID)."""
    staff, base = {}, 1_000_001
    for b in codes.branches().itertuples():
        k = int(b.terminals) * 4
        staff[b.name] = np.array([f"{base + i:07d}" for i in range(k)], dtype=object)
        base += k + 37
    return staff


def _random_strings(rng, n, alphabet: str, length: int) -> np.ndarray:
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    c = table[rng.integers(0, len(table), (n, length))]
    return np.ascontiguousarray(c).view(f"S{length}").ravel().astype(str).astype(object)


def pin_pepper(seed: int) -> bytes:
    """The secret key of the PIN hash.  Synthetic cities derive it from the seed so that a seed
    fixes the city; a real deployment keeps it outside the database (JUKI_PIN_PEPPER)."""
    import os
    env = os.environ.get("JUKI_PIN_PEPPER")
    return env.encode() if env else hashlib.sha256(f"juki-synthetic-pin-pepper/{seed}".encode()).digest()


def hash_pin(pin: str, salt: bytes, pepper: bytes) -> str:
    """``hmac-sha256$<salt hex>$<digest hex>``: a keyed hash, since a 4-digit PIN alone could be
    brute-forced from any unkeyed hash.

    >>> h = hash_pin('1234', bytes(16), b'k'); h.split('$')[0], len(h.split('$')[2])
    ('hmac-sha256', 64)
    >>> verify_pin('1234', h, b'k'), verify_pin('4321', h, b'k')
    (True, False)
    """
    return "hmac-sha256$" + salt.hex() + "$" + hmac.new(pepper, salt + pin.encode(), hashlib.sha256).hexdigest()


def verify_pin(pin: str, stored: str, pepper: bytes) -> bool:
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(hash_pin(pin, bytes.fromhex(salt), pepper).split("$")[2], digest)


def _dates(rng, E: pd.DataFrame, w: Window, cal: Calendar, jusho_date):
    """(todoke, shori) per row: business days, 職権 without 届出, a 転出 notified ahead."""
    pid, ido, jiyu = E["pid"].to_numpy(), E["ido"].to_numpy(), E["jiyu"].to_numpy()
    m = len(E)
    shokken = np.isin(jiyu, SHOKKEN)
    out = np.isin(jiyu, LEAVING)
    todoke = cal.on_or_after(ido + rng.integers(0, 14, m))
    before = np.maximum(cal.on_or_after(ido - rng.integers(0, 14, m)), jusho_date)
    todoke = np.where(out, np.minimum(before, ido), todoke)
    todoke = np.minimum(todoke, cal.last_on_or_before(w.A))
    todoke = np.where(out, todoke, np.maximum(todoke, ido))
    shori = np.where(shokken, cal.on_or_after(ido), todoke)
    shori = np.minimum(shori, cal.last_on_or_before(w.A))
    shori = np.maximum(shori, np.where(shokken, ido, 0))
    # a later row is never processed before an earlier one of the same person
    shori = pd.Series(shori).groupby(pid).cummax().to_numpy()
    todoke = np.where(shokken, NA, todoke)
    return todoke, shori


def build(rng, pp: People, ev: Events, ids: Identities, pl: Places, w: Window, cal: Calendar, city_code: str,
          pepper: bytes):
    """Columns of the 住民基本台帳 rows (dict) and helper columns for the CS files (DataFrame)."""
    P, E = pp.persons, ev.frame
    pid, ido, jiyu = E["pid"].to_numpy(), E["ido"].to_numpy(), E["jiyu"].to_numpy()
    m = len(E)
    hh_p = P["hh"].to_numpy()
    birth = P["birth"].to_numpy()[pid]

    alt = ido < pp.alt_until[pid]                  # household state at the row's date
    hh_row = np.where(alt, pp.alt_hh[pid], hh_p[pid])
    zok = np.where(alt, pp.alt_zok[pid], P["zokugara"].to_numpy()[pid])
    head = np.where(alt, pp.alt_head[pid], pp.head_of[pid])
    moved = ido >= pp.move[hh_row]                 # after the household's 転居 (never when it had none)
    now = moved | (pp.move[hh_row] == FAR)
    ti = np.where(now, pl.ti[hh_row], pl.ti_old[hh_row])
    addr = np.where(now, pl.addr[hh_row], pl.addr_old[hh_row])
    kata = np.where(now, pl.kata[hh_row], pl.kata_old[hh_row])

    jumin_date = P["jumin_date"].to_numpy()[pid]
    jusho_date = np.maximum(np.where(moved, pp.move[hh_row], P["jusho_date"].to_numpy()[pid]), jumin_date)
    split = np.isin(pid, pp.split) & ~alt
    jusho_date = np.where(split, P["jusho_date"].to_numpy()[pid], jusho_date)

    kubun_of = {r["code"]: r["kubun"] for r in codes.rows("ido_jiyu")}
    ido_kubun = pd.Series(jiyu).map(kubun_of).to_numpy(object)
    removal = ido_kubun == "2"
    shojo = np.where(removal, np.where(jiyu == "24", ido, pp.exit_of[pid]), NA)
    todoke, shori = _dates(rng, E, w, cal, jusho_date)

    nat_day = pp.naturalised[hh_p[pid]]
    post_nat = (nat_day != NA) & ((ido > nat_day) | ((ido == nat_day) & (jiyu != "24")))
    foreign = (ids.nat[pid] != None) & ~post_nat  # noqa: E711 - object array
    entry_kind = pd.Series(jiyu).where(E["ord"].to_numpy() == 0).groupby(pid).transform("first").to_numpy()
    zen = np.where(entry_kind == "11", pl.from_addr[hh_p[pid]], np.where(entry_kind == "12", pl.abroad_from[hh_p[pid]], None))
    zen = np.where(moved, pl.addr_old[hh_row], zen)
    leaving = np.isin(jiyu, ("20", "21", "22"))
    yotei = np.where(np.isin(jiyu, ("20", "21")), pl.to_addr[hh_p[pid]],
                     np.where(jiyu == "22", pl.abroad_to[hh_p[pid]], None))
    kakutei = jiyu == "20"

    proc = _processing(rng, m, ti, shori)
    biz = _business(rng, zok, shori, birth, jusho_date, foreign)
    last = np.r_[pid[1:] != pid[:-1], True]
    cards = _cards(rng, last, removal, shori - birth, pepper)
    honseki = np.where(foreign, None, HONSEKI[hh_p[pid] % len(HONSEKI)]
                       + pd.Series((hh_p[pid] % 2000) + 1).astype(str).to_numpy(object) + "番地")
    shimei = ids.shimei
    hittou = np.where(foreign, None, np.where(np.isin(zok, ["01", "02", "03", "04", "05", "06"]), shimei[head], shimei[pid]))
    kb_change = _change_day(E, "35", len(P))
    kb = np.where(ido >= kb_change[pid], ids.kb_new[pid], ids.kb_old[pid])
    jc_change = _change_day(E, "38", len(P))
    jc = np.where(ido >= jc_change[pid], ids.jc_new[pid], ids.jc_old[pid])
    towns = codes.towns()
    cols = {
        "atena_no": ids.atena_no[pid], "setai_no": ids.setai_no[hh_row], "kojin_bango": kb, "jumin_code": jc,
        "shimei": shimei[pid], "seinengappi": birth, "seibetsu": P["sex"].to_numpy()[pid], "genjusho": addr,
        "katagaki": kata, "zokugara": zok, "setainushi_mei": shimei[head], "honseki": honseki, "hittousha": hittou,
        "zairyu_card_no": np.where(foreign, ids.zcard[pid], None),
        "kubun_30_45": np.where(foreign, ids.kubun[pid], None),
        "zairyu_shikaku": np.where(foreign, ids.shikaku[pid], None),
        "zairyu_kikan": np.where(foreign, ids.kikan[pid], None),
        "zairyu_manryo": np.where(foreign, ids.manryo[pid], NA),
        "kokuseki": np.where(foreign, ids.nat[pid], None),
        "tsusho_rireki": np.where(foreign, ids.tsusho[pid], None),
        "jumin_date": jumin_date, "jusho_date": jusho_date, "shojo_date": shojo,
        "tenshutsu_kakutei_date": np.where(kakutei, ido, NA), "zen_jusho": zen,
        "tenshutsu_yotei_jusho": np.where(leaving, yotei, None),
        "tenshutsu_kakutei_jusho": np.where(kakutei, yotei, None), "kobetsu_jiko": None,
        **biz, "senkyo_shikaku": np.where(foreign, None, biz["senkyo_shikaku"]),
        **cards, "ido_kubun": ido_kubun, "ido_jiyu": jiyu, "ido_date": ido, "todoke_date": todoke,
        "shori_date": shori, **proc,
        "rireki_no": (pd.Series(pid).groupby(pid).cumcount().to_numpy() + 1).astype(np.int32),
        "town_code": towns["code"].to_numpy()[ti],
    }
    extra = pd.DataFrame({
        "pid": pid, "ido": ido, "shori": shori, "secs": proc["shori_time"], "ti": ti, "last": last,
        "kana": ids.kana[pid], "kyu_jc": np.where(jiyu == "38", ids.jc_old[pid], None),
        "zen_code": np.where((entry_kind == "11") & ~moved, pl.from_code[hh_p[pid]], np.where(moved, city_code, None)),
        "jc_since": np.where(ido >= jc_change[pid], jc_change[pid],
                             np.maximum(jumin_date, (dt.date(2002, 8, 5) - dt.date(1970, 1, 1)).days))})
    return cols, extra


def _change_day(E: pd.DataFrame, jiyu: str, n: int) -> np.ndarray:
    """Per person: the day of their row of this 異動事由 (FAR when none)."""
    out = np.full(n, FAR, dtype=np.int64)
    sel = E["jiyu"].to_numpy() == jiyu
    out[E["pid"].to_numpy()[sel]] = E["ido"].to_numpy()[sel]
    return out


def _processing(rng, m, ti, shori):
    """Branch office (of the town, or the main office), terminal, staff, time and processing ID."""
    towns, terms, staff = codes.towns(), codes.terminals(), _staff(rng)
    branch = np.where(rng.random(m) < 0.55, "本庁", towns["branch"].to_numpy()[ti])
    tanmatsu = np.empty(m, dtype=object)
    shokuin = np.empty(m, dtype=object)
    for b in np.unique(branch):
        sel = branch == b
        t_b = terms.loc[terms["branch"] == b, "code"].to_numpy()
        tanmatsu[sel] = t_b[rng.integers(0, len(t_b), sel.sum())]
        shokuin[sel] = staff[b][rng.integers(0, len(staff[b]), sel.sum())]
    secs = rng.integers(8 * 3600 + 1800, 17 * 3600 + 900, m)
    base36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
    d36 = (rng.integers(0, 36 ** 7, m)[:, None] // 36 ** np.arange(6, -1, -1)) % 36
    tail = np.ascontiguousarray(base36[d36]).view("S7").ravel().astype(str).astype(object)
    day_str = pd.Series(shori.astype("datetime64[D]").astype(str)).str.replace("-", "").to_numpy(object)
    # YYYYMMDD, a letter, 7 base-36 characters: never a run of 12 digits that a leak scan would flag
    return {"shori_time": secs, "shori_id": day_str + "K" + tail, "tanmatsu_id": tanmatsu, "shokuin_no": shokuin}


def _business(rng, zok, shori, birth, jusho_date, foreign):
    """資格 flags of other business systems, as they stood on the row's date."""
    m = len(zok)
    age = (shori - birth) // 365.25
    yes = lambda c: np.where(c, "1", "0")  # noqa: E731
    return {
        "senkyo_shikaku": yes(~foreign & (age >= 18) & (shori - jusho_date >= 90)),
        "kokuho_shikaku": yes((age < 75) & (rng.random(m) < 0.22)),
        "koki_shikaku": yes(age >= 75), "kaigo_shikaku": yes(age >= 65),
        "nenkin_shikaku": yes((age >= 20) & (age < 60) & (rng.random(m) < 0.25)),
        "jido_teate_shikaku": yes((zok == "01") & (age < 55) & (age > 22) & (rng.random(m) < 0.3)),
    }


def _cards(rng, last, removal, age_days, pepper: bytes):
    """個人番号カード on the current row of ~77% of residents aged 1+; none on removals."""
    m = len(last)
    age = age_days // 365.25
    has = last & ~removal & (rng.random(m) < np.where(age < 1, 0.1, 0.77))
    jokyo = np.where(has, "1", np.where(last & removal & (rng.random(m) < 0.5), "2", "0"))
    idx = np.nonzero(has)[0]
    card_no, serial, pin_hash = (np.full(m, None, dtype=object) for _ in range(3))
    card_no[idx] = _random_strings(rng, len(idx), "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", 12)
    serial[idx] = _random_strings(rng, len(idx), "0123456789ABCDEF", 16)
    pins = rng.integers(0, 10000, len(idx))
    salts = rng.bytes(16 * len(idx))
    pin_hash[idx] = [hash_pin(f"{pin:04d}", salts[16 * i:16 * i + 16], pepper) for i, pin in enumerate(pins)]
    return {"mynumber_card_jokyo": jokyo, "jukicard_jokyo": np.where((age > 30) & (rng.random(m) < 0.05), "2", "0"),
            "card_no": card_no, "riyosha_cert_serial": serial, "conveni_pin_hash": pin_hash}


__all__ = ["Places", "places", "build", "hash_pin", "verify_pin", "pin_pepper", "pad"]

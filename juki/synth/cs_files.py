"""本人確認情報ファイル and 送付先情報ファイル of a block, derived from its 住民基本台帳 rows.

Deriving them from the same rows is what makes the synthetic files reconcile: every
住民基本台帳 row writes one 本人確認情報 row (レコード状況フラグ 0 = current, 1 = superseded,
2 = removed), and every person newly given an individual number in the last weeks is in a
送付先情報 batch with the date it was sent to J-LIS.  The city-wide parts -- 更新順番号 (one
sequence over the whole city) and the batches' 送付先管理番号 and 対象となる人数 -- are finished
once every block is written (:mod:`.build`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import codes
from ..codes.kana import seion
from . import names as N
from .clock import NA


def honnin(J: dict, X: pd.DataFrame, A: int, city_code: str) -> dict:
    """Rows of the 本人確認情報ファイル; ``koshin_jun_no`` is provisional (the time stamp order)."""
    pid = X["pid"].to_numpy()
    rireki = J["rireki_no"]
    ts = X["shori"].to_numpy().astype(np.int64) * 86_400_000_000 + X["secs"].to_numpy().astype(np.int64) * 1_000_000
    ts = pd.Series(ts).groupby(pid).cummax().to_numpy() + rireki.astype(np.int64)  # ties broken by 履歴番号
    last = X["last"].to_numpy()
    removed = J["ido_kubun"] == "2"
    kana = X["kana"].to_numpy()
    gaiji = N.gaiji_count(J["shimei"])
    zen = J["zen_jusho"]
    n = len(pid)
    return {
        "jumin_code": J["jumin_code"], "kanji_shimei": J["shimei"], "gaiji_su_shimei": gaiji,
        "furigana_shimei": kana, "seion_kana_shimei": pd.Series(kana).map(seion).to_numpy(object),
        "seinengappi": J["seinengappi"], "seibetsu": J["seibetsu"],
        "shichoson_code": np.full(n, city_code, dtype=object), "aza_code": J["town_code"],
        "yubin_no": codes.towns()["postcode"].to_numpy()[X["ti"].to_numpy()], "jusho": J["genjusho"],
        "gaiji_su_jusho": np.zeros(n, dtype=np.int32), "kojin_bango": J["kojin_bango"],
        "jumin_date": J["jumin_date"], "jusho_date": J["jusho_date"], "todoke_date": J["todoke_date"],
        "zen_shichoson_code": X["zen_code"].to_numpy(), "zen_jusho": zen,
        "gaiji_su_zen_jusho": np.where(pd.isna(zen), None, 0), "zokugara": J["zokugara"],
        "ido_jiyu": J["ido_jiyu"], "ido_date": J["ido_date"],
        "ido_jiyu_shosai": np.where(J["ido_jiyu"] == "38", "住民票コードの変更請求", None),
        "kyu_jumin_code": X["kyu_jc"].to_numpy(), "jumin_code_shiyo_date": X["jc_since"].to_numpy(),
        "irai_kanri_no": None, "sosasha_id": J["shokuin_no"], "sosa_tanmatsu_id": J["tanmatsu_id"],
        "koshin_jun_no": ts, "ijo_koshin_jun_no": None, "koshin_kinshi_flag": "0",
        "yoteisha_flag": np.where(removed & (J["ido_date"] > A), "1", "0"), "haita_flag": "0",
        "gaiji_flag": np.where(gaiji > 0, "1", "0"),
        "record_jokyo_flag": np.where(last, np.where(removed, "2", "0"), "1"), "time_stamp": ts,
    }


def sofusaki(J: dict, X: pd.DataFrame, A: int, days: int, cal, city_code: str, city_name: str) -> dict:
    """送付先情報 for persons newly numbered (出生, 国外転入 of foreign residents, number change)
    in the last ``days`` days; 送付先管理番号 and 対象となる人数 are set city-wide later."""
    jiyu = J["ido_jiyu"]
    shori = X["shori"].to_numpy()
    sel = (np.isin(jiyu, ["13", "35"]) | ((jiyu == "12") & pd.notna(J["kokuseki"]))) & (shori > A - days) & (shori <= A)
    sel &= X["last"].to_numpy()
    idx = np.nonzero(sel)[0]
    s = shori[idx]
    nxt = cal.after(s)
    towns = codes.towns()
    ti = X["ti"].to_numpy()[idx]
    br = codes.branches().set_index("name")
    main = br.loc["本庁"]
    kata = J["katagaki"][idx]
    addr = J["genjusho"][idx]
    full = np.where(pd.isna(kata), addr, addr + "　" + pd.Series(kata).fillna("").to_numpy(object))
    name = J["shimei"][idx]
    kana = X["kana"].to_numpy()[idx]
    gaiji = N.gaiji_count(name)
    has_g = gaiji > 0
    sub = pd.Series(name).map(N.substitute).to_numpy(object)
    pos = pd.Series(name).map(lambda t: ",".join(str(i + 1) for i, ch in enumerate(t) if ch in N.GAIJI)).to_numpy(object)
    L = lambda a: pd.Series(a).fillna("").str.len().to_numpy(np.int32)  # noqa: E731
    office = br.loc[towns["branch"].to_numpy()[ti]]
    n = len(idx)
    const = lambda v: np.full(n, v, dtype=object)  # noqa: E731
    zeros = np.zeros(n, np.int32)
    o_name, o_post = office["office"].to_numpy(object), office["postcode"].to_numpy(object)
    o_addr, o_tel = office["address"].to_numpy(object), office["tel"].to_numpy(object)
    place = {f"{k}_mei_len": L(o_name) for k in ("kofu_basho", "card_sofu_basho")}
    for k in ("kofu_basho", "card_sofu_basho"):
        place.update({f"{k}_mei": o_name, f"{k}_mei_gaiji_su": zeros, f"{k}_yubin_no": o_post,
                      f"{k}_jusho_len": L(o_addr), f"{k}_jusho": o_addr, f"{k}_jusho_gaiji_su": zeros, f"{k}_tel": o_tel})
    return {
        "sofusaki_kanri_no": None, "sofusaki_yubin_no": towns["postcode"].to_numpy()[ti],
        "sofusaki_jusho_len": L(full), "sofusaki_jusho": full, "sofusaki_jusho_gaiji_su": zeros,
        "sofusaki_shimei_len": L(name), "sofusaki_shimei": name, "sofusaki_shimei_gaiji_su": gaiji,
        "shichoson_code": const(city_code), "shichoson_mei_len": np.full(n, len(city_name), np.int32),
        "shichoson_mei": const(city_name), "shichoson_yubin_no": const(main["postcode"]),
        "shichoson_jusho_len": np.full(n, len(main["address"]), np.int32), "shichoson_jusho": const(main["address"]),
        "shichoson_jusho_gaiji_su": zeros, "shichoson_tel": const(main["tel"]), **place,
        "taisho_ninzu": None, "shori_date": s, "sosasha_id": J["shokuin_no"][idx],
        "sosa_tanmatsu_id": J["tanmatsu_id"][idx], "insatsu_kubun": const("1"), "jumin_code": J["jumin_code"][idx],
        "shimei_len": L(name), "shimei": name, "shimei_gaiji_su": gaiji, "shimei_kana_len": L(kana),
        "shimei_kana": kana, "yubin_no": towns["postcode"].to_numpy()[ti], "jusho_len": L(addr), "jusho": addr,
        "jusho_gaiji_su": zeros, "seinengappi": J["seinengappi"][idx], "seibetsu": J["seibetsu"][idx],
        "kojin_bango": J["kojin_bango"][idx], "kubun_30_45": J["kubun_30_45"][idx],
        "zairyu_manryo": J["zairyu_manryo"][idx], "daitai_henkan_kekka": np.where(has_g, "1", "0"),
        "daitai_shimei_len": np.where(has_g, L(sub), None), "daitai_shimei": np.where(has_g, sub, None),
        "daitai_jusho_len": np.where(has_g, L(addr), None), "daitai_jusho": np.where(has_g, addr, None),
        "daitai_shimei_ichi": np.where(has_g, pos, None), "daitai_jusho_ichi": np.where(has_g, "", None),
        "gaiji_flag": np.where(has_g, "1", "0"), "gaiji_pattern": np.where(has_g, "MJ", None),
        "sent_date": np.where(nxt <= A, nxt, NA),
    }

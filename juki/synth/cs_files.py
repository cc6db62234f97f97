"""本人確認情報ファイル and 送付先情報ファイル, derived from the 住民基本台帳 snapshots.

Deriving both from the same rows is what makes the synthetic files reconcile: every
住民基本台帳 row that changes a person's record writes one 本人確認情報 row (更新順番号
strictly increasing per person, レコード状況フラグ 0 = current, 1 = superseded, 2 = removed),
and every person newly given an individual number in the last weeks is in a 送付先情報
batch with the date it was sent to J-LIS.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import businessdays, codes
from ..codes import municipality
from ..codes.kana import seion
from . import names as N

NA = np.iinfo(np.int64).min


def build_honnin(J: dict, X: pd.DataFrame, A: int) -> dict:
    pid = X["pid"].to_numpy()
    rireki = J["rireki_no"]
    # 更新順番号: processing timestamps made monotone per person, then ranked city-wide
    ts = X["shori"].to_numpy().astype(np.int64) * 86_400_000_000 + X["secs"].to_numpy().astype(np.int64) * 1_000_000
    ts = pd.Series(ts).groupby(pid).cummax().to_numpy() + rireki.astype(np.int64)  # ties broken by 履歴番号
    order = np.lexsort((rireki, pid, ts))
    jun = np.empty(len(ts), dtype=np.int64)
    jun[order] = np.arange(1, len(ts) + 1)
    last = X["last"].to_numpy()
    removed = J["ido_kubun"] == "2"
    flag = np.where(last, np.where(removed, "2", "0"), "1")
    kana = X["kana"].to_numpy()
    gaiji = N.gaiji_count(J["shimei"])
    towns = codes.towns()
    zen = J["zen_jusho"]
    return {
        "jumin_code": J["jumin_code"],
        "kanji_shimei": J["shimei"],
        "gaiji_su_shimei": gaiji,
        "furigana_shimei": kana,
        "seion_kana_shimei": pd.Series(kana).map(seion).to_numpy(object),
        "seinengappi": J["seinengappi"],
        "seibetsu": J["seibetsu"],
        "shichoson_code": np.full(len(pid), municipality.MATSUDO, dtype=object),
        "aza_code": J["town_code"],
        "yubin_no": towns["postcode"].to_numpy()[X["ti"].to_numpy()],
        "jusho": J["genjusho"],
        "gaiji_su_jusho": np.zeros(len(pid), dtype=np.int32),
        "kojin_bango": J["kojin_bango"],
        "jumin_date": J["jumin_date"],
        "jusho_date": J["jusho_date"],
        "todoke_date": J["todoke_date"],
        "zen_shichoson_code": X["zen_code"].to_numpy(),
        "zen_jusho": zen,
        "gaiji_su_zen_jusho": np.where(pd.isna(zen), None, 0),
        "zokugara": J["zokugara"],
        "ido_jiyu": J["ido_jiyu"],
        "ido_date": J["ido_date"],
        "ido_jiyu_shosai": np.where(J["ido_jiyu"] == "38", "住民票コードの変更請求", None),
        "kyu_jumin_code": X["kyu_jc"].to_numpy(),
        "jumin_code_shiyo_date": X["jc_since"].to_numpy(),
        "irai_kanri_no": None,
        "sosasha_id": J["shokuin_no"],
        "sosa_tanmatsu_id": J["tanmatsu_id"],
        "koshin_jun_no": jun,
        "ijo_koshin_jun_no": None,
        "koshin_kinshi_flag": "0",
        "yoteisha_flag": np.where(removed & (J["ido_date"] > A), "1", "0"),
        "haita_flag": "0",
        "gaiji_flag": np.where(gaiji > 0, "1", "0"),
        "record_jokyo_flag": flag,
        "time_stamp": ts,
    }


def build_sofusaki(J: dict, X: pd.DataFrame, A: int, days: int) -> dict:
    """送付先情報 for persons newly numbered (出生, 国外転入 of foreign residents, number change)."""
    jiyu = J["ido_jiyu"]
    shori = X["shori"].to_numpy()
    # the person's latest record (a later change would make the mailing data stale: a quality finding)
    sel = (np.isin(jiyu, ["13", "35"]) | ((jiyu == "12") & pd.notna(J["kokuseki"]))) & (shori > A - days) & (shori <= A)
    sel &= X["last"].to_numpy()
    idx = np.nonzero(sel)[0]
    idx = idx[np.lexsort((J["atena_no"][idx], shori[idx]))]
    s = shori[idx]
    day_str = pd.Series(s.astype("datetime64[D]").astype(str)).str.replace("-", "").to_numpy(object)
    kanri = day_str + "000001"
    ninzu = pd.Series(kanri).map(pd.Series(kanri).value_counts()).to_numpy()
    bd = businessdays.business_days(pd.Timestamp(int(A) - days - 10, unit="D").date(),
                                    pd.Timestamp(int(A) + 30, unit="D").date()).astype("int64")
    nxt = bd[np.searchsorted(bd, s, side="right")]
    sent = np.where(nxt <= A, nxt, NA)

    towns = codes.towns()
    ti = X["ti"].to_numpy()[idx]
    branch = towns["branch"].to_numpy()[ti]
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
    office = br.loc[branch]
    n = len(idx)
    const = lambda v: np.full(n, v, dtype=object)  # noqa: E731
    return {
        "sofusaki_kanri_no": kanri,
        "sofusaki_yubin_no": towns["postcode"].to_numpy()[ti],
        "sofusaki_jusho_len": L(full),
        "sofusaki_jusho": full,
        "sofusaki_jusho_gaiji_su": np.zeros(n, np.int32),
        "sofusaki_shimei_len": L(name),
        "sofusaki_shimei": name,
        "sofusaki_shimei_gaiji_su": gaiji,
        "shichoson_code": const(municipality.MATSUDO),
        "shichoson_mei_len": np.full(n, 3, np.int32),
        "shichoson_mei": const("松戸市"),
        "shichoson_yubin_no": const(main["postcode"]),
        "shichoson_jusho_len": np.full(n, len(main["address"]), np.int32),
        "shichoson_jusho": const(main["address"]),
        "shichoson_jusho_gaiji_su": np.zeros(n, np.int32),
        "shichoson_tel": const(main["tel"]),
        "kofu_basho_mei_len": L(office["office"].to_numpy(object)),
        "kofu_basho_mei": office["office"].to_numpy(object),
        "kofu_basho_mei_gaiji_su": np.zeros(n, np.int32),
        "kofu_basho_yubin_no": office["postcode"].to_numpy(object),
        "kofu_basho_jusho_len": L(office["address"].to_numpy(object)),
        "kofu_basho_jusho": office["address"].to_numpy(object),
        "kofu_basho_jusho_gaiji_su": np.zeros(n, np.int32),
        "kofu_basho_tel": office["tel"].to_numpy(object),
        "card_sofu_basho_mei_len": L(office["office"].to_numpy(object)),
        "card_sofu_basho_mei": office["office"].to_numpy(object),
        "card_sofu_basho_mei_gaiji_su": np.zeros(n, np.int32),
        "card_sofu_basho_yubin_no": office["postcode"].to_numpy(object),
        "card_sofu_basho_jusho_len": L(office["address"].to_numpy(object)),
        "card_sofu_basho_jusho": office["address"].to_numpy(object),
        "card_sofu_basho_jusho_gaiji_su": np.zeros(n, np.int32),
        "card_sofu_basho_tel": office["tel"].to_numpy(object),
        "taisho_ninzu": ninzu.astype(np.int32),
        "shori_date": s,
        "sosasha_id": J["shokuin_no"][idx],
        "sosa_tanmatsu_id": J["tanmatsu_id"][idx],
        "insatsu_kubun": const("1"),
        "jumin_code": J["jumin_code"][idx],
        "shimei_len": L(name),
        "shimei": name,
        "shimei_gaiji_su": gaiji,
        "shimei_kana_len": L(kana),
        "shimei_kana": kana,
        "yubin_no": towns["postcode"].to_numpy()[ti],
        "jusho_len": L(addr),
        "jusho": addr,
        "jusho_gaiji_su": np.zeros(n, np.int32),
        "seinengappi": J["seinengappi"][idx],
        "seibetsu": J["seibetsu"][idx],
        "kojin_bango": J["kojin_bango"][idx],
        "kubun_30_45": J["kubun_30_45"][idx],
        "zairyu_manryo": J["zairyu_manryo"][idx],
        "daitai_henkan_kekka": np.where(has_g, "1", "0"),
        "daitai_shimei_len": np.where(has_g, L(sub), None),
        "daitai_shimei": np.where(has_g, sub, None),
        "daitai_jusho_len": np.where(has_g, L(addr), None),
        "daitai_jusho": np.where(has_g, addr, None),
        "daitai_shimei_ichi": np.where(has_g, pos, None),
        "daitai_jusho_ichi": np.where(has_g, "", None),
        "gaiji_flag": np.where(has_g, "1", "0"),
        "gaiji_pattern": np.where(has_g, "MJ", None),
        "sent_date": sent,
    }

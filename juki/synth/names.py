"""Name pools with matching readings for the synthetic registry.

Faker's ``ja_JP`` pairs (kanji, katakana, romaji) are the base; they are small (50
surnames, ~30 given names each), so the workbench adds its own lists.  Some surnames
carry 外字 variants (髙, 﨑, 𠮷, 邉) with the JIS character they are replaced by in
代替文字 conversion.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

_EXTRA_SURNAMES = """
石井 イシイ|斎藤 サイトウ|坂本 サカモト|遠藤 エンドウ|青木 アオキ|藤井 フジイ|西村 ニシムラ|福田 フクダ
太田 オオタ|三浦 ミウラ|藤原 フジワラ|岡本 オカモト|松田 マツダ|中川 ナカガワ|中野 ナカノ|原田 ハラダ
小野 オノ|田村 タムラ|竹内 タケウチ|金子 カネコ|和田 ワダ|中山 ナカヤマ|石田 イシダ|上田 ウエダ
森田 モリタ|原 ハラ|柴田 シバタ|酒井 サカイ|工藤 クドウ|横山 ヨコヤマ|宮崎 ミヤザキ|宮本 ミヤモト
内田 ウチダ|高木 タカギ|安藤 アンドウ|谷口 タニグチ|大野 オオノ|丸山 マルヤマ|今井 イマイ|河野 コウノ
藤田 フジタ|渡部 ワタベ|渡辺 ワタナベ|菅原 スガワラ|久保 クボ|千葉 チバ|大塚 オオツカ|平野 ヒラノ
吉田 ヨシダ|川崎 カワサキ|高田 タカダ|岩崎 イワサキ|野口 ノグチ|松井 マツイ|菊地 キクチ|杉山 スギヤマ
""".split("|")

_EXTRA_MALE = """
翔太 ショウタ|大輔 ダイスケ|健太 ケンタ|拓也 タクヤ|陽翔 ハルト|蓮 レン|悠真 ユウマ|湊 ミナト
大翔 ヒロト|樹 イツキ|誠 マコト|隆 タカシ|博 ヒロシ|茂 シゲル|勇 イサム|清 キヨシ
和夫 カズオ|正雄 マサオ|浩二 コウジ|哲也 テツヤ|直樹 ナオキ|亮 リョウ|颯太 ソウタ|悠斗 ユウト
""".split("|")

_EXTRA_FEMALE = """
陽菜 ヒナ|結衣 ユイ|葵 アオイ|芽依 メイ|さくら サクラ|美咲 ミサキ|彩 アヤ|愛 アイ
恵子 ケイコ|幸子 サチコ|和子 カズコ|洋子 ヨウコ|節子 セツコ|京子 キョウコ|久美子 クミコ|由美 ユミ
真由美 マユミ|智子 トモコ|裕子 ユウコ|優子 ユウコ|凛 リン|紬 ツムギ|結菜 ユイナ|美穂 ミホ
""".split("|")

#: 外字 variant -> the JIS character used by 代替文字 conversion
GAIJI = {"髙": "高", "﨑": "崎", "𠮷": "吉", "邉": "辺"}
_GAIJI_SURNAMES = [("髙橋", "タカハシ"), ("山﨑", "ヤマザキ"), ("𠮷田", "ヨシダ"), ("渡邉", "ワタナベ"),
                   ("髙木", "タカギ"), ("宮﨑", "ミヤザキ")]

# Foreign residents: (name, katakana reading) pools per nationality group.
_CN_FAMILY = [("王", "ワン"), ("李", "リ"), ("張", "チャン"), ("劉", "リュウ"), ("陳", "チン"), ("楊", "ヤン"),
              ("趙", "チョウ"), ("黄", "ファン"), ("周", "シュウ"), ("呉", "ウー"), ("林", "リン"), ("孫", "ソン")]
_CN_GIVEN = [("偉", "ウェイ"), ("芳", "ファン"), ("娜", "ナ"), ("敏", "ミン"), ("静", "ジン"), ("磊", "レイ"),
             ("強", "チャン"), ("軍", "ジュン"), ("洋", "ヤン"), ("艶", "イェン"), ("傑", "ジエ"), ("麗", "リー")]
_KR_FAMILY = [("金", "キム"), ("李", "イ"), ("朴", "パク"), ("崔", "チェ"), ("鄭", "チョン"), ("姜", "カン")]
_KR_GIVEN = [("民俊", "ミンジュン"), ("瑞妍", "ソヨン"), ("志勲", "ジフン"), ("恩智", "ウンジ"),
             ("成浩", "ソンホ"), ("秀賢", "スヒョン"), ("英洙", "ヨンス"), ("美英", "ミヨン")]
_LATIN_FAMILY = [("NGUYEN", "グエン"), ("TRAN", "チャン"), ("LE", "レ"), ("PHAM", "ファム"), ("SANTOS", "サントス"),
                 ("REYES", "レイエス"), ("CRUZ", "クルス"), ("GURUNG", "グルン"), ("SHRESTHA", "シュレスタ"),
                 ("SILVA", "シルバ"), ("SMITH", "スミス"), ("KUMAR", "クマール"), ("WIJAYA", "ウィジャヤ"),
                 ("TAMANG", "タマン"), ("GARCIA", "ガルシア")]
_LATIN_GIVEN = [("VAN AN", "ヴァン　アン"), ("THI LAN", "ティ　ラン"), ("MINH", "ミン"), ("MARIA", "マリア"),
                ("JOSE", "ホセ"), ("ANA", "アナ"), ("RAM", "ラム"), ("SITA", "シタ"), ("JOHN", "ジョン"),
                ("EMMA", "エマ"), ("RAJ", "ラジ"), ("DEWI", "デウィ"), ("HOA", "ホア"), ("TUAN", "トゥアン")]
KANJI_NATIONS = {"156": "cn", "158": "cn", "410": "kr", "408": "kr"}


def _pairs(lines):
    return [tuple(x.split()) for x in lines if x.strip()]


@lru_cache(maxsize=1)
def pools():
    """(surnames, male given names, female given names) as lists of (kanji, katakana)."""
    from faker.providers.person.ja_JP import Provider
    sur = [(k, r) for k, r, _ in Provider.last_name_pairs] + _pairs(_EXTRA_SURNAMES)
    male = [(k, r) for k, r, _ in Provider.first_name_male_pairs] + _pairs(_EXTRA_MALE)
    female = [(k, r) for k, r, _ in Provider.first_name_female_pairs] + _pairs(_EXTRA_FEMALE)
    dedupe = lambda xs: sorted(set(xs))  # noqa: E731 - deterministic order
    return dedupe(sur), dedupe(male), dedupe(female)


def _zipf_weights(n, s=0.9):
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def japanese_surnames(rng, n, gaiji_rate=0.004):
    """Arrays (kanji, kana) of n surnames, Zipf-weighted; a few with 外字."""
    sur, _, _ = pools()
    idx = rng.choice(len(sur), size=n, p=_zipf_weights(len(sur)))
    kanji = np.array([s[0] for s in sur], dtype=object)[idx]
    kana = np.array([s[1] for s in sur], dtype=object)[idx]
    g = rng.random(n) < gaiji_rate
    gi = rng.integers(0, len(_GAIJI_SURNAMES), size=n)
    gk = np.array([s[0] for s in _GAIJI_SURNAMES], dtype=object)
    gr = np.array([s[1] for s in _GAIJI_SURNAMES], dtype=object)
    kanji[g] = gk[gi[g]]
    kana[g] = gr[gi[g]]
    return kanji, kana


def given_names(rng, sex):
    """Arrays (kanji, kana) of given names for an array of sex codes ('1'/'2')."""
    _, male, female = pools()
    n = len(sex)
    mi = rng.choice(len(male), size=n, p=_zipf_weights(len(male), 0.5))
    fi = rng.choice(len(female), size=n, p=_zipf_weights(len(female), 0.5))
    mk, mr = (np.array([x[i] for x in male], dtype=object) for i in (0, 1))
    fk, fr = (np.array([x[i] for x in female], dtype=object) for i in (0, 1))
    is_m = sex == "1"
    return np.where(is_m, mk[mi], fk[fi]), np.where(is_m, mr[mi], fr[fi])


def foreign_names(rng, nationality):
    """Arrays (name, kana, family_name, family_kana) for foreign residents by nationality."""
    n = len(nationality)
    out_name = np.empty(n, dtype=object)
    out_kana = np.empty(n, dtype=object)
    group = np.array([KANJI_NATIONS.get(c, "latin") for c in nationality])
    for g, fam, giv, sep in (("cn", _CN_FAMILY, _CN_GIVEN, "　"), ("kr", _KR_FAMILY, _KR_GIVEN, "　"),
                             ("latin", _LATIN_FAMILY, _LATIN_GIVEN, " ")):
        m = group == g
        k = int(m.sum())
        if not k:
            continue
        fi = rng.integers(0, len(fam), size=k)
        gi = rng.integers(0, len(giv), size=k)
        fam_k = np.array([f[0] for f in fam], dtype=object)[fi]
        fam_r = np.array([f[1] for f in fam], dtype=object)[fi]
        giv_k = np.array([x[0] for x in giv], dtype=object)[gi]
        giv_r = np.array([x[1] for x in giv], dtype=object)[gi]
        out_name[m] = fam_k + sep + giv_k
        out_kana[m] = fam_r + "　" + giv_r
    return out_name, out_kana


def gaiji_count(names) -> np.ndarray:
    """Number of 外字 characters in each name."""
    return np.array([sum(ch in GAIJI for ch in s) for s in names], dtype=np.int32)


def substitute(s: str) -> str:
    """代替文字 conversion: each 外字 replaced by its JIS substitute."""
    return "".join(GAIJI.get(ch, ch) for ch in s)

"""The yearly check of the operation log (PIA: 記録事項に問題がないか点検): use per operator and
entry point, off-hours use, unusually broad searches, refusals, and the chain's verification."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import businessdays
from . import oplog

OFFICE_HOURS = (dt.time(8, 30), dt.time(17, 15))


def frame(path=None) -> pd.DataFrame:
    es = oplog.entries(path)
    df = pd.DataFrame(es, columns=["seq", "at", "operator", "role", "action", "target", "records",
                                   "number_accessed", "outcome", "detail"])
    if len(df):
        df["at"] = pd.to_datetime(df["at"])
    return df


def usage(df: pd.DataFrame) -> pd.DataFrame:
    if not len(df):
        return pd.DataFrame()
    return df.pivot_table(index=["operator", "role"], columns="action", values="seq", aggfunc="count", fill_value=0)


def off_hours(df: pd.DataFrame) -> pd.DataFrame:
    """Uses outside office hours or on a day the office is closed (土日祝・年末年始)."""
    if not len(df):
        return df
    t = df["at"].dt.time
    closed = df["at"].dt.date.map(lambda d: not businessdays.is_business_day(d))
    out = df[(t < OFFICE_HOURS[0]) | (t > OFFICE_HOURS[1]) | closed]
    return out[out["operator"] != "system"][["seq", "at", "operator", "role", "action", "target", "outcome"]]


def broad_searches(df: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    if not len(df):
        return df
    s = df[(df["action"] == "search") & (df["records"].fillna(0) > limit)]
    return s[["seq", "at", "operator", "records", "outcome"]]


def refusals(df: pd.DataFrame) -> pd.DataFrame:
    if not len(df):
        return df
    return df[df["outcome"] == "refused"][["seq", "at", "operator", "action", "target", "detail"]]

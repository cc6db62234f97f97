"""The engine the data language runs on: DuckDB (one machine, the store) or Spark (a cluster).

Everything above the store is ibis, so the same review, statistics and reconciliation run on
either engine.  Choose with ``--engine`` or ``JUKI_ENGINE`` (default ``duckdb``).  Spark reads
the files as Parquet (``<folder>/<table>.parquet``: a file or a folder of parts) or as tables
of a Spark database, and is reached by:

* ``JUKI_SPARK_MASTER`` (``spark.master``; default ``local[*]``: every core of this machine),
  or ``JUKI_SPARK_REMOTE`` (a Spark Connect URL, ``sc://host:15002``) for a cluster;
* ``JUKI_SPARK_MEMORY`` (driver memory in local mode, default ``4g``);
* ``JUKI_SPARK_CONF``: any further Spark settings, ``key=value`` separated by ``;``
  (e.g. ``spark.executor.memory=8g;spark.sql.shuffle.partitions=400``).

Spark is an extra (``pip install 'juki[spark]'``) and needs Java 17 from the distribution.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import JukiError

ENGINES = ("duckdb", "spark")


def backend(con):
    """The ibis backend over ``con``: an ibis backend as it is, a DuckDB connection wrapped (the
    same connection: its attached stores and temporary tables stay visible)."""
    import duckdb
    if isinstance(con, duckdb.DuckDBPyConnection):
        import ibis
        return ibis.duckdb.from_connection(con)
    return con


def hold(con, name: str, expr):
    """``expr`` computed once and kept for the connection's life: a temporary table on DuckDB, a
    cached frame on Spark.  (Not ibis's ``cache()`` on DuckDB: its clean-up drops the table with a
    statement sqlglot 30 renders empty, and prints the error when the table is collected.)"""
    if getattr(con, "name", "") == "pyspark":
        return expr.cache()
    con.create_table(name, expr, temp=True)
    return con.table(name)


def lookup(con, name: str, data: dict):
    """A small table of text columns (a code table) on backend ``con``: an in-memory table on
    DuckDB, a temporary view on Spark (ibis 12 does not register in-memory tables for cached
    Spark frames)."""
    import ibis
    if getattr(con, "name", "") == "pyspark":
        from pyspark.sql.types import StringType, StructField, StructType
        schema = StructType([StructField(k, StringType(), True) for k in data])
        rows = list(zip(*[[None if v is None else str(v) for v in col] for col in data.values()]))
        con._session.createDataFrame(rows, schema).createOrReplaceTempView(name)
        return con.table(name)
    return ibis.memtable(data, schema={k: "string" for k in data})


def choose(engine: str | None = None) -> str:
    """The engine asked for (``engine``, else ``JUKI_ENGINE``, else duckdb), checked."""
    name = (engine or os.environ.get("JUKI_ENGINE") or "duckdb").strip().lower()
    if name not in ENGINES:
        raise JukiError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    return name


def spark_missing() -> str | None:
    """Why Spark cannot run here (no pyspark, no Java), or None when it can."""
    import shutil
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install 'juki[spark]'"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")) and not os.environ.get("JUKI_SPARK_REMOTE"):
        return "no Java runtime: install Java 17 (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
    return None


def spark_session():
    """The Spark session: Spark Connect when ``JUKI_SPARK_REMOTE`` is set, else ``spark.master``."""
    why = spark_missing()
    if why:
        raise JukiError(f"engine spark: {why}")
    from pyspark.sql import SparkSession
    b = SparkSession.builder.appName("juki")
    remote = os.environ.get("JUKI_SPARK_REMOTE")
    if remote:
        b = b.remote(remote)
    else:
        b = (b.master(os.environ.get("JUKI_SPARK_MASTER", "local[*]"))
             .config("spark.driver.memory", os.environ.get("JUKI_SPARK_MEMORY", "4g"))
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", os.environ.get("JUKI_SPARK_PARTITIONS", "8")))
    b = b.config("spark.sql.session.timeZone", "UTC").config("spark.sql.ansi.enabled", "false")
    for key, value in spark_conf().items():
        b = b.config(key, value)
    s = b.getOrCreate()
    if not remote:
        s.sparkContext.setLogLevel("ERROR")
    return s


def spark_conf(text: str | None = None) -> dict:
    """The settings of ``JUKI_SPARK_CONF`` (or ``text``).

    >>> spark_conf("spark.sql.shuffle.partitions=4; spark.driver.extraJavaOptions=-Xss4m -Da=b")
    {'spark.sql.shuffle.partitions': '4', 'spark.driver.extraJavaOptions': '-Xss4m -Da=b'}
    >>> spark_conf("")
    {}
    >>> spark_conf("partitions")
    Traceback (most recent call last):
    ...
    juki.errors.JukiError: JUKI_SPARK_CONF: 'partitions' is not key=value
    """
    text = os.environ.get("JUKI_SPARK_CONF", "") if text is None else text
    out = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise JukiError(f"JUKI_SPARK_CONF: {part!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def spark_backend(source, tables=("jumin", "honnin", "sofusaki")):
    """An ibis backend on Spark where ``tables`` are readable by name.

    ``source`` is a folder of ``<table>.parquet`` or ``db:<database>`` (tables already in Spark's
    catalogue, as a cluster keeps them)."""
    import ibis
    spark = spark_session()
    src = str(source)
    if src.startswith("db:"):
        spark.catalog.setCurrentDatabase(src[3:])
        return ibis.pyspark.connect(spark)
    folder = Path(src)
    for t in tables:
        p = folder / f"{t}.parquet"
        if not p.exists():
            raise JukiError(f"engine spark: no {p} (write the store as Parquet with 'juki export-parquet')")
        spark.read.parquet(str(p)).createOrReplaceTempView(t)
    return ibis.pyspark.connect(spark)


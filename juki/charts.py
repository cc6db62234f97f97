"""Charts with Japanese labels.  The CJK font comes from matplotlib-fontja (IPAexGothic),
so nothing depends on fonts installed on the machine."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter
import matplotlib_fontja  # noqa: F401 - registers IPAexGothic and makes it the default


def pyramid(table, title: str = "人口ピラミッド"):
    """Horizontal pyramid from :func:`juki.stats.pyramid` output (index 年齢, columns 男/女)."""
    fig, ax = plt.subplots(figsize=(8, 7))
    y = range(len(table.index))
    ax.barh(y, -table["男"], color="#4a7ebb", label="男")
    ax.barh(y, table["女"], color="#d9534f", label="女")
    ax.set_yticks(list(y))
    ax.set_yticklabels([str(i) for i in table.index], fontsize=8)
    m = max(table["男"].max(), table["女"].max()) or 1
    ax.set_xlim(-m * 1.1, m * 1.1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{abs(int(v)):,}"))
    ax.set_xlabel("人数")
    ax.set_title(title)
    ax.legend(loc="upper right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig

"""What every report page shares: the page head and style, the plot colours, figures embedded as PNG data URIs
(a report is one self-contained file that opens offline), and number formatting."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

__all__ = ["COLORS", "STYLE", "fmt", "fmt_ci", "head", "png"]

COLORS = ["#c0392b", "#2471a3", "#27ae60", "#8e44ad", "#d68910", "#5d6d7e"]

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px}"
    "th{background:#f4f4f4}img{max-width:100%}pre{background:#f7f7f7;padding:1em;font-size:12px;overflow:auto}"
    ".v{background:#f7f7f2;padding:.6em;border-left:4px solid #999}"
)


def head(title: str) -> str:
    """The opening of a report page, up to and including ``<body>``."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>")


def png(fig: Any) -> str:
    """A matplotlib figure as a PNG data URI; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def fmt(v: Any, digits: int = 3) -> str:
    """A number for a table cell: "–" for a missing value or NaN."""
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def fmt_ci(ci: dict[str, Any] | None, digits: int = 3) -> str:
    """``mean [lo, hi]`` of an interval dict (``{"mean", "lo", "hi"}``); "–" when it has no mean, the mean
    alone when it has no interval (one unit)."""
    if not ci or ci.get("mean") is None or math.isnan(ci["mean"]):
        return "–"
    s = f"{ci['mean']:.{digits}f}"
    if not math.isnan(ci.get("lo", float("nan"))):
        s += f" [{ci['lo']:.{digits}f}, {ci['hi']:.{digits}f}]"
    return s

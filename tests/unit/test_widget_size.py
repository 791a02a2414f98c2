"""The storefront script stays small: Shopify flags scripts over 10 KB compressed."""

import gzip
from pathlib import Path

import rjsmin

WIDGET = Path(__file__).resolve().parents[2] / "widget" / "storepulse.js"


def test_widget_is_under_6_kb_minified_and_gzipped() -> None:
    minified = rjsmin.jsmin(WIDGET.read_text())
    size = len(gzip.compress(minified.encode(), compresslevel=9))
    print(f"widget: {size} bytes minified+gzip")
    assert size < 6 * 1024

"""matplotlib for the benchmark scripts' figures, or None: it is an optional extra (`plot`)."""

from __future__ import annotations

import sys


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend; None, saying so on stderr, without it."""
    try:
        import matplotlib
    except ImportError:
        print("no plot drawn: matplotlib is not installed (pip install -e '.[plot]' adds it)", file=sys.stderr)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt

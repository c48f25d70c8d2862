"""Shared test helpers: where the real data live, and writing small files."""

from __future__ import annotations

import bz2
import gzip
import http.server
import os
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip on a user's clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (only in the project's workspace)")
    return SHARED_DATA


@pytest.fixture
def server(tmp_path):
    """(folder, base URL) of an HTTP server on 127.0.0.1 serving that folder."""
    root = tmp_path / "upstream"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def write(tmp_path: Path):
    """write(name, content) -> path; .gz / .bz2 names are compressed."""

    def _write(name: str, content: bytes | str) -> str:
        data = content.encode() if isinstance(content, str) else content
        path = tmp_path / name
        if name.endswith(".gz"):
            data = gzip.compress(data, mtime=0)
        elif name.endswith(".bz2"):
            data = bz2.compress(data)
        path.write_bytes(data)
        return os.fspath(path)

    return _write


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """A tiny pretrained model and a classifier fine-tuned from it (window of 32 tokens)."""
    from genobert.train import finetune, pretrain

    root = tmp_path_factory.mktemp("models")
    os.environ["GENOBERT_CACHE"] = str(root / "cache")
    rng = np.random.default_rng(0)
    genome = root / "g.fa"
    genome.write_text(">c\n" + "".join(rng.choice(list("ACGT"), 5000)) + "\n")
    pre = pretrain(str(genome), str(root / "pre"), preset="tiny", seq_len=32, max_steps=3,
                   batch_size=4, logging_steps=1)
    rows = ["id\tsequence\tlabel"]
    for i in range(40):
        s = list(rng.choice(list("ACGT"), 20 + i))  # lengths 20..59: some need two windows
        s[5:11] = "TATAAA" if i % 2 else "GCGCGC"
        rows.append(f"r{i}\t{''.join(s)}\t{'pos' if i % 2 else 'neg'}")
    table = root / "labelled.tsv"
    table.write_text("\n".join(rows) + "\n")
    clf = finetune(str(table), str(root / "clf"), valid=str(table), test=str(table), init=pre,
                   epochs=3, batch_size=8, lr=3e-3)
    return {"pre": pre, "clf": clf, "table": str(table), "root": root}


# ----------------------------------------------------------------- training inputs


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """GENOBERT_CACHE in the test's own folder: token stores never shared between tests."""
    monkeypatch.setenv("GENOBERT_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def corpus(write):
    """A small genome with a repeated motif grammar: learnable in a few dozen steps."""
    rng = np.random.default_rng(0)
    recs = []
    for r in range(4):
        parts = []
        for _ in range(300):
            parts.append("TATAAAAG" if rng.random() < 0.5 else "".join(rng.choice(list("ACGT"), 8)))
        recs.append(f">chr{r}\n" + "".join(parts) + "\n")
    recs.append(">gap\n" + "N" * 500 + "\n")  # mostly N: skipped
    return write("genome.fa", "".join(recs))


@pytest.fixture
def labelled(write):
    rng = np.random.default_rng(1)
    rows = ["id\tsequence\tlabel"]
    for i in range(24):
        s = list(rng.choice(list("ACGT"), 40))
        label = i % 2
        s[18:24] = "TATAAA" if label else "GCGCGC"
        rows.append(f"s{i}\t{''.join(s)}\t{'yes' if label else 'no'}")
    return write("train.tsv", "\n".join(rows) + "\n")

"""Shared test helpers: where the real data live, and writing small files."""

from __future__ import annotations

import bz2
import gzip
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip on a user's clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (only in the project's workspace)")
    return SHARED_DATA


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

"""The API page (docs/api.md) runs: every `>>>` line, with the output it shows."""

from __future__ import annotations

import doctest
import os
import shutil

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")


@pytest.mark.usefixtures("private_cache")
def test_api_page_runs(tmp_path, monkeypatch):
    for name in ("simulated.fa", "simulated.tsv"):
        shutil.copyfile(os.path.join(ROOT, "examples", name), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(os.path.join(ROOT, "docs", "api.md"), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 20 and result.failed == 0

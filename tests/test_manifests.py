"""Data manifests: the real copy verifies; fetch checks sha256 against a local HTTP server."""

from __future__ import annotations

import hashlib
import json

import pytest

from genobert.cli import main
from genobert.errors import InputError
from genobert.manifests import fetch, load_manifests, verify


def test_every_shared_file_verifies(shared_data, capsys):
    rows = verify(shared_data)
    assert len(rows) == 58 and all(status == "ok" for _, _, status in rows)
    assert main(["data", "verify", "--data-dir", str(shared_data)]) == 0
    assert "58 of 58 files ok" in capsys.readouterr().err


def test_manifests_carry_what_a_user_needs():
    manifests = load_manifests()
    assert len(manifests) == 13
    for m in manifests.values():
        assert m.info["license"] and m.info["source"] and m.files
        for f in m.files:
            assert len(f["sha256"]) == 64 and f["bytes"] > 0 and f["records"] > 0
    enh = manifests["dna_enhancer_ienhancer_liu2016"].info
    assert any("LEAKAGE" in c for c in enh["caveats"]) and "0.830" in enh["published_baselines"]


def _manifest(folder, name, files):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"name": name, "files": files, "source": "x"}))


def test_fetch_verifies_and_refuses_a_mismatch(server, tmp_path):
    root, base = server
    good, bad = b">a\nACGT\n", b">a\nACGA\n"
    (root / "good.fa").write_bytes(good)
    (root / "bad.fa").write_bytes(bad)
    sha = hashlib.sha256(good).hexdigest()
    folder, data = tmp_path / "manifests", tmp_path / "data"
    _manifest(folder, "ok", [{"name": "good.fa", "sha256": sha, "bytes": len(good), "records": 1,
                              "url": f"{base}/good.fa"}])
    _manifest(folder, "tampered", [{"name": "bad.fa", "sha256": sha, "bytes": len(good), "records": 1,
                                    "url": f"{base}/bad.fa"}])
    assert fetch("ok", data, folder=folder) == [data / "ok" / "good.fa"]
    assert (data / "ok" / "good.fa").read_bytes() == good
    assert verify(data, ["ok"], folder=folder) == [("ok", "good.fa", "ok")]
    with pytest.raises(InputError, match="does not match the manifest's"):
        fetch("tampered", data, folder=folder)
    assert not (data / "tampered").exists()  # nothing kept, not a partial file, not the folder it made
    assert verify(data, ["tampered"], folder=folder) == [("tampered", "bad.fa", "missing")]


def test_a_fetch_that_cannot_get_every_file_says_which_to_copy(server, tmp_path):
    """Files without a url (copied by hand) were skipped in silence and the fetch exited 0."""
    import os

    root, base = server
    good = b">a\nACGT\n"
    (root / "good.fa").write_bytes(good)
    folder, data = tmp_path / "manifests", tmp_path / "data"
    _manifest(folder, "mixed", [{"name": "good.fa", "sha256": hashlib.sha256(good).hexdigest(),
                                 "bytes": len(good), "records": 1, "url": f"{base}/good.fa"},
                                {"name": "korf.fa.gz", "sha256": "0" * 64, "bytes": 1, "records": 1}])
    with pytest.raises(InputError, match=r"fetched 1 of 2 files; .*by hand \(x\): korf.fa.gz"):
        fetch("mixed", data, folder=folder)
    assert os.listdir(data / "mixed") == ["good.fa"]  # kept (checked), and no temporary file


def test_fetch_refuses_paths_and_reports_offline(server, tmp_path):
    _, base = server
    folder = tmp_path / "m"
    _manifest(folder, "evil", [{"name": "../../escape.fa", "sha256": "0" * 64, "bytes": 1,
                                "records": 1, "url": f"{base}/x"}])
    with pytest.raises(InputError, match="not a plain file name"):
        fetch("evil", tmp_path / "d", folder=folder)
    assert not (tmp_path / "escape.fa").exists()
    _manifest(folder, "gone", [{"name": "x.fa", "sha256": "0" * 64, "bytes": 1, "records": 1,
                                "url": "http://127.0.0.1:9/x.fa"}])
    with pytest.raises(InputError, match="cannot download"):
        fetch("gone", tmp_path / "d", folder=folder)


def test_a_converted_dataset_without_upstream_files_cannot_be_fetched(tmp_path):
    folder = tmp_path / "m"
    _manifest(folder, "made_here", [{"name": "x.tsv", "sha256": "0" * 64, "bytes": 1, "records": 1}])
    with pytest.raises(InputError, match="lists no upstream files to rebuild it from"):
        fetch("made_here", tmp_path / "d", folder=folder)

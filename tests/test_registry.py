"""Released models by name: published by benchmarks/release.py, resolved everywhere, verified."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from genobert.cli import main
from genobert.registry import resolve

RELEASE = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "release.py")


@pytest.fixture
def released(models, tmp_path, monkeypatch):
    folder = tmp_path / "released"
    res = subprocess.run([sys.executable, RELEASE, "publish", models["pre"], str(folder / "genobert-toy")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    monkeypatch.setenv("GENOBERT_MODELS", str(folder))
    return folder / "genobert-toy"


def test_publish_keeps_safetensors_and_json_only(released):
    names = sorted(os.listdir(released))
    assert all(n.endswith((".json", ".safetensors")) for n in names) and "log_history.json" not in names
    sums = json.load(open(released / "genobert.json"))["release"]["files"]
    assert set(sums) == set(names) - {"genobert.json"}


def test_names_resolve_for_embed_and_finetune(released, models, tmp_path, capsys):
    assert resolve("genobert-toy") == str(released)
    assert resolve(models["pre"]) == models["pre"]  # a path is taken as it is
    fasta = tmp_path / "x.fa"
    fasta.write_text(">a\nACGTACGTAAAT\n")
    assert main(["embed", "genobert-toy", str(fasta), "-o", str(tmp_path / "x.h5")]) == 0
    from genobert.train import finetune

    out = finetune(models["table"], str(tmp_path / "ft"), init="genobert-toy", epochs=1, batch_size=8)
    assert json.load(open(os.path.join(out, "genobert.json")))["training"]["init"] == str(released)


def test_models_lists_and_verifies(released, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "genobert-toy" in out and "\tok\t" in out
    with open(released / "config.json", "a") as f:
        f.write(" ")
    assert main(["models"]) == 2
    assert "config.json does not match its sha256" in capsys.readouterr().out


def test_an_unknown_name_is_one_line(released, tmp_path, capsys):
    fasta = tmp_path / "x.fa"
    fasta.write_text(">a\nACGT\n")
    assert main(["embed", "genobert-nope", str(fasta), "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "no released model of that name (released: genobert-toy" in err and len(err.splitlines()) == 1

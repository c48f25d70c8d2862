"""Untrusted model directories: only safetensors and JSON are loaded, and no code path unpickles."""

from __future__ import annotations

import json
import re
from pathlib import Path

from genobert.cli import main

PACKAGE = Path(__file__).resolve().parents[1] / "genobert"


def test_pickled_weights_are_refused(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "genobert.json").write_text(json.dumps({"alphabet": "dna", "tokenizer": "char", "task": "sequence"}))
    (model / "config.json").write_text("{}")
    (model / "pytorch_model.bin").write_bytes(b"not even a pickle")
    fa = tmp_path / "x.fa"
    fa.write_text(">a\nACGT\n")
    out = tmp_path / "o.tsv"
    assert main(["classify", str(model), str(fa), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no model.safetensors (found pytorch_model.bin: pickled weights are never loaded)" in err
    assert not out.exists()


def test_no_unpickling_code_paths():
    risky = re.compile(r"torch\.load\(|import pickle|pickle\.|(?<![.\w])eval\(|trust_remote_code\s*=\s*True|(?<![.\w])exec\(")
    hits = [f"{p.name}:{i}" for p in PACKAGE.glob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if risky.search(line)]
    assert hits == []


def test_weights_a_config_needs_and_the_file_lacks_are_refused(tmp_path, capsys):
    # transformers fills missing tensors with random values and says so only in a log: embed and
    # classify would then answer at random, differently on every run
    import shutil

    model = tmp_path / "m"
    shutil.copytree(Path(__file__).parent.parent / "models" / "genobert-dna", model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "num_hidden_layers": config["num_hidden_layers"] + 1}))
    (tmp_path / "x.fa").write_text(">a\nACGTACGT\n")
    assert main(["embed", str(model), str(tmp_path / "x.fa"), "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(r"genobert: error: .*model\.safetensors: lacks 16 weight tensor\(s\) that config\.json's "
                        r"model needs \(encoder\.layer\.4\..*", err) and "\n" not in err
    assert not (tmp_path / "x.h5").exists()

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
    import h5py

    with h5py.File(tmp_path / "x.h5") as h5:  # the model's directory, not the name joined to the cwd
        assert h5.attrs["model"] == os.path.abspath(released)
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
    # genobert.json itself: the alphabet, window and tokenizer every command reads
    meta = json.load(open(released / "genobert.json"))
    (released / "genobert.json").write_text(json.dumps({**meta, "window": 4}))
    assert main(["models"]) == 2
    assert "genobert.json does not match its sha256 (edited?)" in capsys.readouterr().out


def test_a_released_name_with_a_trailing_slash_resolves(released):
    assert resolve("genobert-toy/") == str(released)


def test_an_unknown_name_is_one_line(released, tmp_path, capsys):
    fasta = tmp_path / "x.fa"
    fasta.write_text(">a\nACGT\n")
    assert main(["embed", "genobert-nope", str(fasta), "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "no released model of that name (released: genobert-toy" in err and len(err.splitlines()) == 1


def test_the_committed_releases_verify_and_load_with_no_remote_code(capsys, monkeypatch):
    """The models in the repository's models/ folder: every file matches its sha256 and each loads
    as a plain transformers masked LM (BERT or ModernBERT) whose best guess for a masked letter is
    a letter of its alphabet."""
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    monkeypatch.delenv("GENOBERT_MODELS", raising=False)
    names = ["genobert-dna", "genobert-protein", "genobert-dna-modernbert", "genobert-protein-modernbert"]
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    for name in names:
        assert any(line.startswith(name + "\t") and "\tok\t" in line for line in listing.splitlines()), name
        path = resolve(name)
        model = AutoModelForMaskedLM.from_pretrained(path, trust_remote_code=False).eval()
        assert type(model).__name__ in ("BertForMaskedLM", "ModernBertForMaskedLM")
        tok = AutoTokenizer.from_pretrained(path)
        ids = tok("ACGTAGCTAGGA" if "dna" in name else "MKTAYIAKQRQI", return_tensors="pt")["input_ids"]
        ids[0, 3] = tok.mask_token_id
        with torch.inference_mode():
            logits = model(input_ids=ids).logits
        assert logits.shape == (1, ids.shape[1], model.config.vocab_size) and torch.isfinite(logits).all()
        guess = tok.convert_ids_to_tokens(int(logits[0, 3].argmax()))
        assert guess in (set("ACGT") if "dna" in name else set("ACDEFGHIKLMNPQRSTVWY")), (name, guess)


def test_release_train_recipe_takes_lr_and_warmup_and_leaves_shape_to_init(monkeypatch):
    """`release.py train --init M --lr X`: a continuation at a lower peak; the model brings its shape."""
    monkeypatch.syspath_prepend(os.path.dirname(RELEASE))
    import release

    fresh = release.run_recipe(release.parser().parse_args(["train", "protein", "--out", "o", "--arch", "modernbert"]))
    assert fresh["lr"] == 1e-3 and fresh["warmup"] == 0.06 and fresh["arch"] == "modernbert"
    more = release.run_recipe(release.parser().parse_args(
        ["train", "protein", "--out", "o", "--init", "m", "--lr", "1e-4", "--warmup", "0.01"]))
    assert more["lr"] == 1e-4 and more["warmup"] == 0.01
    assert not {"preset", "tokenizer", "alphabet", "arch"} & set(more)

"""`genobert demo` says which data and which pretrained model it used."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

import genobert.demo as demo

RELEASE = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "release.py")


def test_real_demo_uses_the_released_model(models, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    (data / "dna_ecoli_promoter_ipromoter2l").mkdir(parents=True)
    (data / "pretrain_dna_genomes").mkdir()
    (data / "pretrain_dna_genomes" / "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz").write_bytes(b"")
    for name, n in (("train", 80), ("test", 40)):
        rows = [f"{name}{i}\t{''.join(rng.choice(list('ACGT'), 30))}{'TATAAT' if i % 2 else 'GGGCCC'}\t{i % 2}"
                for i in range(n)]
        (data / "dna_ecoli_promoter_ipromoter2l" / f"{name}.tsv").write_text("id\tsequence\tlabel\n" + "\n".join(rows) + "\n")
    subprocess.run([sys.executable, RELEASE, "publish", models["pre"], str(tmp_path / "rel" / "genobert-dna")],
                   check=True, capture_output=True)
    monkeypatch.setenv("GENOBERT_MODELS", str(tmp_path / "rel"))
    monkeypatch.setattr(demo, "REAL_TRAIN_ROWS", 60)
    monkeypatch.setattr(demo, "REAL_FINETUNE", {**demo.REAL_FINETUNE, "epochs": 1, "precision": "fp32",
                                                "max_len": 32})
    lines = []
    demo.run_demo(str(tmp_path / "out"), data_dir=str(data), log=lines.append)
    assert lines[0].startswith("genobert demo on REAL data: E. coli promoters") and "released genobert-dna" in lines[0]
    assert "using the released pretrained model" in lines[1]
    saved = json.load(open(tmp_path / "out" / "demo.json"))
    assert set(saved["test"]) == {"bert-pretrained", "bert-scratch", "kmer-lr"}
    assert json.load(open(tmp_path / "out" / "bert-scratch" / "lr0.001" / "genobert.json"))["preset"] == "tiny"
    assert set(saved["lr"]) == {"bert-pretrained", "bert-scratch"} and set(saved["lr"].values()) <= set(demo.LRS)
    assert sum("learning rate" in line and "kept" in line for line in lines) == 2  # each BERT chose on validation
    # run again into the same folder (a demo's): allowed; a folder of the user's: refused
    demo.run_demo(str(tmp_path / "out"), data_dir=str(data), log=lambda _: None)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x").write_text("x")
    import pytest

    from genobert.errors import InputError

    with pytest.raises(InputError, match="is not a demo's folder"):
        demo.run_demo(str(tmp_path / "mine"), log=lambda _: None)


def test_demo_refuses_a_file_and_a_missing_data_dir_before_making_anything(tmp_path):
    import pytest

    from genobert.errors import InputError

    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(InputError, match="exists and is not a folder"):
        demo.run_demo(str(tmp_path / "notes.txt"), log=lambda _: None)
    with pytest.raises(InputError, match="the real demo needs"):
        demo.run_demo(str(tmp_path / "out"), data_dir=str(tmp_path / "missing"), log=lambda _: None)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]  # no empty --out left behind

"""classify and embed: order, probabilities, windows, HDF5 = API, atomic outputs, consistency."""

from __future__ import annotations

import gzip
import io
import json
import os
import sys

import h5py
import numpy as np
import pytest
import torch

import genobert.infer as infer
import genobert.model as model_module
from genobert.cli import main
from genobert.infer import Predictor, classify, embed_arrays, write_classification, write_embeddings


def _reference_probs(clf, seqs):
    """One record at a time, no sorting, no batching: the slow reference."""
    p = Predictor(clf)
    out = []
    for seq in seqs:
        ids = p.tokenizer.encode(seq, add_special_tokens=False)
        body = p.window - 2
        starts = [0] if len(ids) <= body else list(range(0, len(ids) - body, body // 2)) + [len(ids) - body]
        logits = []
        for s in starts:
            x = torch.as_tensor(np.concatenate(([2], ids[s: s + body], [3])))[None]
            with torch.no_grad():
                logits.append(p.model(input_ids=x).logits[0].numpy())
        m = np.mean(logits, 0)
        out.append(np.exp(m) / np.exp(m).sum())
    return np.array(out)


def test_order_probabilities_and_windows_match_the_slow_reference(models):
    seqs = [line.split("\t")[1] for line in open(models["table"]).read().splitlines()[1:]]
    preds = list(classify(models["clf"], models["table"], batch_tokens=200))  # many small batches
    assert [p.id for p in preds] == [f"r{i}" for i in range(40)]
    probs = np.array([p.probs for p in preds])
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(probs, _reference_probs(models["clf"], seqs), atol=1e-5)
    assert Predictor(models["clf"]).window == 32 and max(map(len, seqs)) > 30  # windows were used


def test_bf16_on_the_cpu_agrees_with_fp32_within_its_rounding(models, tmp_path):
    fp32 = np.array([p.probs for p in classify(models["clf"], models["table"], precision="fp32")])
    bf16 = np.array([p.probs for p in classify(models["clf"], models["table"], precision="bf16", device="cpu")])
    assert not np.array_equal(fp32, bf16)  # autocast did run
    np.testing.assert_allclose(bf16, fp32, atol=0.02)  # bf16 keeps 8 bits of mantissa
    vectors = [v for _, _, v in infer.embed(models["pre"], models["table"], precision="bf16", device="cpu")]
    assert all(v.dtype == np.float32 for v in vectors)
    with pytest.raises(SystemExit) as e:  # argparse: one usage line, exit 2
        main(["classify", models["clf"], models["table"], "-o", str(tmp_path / "x.tsv"), "--precision", "fp16"])
    assert e.value.code == 2 and not (tmp_path / "x.tsv").exists()
    with pytest.raises(infer.InputError, match="unknown precision 'fp16'; allowed: auto, bf16, fp32"):
        Predictor(models["clf"], precision="fp16")


def test_compiled_classify_and_embed_agree_with_eager(models, tmp_path):
    # dynamic shapes: the batches below differ in rows and length, and must not each recompile
    eager = np.array([p.probs for p in classify(models["clf"], models["table"], batch_tokens=200)])
    compiled = Predictor(models["clf"], compile=True)
    assert hasattr(compiled.model, "_orig_mod")  # an OptimizedModule around the plain model
    from torch._dynamo.utils import counters

    counters.clear()
    probs = np.array([p.probs for p in classify(models["clf"], models["table"], batch_tokens=200,
                                                predictor=compiled)])
    assert counters["stats"]["unique_graphs"] == 1  # one graph for batches of every shape
    np.testing.assert_allclose(probs, eager, atol=1e-5)
    out = tmp_path / "c.h5"
    assert main(["embed", models["pre"], models["table"], "-o", str(out), "--compile", "--quiet"]) == 0
    plain = np.stack([v for _, _, v in infer.embed(models["pre"], models["table"])])
    np.testing.assert_allclose(h5py.File(out)["embeddings"][:], plain, atol=1e-4)


def test_out_of_memory_halves_the_batch_and_gives_the_same_outputs(models):
    # forward_windows on CUDA: an out-of-memory error splits the batch in two and retries; here a
    # model that "runs out of memory" above 3 windows per batch stands in for the GPU
    model = Predictor(models["clf"]).model
    rng = np.random.default_rng(0)
    windows = [np.concatenate(([2], rng.integers(5, 9, int(rng.integers(5, 30))), [3])) for _ in range(23)]
    sizes = []

    def forward(*args, **kwargs):
        sizes.append(len(kwargs["input_ids"]))
        if sizes[-1] > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(*args, **kwargs)

    real = model.forward
    def by_window(batches) -> dict:
        return {int(i): row for idx, out in batches for i, row in zip(idx, out, strict=True)}

    expected = by_window(model_module.forward_windows(model, windows, batch_tokens=10**6))
    model.forward = forward
    got = by_window(model_module.forward_windows(model, windows, batch_tokens=10**6))
    del model.forward
    assert sizes[:3] == [23, 11, 5] and sum(s for s in sizes if s <= 3) == 23  # halved until it fit
    assert got.keys() == expected.keys() == set(range(23))
    for i, row in expected.items():
        np.testing.assert_allclose(got[i], row, atol=1e-5)


def test_classify_agrees_with_finetune_evaluation(models, tmp_path):
    out = tmp_path / "pred.tsv"
    summary = write_classification(models["clf"], models["table"], str(out), quiet=True)
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0] == ["id", "label", "prob_neg", "prob_pos"]
    truth = {line.split("\t")[0]: line.split("\t")[2] for line in open(models["table"]).read().splitlines()[1:]}
    accuracy = np.mean([truth[r[0]] == r[1] for r in rows[1:]])
    metrics = json.load(open(os.path.join(models["clf"], "metrics.json")))
    assert accuracy == pytest.approx(metrics["test"]["accuracy"])
    assert f"accuracy {accuracy:.4f}" in summary


def test_a_gz_output_is_compressed(models, tmp_path):
    import gzip

    write_classification(models["clf"], models["table"], str(tmp_path / "p.tsv"), quiet=True)
    write_classification(models["clf"], models["table"], str(tmp_path / "p.tsv.gz"), quiet=True)
    with gzip.open(tmp_path / "p.tsv.gz", "rt") as f:
        assert f.read() == (tmp_path / "p.tsv").read_text()


def test_labels_the_model_does_not_know_are_not_scored(models, tmp_path):
    rows = open(models["table"]).read().splitlines()
    named = {"pos": "yes", "neg": "no"}  # the same classes, named otherwise; and a blank cell
    table = tmp_path / "renamed.tsv"
    table.write_text("\n".join([rows[0]] + [r.rsplit("\t", 1)[0] + "\t" + named[r.rsplit("\t", 1)[1]]
                                           for r in rows[1:-1]] + [rows[-1].rsplit("\t", 1)[0] + "\t"]) + "\n")
    summary = write_classification(models["clf"], str(table), str(tmp_path / "x.tsv"), quiet=True)
    assert "accuracy" not in summary, summary
    assert f"{len(rows) - 2} records have a label the model does not predict ('no', 'yes'" in summary
    mixed = tmp_path / "mixed.tsv"  # some known, some not: only the known are scored
    mixed.write_text("\n".join(rows[:11] + [r.rsplit("\t", 1)[0] + "\tmaybe" for r in rows[11:]]) + "\n")
    summary = write_classification(models["clf"], str(mixed), str(tmp_path / "y.tsv"), quiet=True)
    assert "on the 10 records that had a label" in summary and f"{len(rows) - 11} records have a label" in summary


def test_cli_reads_fasta_fastq_gz_stdin_and_several_files(models, tmp_path, monkeypatch, capsys):
    fa = tmp_path / "a.fa"
    fa.write_text(">x\nTATAAAACGTACGTAC\n>y\nGCGCGCACGTACGTAC\n")
    fq = tmp_path / "b.fq.gz"
    fq.write_bytes(gzip.compress(b"@q\nTATAAAACGTACGTAC\n+\nIIIIIIIIIIIIIIII\n"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(b">s\nACGTTATAAA\n"))))
    out = tmp_path / "o.tsv"
    assert main(["classify", models["clf"], str(fa), str(fq), "-", models["table"], "-o", str(out), "--quiet"]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0][:3] == ["file", "id", "label"]
    assert [r[:2] for r in rows[1:5]] == [[str(fa), "x"], [str(fa), "y"], [str(fq), "q"], ["-", "s"]]
    assert len(rows) == 1 + 4 + 40
    assert "classified 44 records" in capsys.readouterr().err


@pytest.mark.parametrize("pooling", ["cls", "mean", "tokens"])
def test_hdf5_equals_the_api(models, tmp_path, pooling):
    out = tmp_path / "e.h5"
    write_embeddings(models["pre"], models["table"], str(out), pooling=pooling, quiet=True)
    ids, arr = embed_arrays(models["pre"], models["table"], pooling=pooling)
    with h5py.File(out) as h5:
        assert list(h5["ids"].asstr()[:]) == ids == [f"r{i}" for i in range(40)]
        assert h5.attrs["pooling"] == pooling and h5.attrs["layer"] == -1
        if pooling == "tokens":
            for i, a in enumerate(arr):
                np.testing.assert_array_equal(h5["tokens"][str(i)][:], a)
                assert a.shape == (20 + i, 64)  # one vector per letter, windows stitched
        else:
            assert h5["embeddings"].shape == (40, 64) and h5["embeddings"].compression == "gzip"
            np.testing.assert_array_equal(h5["embeddings"][:], arr)


def test_mean_pooling_excludes_specials_and_pads(models):
    p = Predictor(models["pre"], kind="encoder")
    seq = "ACGTACGTAA"
    _, (vec,) = embed_arrays(models["pre"], _fa(models["root"], seq), pooling="mean")
    ids = torch.as_tensor(p.tokenizer.encode(seq))[None]
    with torch.no_grad():
        states = p.model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0]
    np.testing.assert_allclose(vec, states[1:-1].mean(0).numpy(), atol=1e-5)
    _, (first,) = embed_arrays(models["pre"], _fa(models["root"], seq), pooling="mean", layer=0)
    assert first.shape == (64,)
    # layer 0 is the embeddings: [CLS] there is one vector whatever the record
    with pytest.raises(infer.InputError, match="--pooling cls --layer 0: layer 0 is the embeddings"):
        embed_arrays(models["pre"], _fa(models["root"], seq), pooling="cls", layer=0)


def test_several_layers_from_one_pass_equal_one_layer_at_a_time(models):
    """A probe's layer search embeds every layer at once; each must be what asking for it alone
    gives, for every pooling, with sequences longer than the window."""
    p = Predictor(models["pre"], kind="encoder")
    seqs = ["ACGTACGTAA", "ACGT" * 20, "GATTACA"]  # 80 letters: several windows of 32
    for pooling in ("mean", "cls", "tokens"):
        both = infer.embed_sequences(p, seqs, pooling=pooling, layer=(1, 2))
        for i, layer in enumerate((1, 2)):
            one = infer.embed_sequences(p, seqs, pooling=pooling, layer=layer)
            for a, b in zip(both, one, strict=True):
                np.testing.assert_allclose(a[..., i, :], b, atol=1e-5)
    assert infer.embed_sequences(p, seqs, layer=(1, 2)).shape == (3, 2, 64)


def _fa(root, seq):
    path = root / f"one_{seq}.fa"
    path.write_text(f">one\n{seq}\n")
    return str(path)


def test_interrupted_runs_leave_no_output(models, tmp_path, monkeypatch):
    out_tsv, out_h5 = tmp_path / "p.tsv", tmp_path / "e.h5"
    out_tsv.write_text("previous results\n")
    calls = {"n": 0}
    real = model_module.forward_windows

    def dying(*args, **kwargs):
        for item in real(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(infer, "CHUNK_RECORDS", 8)
    monkeypatch.setattr(infer, "forward_windows", dying)  # embed
    monkeypatch.setattr(model_module, "forward_windows", dying)  # classify, through the task
    with pytest.raises(KeyboardInterrupt):
        write_classification(models["clf"], models["table"], str(out_tsv), batch_tokens=64, quiet=True)
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        write_embeddings(models["pre"], models["table"], str(out_h5), batch_tokens=64, quiet=True)
    assert out_tsv.read_text() == "previous results\n"
    assert sorted(os.listdir(tmp_path)) == ["p.tsv"]


def test_bad_records_follow_the_policy(models, tmp_path, capsys):
    fa = tmp_path / "bad.fa"
    fa.write_text(">ok\nACGTACGT\n>bad\nACGJJT\n")
    out = tmp_path / "o.tsv"
    assert main(["classify", models["clf"], str(fa), "-o", str(out), "--quiet"]) == 2
    assert not out.exists()
    assert "bad.fa:4: record 'bad': invalid character 'J'" in capsys.readouterr().err
    assert main(["classify", models["clf"], str(fa), "-o", str(out), "--quiet", "--on-invalid", "skip"]) == 0
    assert [r.split("\t")[0] for r in out.read_text().splitlines()] == ["id", "ok"]
    assert "skipped 1 of 2 records" in capsys.readouterr().err


def test_a_pretrained_directory_is_not_a_classifier(models, tmp_path, capsys):
    assert main(["classify", models["pre"], models["table"], "-o", str(tmp_path / "x.tsv")]) == 2
    assert "not a fine-tuned model (genobert.json task is 'mlm')" in capsys.readouterr().err


def test_contextual_embedding_example(models, tmp_path):
    """examples/contextual_embeddings.py: identical motif vectors at layer 0, not after."""
    import importlib.util
    import subprocess

    script = os.path.join(os.path.dirname(__file__), "..", "examples", "contextual_embeddings.py")
    res = subprocess.run([sys.executable, script, models["pre"], "--out", str(tmp_path / "c.png")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert [line.split(":")[0] for line in res.stdout.splitlines() if "cosine" in line] == [
        "layer 0 (input embeddings)", "last layer"]
    spec = importlib.util.spec_from_file_location("contextual", script)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    fasta = tmp_path / "c.fa"
    fasta.write_text("".join(f">{n}\n{s}\n" for n, s in example.contexts(0)))
    static, contextual = (example.motif_vectors(models["pre"], str(fasta), layer) for layer in (0, -1))
    np.testing.assert_allclose(static @ static.T, 1, atol=1e-5)  # the same vector in every context
    assert (contextual @ contextual.T).min() < 1 - 1e-5  # no longer the same


def test_classify_threshold_and_top_k(models, tmp_path):
    import csv

    from genobert.cli import main

    def labels(*flags):
        out = tmp_path / "o.tsv"
        assert main(["classify", models["clf"], models["table"], "-o", str(out), "--quiet", *flags]) == 0
        with open(out, newline="") as f:
            return list(csv.DictReader(f, delimiter="\t"))

    assert {r["label"] for r in labels("--threshold", "0.000001")} == {"pos"}
    assert {r["label"] for r in labels("--threshold", "0.999999")} == {"neg"}
    rows = labels("--top-k", "2")
    assert all(r["top_k"].split(",")[0] == r["label"] and set(r["top_k"].split(",")) == {"neg", "pos"} for r in rows)


def test_classify_scores_the_label_column_the_model_was_trained_on(models, tmp_path):
    from genobert.train import finetune

    rows = open(models["table"]).read().splitlines()
    table = tmp_path / "class.tsv"  # the labels under another name, and a 'label' column of noise
    table.write_text("\n".join([rows[0].replace("\tlabel", "\tclass") + "\tlabel"]
                               + [r + "\tneg" for r in rows[1:]]) + "\n")
    model = finetune(str(table), str(tmp_path / "ft"), init=models["pre"], label_column="class", epochs=1,
                     batch_size=8, max_len=32)
    summary = write_classification(model, str(table), str(tmp_path / "p.tsv"), quiet=True)
    truth = [r.rsplit("\t", 1)[1] for r in rows[1:]]
    predicted = [line.split("\t")[1] for line in open(tmp_path / "p.tsv").read().splitlines()[1:]]
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)
    assert f"accuracy {accuracy:.4f} on the {len(truth)} records that had a label" in summary, summary


def test_file_names_that_are_not_utf8_are_written_escaped(models, tmp_path):
    """Linux file names are bytes; one that is not UTF-8 reaches Python with surrogates, which
    neither the TSV's nor HDF5's UTF-8 encoder takes (a traceback, before)."""
    odd = os.path.join(os.fsencode(tmp_path), b"a\xff.fa")
    with open(odd, "w") as f:
        f.write(">x\nTATAAAACGTACGTAC\n")
    odd, plain = os.fsdecode(odd), _fa(tmp_path, "GCGCGCACGTACGTAC")
    out = tmp_path / "o.tsv"
    write_classification(models["clf"], [odd, plain], str(out), quiet=True)
    assert out.read_text().splitlines()[1].startswith(str(tmp_path) + "/a\\xff.fa\tx\t")
    h5 = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"e\xff.h5"))
    write_embeddings(models["pre"], [odd, plain], h5, quiet=True)
    with h5py.File(h5) as f:
        assert list(f["files"].asstr()[:]) == [str(tmp_path) + "/a\\xff.fa", plain]

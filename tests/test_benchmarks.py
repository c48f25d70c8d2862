"""The speed benchmarks of docs/PERF.md run end to end at toy sizes (their figures come from full
runs; here only that each still works and checks what it claims: the same tokens, the same labels)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")


def run(script: str, *args: str, tmp_path) -> str:
    env = {**os.environ, "GENOBERT_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, os.path.join(BENCHMARKS, script), *args], env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_read_tokenize_on_simulated_and_given_files(tmp_path, write):
    out = run("read_tokenize.py", "--mb", "0.2", "--repeat", "1", tmp_path=tmp_path)
    assert len(re.findall(r"^\| (dna|protein) \| \.fa(\.gz)? \|", out, re.M)) == 4
    assert re.search(r"^smallest ratio: [\d.]+x$", out, re.M)  # after checking equal token counts
    fasta = write("given.fa.gz", ">a\nacgtn\nACGT\n>b\nGGGG\n")
    out = run("read_tokenize.py", "--repeat", "1", "--files", f"dna:{fasta}", tmp_path=tmp_path)
    assert "| dna | given.fa.gz |" in out


def test_pretrain_compares_both_paths(tmp_path):
    out = run("pretrain.py", "--presets", "tiny", "--tokenizers", "char", "--seq-len", "64",
              "--batch-size", "4", "--steps", "6", "--repeat", "1", "--mb", "0.05", tmp_path=tmp_path)
    row = re.search(r"^\| tiny \| char \| 64 \| ([\d,]+) \| ([\d,]+) \| ([\d.]+)x \|", out, re.M)
    assert row and all(float(g.replace(",", "")) > 0 for g in row.groups())


def test_pretrain_on_a_proteome_reports_padding(tmp_path, write):
    rng = np.random.default_rng(0)
    fasta = write("proteome.fa.gz", "".join(
        f">p{i}\n{''.join(rng.choice(list('ACDEFGHIKLMNPQRSTVWY'), int(rng.integers(5, 90))))}\n" for i in range(60)))
    out = run("pretrain.py", "--alphabet", "protein", "--corpus", fasta, "--presets", "tiny", "--tokenizers",
              "char", "--seq-len", "64", "--batch-size", "4", "--steps", "6", "--repeat", "1", tmp_path=tmp_path)
    assert "protein proteome.fa.gz, window 64" in out
    row = re.search(r"^\| tiny \| char \| \d+ \| [\d,]+ \| [\d,]+ \| [\d.]+x \| ([\d.]+)% \| ([\d.]+)% \|", out, re.M)
    assert row and all(0 < float(g) <= 100 for g in row.groups()), out
    res = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "pretrain.py"), "--alphabet", "protein"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "--alphabet protein needs --corpus" in res.stderr


@pytest.mark.parametrize("script,args,last", [
    ("classify.py", ["--reads", "40", "--max-length", "120"], r"^ratio genobert / pipeline loop: [\d.]+x$"),
    ("classify_memory.py", ["--reads", "200", "--length", "60"], r"^peak memory ratio 10x / 1x: [\d.]+$"),
])
def test_classify_benchmarks(tmp_path, script, args, last):
    out = run(script, *args, tmp_path=tmp_path)
    assert re.search(last, out, re.M)
    if script == "classify.py":
        assert "same label for 100.0% of reads" in out  # fp32 on a CPU: the pipeline's labels


def test_pretrain_recipe_study_runs_at_toy_size(tmp_path):
    rng = np.random.default_rng(0)
    genome = tmp_path / "g.fa"
    genome.write_text(">c\n" + "".join(rng.choice(list("ACGT"), 30_000)) + "\n")
    table = tmp_path / "t.tsv"
    table.write_text("id\tsequence\tlabel\n" + "".join(
        f"r{i}\t{''.join(rng.choice(list('ACGT'), 20))}{'TATAAA' if i % 2 else 'GCGCGC'}\t{i % 2}\n" for i in range(40)))
    out = run("pretrain_recipe.py", "--minutes", "0.05", "--trials", "released,modernbert",
              "--corpus", str(genome), "--task", str(table), "-", "--finetune-seeds", "2", "--epochs", "1",
              "--max-len", "64", "--eval-steps", "2", "--out", str(tmp_path / "study"),
              "--plot", str(tmp_path / "curves.png"), tmp_path=tmp_path)
    rows = dict(re.findall(r"^\| (released|modernbert) \|.* \| ([^|]+) \|$", out, re.M))
    assert list(rows) == ["released", "modernbert"], out
    # the released arm is the reference; the other's MCC difference is paired over both seeds
    assert rows["released"].strip() == "–" and re.fullmatch(r"[+-]\d\.\d{3}( \[.+\])? \(2\)|.*failed.*",
                                                           rows["modernbert"].strip()), out
    assert (tmp_path / "curves.png").exists() == (importlib.util.find_spec("matplotlib") is not None)
    again = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "pretrain_recipe.py"), "--minutes", "0.1",
                            "--trials", "released", "--corpus", str(genome), "--task", str(table), "-",
                            "--finetune-seeds", "0", "--out", str(tmp_path / "study")],
                           capture_output=True, text=True, env={**os.environ, "GENOBERT_CACHE": str(tmp_path / "cache")})
    assert again.returncode == 2 and "was trained with minutes=0.05, this study asks minutes=0.1" in again.stderr


def test_mlm_fit_scores_a_task_file_against_its_entropy(models, tmp_path):
    out = run("mlm_fit.py", models["pre"], models["table"], os.path.join(models["root"], "g.fa"),
              "--limit", "30", tmp_path=tmp_path)
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ") and ("labelled" in line or "g.fa" in line)]
    assert len(rows) == 2
    for row in rows:  # sequences, masked letters, MLM bits (an untrained model: any), entropy bits
        assert int(row[1].replace(",", "")) == 30 and int(row[2].replace(",", "")) > 0
        assert float(row[3]) > 0 and 1.9 < float(row[4].rstrip(" |")) <= 2  # random letters: ~2 bits


def test_pretraining_gain_pairs_by_seed_per_share(tmp_path):
    import importlib.util
    import json

    def row(method, seed, share, mcc):
        return {"task": "t", "method": method, "seed": seed, "fraction": share, "n_train": int(1000 * share),
                "test": {"mcc": mcc, "predicted_classes": 2}}
    rows = [row("bert-pretrained", s, f, 0.5 + 0.1 * s + (0.2 if f < 1 else 0.0)) for s in range(3) for f in (0.1, 1.0)]
    rows += [row("bert-scratch", s, f, 0.5 + 0.1 * s) for s in range(3) for f in (0.1, 1.0)]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = run("pretraining_gain.py", str(tmp_path), "--out", str(tmp_path / "gain.png"), tmp_path=tmp_path)
    # the seeds' own spread cancels in the pairing: +0.2 at 100 labels, 0 at 1,000, on every seed
    assert "| t | 0.1 | 100 | 3 | +0.200 |" in out and "| t | 1 | 1,000 | 3 | +0.000 |" in out
    if importlib.util.find_spec("matplotlib"):  # the optional `plot` extra
        assert (tmp_path / "gain.png").stat().st_size > 0


def test_compare_models_pairs_two_folders_by_seed_and_refuses_other_rows(tmp_path):
    import json

    def folder(name, model, gain, n_train=100, profile=None, tokens=None):
        path = tmp_path / name
        path.mkdir()
        setup = {"suite": "dna", "profile": profile or {"epochs": 40}, "data_dir": "d",
                 "pretrained_models": {"dna": {"path": model, "tokens_seen": tokens}}}
        (path / "bench.json").write_text(json.dumps(setup))
        rows = [{"task": "t", "method": "bert-pretrained", "seed": s, "fraction": 1.0, "n_train": n_train,
                 "n_valid": 10, "test": {"mcc": 0.5 + 0.1 * s + gain, "predicted_classes": 2}} for s in range(3)]
        rows.append({**rows[0], "method": "bert-scratch"})
        (path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return str(path)

    a, b = folder("a", "models/one", 0.0), folder("b", "models/two", 0.05, tokens=24_000_000)
    out = run("compare_models.py", a, b, tmp_path=tmp_path)
    # a re-released model keeps its name: the tokens it had seen tell the versions apart
    assert "(two (24.0 M tokens)) minus A = " + a + " (one)," in out and "| t | 1 | 100 | mcc | 0.600 | 0.650 | +0.050" in out  # the seeds' spread cancels
    other = folder("c", "models/two", 0.05, n_train=90)
    res = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "compare_models.py"), a, other],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "seed 0: 100 / 10 training / validation rows in A, 90 / 10 in B" in res.stderr
    # a field the profile gained since A ran is named, not a difference; a changed field is one
    newer = folder("d", "models/two", 0.05, profile={"epochs": 40, "cnn_lrs": [1e-3]})
    assert "recorded by one folder only, not compared: cnn_lrs" in run("compare_models.py", a, newer, tmp_path=tmp_path)
    changed = folder("e", "models/two", 0.05, profile={"epochs": 30})
    res = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "compare_models.py"), a, changed],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "the folders differ in profile" in res.stderr


def test_context_table_scores_the_models_held_out_split_with_counts(tmp_path, private_cache):
    import gzip

    from genobert.train import pretrain

    # a Markov chain whose next letter is one of two of the previous one's (1 bit), no run of it
    # repeating (the split would cut repeats as copies): one neighbour a side tells the middle
    # letter far better than the letter frequencies (2 bits)
    rng = np.random.default_rng(0)
    letters = [0]
    for _ in range(60_000):
        letters.append((letters[-1] + int(rng.integers(1, 3))) % 4)
    folder = tmp_path / "data" / "pretrain_dna_genomes"
    folder.mkdir(parents=True)
    with gzip.open(folder / "g.fa.gz", "wt") as f:
        f.write(">c\n" + "".join("ACGT"[i] for i in letters) + "\n")
    with gzip.open(folder / "r.fa.gz", "wt") as f:  # and a file of random letters
        f.write(">r\n" + "".join(rng.choice(list("ACGT"), 60_000)) + "\n")
    files = [str(folder / "g.fa.gz"), str(folder / "r.fa.gz")]
    model = pretrain(files, str(tmp_path / "m"), preset="tiny", seq_len=64, batch_size=8,
                     max_steps=4, eval_steps=4, holdout=0.1, exclude=set())
    data = str(tmp_path / "data")
    out = run("context_table.py", model, "--context", "0,1", "--data-dir", data, tmp_path=tmp_path)
    table = dict(re.findall(r"^\| (\d) \| ([\d.]+) \|$", out, re.M))
    assert 1.99 < float(table["0"]) < 2.01 and 1.0 < float(table["1"]) < 1.9, out  # half the letters follow
    assert re.search(rf"^\| {re.escape(model)} \| [\d,]+ \| [\d.]+ \|$", out, re.M)
    out = run("context_table.py", model, "--context", "1", "--data-dir", data, "--by-file", tmp_path=tmp_path)
    markov, random = re.search(r"^\| 1 \| ([\d.]+) \([\d,]+\) \| ([\d.]+) \([\d,]+\) \|$", out, re.M).groups()
    # one table of both files: on the random one it expects the chain's successors, and does worse than 2 bits
    assert float(markov) < 1.2 and float(random) > 1.95, out


def test_results_doc_probe_board_pairs_probes_by_seed(tmp_path):
    import json

    sys.path.insert(0, BENCHMARKS)
    try:
        import results_doc
    finally:
        sys.path.remove(BENCHMARKS)

    def row(method, seed, mcc, valid):
        return {"task": "t", "method": method, "seed": seed, "fraction": 1.0, "n_train": 100,
                "valid": {"mcc": valid}, "test": {"mcc": mcc, "predicted_classes": 2}}

    rows = [row("bert-probe", s, 0.6 + 0.1 * s, 0.5) for s in range(3)]
    rows += [row("bert-probe-scratch", s, 0.5 + 0.1 * s + 0.001 * s, 0.4) for s in range(3)]
    rows += [row("kmer-lr", s, 0.7 + 0.1 * s, 0.6) for s in range(3)]
    rows += [row("onehot-lr", s, 0.0, 0.1) for s in range(3)]  # worse on validation: not the rival
    # task u: both probes score the same on every seed, one measurement, no verdict: not counted
    rows += [{**row(m, s, 0.5, 0.5), "task": "u"} for m in ("bert-probe", "bert-probe-scratch", "kmer-lr") for s in range(3)]
    (tmp_path / "bench.json").write_text(json.dumps({"suite": "dna", "pretrained_models": {"dna": {"path": "models/m"}}}))
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = "\n".join(results_doc.probe_board([str(tmp_path)]))
    # +0.1 over random weights on every seed (the seeds' spread cancels), -0.1 against kmer-lr
    assert re.search(r"\| m \| t \| 100 \| MCC \| 0\.700 \| \+0\.099 \[\+0\.09\d, \+0\.10\d\], 3 seeds: \*\*helped\*\* "
                     r"\| kmer-lr: -0\.100 \[-0\.100, -0\.100\], 3 seeds: \*\*hurt\*\* \|", text), text
    assert "| m | u | 100 | MCC | 0.500 | +0.000, one measurement |" in text
    assert ("beat random ones on 1 of 1 task × model rows with a verdict (worse on 0), and the "
            "best method without pretraining on 0 of 1 (worse on 1)") in text


def test_results_doc_counts_a_few_label_folder_by_its_own_shares():
    sys.path.insert(0, BENCHMARKS)
    try:
        import results_doc
    finally:
        sys.path.remove(BENCHMARKS)
    runs = [{"task": "a", "method": m, "seed": s, "fraction": 0.03} for m in ("x", "y") for s in range(10)]
    # a folder that ran only 3 % of the labels: its 20 runs are counted, task a is not "not run yet"
    notice = results_doc.incomplete({"seeds": 10, "methods": ["x", "y"], "fractions": [0.03]}, runs, ["a", "b"])
    assert notice.startswith("**Incomplete run**: 20 of the suite's 40 task × method × seed runs (at 0.03 of "
                             "the labels) are in; tasks not run yet: b.")
    assert results_doc.incomplete({"seeds": 10, "methods": ["x", "y"], "fractions": [0.03]}, runs, ["a"]) == ""
    # beside the full training sets, shares are extra: only the full-set runs count
    full = [{**r, "fraction": 1.0} for r in runs[:10]]
    notice = results_doc.incomplete({"seeds": 10, "methods": ["x", "y"], "fractions": [0.03, 1.0]}, runs + full, ["a"])
    assert notice.startswith("**Incomplete run**: 10 of the suite's 20 task × method × seed runs are in.")
    # 3 seeds of all labels, then 10 of a share (bench.json keeps the last --seeds): complete
    three = [{**r, "fraction": 1.0} for r in runs if r["seed"] < 3]
    assert results_doc.incomplete({"seeds": 10, "methods": ["x", "y"], "fractions": [0.03, 1.0]}, runs + three, ["a"]) == ""
    # unless the folder recorded 5 asked of all labels
    asked = {"seeds": 10, "methods": ["x", "y"], "fractions": [0.03, 1.0], "seeds_by_fraction": {"1": 5, "0.03": 10}}
    assert "6 of the suite's 10" in results_doc.incomplete(asked, runs + three, ["a"])
    # a task never run is named even where a later, smaller --seeds makes the count look whole
    fewer = {"seeds": 1, "methods": ["x", "y"], "fractions": [1.0], "seeds_by_fraction": {"1": 1}}
    assert "tasks not run yet: c" in results_doc.incomplete(fewer, three, ["a", "c"])

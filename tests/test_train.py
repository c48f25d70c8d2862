"""Pretraining and fine-tuning: masking invariants, loss falls, overfitting, resume, DDP, windows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from genobert.data import MLMCollator, average_windows, windows_of
from genobert.errors import InputError
from genobert.tokenize import CLS_ID, MASK_ID, PAD_ID, SEP_ID
from genobert.train import finetune, pretrain

TINY = dict(preset="tiny", seq_len=64, batch_size=8, logging_steps=5, lr=2e-3)


pytestmark = pytest.mark.usefixtures("private_cache")


# ----------------------------------------------------------------- masking


def _batch(n_tokens, rows=64, seed=0, **kw):
    coll = MLMCollator(vocab_size=30, seed=seed, **kw)
    samples = [{"input_ids": np.concatenate(([CLS_ID], np.full(n_tokens - r % 7, 7), [SEP_ID])),
                "sample": r} for r in range(rows)]
    return coll(samples)


@pytest.mark.parametrize("k,stride", [(1, 1), (6, 1), (3, 1), (6, 6)])
def test_masking_rate_and_specials(k, stride):
    b = _batch(200, k=k, stride=stride)
    chosen = b["labels"] != -100
    special = (b["labels"] == -100) & ((b["input_ids"] == PAD_ID) | (b["attention_mask"] == 0))
    assert not (chosen & (b["attention_mask"] == 0)).any()  # pads never masked
    assert not chosen[:, 0].any()  # [CLS] never masked
    lengths = b["attention_mask"].sum(1)
    assert not chosen[torch.arange(len(lengths)), lengths - 1].any()  # [SEP] never masked
    rate = chosen.sum().item() / (lengths - 2).sum().item()
    assert 0.13 < rate < 0.17, rate
    assert special.any()
    ids = b["input_ids"][chosen]
    frac_mask = (ids == MASK_ID).float().mean().item()
    assert 0.75 < frac_mask < 0.85


def test_overlapping_kmer_masks_whole_spans():
    k = 6
    b = _batch(300, k=k, stride=1, rows=32)
    lengths = b["attention_mask"].sum(1)
    for row, n in zip(b["labels"] != -100, lengths, strict=True):
        inner = row[1: n - 1].int().tolist()
        # every run of masked tokens away from the ends is at least k long: a masked letter is in
        # no unmasked token (at the ends fewer tokens hold a letter, so runs there may be shorter)
        runs, start = [], None
        for i, v in enumerate(inner + [0]):
            if v and start is None:
                start = i
            elif not v and start is not None:
                runs.append((start, i))
                start = None
        interior = [e - s for s, e in runs if s > 0 and e < len(inner)]
        assert interior and min(interior) >= k


def _spans(chosen: torch.Tensor) -> list[tuple[int, int]]:
    """Runs of True in a 1-d bool tensor, as (start, end)."""
    edges = torch.diff(torch.cat((torch.zeros(1), chosen.float(), torch.zeros(1)))).nonzero().flatten()
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


@pytest.mark.parametrize("k", [3, 6])
def test_no_span_with_a_mask_keeps_an_original_token(k):
    # an original token left inside a masked span of overlapping k-mers covers the hidden letter;
    # drawn per token, 49 % of kmer:6 spans held one. Random tokens, so "kept" is observable.
    rng = np.random.default_rng(0)
    coll = MLMCollator(vocab_size=4101, seed=5, k=k, stride=1)
    leaks = spans_with_mask = 0
    for batch in range(20):
        samples = [{"input_ids": np.concatenate(([CLS_ID], rng.integers(5, 4101, 250), [SEP_ID])),
                    "sample": batch * 16 + r} for r in range(16)]
        b = coll(samples)
        for row in range(16):
            chosen = b["labels"][row] != -100
            for s, e in _spans(chosen):
                masked = b["input_ids"][row, s:e] == MASK_ID
                if masked.any():
                    spans_with_mask += 1
                    leaks += int((b["input_ids"][row, s:e] == b["labels"][row, s:e]).any())
    assert spans_with_mask > 500
    assert leaks == 0


def test_masking_is_seeded():
    a, b, c = _batch(100, seed=3), _batch(100, seed=3), _batch(100, seed=4)
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["labels"], b["labels"])
    assert not torch.equal(a["labels"], c["labels"])


# ----------------------------------------------------------------- windows


def test_windows_cover_the_sequence_and_average():
    ids = np.arange(100, 130)
    wins = windows_of(ids, 12)  # 10 tokens a window, half overlap
    assert all(w[0] == CLS_ID and w[-1] == SEP_ID and len(w) <= 12 for w in wins)
    covered = np.unique(np.concatenate([w[1:-1] for w in wins]))
    assert covered.tolist() == ids.tolist()
    assert wins[-1][-2] == 129
    assert len(windows_of(ids[:10], 12)) == 1
    logits = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    assert average_windows(logits, np.array([0, 0, 1]), 2).tolist() == [[2.0, 1.0], [5.0, 5.0]]


# ----------------------------------------------------------------- training


def test_pretrain_loss_falls_and_writes_a_loadable_directory(corpus, tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    out = pretrain(corpus, str(tmp_path / "pre"), max_steps=60, **TINY)
    losses = [h["loss"] for h in json.load(open(os.path.join(out, "log_history.json"))) if "loss" in h]
    assert np.mean(losses[-3:]) < 0.8 * losses[0]
    meta = json.load(open(os.path.join(out, "genobert.json")))
    assert meta["training"]["corpus"]["skipped_mostly_n"] == 1
    assert meta["training"]["data"][0]["sha256"]
    model = AutoModelForMaskedLM.from_pretrained(out)
    assert type(model).__name__ == "BertForMaskedLM" and model.config.vocab_size % 64 == 0
    assert json.load(open(os.path.join(out, "config.json")))["architectures"] == ["BertForMaskedLM"]
    assert AutoTokenizer.from_pretrained(out)("ACGT")["input_ids"] == [2, 5, 6, 7, 8, 3]
    assert not any(f.endswith(".bin") for f in os.listdir(out))


def test_masked_only_head_matches_stock_bert():
    """The fast MLM path gives stock BERT's loss, gradients and (masked-position) logits."""
    from transformers import BertConfig, BertForMaskedLM

    from genobert.mlm import MaskedHeadBertForMaskedLM

    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    fast = MaskedHeadBertForMaskedLM(config).eval()
    stock = BertForMaskedLM(config).eval()
    stock.load_state_dict(fast.state_dict())
    collate = MLMCollator(vocab_size=20, rate=0.3, seed=1)
    rng = np.random.default_rng(0)
    batch = collate([{"input_ids": np.r_[CLS_ID, rng.integers(5, 20, n), SEP_ID], "sample": i}
                     for i, n in enumerate([30, 12, 25])])
    out_fast, out_stock = fast(**batch), stock(**batch)
    picked = batch["labels"] != -100
    assert out_fast.logits.shape == (int(picked.sum()), 64)
    torch.testing.assert_close(out_fast.logits, out_stock.logits[picked])
    torch.testing.assert_close(out_fast.loss, out_stock.loss)
    out_fast.loss.backward()
    out_stock.loss.backward()
    grads = dict(stock.named_parameters())
    for name, p in fast.named_parameters():
        torch.testing.assert_close(p.grad, grads[name].grad, msg=name)
    # counted over a whole optimiser step (accumulation, devices): a sum over that count
    half = fast(**batch, num_items_in_batch=2 * int(picked.sum())).loss
    torch.testing.assert_close(half, out_fast.loss / 2)


def test_tiny_model_overfits_and_scratch_differs_only_in_weights(corpus, labelled, tmp_path):
    pre = pretrain(corpus, str(tmp_path / "pre"), max_steps=5, **TINY)
    ft_kw = dict(epochs=30, batch_size=8, lr=3e-3, patience=30, max_len=64)
    scratch = finetune(labelled, str(tmp_path / "scratch"), valid=labelled, init="scratch",
                       preset="tiny", tokenizer="char", alphabet="dna", **ft_kw)
    metrics = json.load(open(os.path.join(scratch, "metrics.json")))
    assert metrics["train"]["accuracy"] == 1.0 and metrics["train"]["mcc"] == 1.0
    assert metrics["loss_curve"][-1]["loss"] < metrics["loss_curve"][0]["loss"]
    tuned = finetune(labelled, str(tmp_path / "tuned"), valid=labelled, init=pre, epochs=1,
                     batch_size=8, max_len=64)
    a = json.load(open(os.path.join(scratch, "config.json")))
    b = json.load(open(os.path.join(tuned, "config.json")))
    ignore = {"_name_or_path", "transformers_version", "architectures", "dtype", "torch_dtype"}
    assert {k: v for k, v in a.items() if k not in ignore} == {k: v for k, v in b.items() if k not in ignore}
    assert a["id2label"] == {"0": "no", "1": "yes"}


def test_unknown_test_label_names_file_and_line(labelled, write, tmp_path):
    test = write("test.tsv", "id\tsequence\tlabel\na\tACGT\tyes\nb\tACGT\tmaybe\n")
    with pytest.raises(InputError, match=r"test.tsv:3: label 'maybe' is not among the training labels \(no, yes\)"):
        finetune(labelled, str(tmp_path / "ft"), test=test, preset="tiny", epochs=1, max_len=64)


def test_protein_batches_group_lengths_to_limit_padding(write, tmp_path, monkeypatch):
    import genobert.train as train

    rng = np.random.default_rng(3)
    aa = list("ACDEFGHIKLMNPQRSTVWY")
    fasta = "".join(f">p{i}\n{''.join(rng.choice(aa, int(rng.integers(10, 120))))}\n" for i in range(300))
    corpus = write("proteome.fa", fasta)
    seen = {"pad": 0, "all": 0}

    class Counting(train.MLMCollator):
        def __call__(self, samples):
            batch = super().__call__(samples)
            seen["pad"] += int((batch["attention_mask"] == 0).sum())
            seen["all"] += batch["attention_mask"].numel()
            return batch

    monkeypatch.setattr(train, "MLMCollator", Counting)
    pretrain(corpus, str(tmp_path / "p"), alphabet="protein", preset="tiny", seq_len=128,
             batch_size=16, max_steps=20, logging_steps=10)
    # random batches of lengths 12..122 would be ~45 % padding; grouped ones far less
    assert seen["pad"] / seen["all"] < 0.1, seen


def _cli(*args):
    return [sys.executable, "-m", "genobert", *args]


def test_loader_workers_change_nothing(corpus, tmp_path):
    # batching and masking in worker processes (the CUDA default) gives bit-identical weights
    a = pretrain(corpus, str(tmp_path / "inline"), max_steps=6, workers=0, **TINY)
    b = pretrain(corpus, str(tmp_path / "workers"), max_steps=6, workers=2, **TINY)
    wa, wb = load_file(os.path.join(a, "model.safetensors")), load_file(os.path.join(b, "model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    with pytest.raises(InputError, match="--workers -1"):
        pretrain(corpus, str(tmp_path / "bad"), max_steps=2, workers=-1, **TINY)


def test_compiled_model_trains_saves_plain_bert_and_gives_eager_logits(corpus, tmp_path):
    # --compile: the Trainer's torch.compile; the saved model is a plain BertForMaskedLM whose
    # compiled forward matches eager (dropout off) within float32 rounding
    from transformers import AutoModelForMaskedLM

    out = pretrain(corpus, str(tmp_path / "compiled"), max_steps=2, compile=True, **TINY)
    model = AutoModelForMaskedLM.from_pretrained(out).eval()
    assert type(model).__name__ == "BertForMaskedLM"
    ids = torch.randint(5, 9, (2, 40))
    with torch.no_grad():
        eager = model(input_ids=ids).logits
        compiled = torch.compile(model)(input_ids=ids).logits
    torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-4)


def test_resume_after_sigkill_gives_the_same_weights(corpus, tmp_path):
    common = ["pretrain", "--corpus", corpus, "--preset", "tiny", "--seq-len", "64",
              "--batch-size", "8", "--max-steps", "40", "--save-steps", "10", "--seed", "7"]
    env = {**os.environ, "GENOBERT_CACHE": str(tmp_path / "cache")}
    subprocess.run(_cli(*common, "--out", str(tmp_path / "a")), check=True, env=env,
                   capture_output=True)
    b = tmp_path / "b"
    proc = subprocess.Popen(_cli(*common, "--out", str(b)), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    state = tmp_path / "b.work" / "checkpoints" / "checkpoint-10" / "trainer_state.json"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (b / "model.safetensors").exists(), "the run finished before it could be killed"
    done = max(int(c.name.split("-")[1]) for c in (tmp_path / "b.work" / "checkpoints").glob("checkpoint-*"))
    subprocess.run(_cli(*common, "--out", str(b), "--resume"), check=True, env=env,
                   capture_output=True)
    wa, wb = load_file(tmp_path / "a" / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
    # tokens/s of the resumed run: the tokens of its own 40 - done steps over its own time
    ma, mb = (json.load(open(d / "genobert.json"))["training"]["metrics"] for d in (tmp_path / "a", b))
    per_step_a = ma["tokens_per_second"] * ma["train_runtime"] / 40
    per_step_b = mb["tokens_per_second"] * mb["train_runtime"] / (40 - done)
    assert per_step_b == pytest.approx(per_step_a, rel=1e-3)


def test_ddp_two_cpu_processes(corpus, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "GENOBERT_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    # --standalone: a free port of its own (a fixed one may still be held by an earlier run)
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--standalone", "-m", "genobert", "pretrain", "--corpus", corpus,
                          "--out", str(out), "--preset", "tiny", "--seq-len", "64", "--batch-size", "4",
                          "--max-steps", "6"], env=env, capture_output=True, text=True)
    # a worker's own error comes first in stderr, the launcher's summary last: show both
    assert res.returncode == 0, "\n".join(
        [line for line in res.stderr.splitlines() if "rror" in line or "terminate" in line][:20]) + res.stderr[-1000:]
    state = json.load(open(out / "genobert.json"))
    assert state["training"]["metrics"]["train_runtime"] > 0
    history = json.load(open(out / "log_history.json"))
    assert history[-1]["step"] == 6


# ----------------------------------------------------------------- held-out loss, --init


def test_heldout_loss_masks_at_one_rate_whatever_the_training_rate(corpus, tmp_path):
    # lr 0: the weights never move, so two runs score the same model; the held-out loss must then
    # agree although one trains at 40 % masking (scored at its own rate it read higher)
    curves = []
    for rate in (0.15, 0.4):
        out = pretrain(corpus, str(tmp_path / f"m{rate}"), max_steps=4, eval_steps=4, holdout=0.2,
                       eval_windows=8, mask_rate=rate, **{**TINY, "lr": 0.0})
        t = json.load(open(os.path.join(out, "genobert.json")))["training"]
        assert t["heldout"]["mask_rate"] == 0.15
        curves.append([c["loss"] for c in t["heldout"]["curve"]])
    assert curves[0] == pytest.approx(curves[1], rel=1e-6)


def test_heldout_loss_curve_and_tokens_seen_are_recorded(corpus, tmp_path):
    out = pretrain(corpus, str(tmp_path / "m"), max_steps=20, eval_steps=10, holdout=0.2,
                   eval_windows=8, **TINY)
    t = json.load(open(os.path.join(out, "genobert.json")))["training"]
    curve = t["heldout"]["curve"]
    assert [c["step"] for c in curve] == [10, 20] and curve[-1]["loss"] < curve[0]["loss"]
    assert all(abs(c["bits_per_letter"] - c["loss"] / np.log(2)) < 1e-9 for c in curve)  # char
    assert t["tokens_seen"] == curve[-1]["tokens_seen"] > 0 and 0 < t["passes"]
    assert t["heldout"]["tokens"] > 0 and t["stopped"] == "max_steps"
    # continuing from the model: its weights, tokens seen added up, a conflicting preset refused
    more = pretrain(corpus, str(tmp_path / "more"), init=out, max_steps=10, eval_steps=10,
                    holdout=0.2, eval_windows=8, batch_size=8, lr=2e-3)
    meta2 = json.load(open(os.path.join(more, "genobert.json")))
    assert meta2["window"] == 64  # the window it was pretrained on, not 512
    t2 = meta2["training"]
    assert t2["tokens_seen"] == t["tokens_seen"] + t2["tokens_seen_this_run"]
    assert t2["heldout"]["curve"][-1]["loss"] < curve[0]["loss"] and t2["init"]["path"] == out
    with pytest.raises(InputError, match="--preset small conflicts with --init"):
        pretrain(corpus, str(tmp_path / "bad"), init=out, preset="small", max_steps=2)


def test_pretrain_init_reads_exclude_files_in_the_init_models_alphabet(tmp_path, write):
    from genobert.cli import main

    rng = np.random.default_rng(0)
    residues = list("ACDEFGHIKLMNPQRSTVWY")
    test = "".join(rng.choice(residues, 60))
    corpus = write("p.fa", "".join(f">p{i}\n{''.join(rng.choice(residues, 200))}\n" for i in range(20))
                   + f">planted\nMM{test}MM\n")
    tiny = ["--preset", "tiny", "--seq-len", "64", "--batch-size", "8", "--max-steps", "2"]
    pre = str(tmp_path / "pre")
    assert main(["pretrain", "--corpus", corpus, "--alphabet", "protein", "--out", pre, *tiny]) == 0
    # no --alphabet: the exclude file (protein letters, not DNA) is read in the init's alphabet
    more = str(tmp_path / "more")
    assert main(["pretrain", "--corpus", corpus, "--init", pre, "--exclude", write("t.fa", f">t\n{test}\n"),
                 "--out", more, "--seq-len", "64", "--batch-size", "8", "--max-steps", "2"]) == 0
    removed = json.load(open(os.path.join(more, "genobert.json")))["training"]["corpus"]["decontamination"]
    assert removed["test_sequences"] == 1 and removed["records_dropped"] == 1


def test_time_budget_stops_and_saves(corpus, tmp_path):
    out = pretrain(corpus, str(tmp_path / "m"), max_steps=10_000, time_budget=3, **TINY)
    t = json.load(open(os.path.join(out, "genobert.json")))["training"]
    assert t["stopped"] == "time budget" and 0 < t["steps"] < 10_000


def test_a_diverged_round_is_never_the_best():
    from genobert.train import best_round

    nan = float("nan")
    assert best_round([{"mcc": 0.4, "loss": 1.0}, {"mcc": 0.0, "loss": nan}], "mcc") == 0
    assert best_round([{"mcc": 0.0, "loss": nan}, {"mcc": 0.4, "loss": 1.0}], "mcc") == 1
    assert best_round([{"mcc": None, "loss": 1.0}], "mcc") is None


def test_adapt_steps_continue_mlm_on_the_training_sequences(models, tmp_path):
    # a window longer than the model's positions is cut to them, as without adaptation (it
    # failed inside the adaptation, naming --seq-len, and left OUT.work behind)
    out = finetune(models["table"], str(tmp_path / "ft"), init=models["pre"], adapt_steps=3, epochs=1,
                   batch_size=8, max_len=100_000)
    meta = json.load(open(os.path.join(out, "genobert.json")))
    assert meta["training"]["adapted"] == {"steps": 3, "sequences": 36}  # the training split only
    assert not os.path.exists(out + ".work")
    with pytest.raises(InputError, match="--adapt-steps 3: continues the MLM pretraining"):
        finetune(models["table"], str(tmp_path / "ft2"), adapt_steps=3, epochs=1, preset="tiny")


def test_modernbert_pretrains_and_every_head_fine_tunes(corpus, tmp_path, write):
    from transformers import AutoModelForMaskedLM

    from genobert.cli import main

    pre = pretrain(corpus, str(tmp_path / "mb"), arch="modernbert", max_steps=4, **TINY)
    model = AutoModelForMaskedLM.from_pretrained(pre)
    assert type(model).__name__ == "ModernBertForMaskedLM"
    # a continuation records the architecture and preset it trained (its init's), not the flags' defaults
    more = pretrain(corpus, str(tmp_path / "mb2"), init=pre, max_steps=2, seq_len=64, batch_size=8)
    assert {k: v for k, v in json.load(open(os.path.join(more, "genobert.json")))["training"]["config"].items()
            if k in ("arch", "preset")} == {"arch": "modernbert", "preset": "tiny"}
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(24)]
    tables = {
        "sequence": "id\tsequence\tlabel\n" + "".join(f"r{i}\t{s}\t{i % 2}\n" for i, s in enumerate(seqs)),
        "token": "id\tsequence\tlabel\n" + "".join(f"r{i}\t{s}\t{s.replace('G', 'x').replace('C', 'x').replace('A', 'y').replace('T', 'y')}\n"
                                                    for i, s in enumerate(seqs)),
        "pair": "id\tsequence_a\tsequence_b\tlabel\n" + "".join(f"r{i}\t{s}\t{s[::-1]}\t{i % 2}\n" for i, s in enumerate(seqs)),
        "span": "id\tsequence\tstart\tend\n" + "".join(f"r{i}\t{s}\t{3 + i % 5}\t{9 + i % 5}\n" for i, s in enumerate(seqs)),
        "regression": "id\tsequence\tlabel\n" + "".join(f"r{i}\t{s}\t{s.count('A') / 30:.3f}\n" for i, s in enumerate(seqs)),
    }
    for kind, text in tables.items():
        table = write(f"{kind}.tsv", text)
        for init in (pre, "scratch"):
            out = tmp_path / f"{kind}_{'pre' if init == pre else 'scratch'}"
            extra = ["--init", init] + (["--arch", "modernbert", "--preset", "tiny"] if init == "scratch" else [])
            assert main(["finetune", "--train", table, "--valid", table, "--test", table, "--task", kind,
                         "--epochs", "1", "--max-len", "32", "--batch-size", "8", "--out", str(out), *extra]) == 0
            assert json.load(open(out / "config.json"))["model_type"] == "modernbert"
            recorded = json.load(open(out / "genobert.json"))["training"]["config"]
            assert (recorded["arch"], recorded["preset"]) == ("modernbert", "tiny")
            assert main(["classify", str(out), table, "-o", str(tmp_path / f"{kind}.out.tsv"), "--quiet"]) == 0
    assert main(["embed", pre, write("x.fa", ">a\nACGTACGTTT\n"), "-o", str(tmp_path / "x.h5"), "--pooling", "mean"]) == 0


def test_small_training_set_is_repeated_to_min_epoch_rows(labelled, tmp_path):
    # 24 rows in batches of 8 are 3 steps an epoch; a 64-row minimum makes each round 8 steps
    out = finetune(labelled, str(tmp_path / "ft"), valid=labelled, init="scratch", preset="tiny",
                   tokenizer="char", alphabet="dna", epochs=2, batch_size=8, patience=2, max_len=64,
                   min_epoch_rows=64)
    curve = json.load(open(os.path.join(out, "metrics.json")))["valid_curve"]
    assert [(c["epoch"], c["step"]) for c in curve] == [(1, 8), (2, 16)]
    one_pass = finetune(labelled, str(tmp_path / "ft1"), valid=labelled, init="scratch", preset="tiny",
                        tokenizer="char", alphabet="dna", epochs=4, batch_size=8, max_len=64, patience=0)
    curve = json.load(open(os.path.join(one_pass, "metrics.json")))["valid_curve"]
    # patience 0: every epoch runs (early stopping's 0 stopped after the first)
    assert [(c["epoch"], c["step"]) for c in curve] == [(1, 3), (2, 6), (3, 9), (4, 12)]


def test_tied_validation_scores_keep_the_epoch_with_the_lowest_loss(labelled, write, tmp_path):
    from genobert.train import best_round

    curve = [{"mcc": 0.0, "loss": 0.70}, {"mcc": 0.0, "loss": 0.55}, {"mcc": 0.0, "loss": 0.61},
             {"mcc": float("nan"), "loss": 0.1}]
    assert best_round(curve, "mcc") == 1  # the first of ties would be round 0
    assert best_round(curve + [{"mcc": 0.2, "loss": 0.9}], "mcc") == 4  # the score still comes first
    assert best_round([{"mcc": None, "loss": 0.5}], "mcc") is None
    # three "yes" to one "no" in training; validation all "yes": MCC 0 at every epoch while the
    # loss falls as the model learns the prior, so the first of ties (epoch 1) is the worst fit
    rows = open(labelled).read().splitlines()
    train = write("train3.tsv", "\n".join([rows[0]] + [r.replace("\tno", "\tyes") if i % 4 else r
                                                        for i, r in enumerate(rows[1:])]) + "\n")
    one_class = write("valid.tsv", "".join(line for i, line in enumerate(open(train))
                                           if i == 0 or line.rstrip().endswith("\tyes")))
    out = finetune(train, str(tmp_path / "ft"), valid=one_class, init="scratch", preset="tiny",
                   tokenizer="char", alphabet="dna", epochs=4, batch_size=8, patience=4, max_len=64, lr=1e-3)
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    losses = [c["loss"] for c in metrics["valid_curve"]]
    assert {c["mcc"] for c in metrics["valid_curve"]} == {0.0}
    assert losses[-1] < losses[0] and metrics["best_epoch"] == 1 + int(np.argmin(losses)) > 1


def test_evaluate_scores_a_file_as_finetune_scored_its_test_file(models):
    from genobert.infer import evaluate

    kept = json.load(open(os.path.join(models["clf"], "metrics.json")))["test"]
    again = evaluate(models["clf"], models["table"])
    assert again.keys() == kept.keys()
    assert all(abs(again[k] - kept[k]) < 1e-6 for k in kept)
    with pytest.raises(InputError, match="not a fine-tuned model"):
        evaluate(models["pre"], models["table"])


@pytest.mark.parametrize("after_best", [1, 2])
def test_a_resumed_finetuning_keeps_counting_its_patience(tmp_path, monkeypatch, after_best):
    """Cut one epoch after the best and resumed, a fine-tuning stops where the uninterrupted run
    did: early stopping's count of epochs without improvement is restored from the checkpoint.
    Cut at the epoch that stopped it (scoring the test set, say), it trains no more."""
    from transformers import Trainer

    from genobert.train import best_epoch

    rng = np.random.default_rng(3)  # random labels: validation stops improving within a few epochs
    table = tmp_path / "t.tsv"
    table.write_text("id\tsequence\tlabel\n" + "".join(
        f"s{i}\t{''.join(rng.choice(list('ACGT'), 30))}\t{i % 2}\n" for i in range(120)))
    kw = dict(preset="tiny", tokenizer="char", alphabet="dna", epochs=30, batch_size=8, patience=2,
              max_len=32, lr=1e-3, seed=1)
    a = json.load(open(os.path.join(finetune(str(table), str(tmp_path / "a"), **kw), "metrics.json")))
    stop = best_epoch(a["valid_curve"], a["score"], 30)
    assert stop["epochs_run"] == stop["best_epoch"] + 2 < 30  # it stopped early, by its patience

    class Cut(Exception):
        pass

    save = Trainer._save_checkpoint

    def save_then_cut(self, *args, **kwargs):  # the checkpoint one epoch after the best is whole
        save(self, *args, **kwargs)
        if sum("eval_loss" in h for h in self.state.log_history) == stop["best_epoch"] + after_best:
            raise Cut

    monkeypatch.setattr(Trainer, "_save_checkpoint", save_then_cut)
    with pytest.raises(Cut):
        finetune(str(table), str(tmp_path / "b"), **kw)
    monkeypatch.undo()
    b = json.load(open(os.path.join(finetune(str(table), str(tmp_path / "b"), resume=True, **kw), "metrics.json")))
    assert len(b["valid_curve"]) == stop["epochs_run"]
    assert b["valid"] == a["valid"]


def test_resume_with_other_settings_is_refused(labelled, tmp_path, monkeypatch):
    """--resume continues the run in OUT.work only with the settings it started with."""
    from transformers import Trainer

    class Cut(Exception):
        pass

    def cut(self, *args, **kwargs):
        raise Cut

    kw = dict(preset="tiny", tokenizer="char", alphabet="dna", epochs=2, batch_size=8, max_len=64, lr=1e-3)
    monkeypatch.setattr(Trainer, "train", cut)  # cut before the first step: OUT.work holds the mark
    with pytest.raises(Cut):
        finetune(labelled, str(tmp_path / "m"), **kw)
    monkeypatch.undo()
    with pytest.raises(InputError, match=r"m.work was started with lr 0.001, now 0.0003; resume it with the same"):
        finetune(labelled, str(tmp_path / "m"), resume=True, **{**kw, "lr": 3e-4})
    edited = tmp_path / "edited.tsv"
    edited.write_text(open(labelled).read().replace("\tyes\n", "\tno\n", 1))
    with pytest.raises(InputError, match=r"was started with another train \(by content: sha256:\w+, now sha256:\w+\)"):
        finetune(str(edited), str(tmp_path / "m"), resume=True, **kw)
    # a moved copy is the same file; what only changes how the run uses the machine may differ
    moved = tmp_path / "moved.tsv"
    moved.write_text(open(labelled).read())
    assert os.path.exists(os.path.join(finetune(str(moved), str(tmp_path / "m"), resume=True, workers=0,
                                                verbose=True, **kw), "metrics.json"))


def test_finetune_reads_its_training_table_from_stdin(labelled, tmp_path):
    """`--train -`: the table comes from a pipe (read once; a resume cannot check it by content)."""
    env = {**os.environ, "GENOBERT_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(_cli("finetune", "--train", "-", "--preset", "tiny", "--epochs", "1", "--max-len", "48",
                               "--out", str(tmp_path / "m")), input=open(labelled, "rb").read(), env=env,
                          capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert json.load(open(tmp_path / "m" / "metrics.json"))["valid"]


def test_resume_compares_what_the_run_depends_on(tmp_path):
    """Settings a pretrained --init brings need not be repeated; a validation file given or not,
    a time budget (the user's to give again) and the initial weights' content are what count."""
    from genobert.config import FinetuneConfig, PretrainConfig
    from genobert.train import _resumable

    init = tmp_path / "pre"
    init.mkdir()
    (init / "model.safetensors").write_bytes(b"weights")
    a = _resumable(FinetuneConfig(init=str(init), alphabet="protein"), train=__file__, valid=None)
    assert a == _resumable(FinetuneConfig(init=str(init)), train=__file__, valid=None)
    assert a["valid"] is None and a != _resumable(FinetuneConfig(init=str(init)), train=__file__, valid=__file__)
    assert a["init"].startswith("sha256:") and a["train"].startswith("sha256:")
    assert "time_budget" not in _resumable(PretrainConfig(time_budget=60), corpus=[__file__])


def test_an_rna_model_says_rna_and_reads_u(tmp_path, write):
    """The tokenizer spells RNA with DNA's letters (U read as T); the model directory said
    'dna', so its users refused every U (and --alphabet rna --init M 'conflicted')."""
    from genobert.cli import main
    from genobert.infer import embed_arrays

    rng = np.random.default_rng(0)
    corpus = write("r.fa", "".join(f">r{i}\n{''.join(rng.choice(list('ACGU'), 200))}\n" for i in range(10)))
    pre = str(tmp_path / "pre")
    assert main(["pretrain", "--corpus", corpus, "--alphabet", "rna", "--out", pre, "--preset", "tiny",
                 "--seq-len", "32", "--batch-size", "4", "--max-steps", "2"]) == 0
    assert json.load(open(os.path.join(pre, "genobert.json")))["alphabet"] == "rna"
    ids, (u,) = embed_arrays(pre, write("u.fa", ">u\nACGUUGCA\n"))
    _, (t,) = embed_arrays(pre, write("t.fa", ">t\nACGTTGCA\n"))
    np.testing.assert_array_equal(u, t)

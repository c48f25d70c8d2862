"""`genobert demo`: the whole story in a few minutes on a CPU, with no network and no data.

Pretrain a tiny BERT on a simulated genome, fine-tune it and the same BERT from scratch, fit the
k-mer baseline, print the comparison, draw the fine-tuning curves and classify a file. The data
are simulated (see `genobert.simulate`); with ``data_dir`` it runs on a real task instead (E. coli
promoters, pretrained on the yeast genome).
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

from .baselines import KmerLR, Split
from .errors import InputError
from .infer import write_classification
from .io import write_json
from .simulate import write_demo_data
from .metrics import classification_metrics
from .train import finetune, label_names, pretrain, read_labelled

PRETRAIN = dict(preset="tiny", seq_len=128, max_steps=200, batch_size=32, lr=2e-3, save_steps=200,
                logging_steps=20)
FINETUNE = dict(tokenizer="char", alphabet="dna", max_len=128, epochs=12,
                batch_size=32, patience=12)


REAL_FINETUNE = dict(tokenizer="char", alphabet="dna", max_len=128, epochs=8, batch_size=32,
                     patience=3, precision="bf16")  # bf16: 2.4x on AMX CPUs, same elsewhere or slower
# Each BERT keeps the rate of these with the better validation MCC (the benchmark searches these
# and 1e-4; two keep the demo short): with one rate for both, 1e-3, the pretrained BERT's
# loss stayed at chance on the simulated task (test MCC 0.01-0.04) while it learned at 3e-4 (0.12)
LRS = (3e-4, 1e-3)
REAL_TRAIN_ROWS = 1500  # of 4,118 training rows: a few minutes on 2 cores, and few labels is where
# pretraining should pay


def _real_data(data_dir: str) -> dict[str, str] | None:
    """The E. coli promoter task (and the yeast genome, for a pretraining of our own when no
    released model is there), or None when they are not in ``data_dir``."""
    paths = {"genome": "pretrain_dna_genomes/Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz",
             "train": "dna_ecoli_promoter_ipromoter2l/train.tsv",
             "test": "dna_ecoli_promoter_ipromoter2l/test.tsv"}
    out = {key: os.path.join(data_dir, rel) for key, rel in paths.items()}
    return out if all(os.path.isfile(p) for p in out.values()) else None


def _subsample(train: str, out: str, rows: int, seed: int) -> str:
    """A seeded random ``rows`` of a table (header kept), written under the demo's folder."""
    with open(train, newline="") as f:
        header, *lines = f.read().splitlines()
    keep = sorted(np.random.default_rng(seed).permutation(len(lines))[:rows])
    path = os.path.join(out, "data", "train_subset.tsv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join([header] + [lines[i] for i in keep]) + "\n")
    return path


def run_demo(out: str, *, data_dir: str | None = None, seed: int = 0, log=print) -> dict:
    """Run the demo into ``out``; returns the test metrics per method.

    On the real E. coli promoter table when it is found (``data_dir``, or the default data folder)
    the pretrained BERT is the released ``genobert-dna`` (or, without it, a tiny BERT pretrained
    here on the yeast genome); otherwise everything is simulated. The first line says which."""
    from .manifests import default_data_dir
    from .registry import released

    if os.path.lexists(out) and not os.path.isdir(out):
        raise InputError("exists and is not a folder; give a folder for the demo to write", path=out)
    if os.path.isdir(out) and os.listdir(out) and not os.path.exists(os.path.join(out, "demo.json")):
        raise InputError("exists, is not empty and is not a demo's folder; give another --out", path=out)
    real = _real_data(data_dir or str(default_data_dir()))
    if data_dir and real is None:
        raise InputError("the real demo needs dna_ecoli_promoter_ipromoter2l/{train,test}.tsv and "
                         "the yeast genome (see `genobert data list`)", path=data_dir)
    os.makedirs(out, exist_ok=True)  # a previous demo's folder is written again
    if not os.path.exists(os.path.join(out, "demo.json")):  # the mark first: an interrupted demo's
        write_json(os.path.join(out, "demo.json"), {"status": "started"})  # folder is its own again
    release = next((m for m in released() if m.name == "genobert-dna"), None)
    if real:
        files = {**real, "valid": None, "train": _subsample(real["train"], out, REAL_TRAIN_ROWS, seed)}
        what = (f"REAL data: E. coli promoters (iPromoter-2L), {REAL_TRAIN_ROWS:,} training rows, "
                + (f"BERT pretrained = the released genobert-dna ({release.tokens_seen:,} tokens seen)"
                   if release else "BERT pretrained here on the yeast genome (no released genobert-dna found)"))
    else:
        files = write_demo_data(os.path.join(out, "data"), seed)
        what = "SIMULATED data (genobert.simulate): motifs whose order and spacing decide the label"
    log(f"genobert demo on {what}; writing to {out}")
    if real and release:
        log("1/5 using the released pretrained model (no pretraining needed) ...")
        pre, settings = release.path, REAL_FINETUNE
    else:
        log("1/5 pretraining a tiny BERT by masked-language modelling ...")
        pre = pretrain(files["genome"], os.path.join(out, "pretrained"), seed=seed, overwrite=True, **PRETRAIN)
        settings = FINETUNE
    preset = json.load(open(os.path.join(pre, "genobert.json")))["preset"]
    results, curves, chosen = {}, {}, {}
    for name, init in (("bert-pretrained", pre), ("bert-scratch", "scratch")):
        extra = {"preset": preset} if init == "scratch" else {}
        if os.path.isfile(os.path.join(out, name, "genobert.json")):  # an older demo's model, one rate
            shutil.rmtree(os.path.join(out, name))
        models, tried = {}, {}
        for lr in LRS:
            log(f"{'2' if init != 'scratch' else '3'}/5 fine-tuning {name} at learning rate {lr:g} ...")
            models[lr] = finetune(files["train"], os.path.join(out, name, f"lr{lr:g}"), valid=files["valid"],
                                  test=files["test"], init=init, seed=seed, overwrite=True, lr=lr,
                                  **{**settings, **extra})
            tried[lr] = json.load(open(os.path.join(models[lr], "metrics.json")))
        lr = max(LRS, key=lambda r: tried[r]["valid"]["mcc"])  # the first of ties
        chosen[name], results[name], curves[name] = (lr, models[lr]), tried[lr]["test"], tried[lr]["valid_curve"]
        log(f"    {name}: learning rate {lr:g} kept (validation MCC "
            + ", ".join(f"{tried[r]['valid']['mcc']:.3f} at {r:g}" for r in LRS) + ")")
    log("4/5 fitting the k-mer baseline (k-mer counts + logistic regression) ...")
    _, seqs, labels, _ = read_labelled(files["train"], "dna")
    names = label_names(labels)
    y = np.asarray([names.index(lab) for lab in labels])
    if files["valid"]:
        _, vseqs, vlabels, _ = read_labelled(files["valid"], "dna")
        train, valid = Split(seqs, y), Split(vseqs, np.asarray([names.index(v) for v in vlabels]))
    else:
        cut = int(0.9 * len(seqs))
        train, valid = Split(seqs[:cut], y[:cut]), Split(seqs[cut:], y[cut:])
    kmer = KmerLR(alphabet="dna", seed=seed).fit(train, valid)
    _, tseqs, tlabels, _ = read_labelled(files["test"], "dna")
    ty = np.asarray([names.index(t) for t in tlabels])
    results["kmer-lr"] = classification_metrics(kmer.predict_proba(tseqs), ty)
    log("5/5 classifying the test file with the pretrained model ...")
    pred = os.path.join(out, "predictions.tsv")
    log(write_classification(chosen["bert-pretrained"][1], files["test"], pred, quiet=True))
    log("")
    log(f"test set ({len(ty)} sequences, {what}):")
    log(f"{'method':<18}{'accuracy':>10}{'MCC':>8}")
    for name, m in results.items():
        log(f"{name:<18}{m['accuracy']:>10.3f}{m['mcc']:>8.3f}")
    log("One seed on one split: differences of a few MCC points are within seed-to-seed noise. "
        "`genobert bench` compares methods over seeds, paired, with a 95 % interval.")
    plot = _plot(curves, os.path.join(out, "curves.png"))
    if plot:
        log(f"validation MCC per epoch (pretrained solid, scratch dashed): {plot}")
    else:
        log("no plot drawn: matplotlib is not installed (pip install -e '.[plot]' adds it)")
    write_json(os.path.join(out, "demo.json"), {"data": what, "seed": seed, "test": results,
                                                "lr": {n: lr for n, (lr, _) in chosen.items()}})
    return results


def _plot(curves: dict, path: str) -> str | None:
    """Validation MCC against epoch, pretrained and scratch (the training loss is too noisy to
    tell them apart)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, style in (("bert-pretrained", "-o"), ("bert-scratch", "--s")):
        ax.plot([p["epoch"] for p in curves[name]], [p["mcc"] for p in curves[name]], style, label=name)
    ax.set(xlabel="epoch", ylabel="validation MCC", title="fine-tuning: pretrained vs random init")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

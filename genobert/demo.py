"""`genobert demo`: the whole story in a few minutes on a CPU, with no network and no data.

Pretrain a tiny BERT on a simulated genome, fine-tune it and the same BERT from scratch, fit the
k-mer baseline, print the comparison, draw the fine-tuning curves and classify a file. The data
are simulated (see `genobert.simulate`); with ``data_dir`` it runs on a real task instead (E. coli
promoters, pretrained on the yeast genome).
"""

from __future__ import annotations

import json
import os

import numpy as np

from .baselines import KmerLR, Split
from .errors import InputError
from .infer import write_classification
from .simulate import write_demo_data
from .tasks import classification_metrics
from .train import finetune, label_names, pretrain, read_labelled

PRETRAIN = dict(preset="tiny", seq_len=128, max_steps=200, batch_size=32, lr=2e-3, save_steps=200,
                logging_steps=20)
FINETUNE = dict(preset="tiny", tokenizer="char", alphabet="dna", max_len=128, epochs=12,
                batch_size=32, lr=1e-3, patience=12)


def _real_data(data_dir: str) -> dict[str, str]:
    paths = {"genome": "pretrain_dna_genomes/Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz",
             "train": "dna_ecoli_promoter_ipromoter2l/train.tsv", "valid": None,
             "test": "dna_ecoli_promoter_ipromoter2l/test.tsv"}
    out = {}
    for key, rel in paths.items():
        if rel is None:
            out[key] = None
            continue
        out[key] = os.path.join(data_dir, rel)
        if not os.path.isfile(out[key]):
            raise InputError("missing; the real demo needs the E. coli promoter task and the yeast "
                             "genome (see `genobert data list`)", path=out[key])
    return out


def run_demo(out: str, *, data_dir: str | None = None, seed: int = 0, log=print) -> dict:
    """Run the demo into ``out``; returns the test metrics per method."""
    os.makedirs(out, exist_ok=True)
    if data_dir:
        files, what = _real_data(data_dir), "REAL data: E. coli promoters (iPromoter-2L), pretrained on the yeast genome"
    else:
        files, what = write_demo_data(os.path.join(out, "data"), seed), "SIMULATED data (genobert.simulate)"
    log(f"genobert demo on {what}; writing to {out}")
    log("1/5 pretraining a tiny BERT by masked-language modelling ...")
    pre = pretrain(files["genome"], os.path.join(out, "pretrained"), seed=seed, **PRETRAIN)
    results, curves = {}, {}
    for name, init in (("bert-pretrained", pre), ("bert-scratch", "scratch")):
        log(f"{'2' if init != 'scratch' else '3'}/5 fine-tuning {name} ...")
        model = finetune(files["train"], os.path.join(out, name), valid=files["valid"], test=files["test"],
                         init=init, seed=seed, **FINETUNE)
        metrics = json.load(open(os.path.join(model, "metrics.json")))
        results[name], curves[name] = metrics["test"], metrics["loss_curve"]
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
    log(write_classification(os.path.join(out, "bert-pretrained"), files["test"], pred, quiet=True))
    log("")
    log(f"test set ({len(ty)} sequences, {what}):")
    log(f"{'method':<18}{'accuracy':>10}{'MCC':>8}")
    for name, m in results.items():
        log(f"{name:<18}{m['accuracy']:>10.3f}{m['mcc']:>8.3f}")
    plot = _plot(curves, os.path.join(out, "curves.png"))
    if plot:
        log(f"fine-tuning loss curves (pretrained solid, scratch dashed): {plot}")
    with open(os.path.join(out, "demo.json"), "w") as f:
        json.dump({"data": what, "seed": seed, "test": results}, f, indent=2)
    return results


def _plot(curves: dict, path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, style in (("bert-pretrained", "-"), ("bert-scratch", "--")):
        ax.plot([p["step"] for p in curves[name]], [p["loss"] for p in curves[name]], style, label=name)
    ax.set(xlabel="step", ylabel="training loss", title="fine-tuning: pretrained vs random init")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

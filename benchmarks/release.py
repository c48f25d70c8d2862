"""Pretrain a released model (genobert-dna, genobert-protein) and publish it under models/NAME.

    # train, on a CPU-time budget (the learning rate follows the clock and ends at 0 there)
    python benchmarks/release.py train dna --data-dir ../shared/data --out runs/release-dna --minutes 110
    # continue from the committed weights (new optimizer, fresh schedule, tokens seen added up)
    python benchmarks/release.py train dna --data-dir ../shared/data --out runs/release-dna-2 \\
        --minutes 110 --init models/genobert-dna
    # copy the safetensors + JSON files (nothing else) into the repository
    python benchmarks/release.py publish runs/release-dna models/genobert-dna

The corpus is every file of the alphabet's pretraining folder, cleaned of every test sequence of
every labelled data set in the data folder (`*test*.tsv` of each ``dna_*`` / ``prot_*`` task and
the test pairs of both PPI splits), by `genobert.decontaminate`. The recipe is `RECIPES` below;
docs/PRETRAINING.md says why.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from host import cpu_name  # noqa: E402

# One recipe per alphabet. Sizing: on this project's 2-core Xeon (AMX, bf16 autocast) a 4 x 256
# BERT trains at ~10,800 tokens/s per core, so 2 core-hours are ~80 M tokens: about Chinchilla's
# 20 tokens per parameter for its 3.5 M parameters. Dropout off as in Cramming (a short budget
# underfits); windows of 256 tokens, the fine-tuning window of the benchmark's CPU profile.
RECIPES = {
    "dna": dict(preset="mini", tokenizer="char", alphabet="dna", seq_len=256, batch_size=64,
                lr=1e-3, warmup=0.06, mask_rate=0.15, dropout=0.0, precision="bf16"),
    "protein": dict(preset="mini", tokenizer="char", alphabet="protein", seq_len=256, batch_size=64,
                    lr=1e-3, warmup=0.06, mask_rate=0.15, dropout=0.0, precision="bf16"),
}
CORPORA = {"dna": "pretrain_dna_genomes", "protein": "pretrain_protein_uniprot_proteomes"}
TASK_PREFIX = {"dna": "dna_", "protein": "prot_"}
RELEASE_FILES = (".json", ".safetensors")  # a released directory holds nothing else
SKIP = ("log_history.json", "metrics.json")


def test_sequences(data_dir: str, alphabet: str) -> tuple[set[str], list[str]]:
    """Every test sequence of the labelled data sets of ``alphabet`` (upper case), and the files."""
    files = sorted(glob.glob(os.path.join(data_dir, TASK_PREFIX[alphabet] + "*", "*test*.tsv")))
    seqs: set[str] = set()
    for path in files:
        with open(path, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                seqs.update(v.upper() for k, v in row.items() if k and k.startswith("sequence") and v)
    if alphabet == "protein":
        from genobert.derived import ppi_random, ppi_unseen

        with tempfile.TemporaryDirectory() as tmp:
            for name, build in (("ppi_random", ppi_random), ("ppi_unseen", ppi_unseen)):
                with open(build(data_dir, os.path.join(tmp, name))["test"], newline="") as f:
                    for row in csv.DictReader(f, delimiter="\t"):
                        seqs.update((row["sequence_a"].upper(), row["sequence_b"].upper()))
                files.append(f"pair_ppi_yeast_guo2008 ({name} test pairs)")
    return seqs, [os.path.relpath(f, data_dir) if os.path.exists(f) else f for f in files]


def _git(*args: str) -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True).stdout.strip()


def run_recipe(args: argparse.Namespace) -> dict:
    """The settings `train` passes to `pretrain`: the alphabet's recipe, with --arch, --lr and
    --warmup where given, less what a model continued with --init brings itself."""
    recipe = dict(RECIPES[args.alphabet], arch=args.arch)
    recipe.update({k: v for k, v in (("lr", args.lr), ("warmup", args.warmup)) if v is not None})
    if args.init:
        for key in ("preset", "tokenizer", "alphabet", "arch"):
            recipe.pop(key)  # the model brings them
    return recipe


def train(args: argparse.Namespace) -> None:
    import torch

    from genobert.train import pretrain

    torch.set_num_threads(args.threads)
    recipe = run_recipe(args)
    corpus = sorted(glob.glob(os.path.join(args.data_dir, CORPORA[args.alphabet], "*.gz")))
    exclude, test_files = test_sequences(args.data_dir, args.alphabet)
    # steps: an upper bound the clock will stop well before (~2x this host's measured rate)
    upper = int(args.minutes * 60 * 22_000 / (recipe["batch_size"] * recipe["seq_len"])) + 100
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    commit, dirty = _git("rev-parse", "HEAD"), bool(_git("status", "--porcelain", "--untracked-files=no"))
    out = pretrain(corpus, args.out, **recipe, init=args.init, max_steps=upper,
                   time_budget=args.minutes * 60, eval_steps=args.eval_steps, save_steps=args.save_steps,
                   exclude=exclude, seed=args.seed)
    path = os.path.join(out, "genobert.json")
    meta = json.load(open(path))
    meta["release"] = {
        "command": "python " + " ".join([os.path.relpath(__file__)] + sys.argv[1:]),
        "commit": commit, "dirty": dirty,  # the code that trained it: read at the start
        "started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": cpu_name(), "threads": args.threads, "nice": os.nice(0), "recipe": recipe,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "test_files_removed": test_files, "test_sequences": len(exclude)}
    with open(path + ".part", "w") as f:
        json.dump(meta, f, indent=2)
    os.replace(path + ".part", path)
    curve = meta["training"]["heldout"]["curve"]
    print(f"{out}: {meta['training']['tokens_seen']:,} tokens seen, held-out "
          f"{curve[-1]['bits_per_letter']:.4f} bits/letter" if curve else out)


def publish(args: argparse.Namespace) -> None:
    from genobert.io import file_sha256
    from genobert.registry import meta_sha256

    names = sorted(n for n in os.listdir(args.source) if n.endswith(RELEASE_FILES) and n not in SKIP)
    if "genobert.json" not in names or "model.safetensors" not in names:
        sys.exit(f"release.py: {args.source}: not a finished model directory (no genobert.json)")
    if os.path.exists(args.dest) and not args.replace:
        sys.exit(f"release.py: {args.dest} exists; pass --replace to swap in the new release")
    tmp = args.dest.rstrip("/") + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in names:
        shutil.copyfile(os.path.join(args.source, name), os.path.join(tmp, name))
    meta_path = os.path.join(tmp, "genobert.json")
    meta = json.load(open(meta_path))  # the sums `genobert models` verifies against
    meta.setdefault("release", {})["files"] = {n: file_sha256(os.path.join(tmp, n)) for n in names
                                               if n != "genobert.json"}
    meta["release"]["meta_sha256"] = meta_sha256(meta)  # last: the file's own content, checked too
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=2)
    if os.path.exists(args.dest):
        old = args.dest.rstrip("/") + ".old"
        os.replace(args.dest, old)
        os.replace(tmp, args.dest)
        shutil.rmtree(old)
    else:
        os.replace(tmp, args.dest)
    size = sum(os.path.getsize(os.path.join(args.dest, n)) for n in names)
    print(f"{args.dest}: {', '.join(names)} ({size / 1e6:.1f} MB)")


def card(args: argparse.Namespace) -> None:
    """The model card facts of a released directory, as Markdown (docs quote this output)."""
    meta = json.load(open(os.path.join(args.model, "genobert.json")))
    t, rel = meta["training"], meta.get("release", {})
    corpus, decon = t["corpus"], t["corpus"].get("decontamination") or {}
    metrics = t.get("metrics", {})
    lines = [f"- model: `{args.model}`, {meta['preset']} ({os.path.getsize(os.path.join(args.model, 'model.safetensors')) / 1e6:.1f} MB "
             f"safetensors), tokenizer {corpus['tokenizer']}, alphabet {meta['alphabet']}, window {meta['window']}",
             f"- command: `{rel.get('command')}` at commit {rel.get('commit', '?')[:12]}"
             + (" (uncommitted changes)" if rel.get("dirty") else ""),
             f"- host: {rel.get('host')}, {rel.get('threads')} thread(s), nice {rel.get('nice', '?')}, load "
             f"average at the end {rel.get('load_average_at_end', '?')} (the machine was shared); "
             f"{rel.get('started')} to {rel.get('finished')}",
             f"- corpus: {len(corpus['files'])} files, {corpus['letters']:,} letters"
             + (f" (identical records kept once: {dup['records']:,} copies, {dup['letters']:,} letters, dropped)"
                if (dup := corpus.get("duplicates") or {}).get("records") else "") + "; removed as test "
             f"overlap: {decon.get('letters_removed', 0):,} letters ({100 * decon.get('letters_removed_fraction', 0):.2f} %)"
             + (f", {decon.get('records_dropped', 0):,} records dropped" if decon.get("records_dropped") else "")
             + f", against {rel.get('test_sequences', 0):,} test sequences of {len(rel.get('test_files_removed', []))} test sets",
             f"- trained: {t['steps']:,} steps ({t['stopped']}), {t['tokens_seen']:,} tokens seen "
             f"({t['tokens_seen_this_run']:,} in this run, {t['passes']:.2f} passes over the training part), "
             f"{metrics.get('tokens_per_second', 0):,.0f} tokens/s",
             f"- held-out: {t['heldout']['tokens']:,} tokens ({100 * t['heldout']['fraction']:.0f} % of the corpus, "
             f"{t['heldout']['windows']} fixed windows scored)", "",
             "| step | tokens seen | held-out MLM loss (nats) | bits per letter |", "|---:|---:|---:|---:|"]
    curve = t["heldout"]["curve"]
    for i in sorted({round(x * (len(curve) - 1) / 11) for x in range(12)}) if curve else []:
        c = curve[i]
        lines.append(f"| {c['step']:,} | {c['tokens_seen']:,} | {c['loss']:.4f} | {c['bits_per_letter']:.4f} |")
    print("\n".join(lines))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("alphabet", choices=sorted(RECIPES))
    t.add_argument("--data-dir", default="../shared/data")
    t.add_argument("--out", required=True)
    t.add_argument("--minutes", type=float, default=120)
    t.add_argument("--init", help="continue from this released model directory")
    t.add_argument("--arch", default="bert", choices=["bert", "modernbert"],
                   help="modernbert: the recipe study's lowest held-out loss at equal time (docs/PRETRAINING.md)")
    t.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's 1e-3); a continuation "
                   "(--init) may want less, as its warmup to the full peak undoes early progress (PRETRAINING.md)")
    t.add_argument("--warmup", type=float, help="share of the budget spent warming up (default: the recipe's 0.06)")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--eval-steps", type=int, default=250)
    t.add_argument("--save-steps", type=int, default=1000)
    t.add_argument("--seed", type=int, default=0)

    q = sub.add_parser("publish")
    q.add_argument("source", help="the finished run directory")
    q.add_argument("dest")
    q.add_argument("--replace", action="store_true")
    c = sub.add_parser("card", help="print a released model's facts as Markdown")
    c.add_argument("model")
    return p


def main() -> None:
    args = parser().parse_args()
    {"publish": publish, "card": card, "train": train}[args.cmd](args)


if __name__ == "__main__":
    main()

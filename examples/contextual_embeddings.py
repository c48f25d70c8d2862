"""The lecture's "apple" example in DNA: the same k-mer gets different vectors in different contexts.

    python examples/contextual_embeddings.py [MODEL] [--out contextual.png] [--seed 0]

MODEL is any genobert DNA model (pretrained or fine-tuned; char or overlapping k-mer
tokenizer): the released `genobert-dna` by default, or a directory such as a `runs/pre`. The script writes 12 simulated
120-bp sequences (seeded) that all hold TATAAT (the bacterial -10 box) at position 60, in three
kinds of surroundings, four of each: AT-rich flanks, GC-rich flanks, and random flanks with the
-35 box TTGACA 17 bp upstream (a promoter-like context). It embeds them with
``embed --pooling tokens`` at the input layer (``--layer 0``) and the last layer, takes the
vector of the motif (its six letters averaged, or the one k-mer token that starts it), and prints
the cosine similarity of every pair of sequences; with matplotlib it draws both as heatmaps.

What it shows: at layer 0 every copy of the motif has the same vector (similarity 1.000 to
rounding: the input embedding of a token ignores its neighbours, like a word2vec vector), while
at the last layer the vectors differ and group by context, which is what "contextual" means.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

MOTIF, BOX35, AT = "TATAAT", "TTGACA", 60


def contexts(seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)

    def flank(n, probs):
        return "".join(rng.choice(list("ACGT"), n, p=probs))

    seqs = []
    for kind, probs in (("AT-rich", [0.4, 0.1, 0.1, 0.4]), ("GC-rich", [0.1, 0.4, 0.4, 0.1]),
                        ("-35 box", [0.25] * 4)):
        for i in range(4):
            left, right = flank(AT, probs), flank(120 - AT - len(MOTIF), probs)
            if kind == "-35 box":
                start = AT - 17 - len(BOX35)
                left = left[:start] + BOX35 + left[start + len(BOX35):]
            seqs.append((f"{kind}_{i}", left + MOTIF + right))
    return seqs


def motif_vectors(model_dir: str, fasta: str, layer: int) -> np.ndarray:
    from genobert.infer import embed
    from genobert.tokenize import load_tokenizer

    spec = load_tokenizer(model_dir).spec
    vectors = []
    for _, _, tokens in embed(model_dir, fasta, pooling="tokens", layer=layer):
        if spec.kind == "char":
            vectors.append(tokens[AT: AT + len(MOTIF)].mean(0))
        elif spec.kind == "kmer" and spec.stride == 1:
            vectors.append(tokens[AT])  # the k-mer that starts at the motif
        else:
            raise SystemExit(f"this example needs a char or overlapping k-mer model, not {spec}")
    v = np.stack(vectors)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="genobert-dna",
                    help="a DNA model directory or released name (default: genobert-dna)")
    ap.add_argument("--out", default="contextual.png")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    seqs = contexts(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        fasta = os.path.join(tmp, "contexts.fa")
        with open(fasta, "w") as f:
            f.writelines(f">{name}\n{seq}\n" for name, seq in seqs)
        from genobert.registry import resolve

        model = resolve(args.model)
        sims = {layer: motif_vectors(model, fasta, layer) for layer in (0, -1)}
    sims = {layer: v @ v.T for layer, v in sims.items()}
    names = [n for n, _ in seqs]
    groups = [n.rsplit("_", 1)[0] for n in names]
    same = np.equal.outer(groups, groups) & ~np.eye(len(names), dtype=bool)
    other = ~np.equal.outer(groups, groups)
    for layer, s in sims.items():
        label = "layer 0 (input embeddings)" if layer == 0 else "last layer"
        print(f"{label}: cosine similarity of the {MOTIF} vectors, min {s.min():.4f}, "
              f"same context {s[same].mean():.4f}, different contexts {s[other].mean():.4f}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for the heatmaps)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (layer, s) in zip(axes, sims.items(), strict=True):
        im = ax.imshow(s, vmin=min(0.0, s.min()), vmax=1, cmap="viridis")
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_title(f"{MOTIF} vectors, {'layer 0' if layer == 0 else 'last layer'}: cosine")
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(f"{args.model}: the same 6-mer in 12 simulated contexts")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"heatmaps written to {args.out}")


if __name__ == "__main__":
    main()

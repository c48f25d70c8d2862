"""Converters: a dataset's upstream files, as downloaded at their pinned commits, into its TSVs.

One short function per dataset, registered by name in `CONVERTERS`. Each reads the folder of
upstream files (laid out by their paths in the upstream repository) and writes the files of the
dataset's manifest into ``out``; `genobert data fetch` checks every written file's sha256 against
the manifest before it keeps any. What each one does is told in SOURCES.md (the dataset's
"Modification" and "Split" lines) and in the manifest's ``split`` field.

    CONVERTERS["dna_ecoli_promoter_ipromoter2l"](upstream_dir, out_dir)
"""

from __future__ import annotations

import random
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .io import read_fasta_titles, write_text

Row = tuple[str, ...]
Converter = Callable[[Path, Path], None]
CONVERTERS: dict[str, Converter] = {}


def converter(name: str) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        CONVERTERS[name] = fn
        return fn
    return register


# --------------------------------------------------------------------------- helpers


def fasta(path: Path) -> list[tuple[str, str]]:
    """``(header, SEQUENCE)`` per record, letters upper-cased."""
    return [(title, seq.upper()) for title, seq in read_fasta_titles(path)]


def lines(path: Path) -> list[str]:
    """The non-empty lines of a file of one sequence a line, upper-cased."""
    return [line.strip().upper() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def table(path: Path) -> list[Row]:
    """The rows of a tab-separated file without a header, as written."""
    return [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines() if line]


def first_word(title: str) -> str:
    return title.split(None, 1)[0]


def labelled(path: Path, label: str, prefix: str = "", name: Callable[[str], str] = first_word) -> list[Row]:
    """``(prefix + name(header), sequence, label)`` per record of a FASTA file."""
    return [(prefix + name(title), seq, label) for title, seq in fasta(path)]


def write_tsv(path: Path, header: Iterable[str], rows: Iterable[Row]) -> None:
    write_text(path, "".join("\t".join(r) + "\n" for r in [tuple(header), *rows]))


def flag_in_train(test: list[Row], train: list[Row]) -> list[Row]:
    """Add ``in_train_exact`` (1 when the row's sequence also occurs in ``train``)."""
    seen = {r[1] for r in train}
    return [(*r, str(int(r[1] in seen))) for r in test]


def split_grouped(rows: list[Row], *, seed: int = 42, test_fraction: float = 0.2,
                  group: Callable[[Row], str | tuple] = lambda r: r[1],
                  label: Callable[[Row], str] = lambda r: r[2]) -> tuple[list[Row], list[Row]]:
    """Our stratified split ("*ours*" in SOURCES.md) as ``(train, test)``, rows in input order.

    Per label in sorted order, the label's distinct groups (sequences by default), sorted, are
    shuffled by one ``random.Random(seed)`` shared by all labels, and the first
    ``round(test_fraction * groups)`` of them go to test: identical sequences of a label stay
    together.
    """
    rng = random.Random(seed)
    test_groups = set()
    for lab in sorted({label(r) for r in rows}):
        groups = sorted({group(r) for r in rows if label(r) == lab})
        rng.shuffle(groups)
        test_groups.update((lab, g) for g in groups[:round(test_fraction * len(groups))])
    test = [r for r in rows if (label(r), group(r)) in test_groups]
    train = [r for r in rows if (label(r), group(r)) not in test_groups]
    return train, test


BINARY = ("id", "sequence", "label")


# --------------------------------------------------------------------------- DNA


@converter("dna_ecoli_promoter_ipromoter2l")
def ecoli_promoter(src: Path, out: Path) -> None:
    bench = src / "Dataset/Benchmark_dataset"
    pos = labelled(bench / "promoter_and_non-promoter/positive2860.txt", "1",
                   name=lambda title: title.split("_", 1)[0])  # ECK125137714_aaeBp3_... -> ECK125137714
    neg = labelled(bench / "promoter_and_non-promoter/negative2860.txt", "0", "neg_",
                   name=lambda title: re.sub(r"[^A-Za-z0-9]+", "_", title))  # Escherichia coli K-12 ...
    train, test = split_grouped(pos + neg)
    write_tsv(out / "train.tsv", BINARY, train)
    write_tsv(out / "test.tsv", BINARY, test)
    sigma: dict[str, list[str]] = {}  # by sequence: 2 identical positives carry sigma54 and sigma70
    for s in (24, 28, 32, 38, 54, 70):
        for _, seq in fasta(bench / f"sigma_subtypes/sigma{s}promoter.txt"):
            sigma.setdefault(seq, []).append(f"sigma{s}")
    write_tsv(out / "positives_sigma_subtype.tsv", BINARY,
              [(rid, seq, "|".join(sigma[seq])) for rid, seq, _ in pos])
    ind = fasta(src / "Dataset/Independent_test_dataset/independent.txt")
    write_tsv(out / "independent_positives_only.tsv", BINARY,
              [(f"ind_{i}", seq, f"sigma{title}") for i, (title, seq) in enumerate(ind)])


@converter("dna_human_tata_promoter_epd")
def human_tata(src: Path, out: Path) -> None:
    folder = src / "data/promoters"
    # one sequence a line; positives (300 nt) cropped to their last 280 nt, the negatives' length
    pos = [(f"pos_{i}", seq[-280:], "1") for i, seq in enumerate(lines(folder / "TATAprom_pos.txt"))]
    neg = [(f"neg_{i}", seq, "0") for i, seq in enumerate(lines(folder / "TATAprom_neg.txt"))]
    train, test = split_grouped(pos + neg)
    write_tsv(out / "train.tsv", BINARY, train)
    write_tsv(out / "test.tsv", BINARY, test)


CNNPROM = {  # sub-task: (promoters, non-promoters) in dataset/
    "arabidopsis_nontata": ("Arabidopsis_non_tata", "Arabidopsis_non_prom_big"),
    "arabidopsis_tata": ("Arabidopsis_tata", "Arabidopsis_non_prom"),
    "mouse_tata": ("Mouse_tata", "Mouse_nonprom"),
    "bsubtilis": ("Bacillus_prom", "Bacillus_non_prom"),
    "ecoli_sigma70": ("Ecoli_prom", "Ecoli_non_prom"),
}


@converter("dna_promoter_cnnprom_umarov2017")
def cnnprom(src: Path, out: Path) -> None:
    for task, (prom, nonprom) in CNNPROM.items():  # ids: sub-task, class, record index
        rows = [(f"{task}_{kind}_{i}", seq, label)
                for kind, label, name in (("pos", "1", prom), ("neg", "0", nonprom))
                for i, (_, seq) in enumerate(fasta(src / f"dataset/{name}.fa"))]
        train, test = split_grouped(rows)
        write_tsv(out / f"{task}_train.tsv", BINARY, train)
        write_tsv(out / f"{task}_test.tsv", BINARY, test)


@converter("dna_enhancer_ienhancer_liu2016")
def enhancer(src: Path, out: Path) -> None:
    layers = {"layer1_enhancer_vs_non": ("layer1/enhancer.{}.txt", "layer1/non.{}.txt", "cv", "ind"),
              "layer2_strong_vs_weak": ("layer2/strong_{}.txt", "layer2/weak_{}.txt", "742", "100")}
    for stem, (pos, neg, tr, te) in layers.items():
        train, test = ([*labelled(src / "data" / pos.format(part), "1"),
                        *labelled(src / "data" / neg.format(part), "0")] for part in (tr, te))
        write_tsv(out / f"{stem}_train.tsv", BINARY, train)
        write_tsv(out / f"{stem}_test.tsv", (*BINARY, "in_train_exact"), flag_in_train(test, train))


# --------------------------------------------------------------------------- protein


@converter("prot_antimicrobial_peptide_veltri2018")
def antimicrobial(src: Path, out: Path) -> None:
    for split, part in (("train", "tr"), ("valid", "eval"), ("test", "te")):
        rows = labelled(src / f"data/AMP.{part}.fa", "1") + labelled(src / f"data/DECOY.{part}.fa", "0")
        write_tsv(out / f"{split}.tsv", BINARY, rows)


@converter("prot_antiinflammatory_peptide_aippred")
def antiinflammatory(src: Path, out: Path) -> None:
    for split, part in (("train", "benchmarking"), ("test", "Ind")):
        rows = (labelled(src / f"data/AIP/{part}-positive.txt", "1", "pos")
                + labelled(src / f"data/AIP/{part}-negative.txt", "0", "neg"))
        write_tsv(out / f"{split}.tsv", BINARY, rows)


@converter("prot_dna_binding_targetdbp")
def dna_binding(src: Path, out: Path) -> None:
    def part(stem: str) -> list[Row]:
        return (labelled(src / f"dataset/{stem}-posi.fasta", "1")
                + labelled(src / f"dataset/{stem}-nega.fasta", "0"))

    train = part("UniSwiss-Tr")
    write_tsv(out / "train.tsv", BINARY, train)
    for name, stem in (("test", "UniSwiss-Tst"), ("test_pdb", "modified-Stst")):
        write_tsv(out / f"{name}.tsv", (*BINARY, "in_train_exact"), flag_in_train(part(stem), train))


def flip_sets(zip_path: Path, folder: Path, *members: str) -> dict[str, list[Row]]:
    """FLIP's ``sampled`` split as ``{"train"|"valid"|"test": rows}``: each row is the id, then
    the record of that id in each member (e.g. ``sequences``), then its label string from
    ``sampled.fasta`` (whose header says ``SET=train|test VALIDATION=True|False``)."""
    with zipfile.ZipFile(zip_path) as z:  # only these named members are read, to names of ours
        for member in ("sampled", *members):
            (folder / f"{member}.fasta").write_bytes(z.read(f"splits/{member}.fasta"))
    by_id = [dict((first_word(t), seq) for t, seq in fasta(folder / f"{m}.fasta")) for m in members]
    sets: dict[str, list[Row]] = {"train": [], "valid": [], "test": []}
    for title, labels in fasta(folder / "sampled.fasta"):
        rid, attrs = title.split(None, 1)
        attr = dict(a.split("=", 1) for a in attrs.split())
        name = "valid" if attr["VALIDATION"] == "True" else attr["SET"]
        sets[name].append((rid, *(d[rid] for d in by_id), labels))
    return sets


@converter("prot_ss3_flip_netsurfp")
def secondary_structure(src: Path, out: Path) -> None:
    folder = src / "splits/secondary_structure"
    for name, rows in flip_sets(folder / "splits.zip", folder, "sequences", "mask").items():
        write_tsv(out / f"{name}.tsv", ("id", "sequence", "ss3", "resolved_mask"),
                  [(rid, seq, ss3, mask) for rid, seq, mask, ss3 in rows])  # label string last


@converter("prot_conservation_flip")
def conservation(src: Path, out: Path) -> None:
    folder = src / "splits/conservation"
    for name, rows in flip_sets(folder / "splits.zip", folder, "sequences").items():
        write_tsv(out / f"{name}.tsv", ("id", "sequence", "conservation_class"), rows)


@converter("pair_ppi_yeast_guo2008")
def yeast_ppi(src: Path, out: Path) -> None:
    folder = src / "yeast/preprocessed"
    write_tsv(out / "proteins.tsv", ("protein_id", "sequence"), table(folder / "protein.dictionary.tsv"))
    pairs = table(folder / "protein.actions.tsv")
    _, test = split_grouped(pairs, group=lambda r: tuple(sorted(r[:2])))
    test_set = set(test)
    write_tsv(out / "pairs.tsv", ("protein_a", "protein_b", "label", "split_random_pair_seed42"),
              [(*r, "test" if r in test_set else "train") for r in pairs])


@converter("prot_localization_deeploc_partial")
def localization(src: Path, out: Path) -> None:
    for name, stem in (("deeploc1_test", "deeploc_test_set"), ("lightattention_valid", "deeploc_our_val_set"),
                       ("setHARD_test", "setHARD")):
        rows = []
        for title, seq in fasta(src / f"data_files/{stem}.fasta"):
            rid, label = title.split()[:2]  # Q9H400 Cell.membrane-M test
            location, membrane = label.rsplit("-", 1)
            rows.append((rid, seq, location, membrane))
        write_tsv(out / f"{name}.tsv", ("id", "sequence", "location", "membrane"), rows)

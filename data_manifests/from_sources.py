"""Write one manifest per dataset from SOURCES.md and the files beside it (maintainers only).

    python data_manifests/from_sources.py ../shared/data [MIRRORS]

Every file's sha256, size and record count are taken from SOURCES.md and checked against the real
file before anything is written. Files copied byte-for-byte from a public repository get a `url`
that `genobert data fetch` downloads. The datasets converted from upstream files (FASTA -> TSV) get
an `upstream` list (repo, commit, path, sha256, bytes) of the files their converter in
`genobert/convert.py` reads; the sums are read from MIRRORS (bare git snapshots,
MIRRORS/OWNER+REPO/repo) when given, else kept from the manifest being replaced.
`check_converters.py` proves the converters rebuild every TSV byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

from check_converters import mirror_blob

# files copied byte for byte: where `genobert data fetch` downloads them from
RAW = "https://raw.githubusercontent.com"
BYTE_COPIES = {
    "pretrain_dna_genomes/Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz":
        f"{RAW}/rpolicastro/yeast_data/d7220d4f5b7cbc481be814623a8b02a2c9468d3a/genome/"
        "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz",
}
PROTEOMES = f"{RAW}/skinnider/CFdb-searches/1f84d40a997bfa8d8808a4e5cab9c201422976f3/data/fasta/filtered/"

# the upstream files each converter reads (repo and commit come from the "Source repo" line)
UPSTREAM_PATHS = {
    "dna_ecoli_promoter_ipromoter2l": [
        "Dataset/Benchmark_dataset/promoter_and_non-promoter/positive2860.txt",
        "Dataset/Benchmark_dataset/promoter_and_non-promoter/negative2860.txt",
        *(f"Dataset/Benchmark_dataset/sigma_subtypes/sigma{s}promoter.txt" for s in (24, 28, 32, 38, 54, 70)),
        "Dataset/Independent_test_dataset/independent.txt"],
    "dna_human_tata_promoter_epd": ["data/promoters/TATAprom_pos.txt", "data/promoters/TATAprom_neg.txt"],
    "dna_promoter_cnnprom_umarov2017": [f"dataset/{name}.fa" for name in (
        "Arabidopsis_non_tata", "Arabidopsis_non_prom_big", "Arabidopsis_tata", "Arabidopsis_non_prom",
        "Mouse_tata", "Mouse_nonprom", "Bacillus_prom", "Bacillus_non_prom", "Ecoli_prom", "Ecoli_non_prom")],
    "dna_enhancer_ienhancer_liu2016": [
        *(f"data/layer1/{kind}.{part}.txt" for kind in ("enhancer", "non") for part in ("cv", "ind")),
        *(f"data/layer2/{kind}_{n}.txt" for kind in ("strong", "weak") for n in (742, 100))],
    "prot_dna_binding_targetdbp": [f"dataset/{stem}-{kind}.fasta" for stem in (
        "UniSwiss-Tr", "UniSwiss-Tst", "modified-Stst") for kind in ("posi", "nega")],
    "prot_ss3_flip_netsurfp": ["splits/secondary_structure/splits.zip"],
    "prot_conservation_flip": ["splits/conservation/splits.zip"],
    "pair_ppi_yeast_guo2008": ["yeast/preprocessed/protein.actions.tsv", "yeast/preprocessed/protein.dictionary.tsv"],
    "prot_localization_deeploc_partial": [
        f"data_files/{stem}.fasta" for stem in ("deeploc_test_set", "deeploc_our_val_set", "setHARD")],
    "prot_antimicrobial_peptide_veltri2018": [
        f"data/{kind}.{part}.fa" for kind in ("AMP", "DECOY") for part in ("tr", "eval", "te")],
    "prot_antiinflammatory_peptide_aippred": [
        f"data/AIP/{part}-{kind}.txt" for part in ("benchmarking", "Ind") for kind in ("positive", "negative")],
}


def upstream(name: str, source: str, mirrors: Path | None, old: dict) -> list[dict] | None:
    """The ``upstream`` list of a converted dataset: its repo @ commit (the first in ``source``),
    each path with the sha256 and size of the file at that commit."""
    if name not in UPSTREAM_PATHS:
        return None
    repo, commit = re.search(r"`([\w.-]+/[\w.-]+)` @ `([0-9a-f]{40})`", source).groups()
    known = {u["path"]: u for u in old.get("upstream") or [] if (u["repo"], u["commit"]) == (repo, commit)}
    out = []
    for path in UPSTREAM_PATHS[name]:
        if mirrors is not None:
            blob = mirror_blob(mirrors, repo, commit, path)
            sha, size = hashlib.sha256(blob).hexdigest(), len(blob)
        else:
            sha, size = known[path]["sha256"], known[path]["bytes"]
        out.append({"repo": repo, "commit": commit, "path": path, "sha256": sha, "bytes": size})
    return out


def main(data: Path, mirrors: Path | None = None) -> None:
    text = (data / "SOURCES.md").read_text()
    summary = {m.group(1): m.group(2).split(" | ") for m in
               re.finditer(r"^\| (\w+) \| (.+) \|$", text.split("## Datasets")[0], re.M)}
    out_dir = Path(__file__).parent
    for block in text.split("\n### ")[1:]:
        head, body = block.split("\n", 1)
        name, title = head.split(" — ", 1)
        body = body.split("\n## ")[0]
        fields = dict(re.findall(r"^- \*\*([^*]+?)\**:?\*\*:? (.+)$", body, re.M))
        caveats = [b for b in re.findall(r"^- (.+)$", body, re.M)
                   if re.match(r"\*\*(LEAKAGE|NOTE|Note|Modification|Use|Overlap)", b) or b.startswith("A few")]
        files = []
        for m in re.finditer(r"^\| ([\w.\-]+\.(?:tsv|gz)) \| (\d+)(?: \(([\d,]+) residues\))? \| (.*?) \| (.*?) \| (\d+) \| `([0-9a-f]{64})` \|$", body, re.M):
            fname, records, residues, classes, length, size, sha = m.groups()
            path = data / name / fname
            real = hashlib.sha256(path.read_bytes()).hexdigest()
            assert real == sha and path.stat().st_size == int(size), f"{path}: not as SOURCES.md says"
            rel = f"{name}/{fname}"
            url = BYTE_COPIES.get(rel) or (PROTEOMES + fname if name.startswith("pretrain_protein") else None)
            files.append({"name": fname, "sha256": sha, "bytes": int(size), "records": int(records),
                          "residues": int(residues.replace(",", "")) if residues else None,
                          "label_counts": json.loads(classes) if classes.startswith("{") else None,
                          "lengths": length or None, "url": url})
        if not files:  # the pretraining folders list their files in prose and a table without a header row
            continue
        with open(data / name / files[0]["name"], "rb") as f:
            first = f.read(200)
        columns = None if first[:2] == b"\x1f\x8b" else first.split(b"\n")[0].decode().split("\t")
        row = summary.get(name, [])
        manifest = {
            "name": name, "title": title, "kind": row[0] if row else None,
            "level": row[1] if len(row) > 1 else None, "sizes": row[2] if len(row) > 2 else None,
            "classes": row[3] if len(row) > 3 else None, "split": fields.get("Split"),
            "task": fields.get("Task"), "citation": fields.get("Paper") or fields.get("Data origin") or fields.get("Data"),
            "license": fields.get("License as stated") or fields.get("License") or (row[6] if len(row) > 6 else None),
            "source": fields.get("Source repo") or fields.get("Source")
            or " ".join(b for b in re.findall(r"^- (`.+)$", body, re.M)),  # per-file prose bullets
            "published_baselines": next((v for k, v in fields.items() if k.startswith("Published baseline")), None),
            "caveats": caveats, "columns": columns, "files": files,
        }
        old_path = out_dir / f"{name}.json"
        old = json.loads(old_path.read_text()) if old_path.is_file() else {}
        if ups := upstream(name, manifest["source"], mirrors, old):
            manifest["upstream"] = ups
        (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        print(f"{name}: {len(files)} files")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)

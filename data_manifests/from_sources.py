"""Write one manifest per dataset from SOURCES.md and the files beside it (maintainers only).

    python data_manifests/from_sources.py ../shared/data

Every file's sha256, size and record count are taken from SOURCES.md and checked against the real
file before anything is written. Only files copied byte-for-byte from a public repository get a
`url` that `genobert data fetch` can download; the others were converted (FASTA -> TSV, gzipped,
cropped) and list their upstream sources as provenance.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

# files copied byte for byte: where `genobert data fetch` downloads them from
RAW = "https://raw.githubusercontent.com"
BYTE_COPIES = {
    "pretrain_dna_genomes/Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz":
        f"{RAW}/rpolicastro/yeast_data/d7220d4f5b7cbc481be814623a8b02a2c9468d3a/genome/"
        "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz",
}
PROTEOMES = f"{RAW}/skinnider/CFdb-searches/1f84d40a997bfa8d8808a4e5cab9c201422976f3/data/fasta/filtered/"


def main(data: Path) -> None:
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
        (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        print(f"{name}: {len(files)} files")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

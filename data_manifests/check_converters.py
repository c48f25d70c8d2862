"""Prove that each converter rebuilds its dataset byte for byte from the upstream files (maintainers).

    python data_manifests/check_converters.py MIRRORS ../shared/data

MIRRORS holds bare git snapshots of the upstream repositories (MIRRORS/OWNER+REPO/repo). For every
manifest with an `upstream` list, each upstream file is read from its snapshot at the pinned commit
and checked against the manifest's sha256, the dataset's converter in `genobert/convert.py` runs on
them, and every file it writes must match both the manifest's sha256 and the file in DATA/NAME.
One line per dataset; exit status 1 if any differs.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path


def mirror_blob(mirrors: Path, repo: str, commit: str, path: str) -> bytes:
    """The bytes of ``path`` at ``commit`` in the snapshot of ``repo`` under ``mirrors``."""
    git_dir = mirrors / repo.replace("/", "+") / "repo"
    if (git_dir / ".git").is_dir():
        git_dir = git_dir / ".git"
    return subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
                          check=True, capture_output=True).stdout


def check(name: str, info: dict, mirrors: Path, data: Path) -> list[str]:
    """What differs for one dataset (empty: byte-identical)."""
    from genobert.convert import CONVERTERS

    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "upstream", Path(tmp) / "out"
        out.mkdir()
        for u in info["upstream"]:
            blob = mirror_blob(mirrors, u["repo"], u["commit"], u["path"])
            if hashlib.sha256(blob).hexdigest() != u["sha256"]:
                problems.append(f"upstream {u['path']}: sha256 differs from the manifest")
            (src / u["path"]).parent.mkdir(parents=True, exist_ok=True)
            (src / u["path"]).write_bytes(blob)
        CONVERTERS[name](src, out)
        for f in info["files"]:
            written = out / f["name"]
            sha = hashlib.sha256(written.read_bytes()).hexdigest() if written.is_file() else "missing"
            if sha != f["sha256"]:
                problems.append(f"{f['name']}: converted {sha}, manifest {f['sha256']}")
            elif sha != hashlib.sha256((data / name / f["name"]).read_bytes()).hexdigest():
                problems.append(f"{f['name']}: differs from {data / name / f['name']}")
    return problems


def main(mirrors: Path, data: Path) -> int:
    from genobert.manifests import load_manifests

    failed = 0
    for name, m in load_manifests().items():
        if not m.info.get("upstream"):
            continue
        problems = check(name, m.info, mirrors, data)
        failed += bool(problems)
        print(f"{name}: " + ("; ".join(problems) if problems else
                             f"{len(m.files)} files byte-identical to {data / name}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))

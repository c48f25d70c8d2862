"""Data manifests: one JSON file per dataset in ``data_manifests/`` (task, files with sha256,
split, license, citation, caveats, published baselines, upstream sources). Load them, verify a
local copy, and fetch files that have an upstream URL (checked before they are kept).
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .io import file_sha256

MANIFEST_DIR = Path(os.environ.get("GENOBERT_MANIFESTS", Path(__file__).resolve().parents[1] / "data_manifests"))


def default_data_dir() -> Path:
    return Path(os.environ.get("GENOBERT_DATA", Path.home() / ".cache" / "genobert" / "data"))


@dataclass
class Manifest:
    name: str
    info: dict

    @property
    def files(self) -> list[dict]:
        return self.info["files"]


def load_manifests(folder: str | Path = MANIFEST_DIR) -> dict[str, Manifest]:
    """Every manifest in ``folder``, by dataset name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no manifest folder (set GENOBERT_MANIFESTS)", path=str(folder))
    out = {}
    for path in sorted(folder.glob("*.json")):
        info = json.loads(path.read_text())
        out[info["name"]] = Manifest(info["name"], info)
    return out


def get_manifest(name: str, folder: str | Path = MANIFEST_DIR) -> Manifest:
    manifests = load_manifests(folder)
    if name not in manifests:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(manifests)}")
    return manifests[name]


def verify(data_dir: str | Path, names: list[str] | None = None,
           folder: str | Path = MANIFEST_DIR) -> list[tuple[str, str, str]]:
    """``(dataset, file, status)`` for every file: 'ok', 'missing' or 'sha256 mismatch'."""
    data_dir = Path(data_dir)
    rows = []
    for name, m in load_manifests(folder).items():
        if names and name not in names:
            continue
        for f in m.files:
            path = data_dir / name / f["name"]
            if not path.is_file():
                status = "missing"
            elif path.stat().st_size != f["bytes"] or file_sha256(path) != f["sha256"]:
                status = "sha256 mismatch"
            else:
                status = "ok"
            rows.append((name, f["name"], status))
    return rows


def fetch(name: str, data_dir: str | Path | None = None, *, folder: str | Path = MANIFEST_DIR,
          timeout: float = 60) -> list[Path]:
    """Download the files of a dataset that have an upstream URL into ``data_dir/name/``.

    Each download goes to a temporary file, its sha256 is checked, and only then is it renamed
    into place; a mismatch is refused and nothing is kept. Files already present and correct are
    not downloaded again. File names come from the manifest and must be plain names.
    """
    m = get_manifest(name, folder)
    target = Path(data_dir or default_data_dir()) / name
    fetchable = [f for f in m.files if f.get("url")]
    if not fetchable:
        raise InputError(f"dataset {name!r} was converted from its upstream sources "
                         f"({m.info.get('source')}); it has no file to download as is")
    target.mkdir(parents=True, exist_ok=True)
    done = []
    for f in fetchable:
        fname = f["name"]
        if os.path.basename(fname) != fname or fname in ("", ".", ".."):
            raise InputError(f"manifest file name {fname!r} is not a plain file name")
        path = target / fname
        if path.is_file() and file_sha256(path) == f["sha256"]:
            done.append(path)
            continue
        tmp = target / f".{fname}.part"
        h = hashlib.sha256()
        try:
            with urllib.request.urlopen(f["url"], timeout=timeout) as resp, open(tmp, "wb") as out:
                while chunk := resp.read(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError) as e:
            tmp.unlink(missing_ok=True)
            raise InputError(f"cannot download {f['url']} ({e}); offline? copy the file into "
                             f"{target} and run `genobert data verify`") from None
        if h.hexdigest() != f["sha256"]:
            tmp.unlink(missing_ok=True)
            raise InputError(f"{fname}: downloaded sha256 {h.hexdigest()} does not match the "
                             f"manifest's {f['sha256']}; refused, nothing kept", path=f["url"])
        os.replace(tmp, path)
        done.append(path)
    return done

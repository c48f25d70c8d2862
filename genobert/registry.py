"""Released models by name: ``genobert-dna`` and ``genobert-protein`` live in the repository's
``models/`` folder (and in any folder of ``$GENOBERT_MODELS``, colon-separated, searched first).

`resolve` turns a name into its directory wherever a model directory is taken (``--init``,
``classify``, ``embed``, the Python API); a path that exists is always taken as it is. `verify`
checks a released directory against the sha256 sums its ``genobert.json`` records.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass

from .errors import InputError
from .io import file_sha256
from .tokenize import META_FILE

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def search_path() -> list[str]:
    extra = [p for p in os.environ.get("GENOBERT_MODELS", "").split(os.pathsep) if p]
    return extra + [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")]


def resolve(model: str | os.PathLike) -> str:
    """A model directory: ``model`` itself when it exists, else the released model of that name."""
    path = os.fspath(model)
    if os.path.exists(path) or not _NAME.match(path.rstrip("/")):
        return path
    path = path.rstrip("/")  # 'genobert-dna/', as a shell completes it
    for folder in search_path():
        candidate = os.path.join(folder, path)
        if os.path.isfile(os.path.join(candidate, META_FILE)):
            return candidate
    names = [m.name for m in released()]
    raise InputError("no such model directory, and no released model of that name (released: "
                     f"{', '.join(names) or 'none found'})", path=path)


@dataclass
class Released:
    name: str
    path: str
    meta: dict

    @property
    def size(self) -> int:
        return sum(os.path.getsize(os.path.join(self.path, n)) for n in os.listdir(self.path))

    @property
    def tokens_seen(self) -> int:
        return int(self.meta.get("training", {}).get("tokens_seen", 0))

    @property
    def sums(self) -> dict[str, str]:
        return self.meta.get("release", {}).get("files", {})


def released() -> list[Released]:
    """Every released model on the search path (the first of each name)."""
    found: dict[str, Released] = {}
    for folder in search_path():
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            meta_path = os.path.join(folder, name, META_FILE)
            if name in found or not os.path.isfile(meta_path):
                continue
            try:
                with open(meta_path) as f:
                    meta = json.load(f)
            except (OSError, ValueError):
                meta = {}
            found[name] = Released(name, os.path.join(folder, name), meta)
    return list(found.values())


def meta_sha256(meta: dict) -> str:
    """The sha256 of ``genobert.json``'s content (canonical JSON, less this very sum), which the
    alphabet, window and tokenizer every command reads are part of."""
    release = {k: v for k, v in meta.get("release", {}).items() if k != "meta_sha256"}
    text = json.dumps({**meta, "release": release}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")  # what every release holds


def verify(model: Released) -> list[str]:
    """What is wrong with a released directory (empty when every file matches its recorded
    sha256, genobert.json its own, no file is missing or extra, and no pickle is there)."""
    if not model.meta:
        return [f"{META_FILE} missing or unreadable"]
    if not model.sums:
        return [f"{META_FILE} records no sha256 sums (not published by benchmarks/release.py)"]
    recorded = model.meta.get("release", {}).get("meta_sha256")
    problems = ([f"{META_FILE} records no sha256 of its own content (published before 2026-12-08: "
                 "publish it again)"] if recorded is None else
                [f"{META_FILE} does not match its sha256 (edited?)"] if recorded != meta_sha256(model.meta) else [])
    problems += [f"{name} is not among the release's files" for name in REQUIRED if name not in model.sums]
    present = set(os.listdir(model.path)) - {META_FILE}
    for name, digest in sorted(model.sums.items()):
        if name not in present:
            problems.append(f"{name} missing")
        elif file_sha256(os.path.join(model.path, name)) != digest:
            problems.append(f"{name} does not match its sha256")
    problems += [f"{n} is not part of the release" for n in sorted(present - set(model.sums))]
    return problems

"""Data manifests: one JSON file per dataset in ``data_manifests/`` (task, files with sha256,
split, license, citation, caveats, published baselines, upstream sources). Load them, verify a
local copy, and fetch a dataset: files that upstream serves as they are, or the upstream files a
converted dataset is rebuilt from (every download and every written file checked before it is kept).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import InputError
from .io import file_sha256

UPSTREAM = "https://raw.githubusercontent.com"
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
    chosen = {name: m for name, m in load_manifests(folder).items() if not names or name in names}
    if chosen and not data_dir.is_dir():  # one line, not a 'missing' for every file of every dataset
        raise InputError("no such folder; expected the folder that holds the datasets' folders",
                         path=str(data_dir))
    rows = []
    for name, m in chosen.items():
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


def upstream_base() -> str:
    """Where converted datasets' upstream files are downloaded from: ``$GENOBERT_UPSTREAM``
    (a mirror, or a local server in tests), else GitHub's raw file server."""
    return os.environ.get("GENOBERT_UPSTREAM", UPSTREAM).rstrip("/")


def fetch(name: str, data_dir: str | Path | None = None, *, folder: str | Path = MANIFEST_DIR,
          timeout: float = 60) -> list[Path]:
    """Get a dataset's files into ``data_dir/name/``, each checked against the manifest's sha256.

    Files with a ``url`` are downloaded as they are, each to a temporary file that is renamed
    into place only once its sha256 matches. A converted dataset (an ``upstream`` list) has its
    upstream files downloaded from ``upstream_base()/REPO/COMMIT/PATH``, each checked, then
    converted by its `genobert.convert` function; all of it happens in a temporary folder inside
    the target, and files are moved into place only when every written file matches. A mismatch is
    refused and nothing is kept; files already present and correct are not downloaded again.
    """
    m = get_manifest(name, folder)
    target = Path(data_dir or default_data_dir()) / name
    for f in m.files:
        _check_plain(f["name"])
    present = set()  # files already there and correct: never fetched again
    for f in m.files:  # a file of the user's is never overwritten, even a damaged copy
        path = target / f["name"]
        if path.exists() or path.is_symlink():
            if not _is_ok(path, f):
                raise InputError("already there and not the manifest's file (sha256 differs); "
                                 "genobert does not overwrite it: move it away and fetch again", path=str(path))
            present.add(f["name"])
    with _folders_made(target):  # a failed fetch leaves no empty folder behind
        if m.info.get("upstream"):
            return _fetch_converted(m, target, present, timeout)
        fetchable = [f for f in m.files if f.get("url")]
        if not fetchable:
            raise InputError(f"dataset {name!r} was converted from its upstream sources "
                             f"({m.info.get('source')}) and its manifest lists no upstream files to "
                             "rebuild it from; it has no file to download as is")
        target.mkdir(parents=True, exist_ok=True)
        done = []
        for f in fetchable:
            path = target / f["name"]
            if f["name"] not in present:
                fd, tmp = tempfile.mkstemp(prefix=f".{f['name']}.", suffix=".part", dir=target)
                os.close(fd)  # a name of its own: a user's file or a second fetch is never touched
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)  # as a plain new file (mkstemp makes it private)
                _download(f["url"], Path(tmp), f["sha256"], target, timeout)
                os.replace(tmp, path)
            done.append(path)
        by_hand = [f["name"] for f in m.files if not f.get("url") and f["name"] not in present]
        if by_hand:  # fetched what has an address; the rest is the user's to copy
            raise InputError(f"fetched {len(done)} of {len(m.files)} files; these have no download "
                             f"address and must be copied in by hand ({m.info.get('source') or 'see SOURCES.md'}): "
                             f"{', '.join(by_hand)}; then `genobert data verify`", path=str(target))
        return done


@contextlib.contextmanager
def _folders_made(target: Path):
    """On an error, remove the folders up to ``target`` that did not exist before, if empty."""
    missing = [p for p in [target, *target.parents] if not p.exists()]
    try:
        yield
    except BaseException:
        for folder in missing:  # deepest first; a folder holding anything stays
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _fetch_converted(m: Manifest, target: Path, present: set[str], timeout: float) -> list[Path]:
    from .convert import CONVERTERS

    paths = [target / f["name"] for f in m.files]
    if all(f["name"] in present for f in m.files):
        return paths
    if m.name not in CONVERTERS:
        raise InputError(f"dataset {m.name!r} lists upstream files but this genobert has no "
                         "converter for it (a newer genobert may)")
    try:
        target.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".genobert-fetch-", dir=target))
    except OSError as e:
        raise InputError(f"cannot write here ({e.strerror or e})", path=str(target)) from None
    try:
        src, out = work / "upstream", work / "out"
        out.mkdir()
        for u in m.info["upstream"]:
            dest = src / _check_relative(u["path"])
            dest.parent.mkdir(parents=True, exist_ok=True)
            url = f"{upstream_base()}/{u['repo']}/{u['commit']}/{urllib.parse.quote(u['path'])}"
            _download(url, dest, u["sha256"], target, timeout)
        try:
            CONVERTERS[m.name](src, out)
        except (ValueError, LookupError, OSError, zipfile.BadZipFile) as e:
            raise InputError(f"converting the checked upstream files failed ({type(e).__name__}: "
                             f"{e}); refused, nothing kept", path=m.name) from None
        for f in m.files:
            written = out / f["name"]
            got = file_sha256(written) if written.is_file() else "nothing (file not written)"
            if got != f["sha256"]:
                raise InputError(f"converted sha256 {got} does not match the manifest's "
                                 f"{f['sha256']} (the upstream files matched theirs); refused, "
                                 "nothing kept", path=f"{m.name}/{f['name']}")
        for path, f in zip(paths, m.files, strict=True):
            if f["name"] not in present:
                os.replace(out / f["name"], path)
        return paths
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _download(url: str, dest: Path, sha256: str, target: Path, timeout: float) -> None:
    """``url`` into ``dest``, kept only if its sha256 is ``sha256``."""
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
            while chunk := resp.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:  # IncompleteRead too
        dest.unlink(missing_ok=True)
        raise InputError(f"cannot download {url} ({e}); offline? copy the dataset's files into "
                         f"{target} and run `genobert data verify`") from None
    except BaseException:  # Ctrl-C, SIGTERM: no partial file stays
        dest.unlink(missing_ok=True)
        raise
    if h.hexdigest() != sha256:
        dest.unlink(missing_ok=True)
        raise InputError(f"downloaded sha256 {h.hexdigest()} does not match the manifest's "
                         f"{sha256}; refused, nothing kept", path=url)


def _is_ok(path: Path, f: dict) -> bool:
    return path.is_file() and path.stat().st_size == f["bytes"] and file_sha256(path) == f["sha256"]


def _check_plain(fname: str) -> None:
    if os.path.basename(fname) != fname or fname in ("", ".", ".."):
        raise InputError(f"manifest file name {fname!r} is not a plain file name")


def _check_relative(path: str) -> PurePosixPath:
    p = PurePosixPath(path)
    if not p.parts or p.is_absolute() or ".." in p.parts or "\\" in path:
        raise InputError(f"manifest upstream path {path!r} is not a relative path inside its repository")
    return p

"""Where a training run writes, so that no user directory is clobbered and a finished model
directory holds safetensors and JSON only.

A run of ``pretrain`` / ``finetune --out OUT`` works in ``OUT.work/`` beside it: the Trainer's
checkpoints (optimizer and RNG state: pickles) in ``OUT.work/checkpoints``, the new model in
``OUT.work/model``, and ``OUT.work/genobert-run.json``, the mark that genobert started the run.
Only a complete model is moved into ``OUT``; with ``overwrite`` an old model is swapped out at that
moment (never before), so a crash leaves it whole and none of its files survives into the new one.
On success the working folder is removed (``keep_checkpoints`` keeps it).

Refused before any work: an ``OUT`` that exists and is not empty (without ``overwrite``), one
that holds anything but a model genobert wrote (with it: the replaced folder is deleted, so a
user's table or notes kept there must not be), an ``OUT`` that is ``init`` or inside it, a symbolic
link, ``resume`` without a run genobert started, and a working folder that genobert did not make or
that holds an unfinished run (without ``resume``).
"""

from __future__ import annotations

import json
import os
import shutil
import time

from .errors import InputError, ResumeMismatch
from .io import within, write_json
from .tokenize import META_FILE  # the mark of a complete model directory

MARK = "genobert-run.json"


def _is_rank0() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _read(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _check_replaceable(out: str) -> None:
    """A model directory that a run may replace (and so delete) holds what genobert writes into
    one, safetensors and JSON files, and nothing else: a user's table or notes kept there, or a
    model in a subfolder, are refused, not deleted."""
    for name in sorted(os.listdir(out)):
        path = os.path.join(out, name)
        if os.path.isdir(path) or not name.endswith((".json", ".safetensors")):
            raise InputError(f"holds {name}{'/' if os.path.isdir(path) else ''}, which is not part of a "
                             "model (safetensors and JSON); replacing the folder would delete it: move "
                             "it away or choose another --out", path=out)


class RunDir:
    def __init__(self, out: str | os.PathLike, *, kind: str, overwrite: bool = False,
                 resume: bool = False, init: str | None = None, keep_checkpoints: bool = False,
                 settings: dict | None = None):
        self.out = os.path.normpath(os.fspath(out))  # 'm/' is m, and 'm/.' too (its work folder: m.work)
        self.work = self.out + ".work"
        self.kind, self.overwrite, self.resume, self.keep = kind, overwrite, resume, keep_checkpoints
        self.checkpoints = os.path.join(self.work, "checkpoints")
        self.staging = os.path.join(self.work, "model")
        self.complete = False  # --resume of a run that had finished: OUT is the model
        # what the run trains with: a resume must ask for the same (kept in the mark, as JSON reads it)
        self.settings = json.loads(json.dumps(settings)) if settings is not None else None
        if _is_rank0():
            self._check(init)  # nothing is created until `start`, just before training
        else:  # the others must agree with rank 0, or they would train alone and wait on it
            self.complete = self._finished()


    def _check(self, init: str | None) -> None:
        out = self.out
        if within(os.getcwd(), out):  # '.', '..': its work folder would be inside it, and OUT is swapped
            raise InputError("is the current folder (or holds it); name a new folder for the model, "
                             "such as ./model", path=out)
        if init and os.path.exists(init) and os.path.exists(out) and os.path.samefile(init, out):
            raise InputError("--out is the --init model directory; write the new model elsewhere", path=out)
        if init and os.path.isdir(init) and within(out, init):
            raise InputError(f"--out is inside the --init model directory {init}; write the new model "
                             "elsewhere", path=out)
        if os.path.islink(out):  # replacing OUT would replace the link, not the folder it names
            raise InputError(f"is a symbolic link (to {os.readlink(out)}); name the folder itself", path=out)
        if os.path.lexists(out) and not os.path.isdir(out):
            raise InputError("exists and is not a directory; --out names a model directory to create", path=out)
        parent = os.path.dirname(os.path.abspath(out))
        while not os.path.lexists(parent):  # missing folders above OUT are created (mkdir -p)
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            raise InputError(f"{parent} is not a folder, so {out} cannot be made inside it", path=out)
        if not os.access(parent, os.W_OK):
            raise InputError("cannot write here (permission denied)", path=out)
        if len(os.path.basename(out).encode()) + len(".work") > 255:
            raise InputError("name too long for the file system", path=out)
        if os.path.isdir(out) and os.listdir(out) and not (self.overwrite or self.resume):
            raise InputError("exists and is not empty; pass --overwrite to replace it (the old "
                             "model stays until the new one is complete)", path=out)
        mark = os.path.join(self.work, MARK)
        if self._finished():
            meta = _read(os.path.join(out, META_FILE))  # finished before: nothing left to do, if it is this run
            if (meta.get("task") == "mlm") != (self.kind == "pretrain"):
                raise InputError(f"--resume: holds a finished {'pretrained' if meta.get('task') == 'mlm' else 'fine-tuned'}"
                                 f" model, not a {self.kind} run's; choose another --out", path=out)
            self._same_settings(meta.get("run_settings"), "finished model",
                                "train into another --out (or without --resume, with --overwrite)")
            self.complete = True
            return
        if self.resume and not os.path.isfile(mark):
            if os.path.isdir(out) and os.listdir(out):
                raise InputError(f"nothing to resume: no run that genobert started ({self.work} has "
                                 f"no {MARK})", path=out)
            if os.path.lexists(self.work):
                raise InputError(f"{self.work} exists and genobert did not make it; move it away", path=out)
            return  # killed before its first step: start afresh
        if os.path.isdir(out) and os.listdir(out):  # to be replaced when the new model is complete
            if not os.path.lexists(os.path.join(out, META_FILE)):
                raise InputError(f"is not a model directory (no {META_FILE}); --overwrite replaces only "
                                 "a model that genobert wrote: choose another --out", path=out)
            _check_replaceable(out)
        if self.resume:  # runs before 2026-12-07 kept no settings
            self._same_settings(_read(mark).get("settings"), f"unfinished run in {self.work}",
                                "delete that folder to start again")
        if not self.resume and os.path.lexists(self.work):
            if os.path.isfile(mark):
                raise InputError((f"{self.work} holds the checkpoints of a finished run (kept by "
                                  "--keep-checkpoints)" if _read(mark).get("finished") else
                                  f"an unfinished run is in {self.work}: --resume continues it")
                                 + ", or delete that folder to start again", path=out)
            raise InputError(f"{self.work} exists and genobert did not make it; move it away",
                             path=out)

    def _finished(self) -> bool:
        """``resume`` of a run whose model is in OUT (its work folder gone, or kept by
        ``keep_checkpoints``)."""
        mark = os.path.join(self.work, MARK)
        kept = os.path.isfile(mark) and _read(mark).get("finished")
        return self.resume and os.path.isfile(os.path.join(self.out, META_FILE)) and bool(
            kept or not os.path.lexists(self.work))

    def _same_settings(self, was: dict | None, what: str, otherwise: str) -> None:
        """A resume asks for the settings (files by content) the run was started with."""
        changed = next((k for k in self.settings or {} if was and k in was and was[k] != self.settings[k]), None)
        if changed:
            old, new = was[changed], self.settings[changed]
            how = (f"another {changed} (by content{', in order' if isinstance(new, list) else ''}: {old}, now {new})"
                   if "sha256:" in str(old) + str(new) else f"{changed} {old!r}, now {new!r}")
            raise ResumeMismatch(f"--resume: the {what} was started with {how}; resume it with the same "
                                 f"files and settings, or {otherwise}", path=self.out)

    def start(self) -> None:
        """Create the working folder and its mark (rank 0; call it when training begins)."""
        if not _is_rank0():
            return
        os.makedirs(self.checkpoints, exist_ok=True)  # and any missing folder above OUT
        shutil.rmtree(self.staging, ignore_errors=True)  # a resumed run's half-written model
        os.makedirs(self.staging)
        mark = os.path.join(self.work, MARK)
        if not os.path.exists(mark):
            write_json(mark, {"kind": self.kind, "out": os.path.abspath(self.out),
                              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "settings": self.settings})

    def finish(self) -> str:
        """Move the model in ``staging`` into ``OUT`` (swapping out an old one) and tidy up. Its
        ``genobert.json`` keeps the run's settings, which a later ``--resume`` is compared with."""
        if self.settings is not None:
            meta = os.path.join(self.staging, META_FILE)
            write_json(meta, {**_read(meta), "run_settings": self.settings})
        if os.path.isdir(self.out) and os.listdir(self.out):
            old = os.path.join(self.work, "replaced")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(self.out, old)  # the old model, whole, until the new one is in place
            os.replace(self.staging, self.out)
            shutil.rmtree(old)
        else:
            if os.path.isdir(self.out):
                os.rmdir(self.out)  # empty
            os.replace(self.staging, self.out)
        if self.keep:
            write_json(os.path.join(self.work, MARK), {"kind": self.kind, "out": os.path.abspath(self.out),
                                                       "finished": True, "settings": self.settings})
        else:
            shutil.rmtree(self.work)
        return self.out

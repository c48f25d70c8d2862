"""User errors: one exception that names the file, line and record it is about.

The CLI turns an `InputError` into the one-line message of the design,
``genobert: error: FILE:LINE: what is wrong``, and exit status 2.
"""

from __future__ import annotations

import contextlib
import os


class InputError(ValueError):
    """Bad user input (a file, a record, a flag value). Its text is meant for the user."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 record: str | None = None):
        self.message = message
        self.path = path
        self.line = line
        self.record = record
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        record = f"record {self.record!r}: " if self.record is not None else ""
        return f"{where}{record}{self.message}"


class ResumeMismatch(InputError):
    """``--resume`` of a run that was started with other files or settings. The benchmark, which
    resumes its own runs unasked, starts those afresh instead."""


class NotApplicable(InputError):
    """A method that does not apply to a task (one-hot features on sequences of many lengths, a
    missing optional extra). The benchmark records it as skipped, with this text; any other error
    stops the run."""


@contextlib.contextmanager
def model_loading(model_dir) -> None:
    """Damage that `model.check_model_dir` does not know by name (a config field of the wrong
    type, a tokenizer.json the tokenizers library cannot parse) stops a load in one line naming the
    directory and the error, not a traceback."""
    try:
        yield
    except (InputError, MemoryError):
        raise
    except Exception as e:
        why = (str(e).splitlines() or [""])[0][:160]
        raise InputError(f"the model does not load ({type(e).__name__}: {why})",
                         path=os.fspath(model_dir)) from None

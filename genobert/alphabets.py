"""Alphabets (DNA, RNA, protein) and the input policy for letters outside them.

Every sequence that enters genobert passes through a `Cleaner`: letters are upper-cased
(soft-masked genomes are lower case), RNA's U is read as T, and any other letter is handled by
the policy the user chose: ``error`` (the default), ``skip`` the record, or ``replace`` the letter
with N (nucleic acids) or X (proteins). What was skipped or replaced is counted and reported.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal
from collections.abc import Callable

from .errors import InputError

Policy = Literal["error", "skip", "replace"]
POLICIES: tuple[str, ...] = ("error", "skip", "replace")


@dataclass(frozen=True)
class Alphabet:
    """The letters of one kind of sequence, in token order."""

    name: str
    letters: str  # every letter a clean sequence may hold, in the order tokenizers use
    regular: str  # letters that k-mers are spelled with; any other letter makes a k-mer ambiguous
    unknown: str  # the letter that `replace` writes for a bad one
    aliases: dict[str, str] = field(default_factory=dict)  # read-as rules, e.g. RNA's U -> T
    terminal: str = ""  # letters allowed only as the last letter (a protein's stop, '*')

    @property
    def tokenizer_alphabet(self) -> str:
        """The alphabet whose tokenizer reads these sequences (RNA is read as DNA)."""
        return "dna" if self.name == "rna" else self.name

    def describe(self) -> str:
        text = " ".join(self.letters.replace(self.terminal, "") if self.terminal else self.letters)
        if self.aliases:
            text += " (" + ", ".join(f"{a} read as {b}" for a, b in self.aliases.items()) + ")"
        if self.terminal:
            text += f", '{self.terminal}' only at the end"
        return text


DNA = Alphabet("dna", letters="ACGTNRYSWKMBDHV", regular="ACGT", unknown="N")
RNA = Alphabet("rna", letters="ACGTNRYSWKMBDHV", regular="ACGT", unknown="N", aliases={"U": "T"})
PROTEIN = Alphabet("protein", letters="ACDEFGHIKLMNPQRSTVWYXBZUO*",
                   regular="ACDEFGHIKLMNPQRSTVWYXBZUO*", unknown="X", terminal="*")
ALPHABETS: dict[str, Alphabet] = {a.name: a for a in (DNA, RNA, PROTEIN)}


def get_alphabet(name: str | Alphabet) -> Alphabet:
    """Look an alphabet up by name ('dna', 'rna' or 'protein')."""
    if isinstance(name, Alphabet):
        return name
    try:
        return ALPHABETS[name.lower()]
    except (KeyError, AttributeError):
        raise InputError(f"unknown alphabet {name!r}; allowed: {', '.join(ALPHABETS)}") from None


def show_byte(byte: int) -> str:
    """A byte as the user should see it in a message: 'J', or 0x00 for an unprintable one."""
    return repr(chr(byte)) if 32 <= byte < 127 else f"byte 0x{byte:02x}"


def guess_alphabet(counts: Counter[str]) -> str:
    """'dna', 'rna' or 'protein' from letter counts (upper case); 'empty' with no letters.

    Nucleic acid when at least 90 % of the letters (A-Z; gaps, stops and junk aside) are
    A C G T/U N; protein otherwise. Letters outside the guessed alphabet are reported separately.
    """
    letters = sum(n for c, n in counts.items() if "A" <= c <= "Z")
    if letters == 0:
        return "empty"
    if sum(counts[c] for c in "ACGTUN") >= 0.9 * letters:
        return "rna" if counts["U"] > 0 and counts["T"] == 0 else "dna"
    return "protein"


class InvalidLetter(InputError):
    """A letter outside the alphabet under the ``error`` policy. Commands that have an
    ``--on-invalid`` flag (classify, embed) add it to the message as the way on."""


@dataclass
class CleanReport:
    """What the policy did to the records it saw."""

    records: int = 0
    skipped: int = 0
    replaced: int = 0
    bad_letters: Counter[str] = field(default_factory=Counter)
    nucleotide_only: int = 0  # protein records of 20 letters or more spelled with A C G T U N only

    def summary(self) -> str:
        """One line for the user, empty when nothing was skipped or replaced, and no protein file
        looked like DNA (every letter of DNA is an amino acid too, so nothing else would tell)."""
        parts = []
        letters = ", ".join(f"{c!r}×{n}" for c, n in self.bad_letters.most_common(8))
        if self.skipped:
            parts.append(f"skipped {self.skipped} of {self.records} records with letters outside the alphabet ({letters})")
        elif self.replaced:
            parts.append(f"replaced {self.replaced} letters outside the alphabet ({letters})")
        if self.records and self.nucleotide_only >= 0.9 * self.records:
            parts.append(f"{self.nucleotide_only:,} of {self.records:,} records hold only A, C, G, T, U "
                         "and N: DNA or RNA, read as protein?")
        return "; ".join(parts)


class Cleaner:
    """Upper-cases, applies aliases and the policy to one sequence at a time."""

    def __init__(self, alphabet: str | Alphabet = "dna", on_invalid: Policy = "error"):
        if on_invalid not in POLICIES:
            raise InputError(f"unknown policy {on_invalid!r}; allowed: {', '.join(POLICIES)}")
        self.alphabet = get_alphabet(alphabet)
        self.on_invalid = on_invalid
        self.report = CleanReport()
        a = self.alphabet
        upper = {c: c.upper() for c in map(chr, range(128))}
        upper.update({c: a.aliases.get(u, u) for c, u in upper.items()})  # 'u' -> 'U' -> 'T' for RNA
        self._upper = bytes.maketrans("".join(upper).encode(), "".join(upper.values()).encode())
        body = a.letters.replace(a.terminal, "") if a.terminal else a.letters
        self._body = body.encode()
        self._bad = re.compile(b"[^" + re.escape(self._body) + b"]")
        self._terminal = a.terminal.encode()
        self._protein = a.name == "protein"  # DNA would pass as protein: counted for the summary
        self._unknown = a.unknown.encode()
        # the fast path: one translate upper-cases, applies aliases and maps every byte outside the
        # alphabet to NUL, which a memchr-speed find then looks for (no letter maps to NUL)
        valid = bytearray(256)
        for c in range(256):
            letter = self._upper[c]
            if bytes([letter]) in a.letters.encode():
                valid[c] = letter
        self._valid = bytes(valid)

    def __call__(self, seq: bytes, *, path: str, record: str,
                 line_of: Callable[[int], int] | None = None) -> bytes | None:
        """The clean sequence, or None when the policy skips it.

        ``line_of`` maps a position in ``seq`` to its line in the file, for the error message.
        """
        self.report.records += 1
        clean = seq.translate(self._valid)
        if b"\0" not in clean and (not self._terminal or clean.find(self._terminal) in (-1, len(clean) - 1)):
            if (self._protein and len(clean) >= 20 and not clean[:64].translate(None, b"ACGTUN")
                    and not clean.translate(None, b"ACGTUN")):  # a protein stops at its first 64
                self.report.nucleotide_only += 1
            return clean
        up = seq.translate(self._upper)
        body = up[:-1] if self._terminal and up[-1:] in (self._terminal,) else up
        if not body.translate(None, self._body):
            return up
        if self.on_invalid == "error":
            m = self._bad.search(body)
            pos = m.start()
            line = line_of(pos) if line_of else None
            raise InvalidLetter(
                f"invalid character {show_byte(seq[pos])} at position {pos + 1}; allowed for "
                f"{self.alphabet.name}: {self.alphabet.describe()} (lower case is read as upper case)",
                path=path, line=line, record=record)
        bad = self._bad.findall(body)
        self.report.bad_letters.update(b.decode("latin-1") for b in bad)
        if self.on_invalid == "skip":
            self.report.skipped += 1
            return None
        self.report.replaced += len(bad)
        return self._bad.sub(self._unknown, body) + up[len(body):]

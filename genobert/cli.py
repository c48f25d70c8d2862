"""The `genobert` command line: one thin subcommand per library call.

Exit status: 0 on success; 2 for a user error (bad flag, bad or missing input), printed as one
line ``genobert: error: FILE:LINE: what is wrong`` with no traceback; 1 for anything unexpected.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import InputError


class _Parser(argparse.ArgumentParser):
    """argparse with the design's one-line error instead of usage + error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def create_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="genobert", description=(
        "BERT for biological sequences: read DNA and proteins from FASTA, FASTQ or TSV/CSV "
        "(plain, .gz, .bz2 or '-' for stdin) and describe them."))
    parser.add_argument("--version", action="version", version=f"genobert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("inspect", help="counts, lengths, alphabet and problems of sequence files",
                       description="Describe sequence files like `seqkit stats`: format, "
                       "compression, records, total/min/median/max length, the alphabet they look "
                       "like, letters outside it, soft-masked letters, duplicate ids and label "
                       "counts. A broken file stops with a one-line error and exit status 2.")
    p.add_argument("files", nargs="+", metavar="FILE", help="FASTA, FASTQ or TSV/CSV; .gz/.bz2; '-' = stdin")
    p.add_argument("--tsv", action="store_true", help="machine-readable TSV instead of an aligned table")
    p.set_defaults(run=_inspect)
    return parser


def _inspect(args: argparse.Namespace) -> int:
    from .stats import format_stats, inspect_file

    stats = [inspect_file(f) for f in args.files]  # all read before anything is printed
    sys.stdout.write(format_stats(stats, tsv=args.tsv))
    return 0


def run(args: argparse.Namespace) -> int:
    return args.run(args)


def main(argv: list[str] | None = None) -> int:
    args = create_parser().parse_args(argv)
    try:
        return run(args)
    except InputError as e:
        print(f"genobert: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genobert: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `genobert inspect ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())

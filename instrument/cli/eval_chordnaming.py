"""``instrument eval chord-naming``: chord naming vs When in Rome on the Bach chorales."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "chord-naming",
        help="score chord naming against the When in Rome chorale analyses",
    )
    p.add_argument("--data", help="music data folder (default ../shared/data)")
    p.add_argument("--limit", type=int, help="only the first N chorales")
    p.add_argument("--write", action="store_true", help="write docs/results.md (chord-naming)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from instrument.errors import InstrumentError
    from instrument.harmony.chorales import chorale_folders
    from instrument.harmony.evaluate import (
        CHORD_NAMING_HEADER,
        chord_naming_markdown,
        chord_naming_rows,
        score_chorales,
    )
    from instrument.report import markdown_table, write_section

    folders = chorale_folders(args.data)[: args.limit]
    if not folders:
        raise InstrumentError("no When in Rome chorale analyses found under the data folder")
    tally, used, failed = score_chorales(folders)
    table = markdown_table(CHORD_NAMING_HEADER, chord_naming_rows(tally))
    print(table)
    print(
        f"{tally.n} Roman numerals in {used} chorales ({tally.transposed} transposed editions);"
        f" {len(failed)} analyses unusable"
    )
    if args.write:
        md = chord_naming_markdown(tally, used, failed, table, args.limit)
        write_section("results.md", "chord-naming", md)
        print("wrote docs/results.md (chord-naming)")
    return 0

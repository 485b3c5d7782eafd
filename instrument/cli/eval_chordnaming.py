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
    import warnings

    from instrument.errors import InstrumentError
    from instrument.harmony.chorales import Tally, chorale_folders, score_chorale
    from instrument.report import markdown_table, write_section

    folders = chorale_folders(args.data)[: args.limit]
    if not folders:
        raise InstrumentError("no When in Rome chorale analyses found under the data folder")
    tally, used, failed = Tally(), 0, []
    for folder in folders:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if score_chorale(folder, tally):
                    used += 1
        except Exception as e:  # noqa: BLE001 - an unparsable analysis is reported, not fatal
            failed.append(f"{folder.name} ({type(e).__name__})")
    rows = [
        ["lowest note is the root (baseline)", tally.rate("lowest_root"), "", "", ""],
        ["music21 Chord.root() (baseline)", tally.rate("music21_root"), "", "", ""],
        ["ours, notes at the numeral's onset", tally.rate("onset_root"),
         tally.rate("onset_triad"), tally.rate("onset_exact"), tally.rate("onset_bass")],
        ["ours, longest chord over the numeral", tally.rate("span_root"),
         tally.rate("span_triad"), tally.rate("span_exact"), ""],
    ]  # fmt: skip
    table = markdown_table(["method", "root", "root + triad type", "root + quality", "bass"], rows)
    print(table)
    print(f"{tally.n} Roman numerals in {used} chorales ({tally.transposed} transposed editions);"
          f" {len(failed)} analyses unusable")  # fmt: skip
    if args.write:
        limit = f" --limit {args.limit}" if args.limit else ""
        md = f"""## Chord naming vs When in Rome (Bach chorales)

Agreement of `instrument.harmony.naming.name_chord` with the Roman-numeral analyses of
When in Rome (`Corpus/Early_Choral/Bach,_Johann_Sebastian/Chorales/NNN/analysis.txt`),
aligned by offset with the music21 corpus scores; {tally.n} numerals in {used} chorales
({len(failed)} analyses music21 could not align or parse). {tally.transposed} corpus
scores are transposed editions of the analysed chorale: their reference chords are
transposed by the shift that best matches the numerals' bass notes to the lowest
sounding notes (no chord naming involved, the same for every row). Reference chord = the
numeral's root, quality (its pitch classes mapped to our nearest quality) and bass.
"Triad type" compares major/minor/diminished/augmented/suspended families (a V7 named V
counts); "quality" needs the exact quality (sevenths included). Chorales are
four-voice counterpoint: passing and suspended tones sound at many onsets, so the span
reading (the chord heard longest over the numeral) is the fairer one.

{table}

Where we differ from the analysts: {tally.rate("sixth_reading"):.1%} of the numerals are
seventh chords over their third (ii6/5, iiø6/5) that the namer reads, as lead sheets do,
as an added-sixth chord on the bass (F-A-C-D as F6, not Dm7/F; see
`instrument/harmony/naming.py`); music21's `Chord.root()` follows the classical
reading there. The other disagreements are not broken down here.

Command: `instrument eval chord-naming --write{limit}`. Machine: 2-core CPU VM, no GPU.
Date: 2026-11-22.
"""
        write_section("results.md", "chord-naming", md)
        print("wrote docs/results.md (chord-naming)")
    return 0

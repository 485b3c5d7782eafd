"""Rule-based accompaniment styles, the way arranger keyboards play them.

A style plays one beat at a time from the chord track, so the planner can ask for exactly
the beat it is about to commit. Each style combines a comping pattern (block chords,
arpeggio, Alberti bass, Charleston stabs, eighth-note chords), a bass line (roots and
fifths, eighth notes, or a walking line that approaches the next chord by a semitone) and
a drum groove on GM channel 10. Sections follow the arranger-keyboard controls: ``intro``,
``A`` and ``B`` (busier), ``fill`` (the rest of the bar before a section change), and
``ending`` (one bar, then the band stops).
"""

from __future__ import annotations

from collections.abc import Callable

from instrument.accompany.notes import BASS, COMP, DRUMS, BandNote, ChordTrack, Tones

SECTIONS = ("intro", "A", "B", "fill", "ending")

# GM drum kit keys
KICK, STICK, SNARE, HAT, PEDAL_HAT, OPEN_HAT = 36, 37, 38, 42, 44, 46
CRASH, RIDE, TOM_HI, TOM_MID, TOM_LOW, TOM_FLOOR = 49, 51, 50, 47, 45, 41

BASS_LOW = 36  # C2: bass roots fall in C2..B2
COMP_CENTRE = 64  # voicings gather around E4


def bass_pitch(pc: int, low: int = BASS_LOW) -> int:
    """The lowest pitch of pitch class ``pc`` at or above ``low``."""
    return low + (pc - low) % 12


def close_voicing(tones: Tones, previous: list[int] | None, centre: int = COMP_CENTRE) -> list[int]:
    """Chord tones in close position, the inversion nearest ``previous`` (voice leading).

    At most four notes; with no previous voicing, the inversion centred on ``centre``.
    """
    pcs = list(tones.pcs)
    if len(pcs) > 4:  # extended chords: keep root, third, seventh and the top extension
        pcs = [pcs[0], *pcs[-3:]]
    target = sum(previous) / len(previous) if previous else centre
    best: list[int] = []
    best_cost = float("inf")
    for base in range(centre - 14, centre + 2):
        # the voicing whose lowest note is the first chord tone at or above `base`
        voicing = sorted(base + (pc - base) % 12 for pc in pcs)
        cost = abs(sum(voicing) / len(voicing) - target)
        if cost < best_cost:
            best, best_cost = voicing, cost
    return best


def _third_or_fifth(tones: Tones, which: int) -> int:
    """A chord tone other than the root: index 1 or 2 of the chord's pitch classes above root."""
    above = sorted((pc - tones.root) % 12 for pc in tones.pcs if pc != tones.root)
    if not above:
        return tones.root
    fifth = [i for i in above if i in (6, 7, 8)]
    pick = fifth[0] if which == 2 and fifth else above[min(which - 1, len(above) - 1)]
    return (tones.root + pick) % 12


class Style:
    """A named rule-based style. ``beat`` is called once per beat, in order, per performance."""

    name = "style"
    groove = "pop"
    description = ""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._voicing: list[int] | None = None

    # -- pieces the subclasses combine ------------------------------------------------------
    def voicing(self, tones: Tones) -> list[int]:
        self._voicing = close_voicing(tones, self._voicing)
        return self._voicing

    def comp(self, b: int, pos: int, bpb: int, tones: Tones, busy: bool) -> list[BandNote]:
        raise NotImplementedError

    def bass(self, b: int, pos: int, bpb: int, chords: ChordTrack, busy: bool) -> list[BandNote]:
        """Root on the downbeat and on chord changes, fifth mid-bar, every beat in B."""
        tones = chords.at(b)
        if pos == 0 or chords.at(b - 1) != tones:
            pc, vel = tones.bass, 92 if pos == 0 else 85
        elif bpb >= 4 and pos == bpb // 2:
            pc, vel = _third_or_fifth(tones, 2), 80
        elif busy:
            pc, vel = tones.bass, 72
        else:
            return []
        span = 1 if busy else (bpb // 2 if bpb >= 4 else bpb)
        span = min(span, chords.beats_to_change(b))
        return [BandNote(BASS, bass_pitch(pc), vel, b, span - 0.05)]

    # -- one beat ----------------------------------------------------------------------------
    def beat(
        self, b: int, bpb: int, chords: ChordTrack, section: str = "A", crash: bool = False
    ) -> list[BandNote]:
        """The notes of beat ``b`` (integer beat from the first downbeat) in ``section``."""
        pos = b % bpb
        tones = chords.at(b)
        out: list[BandNote] = []
        if section == "ending":
            if pos == 0 and not tones.is_rest:
                out += [BandNote(COMP, p, 84, b, bpb - 0.1) for p in self.voicing(tones)]
                out.append(BandNote(BASS, bass_pitch(tones.bass), 96, b, bpb - 0.1))
                out += [BandNote(DRUMS, CRASH, 110, b, 1.0), BandNote(DRUMS, KICK, 110, b, 0.5)]
            return out
        busy = section == "B"
        if not tones.is_rest:
            out += self.comp(b, pos, bpb, tones, busy)
            if section != "intro":
                out += self.bass(b, pos, bpb, chords, busy)
        out += GROOVES[self.groove](b, pos, bpb, section)
        if crash and pos == 0:
            out.append(BandNote(DRUMS, CRASH, 104, b, 1.0))
        return out


class Block(Style):
    name, groove = "block", "pop"
    description = "block chords on every beat, root and fifth bass, pop groove"

    def comp(self, b, pos, bpb, tones, busy):
        v = self.voicing(tones)
        vel = 78 if pos == 0 else 66
        out = [BandNote(COMP, p, vel, b, 0.9) for p in v]
        if busy:
            out += [BandNote(COMP, p, 58, b + 0.5, 0.4) for p in v]
        return out


def _broken(
    figure: list[int], b: float, pos: int, busy: bool, accent: int, velocity: int
) -> list[BandNote]:
    """Beat ``b`` (position ``pos`` in the bar) of a broken-chord figure of pitches that runs
    on through the bar: eighths, sixteenths when busy; the beat's first note ``accent``."""
    n = 4 if busy else 2
    return [
        BandNote(
            COMP,
            figure[(pos * n + k) % len(figure)],
            accent if k == 0 else velocity,
            b + k / n,
            1 / n - 0.02,
        )
        for k in range(n)
    ]


class Arpeggio(Style):
    name, groove = "arpeggio", "ballad"
    description = "broken chords up and down in eighths (sixteenths in B), ballad groove"

    def comp(self, b, pos, bpb, tones, busy):
        v = self.voicing(tones)
        line = [*v, v[0] + 12, *reversed(v[1:])]  # up, then back down
        return _broken(line, b, pos, busy, 70, 60)


class Alberti(Style):
    name, groove = "alberti", "none"
    description = "Alberti bass (low-high-middle-high) in eighths, no drums"

    def comp(self, b, pos, bpb, tones, busy):
        v = self.voicing(tones)
        low, mid, high = v[0], v[len(v) // 2], v[-1]
        return _broken([low, high, mid, high], b, pos, busy, 66, 56)


class Walking(Style):
    name, groove = "walking", "swing"
    description = "walking bass in quarters approaching each chord, Charleston comping, swing"

    def comp(self, b, pos, bpb, tones, busy):
        v = self.voicing(tones)
        if pos == 0:
            return [BandNote(COMP, p, 70, b, 0.8) for p in v]
        if pos == 1 or (busy and pos == 3):
            return [BandNote(COMP, p, 62, b + 2 / 3, 0.3) for p in v]  # swung "and"
        return []

    def bass(self, b, pos, bpb, chords, busy):
        tones = chords.at(b)
        nxt = chords.at(b + 1)
        if pos == 0 or chords.at(b - 1) != tones:
            pc = tones.bass
        elif nxt != tones and not nxt.is_rest:  # approach the coming root from a semitone above
            pc = (nxt.bass + 1) % 12
        else:
            pc = _third_or_fifth(tones, 2 if pos % 2 == 0 else 1)
        return [BandNote(BASS, bass_pitch(pc, 38), 88 if pos == 0 else 78, b, 0.95)]


class Pop8(Style):
    name, groove = "pop8", "rock"
    description = "eighth-note chords and eighth-note root bass, rock groove"

    def comp(self, b, pos, bpb, tones, busy):
        v = self.voicing(tones)
        return [BandNote(COMP, p, 72 if k == 0 else 60, b + k / 2, 0.45) for k in (0, 1) for p in v]

    def bass(self, b, pos, bpb, chords, busy):
        tones = chords.at(b)
        root = bass_pitch(tones.bass)
        second = root + 12 if busy and pos % 2 else root
        return [BandNote(BASS, root, 90, b, 0.45), BandNote(BASS, second, 76, b + 0.5, 0.45)]


# -- drum grooves -----------------------------------------------------------------------------
def _hits(b: int, hits: list[tuple[float, int, int]]) -> list[BandNote]:
    return [BandNote(DRUMS, key, vel, b + off, 0.25) for off, key, vel in hits]


def _fill(b: int, pos: int, bpb: int) -> list[BandNote]:
    toms = (SNARE, TOM_HI, TOM_MID, TOM_LOW, TOM_FLOOR)
    return _hits(b, [(k / 4, toms[(pos * 4 + k) % len(toms)], 80 + 6 * k) for k in range(4)])


def _backbeat(pos: int, bpb: int) -> bool:
    return bpb % 2 == 0 and pos % 2 == 1 or bpb == 3 and pos > 0


def groove_pop(b, pos, bpb, section):
    if section == "fill":
        return _fill(b, pos, bpb)
    if section == "intro":
        return _hits(b, [(0, STICK, 60)])
    hits = [(0, HAT, 70), (0.5, HAT, 52)]
    hits.append((0, SNARE, 92) if _backbeat(pos, bpb) else (0, KICK, 96))
    if section == "B":
        hits.append((0.5, KICK, 70) if pos == bpb - 2 else (0.75, HAT, 40))
    return _hits(b, hits)


def groove_rock(b, pos, bpb, section):
    if section == "fill":
        return _fill(b, pos, bpb)
    if section == "intro":
        return _hits(b, [(0, HAT, 64), (0.5, HAT, 50)])
    cymbal = RIDE if section == "B" else HAT
    hits = [(0, cymbal, 80), (0.5, cymbal, 64)]
    hits += [(0, SNARE, 100)] if _backbeat(pos, bpb) else [(0, KICK, 104), (0.5, KICK, 80)]
    return _hits(b, hits)


def groove_ballad(b, pos, bpb, section):
    if section == "fill":
        return _fill(b, pos, bpb) if pos >= bpb - 1 else _hits(b, [(0, HAT, 50)])
    hits = [(0, HAT, 56)]
    if section != "intro":
        hits.append((0, STICK, 70) if _backbeat(pos, bpb) else (0, KICK, 80))
    if section == "B":
        hits.append((0.5, HAT, 44))
    return _hits(b, hits)


def groove_swing(b, pos, bpb, section):
    if section == "fill":
        return _hits(b, [(0, SNARE, 70), (2 / 3, SNARE, 84)])
    hits = [(0, RIDE, 76)]
    if pos % 2 == 1:
        hits += [(0, PEDAL_HAT, 60), (2 / 3, RIDE, 62)]
    if section == "B" and pos == bpb - 1:
        hits.append((2 / 3, SNARE, 56))
    return _hits(b, hits)


def groove_none(b, pos, bpb, section):
    return []


GROOVES: dict[str, Callable[[int, int, int, str], list[BandNote]]] = {
    "pop": groove_pop,
    "rock": groove_rock,
    "ballad": groove_ballad,
    "swing": groove_swing,
    "none": groove_none,
}

STYLES: dict[str, type[Style]] = {s.name: s for s in (Block, Arpeggio, Alberti, Walking, Pop8)}


def make_style(name: str) -> Style:
    from instrument.errors import InstrumentError

    if name not in STYLES:
        raise InstrumentError(f"unknown style {name!r} (known: {', '.join(STYLES)}, model)")
    return STYLES[name]()

"""Takes the README's screenshots with the real commands, offscreen and without devices.

SDL's dummy video driver draws the stage into memory; ``--audio none --midi-in none``
leaves out the sound card and the keyboard, and ``--play-file`` plays the input in:

- play: POP909 song 001 (its MIDI file) on the string quartet;
- jam: the same song's chord chart (``pop909:001``) played by the band while the song's
  MIDI file is the player, delayed so that its first downbeat meets the band's (after the
  band's bar of count-in);
- practice: the built-in ii-V-I exercise, played by a scripted performance written here
  (human timing, one chord with a tone left out).

    .venv/bin/python docs/screenshots/take.py [play|jam|practice ...]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import mido

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from instrument.input.feeder import write_keyboard_file  # noqa: E402
from instrument.paths import data_dir  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SONG = data_dir() / "pop909" / "POP909" / "001" / "001.mid"
COMMON = ["--midi-in", "none", "--audio", "none"]

# The practice performance: ii-V-I in C at 110 BPM after one bar of count-in. Per bar: the
# chord played (bass, then the right hand), and how early (-) or late (+) in ms.
VOICINGS = {
    "Dm7": [50, 65, 69, 72],
    "G7": [43, 65, 71, 74],
    "Cmaj7": [48, 64, 67, 71],
    "G": [43, 62, 67, 71],
}
PERFORMANCE = [
    ("Dm7", 25),
    ("G7", -40),
    ("Cmaj7", 60),
    ("Cmaj7", -10),
    ("Dm7", 15),
    ("G", 90),
    ("Cmaj7", -20),
    ("Cmaj7", 5),
]  # bar 6: G7 without its F


def practice_midi(path: Path, tempo: float = 110.0, count_in_bars: int = 1) -> Path:
    """A MIDI file of PERFORMANCE; time 0 is the start of the count-in."""
    bar = 4 * 60.0 / tempo
    notes = []
    for k, (chord, offset_ms) in enumerate(PERFORMANCE):
        on = (count_in_bars + k) * bar + offset_ms / 1000.0
        notes += [(on, on + 0.7 * bar, pitch, 84) for pitch in VOICINGS[chord]]
    return write_keyboard_file(path, notes)


def delayed(src: Path, seconds: float, dst: Path) -> Path:
    """A copy of a MIDI file starting ``seconds`` later (every track shifted alike, so the
    tempo map moves with the notes; the silence is at the default 120 BPM)."""
    mid = mido.MidiFile(src)
    ticks = round(seconds * 2 * mid.ticks_per_beat)
    for track in mid.tracks:
        if track:
            track[0].time += ticks
    mid.save(dst)
    return dst


def first_downbeat(song: Path) -> float:
    """Seconds of the song's first downbeat (POP909's beat_midi.txt: time, beat, downbeat)."""
    for line in (song.parent / "beat_midi.txt").read_text().splitlines():
        t, _, down = (float(x) for x in line.split())
        if down:
            return t
    return 0.0


def take(name: str, args: list[str]) -> None:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    cmd = [
        sys.executable,
        "-m",
        "instrument",
        name,
        *args,
        *COMMON,
        "--screenshot",
        str(OUT / f"{name}.png"),
    ]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


def main(which: list[str]) -> None:
    if "play" in which:
        take("play", ["--ensemble", "quartet", "--play-file", str(SONG), "--duration", "21"])
    if "jam" in which:
        from instrument.practice.exercises import resolve_chart

        chart, _ = resolve_chart("pop909:001")
        # the band's beat 0: 0.2 s after its start, then a bar of count-in
        lead = 0.2 + chart.beats_per_bar * 60.0 / chart.tempo - first_downbeat(SONG)
        with tempfile.TemporaryDirectory() as tmp:
            song = delayed(SONG, lead, Path(tmp) / "001.mid")
            take("jam", ["--chart", "pop909:001", "--play-file", str(song), "--duration", "24"])
    if "practice" in which:
        with tempfile.TemporaryDirectory() as tmp:
            performance = practice_midi(Path(tmp) / "ii-v-i.mid")
            take(
                "practice",
                [
                    "ii-v-i-c",
                    "--play-file",
                    str(performance),
                    "--duration",
                    "14.1",
                    "--history",
                    str(Path(tmp) / "history.sqlite"),
                ],
            )


if __name__ == "__main__":
    main(sys.argv[1:] or ["play", "jam", "practice"])

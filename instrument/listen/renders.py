"""Annotated audio for evaluating the listener: POP909 excerpts rendered through FluidSynth.

Each song gets one fixed rendering condition drawn from its id (so every run hears the
same audio): SoundFont, master gain (loud ones clip), added white or pink noise at an
SNR, and a synthetic room (exponentially decaying noise, RT60 up to 1.2 s). Renders are
cached as FLAC under ``.cache/listen/renders`` in the repository (ignored by git).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from instrument.paths import ROOT

CACHE = ROOT / ".cache" / "listen" / "renders"
SAMPLE_RATE = 44100


@dataclass(frozen=True)
class Condition:
    """How one excerpt is rendered. gain: FluidSynth master gain; snr_db: noise level
    (inf for none); pink: pink rather than white noise; rt60: reverb decay (s, 0 for
    dry); wet: reverb mix 0..1."""

    soundfont: str
    gain: float
    snr_db: float
    pink: bool
    rt60: float
    wet: float

    def describe(self) -> str:
        noise = (
            "no noise"
            if not np.isfinite(self.snr_db)
            else (f"{'pink' if self.pink else 'white'} noise {self.snr_db:.0f} dB SNR")
        )
        room = "dry" if self.rt60 == 0 else f"reverb RT60 {self.rt60:.1f} s wet {self.wet:.2f}"
        return f"{self.soundfont}, gain {self.gain:.2f}, {noise}, {room}"


# Programs an unseen render may give a POP909 track instead of its piano: keyboards,
# guitars, organs, strings, brass, reeds, pipes and synth leads/pads (GM numbers, 0-based).
OTHER_PROGRAMS = (1, 2, 4, 5, 6, 7, 11, 16, 17, 19, 24, 25, 26, 27, 29, 33, 40, 41, 42,
                  48, 49, 52, 56, 57, 61, 65, 66, 68, 71, 73, 80, 81, 88, 89, 91)  # fmt: skip


@dataclass(frozen=True)
class Variation:
    """What an unseen render changes beyond a Condition. programs: GM program for each of
    channels 0-15 (the drum channel 9 kept); echo_s / echo_gain: a repeating echo (a
    slap-back off a far wall: three repeats, each ``echo_gain`` quieter)."""

    programs: tuple[int, ...]
    echo_s: float
    echo_gain: float

    def describe(self) -> str:
        return (
            f"programs {'/'.join(map(str, self.programs[:3]))}, echo {self.echo_s * 1e3:.0f} "
            f"ms x{self.echo_gain:.2f}"
        )


# The SoundFont family kept out of all tuning: csound's GM bank (Debian package
# csound-soundfont), a different sample set from FluidR3 and TimGM6mb. (MuseScore General
# .sf3 would be the other choice; the project's SoundFont check rejects its INFO chunks.)
UNSEEN_SOUNDFONT = "sf_GMbank.sf2"
UNSEEN_PLACES = (Path("/usr/share/sounds/sf2"), ROOT / ".cache" / "soundfonts")


def unseen_soundfont(path: str | Path | None = None) -> Path:
    """The unseen SoundFont: ``path``, else csound's GM bank where Debian or the cache has it."""
    from instrument.errors import InstrumentError

    candidates = [Path(path)] if path else [d / UNSEEN_SOUNDFONT for d in UNSEEN_PLACES]
    for c in candidates:
        if c.is_file():
            return c
    raise InstrumentError(
        f"unseen SoundFont not found ({', '.join(map(str, candidates))}): apt-get install "
        "csound-soundfont, or pass --soundfont"
    )


def variation_for(song_id: str) -> Variation:
    """Other programs and an echo for one song, fixed by its id."""
    seed = int(hashlib.sha256(f"listen-unseen-{song_id}".encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    programs = tuple(int(p) for p in rng.choice(OTHER_PROGRAMS, 16))
    return Variation(programs, float(rng.uniform(0.08, 0.3)), float(rng.uniform(0.2, 0.45)))


def condition_for(song_id: str, soundfonts: list[Path]) -> Condition:
    """The rendering condition of one song, fixed by its id."""
    seed = int(hashlib.sha256(f"listen-{song_id}".encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    sf = soundfonts[int(rng.integers(len(soundfonts)))]
    gain = float(rng.choice([0.2, 0.4, 0.7, 1.5]))  # 1.5 drives the mix into clipping
    snr = float(rng.choice([np.inf, 30.0, 20.0, 12.0]))
    rt60 = float(rng.choice([0.0, 0.4, 0.8, 1.2]))
    return Condition(
        sf.name,
        gain,
        snr,
        bool(rng.integers(2)),
        rt60,
        float(rng.uniform(0.15, 0.4)) if rt60 else 0.0,
    )


def render_excerpt(
    midi_path: Path,
    start: float,
    duration: float,
    cond: Condition,
    soundfont_path: Path,
    sample_rate: int = SAMPLE_RATE,
    variation: Variation | None = None,
    tempo_change: tuple[float, float] | None = None,
) -> np.ndarray:
    """Render ``duration`` s of a MIDI file from ``start`` s, with the condition's effects
    (and the variation's programs and echo).

    tempo_change: (at, factor): from ``at`` s into the excerpt on, the music plays
    ``factor`` times as fast (``stretched_time`` maps the file's times to the render's).
    Returns float32 (frames, 2), clipped to [-1, 1] as a converter would.
    """
    from instrument.ensemble import DRUM_CHANNEL
    from instrument.input.midifile import read_midi
    from instrument.synth import Synth
    from instrument.synth.offline import play_message, render_events

    def play(_t: float, msg) -> None:
        if variation is not None and msg.type == "program_change" and msg.channel != DRUM_CHANNEL:
            return  # the variation's program stays
        play_message(synth, msg)

    def timed(midi):
        t_file = 0.0
        for msg in midi:  # mido yields delta times in seconds
            t_file += msg.time
            yield stretched_time(t_file, start, tempo_change), msg

    midi = read_midi(midi_path)
    synth = Synth(soundfont_path, sample_rate=sample_rate, gain=cond.gain)
    try:
        if variation is not None:
            for ch, prog in enumerate(variation.programs):
                if ch != DRUM_CHANNEL:
                    synth.program(ch, prog)
        audio = render_events(synth, timed(midi), play, until=start + duration)
        audio = audio[int(round(start * sample_rate)) :]
    finally:
        synth.close()
    return add_room(audio, cond, variation, sample_rate)


def add_room(
    audio: np.ndarray, cond: Condition, variation: Variation | None, sample_rate: int
) -> np.ndarray:
    """The condition's reverb, the variation's echo, then the condition's noise, on dry
    ``audio`` (frames, 2); returns float32 clipped to [-1, 1]. Seeded by the condition."""
    import scipy.signal

    rng = np.random.default_rng(int(cond.gain * 1000 + cond.rt60 * 10))
    audio = audio.astype(np.float64)
    if cond.rt60 > 0:
        n = int(cond.rt60 * sample_rate)
        decay = np.exp(-6.9 * np.arange(n) / n)  # -60 dB at rt60
        ir = rng.standard_normal((n, 2)) * decay[:, None]
        ir /= np.sqrt((ir**2).sum(axis=0))
        wet = np.stack(
            [scipy.signal.fftconvolve(audio[:, c], ir[:, c])[: len(audio)] for c in range(2)],
            axis=1,
        )
        audio = (1 - cond.wet) * audio + cond.wet * wet
    if variation is not None and variation.echo_gain > 0:
        d = int(variation.echo_s * sample_rate)
        dry = audio.copy()
        for k in (1, 2, 3):
            if k * d < len(audio):
                audio[k * d :] += variation.echo_gain**k * dry[: len(audio) - k * d]
    if np.isfinite(cond.snr_db):
        noise = rng.standard_normal(audio.shape)
        if cond.pink:  # 1/f power: shape white noise by 1/sqrt(f)
            spec = np.fft.rfft(noise, axis=0)
            f = np.maximum(np.fft.rfftfreq(len(noise), 1 / sample_rate), 20.0)
            noise = np.fft.irfft(spec / np.sqrt(f)[:, None], n=len(noise), axis=0)
        p_sig = np.mean(audio**2) + 1e-12
        noise *= np.sqrt(p_sig / 10 ** (cond.snr_db / 10) / np.mean(noise**2))
        audio = audio + noise
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def stretched_time(t: float | np.ndarray, start: float, tempo_change: tuple[float, float] | None):
    """A time in the MIDI file -> its time in a render with ``tempo_change`` (at, factor)."""
    if tempo_change is None:
        return t
    at, factor = start + tempo_change[0], tempo_change[1]
    return (
        np.where(t <= at, t, at + (t - at) / factor)
        if isinstance(t, np.ndarray)
        else (t if t <= at else at + (t - at) / factor)
    )


def cached_excerpt(
    song_id: str,
    midi_path: Path,
    start: float,
    duration: float,
    soundfonts: list[Path],
    variation: Variation | None = None,
) -> tuple[np.ndarray, int, Condition]:
    """The rendered excerpt of one song from the cache, rendering it on first use."""
    import soundfile

    cond = condition_for(song_id, soundfonts)
    what = [song_id, start, duration, asdict(cond)]
    if variation is not None:
        what.append(asdict(variation))
    key = hashlib.sha256(json.dumps(what).encode())
    path = CACHE / f"pop909-{song_id}-{start:g}-{duration:g}-{key.hexdigest()[:10]}.flac"
    if path.exists():
        audio, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
        return audio, sr, cond
    sf_path = next(p for p in soundfonts if p.name == cond.soundfont)
    audio = render_excerpt(midi_path, start, duration, cond, sf_path, variation=variation)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.flac")
    soundfile.write(str(tmp), audio, SAMPLE_RATE, subtype="PCM_16")
    tmp.replace(path)
    return audio, SAMPLE_RATE, cond

"""Causal audio features, block by block: onset novelty and chroma.

``FrameFeatures.process(block)`` takes any number of samples (mono or multichannel) and
returns the features of every analysis frame that the new samples complete. A frame ends
at a hop boundary and looks only backwards, so nothing depends on audio that has not
arrived. State is a fixed-size history of samples plus a few vectors.

Frame rate is ``sample_rate / hop`` (about 100 per second); window lengths scale with the
sample rate so any input rate works without resampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal

from instrument.jit import njit

# Pitches (MIDI numbers) that feed the chroma: bass range and the rest.
BASS_PITCHES = (28, 55)  # E1 .. F#3 (exclusive end)
TREBLE_PITCHES = (43, 96)  # G2 .. B6
SILENCE_RMS = 3e-4  # about -70 dBFS


def _pow2(x: float) -> int:
    return 1 << int(round(np.log2(max(x, 16))))


def _log_filterbank(n_fft: int, sr: float, bands_per_octave: int, fmin: float, fmax: float):
    """Triangular bands on a log-frequency axis; (n_bins, n_bands), each band summing to 1."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    n_oct = np.log2(fmax / fmin)
    centers = fmin * 2.0 ** (np.arange(int(n_oct * bands_per_octave) + 1) / bands_per_octave)
    # Merge bands that fall on the same FFT bin (low frequencies): keep unique nearest bins.
    bins = np.unique(np.round(centers / (sr / n_fft)).astype(int))
    bins = bins[(bins > 0) & (bins < len(freqs) - 1)]
    fb = np.zeros((len(freqs), len(bins) - 2), np.float32)
    for j in range(1, len(bins) - 1):
        lo, c, hi = bins[j - 1], bins[j], bins[j + 1]
        fb[lo : c + 1, j - 1] = np.linspace(0, 1, c - lo + 1)
        fb[c : hi + 1, j - 1] = np.linspace(1, 0, hi - c + 1)
        fb[:, j - 1] /= fb[:, j - 1].sum()
    return fb, freqs[bins[1:-1]]


def _pitch_map(n_fft: int, sr: float, lo: int = 24, hi: int = 108) -> np.ndarray:
    """Spectrum bins -> semitones ``lo..hi-1``; (n_bins, hi-lo), triangular in pitch."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    with np.errstate(divide="ignore"):
        pitch = 69.0 + 12.0 * np.log2(np.maximum(freqs, 1e-6) / 440.0)
    m = np.zeros((len(freqs), hi - lo), np.float32)
    for j, p in enumerate(range(lo, hi)):
        w = np.clip(1.0 - np.abs(pitch - p), 0.0, None)
        if w.sum() == 0:  # a semitone narrower than a bin: take the nearest bin
            w[np.argmin(np.abs(pitch - p))] = 1.0
        m[:, j] = w
    return m


@dataclass
class Frames:
    """Features of the frames completed by one block.

    time: (n,) seconds, the end of each frame (the latest sample it saw).
    onset: (n,) onset novelty >= 0 (spectral flux, log-compressed bands).
    bass_onset: (n,) the same below 250 Hz.
    chroma: (n, 12) treble chroma, each row summing to 1 (zeros in silence).
    bass_chroma: (n, 12) bass chroma, likewise.
    energy: (n,) RMS level of the frame (linear).
    """

    time: np.ndarray
    onset: np.ndarray
    bass_onset: np.ndarray
    chroma: np.ndarray
    bass_chroma: np.ndarray
    energy: np.ndarray


class FrameFeatures:
    """Mixdown, DC removal, framing and the two spectra, for one input sample rate.

    sample_rate: Hz of the incoming audio; above 32 kHz it is decimated (anti-alias FIR,
    causal) to about 22-24 kHz, which keeps everything up to 10 kHz and halves the FFTs.
    fps: analysis frames per second (the hop is ``round(rate / fps)``). Short window
    (~46 ms) for onsets, long (~186 ms) for chroma, both ending at the newest sample.
    """

    def __init__(self, sample_rate: float, fps: float = 100.0, chroma_every: int = 2):
        if not np.isfinite(sample_rate) or sample_rate < 8000:
            raise ValueError(f"sample rate {sample_rate} Hz is too low for listening")
        self.input_rate = float(sample_rate)
        self.down = max(1, int(sample_rate // 22050))
        sample_rate = self.input_rate / self.down
        self._taps = scipy.signal.firwin(31, 0.9 / self.down).astype(np.float32)
        self.sample_rate = float(sample_rate)  # the analysis rate
        self.hop = int(round(sample_rate / fps))
        self.fps = self.sample_rate / self.hop
        self.n_onset = _pow2(0.046 * sample_rate)
        self.n_chroma = _pow2(0.186 * sample_rate)
        # Chroma changes slowly next to onsets: one long FFT every ``chroma_every`` frames,
        # held in between, halves the cost.
        self.chroma_every = int(chroma_every)
        self._win_onset = np.hanning(self.n_onset).astype(np.float32)
        # Chroma window: an asymmetric one weighted toward the newest samples, so that a
        # chord change shows up sooner than with a centred Hann of the same resolution.
        rise = np.hanning(2 * (self.n_chroma * 3 // 4))[: self.n_chroma * 3 // 4]
        fall = np.hanning(2 * (self.n_chroma - len(rise)))[self.n_chroma - len(rise) :]
        self._win_chroma = np.concatenate([rise, fall]).astype(np.float32)
        fb, fb_freqs = _log_filterbank(self.n_onset, sample_rate, 12, 30.0, 16000.0)
        self._n_bins_on = int(np.flatnonzero(fb.any(axis=1)).max()) + 1
        self._fb = np.ascontiguousarray(fb[: self._n_bins_on])  # only bins any band uses
        self._bass_bands = fb_freqs < 250.0
        pm = _pitch_map(self.n_chroma, sample_rate)
        self._n_bins_ch = int(np.flatnonzero(pm.any(axis=1)).max()) + 1
        self._pitch_map = np.ascontiguousarray(pm[: self._n_bins_ch])
        pitches = np.arange(24, 108)
        self._bass_fold = np.zeros((len(pitches), 12), np.float32)
        self._treble_fold = np.zeros((len(pitches), 12), np.float32)
        for j, p in enumerate(pitches):
            if BASS_PITCHES[0] <= p < BASS_PITCHES[1]:
                self._bass_fold[j, p % 12] = 1.0
            if TREBLE_PITCHES[0] <= p < TREBLE_PITCHES[1]:
                self._treble_fold[j, p % 12] = 1.0
        # One-pole DC blocker (20 Hz corner): a DC offset must not read as bass energy.
        self._dc_r = float(np.exp(-2 * np.pi * 20.0 / self.input_rate))
        self.reset()

    def reset(self) -> None:
        self._hist = np.zeros(self.n_chroma, np.float32)  # newest samples, last = newest
        self._pending = np.zeros(0, np.float32)
        self._dc_state = np.zeros(2)  # last input, last output of the DC blocker
        self._fir_hist = np.zeros(len(self._taps) - 1, np.float32)
        self._fir_phase = np.zeros(1, np.int64)
        self._prev_bands = None
        self._n_frames = 0
        self._last_chroma = np.zeros(12, np.float32)
        self._last_bass = np.zeros(12, np.float32)

    @property
    def frames_done(self) -> int:
        return self._n_frames

    def _mono(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        elif x.ndim != 2:
            raise ValueError(f"audio block must be (frames,) or (frames, channels), not {x.shape}")
        out = np.empty(len(x), np.float32)
        _condition(x, out, self._dc_state, self._dc_r)
        if self.down == 1:
            return out
        dec = np.empty(len(x) // self.down + 1, np.float32)
        n = _decimate(out, self._taps, self._fir_hist, self._fir_phase, self.down, dec)
        return dec[:n]

    def process(self, block: np.ndarray) -> Frames:
        x = np.concatenate([self._pending, self._mono(block)])
        n = len(x) // self.hop
        self._pending = x[n * self.hop :]
        if n == 0:
            return _empty_frames()
        s = np.concatenate([self._hist, x[: n * self.hop]])
        self._hist = s[-self.n_chroma :].copy()
        ends = len(s) - (n - 1 - np.arange(n)) * self.hop  # exclusive frame ends in s
        fr_on = _frames(s, ends, self._win_onset)
        spec = scipy.fft.rfft(fr_on, axis=1)[:, : self._n_bins_on]
        bands = np.abs(spec) @ self._fb
        onset = np.empty(n, np.float32)
        bass_onset = np.empty(n, np.float32)
        energy = np.empty(n, np.float32)
        if self._prev_bands is None:
            self._prev_bands = np.log1p(100.0 * bands[0])
        _flux(bands, self._prev_bands, self._bass_bands, fr_on, onset, bass_onset, energy)

        index = self._n_frames + np.arange(n)  # global frame numbers
        fresh = np.flatnonzero(index % self.chroma_every == 0)
        chroma = np.empty((n, 12), np.float32)
        bass = np.empty((n, 12), np.float32)
        if len(fresh):
            fr_ch = _frames(s, ends[fresh], self._win_chroma)
            spec = scipy.fft.rfft(fr_ch, axis=1)[:, : self._n_bins_ch]
            pitch = np.sqrt((spec.real**2 + spec.imag**2) @ self._pitch_map)
            new_c = np.empty((len(fresh), 12), np.float32)
            new_b = np.empty((len(fresh), 12), np.float32)
            _fold(
                pitch,
                energy[fresh] >= SILENCE_RMS,
                self._treble_fold,
                self._bass_fold,
                new_c,
                new_b,
            )
        else:
            new_c = new_b = np.zeros((0, 12), np.float32)
        # Each frame holds the latest chroma computed at or before it.
        _hold(fresh, new_c, new_b, self._last_chroma, self._last_bass, chroma, bass)

        t = (self._n_frames + 1 + np.arange(n)) * self.hop / self.sample_rate
        self._n_frames += n
        return Frames(t, onset, bass_onset, chroma, bass, energy)


@njit(cache=True)
def _frames(s, ends, window):
    """(len(ends), len(window)) windowed frames of ``s``, each ending before ``ends[i]``."""
    n_win = len(window)
    out = np.empty((len(ends), n_win), np.float32)
    for i in range(len(ends)):
        base = ends[i] - n_win
        for j in range(n_win):
            out[i, j] = s[base + j] * window[j]
    return out


@njit(cache=True)
def _hold(fresh, new_c, new_b, last_c, last_b, chroma, bass):
    """Fill each frame with the newest chroma computed at or before it (last_*: in/out)."""
    j = 0
    for k in range(chroma.shape[0]):
        if j < len(fresh) and fresh[j] == k:
            last_c[:] = new_c[j]
            last_b[:] = new_b[j]
            j += 1
        chroma[k] = last_c
        bass[k] = last_b


@njit(cache=True)
def _flux(bands, prev, bass_bands, frames, onset, bass_onset, energy):
    """Log-compressed band magnitudes -> positive flux (all, bass) and frame RMS.

    prev: the last frame's compressed bands, updated in place.
    """
    n, nb = bands.shape
    for k in range(n):
        total, low = 0.0, 0.0
        for j in range(nb):
            v = np.log1p(100.0 * bands[k, j])
            d = v - prev[j]
            if d > 0:
                total += d
                if bass_bands[j]:
                    low += d
            prev[j] = v
        onset[k] = total
        bass_onset[k] = low
        e = 0.0
        for j in range(frames.shape[1]):
            e += frames[k, j] * frames[k, j]
        energy[k] = np.sqrt(e / frames.shape[1])


@njit(cache=True)
def _condition(x, out, state, r):
    """Mix (n, ch) to mono, zero NaN, clip to full scale, remove DC; state: last x, y."""
    xp, yp = state[0], state[1]
    n, ch = x.shape
    for i in range(n):
        v = 0.0
        for c in range(ch):
            s = x[i, c]
            if np.isnan(s):
                s = 0.0
            v += s
        v = min(max(v / ch, -1.0), 1.0)  # +-inf clip to full scale too
        y = v - xp + r * yp
        xp, yp = v, y
        out[i] = y
    state[0], state[1] = xp, yp


@njit(cache=True)
def _decimate(x, taps, hist, phase, down, out):
    """Low-pass ``x`` with ``taps`` and keep every ``down``-th sample; returns the count.

    hist: the last len(taps)-1 input samples of the previous call; phase[0]: where in
    ``x`` the next kept sample falls. Both are updated.
    """
    m = len(taps) - 1
    buf = np.concatenate((hist, x))
    n_out = 0
    i = phase[0]
    while i < len(x):
        acc = 0.0
        for k in range(m + 1):
            acc += taps[k] * buf[i + m - k]
        out[n_out] = acc
        n_out += 1
        i += down
    phase[0] = i - len(x)
    hist[:] = buf[len(buf) - m :]
    return n_out


@njit(cache=True)
def _fold(pitch, voiced, treble_fold, bass_fold, chroma, bass):
    """Semitone magnitudes (n, 84) -> whitened, log-compressed treble and bass chroma.

    Each pitch is divided by the mean of its 13 neighbours (a smooth spectral envelope),
    so the timbre (a bright SoundFont, a dull microphone) does not pick the pitch classes.
    Rows of unvoiced frames (below the noise floor) are zero; others sum to 1.
    """
    n, p = pitch.shape
    white = np.empty(p, np.float32)
    for k in range(n):
        peak = 0.0
        for j in range(p):
            lo, hi = max(0, j - 6), min(p, j + 7)
            env = 0.0
            for q in range(lo, hi):
                env += pitch[k, q]
            white[j] = env / (hi - lo)
            peak = max(peak, white[j])
        for j in range(p):
            white[j] = np.log1p(pitch[k, j] / (white[j] + 1e-2 * peak + 1e-9))
        for c in range(12):
            chroma[k, c] = 0.0
            bass[k, c] = 0.0
        if not voiced[k]:
            continue
        for j in range(p):
            for c in range(12):
                chroma[k, c] += white[j] * treble_fold[j, c]
                bass[k, c] += white[j] * bass_fold[j, c]
        st, sb = chroma[k].sum(), bass[k].sum()
        for c in range(12):
            chroma[k, c] = chroma[k, c] / st if st > 1e-6 else 0.0
            bass[k, c] = bass[k, c] / sb if sb > 1e-6 else 0.0


def _empty_frames() -> Frames:
    z = np.zeros(0, np.float32)
    return Frames(z, z, z, np.zeros((0, 12), np.float32), np.zeros((0, 12), np.float32), z)

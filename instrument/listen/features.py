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
import scipy.ndimage
import scipy.signal
import scipy.sparse

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

    sample_rate: Hz of the incoming audio. fps: analysis frames per second (the hop is
    ``round(sample_rate / fps)``). Short window (~46 ms) for onsets, long (~186 ms) for
    chroma, both ending at the newest sample.
    """

    def __init__(self, sample_rate: float, fps: float = 100.0, chroma_every: int = 2):
        if not np.isfinite(sample_rate) or sample_rate < 8000:
            raise ValueError(f"sample rate {sample_rate} Hz is too low for listening")
        self.sample_rate = float(sample_rate)
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
        self._fb_t = scipy.sparse.csr_matrix(fb.T)  # (bands, bins): applied as fb_t @ mag.T
        self._bass_bands = fb_freqs < 250.0
        self._pitch_map_t = scipy.sparse.csr_matrix(_pitch_map(self.n_chroma, sample_rate).T)
        pitches = np.arange(24, 108)
        self._bass_fold = np.zeros((len(pitches), 12), np.float32)
        self._treble_fold = np.zeros((len(pitches), 12), np.float32)
        for j, p in enumerate(pitches):
            if BASS_PITCHES[0] <= p < BASS_PITCHES[1]:
                self._bass_fold[j, p % 12] = 1.0
            if TREBLE_PITCHES[0] <= p < TREBLE_PITCHES[1]:
                self._treble_fold[j, p % 12] = 1.0
        # One-pole DC blocker (20 Hz corner): a DC offset must not read as bass energy.
        r = float(np.exp(-2 * np.pi * 20.0 / sample_rate))
        self._dc_b = np.array([1.0, -1.0])
        self._dc_a = np.array([1.0, -r])
        self.reset()

    def reset(self) -> None:
        self._hist = np.zeros(self.n_chroma, np.float32)  # newest samples, last = newest
        self._pending = np.zeros(0, np.float32)
        self._dc_zi = np.zeros(1)
        self._prev_bands = None
        self._n_frames = 0
        self._last_chroma = np.zeros((1, 12), np.float32)
        self._last_bass = np.zeros((1, 12), np.float32)

    @property
    def frames_done(self) -> int:
        return self._n_frames

    def _mono(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block)
        if x.ndim == 2:
            x = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
        elif x.ndim != 1:
            raise ValueError(f"audio block must be (frames,) or (frames, channels), not {x.shape}")
        x = np.nan_to_num(x.astype(np.float64, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)
        # Anything louder than full scale is clipped like a converter would.
        np.clip(x, -1.0, 1.0, out=x)
        y, self._dc_zi = scipy.signal.lfilter(self._dc_b, self._dc_a, x, zi=self._dc_zi)
        return y.astype(np.float32)

    def process(self, block: np.ndarray) -> Frames:
        x = np.concatenate([self._pending, self._mono(block)])
        n = len(x) // self.hop
        self._pending = x[n * self.hop :]
        if n == 0:
            return _empty_frames()
        s = np.concatenate([self._hist, x[: n * self.hop]])
        self._hist = s[-self.n_chroma :].copy()
        ends = len(s) - (n - 1 - np.arange(n)) * self.hop  # exclusive frame ends in s
        view_on = np.lib.stride_tricks.sliding_window_view(s, self.n_onset)
        view_ch = np.lib.stride_tricks.sliding_window_view(s, self.n_chroma)
        fr_on = view_on[ends - self.n_onset] * self._win_onset

        mag = np.abs(np.fft.rfft(fr_on, axis=1)).astype(np.float32)
        bands = np.log1p(100.0 * (self._fb_t @ mag.T).T)
        prev = self._prev_bands if self._prev_bands is not None else bands[:1]
        diff = np.maximum(np.diff(np.vstack([prev, bands]), axis=0), 0.0)
        self._prev_bands = bands[-1:].copy()
        onset = diff.sum(axis=1)
        bass_onset = diff[:, self._bass_bands].sum(axis=1)

        energy = np.sqrt(np.mean(fr_on**2, axis=1))
        index = self._n_frames + np.arange(n)  # global frame numbers
        fresh = np.flatnonzero(index % self.chroma_every == 0)
        chroma = np.empty((n, 12), np.float32)
        bass = np.empty((n, 12), np.float32)
        if len(fresh):
            fr_ch = view_ch[ends[fresh] - self.n_chroma] * self._win_chroma
            power = np.abs(np.fft.rfft(fr_ch, axis=1)).astype(np.float32) ** 2
            pitch = np.sqrt((self._pitch_map_t @ power.T).T)
            # Whiten across pitch: divide by a smooth spectral envelope, so that the timbre
            # (a bright SoundFont, a dull microphone) does not decide the pitch classes.
            env = scipy.ndimage.uniform_filter1d(pitch, 13, axis=1, mode="nearest")
            pitch = np.log1p(pitch / (env + 1e-2 * env.max(axis=1, keepdims=True) + 1e-9))
            pitch[energy[fresh] < SILENCE_RMS] = 0.0  # no pitch classes from the noise floor
            new_c = _normalize_rows(pitch @ self._treble_fold)
            new_b = _normalize_rows(pitch @ self._bass_fold)
            # Each frame holds the latest chroma computed at or before it.
            which = np.searchsorted(fresh, np.arange(n), side="right") - 1
            held = which < 0
            chroma[~held] = new_c[which[~held]]
            bass[~held] = new_b[which[~held]]
            chroma[held] = self._last_chroma
            bass[held] = self._last_bass
            self._last_chroma, self._last_bass = new_c[-1:], new_b[-1:]
        else:
            chroma[:] = self._last_chroma
            bass[:] = self._last_bass

        t = (self._n_frames + 1 + np.arange(n)) * self.hop / self.sample_rate
        self._n_frames += n
        return Frames(t, onset, bass_onset, chroma, bass, energy)


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    s = x.sum(axis=1, keepdims=True)
    return np.where(s > 1e-6, x / np.maximum(s, 1e-12), 0.0).astype(np.float32)


def _empty_frames() -> Frames:
    z = np.zeros(0, np.float32)
    return Frames(z, z, z, np.zeros((0, 12), np.float32), np.zeros((0, 12), np.float32), z)

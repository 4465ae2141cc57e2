//! Whisper's log-mel front end, computed exactly as faster-whisper's `FeatureExtractor` does:
//! 16 kHz audio, 160 zero samples appended, centred STFT (reflect padding, periodic Hann window,
//! n_fft 400, hop 160) with the last frame dropped, power spectrum, 80 Slaney-style mel filters
//! (librosa's `filters.mel(sr=16000, n_fft=400, n_mels=80)`), log10 clamped at 1e-10, floored at
//! the clip's maximum minus 8, then (x + 4) / 4. The result fills a 30 s window of 3000 frames;
//! frames after the audio are 0.0, as faster-whisper pads them.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

pub(crate) const SAMPLE_RATE: usize = 16_000;
pub(crate) const N_FFT: usize = 400;
pub(crate) const HOP: usize = 160;
pub(crate) const N_MELS: usize = 80;
/// Frames in Whisper's fixed 30 s input window.
pub(crate) const N_FRAMES: usize = 3000;
/// Samples in the 30 s window.
pub(crate) const N_SAMPLES: usize = N_FRAMES * HOP;
const N_BINS: usize = N_FFT / 2 + 1;

/// A reusable log-mel extractor (the FFT plan and filter bank are built once).
pub(crate) struct LogMel {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// `N_MELS` rows of `N_BINS` weights.
    filters: Vec<f32>,
}

impl LogMel {
    pub(crate) fn new() -> Self {
        let fft = FftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        // numpy's hanning(N + 1)[:-1]: the periodic Hann window, as torch.hann_window.
        let window = (0..N_FFT)
            .map(|n| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32
            })
            .collect();
        Self {
            fft,
            window,
            filters: mel_filters(),
        }
    }

    /// The `[N_MELS, N_FRAMES]` row-major features of at most 30 s of 16 kHz audio (longer audio
    /// must be cut by the caller). Empty audio gives all zeros.
    pub(crate) fn features(&self, pcm: &[f32]) -> Vec<f32> {
        debug_assert!(pcm.len() <= N_SAMPLES);
        let mut out = vec![0.0f32; N_MELS * N_FRAMES];
        if pcm.is_empty() {
            return out;
        }
        // Append 160 zeros, then reflect-pad n_fft/2 on each side (centred STFT).
        let mut padded = pcm.to_vec();
        padded.resize(pcm.len() + HOP, 0.0);
        let half = (N_FFT / 2) as isize;
        let signal: Vec<f32> = (-half..padded.len() as isize + half)
            .map(|i| padded[reflect(i, padded.len())])
            .collect();
        // STFT frames 0..=len/hop, the last one dropped; never more than the window holds.
        let frames = (padded.len() / HOP).min(N_FRAMES);

        let mut log_spec = vec![0.0f32; N_MELS * frames];
        let mut buf = vec![Complex::new(0.0f32, 0.0); N_FFT];
        let mut scratch = vec![Complex::new(0.0f32, 0.0); self.fft.get_inplace_scratch_len()];
        let mut power = [0.0f32; N_BINS];
        for t in 0..frames {
            let frame = &signal[t * HOP..t * HOP + N_FFT];
            for ((b, x), w) in buf.iter_mut().zip(frame).zip(&self.window) {
                *b = Complex::new(x * w, 0.0);
            }
            self.fft.process_with_scratch(&mut buf, &mut scratch);
            for (p, c) in power.iter_mut().zip(&buf) {
                *p = c.norm_sqr();
            }
            for m in 0..N_MELS {
                let row = &self.filters[m * N_BINS..(m + 1) * N_BINS];
                let energy: f32 = row.iter().zip(&power).map(|(w, p)| w * p).sum();
                log_spec[m * frames + t] = energy.max(1e-10).log10();
            }
        }
        let max = log_spec.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let floor = max - 8.0;
        for m in 0..N_MELS {
            for t in 0..frames {
                out[m * N_FRAMES + t] = (log_spec[m * frames + t].max(floor) + 4.0) / 4.0;
            }
        }
        out
    }
}

/// numpy's "reflect" padding index (the edge sample is not repeated), folding as often as needed.
fn reflect(i: isize, len: usize) -> usize {
    if len == 1 {
        return 0;
    }
    let period = 2 * (len as isize - 1);
    let mut k = i.rem_euclid(period);
    if k >= len as isize {
        k = period - k;
    }
    k as usize
}

/// Slaney's mel scale (librosa's default, `htk=False`): linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / logstep
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (logstep * (mel - min_log_mel)).exp()
    } else {
        F_SP * mel
    }
}

/// librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, norm="slaney"): triangles between
/// mel-spaced edge frequencies from 0 to 8 kHz, each scaled to unit area (2 / bandwidth).
fn mel_filters() -> Vec<f32> {
    let max_mel = hz_to_mel(SAMPLE_RATE as f64 / 2.0);
    let edges: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(max_mel * i as f64 / (N_MELS + 1) as f64))
        .collect();
    let mut filters = vec![0.0f32; N_MELS * N_BINS];
    for m in 0..N_MELS {
        let (lo, centre, hi) = (edges[m], edges[m + 1], edges[m + 2]);
        let enorm = 2.0 / (hi - lo);
        for k in 0..N_BINS {
            let f = k as f64 * SAMPLE_RATE as f64 / N_FFT as f64;
            let rising = (f - lo) / (centre - lo);
            let falling = (hi - f) / (hi - centre);
            filters[m * N_BINS + k] = (rising.min(falling).max(0.0) * enorm) as f32;
        }
    }
    filters
}

/// Index of the mel band whose filter responds most to `hz` (for tests).
#[cfg(test)]
fn strongest_band(hz: f64) -> usize {
    let filters = mel_filters();
    let k = (hz * N_FFT as f64 / SAMPLE_RATE as f64).round() as usize;
    (0..N_MELS)
        .max_by(|&a, &b| filters[a * N_BINS + k].total_cmp(&filters[b * N_BINS + k]))
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amplitude: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (amplitude
                    * (2.0 * std::f64::consts::PI * freq * i as f64 / SAMPLE_RATE as f64).sin())
                    as f32
            })
            .collect()
    }

    #[test]
    fn slaney_scale_is_linear_to_1k_and_round_trips() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        // faster-whisper's constant for the top edge (8 kHz).
        assert!((hz_to_mel(8000.0) - 45.245640471924965).abs() < 1e-12);
        for hz in [0.0, 123.0, 999.0, 1000.0, 2500.0, 7999.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
    }

    #[test]
    fn filter_bank_matches_whisper_reference_values() {
        let f = mel_filters();
        // Values of faster-whisper 1.2.1's FeatureExtractor.get_mel_filters (= librosa's).
        let want = [
            (0, 1, 0.024_862_595),
            (1, 1, 0.001_990_822),
            (1, 2, 0.022_871_772),
            (40, 43, 0.014_735_566),
            (79, 192, 0.003_164_711_6),
        ];
        for (m, k, w) in want {
            assert!(
                (f[m * N_BINS + k] - w).abs() < 1e-7,
                "[{m}, {k}] = {}",
                f[m * N_BINS + k]
            );
        }
        // Every band has some weight, and nothing reaches past Nyquist.
        for m in 0..N_MELS {
            assert!(
                f[m * N_BINS..(m + 1) * N_BINS].iter().any(|w| *w > 0.0),
                "band {m} empty"
            );
        }
    }

    #[test]
    fn silence_gives_the_floor_value() {
        let mel = LogMel::new();
        let out = mel.features(&vec![0.0; SAMPLE_RATE]);
        // log10(1e-10) = -10 everywhere, so the maximum is -10 too: (-10 + 4) / 4 = -1.5. The
        // audio covers 101 frames (1 s plus the 160 appended samples); the rest is 0.0 padding.
        for band in out.chunks(N_FRAMES) {
            assert!(band[..101].iter().all(|x| *x == -1.5));
            assert!(band[101..].iter().all(|x| *x == 0.0));
        }
    }

    #[test]
    fn a_sine_lands_in_its_mel_band_and_the_rest_sits_8_decades_below() {
        let mel = LogMel::new();
        for hz in [440.0, 1000.0, 2000.0, 3000.0] {
            let out = mel.features(&sine(hz, 0.5, SAMPLE_RATE));
            let t = 50; // a frame in the middle
            let column: Vec<f32> = (0..N_MELS).map(|m| out[m * N_FRAMES + t]).collect();
            let loudest = (0..N_MELS)
                .max_by(|&a, &b| column[a].total_cmp(&column[b]))
                .unwrap();
            assert_eq!(loudest, strongest_band(hz), "{hz} Hz");
            // The dynamic range is clamped to 8 decades: (max - 8 + 4) / 4 = max / 4... below.
            let max = column[loudest];
            let min = column.iter().copied().fold(f32::INFINITY, f32::min);
            assert!(max - min <= 2.0 + 1e-6, "{hz} Hz: range {}", max - min);
            assert!(min < max - 1.0, "{hz} Hz: too little contrast");
        }
    }

    #[test]
    fn frame_count_follows_the_audio_length() {
        let mel = LogMel::new();
        // 0.5 s = 8000 samples → 8160 padded → 51 frames; frame 51 onwards is padding.
        let out = mel.features(&sine(1000.0, 0.1, 8000));
        let band = strongest_band(1000.0);
        assert!(out[band * N_FRAMES + 50] != 0.0);
        assert_eq!(out[band * N_FRAMES + 51], 0.0);
        // A full 30 s fills the window.
        let out = mel.features(&sine(1000.0, 0.1, N_SAMPLES));
        assert!(out[band * N_FRAMES + N_FRAMES - 1] != 0.0);
    }

    #[test]
    fn louder_is_higher_by_the_log_of_the_power_ratio() {
        let mel = LogMel::new();
        // Two tones in one clip: the quiet one is 20 dB (2 decades of power) down: 0.5 units.
        let mut pcm = sine(1000.0, 0.5, SAMPLE_RATE);
        pcm.extend(sine(1000.0, 0.05, SAMPLE_RATE));
        let out = mel.features(&pcm);
        let band = strongest_band(1000.0);
        let loud = out[band * N_FRAMES + 50];
        let quiet = out[band * N_FRAMES + 150];
        assert!(((loud - quiet) - 0.5).abs() < 0.01, "{}", loud - quiet);
    }

    #[test]
    fn reflect_matches_numpy() {
        // np.pad([0,1,2,3], 5, mode="reflect") → [1,2,3,2,1, 0,1,2,3, 2,1,0,1,2]
        let got: Vec<usize> = (-5..9).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, vec![1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
    }
}

//! Deterministic synthetic signals for tests and corpora (8 kHz, linear i16).
//!
//! Amplitudes are peak values: `sine(f, ms, 8000)` swings ±8000, and a sum (`dual`, `chord`)
//! splits the amplitude between its components so it never clips. Noise and speech-like
//! signals use their own xorshift generator, so a seed always gives the same samples.

use crate::SAMPLES_PER_MS;
use crate::dsp::XorShift;
use std::f64::consts::TAU;

const RATE: f64 = crate::SAMPLE_RATE as f64;

fn len(ms: u64) -> usize {
    (ms.saturating_mul(SAMPLES_PER_MS)) as usize
}

fn to_i16(v: f64) -> i16 {
    v.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

/// `ms` of digital silence.
pub fn silence(ms: u64) -> Vec<i16> {
    vec![0; len(ms)]
}

/// A sine of peak `amplitude`, starting at phase 0.
pub fn sine(freq: f32, ms: u64, amplitude: i16) -> Vec<i16> {
    chord(&[freq], ms, amplitude)
}

/// Two sines of `amplitude / 2` each (so the peak is at most `amplitude`).
pub fn dual(f1: f32, f2: f32, ms: u64, amplitude: i16) -> Vec<i16> {
    chord(&[f1, f2], ms, amplitude)
}

/// Equal-amplitude sines summing to a peak of at most `amplitude`.
pub fn chord(freqs: &[f32], ms: u64, amplitude: i16) -> Vec<i16> {
    if freqs.is_empty() {
        return silence(ms);
    }
    let a = f64::from(amplitude) / freqs.len() as f64;
    (0..len(ms))
        .map(|i| {
            let t = i as f64 / RATE;
            to_i16(
                freqs
                    .iter()
                    .map(|&f| a * (TAU * f64::from(f) * t).sin())
                    .sum::<f64>(),
            )
        })
        .collect()
}

/// In-band DTMF for `digit` (`0-9`, `*`, `#`, `A-D`), both tones at `amplitude / 2`.
pub fn dtmf(digit: char, ms: u64, amplitude: i16) -> Option<Vec<i16>> {
    crate::dtmf::key_freqs(digit).map(|(r, c)| dual(r, c, ms, amplitude))
}

/// Uniform white noise in ±`amplitude` (RMS = amplitude/√3).
pub fn noise(ms: u64, amplitude: i16, seed: u64) -> Vec<i16> {
    let mut rng = XorShift::new(seed);
    (0..len(ms))
        .map(|_| to_i16(rng.signed() * f64::from(amplitude)))
        .collect()
}

/// Syllabic AM-modulated harmonic source (~4 Hz syllables, 100–300 Hz pitch with formant-ish
/// harmonics) to test VAD/music discrimination.
///
/// Syllables of 120–280 ms separated by 30–120 ms pauses (about 3.6 per second, never a pause
/// long enough to end an utterance). Each syllable has its own vowel (three formants, so no
/// single harmonic dominates), a pitch of 100–300 Hz gliding ±10 %, a 25 ms attack, a short
/// burst of consonant noise and a smooth decay. Normalised so the peak is `amplitude`.
pub fn speech_like(ms: u64, amplitude: i16, seed: u64) -> Vec<i16> {
    let n = len(ms);
    let mut rng = XorShift::new(seed);
    let mut out = vec![0.0f64; n];
    let speaker_f0 = 110.0 + 100.0 * rng.unit();
    let mut i = 0usize;
    let mut phase = 0.0f64; // of the fundamental, in cycles
    while i < n {
        let syl = len(rng.range(120, 280));
        let gap = len(rng.range(30, 120));
        let f0a = (speaker_f0 * (0.8 + 0.5 * rng.unit())).clamp(100.0, 300.0);
        let f0b = (f0a * (0.9 + 0.2 * rng.unit())).clamp(100.0, 300.0);
        let formants = [
            (300.0 + 500.0 * rng.unit(), 1.0),
            (900.0 + 1300.0 * rng.unit(), 0.7),
            (2300.0 + 700.0 * rng.unit(), 0.4),
        ];
        let harmonics = (3400.0 / f0a) as usize;
        let gains: Vec<f64> = (1..=harmonics)
            .map(|h| {
                let f = h as f64 * f0a;
                0.15 / h as f64
                    + formants
                        .iter()
                        .map(|&(fc, g)| g * (-((f - fc) / 150.0).powi(2)).exp())
                        .sum::<f64>()
            })
            .collect();
        let attack = len(25) as f64;
        let consonant = len(15);
        for j in 0..syl.min(n - i) {
            let t = j as f64 / syl as f64;
            let env = if (j as f64) < attack {
                0.5 - 0.5 * (std::f64::consts::PI * j as f64 / attack).cos()
            } else {
                // Smooth decay over the syllable's second half.
                let d = ((t - 0.5) / 0.5).clamp(0.0, 1.0);
                0.5 + 0.5 * (std::f64::consts::PI * d).cos()
            };
            phase += (f0a + (f0b - f0a) * t) / RATE;
            let (s, c) = (TAU * phase).sin_cos();
            // Harmonics by rotation: (c + js)^h.
            let (mut hr, mut hi) = (c, s);
            let mut v = 0.0;
            for g in &gains {
                v += g * hi;
                (hr, hi) = (hr * c - hi * s, hr * s + hi * c);
            }
            if j < consonant {
                v += 0.4 * rng.signed();
            }
            out[i + j] = env * v;
        }
        i += syl + gap;
        phase = phase.fract();
    }
    let peak = out.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = if peak > 0.0 {
        f64::from(amplitude) / peak
    } else {
        0.0
    };
    out.iter().map(|v| to_i16(v * scale)).collect()
}

/// Repeats the first `on_ms` of `on` (looped if shorter) followed by `off_ms` of silence, for
/// `total_ms` in all.
pub fn cadence(on: &[i16], on_ms: u64, off_ms: u64, total_ms: u64) -> Vec<i16> {
    let total = len(total_ms);
    let mut out = Vec::with_capacity(total);
    if on.is_empty() || on_ms + off_ms == 0 {
        out.resize(total, 0);
        return out;
    }
    let on_len = len(on_ms);
    'outer: loop {
        for k in 0..on_len {
            if out.len() == total {
                break 'outer;
            }
            out.push(on[k % on.len()]);
        }
        for _ in 0..len(off_ms) {
            if out.len() == total {
                break 'outer;
            }
            out.push(0);
        }
    }
    out
}

/// Sample-wise sum of two signals (saturating); the result has the longer length.
pub fn mix(a: &[i16], b: &[i16]) -> Vec<i16> {
    (0..a.len().max(b.len()))
        .map(|i| {
            a.get(i)
                .copied()
                .unwrap_or(0)
                .saturating_add(b.get(i).copied().unwrap_or(0))
        })
        .collect()
}

/// Root-mean-square level.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Peak amplitude of uniform white noise at `dbfs` RMS (relative to full-scale square wave,
/// the VAD's convention): 20·log10(rms/32768) = dbfs.
pub fn noise_amplitude_for_dbfs(dbfs: f64) -> i16 {
    to_i16(32768.0 * 10f64.powf(dbfs / 20.0) * 3f64.sqrt())
}

/// A melody: each note a tone with 2nd and 3rd harmonics (−6, −12 dB), `note_ms` long, played
/// legato with continuous phase (a sustained instrument, like hold music), peak ≤ `amplitude`.
pub fn melody(notes: &[f32], note_ms: u64, amplitude: i16) -> Vec<i16> {
    let a = f64::from(amplitude) / 1.75;
    let mut phase = 0.0f64;
    let mut out = Vec::with_capacity(notes.len() * len(note_ms));
    for &f in notes {
        for _ in 0..len(note_ms) {
            phase = (phase + f64::from(f) / RATE).fract();
            let p = TAU * phase;
            out.push(to_i16(
                a * (p.sin() + 0.5 * (2.0 * p).sin() + 0.25 * (3.0 * p).sin()),
            ));
        }
    }
    out
}

/// North American ringback (440 + 480 Hz, 2 s on / 4 s off).
pub fn ringback(total_ms: u64, amplitude: i16) -> Vec<i16> {
    cadence(&dual(440.0, 480.0, 2000, amplitude), 2000, 4000, total_ms)
}

/// Busy (480 + 620 Hz, 0.5 s on / 0.5 s off).
pub fn busy(total_ms: u64, amplitude: i16) -> Vec<i16> {
    cadence(&dual(480.0, 620.0, 500, amplitude), 500, 500, total_ms)
}

/// Reorder / fast busy (480 + 620 Hz, 0.25 s on / 0.25 s off).
pub fn reorder(total_ms: u64, amplitude: i16) -> Vec<i16> {
    cadence(&dual(480.0, 620.0, 250, amplitude), 250, 250, total_ms)
}

/// One SIT sequence (913.8 Hz 274 ms, 1370.6 Hz 274 ms, 1776.7 Hz 380 ms: "reorder" SIT).
pub fn sit(amplitude: i16) -> Vec<i16> {
    [
        sine(913.8, 274, amplitude),
        sine(1370.6, 274, amplitude),
        sine(1776.7, 380, amplitude),
    ]
    .concat()
}

/// Fax calling tone CNG (1100 Hz, 0.5 s on / 3 s off).
pub fn fax_cng(total_ms: u64, amplitude: i16) -> Vec<i16> {
    cadence(&sine(1100.0, 500, amplitude), 500, 3000, total_ms)
}

//! Small DSP building blocks shared by the stages: re-blocking frames into fixed analysis blocks
//! keyed by sample index, Goertzel filters, a 256-point FFT and a deterministic PRNG.

use crate::{Frame, SAMPLES_PER_MS};
use std::f32::consts::PI;

/// Full-scale sample value; analysis works on samples scaled to ±1.0.
pub(crate) const FULL_SCALE: f32 = 32768.0;

/// Cuts frames of any length into blocks of `N` samples, each tagged with the absolute sample
/// index (media ms × 8) of its first sample. A frame that does not continue the previous one
/// (media-time jump) discards the partial block, so blocks never straddle a discontinuity.
pub(crate) struct Reblocker<const N: usize> {
    buf: [i16; N],
    len: usize,
    next: Option<u64>,
}

impl<const N: usize> Reblocker<N> {
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            next: None,
        }
    }

    /// Aligns to `frame`; returns true when the frame is a discontinuity (not the first frame).
    pub(crate) fn sync(&mut self, frame: &Frame) -> bool {
        let start = frame.start_ms.saturating_mul(SAMPLES_PER_MS);
        let restarted = matches!(self.next, Some(n) if n != start);
        if self.next != Some(start) {
            self.len = 0;
            self.next = Some(start);
        }
        restarted
    }

    /// Consumes samples from `rest` until a block completes; returns `(start_sample, block)`.
    pub(crate) fn next_block(&mut self, rest: &mut &[i16]) -> Option<(u64, [i16; N])> {
        while !rest.is_empty() {
            let take = (N - self.len).min(rest.len());
            self.buf[self.len..self.len + take].copy_from_slice(&rest[..take]);
            self.len += take;
            *rest = &rest[take..];
            let next = self.next.unwrap_or(0).saturating_add(take as u64);
            self.next = Some(next);
            if self.len == N {
                self.len = 0;
                return Some((next.saturating_sub(N as u64), self.buf));
            }
        }
        None
    }
}

/// Samples scaled to ±1.0.
pub(crate) fn to_f32<const N: usize>(x: &[i16; N]) -> [f32; N] {
    x.map(|s| f32::from(s) / FULL_SCALE)
}

/// Sum of squares.
pub(crate) fn energy(x: &[f32]) -> f32 {
    x.iter().map(|v| v * v).sum()
}

/// `2·cos(ω)` for a Goertzel filter at `freq_hz`.
pub(crate) fn goertzel_coef(freq_hz: f32) -> f32 {
    2.0 * (2.0 * PI * freq_hz / crate::SAMPLE_RATE as f32).cos()
}

/// |X(f)|² of `x` at the frequency whose coefficient is `coef` (see [`goertzel_coef`]).
pub(crate) fn goertzel_power(x: &[f32], coef: f32) -> f32 {
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s0 = v + coef * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coef * s1 * s2).max(0.0)
}

/// [`goertzel_power`] for several frequencies in one pass (the filters run side by side, which
/// the compiler vectorises; one filter at a time is bound by its recurrence's latency).
pub(crate) fn goertzel_bank<const K: usize>(x: &[f32], coefs: &[f32; K]) -> [f32; K] {
    let mut s1 = [0.0f32; K];
    let mut s2 = [0.0f32; K];
    for &v in x {
        for k in 0..K {
            let s0 = v + coefs[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s0;
        }
    }
    std::array::from_fn(|k| (s1[k] * s1[k] + s2[k] * s2[k] - coefs[k] * s1[k] * s2[k]).max(0.0))
}

/// Amplitude of a sinusoid at the filter frequency in a rectangular block of `n` samples.
pub(crate) fn amplitude(power: f32, n: usize) -> f32 {
    2.0 * power.sqrt() / n as f32
}

/// Power ratio in dB (`10·log10(a/b)`), safe for zeros.
pub(crate) fn db(a: f32, b: f32) -> f32 {
    10.0 * ((a + 1e-20) / (b + 1e-20)).log10()
}

/// Periodic Hann window of length `N`.
pub(crate) fn hann<const N: usize>() -> [f32; N] {
    std::array::from_fn(|i| 0.5 - 0.5 * (2.0 * PI * i as f32 / N as f32).cos())
}

/// Size of the FFT used by the tone detector: 32 ms, 31.25 Hz bins.
pub(crate) const FFT_N: usize = 256;

/// Real-input 256-point FFT with precomputed tables, returning one-sided power. The real
/// signal is packed into a 128-point complex FFT (even samples real, odd imaginary) and
/// unpacked, which halves the work.
pub(crate) struct Fft256 {
    /// cos/sin of 2πj/256 for j < 128.
    cos: [f32; FFT_N / 2],
    sin: [f32; FFT_N / 2],
    /// 7-bit bit reversal for the 128-point stage.
    rev: [u8; FFT_N / 2],
}

impl Fft256 {
    pub(crate) fn new() -> Self {
        let step = 2.0 * std::f64::consts::PI / FFT_N as f64;
        Self {
            cos: std::array::from_fn(|j| (step * j as f64).cos() as f32),
            sin: std::array::from_fn(|j| (step * j as f64).sin() as f32),
            rev: std::array::from_fn(|i| (i as u8).reverse_bits() >> 1),
        }
    }

    /// |X[k]|² for k = 0..=128 of a real input.
    pub(crate) fn power(&self, x: &[f32; FFT_N]) -> [f32; FFT_N / 2 + 1] {
        const M: usize = FFT_N / 2;
        let mut re = [0.0f32; M];
        let mut im = [0.0f32; M];
        for (n, pair) in x.chunks_exact(2).enumerate() {
            let r = usize::from(self.rev[n]);
            re[r] = pair[0];
            im[r] = pair[1];
        }
        let mut len = 2;
        while len <= M {
            let half = len / 2;
            // e^{-2πi·j/len} is entry j·(256/len) of the 256-point table.
            let stride = FFT_N / len;
            for start in (0..M).step_by(len) {
                for j in 0..half {
                    let (wr, wi) = (self.cos[j * stride], -self.sin[j * stride]);
                    let (a, b) = (start + j, start + j + half);
                    let tr = re[b] * wr - im[b] * wi;
                    let ti = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
            len <<= 1;
        }
        // Unpack: E[k] = (Z[k] + Z*[M-k])/2, O[k] = (Z[k] - Z*[M-k])/2i, X[k] = E[k] + W^k·O[k].
        std::array::from_fn(|k| {
            let (a, b) = (k % M, (M - k) % M);
            let (er, ei) = (0.5 * (re[a] + re[b]), 0.5 * (im[a] - im[b]));
            let (or, oi) = (0.5 * (im[a] + im[b]), -0.5 * (re[a] - re[b]));
            let (wr, wi) = if k < M {
                (self.cos[k], -self.sin[k])
            } else {
                (-1.0, 0.0)
            };
            let xr = er + wr * or - wi * oi;
            let xi = ei + wr * oi + wi * or;
            xr * xr + xi * xi
        })
    }
}

/// Offset of the true peak from bin `k` by parabolic interpolation of log power at k-1, k, k+1.
pub(crate) fn parabolic_offset(lo: f32, mid: f32, hi: f32) -> f32 {
    let (a, b, c) = ((lo + 1e-20).ln(), (mid + 1e-20).ln(), (hi + 1e-20).ln());
    let den = a - 2.0 * b + c;
    if den.abs() < 1e-12 {
        0.0
    } else {
        (0.5 * (a - c) / den).clamp(-0.5, 0.5)
    }
}

/// xorshift64* — a tiny deterministic PRNG so generated test signals never change.
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        // splitmix64 scrambles the seed; a zero state would stick at zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 1 } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    pub(crate) fn signed(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }

    /// Uniform integer in [lo, hi].
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_finds_a_bin_centred_tone() {
        let fft = Fft256::new();
        let x: [f32; FFT_N] =
            std::array::from_fn(|i| (2.0 * PI * 10.0 * i as f32 / FFT_N as f32).cos());
        let p = fft.power(&x);
        let peak = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        assert_eq!(peak, 10);
        assert!((p[10] - (FFT_N as f32 / 2.0).powi(2)).abs() < 1.0);
        assert!(p[20] < 1e-3);
    }

    #[test]
    fn fft_matches_a_direct_dft() {
        let fft = Fft256::new();
        let mut rng = XorShift::new(3);
        let x: [f32; FFT_N] = std::array::from_fn(|_| rng.signed() as f32);
        let p = fft.power(&x);
        for k in [0, 1, 7, 64, 100, 127, 128] {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (n, &v) in x.iter().enumerate() {
                let a = -2.0 * std::f64::consts::PI * (k * n) as f64 / FFT_N as f64;
                re += f64::from(v) * a.cos();
                im += f64::from(v) * a.sin();
            }
            let want = re * re + im * im;
            assert!(
                (f64::from(p[k]) - want).abs() <= 1e-3 * want.max(1.0),
                "bin {k}"
            );
        }
    }

    #[test]
    fn goertzel_measures_amplitude() {
        let n = 400;
        let x: Vec<f32> = (0..n)
            .map(|i| 0.5 * (2.0 * PI * 440.0 * i as f32 / 8000.0).sin())
            .collect();
        let a = amplitude(goertzel_power(&x, goertzel_coef(440.0)), n);
        assert!((a - 0.5).abs() < 0.01, "{a}");
        // 480 Hz is an exact null for a 400-sample rectangular block.
        let b = amplitude(goertzel_power(&x, goertzel_coef(480.0)), n);
        assert!(b < 0.01, "{b}");
    }

    #[test]
    fn goertzel_bank_matches_single_filters() {
        let x: Vec<f32> = (0..160)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let coefs = [
            goertzel_coef(440.0),
            goertzel_coef(1000.0),
            goertzel_coef(3000.0),
        ];
        let bank = goertzel_bank(&x, &coefs);
        for (p, c) in bank.iter().zip(coefs) {
            assert!((p - goertzel_power(&x, c)).abs() <= 1e-3 * p.max(1.0));
        }
    }

    #[test]
    fn reblocker_tags_blocks_with_sample_index() {
        let mut r = Reblocker::<80>::new();
        let f = Frame {
            start_ms: 100,
            samples: vec![1; 200],
        };
        assert!(!r.sync(&f));
        let mut rest = &f.samples[..];
        let mut starts = vec![];
        while let Some((s, _)) = r.next_block(&mut rest) {
            starts.push(s);
        }
        assert_eq!(starts, vec![800, 880]);
        let g = Frame {
            start_ms: 125,
            samples: vec![1; 40],
        };
        assert!(!r.sync(&g));
        let mut rest = &g.samples[..];
        assert_eq!(r.next_block(&mut rest).map(|b| b.0), Some(960));
        assert!(r.sync(&Frame {
            start_ms: 0,
            samples: vec![]
        }));
    }
}

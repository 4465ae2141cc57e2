//! Telephone audio to Whisper's input: G.711 µ-law decoding and 8 → 16 kHz upsampling.

/// G.711 µ-law byte → linear sample in [-1, 1) (full scale 32768, as a 16-bit decoder gives).
pub(crate) fn ulaw_to_f32(byte: u8) -> f32 {
    ULAW_TABLE[byte as usize]
}

static ULAW_TABLE: [f32; 256] = {
    let mut table = [0.0f32; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ulaw_to_i16(i as u8) as f32 / 32768.0;
        i += 1;
    }
    table
};

/// The standard G.711 expansion (bias 0x84, inverted bits; as Python's audioop.ulaw2lin):
/// 0xFF and 0x7F are ±0, 0x80 is +32124, 0x00 is −32124.
const fn ulaw_to_i16(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Taps on each side of the interpolation point.
const HALF_TAPS: usize = 32;

/// The polyphase branch of a windowed-sinc half-band low-pass (cut-off 4 kHz at 16 kHz, Blackman
/// window, 128 taps): the weights that make the sample half-way between `x[n]` and `x[n + 1]`
/// from `x[n - 31] ..= x[n + 32]`. The even branch is the identity, since the sinc is zero at
/// every other integer. Normalised to a DC gain of exactly 1.
fn half_sample_kernel() -> [f32; 2 * HALF_TAPS] {
    let mut kernel = [0.0f64; 2 * HALF_TAPS];
    let len = (4 * HALF_TAPS) as f64; // full filter length at 16 kHz
    for (j, w) in kernel.iter_mut().enumerate() {
        // Offset from the interpolation point, in input samples: -31.5 ..= 31.5.
        let t = j as f64 - (HALF_TAPS as f64 - 0.5);
        let sinc = (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t);
        // Blackman window over the 16 kHz filter, evaluated at this tap's position.
        let p = (2.0 * t + len / 2.0) / len;
        let window = 0.42 - 0.5 * (2.0 * std::f64::consts::PI * p).cos()
            + 0.08 * (4.0 * std::f64::consts::PI * p).cos();
        *w = sinc * window;
    }
    let sum: f64 = kernel.iter().sum();
    kernel.map(|w| (w / sum) as f32)
}

/// Upsamples 8 kHz audio to 16 kHz by band-limited interpolation: every input sample is kept and
/// a windowed-sinc value is inserted after each one. Samples outside the input count as 0.
pub(crate) fn upsample_8k_to_16k(input: &[f32]) -> Vec<f32> {
    let kernel = half_sample_kernel();
    let mut out = Vec::with_capacity(input.len() * 2);
    for n in 0..input.len() {
        out.push(input[n]);
        // x[n - HALF_TAPS + 1 + j] for j in 0..2*HALF_TAPS, skipping indices outside the input.
        let first = n as isize - HALF_TAPS as isize + 1;
        let mut acc = 0.0f32;
        for (j, w) in kernel.iter().enumerate() {
            let i = first + j as isize;
            if i >= 0 && (i as usize) < input.len() {
                acc += w * input[i as usize];
            }
        }
        out.push(acc);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_decodes_the_g711_reference_points() {
        assert_eq!(ulaw_to_i16(0xFF), 0);
        assert_eq!(ulaw_to_i16(0x7F), 0);
        assert_eq!(ulaw_to_i16(0x00), -32124);
        assert_eq!(ulaw_to_i16(0x80), 32124);
        assert_eq!(ulaw_to_i16(0xFE), 8);
        assert_eq!(ulaw_to_i16(0x7E), -8);
        assert_eq!(ulaw_to_i16(0xF0), 120);
        // Monotonic within each sign half.
        for b in 0x80u8..0xFF {
            assert!(ulaw_to_i16(b) > ulaw_to_i16(b + 1));
        }
        assert!((ulaw_to_f32(0x80) - 32124.0 / 32768.0).abs() < 1e-7);
    }

    #[test]
    fn upsampling_doubles_the_length_and_keeps_the_original_samples() {
        let input: Vec<f32> = (0..100)
            .map(|i| ((i * 37) % 11) as f32 / 11.0 - 0.5)
            .collect();
        let out = upsample_8k_to_16k(&input);
        assert_eq!(out.len(), 200);
        for (i, x) in input.iter().enumerate() {
            assert_eq!(out[2 * i], *x);
        }
    }

    #[test]
    fn upsampling_preserves_dc() {
        let out = upsample_8k_to_16k(&[0.25; 400]);
        // Away from the edges (where the input is taken as zero beyond its ends).
        for y in &out[2 * HALF_TAPS..out.len() - 2 * HALF_TAPS] {
            assert!((y - 0.25).abs() < 1e-5, "{y}");
        }
    }

    fn sine(freq: f64, rate: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / rate).sin() as f32)
            .collect()
    }

    #[test]
    fn upsampled_telephone_band_tones_match_a_tone_sampled_at_16k() {
        for freq in [300.0, 1000.0, 2500.0, 3400.0] {
            let out = upsample_8k_to_16k(&sine(freq, 8000.0, 800));
            let want = sine(freq, 16000.0, 1600);
            let interior = 4 * HALF_TAPS..1600 - 4 * HALF_TAPS;
            let err = interior
                .clone()
                .map(|i| (out[i] - want[i]).abs())
                .fold(0.0f32, f32::max);
            // Within about 1 % of full scale up to 3.4 kHz (the telephone band's top).
            assert!(err < 0.012, "{freq} Hz: max error {err}");
        }
    }

    #[test]
    fn upsampling_adds_no_image_above_4k() {
        // A 3 kHz tone at 8 kHz has its image at 5 kHz after naive zero-stuffing; the filter must
        // leave the interpolated signal with almost no energy there.
        let out = upsample_8k_to_16k(&sine(3000.0, 8000.0, 800));
        let interior = &out[4 * HALF_TAPS..1600 - 4 * HALF_TAPS];
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, y) in interior.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * 5000.0 * i as f64 / 16000.0;
            re += *y as f64 * phase.cos();
            im += *y as f64 * phase.sin();
        }
        let image_amplitude = 2.0 * (re * re + im * im).sqrt() / interior.len() as f64;
        assert!(image_amplitude < 0.01, "image at 5 kHz: {image_amplitude}");
    }

    #[test]
    fn upsampling_empty_input_is_empty() {
        assert!(upsample_8k_to_16k(&[]).is_empty());
    }
}

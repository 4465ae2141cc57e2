//! Property tests of the detectors' answers (not just "no panic"): random key sequences, levels,
//! twist, timing and line noise within Q.24's must-accept region are all detected, in order,
//! at the right times, through G.711; tones outside the must-reject limits never are.

use proptest::prelude::*;
use switchboard_audio::r#gen::{mix, noise, silence, sine};
use switchboard_audio::{AudioEvent, DtmfDetector, Framer, Stage, g711};

const KEYS: &[char] = &[
    '1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D',
];
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

fn freqs(k: char) -> (f32, f32) {
    let i = KEYS.iter().position(|c| *c == k).unwrap();
    (ROWS[i / 4], COLS[i % 4])
}

/// A two-tone press with each tone's peak amplitude given (twist = their ratio) and a frequency
/// offset.
fn press(k: char, ms: u64, row_peak: i16, col_peak: i16, offset: f32) -> Vec<i16> {
    let (r, c) = freqs(k);
    let low = sine(r * (1.0 + offset), ms, row_peak);
    let high = sine(c * (1.0 + offset), ms, col_peak);
    mix(&low, &high)
}

/// Runs µ-law audio (as it crosses the network) through the DTMF detector.
fn detect(pcm: &[i16]) -> Vec<(u64, char)> {
    let ulaw = g711::encode(pcm);
    let (mut framer, mut det) = (Framer::new(), DtmfDetector::new());
    let mut out = Vec::new();
    for (i, chunk) in ulaw.chunks(160).enumerate() {
        for f in framer.push(i as u64 * 20, &g711::decode(chunk)) {
            for e in det.push(&f) {
                if let AudioEvent::Dtmf { at_ms, digit, .. } = e {
                    out.push((at_ms, digit));
                }
            }
        }
    }
    for e in det.finish() {
        if let AudioEvent::Dtmf { at_ms, digit, .. } = e {
            out.push((at_ms, digit));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Q.24 must-accept: ≥ 40 ms tones, ≥ 40 ms pauses, each tone from about −25 dBm0 (a peak of
    /// 1,400 of 32,768) up, normal twist (column weaker) up to 8 dB and reverse up to 4 dB,
    /// ±1.5 % frequency, line noise 20 dB under the weaker tone.
    #[test]
    fn sequences_in_the_must_accept_region_are_detected_in_order(
        seq in proptest::collection::vec(proptest::sample::select(KEYS), 1..6),
        tone_ms in 45u64..150,
        gap_ms in 45u64..150,
        weaker in 1400i16..5000,
        twist_db in -3.5f32..7.5,
        offset in -0.015f32..0.015,
        seed in any::<u64>(),
    ) {
        let stronger = (weaker as f32 * 10f32.powf(twist_db.abs() / 20.0)) as i16;
        let (level, col) = if twist_db >= 0.0 { (stronger, weaker) } else { (weaker, stronger) };
        let mut pcm = silence(200);
        let mut starts = Vec::new();
        for k in &seq {
            starts.push(pcm.len() as u64 / 8);
            pcm.extend(press(*k, tone_ms, level, col, offset));
            pcm.extend(silence(gap_ms));
        }
        pcm.extend(silence(200));
        // Noise 20 dB under the weaker tone (uniform noise: RMS = peak / √3; a sine's = peak / √2).
        let n = noise(pcm.len() as u64 / 8, (f32::from(weaker) / 10.0 * 1.22) as i16, seed);
        let pcm = mix(&pcm, &n);
        let got = detect(&pcm);
        let keys: Vec<char> = got.iter().map(|(_, k)| *k).collect();
        prop_assert_eq!(&keys, &seq, "tone {} ms, gap {} ms, level {}, twist {} dB, offset {}", tone_ms, gap_ms, level, twist_db, offset);
        for ((at, _), start) in got.iter().zip(&starts) {
            prop_assert!(at.abs_diff(*start) <= 25, "detected at {} for a press at {}", at, start);
        }
    }

    /// Q.24 must-reject: a frequency off by more than 3.5 % (and short of the next key, ~10 %
    /// away), or a tone shorter than 35 ms.
    #[test]
    fn tones_outside_the_limits_are_rejected(
        k in proptest::sample::select(KEYS),
        off in 0.036f32..0.05,
        sign in proptest::bool::ANY,
        short_ms in 5u64..30,
        level in 1400i16..9000,
    ) {
        let offset = if sign { off } else { -off };
        let mut pcm = silence(100);
        pcm.extend(press(k, 120, level, level, offset));
        pcm.extend(silence(200));
        prop_assert!(detect(&pcm).is_empty(), "{} at {:+.1} %", k, offset * 100.0);
        let mut pcm = silence(100);
        pcm.extend(press(k, short_ms, level, level, 0.0));
        pcm.extend(silence(200));
        prop_assert!(detect(&pcm).is_empty(), "{} for {} ms", k, short_ms);
    }
}

//! DTMF detector behaviour on synthetic signals (AT&T / ITU-T Q.24 acceptance edges).

mod common;

use common::{cat, digits, run, ulaw};
use switchboard_audio::synth::{chord, dtmf, mix, noise, silence, sine, speech_like};
use switchboard_audio::{AudioEvent, DtmfDetector};

const AMP: i16 = 8000;

fn press(digit: char, ms: u64) -> Vec<i16> {
    cat(&[silence(100), dtmf(digit, ms, AMP).unwrap(), silence(100)])
}

fn detect(samples: &[i16]) -> Vec<AudioEvent> {
    run(&mut DtmfDetector::new(), &ulaw(samples))
}

/// A press at `ms` duration with a sub-frame offset, so block alignment varies.
fn press_at(digit: char, ms: u64, offset_samples: usize) -> Vec<i16> {
    let mut s = vec![0; 800 + offset_samples];
    s.extend(dtmf(digit, ms, AMP).unwrap());
    s.extend(silence(100));
    s
}

/// Two tones with separate frequencies and levels.
fn pair(f_row: f32, a_row: i16, f_col: f32, a_col: i16, ms: u64) -> Vec<i16> {
    cat(&[
        silence(100),
        mix(&sine(f_row, ms, a_row), &sine(f_col, ms, a_col)),
        silence(100),
    ])
}

#[test]
fn every_key_is_detected_once_with_start_and_duration() {
    for d in "1234567890*#ABCD".chars() {
        let ev = detect(&press(d, 80));
        assert_eq!(digits(&ev), d.to_string(), "{d}: {ev:?}");
        let AudioEvent::Dtmf {
            at_ms, duration_ms, ..
        } = ev[0]
        else {
            unreachable!()
        };
        assert!(at_ms.abs_diff(100) <= 2, "{d}: at {at_ms}");
        assert!(duration_ms.abs_diff(80) <= 3, "{d}: duration {duration_ms}");
    }
}

#[test]
fn tone_of_45_ms_is_accepted_and_35_ms_rejected_at_any_alignment() {
    for offset in (0..160).step_by(7) {
        for d in ['1', '5', '9', 'D', '#'] {
            assert_eq!(
                digits(&detect(&press_at(d, 45, offset))),
                d.to_string(),
                "45 ms {d} offset {offset}"
            );
            assert_eq!(
                digits(&detect(&press_at(d, 35, offset))),
                "",
                "35 ms {d} offset {offset}"
            );
        }
    }
}

#[test]
fn tone_of_40_ms_is_accepted() {
    for offset in (0..160).step_by(13) {
        assert_eq!(
            digits(&detect(&press_at('8', 40, offset))),
            "8",
            "offset {offset}"
        );
    }
}

#[test]
fn frequency_off_by_1_5_percent_is_accepted() {
    for (r, c) in [
        (697.0, 1209.0),
        (770.0, 1336.0),
        (852.0, 1477.0),
        (941.0, 1633.0),
    ] {
        for dev in [1.015f32, 0.985] {
            let ev = detect(&pair(r * dev, AMP / 2, c * dev, AMP / 2, 60));
            assert_eq!(digits(&ev).len(), 1, "{r}/{c} × {dev}: {ev:?}");
        }
    }
}

#[test]
fn frequency_off_by_3_5_percent_is_rejected() {
    for (r, c) in [
        (697.0, 1209.0),
        (770.0, 1336.0),
        (852.0, 1477.0),
        (941.0, 1633.0),
    ] {
        for dev in [1.035f32, 0.965] {
            // Either tone off alone is enough to reject.
            assert_eq!(digits(&detect(&pair(r * dev, AMP / 2, c, AMP / 2, 60))), "");
            assert_eq!(digits(&detect(&pair(r, AMP / 2, c * dev, AMP / 2, 60))), "");
        }
    }
}

fn db_scale(a: i16, db: f32) -> i16 {
    (f32::from(a) * 10f32.powf(db / 20.0)).round() as i16
}

#[test]
fn twist_within_limits_is_accepted() {
    // Normal twist: the high (column) tone weaker by up to 8 dB.
    let ev = detect(&pair(770.0, 6000, 1336.0, db_scale(6000, -8.0), 60));
    assert_eq!(digits(&ev), "5");
    // Reverse twist: the low (row) tone weaker by up to 4 dB.
    let ev = detect(&pair(770.0, db_scale(6000, -4.0), 1336.0, 6000, 60));
    assert_eq!(digits(&ev), "5");
}

#[test]
fn twist_beyond_limits_is_rejected() {
    let ev = detect(&pair(770.0, 6000, 1336.0, db_scale(6000, -9.0), 60));
    assert_eq!(digits(&ev), "", "normal twist 9 dB");
    let ev = detect(&pair(770.0, db_scale(6000, -5.0), 1336.0, 6000, 60));
    assert_eq!(digits(&ev), "", "reverse twist 5 dB");
}

#[test]
fn full_keypad_sequence_with_50_ms_gaps_is_detected_in_order() {
    let keys = "1234567890*#ABCD";
    let mut s = silence(100);
    for d in keys.chars() {
        s.extend(dtmf(d, 50, AMP).unwrap());
        s.extend(silence(50));
    }
    assert_eq!(digits(&detect(&s)), keys);
}

#[test]
fn repeated_key_with_40_ms_pause_counts_twice_but_a_10_ms_dropout_does_not() {
    let tone = dtmf('3', 60, AMP).unwrap();
    let twice = cat(&[
        silence(100),
        tone.clone(),
        silence(40),
        tone.clone(),
        silence(100),
    ]);
    assert_eq!(digits(&detect(&twice)), "33");
    let dropout = cat(&[silence(100), tone.clone(), silence(10), tone, silence(100)]);
    let ev = detect(&dropout);
    assert_eq!(digits(&ev), "3", "{ev:?}");
}

#[test]
fn long_press_is_one_event_with_its_duration() {
    let ev = detect(&press('0', 1500));
    assert_eq!(digits(&ev), "0");
    let AudioEvent::Dtmf { duration_ms, .. } = ev[0] else {
        unreachable!()
    };
    assert!(duration_ms.abs_diff(1500) <= 3, "{duration_ms}");
}

#[test]
fn low_level_tones_down_to_amplitude_1000_are_detected() {
    for amp in [2000, 1000, 500] {
        let s = cat(&[silence(100), dtmf('6', 60, amp).unwrap(), silence(100)]);
        assert_eq!(digits(&detect(&s)), "6", "amplitude {amp}");
    }
}

#[test]
fn dtmf_in_20_db_snr_white_noise_is_detected() {
    let keys = "159#0*D";
    let mut s = silence(100);
    for d in keys.chars() {
        s.extend(dtmf(d, 60, AMP).unwrap());
        s.extend(silence(60));
    }
    // DTMF power is 2·(AMP/2)²/2; uniform noise of peak n has power n²/3.
    let signal_power = 2.0 * (f64::from(AMP) / 2.0).powi(2) / 2.0;
    let peak = (signal_power / 100.0 * 3.0).sqrt() as i16;
    for seed in 0..5 {
        let noisy = mix(&s, &noise(s.len() as u64 / 8, peak, seed));
        assert_eq!(digits(&detect(&noisy)), keys, "seed {seed}");
    }
}

#[test]
fn speech_never_yields_dtmf() {
    for seed in 0..6 {
        for amp in [4000, 16000, 30000] {
            let s = speech_like(10_000, amp, seed);
            let ev = detect(&s);
            assert_eq!(digits(&ev), "", "seed {seed} amp {amp}: {ev:?}");
        }
    }
}

#[test]
fn single_tones_and_noise_are_not_dtmf() {
    for f in [697.0, 941.0, 1209.0, 1633.0, 1000.0] {
        assert_eq!(digits(&detect(&sine(f, 500, AMP))), "");
    }
    assert_eq!(digits(&detect(&noise(5000, 20000, 7))), "");
    assert_eq!(
        digits(&detect(&chord(&[697.0, 770.0, 1209.0], 200, AMP))),
        ""
    );
}

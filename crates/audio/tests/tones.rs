//! Call-progress and special tone detection on synthetic signals.

mod common;

use common::{cat, run, tones, ulaw};
use switchboard_audio::synth::{
    busy, chord, dtmf, dual, fax_cng, melody, mix, noise, reorder, ringback, silence, sine, sit,
    speech_like,
};
use switchboard_audio::{AudioEvent, ToneDetector, ToneKind};

const AMP: i16 = 8000;

fn detect(samples: &[i16]) -> Vec<AudioEvent> {
    run(&mut ToneDetector::new(), &ulaw(samples))
}

/// With a little line noise, as on a real call.
fn noisy(samples: &[i16]) -> Vec<i16> {
    mix(samples, &noise(samples.len() as u64 / 8, 200, 99))
}

fn only(events: &[AudioEvent], kind: ToneKind) -> Vec<AudioEvent> {
    events
        .iter()
        .filter(|e| matches!(e, AudioEvent::Tone { tone, .. } if *tone == kind))
        .cloned()
        .collect()
}

#[test]
fn ringback_is_reported_once_per_ring_with_its_timing() {
    let s = cat(&[silence(500), ringback(12_000, AMP)]);
    let ev = detect(&noisy(&s));
    assert_eq!(tones(&ev), vec![ToneKind::Ringback; 2], "{ev:?}");
    for (e, start) in ev.iter().zip([500u64, 6500]) {
        let AudioEvent::Tone {
            at_ms, duration_ms, ..
        } = *e
        else {
            unreachable!()
        };
        assert!(at_ms.abs_diff(start) <= 20, "{e:?}");
        assert!(duration_ms.abs_diff(2000) <= 30, "{e:?}");
    }
}

#[test]
fn busy_is_recognised_once_by_its_cadence() {
    let s = cat(&[silence(300), busy(6000, AMP)]);
    let ev = detect(&noisy(&s));
    assert_eq!(tones(&ev), vec![ToneKind::Busy], "{ev:?}");
    let AudioEvent::Tone {
        at_ms, duration_ms, ..
    } = ev[0]
    else {
        unreachable!()
    };
    assert!(at_ms.abs_diff(300) <= 20, "{at_ms}");
    // Recognised at the end of the second burst.
    assert!(duration_ms.abs_diff(1500) <= 40, "{duration_ms}");
}

#[test]
fn reorder_is_told_from_busy_by_its_faster_cadence() {
    let ev = detect(&noisy(&cat(&[silence(300), reorder(4000, AMP)])));
    assert_eq!(tones(&ev), vec![ToneKind::Reorder], "{ev:?}");
}

#[test]
fn a_single_busy_burst_is_not_a_cadence() {
    let s = cat(&[silence(300), dual(480.0, 620.0, 500, AMP), silence(3000)]);
    assert_eq!(tones(&detect(&s)), vec![]);
}

#[test]
fn sit_sequence_is_one_sit_event_and_no_beeps() {
    let s = cat(&[silence(400), sit(AMP), silence(1000)]);
    let ev = detect(&noisy(&s));
    assert_eq!(tones(&ev), vec![ToneKind::Sit], "{ev:?}");
    let AudioEvent::Tone {
        at_ms, duration_ms, ..
    } = ev[0]
    else {
        unreachable!()
    };
    assert!(at_ms.abs_diff(400) <= 20, "{at_ms}");
    assert!(duration_ms.abs_diff(274 + 274 + 380) <= 40, "{duration_ms}");
    // The other SIT frequency set and long/short durations.
    let alt = cat(&[
        silence(400),
        sine(985.2, 380, AMP),
        sine(1428.5, 274, AMP),
        sine(1776.7, 380, AMP),
        silence(1000),
    ]);
    assert_eq!(tones(&detect(&alt)), vec![ToneKind::Sit]);
}

#[test]
fn a_broken_sit_sequence_is_not_sit() {
    let s = cat(&[
        silence(400),
        sine(913.8, 274, AMP),
        sine(1370.6, 274, AMP),
        silence(1000),
    ]);
    let ev = detect(&s);
    assert!(only(&ev, ToneKind::Sit).is_empty(), "{ev:?}");
    // Two tones back to back are not isolated, so they are not beeps either.
    assert!(only(&ev, ToneKind::Beep).is_empty(), "{ev:?}");
}

#[test]
fn voicemail_beep_is_reported_with_its_frequency() {
    let s = cat(&[
        speech_like(2000, 12000, 4),
        silence(300),
        sine(1000.0, 500, AMP),
        silence(1000),
    ]);
    let ev = detect(&noisy(&s));
    let beeps = only(&ev, ToneKind::Beep);
    assert_eq!(tones(&ev), vec![ToneKind::Beep], "{ev:?}");
    let AudioEvent::Tone {
        at_ms,
        duration_ms,
        freq_hz,
        ..
    } = beeps[0]
    else {
        unreachable!()
    };
    assert!(at_ms.abs_diff(2300) <= 20, "{at_ms}");
    assert!(duration_ms.abs_diff(500) <= 30, "{duration_ms}");
    let f = freq_hz.unwrap();
    assert!((f - 1000.0).abs() < 5.0, "{f}");
}

#[test]
fn beeps_across_the_band_and_length_limits() {
    for (f, ms, expect) in [
        (440.0, 300, true),
        (850.0, 1000, true),
        (1400.0, 200, true),
        (1950.0, 1900, true),
        (1000.0, 100, false),
        (1000.0, 3000, false),
        (350.0, 500, false),
        (2500.0, 500, false),
    ] {
        let s = cat(&[silence(300), sine(f, ms, AMP), silence(500)]);
        let ev = detect(&s);
        let got = only(&ev, ToneKind::Beep);
        assert_eq!(got.len(), usize::from(expect), "{f} Hz {ms} ms: {ev:?}");
        if let Some(AudioEvent::Tone {
            freq_hz: Some(m), ..
        }) = got.first()
        {
            assert!((m - f).abs() < 0.005 * f, "{f}: {m}");
        }
    }
}

#[test]
fn dtmf_is_not_a_beep_even_with_twist() {
    let d = dtmf('5', 400, AMP).unwrap();
    assert_eq!(
        tones(&detect(&cat(&[silence(300), d, silence(500)]))),
        vec![]
    );
    let twisted = mix(&sine(770.0, 400, 6000), &sine(1336.0, 400, 1500));
    assert_eq!(
        tones(&detect(&cat(&[silence(300), twisted, silence(500)]))),
        vec![]
    );
}

#[test]
fn fax_cng_is_recognised_on_the_second_burst() {
    let s = cat(&[silence(200), fax_cng(8000, AMP)]);
    let ev = detect(&noisy(&s));
    assert_eq!(tones(&ev), vec![ToneKind::Fax], "{ev:?}");
    let AudioEvent::Tone { at_ms, freq_hz, .. } = ev[0] else {
        unreachable!()
    };
    assert!(at_ms.abs_diff(200) <= 20);
    assert!((freq_hz.unwrap() - 1100.0).abs() < 5.0);
}

#[test]
fn fax_ced_answer_tone_is_fax() {
    let ev = detect(&cat(&[silence(200), sine(2100.0, 3000, AMP), silence(500)]));
    assert_eq!(tones(&ev), vec![ToneKind::Fax], "{ev:?}");
}

#[test]
fn a_lone_1100_hz_burst_is_a_late_beep_not_fax() {
    let ev = detect(&cat(&[silence(200), sine(1100.0, 500, AMP), silence(5000)]));
    assert_eq!(tones(&ev), vec![ToneKind::Beep], "{ev:?}");
}

fn melody_notes() -> Vec<f32> {
    // A little tune in A major, 3 notes/s.
    [440.0, 494.0, 554.0, 587.0, 659.0, 587.0, 554.0, 494.0]
        .repeat(3)
        .to_vec()
}

#[test]
fn melody_is_music() {
    let s = cat(&[silence(200), melody(&melody_notes(), 330, AMP)]);
    let ev = detect(&noisy(&s));
    assert_eq!(tones(&ev), vec![ToneKind::Music], "{ev:?}");
    let AudioEvent::Tone { at_ms, .. } = ev[0] else {
        unreachable!()
    };
    assert!(at_ms.abs_diff(200) <= 40, "{at_ms}");
}

#[test]
fn chords_are_music() {
    let progression = cat(&[
        chord(&[440.0, 554.4, 659.3], 1000, AMP),
        chord(&[587.3, 740.0, 880.0], 1000, AMP),
        chord(&[659.3, 830.6, 987.8], 1000, AMP),
        chord(&[440.0, 554.4, 659.3], 1000, AMP),
    ]);
    let ev = detect(&noisy(&progression));
    assert_eq!(tones(&ev), vec![ToneKind::Music], "{ev:?}");
    // A held chord is music too (three or more stable peaks).
    let held = chord(&[440.0, 554.4, 659.3, 880.0], 4000, AMP);
    assert_eq!(tones(&detect(&held)), vec![ToneKind::Music]);
}

#[test]
fn music_is_reported_once_per_occurrence() {
    let m = melody(&melody_notes(), 330, AMP);
    let s = cat(&[m.clone(), m.clone(), silence(3000), m]);
    assert_eq!(tones(&detect(&s)), vec![ToneKind::Music, ToneKind::Music]);
}

#[test]
fn speech_is_never_music_or_any_tone() {
    for seed in 0..4 {
        let s = speech_like(20_000, 12000, seed);
        let ev = detect(&s);
        assert!(ev.is_empty(), "seed {seed}: {ev:?}");
        let ev = detect(&noisy(&s));
        assert!(ev.is_empty(), "noisy seed {seed}: {ev:?}");
    }
}

#[test]
fn steady_dual_tone_and_noise_are_not_music() {
    // A dial tone (350 + 440 Hz) held for 5 s has two stable peaks that never change.
    assert_eq!(tones(&detect(&dual(350.0, 440.0, 5000, AMP))), vec![]);
    assert_eq!(tones(&detect(&noise(5000, 3000, 1))), vec![]);
}

#[test]
fn tones_are_not_confused_with_each_other() {
    let cases: Vec<(&str, Vec<i16>, Vec<ToneKind>)> = vec![
        (
            "ringback",
            ringback(8500, AMP),
            vec![ToneKind::Ringback, ToneKind::Ringback],
        ),
        ("busy", busy(3000, AMP), vec![ToneKind::Busy]),
        ("reorder", reorder(3000, AMP), vec![ToneKind::Reorder]),
        ("sit", sit(AMP), vec![ToneKind::Sit]),
        ("beep", sine(1400.0, 400, AMP), vec![ToneKind::Beep]),
        ("cng", fax_cng(4500, AMP), vec![ToneKind::Fax]),
        ("ced", sine(2100.0, 2600, AMP), vec![ToneKind::Fax]),
        (
            "music",
            melody(&melody_notes(), 250, AMP),
            vec![ToneKind::Music],
        ),
        ("dtmf", dtmf('1', 300, AMP).unwrap(), vec![]),
        ("speech", speech_like(6000, AMP, 3), vec![]),
    ];
    for (name, s, expect) in cases {
        let s = cat(&[silence(300), s, silence(1000)]);
        let ev = detect(&noisy(&s));
        assert_eq!(tones(&ev), expect, "{name}: {ev:?}");
    }
}

#[test]
fn quiet_tones_are_still_detected() {
    // About −30 dBm0 per tone.
    let ev = detect(&noisy(&cat(&[silence(300), busy(3000, 1400)])));
    assert_eq!(tones(&ev), vec![ToneKind::Busy], "{ev:?}");
    let ev = detect(&cat(&[silence(300), sine(1000.0, 500, 700), silence(500)]));
    assert_eq!(tones(&ev), vec![ToneKind::Beep], "{ev:?}");
}

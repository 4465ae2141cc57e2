//! Voice activity detection on synthetic speech and line noise.

mod common;

use common::{cat, frames, run, speech, ulaw};
use switchboard_audio::synth::{
    dtmf, mix, noise, noise_amplitude_for_dbfs, silence, sine, speech_like,
};
use switchboard_audio::{AudioEvent, FrontEnd, Stage, Vad};

fn with_noise(s: &[i16], dbfs: f64, seed: u64) -> Vec<i16> {
    mix(
        s,
        &noise(s.len() as u64 / 8, noise_amplitude_for_dbfs(dbfs), seed),
    )
}

#[test]
fn constant_line_noise_is_not_speech() {
    for dbfs in [-50.0, -40.0, -30.0, -20.0] {
        for seed in 0..3 {
            let s = noise(10_000, noise_amplitude_for_dbfs(dbfs), seed);
            let ev = run(&mut Vad::new(), &ulaw(&s));
            assert!(ev.is_empty(), "{dbfs} dBFS seed {seed}: {ev:?}");
        }
    }
}

#[test]
fn digital_silence_is_not_speech() {
    assert!(run(&mut Vad::new(), &silence(5000)).is_empty());
}

#[test]
fn an_utterance_in_noise_is_one_speech_segment() {
    for (noise_db, amp) in [(-60.0, 8000), (-40.0, 8000), (-30.0, 20000)] {
        for seed in 0..3 {
            let s = cat(&[silence(1000), speech_like(3000, amp, seed), silence(1000)]);
            let ev = run(&mut Vad::new(), &ulaw(&with_noise(&s, noise_db, seed + 10)));
            let segs = speech(&ev);
            assert_eq!(segs.len(), 1, "{noise_db} dBFS seed {seed}: {ev:?}");
            let (start, duration) = segs[0];
            assert!((1000..=1060).contains(&start), "start {start}: {ev:?}");
            assert!(
                duration.abs_diff(3000) <= 150,
                "duration {duration}: {ev:?}"
            );
        }
    }
}

#[test]
fn onset_is_reported_within_60_ms() {
    let s = cat(&[silence(1000), speech_like(1000, 10000, 2)]);
    let s = ulaw(&with_noise(&s, -45.0, 1));
    let mut vad = Vad::new();
    for f in frames(&s) {
        let ev = vad.push(&f);
        if let Some(AudioEvent::SpeechStart { at_ms }) = ev.first() {
            let decided = f.start_ms + 20;
            assert!(at_ms.abs_diff(1000) <= 40, "at {at_ms}");
            assert!(decided - 1000 <= 60, "decided at {decided}");
            return;
        }
    }
    panic!("no onset");
}

#[test]
fn pauses_shorter_than_the_hangover_do_not_split_but_longer_ones_do() {
    let a = speech_like(800, 10000, 1);
    let short = cat(&[
        silence(500),
        a.clone(),
        silence(150),
        a.clone(),
        silence(600),
    ]);
    assert_eq!(speech(&run(&mut Vad::new(), &short)).len(), 1);
    let long = cat(&[silence(500), a.clone(), silence(600), a, silence(600)]);
    assert_eq!(speech(&run(&mut Vad::new(), &long)).len(), 2);
}

#[test]
fn speech_still_going_at_the_end_is_closed_by_finish() {
    let s = cat(&[silence(500), speech_like(1000, 10000, 3)]);
    let ev = run(&mut Vad::new(), &s);
    assert_eq!(speech(&ev).len(), 1, "{ev:?}");
}

#[test]
fn the_noise_floor_follows_the_line() {
    let mut vad = Vad::new();
    let s = ulaw(&noise(3000, noise_amplitude_for_dbfs(-40.0), 4));
    for f in frames(&s) {
        vad.push(&f);
    }
    let floor = vad.noise_floor_dbfs();
    assert!((-44.0..=-39.0).contains(&floor), "{floor}");
}

#[test]
fn front_end_does_not_report_tones_as_speech() {
    let mut s = silence(500);
    for d in "123#".chars() {
        s.extend(dtmf(d, 100, 8000).unwrap());
        s.extend(silence(80));
    }
    s.extend(silence(500));
    s.extend(sine(1000.0, 600, 8000));
    s.extend(silence(500));
    let ev = run(&mut FrontEnd::new(), &ulaw(&with_noise(&s, -50.0, 3)));
    assert!(speech(&ev).is_empty(), "{ev:?}");
    assert_eq!(common::digits(&ev), "123#");
    // The bare VAD does hear them (it is only an energy detector).
    assert!(!speech(&run(&mut Vad::new(), &s)).is_empty());
}

#[test]
fn front_end_keeps_a_long_utterance_in_one_piece() {
    // Some synthetic vowels pass the DTMF screen for a while; masking must not split speech.
    for seed in [101, 103] {
        let s = speech_like(30_000, 12000, seed);
        let s = ulaw(&mix(&s, &noise(30_000, 300, seed)));
        let ev = run(&mut FrontEnd::new(), &s);
        assert_eq!(speech(&ev).len(), 1, "seed {seed}: {ev:?}");
    }
}

#[test]
fn a_beep_right_after_speech_is_not_counted_as_speech() {
    let s = cat(&[
        silence(500),
        speech_like(1500, 10000, 5),
        silence(100),
        sine(1000.0, 500, 8000),
        silence(800),
    ]);
    let ev = run(&mut FrontEnd::new(), &ulaw(&with_noise(&s, -50.0, 2)));
    let segs = speech(&ev);
    assert_eq!(segs.len(), 1, "{ev:?}");
    let (start, duration) = segs[0];
    assert!(start + duration <= 2000, "{ev:?}");
}

//! The composed front end and the chunk-to-event pipeline.

mod common;

use common::{cat, digits, run, tones, ulaw};
use switchboard_audio::synth::{
    busy, dtmf, melody, mix, noise, ringback, silence, sine, speech_like,
};
use switchboard_audio::{AudioEvent, FrontEnd, Pipeline, ToneKind, g711};

/// A made-up call: rings, someone answers and talks, keys a PIN, a beep, hold music, busy.
fn call() -> Vec<i16> {
    let mut s = cat(&[silence(300), ringback(8000, 8000), silence(500)]);
    s.extend(speech_like(2500, 14000, 7));
    s.extend(silence(600));
    for d in "4271".chars() {
        s.extend(dtmf(d, 70, 6000).unwrap());
        s.extend(silence(70));
    }
    s.extend(silence(500));
    s.extend(sine(1000.0, 400, 8000));
    s.extend(silence(800));
    let notes = [392.0, 440.0, 494.0, 523.0, 587.0, 523.0, 494.0, 440.0].repeat(3);
    s.extend(melody(&notes, 250, 8000));
    s.extend(silence(500));
    s.extend(busy(3000, 8000));
    mix(&s, &noise(s.len() as u64 / 8, 150, 42))
}

fn run_pipeline(payload: &[u8], chunk: usize) -> Vec<AudioEvent> {
    let mut p = Pipeline::new();
    let mut out = Vec::new();
    for (i, c) in payload.chunks(chunk).enumerate() {
        out.extend(p.push_ulaw(10_000 + (i * chunk) as u64 / 8, c));
    }
    out.extend(p.finish());
    out
}

#[test]
fn a_whole_call_gives_the_expected_events() {
    let ev = run(&mut FrontEnd::new(), &ulaw(&call()));
    assert_eq!(digits(&ev), "4271", "{ev:#?}");
    assert_eq!(
        tones(&ev),
        vec![
            ToneKind::Ringback,
            ToneKind::Ringback,
            ToneKind::Beep,
            ToneKind::Music,
            ToneKind::Busy
        ],
        "{ev:#?}"
    );
    // The answer is one utterance; no speech is reported for the keys, the beep or the tones.
    let speech: Vec<&AudioEvent> = ev
        .iter()
        .filter(|e| matches!(e, AudioEvent::SpeechStart { .. }))
        .collect();
    assert!(!speech.is_empty());
    let AudioEvent::SpeechStart { at_ms } = speech[0] else {
        unreachable!()
    };
    assert!(at_ms.abs_diff(8800) <= 60, "{ev:#?}");
    for e in &ev {
        if let AudioEvent::SpeechStart { at_ms } = e {
            // Only the answer and the start of the hold music (before it is recognised).
            assert!(
                *at_ms < 11_400 || (13_500..14_500).contains(at_ms),
                "unexpected speech at {at_ms}: {ev:#?}"
            );
        }
    }
}

#[test]
fn events_come_out_sorted_within_each_push() {
    let mut fe = FrontEnd::new();
    for f in common::frames(&ulaw(&call())) {
        let ev = switchboard_audio::Stage::push(&mut fe, &f);
        assert!(ev.windows(2).all(|w| w[0].at_ms() <= w[1].at_ms()));
    }
}

#[test]
fn same_audio_gives_same_events_however_it_is_chunked() {
    let payload = g711::encode(&call());
    let reference = run_pipeline(&payload, 160);
    assert!(!reference.is_empty());
    for chunk in [1, 37, 80, 333, 1000] {
        let mut got = run_pipeline(&payload, chunk);
        let mut want = reference.clone();
        // Chunking changes which push reports an event, not the events.
        got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        assert_eq!(got, want, "chunk {chunk}");
    }
    assert_eq!(run_pipeline(&payload, 160), reference, "deterministic");
}

#[test]
fn pipeline_reports_gaps_and_keeps_media_time() {
    let tone = g711::encode(&dtmf('9', 100, 8000).unwrap());
    let quiet = g711::encode(&silence(200));
    let mut p = Pipeline::new();
    let mut ev = p.push_ulaw(0, &quiet);
    // 500 ms of the stream never arrived; the key press is at 700 ms of media time.
    ev.extend(p.push_ulaw(700, &tone));
    ev.extend(p.push_ulaw(800, &quiet));
    ev.extend(p.finish());
    assert!(ev.contains(&AudioEvent::Gap {
        at_ms: 200,
        missing_ms: 500
    }));
    let press = ev
        .iter()
        .find_map(|e| match e {
            AudioEvent::Dtmf { at_ms, digit, .. } => Some((*at_ms, *digit)),
            _ => None,
        })
        .unwrap();
    assert_eq!(press.1, '9');
    assert!(press.0.abs_diff(700) <= 2, "{ev:?}");
    assert_eq!(p.framer().gaps(), 1);
}

#[test]
fn sixty_seconds_of_audio_go_through() {
    // Not timed: only catches pathological slowness (this must finish at all).
    let mut s = Vec::new();
    let mut seed = 0;
    while s.len() < 60 * 8000 {
        s.extend(speech_like(5000, 12000, seed));
        s.extend(dtmf('5', 80, 8000).unwrap());
        s.extend(silence(200));
        seed += 1;
    }
    let s = ulaw(&mix(&s, &noise(60_000, 300, 1)));
    let ev = run(&mut FrontEnd::new(), &s);
    assert_eq!(digits(&ev), "5".repeat(seed as usize));
    assert!(tones(&ev).is_empty(), "{ev:?}");
}

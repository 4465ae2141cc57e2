//! Helpers shared by the behaviour tests.
#![allow(dead_code)]

use switchboard_audio::{AudioEvent, FRAME_SAMPLES, Frame, Stage, ToneKind};

/// Cuts samples into consecutive 20 ms frames from media time 0 (last one padded).
pub fn frames(samples: &[i16]) -> Vec<Frame> {
    samples
        .chunks(FRAME_SAMPLES)
        .enumerate()
        .map(|(i, c)| {
            let mut v = c.to_vec();
            v.resize(FRAME_SAMPLES, 0);
            Frame {
                start_ms: i as u64 * 20,
                samples: v,
            }
        })
        .collect()
}

/// Runs a whole signal through a stage, including `finish`.
pub fn run<S: Stage>(stage: &mut S, samples: &[i16]) -> Vec<AudioEvent> {
    let mut out = Vec::new();
    for f in frames(samples) {
        out.extend(stage.push(&f));
    }
    out.extend(stage.finish());
    out
}

/// The DTMF digits reported, in order of `at_ms`.
pub fn digits(events: &[AudioEvent]) -> String {
    let mut d: Vec<(u64, char)> = events
        .iter()
        .filter_map(|e| match e {
            AudioEvent::Dtmf { at_ms, digit, .. } => Some((*at_ms, *digit)),
            _ => None,
        })
        .collect();
    d.sort();
    d.into_iter().map(|x| x.1).collect()
}

/// The tones reported, in order of `at_ms`.
pub fn tones(events: &[AudioEvent]) -> Vec<ToneKind> {
    let mut t: Vec<(u64, ToneKind)> = events
        .iter()
        .filter_map(|e| match e {
            AudioEvent::Tone { at_ms, tone, .. } => Some((*at_ms, *tone)),
            _ => None,
        })
        .collect();
    t.sort_by_key(|x| x.0);
    t.into_iter().map(|x| x.1).collect()
}

/// `(at_ms, duration_ms)` of every SpeechEnd.
pub fn speech(events: &[AudioEvent]) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            AudioEvent::SpeechEnd { at_ms, duration_ms } => {
                Some((at_ms - duration_ms, *duration_ms))
            }
            _ => None,
        })
        .collect()
}

/// Concatenates signals.
pub fn cat(parts: &[Vec<i16>]) -> Vec<i16> {
    parts.concat()
}

/// Passes a signal through µ-law and back, as every real call's audio is.
pub fn ulaw(samples: &[i16]) -> Vec<i16> {
    switchboard_audio::g711::decode(&switchboard_audio::g711::encode(samples))
}

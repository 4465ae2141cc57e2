//! The detectors composed: one [`Stage`] for a call's audio, and the full chunk-to-event
//! [`Pipeline`].

use crate::{AudioEvent, DtmfDetector, Frame, Framer, Stage, ToneDetector, Vad, g711};

/// Vad + DtmfDetector + ToneDetector composed; impl Stage; events sorted by at_ms.
///
/// The tone detectors run first on each frame; if either sees a tone in that frame (a block
/// passing the DTMF screen, a single or dual tone, or music already recognised) the frame is
/// masked for the VAD: a masked frame cannot start speech and does not feed the noise floor, and
/// during speech it keeps speech open without counting as speech (see [`Vad::push_masked`]). So
/// key presses, beeps and call-progress tones are not reported as speech, a beep right after a
/// greeting does not lengthen it, and a vowel that briefly looks like a DTMF pair does not split
/// an utterance. Music is only masked once recognised (after ~3 s), so hold music first shows as
/// speech until the VAD's noise floor adapts to it (~1 s).
///
/// Events of one push are sorted by `at_ms`. Detectors report when they have decided, so across
/// pushes an event may carry an earlier `at_ms` than one already returned (a DTMF press is
/// reported when released, a beep 200 ms after it ends).
#[derive(Debug, Default)]
pub struct FrontEnd {
    vad: Vad,
    dtmf: DtmfDetector,
    tones: ToneDetector,
}

impl FrontEnd {
    /// A front end for one call.
    pub fn new() -> Self {
        Self::default()
    }

    /// The VAD, e.g. to read its noise floor.
    pub fn vad(&self) -> &Vad {
        &self.vad
    }
}

impl Stage for FrontEnd {
    fn push(&mut self, frame: &Frame) -> Vec<AudioEvent> {
        let mut out = self.dtmf.push(frame);
        out.extend(self.tones.push(frame));
        let masked = self.dtmf.is_active() || self.tones.is_active();
        out.extend(self.vad.push_masked(frame, masked));
        out.sort_by_key(AudioEvent::at_ms);
        out
    }

    fn finish(&mut self) -> Vec<AudioEvent> {
        let mut out = self.dtmf.finish();
        out.extend(self.tones.finish());
        out.extend(self.vad.finish());
        out.sort_by_key(AudioEvent::at_ms);
        out
    }
}

/// `decode → frame → FrontEnd` for one call's Media Stream: feed it each media message's
/// timestamp and payload, get events (including the framer's `Gap`s) back, sorted by `at_ms`
/// within each call.
#[derive(Debug, Default)]
pub struct Pipeline {
    framer: Framer,
    front: FrontEnd,
}

impl Pipeline {
    /// A pipeline for one call.
    pub fn new() -> Self {
        Self::default()
    }

    /// One Media Streams chunk: µ-law bytes (already base64-decoded) starting at `timestamp_ms`.
    pub fn push_ulaw(&mut self, timestamp_ms: u64, payload: &[u8]) -> Vec<AudioEvent> {
        self.push_pcm(timestamp_ms, &g711::decode(payload))
    }

    /// One chunk of linear samples starting at `timestamp_ms`.
    pub fn push_pcm(&mut self, timestamp_ms: u64, samples: &[i16]) -> Vec<AudioEvent> {
        let frames = self.framer.push(timestamp_ms, samples);
        let mut out = self.framer.take_events();
        for f in &frames {
            out.extend(self.front.push(f));
        }
        out.sort_by_key(AudioEvent::at_ms);
        out
    }

    /// End of the call: frames the remainder and flushes every detector.
    pub fn finish(&mut self) -> Vec<AudioEvent> {
        let mut out = Vec::new();
        if let Some(f) = self.framer.flush() {
            out.extend(self.front.push(&f));
        }
        out.extend(self.front.finish());
        out.sort_by_key(AudioEvent::at_ms);
        out
    }

    /// The framer, for its gap and drop counters.
    pub fn framer(&self) -> &Framer {
        &self.framer
    }
}

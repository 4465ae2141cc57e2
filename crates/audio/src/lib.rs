//! The call-audio front end: turns a Twilio Media Stream (base64-decoded G.711 µ-law, 8 kHz
//! mono, chunks of any size keyed by media time) into a short, explainable list of
//! [`AudioEvent`]s — speech start/end, DTMF key presses, call-progress and special tones, gaps.
//!
//! The pipeline is a chain of small stages, each testable alone on synthetic signals from
//! `gen` (alias [`synth`]):
//!
//! ```text
//! decode (g711) → frame (Framer) → vad (Vad) → dtmf (DtmfDetector) → tones (ToneDetector)
//!                                  └────────────── FrontEnd ───────────────┘
//! ```
//!
//! * [`g711`] — ITU-T G.711 µ-law ↔ 16-bit linear.
//! * [`Framer`] — re-frames chunks into exact 20 ms [`Frame`]s on a media-time grid, fills
//!   timestamp gaps with silence and drops overlapping data.
//! * [`Vad`] — adaptive energy voice activity detection over the whole band and the voiced band
//!   (250–1000 Hz, robust to white line noise), each with a noise floor by minimum statistics,
//!   and a hangover; emits `SpeechStart`/`SpeechEnd`.
//! * [`DtmfDetector`] — Goertzel on the eight DTMF frequencies in 10 ms blocks, validated on the
//!   whole press (frequency, twist, energy ratio, second harmonics); one `Dtmf` per press.
//! * [`ToneDetector`] — ringback, busy, reorder, SIT, voicemail beep, fax (CNG/CED) and hold
//!   music.
//! * [`FrontEnd`] — the three detectors composed as one [`Stage`]; tones mask the VAD so a beep
//!   or a key press is not reported as speech.
//! * [`Pipeline`] — `decode → frame → FrontEnd` for raw Media Stream payloads.
//!
//! Architecture invariants: no I/O, no wall clock, no randomness in the detection path (the
//! signal generators use their own seeded PRNG). Every time in an event is media time derived
//! from the stream's timestamps and sample counts, so the same audio in always gives the same
//! events out, however it was chunked. Each stage keeps bounded state per call.
//!
//! Measured on the synthetic signals (see the tests): DTMF is detected down to an amplitude of
//! about 250 (≈125 per tone, −45 dBm0) and down to 12 dB SNR in white noise; 100 minutes of
//! `speech_like` gave no DTMF and 40 minutes no tone or music; the whole `FrontEnd` runs at about
//! 3000× real time on one core (release build).

mod dsp;
mod dtmf;
mod framer;
mod frontend;
pub mod g711;
/// Synthetic test signals. `gen` is a reserved word in edition 2024, so callers write
/// `switchboard_audio::r#gen::sine(..)` or use the alias [`synth`].
pub mod r#gen;
mod tones;
mod vad;

pub use dtmf::DtmfDetector;
pub use framer::Framer;
pub use frontend::{FrontEnd, Pipeline};
/// Alias of `gen` (`r#gen`) that needs no raw identifier.
pub use r#gen as synth;
pub use tones::ToneDetector;
pub use vad::Vad;

/// Sample rate of Twilio Media Streams audio (and of everything in this crate).
pub const SAMPLE_RATE: u32 = 8000;
/// Length of one [`Frame`]: 20 ms, the packet size Twilio sends.
pub const FRAME_MS: u64 = 20;
/// Samples in one [`Frame`] (160).
pub const FRAME_SAMPLES: usize = (SAMPLE_RATE as u64 * FRAME_MS / 1000) as usize;
/// Samples per millisecond of media time (8).
pub const SAMPLES_PER_MS: u64 = SAMPLE_RATE as u64 / 1000;

/// 20 ms of audio at media time `start_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Media time of the first sample, in milliseconds since the stream's time origin.
    pub start_ms: u64,
    /// Linear 16-bit samples; [`FRAME_SAMPLES`] of them when produced by the [`Framer`].
    pub samples: Vec<i16>,
}

/// Tones the [`ToneDetector`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToneKind {
    /// North American ringback: 440 + 480 Hz, 2 s on / 4 s off (one event per ring).
    Ringback,
    /// Busy: 480 + 620 Hz, 0.5 s on / 0.5 s off (one event per cadence, once recognised).
    Busy,
    /// Reorder (fast busy): 480 + 620 Hz, 0.25 s on / 0.25 s off (one event per cadence).
    Reorder,
    /// Special information tones: three rising single tones (number changed, no circuit…).
    Sit,
    /// Answering-machine / voicemail beep: one stable single tone, 440–2000 Hz, 150 ms–2 s.
    Beep,
    /// Fax: CNG (1100 Hz, 0.5 s on / 3 s off) or CED (2100 Hz answer tone).
    Fax,
    /// Hold music: sustained tonal audio without syllabic rhythm.
    Music,
}

/// What the front end reports. All times are media time in milliseconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AudioEvent {
    /// Speech began at `at_ms` (emitted about 30–40 ms later).
    SpeechStart {
        /// Start of the first voiced 10 ms block.
        at_ms: u64,
    },
    /// Speech ended at `at_ms` (emitted after the 200 ms hangover has run out).
    SpeechEnd {
        /// End of the last voiced block.
        at_ms: u64,
        /// `at_ms` minus the matching `SpeechStart`'s `at_ms`.
        duration_ms: u64,
    },
    /// One DTMF key press (emitted about 30 ms after the key is released).
    Dtmf {
        /// Estimated start of the tone (±1 ms on clean signals).
        at_ms: u64,
        /// `0-9`, `*`, `#`, `A-D`.
        digit: char,
        /// Estimated tone duration.
        duration_ms: u64,
    },
    /// A recognised tone. For `Busy`, `Reorder`, CNG `Fax` and `Music` the event is emitted when
    /// the pattern is recognised and `duration_ms` covers the evidence so far; for the others it
    /// is emitted when the tone ends and covers the whole tone (or SIT sequence).
    Tone {
        /// Start of the tone (or of the first tone of the pattern), ±20 ms.
        at_ms: u64,
        /// Which tone.
        tone: ToneKind,
        /// See the variant's doc.
        duration_ms: u64,
        /// Measured frequency for single tones (`Beep`, `Fax`); `None` for the others.
        freq_hz: Option<f32>,
    },
    /// The stream skipped media time; the [`Framer`] filled `missing_ms` with silence.
    Gap {
        /// Media time where audio went missing.
        at_ms: u64,
        /// How much was missing.
        missing_ms: u64,
    },
}

impl AudioEvent {
    /// Media time the event refers to (what [`FrontEnd`] sorts by).
    pub fn at_ms(&self) -> u64 {
        match *self {
            AudioEvent::SpeechStart { at_ms }
            | AudioEvent::SpeechEnd { at_ms, .. }
            | AudioEvent::Dtmf { at_ms, .. }
            | AudioEvent::Tone { at_ms, .. }
            | AudioEvent::Gap { at_ms, .. } => at_ms,
        }
    }
}

/// Every stage: push one frame, get the events it completes.
pub trait Stage {
    /// Processes one frame (any length; media time from `frame.start_ms`) and returns the
    /// events it completed, in no particular order unless the stage says otherwise.
    fn push(&mut self, frame: &Frame) -> Vec<AudioEvent>;

    /// End of stream: returns the events still pending (an open key press, speech still going,
    /// a tone that was still sounding). Default: none.
    fn finish(&mut self) -> Vec<AudioEvent> {
        Vec::new()
    }
}

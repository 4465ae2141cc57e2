//! Adaptive energy voice activity detection.

use crate::dsp::{Reblocker, energy, to_f32};
use crate::{AudioEvent, Frame, SAMPLES_PER_MS, Stage};

/// Analysis block: 10 ms, so onset can be decided within 30–40 ms.
const BLOCK: usize = 80;
/// Noise-floor memory: the floor is the quietest block of the last 1 s. Speech has pauses
/// between syllables far more often than that, so the minimum sits on the line noise even while
/// someone talks; a steady sound (line hum, a held tone) becomes the floor within 1 s.
const FLOOR_BLOCKS: usize = 100;
/// A block starts speech when it is this far above the floor. White line noise fluctuates about
/// ±1 dB per 10 ms block and its 1 s minimum sits ≈2 dB under its mean, so 9 dB leaves ≥5 dB of
/// margin against constant noise being called speech.
const ONSET_MARGIN_DB: f32 = 9.0;
/// Hysteresis: once in speech, blocks 6 dB above the floor keep it going.
const HOLD_MARGIN_DB: f32 = 6.0;
/// Nothing quieter than this (dBFS, full-scale square wave = 0 dB) is speech, so digital
/// silence with a −120 dB floor does not turn quantisation dither into speech.
const ABS_MIN_DBFS: f32 = -55.0;
/// Onset needs 3 active blocks among the last 4: rejects clicks, allows one weak block.
const ONSET_WINDOW: usize = 4;
const ONSET_ACTIVE: usize = 3;
/// Speech ends 200 ms after the last active block, so syllable gaps do not split an utterance.
const HANGOVER_SAMPLES: u64 = 200 * SAMPLES_PER_MS;
/// During speech a loud masked block still holds speech open — a vowel can look like a DTMF pair
/// for a moment, and dropping it would split the utterance — but it is never reported as speech:
/// `SpeechEnd` is at the last unmasked active block, so a beep right after speech is not counted.
/// A second of loud masked audio (music, a long tone) ends the speech.
const MAX_MASKED_IN_SPEECH: u64 = 1000 * SAMPLES_PER_MS;

/// Adaptive energy VAD: tracks the noise floor, hangover; emits SpeechStart/SpeechEnd.
///
/// Per 10 ms block it compares the block energy (dBFS) with a noise floor taken as the minimum
/// over the last second (minimum statistics). `SpeechStart.at_ms` is the first active block of
/// the onset; `SpeechEnd.at_ms` is the end of the last active block, emitted once the hangover
/// has passed. On its own the VAD reports any loud sound, tones included; [`crate::FrontEnd`]
/// masks the frames its tone detectors claim (see [`Vad::push_masked`]).
pub struct Vad {
    blocks: Reblocker<BLOCK>,
    floor_hist: [f32; FLOOR_BLOCKS],
    floor_len: usize,
    floor_pos: usize,
    /// Start samples of the last `ONSET_WINDOW` blocks that were active (None = inactive).
    recent: [Option<u64>; ONSET_WINDOW],
    speech: Option<Speech>,
    floor_db: f32,
}

#[derive(Clone, Copy)]
struct Speech {
    start: u64,
    /// End of the last unmasked active block: where speech is reported to end.
    last_active_end: u64,
    /// Quiet samples since the last active block, masked or not (the hangover clock).
    quiet: u64,
    /// Consecutive loud masked samples.
    masked: u64,
}

impl Default for Vad {
    fn default() -> Self {
        Self::new()
    }
}

impl Vad {
    /// A VAD with an empty noise history (the first blocks set the floor).
    pub fn new() -> Self {
        Self {
            blocks: Reblocker::new(),
            floor_hist: [0.0; FLOOR_BLOCKS],
            floor_len: 0,
            floor_pos: 0,
            recent: [None; ONSET_WINDOW],
            speech: None,
            floor_db: ABS_MIN_DBFS,
        }
    }

    /// Whether speech is currently in progress (including the hangover).
    pub fn in_speech(&self) -> bool {
        self.speech.is_some()
    }

    /// Current noise-floor estimate in dBFS.
    pub fn noise_floor_dbfs(&self) -> f32 {
        self.floor_db
    }

    /// Like [`Stage::push`], but for a `masked` frame (one another detector has claimed as a
    /// tone): it cannot start speech, does not feed the noise floor, and during speech keeps it
    /// open without counting as speech (for at most 1 s; see `MAX_MASKED_IN_SPEECH`).
    pub fn push_masked(&mut self, frame: &Frame, masked: bool) -> Vec<AudioEvent> {
        let mut out = Vec::new();
        if self.blocks.sync(frame) {
            self.end_speech(&mut out);
            self.recent = [None; ONSET_WINDOW];
        }
        let mut rest = &frame.samples[..];
        while let Some((start, block)) = self.blocks.next_block(&mut rest) {
            self.block(start, &block, masked, &mut out);
        }
        out
    }

    fn block(&mut self, start: u64, x: &[i16; BLOCK], masked: bool, out: &mut Vec<AudioEvent>) {
        let x = to_f32(x);
        // dBFS relative to a full-scale square wave (a full-scale sine is −3 dBFS).
        let level = 10.0 * (energy(&x) / BLOCK as f32 + 1e-12).log10();
        if !masked {
            self.floor_hist[self.floor_pos] = level;
            self.floor_pos = (self.floor_pos + 1) % FLOOR_BLOCKS;
            self.floor_len = (self.floor_len + 1).min(FLOOR_BLOCKS);
            self.floor_db = self.floor_hist[..self.floor_len]
                .iter()
                .copied()
                .fold(f32::INFINITY, f32::min);
        }
        let end = start.saturating_add(BLOCK as u64);
        let onset = !masked && level >= (self.floor_db + ONSET_MARGIN_DB).max(ABS_MIN_DBFS);
        let loud = level >= (self.floor_db + HOLD_MARGIN_DB).max(ABS_MIN_DBFS);
        self.recent.rotate_left(1);
        self.recent[ONSET_WINDOW - 1] = onset.then_some(start);
        match &mut self.speech {
            Some(s) => {
                match (loud, masked) {
                    (true, false) => {
                        s.last_active_end = end;
                        s.quiet = 0;
                        s.masked = 0;
                    }
                    (true, true) => {
                        s.quiet = 0;
                        s.masked += BLOCK as u64;
                    }
                    (false, _) => {
                        s.quiet += BLOCK as u64;
                        s.masked = 0;
                    }
                }
                if s.quiet >= HANGOVER_SAMPLES || s.masked >= MAX_MASKED_IN_SPEECH {
                    self.end_speech(out);
                    self.recent = [None; ONSET_WINDOW];
                }
            }
            None => {
                if self.recent.iter().flatten().count() >= ONSET_ACTIVE {
                    let first = self.recent.iter().flatten().copied().min().unwrap_or(start);
                    out.push(AudioEvent::SpeechStart {
                        at_ms: first / SAMPLES_PER_MS,
                    });
                    self.speech = Some(Speech {
                        start: first,
                        last_active_end: end,
                        quiet: 0,
                        masked: 0,
                    });
                }
            }
        }
    }

    fn end_speech(&mut self, out: &mut Vec<AudioEvent>) {
        if let Some(s) = self.speech.take() {
            out.push(AudioEvent::SpeechEnd {
                at_ms: s.last_active_end / SAMPLES_PER_MS,
                duration_ms: s.last_active_end.saturating_sub(s.start) / SAMPLES_PER_MS,
            });
        }
    }
}

impl std::fmt::Debug for Vad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vad")
            .field("in_speech", &self.in_speech())
            .field("noise_floor_dbfs", &self.floor_db)
            .finish_non_exhaustive()
    }
}

impl Stage for Vad {
    fn push(&mut self, frame: &Frame) -> Vec<AudioEvent> {
        self.push_masked(frame, false)
    }

    fn finish(&mut self) -> Vec<AudioEvent> {
        let mut out = Vec::new();
        self.end_speech(&mut out);
        out
    }
}

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

/// The voiced band (250–1000 Hz, where the first formant and most of voiced speech's energy
/// lie) is watched as well as the whole band: white line noise spreads its power over 300–3400
/// Hz, so in this band it is ≈ 6.5 dB weaker while a vowel loses only 1–2 dB — at 10 dB SNR the
/// quieter syllables of a menu sit 5–7 dB over the full-band floor (under the hold margin: the
/// utterance was cut) but 10–12 dB over the voiced band's.
const BAND_LOW_HZ: f32 = 250.0;
const BAND_HIGH_HZ: f32 = 1000.0;
/// The band's level is taken over 20 ms (this block and the one before): with a quarter of the
/// bandwidth its noise level fluctuates twice as much per block (±1.2 dB vs ±0.75 dB for white
/// noise at 10 ms), and 20 ms brings that back to ±0.9 dB. Its 1 s minimum then sits ≈ 3.2 dB
/// under its mean and its peaks ≈ 6 dB over the minimum, hence wider margins than the full
/// band's: noise alone must never hold speech open.
const BAND_ONSET_MARGIN_DB: f32 = 11.0;
const BAND_HOLD_MARGIN_DB: f32 = 8.5;
/// Blocks the band channel is ignored after a masked block.
const BAND_SETTLE_BLOCKS: u8 = 2;

/// A second-order (biquad) IIR section in direct form I, RBJ cookbook coefficients.
#[derive(Clone, Copy)]
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl Biquad {
    /// A band-pass (constant 0 dB peak gain) between `low` and `high` Hz: centred on their
    /// geometric mean, bandwidth in octaves between them. One section costs half of a
    /// high-pass/low-pass pair, and the VAD runs on every frame of every stream.
    fn band_pass(low: f32, high: f32) -> Self {
        let f0 = (low * high).sqrt();
        let octaves = (high / low).log2();
        let w = 2.0 * std::f32::consts::PI * f0 / crate::SAMPLE_RATE as f32;
        let alpha = w.sin() * (std::f32::consts::LN_2 / 2.0 * octaves * w / w.sin()).sinh();
        let c = w.cos();
        let a0 = 1.0 + alpha;
        Self {
            b: [alpha / a0, 0.0, -alpha / a0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn step(&mut self, v: f32) -> f32 {
        // b[1] is 0 for a band-pass.
        let o =
            self.b[0] * v + self.b[2] * self.x[1] - self.a[0] * self.y[0] - self.a[1] * self.y[1];
        self.x = [v, self.x[0]];
        self.y = [o, self.y[0]];
        o
    }

    fn reset(&mut self) {
        self.x = [0.0; 2];
        self.y = [0.0; 2];
    }
}

/// A minimum-statistics noise floor: the quietest level of the last `FLOOR_BLOCKS` blocks.
#[derive(Clone, Copy)]
struct Floor {
    hist: [f32; FLOOR_BLOCKS],
    len: usize,
    pos: usize,
    db: f32,
}

impl Floor {
    fn new() -> Self {
        Self {
            hist: [0.0; FLOOR_BLOCKS],
            len: 0,
            pos: 0,
            db: ABS_MIN_DBFS,
        }
    }

    fn push(&mut self, level: f32) {
        self.hist[self.pos] = level;
        self.pos = (self.pos + 1) % FLOOR_BLOCKS;
        self.len = (self.len + 1).min(FLOOR_BLOCKS);
        self.db = self.hist[..self.len]
            .iter()
            .copied()
            .fold(f32::INFINITY, f32::min);
    }
}

/// Adaptive energy VAD: tracks the noise floor, hangover; emits SpeechStart/SpeechEnd.
///
/// Per 10 ms block it compares the block energy (dBFS) with a noise floor taken as the minimum
/// over the last second (minimum statistics), over the whole band and over the voiced band
/// (250–1000 Hz, 20 ms); a block is active when either channel clears its margin, so noise
/// robustness is gained without losing what the whole band hears (fricatives, clean speech).
/// `SpeechStart.at_ms` is the first active block of the onset; `SpeechEnd.at_ms` is the end of
/// the last active block, emitted once the hangover has passed. On its own the VAD reports any
/// loud sound, tones included; [`crate::FrontEnd`] masks the frames its tone detectors claim
/// (see [`Vad::push_masked`]).
pub struct Vad {
    blocks: Reblocker<BLOCK>,
    floor: Floor,
    band_floor: Floor,
    band_filter: Biquad,
    /// The voiced band's energy in the previous block (for its 20 ms level).
    band_prev: f32,
    /// Blocks until the band filter has settled after a masked block.
    band_settle: u8,
    /// Start samples of the last `ONSET_WINDOW` blocks that were active (None = inactive).
    recent: [Option<u64>; ONSET_WINDOW],
    speech: Option<Speech>,
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
            floor: Floor::new(),
            band_floor: Floor::new(),
            band_filter: Biquad::band_pass(BAND_LOW_HZ, BAND_HIGH_HZ),
            band_prev: 0.0,
            band_settle: 0,
            recent: [None; ONSET_WINDOW],
            speech: None,
        }
    }

    /// Whether speech is currently in progress (including the hangover).
    pub fn in_speech(&self) -> bool {
        self.speech.is_some()
    }

    /// Current noise-floor estimate in dBFS.
    pub fn noise_floor_dbfs(&self) -> f32 {
        self.floor.db
    }

    /// Like [`Stage::push`], but for a `masked` frame (one another detector has claimed as a
    /// tone): it cannot start speech, does not feed the noise floor, and during speech keeps it
    /// open without counting as speech (for at most 1 s; see `MAX_MASKED_IN_SPEECH`).
    pub fn push_masked(&mut self, frame: &Frame, masked: bool) -> Vec<AudioEvent> {
        let mut out = Vec::new();
        if self.blocks.sync(frame) {
            self.end_speech(&mut out);
            self.recent = [None; ONSET_WINDOW];
            // The filter's memory belongs to audio before the jump.
            self.band_filter.reset();
            self.band_prev = 0.0;
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
        let bp = &mut self.band_filter;
        let band_energy: f32 = x.iter().map(|v| bp.step(*v).powi(2)).sum();
        let band_level =
            10.0 * ((band_energy + self.band_prev) / (2 * BLOCK) as f32 + 1e-12).log10();
        // A masked block (a tone) must not lend its energy to the next block's 20 ms level, and
        // the filter rings for a moment when a loud tone stops: the band is not trusted until
        // two blocks after a masked one.
        self.band_prev = if masked { 0.0 } else { band_energy };
        let band_trusted = self.band_settle == 0;
        self.band_settle = if masked {
            BAND_SETTLE_BLOCKS
        } else {
            self.band_settle.saturating_sub(1)
        };
        if !masked {
            self.floor.push(level);
            self.band_floor.push(band_level);
        }
        let end = start.saturating_add(BLOCK as u64);
        let over =
            |level: f32, floor: &Floor, margin: f32| level >= (floor.db + margin).max(ABS_MIN_DBFS);
        let onset = !masked
            && (over(level, &self.floor, ONSET_MARGIN_DB)
                || (band_trusted && over(band_level, &self.band_floor, BAND_ONSET_MARGIN_DB)));
        let loud = over(level, &self.floor, HOLD_MARGIN_DB)
            || (band_trusted && over(band_level, &self.band_floor, BAND_HOLD_MARGIN_DB));
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
            .field("noise_floor_dbfs", &self.floor.db)
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

#[cfg(test)]
mod tests {
    use super::{BAND_HIGH_HZ, BAND_LOW_HZ, Biquad};

    /// Steady-state gain of the voiced-band filter for a sine at `hz`.
    fn gain(hz: f32) -> f32 {
        let mut bp = Biquad::band_pass(BAND_LOW_HZ, BAND_HIGH_HZ);
        let w = 2.0 * std::f32::consts::PI * hz / crate::SAMPLE_RATE as f32;
        let (mut inp, mut out) = (0.0f32, 0.0f32);
        for n in 0..16_000 {
            let x = (w * n as f32).sin();
            let y = bp.step(x);
            if n >= 8_000 {
                inp += x * x;
                out += y * y;
            }
        }
        (out / inp).sqrt()
    }

    #[test]
    fn the_voiced_band_filter_passes_vowels_and_attenuates_the_rest_of_the_line() {
        // Unity at the centre (500 Hz), about -3 dB at the band edges.
        assert!((gain(500.0) - 1.0).abs() < 0.02, "{}", gain(500.0));
        for edge in [BAND_LOW_HZ, BAND_HIGH_HZ] {
            let g = gain(edge);
            assert!((0.6..0.8).contains(&g), "{edge} Hz: {g}");
        }
        // Well down where white line noise has most of its power (2–3.4 kHz), and at mains hum.
        for far in [2500.0, 3400.0, 60.0] {
            assert!(gain(far) < 0.25, "{far} Hz: {}", gain(far));
        }
    }
}

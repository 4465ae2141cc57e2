//! Re-framing of arbitrary chunks into exact 20 ms frames on a media-time grid.

use crate::{AudioEvent, FRAME_SAMPLES, Frame, SAMPLES_PER_MS};

/// Timestamp disagreements up to this many samples (5 ms) are taken as rounding jitter: Twilio
/// stamps chunks in whole milliseconds while a chunk can hold any number of 1/8 ms samples.
const JITTER_SAMPLES: u64 = 5 * SAMPLES_PER_MS;
/// Longest gap filled with silence (10 s). A longer jump re-anchors the grid instead of
/// producing a burst of silent frames, which keeps memory and work per push bounded.
const MAX_FILL_SAMPLES: u64 = 10_000 * SAMPLES_PER_MS;
/// Undrained gap events kept at most (the counter still counts them all).
const MAX_PENDING_EVENTS: usize = 64;

/// Re-frames chunks of any size into exact 20 ms frames keyed by media time; a gap in
/// timestamps is filled with silence frames (and reported), overlapping/late chunks are dropped
/// (and counted). Bounded memory.
///
/// The grid starts at the first chunk's timestamp: frame `k` starts at `first_ts + 20·k` ms.
/// There is no reordering buffer — Media Streams arrive in order over one WebSocket, so a chunk
/// that arrives after later audio has been framed is lost audio, and waiting for it would only
/// add latency. A chunk that partly overlaps framed audio keeps its new part.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<i16>,
    /// Sample index (media ms × 8) of `buf[0]`; `None` before the first chunk.
    frame_start: Option<u64>,
    gaps: u64,
    dropped: u64,
    events: Vec<AudioEvent>,
}

impl Framer {
    /// An empty framer; the first chunk fixes the grid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk of linear samples whose first sample is at `timestamp_ms`; returns the
    /// frames it completed.
    pub fn push(&mut self, timestamp_ms: u64, samples: &[i16]) -> Vec<Frame> {
        let mut out = Vec::new();
        if samples.is_empty() {
            return out;
        }
        let ts = timestamp_ms.saturating_mul(SAMPLES_PER_MS);
        let frame_start = *self.frame_start.get_or_insert(ts);
        let expected = frame_start.saturating_add(self.buf.len() as u64);
        let mut samples = samples;
        if ts > expected.saturating_add(JITTER_SAMPLES) {
            let missing = ts - expected;
            self.gaps += 1;
            if self.events.len() < MAX_PENDING_EVENTS {
                self.events.push(AudioEvent::Gap {
                    at_ms: expected / SAMPLES_PER_MS,
                    missing_ms: missing.div_ceil(SAMPLES_PER_MS),
                });
            }
            if missing > MAX_FILL_SAMPLES {
                if let Some(f) = self.flush() {
                    out.push(f);
                }
                self.frame_start = Some(ts);
            } else {
                self.append(&vec![0; missing as usize], &mut out);
            }
        } else if ts.saturating_add(JITTER_SAMPLES) < expected {
            // Late or overlapping: keep only what lies beyond the audio already taken.
            self.dropped += 1;
            let overlap = expected - ts;
            if overlap >= samples.len() as u64 {
                return out;
            }
            samples = &samples[overlap as usize..];
        }
        self.append(samples, &mut out);
        out
    }

    fn append(&mut self, mut samples: &[i16], out: &mut Vec<Frame>) {
        while !samples.is_empty() {
            let take = (FRAME_SAMPLES - self.buf.len()).min(samples.len());
            self.buf.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.buf.len() == FRAME_SAMPLES {
                let start = self.frame_start.unwrap_or(0);
                out.push(Frame {
                    start_ms: start / SAMPLES_PER_MS,
                    samples: std::mem::replace(&mut self.buf, Vec::with_capacity(FRAME_SAMPLES)),
                });
                self.frame_start = Some(start.saturating_add(FRAME_SAMPLES as u64));
            }
        }
    }

    /// End of stream: the partial frame, padded with silence, if any samples are buffered.
    pub fn flush(&mut self) -> Option<Frame> {
        if self.buf.is_empty() {
            return None;
        }
        let start = self.frame_start.unwrap_or(0);
        let mut samples = std::mem::take(&mut self.buf);
        samples.resize(FRAME_SAMPLES, 0);
        self.frame_start = Some(start.saturating_add(FRAME_SAMPLES as u64));
        Some(Frame {
            start_ms: start / SAMPLES_PER_MS,
            samples,
        })
    }

    /// Number of timestamp gaps seen (each filled with silence or, beyond 10 s, re-anchored).
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Number of chunks wholly or partly discarded because they overlapped framed audio.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// `Gap` events since the last call (at most 64 are kept between calls).
    pub fn take_events(&mut self) -> Vec<AudioEvent> {
        std::mem::take(&mut self.events)
    }
}

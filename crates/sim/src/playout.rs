//! Audio the carrier sends *towards* the clinic.
//!
//! * [`outbound_frame`]: the outbound track of a forked stream (`<Start><Stream
//!   track="both_tracks">`): silence, except for the DTMF tones of keys sent to the clinic
//!   (`<Play digits>` and the assistant's `dtmf` tool), rendered in-band at their media times.
//! * [`Playout`]: what a bidirectional stream's server sends back (`media`, `mark`, `clear`),
//!   queued and played out in order, 20 ms (160 bytes) per tick, with Twilio's mark semantics. The
//!   played audio runs through the audio crate's DTMF detector, so a server that navigates a menu
//!   with in-band tones presses keys exactly as if it had used `<Play digits>`.

use crate::audio::SILENCE;
use std::collections::VecDeque;
use std::sync::OnceLock;
use switchboard_audio::{AudioEvent, DtmfDetector, Frame, Stage, g711, synth};

/// Bytes (= samples) of µ-law in one 20 ms frame.
pub const FRAME_BYTES: usize = 160;
/// How long each key's tone lasts; `<Play digits>` and the `dtmf` endpoint space keys 200 ms
/// apart, so 100 ms of tone and 100 ms of silence.
pub const TONE_MS: u64 = 100;
/// Peak amplitude of each of the two tones of a key: −10 dBm0. In G.711's 16-bit scale a 0 dBm0
/// sine peaks at about 22 220 (µ-law's full-scale sine, ±32 124, is +3.17 dBm0).
pub const TONE_PEAK: i16 = 7030;
/// Most audio a bidirectional stream may have queued (60 s); beyond that it is dropped.
pub const MAX_QUEUED_BYTES: usize = 60 * 8000;
/// Most marks waiting for their audio; beyond that they are dropped.
pub const MAX_PENDING_MARKS: usize = 1024;

/// The linear samples of `digit`'s tone (`0-9`, `*`, `#`, `A-D`), rendered once.
fn tone(digit: char) -> Option<&'static [i16]> {
    static TONES: OnceLock<Vec<(char, Vec<i16>)>> = OnceLock::new();
    let tones = TONES.get_or_init(|| {
        "0123456789*#ABCD"
            .chars()
            .filter_map(|d| Some((d, synth::dtmf(d, TONE_MS, 2 * TONE_PEAK)?)))
            .collect()
    });
    let digit = digit.to_ascii_uppercase();
    tones
        .iter()
        .find(|(d, _)| *d == digit)
        .map(|(_, s)| s.as_slice())
}

/// 20 ms of the outbound track from media time `t_ms` (µ-law): the tones of `presses`
/// (`(media ms, key)`, each [`TONE_MS`] long) that sound during it, else silence.
pub fn outbound_frame(presses: &[(u64, char)], t_ms: u64) -> [u8; FRAME_BYTES] {
    let start = t_ms.saturating_mul(8);
    let mut pcm = [0i32; FRAME_BYTES];
    let mut sounding = false;
    for &(at_ms, digit) in presses {
        let Some(tone) = tone(digit) else { continue };
        let from = at_ms.saturating_mul(8);
        let to = from + tone.len() as u64;
        if to <= start || from >= start + FRAME_BYTES as u64 {
            continue;
        }
        sounding = true;
        for (i, v) in pcm.iter_mut().enumerate() {
            let s = start + i as u64;
            if (from..to).contains(&s) {
                *v += i32::from(tone[(s - from) as usize]);
            }
        }
    }
    if !sounding {
        return [SILENCE; FRAME_BYTES];
    }
    pcm.map(|v| g711::linear_to_ulaw(v.clamp(i16::MIN.into(), i16::MAX.into()) as i16))
}

/// One 20 ms step of a [`Playout`].
#[derive(Debug, Default, PartialEq)]
pub struct Tick {
    /// Marks whose preceding audio has finished playing: echo them now, in this order.
    pub marks: Vec<String>,
    /// Keys detected in the played audio: (media ms at which the tone started, key).
    pub digits: Vec<(u64, char)>,
}

/// The outbound audio queue of one bidirectional stream.
pub struct Playout {
    queue: VecDeque<u8>,
    /// Bytes ever queued / played (cleared audio counts as neither queued nor played).
    queued: u64,
    played: u64,
    /// Marks waiting for the audio before them: (`queued` when the mark arrived, name).
    marks: VecDeque<(u64, String)>,
    detector: DtmfDetector,
    /// Bytes dropped over the cap.
    pub dropped_bytes: u64,
}

impl Default for Playout {
    fn default() -> Self {
        Self::new()
    }
}

impl Playout {
    pub fn new() -> Self {
        Playout {
            queue: VecDeque::new(),
            queued: 0,
            played: 0,
            marks: VecDeque::new(),
            detector: DtmfDetector::new(),
            dropped_bytes: 0,
        }
    }

    /// Queues µ-law audio to play after what is already queued. Returns how many bytes were
    /// dropped because the queue holds [`MAX_QUEUED_BYTES`] already.
    pub fn media(&mut self, ulaw: &[u8]) -> usize {
        let room = MAX_QUEUED_BYTES.saturating_sub(self.queue.len());
        let take = ulaw.len().min(room);
        self.queue.extend(&ulaw[..take]);
        self.queued += take as u64;
        let dropped = ulaw.len() - take;
        self.dropped_bytes += dropped as u64;
        dropped
    }

    /// A mark after the queued audio. Returns it when it is due at once (nothing queued before
    /// it and no earlier mark pending); `Err` when it was dropped over [`MAX_PENDING_MARKS`].
    pub fn mark(&mut self, name: String) -> Result<Option<String>, String> {
        if self.queue.is_empty() && self.marks.is_empty() {
            return Ok(Some(name));
        }
        if self.marks.len() >= MAX_PENDING_MARKS {
            return Err(name);
        }
        self.marks.push_back((self.queued, name));
        Ok(None)
    }

    /// `clear`: drops the queued audio and returns every pending mark, to echo at once.
    pub fn clear(&mut self) -> Vec<String> {
        self.queued -= self.queue.len() as u64;
        self.queue.clear();
        self.marks.drain(..).map(|(_, n)| n).collect()
    }

    /// Audio still queued, in milliseconds.
    #[cfg(test)]
    pub fn queued_ms(&self) -> u64 {
        self.queue.len() as u64 / 8
    }

    /// Plays the next 20 ms at media time `t_ms` (silence when nothing is queued). Marks whose
    /// audio finished playing before `t_ms` come out first, then the keys the detector heard.
    pub fn tick(&mut self, t_ms: u64) -> Tick {
        let mut marks = Vec::new();
        while self.marks.front().is_some_and(|(at, _)| *at <= self.played) {
            marks.extend(self.marks.pop_front().map(|(_, n)| n));
        }
        let mut frame = [SILENCE; FRAME_BYTES];
        let n = self.queue.len().min(FRAME_BYTES);
        for (slot, b) in frame.iter_mut().zip(self.queue.drain(..n)) {
            *slot = b;
        }
        self.played += n as u64;
        let digits = self
            .detector
            .push(&Frame {
                start_ms: t_ms,
                samples: g711::decode(&frame),
            })
            .into_iter()
            .filter_map(|e| match e {
                AudioEvent::Dtmf { at_ms, digit, .. } => Some((at_ms, digit)),
                _ => None,
            })
            .collect();
        Tick { marks, digits }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(ulaw: &[u8]) -> Vec<(u64, char)> {
        let mut p = switchboard_audio::Pipeline::new();
        let mut ev = p.push_ulaw(0, ulaw);
        ev.extend(p.finish());
        ev.into_iter()
            .filter_map(|e| match e {
                AudioEvent::Dtmf { at_ms, digit, .. } => Some((at_ms, digit)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_outbound_track_carries_each_key_as_a_standard_tone_at_its_time() {
        let presses = [(1010, '3'), (1210, '#'), (2000, 'x')];
        let track: Vec<u8> = (0..150)
            .flat_map(|k| outbound_frame(&presses, k * 20))
            .collect();
        let got = detect(&track);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1, '3');
        assert_eq!(got[1].1, '#');
        assert!(got[0].0.abs_diff(1010) <= 2 && got[1].0.abs_diff(1210) <= 2);
        // Silence elsewhere; each tone is about −10 dBm0 per frequency (RMS of the pair ≈ 7030).
        assert!(track[..8000].iter().all(|b| *b == SILENCE));
        let pcm = g711::decode(&track[8080..8080 + 800]);
        let rms = synth::rms(&pcm);
        assert!((6500.0..7600.0).contains(&rms), "rms {rms}");
    }

    #[test]
    fn played_audio_is_listened_to_and_marks_wait_for_it() {
        let mut p = Playout::new();
        assert_eq!(p.mark("empty".into()), Ok(Some("empty".into())));
        let mut audio = synth::silence(300);
        audio.extend(synth::dtmf('2', 100, 8000).unwrap());
        audio.extend(synth::silence(100));
        // Any chunking: 7 ms, then the rest.
        let ulaw = g711::encode(&audio);
        p.media(&ulaw[..56]);
        p.media(&ulaw[56..]);
        assert_eq!(p.mark("after".into()), Ok(None));
        assert_eq!(p.queued_ms(), 500);
        let mut marks = vec![];
        let mut digits = vec![];
        for k in 0..40 {
            let t = p.tick(1000 + k * 20);
            if !t.marks.is_empty() {
                marks.push((1000 + k * 20, t.marks));
            }
            digits.extend(t.digits);
        }
        // 500 ms of audio from 1000: played by 1500, the mark comes out at the 1500 tick.
        assert_eq!(marks, vec![(1500, vec!["after".to_string()])]);
        assert_eq!(digits.len(), 1);
        assert_eq!(digits[0].1, '2');
        assert!(digits[0].0.abs_diff(1300) <= 2, "{digits:?}");
    }

    #[test]
    fn clear_drops_the_queue_and_releases_marks_in_order() {
        let mut p = Playout::new();
        p.media(&g711::encode(&synth::silence(200)));
        assert_eq!(p.mark("a".into()), Ok(None));
        p.media(&g711::encode(&synth::dtmf('5', 100, 8000).unwrap()));
        assert_eq!(p.mark("b".into()), Ok(None));
        p.tick(0);
        assert_eq!(p.clear(), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(p.queued_ms(), 0);
        for k in 1..30 {
            let t = p.tick(k * 20);
            assert!(t.marks.is_empty() && t.digits.is_empty());
        }
        // After a clear, a new mark with nothing queued is due at once again.
        assert_eq!(p.mark("c".into()), Ok(Some("c".into())));
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut p = Playout::new();
        assert_eq!(p.media(&vec![SILENCE; MAX_QUEUED_BYTES - 100]), 0);
        assert_eq!(p.media(&[SILENCE; 300]), 200);
        assert_eq!(p.queued_ms(), 60_000);
        assert_eq!(p.dropped_bytes, 200);
        for i in 0..MAX_PENDING_MARKS {
            assert_eq!(p.mark(i.to_string()), Ok(None));
        }
        assert_eq!(p.mark("over".into()), Err("over".into()));
    }
}

//! Speech for the classifier, per stream: which recogniser is configured, and how a stream's
//! inbound audio reaches it. Deepgram gets the audio as it arrives over its own WebSocket and
//! returns final transcripts timed in media time. The offline Whisper model (cargo feature
//! `whisper`) decodes whole utterances: the front end's speech start/end events cut the audio
//! into utterances, each decoded on the blocking pool. Without a recogniser the classifier
//! decides on acoustics alone.

use std::sync::Arc;
use switchboard_audio::AudioEvent;
use switchboard_speech::DeepgramConfig;
use tokio::sync::mpsc;

/// The configured recogniser (`SWITCHBOARD_SPEECH`).
#[derive(Clone, Default)]
pub enum Speech {
    #[default]
    None,
    Deepgram(DeepgramConfig),
    #[cfg(feature = "whisper")]
    Whisper(Arc<switchboard_speech::WhisperTranscriber>),
}

impl Speech {
    pub fn name(&self) -> &'static str {
        match self {
            Speech::None => "none",
            Speech::Deepgram(_) => "deepgram",
            #[cfg(feature = "whisper")]
            Speech::Whisper(_) => "whisper",
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Speech::None)
    }

    /// Loads the configured recogniser (the Whisper model is read once, here).
    pub fn load(choice: &crate::config::SpeechChoice) -> anyhow::Result<Speech> {
        use crate::config::SpeechChoice;
        Ok(match choice {
            SpeechChoice::None => Speech::None,
            SpeechChoice::Deepgram(cfg) => Speech::Deepgram(cfg.clone()),
            #[cfg(feature = "whisper")]
            SpeechChoice::Whisper(dir) => {
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let model = switchboard_speech::WhisperTranscriber::load(dir, threads.min(2))
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "cannot load the Whisper model from {} (SWITCHBOARD_WHISPER_MODEL): {e}",
                            dir.display()
                        )
                    })?;
                Speech::Whisper(Arc::new(model))
            }
            #[cfg(not(feature = "whisper"))]
            SpeechChoice::Whisper(_) => {
                anyhow::bail!("SWITCHBOARD_SPEECH=whisper needs a build with `--features whisper`")
            }
        })
    }
}

/// Utterance cutting: audio from a little before each speech start to its end, at most
/// `MAX_UTTERANCE_MS` (a long prompt is decoded in pieces so its first options arrive early).
const PREROLL_MS: u64 = 200;
const MAX_UTTERANCE_MS: u64 = 12_000;
const MIN_UTTERANCE_MS: u64 = 300;
/// Whole-round decoding sends at most Whisper's window.
const MAX_ROUND_MS: u64 = 30_000;
/// Audio kept for the utterance being cut (bounded memory per stream).
const KEEP_MS: u64 = MAX_UTTERANCE_MS + PREROLL_MS + 1000;
const KEEP_ROUND_MS: u64 = MAX_ROUND_MS + PREROLL_MS + 1000;

/// Cuts a stream's µ-law audio into utterances using the front end's speech events. In
/// whole-round mode each cut spans the round so far (since its first speech, at most 30 s):
/// Whisper reads a menu far better with the sentences around an option than one phrase at a
/// time, and a decode costs the same whatever its length (the window is padded to 30 s).
#[derive(Default)]
pub struct Utterances {
    /// Recent audio and the media time of its first byte.
    buf: Vec<u8>,
    buf_start_ms: u64,
    /// Start of the utterance in progress.
    open: Option<u64>,
    whole_round: bool,
    /// Start of the round's first utterance.
    round_from: Option<u64>,
}

/// One utterance to decode: its media times and audio.
pub struct Utterance {
    pub start_ms: u64,
    pub end_ms: u64,
    pub ulaw: Vec<u8>,
    /// The audio is the whole round so far (its transcript replaces earlier ones).
    pub whole_round: bool,
}

impl Utterances {
    /// Cuts that span the whole round so far.
    pub fn whole_rounds() -> Self {
        Utterances {
            whole_round: true,
            ..Default::default()
        }
    }

    /// A new round (after a key press): later cuts start at its first speech.
    pub fn next_round(&mut self) {
        self.round_from = None;
        self.open = None;
    }

    fn keep_ms(&self) -> u64 {
        if self.whole_round {
            KEEP_ROUND_MS
        } else {
            KEEP_MS
        }
    }

    /// Where a cut ending at `end_ms` starts.
    fn from(&self, utterance_start: u64, end_ms: u64) -> u64 {
        match (self.whole_round, self.round_from) {
            (true, Some(r)) => r.max(end_ms.saturating_sub(MAX_ROUND_MS)),
            _ => utterance_start,
        }
    }

    /// Adds audio at `ts_ms` and the events the front end produced for it; returns the
    /// utterances these complete.
    pub fn push(&mut self, ts_ms: u64, payload: &[u8], events: &[AudioEvent]) -> Vec<Utterance> {
        if self.buf.is_empty() {
            self.buf_start_ms = ts_ms;
        }
        // Media time is what counts: a gap is filled with silence so offsets stay true.
        let expected = self.buf_start_ms + self.buf.len() as u64 / 8;
        if ts_ms > expected {
            let fill = ((ts_ms - expected) * 8).min(self.keep_ms() * 8) as usize;
            self.buf.extend(std::iter::repeat_n(0xFF, fill));
        }
        self.buf.extend_from_slice(payload);
        let mut out = Vec::new();
        for e in events {
            match *e {
                AudioEvent::SpeechStart { at_ms } => {
                    let start = at_ms.saturating_sub(PREROLL_MS);
                    self.open.get_or_insert(start);
                    self.round_from.get_or_insert(start);
                }
                AudioEvent::SpeechEnd { at_ms, .. } => {
                    if let Some(start) = self.open.take() {
                        out.extend(self.cut(self.from(start, at_ms), at_ms));
                    }
                }
                _ => {}
            }
        }
        let end = self.buf_start_ms + self.buf.len() as u64 / 8;
        if let Some(start) = self.open
            && end.saturating_sub(start) >= MAX_UTTERANCE_MS
        {
            out.extend(self.cut(self.from(start, end), end));
            self.open = Some(end);
        }
        // Trim what no cut can need any more.
        let mut keep_from = end.saturating_sub(PREROLL_MS);
        if let Some(o) = self.open {
            keep_from = keep_from.min(o);
        }
        if let (true, Some(r)) = (self.whole_round, self.round_from) {
            keep_from = keep_from.min(r);
        }
        let keep = self.keep_ms();
        if keep_from > self.buf_start_ms + 1000 || self.buf.len() as u64 > keep * 8 {
            let keep_from = keep_from.max(end.saturating_sub(keep));
            let drop = ((keep_from.saturating_sub(self.buf_start_ms)) * 8) as usize;
            let drop = drop.min(self.buf.len());
            self.buf.drain(..drop);
            self.buf_start_ms += drop as u64 / 8;
        }
        out
    }

    fn cut(&self, start_ms: u64, end_ms: u64) -> Option<Utterance> {
        if end_ms.saturating_sub(start_ms) < MIN_UTTERANCE_MS {
            return None;
        }
        let from = (start_ms.saturating_sub(self.buf_start_ms) * 8) as usize;
        let to = ((end_ms.saturating_sub(self.buf_start_ms)) * 8) as usize;
        let to = to.min(self.buf.len());
        (from < to).then(|| Utterance {
            start_ms,
            end_ms,
            ulaw: self.buf[from..to].to_vec(),
            whole_round: self.whole_round,
        })
    }
}

/// A transcript heard on the stream, with the media time it covers up to.
pub struct Heard {
    pub until_ms: u64,
    pub text: String,
    /// The transcript of the whole round so far (replaces earlier ones), not a new piece.
    pub whole_round: bool,
}

/// One stream's recogniser.
pub struct SpeechStream {
    kind: Kind,
    #[cfg_attr(not(feature = "whisper"), allow(dead_code))]
    heard_tx: mpsc::UnboundedSender<Heard>,
    heard: mpsc::UnboundedReceiver<Heard>,
    /// Decodes started and not yet returned.
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

enum Kind {
    None,
    Deepgram(mpsc::Sender<Vec<u8>>),
    #[cfg(feature = "whisper")]
    Whisper(Arc<switchboard_speech::WhisperTranscriber>, Utterances),
}

impl SpeechStream {
    /// Opens the recogniser for a stream. A recogniser that cannot be reached is logged and the
    /// stream is classified on acoustics alone.
    pub async fn open(speech: &Speech) -> SpeechStream {
        let (heard_tx, heard) = mpsc::unbounded_channel();
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let kind = match speech {
            Speech::None => Kind::None,
            Speech::Deepgram(cfg) => match switchboard_speech::DeepgramStream::connect(cfg).await {
                Ok(mut stream) => {
                    let (audio_tx, mut audio_rx) = mpsc::channel::<Vec<u8>>(512);
                    let tx = heard_tx.clone();
                    tokio::spawn(async move {
                        loop {
                            tokio::select! {
                                a = audio_rx.recv() => match a {
                                    Some(a) => { if stream.send(&a).await.is_err() { break; } }
                                    None => { stream.finish().await; break; }
                                },
                                t = stream.next_transcript() => match t {
                                    Some(Ok(t)) if t.is_final && !t.text.trim().is_empty() => {
                                        let _ = tx.send(Heard { until_ms: t.end_ms, text: t.text, whole_round: false });
                                    }
                                    Some(Ok(_)) => {}
                                    Some(Err(e)) => { tracing::warn!(error = %e, "recogniser stream failed"); break; }
                                    None => break,
                                }
                            }
                        }
                    });
                    Kind::Deepgram(audio_tx)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach the recogniser; classifying on acoustics alone");
                    Kind::None
                }
            },
            #[cfg(feature = "whisper")]
            Speech::Whisper(model) => Kind::Whisper(model.clone(), Utterances::whole_rounds()),
        };
        SpeechStream {
            kind,
            heard_tx,
            heard,
            in_flight,
        }
    }

    /// Whether a recogniser is listening.
    pub fn active(&self) -> bool {
        !matches!(self.kind, Kind::None)
    }

    /// Whether decodes are still outstanding (a menu's last options may be in them).
    pub fn busy(&self) -> bool {
        self.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Feeds a frame and its front-end events.
    pub fn push(&mut self, ts_ms: u64, payload: &[u8], events: &[AudioEvent]) {
        match &mut self.kind {
            Kind::None => {}
            Kind::Deepgram(tx) => {
                let _ = (ts_ms, events);
                if tx.try_send(payload.to_vec()).is_err() {
                    tracing::debug!("recogniser is behind; audio dropped");
                }
            }
            #[cfg(feature = "whisper")]
            Kind::Whisper(model, cutter) => {
                for u in cutter.push(ts_ms, payload, events) {
                    let model = model.clone();
                    let tx = self.heard_tx.clone();
                    let in_flight = self.in_flight.clone();
                    in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::task::spawn_blocking(move || {
                        let _permit = decode_permit();
                        match model.transcribe_ulaw(&u.ulaw) {
                            Ok(text) if !text.trim().is_empty() => {
                                let _ = tx.send(Heard {
                                    until_ms: u.end_ms,
                                    text,
                                    whole_round: u.whole_round,
                                });
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "offline recogniser failed"),
                        }
                        in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    });
                }
            }
        }
    }

    /// A new round of listening (after a key press).
    pub fn next_round(&mut self) {
        #[cfg(feature = "whisper")]
        if let Kind::Whisper(_, cutter) = &mut self.kind {
            cutter.next_round();
        }
    }

    /// Transcripts that have arrived since the last call.
    pub fn try_next(&mut self) -> Option<Heard> {
        self.heard.try_recv().ok()
    }
}

/// At most one offline decode per core at a time: decodes queue rather than starve the audio
/// pipeline of the other streams.
#[cfg(feature = "whisper")]
fn decode_permit() -> std::sync::MutexGuard<'static, ()> {
    use std::sync::{Mutex, OnceLock};
    static POOL: OnceLock<Vec<Mutex<()>>> = OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        (0..n).map(|_| Mutex::new(())).collect()
    });
    loop {
        for m in pool {
            if let Ok(g) = m.try_lock() {
                return g;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utterances_are_cut_at_speech_end_with_preroll_and_true_media_offsets() {
        let mut u = Utterances::default();
        let mut out = Vec::new();
        for i in 0..150u64 {
            let ts = i * 20;
            let frame = [i as u8; 160];
            let events = match ts {
                1000 => vec![AudioEvent::SpeechStart { at_ms: 1000 }],
                2000 => vec![AudioEvent::SpeechEnd {
                    at_ms: 2000,
                    duration_ms: 1000,
                }],
                _ => vec![],
            };
            out.extend(u.push(ts, &frame, &events));
        }
        assert_eq!(out.len(), 1);
        let x = &out[0];
        assert_eq!((x.start_ms, x.end_ms), (800, 2000));
        assert_eq!(x.ulaw.len(), 1200 * 8);
        // The first byte is the frame that started at 800 ms (frame index 40).
        assert_eq!(x.ulaw[0], 40);
        assert_eq!(*x.ulaw.last().unwrap(), 99);
    }

    #[test]
    fn whole_round_cuts_span_the_round_and_restart_after_a_press() {
        let mut u = Utterances::whole_rounds();
        let mut out = Vec::new();
        let ev = |ts: u64| match ts {
            1000 | 3000 | 9000 => vec![AudioEvent::SpeechStart { at_ms: ts }],
            2000 | 4000 | 10_000 => vec![AudioEvent::SpeechEnd {
                at_ms: ts,
                duration_ms: 1000,
            }],
            _ => vec![],
        };
        for i in 0..600u64 {
            let ts = i * 20;
            if ts == 6000 {
                u.next_round();
            }
            out.extend(u.push(ts, &[0x7F; 160], &ev(ts)));
        }
        let spans: Vec<(u64, u64)> = out.iter().map(|x| (x.start_ms, x.end_ms)).collect();
        // The second cut covers both utterances; after the press, the round starts again.
        assert_eq!(spans, vec![(800, 2000), (800, 4000), (8800, 10_000)]);
        assert!(out.iter().all(|x| x.whole_round));
        assert_eq!(out[1].ulaw.len(), 3200 * 8);
    }

    #[test]
    fn a_long_prompt_is_cut_in_pieces_and_memory_stays_bounded() {
        let mut u = Utterances::default();
        let mut out = Vec::new();
        for i in 0..3000u64 {
            let ts = i * 20;
            let events = if ts == 0 {
                vec![AudioEvent::SpeechStart { at_ms: 0 }]
            } else {
                vec![]
            };
            out.extend(u.push(ts, &[0x7F; 160], &events));
            assert!(
                u.buf.len() as u64 <= (KEEP_MS + 1000) * 8,
                "{}",
                u.buf.len()
            );
        }
        // 60 s of speech: pieces of at most MAX_UTTERANCE_MS.
        assert!(out.len() >= 4, "{}", out.len());
        assert!(
            out.iter()
                .all(|x| x.end_ms - x.start_ms <= MAX_UTTERANCE_MS)
        );
        assert!(out.windows(2).all(|w| w[0].end_ms == w[1].start_ms));
    }
}

//! A Deepgram stand-in: the live transcription WebSocket (`GET /v1/listen`, `Authorization:
//! Token …`, binary µ-law frames in, `Results` messages out, `CloseStream` to finish), speaking
//! Deepgram's documented message format. It "recognises" exactly the world's rendered speech
//! clips — the carrier streams their bytes verbatim — so Switchboard's navigate mode can be run
//! end to end here with perfect, deterministic transcripts, sentence by sentence, each sent as a
//! final result once that sentence has been heard plus Deepgram's endpointing delay.
//!
//! What it is not: a speech recogniser. Audio that is not one of the clips is never transcribed.

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Silence after a sentence before its final result is sent (Deepgram's `endpointing=300`).
const ENDPOINT_MS: u64 = 300;
/// Window used to find a clip from a piece of audio (bytes, at 8-byte aligned clip offsets).
const KEY: usize = 16;

struct Clip {
    /// Sentences and the clip offset (bytes) at which each has been spoken.
    sentences: Vec<(String, usize)>,
    audio: &'static [u8],
}

struct Index {
    clips: Vec<Clip>,
    /// 16 bytes of a clip at an 8-byte aligned offset → (clip, offset).
    at: HashMap<[u8; KEY], (u32, u32)>,
}

/// The span of a clip that is voiced (TTS clips carry silence before and after the words).
fn voiced(audio: &[u8]) -> (usize, usize) {
    let pcm = switchboard_audio::g711::decode(audio);
    let loud = |x: &i16| x.unsigned_abs() > 600;
    let first = pcm.iter().position(loud).unwrap_or(0);
    let last = pcm.iter().rposition(loud).map_or(audio.len(), |i| i + 1);
    (first, last.max(first))
}

fn sentences(text: &str, (from, to): (usize, usize)) -> Vec<(String, usize)> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        cur.push(ch);
        if matches!(ch, '.' | '?' | '!') {
            parts.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        parts.push(cur.trim().to_string());
    }
    // Spoken time is taken as proportional to length over the voiced span: good enough for TTS.
    let total: usize = parts.iter().map(|p| p.len().max(1)).sum();
    let mut done = 0;
    parts
        .into_iter()
        .map(|p| {
            done += p.len().max(1);
            let end = from + (to - from) * done / total.max(1);
            (p, end)
        })
        .collect()
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut clips = Vec::new();
        let mut at = HashMap::new();
        for (i, (text, audio)) in crate::audio::speech_clips().enumerate() {
            let mut off = 0;
            while off + KEY <= audio.len() {
                let key: [u8; KEY] = audio[off..off + KEY].try_into().expect("16 bytes");
                // Near-silent windows repeat across clips; they identify nothing.
                if key.iter().any(|b| *b != key[0]) {
                    at.entry(key).or_insert((i as u32, off as u32));
                }
                off += 8;
            }
            clips.push(Clip {
                sentences: sentences(text, voiced(audio)),
                audio,
            });
        }
        Index { clips, at }
    })
}

/// Where a frame of audio comes from: (clip, byte offset), checked over the whole frame.
fn locate(frame: &[u8]) -> Option<(usize, usize)> {
    let idx = index();
    // The frame may start at any 8-byte aligned clip offset (the line is sampled per ms).
    for start in 0..frame.len().min(8) {
        if start + KEY > frame.len() {
            break;
        }
        let key: [u8; KEY] = frame[start..start + KEY].try_into().ok()?;
        if let Some(&(c, off)) = idx.at.get(&key) {
            let (c, off) = (c as usize, off as usize);
            let clip = idx.clips[c].audio;
            let Some(base) = off.checked_sub(start) else {
                continue;
            };
            let n = frame.len().min(clip.len().saturating_sub(base));
            if n > 0 && frame[..n] == clip[base..base + n] {
                return Some((c, base + n));
            }
        }
    }
    None
}

/// Stand-in settings.
#[derive(Clone)]
pub struct RecogniserConfig {
    /// The API key callers must present (`Authorization: Token <key>`).
    pub api_key: String,
}

/// The Deepgram stand-in.
#[derive(Clone)]
pub struct Recogniser(Arc<RecogniserConfig>);

impl Recogniser {
    pub fn new(cfg: RecogniserConfig) -> Self {
        // Build the index now rather than on the first call's audio.
        let _ = index();
        Recogniser(Arc::new(cfg))
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/listen", get(listen))
            .with_state(self.clone())
    }
}

async fn listen(
    State(r): State<Recogniser>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Token {}", r.0.api_key) {
        return (StatusCode::UNAUTHORIZED, "invalid credentials").into_response();
    }
    let q = q.unwrap_or_default();
    if !(q.contains("encoding=mulaw") && q.contains("sample_rate=8000")) {
        return (
            StatusCode::BAD_REQUEST,
            "expected encoding=mulaw&sample_rate=8000",
        )
            .into_response();
    }
    ws.on_upgrade(session)
}

/// One utterance being heard: which clip, where it started in the stream, sentences sent.
struct Hearing {
    clip: usize,
    started_ms: u64,
    /// Clip offset (bytes) heard so far.
    heard_to: usize,
    /// Stream time the clip was last heard.
    last_ms: u64,
    sent: usize,
}

fn result(text: &str, start_ms: u64, end_ms: u64) -> String {
    json!({
        "type": "Results", "channel_index": [0, 1],
        "duration": (end_ms.saturating_sub(start_ms)) as f64 / 1000.0,
        "start": start_ms as f64 / 1000.0,
        "is_final": true, "speech_final": true,
        "channel": {"alternatives": [{"transcript": text, "confidence": 0.98, "words": []}]}
    })
    .to_string()
}

async fn session(mut socket: WebSocket) {
    let idx = index();
    let mut audio_ms: u64 = 0;
    let mut hearing: Option<Hearing> = None;
    while let Some(Ok(msg)) = socket.recv().await {
        let mut out = Vec::new();
        match msg {
            Message::Binary(frame) => {
                let end_ms = audio_ms + frame.len() as u64 / 8;
                if let Some((c, to)) = locate(&frame) {
                    let same = hearing.as_ref().is_some_and(|h| h.clip == c);
                    if !same {
                        hearing = Some(Hearing {
                            clip: c,
                            started_ms: audio_ms,
                            heard_to: 0,
                            last_ms: end_ms,
                            sent: 0,
                        });
                    }
                    let h = hearing.as_mut().expect("set");
                    h.heard_to = h.heard_to.max(to);
                    h.last_ms = end_ms;
                }
                audio_ms = end_ms;
                // Sentences heard in full, followed by the endpointing silence (or the clip's end).
                if let Some(h) = hearing.as_mut() {
                    let clip = &idx.clips[h.clip];
                    let quiet = audio_ms.saturating_sub(h.last_ms) >= ENDPOINT_MS;
                    while h.sent < clip.sentences.len() {
                        let (text, end) = &clip.sentences[h.sent];
                        let heard = h.heard_to >= *end;
                        let spoken_ms = h.started_ms + (*end as u64) / 8;
                        if heard && (audio_ms >= spoken_ms + ENDPOINT_MS || quiet) {
                            let start = if h.sent == 0 {
                                h.started_ms
                            } else {
                                h.started_ms + clip.sentences[h.sent - 1].1 as u64 / 8
                            };
                            out.push(result(text, start, spoken_ms));
                            h.sent += 1;
                        } else {
                            break;
                        }
                    }
                    if quiet && h.sent >= clip.sentences.len() {
                        hearing = None;
                    }
                }
            }
            Message::Text(t) if t.contains("CloseStream") => {
                let _ = socket
                    .send(Message::text(
                        json!({"type": "Metadata", "request_id": uuid::Uuid::new_v4().to_string()})
                            .to_string(),
                    ))
                    .await;
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            Message::Close(_) => return,
            _ => {}
        }
        for m in out {
            if socket.send(Message::text(m)).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_of_a_clip_is_located_at_any_offset() {
        let (_, audio) = crate::audio::speech_clips()
            .find(|(t, _)| t.contains("Brookside"))
            .expect("a menu clip");
        for off in [800usize, 803, 808, 1600 + 8 * 37, audio.len() / 2] {
            let frame = &audio[off..off + 160];
            let (c, to) = locate(frame).expect("found");
            assert_eq!(index().clips[c].audio.as_ptr(), audio.as_ptr());
            assert_eq!(to, off + 160);
        }
        assert!(locate(&[0xFF; 160]).is_none());
    }

    #[test]
    fn sentences_end_in_order_at_the_clip_end() {
        let s = sentences("For billing press 1. For scheduling press 2.", (800, 8000));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "For billing press 1.");
        assert!(800 < s[0].1 && s[0].1 < s[1].1);
        assert_eq!(s[1].1, 8000);
        // A rendered clip: the words end before the clip's trailing silence.
        let (_, audio) = crate::audio::speech_clips().next().unwrap();
        let (from, to) = voiced(audio);
        assert!(
            from > 0 && to < audio.len() && from < to,
            "{from} {to} {}",
            audio.len()
        );
    }
}

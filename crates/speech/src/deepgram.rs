//! Deepgram live transcription (`GET /v1/listen` over a WebSocket): raw µ-law 8 kHz audio in as
//! binary frames, `Results` messages out (interim and final, with `start`/`duration` in seconds of
//! the audio sent), `KeepAlive` while idle, `CloseStream` to flush and finish. Authenticated with
//! `Authorization: Token <key>`.

use crate::{SpeechError, Transcript};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::fmt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// Deepgram settings.
#[derive(Clone)]
pub struct DeepgramConfig {
    pub api_key: String,
    /// `wss://api.deepgram.com` in production; a local server in tests.
    pub base_url: String,
    pub model: String,
    /// Words to boost (menu vocabulary: "press", "scheduling", …).
    pub keyterms: Vec<String>,
}

impl fmt::Debug for DeepgramConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeepgramConfig")
            .field("api_key", &"***")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .finish()
    }
}

impl DeepgramConfig {
    pub fn new(api_key: impl Into<String>) -> Self {
        DeepgramConfig {
            api_key: api_key.into(),
            base_url: "wss://api.deepgram.com".into(),
            model: "nova-3".into(),
            keyterms: [
                "press",
                "scheduling",
                "appointment",
                "front desk",
                "operator",
                "extension",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }

    /// The listen URL: µ-law at 8 kHz, one channel, interim results, punctuation.
    pub fn url(&self) -> String {
        let mut url = format!(
            "{}/v1/listen?encoding=mulaw&sample_rate=8000&channels=1&model={}&interim_results=true&punctuate=true&endpointing=300",
            self.base_url.trim_end_matches('/'),
            self.model
        );
        for k in &self.keyterms {
            url.push_str("&keyterm=");
            url.push_str(&k.replace(' ', "+"));
        }
        url
    }
}

#[derive(Deserialize)]
struct Alternative {
    transcript: String,
}

#[derive(Deserialize)]
struct Channel {
    alternatives: Vec<Alternative>,
}

#[derive(Deserialize)]
struct Results {
    #[serde(default)]
    start: f64,
    #[serde(default)]
    duration: f64,
    #[serde(default)]
    is_final: bool,
    channel: Channel,
}

/// Parses one message from Deepgram: `Ok(Some)` for a non-empty transcript, `Ok(None)` for other
/// message types (Metadata, SpeechStarted, UtteranceEnd) and empty results.
pub fn parse_message(text: &str) -> Result<Option<Transcript>, SpeechError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| SpeechError::Protocol(e.to_string()))?;
    match v.get("type").and_then(|t| t.as_str()) {
        Some("Results") => {
            let r: Results =
                serde_json::from_value(v).map_err(|e| SpeechError::Protocol(e.to_string()))?;
            let text = r
                .channel
                .alternatives
                .first()
                .map(|a| a.transcript.trim().to_string())
                .unwrap_or_default();
            if text.is_empty() {
                return Ok(None);
            }
            let start_ms = (r.start * 1000.0).round().max(0.0) as u64;
            let end_ms = ((r.start + r.duration) * 1000.0).round().max(0.0) as u64;
            Ok(Some(Transcript {
                text,
                start_ms,
                end_ms,
                is_final: r.is_final,
            }))
        }
        Some("Error") => Err(SpeechError::Closed(
            v.get("description")
                .and_then(|d| d.as_str())
                .unwrap_or("error")
                .to_string(),
        )),
        _ => Ok(None),
    }
}

/// A live stream to Deepgram: send audio with [`DeepgramStream::send`], read transcripts from
/// [`DeepgramStream::transcripts`], end with [`DeepgramStream::finish`].
pub struct DeepgramStream {
    audio: mpsc::Sender<Option<Vec<u8>>>,
    transcripts: mpsc::Receiver<Result<Transcript, SpeechError>>,
}

impl DeepgramStream {
    pub async fn connect(cfg: &DeepgramConfig) -> Result<Self, SpeechError> {
        let mut req = cfg
            .url()
            .into_client_request()
            .map_err(|e| SpeechError::Connect(e.to_string()))?;
        req.headers_mut().insert(
            "authorization",
            format!("Token {}", cfg.api_key)
                .parse()
                .map_err(|_| SpeechError::Connect("invalid API key".into()))?,
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(r) => {
                    SpeechError::Connect(format!("HTTP {}", r.status()))
                }
                other => SpeechError::Connect(other.to_string()),
            })?;
        let (mut sink, mut source) = ws.split();
        let (audio_tx, mut audio_rx) = mpsc::channel::<Option<Vec<u8>>>(256);
        let (text_tx, text_rx) = mpsc::channel(64);
        // Writer: audio frames, KeepAlive every 5 s of no audio, CloseStream at the end.
        tokio::spawn(async move {
            loop {
                match tokio::time::timeout(std::time::Duration::from_secs(5), audio_rx.recv()).await
                {
                    Ok(Some(Some(frame))) => {
                        if sink.send(Message::binary(frame)).await.is_err() {
                            break;
                        }
                    }
                    Ok(Some(None)) | Ok(None) => {
                        let _ = sink.send(Message::text(r#"{"type":"CloseStream"}"#)).await;
                        break;
                    }
                    Err(_) => {
                        if sink
                            .send(Message::text(r#"{"type":"KeepAlive"}"#))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        });
        // Reader: transcripts until the server closes.
        tokio::spawn(async move {
            while let Some(msg) = source.next().await {
                let item = match msg {
                    Ok(Message::Text(t)) => match parse_message(&t) {
                        Ok(Some(tr)) => Ok(tr),
                        Ok(None) => continue,
                        Err(e) => Err(e),
                    },
                    Ok(Message::Close(_)) => break,
                    Ok(_) => continue,
                    Err(e) => Err(SpeechError::Closed(e.to_string())),
                };
                let stop = item.is_err();
                if text_tx.send(item).await.is_err() || stop {
                    break;
                }
            }
        });
        Ok(DeepgramStream {
            audio: audio_tx,
            transcripts: text_rx,
        })
    }

    /// Queues µ-law audio (any number of bytes).
    pub async fn send(&self, ulaw: &[u8]) -> Result<(), SpeechError> {
        self.audio
            .send(Some(ulaw.to_vec()))
            .await
            .map_err(|_| SpeechError::Closed("stream ended".into()))
    }

    /// The next transcript, or `None` when the stream has ended.
    pub async fn next_transcript(&mut self) -> Option<Result<Transcript, SpeechError>> {
        self.transcripts.recv().await
    }

    /// Asks Deepgram to flush and close; transcripts keep arriving until it does.
    pub async fn finish(&self) {
        let _ = self.audio.send(None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_messages_become_timed_transcripts() {
        let m = r#"{"type":"Results","channel_index":[0,1],"duration":1.5,"start":2.25,"is_final":true,"speech_final":true,
                    "channel":{"alternatives":[{"transcript":"For scheduling, press two.","confidence":0.98,"words":[]}]},
                    "metadata":{"request_id":"x","model_info":{"name":"n","version":"v","arch":"a"},"model_uuid":"u"}}"#;
        let t = parse_message(m).unwrap().unwrap();
        assert_eq!(
            t,
            Transcript {
                text: "For scheduling, press two.".into(),
                start_ms: 2250,
                end_ms: 3750,
                is_final: true
            }
        );
        let empty = r#"{"type":"Results","start":0,"duration":0.5,"is_final":false,"channel":{"alternatives":[{"transcript":""}]}}"#;
        assert_eq!(parse_message(empty).unwrap(), None);
        assert_eq!(
            parse_message(r#"{"type":"UtteranceEnd","last_word_end":2.1}"#).unwrap(),
            None
        );
        assert!(parse_message("nope").is_err());
    }

    #[test]
    fn the_url_asks_for_mulaw_at_8k_and_the_key_never_prints() {
        let c = DeepgramConfig::new("secret-key");
        assert!(c.url().starts_with(
            "wss://api.deepgram.com/v1/listen?encoding=mulaw&sample_rate=8000&channels=1"
        ));
        assert!(c.url().contains("keyterm=front+desk"));
        assert!(!format!("{c:?}").contains("secret-key"));
    }
}

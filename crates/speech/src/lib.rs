//! Speech recognition for the classifier, behind one small interface: feed µ-law 8 kHz audio in
//! media time, receive transcripts with their media times. Backends: Deepgram's streaming API over
//! a WebSocket (`DEEPGRAM_API_KEY`), offline Whisper tiny.en per utterance (cargo feature
//! `whisper`, see docs/speech.md), or none (the classifier then decides on acoustics alone).
//! Only this crate knows a recogniser's protocol.

pub mod deepgram;
#[cfg(feature = "whisper")]
pub mod whisper;

pub use deepgram::{DeepgramConfig, DeepgramStream};
#[cfg(feature = "whisper")]
pub use whisper::{WhisperTranscriber, default_model_dir};

/// A piece of recognised text.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    /// Media time (ms from the start of the audio sent) of the first and last word.
    pub start_ms: u64,
    pub end_ms: u64,
    /// The recogniser will not revise this text.
    pub is_final: bool,
}

/// Why recognition failed. Messages never include the API key, audio or transcripts.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("cannot connect to the recogniser: {0}")]
    Connect(String),
    #[error("the recogniser closed the stream: {0}")]
    Closed(String),
    #[error("unexpected message from the recogniser: {0}")]
    Protocol(String),
    #[error("speech model: {0}")]
    Model(String),
}

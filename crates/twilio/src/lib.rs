//! Twilio's REST API for calls: create, update, fetch (protocols.md A.1–A.7). Only this crate
//! knows Twilio's REST wire format.
//!
//! - Requests are form-encoded byte-for-byte as twilio-python 9.x sends them (parameter order
//!   of Twilio's OpenAPI document, `urlencode` escaping, repeated keys for lists), with
//!   `Accept: application/json` and HTTP Basic auth (`AccountSid:AuthToken` or
//!   `KeySid:KeySecret`; the Account SID is always in the path).
//! - Both documented error bodies (legacy and RFC 9457) are parsed into [`TwilioError::Api`].
//! - Retries are deliberately asymmetric: see [`TwilioClient::create_call`].
//! - Credentials never appear in `Debug` output or error messages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), switchboard_twilio::TwilioError> {
//! use switchboard_twilio::{Auth, CreateCall, TwilioClient, TwilioConfig};
//! let client = TwilioClient::new(TwilioConfig::new(
//!     "AC0123456789abcdef0123456789abcdef",
//!     Auth::ApiKey { sid: "SK…".into(), secret: "…".into() },
//! ))?;
//! let call = client
//!     .create_call(&CreateCall {
//!         to: "+14155551212".into(),
//!         from: "+15005550006".into(),
//!         url: "https://switchboard.example/twilio/voice/1".into(),
//!         status_callback: "https://switchboard.example/twilio/status/1".into(),
//!         timeout_secs: Some(30),
//!         time_limit_secs: Some(3600),
//!     })
//!     .await?;
//! println!("{} is {}", call.sid, call.status);
//! # Ok(()) }
//! ```

mod call;
mod client;
mod config;
mod error;
mod form;
pub mod media;
mod retry;

pub use call::Call;
pub use client::{DEFAULT_TIMEOUT, TwilioClient, USER_AGENT};
pub use config::{Auth, DEFAULT_API_BASE, TwilioConfig};
pub use error::{TwilioError, parse_error};
pub use form::{
    CreateCall, Form, STATUS_CALLBACK_EVENTS, TWIML_MAX_CHARS, UpdateCall, create_form, encode,
    update_form,
};
pub use retry::{RetryPolicy, parse_retry_after};

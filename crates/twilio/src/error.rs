//! Errors, and the parser of Twilio's two documented error bodies (protocols.md A.4).

use serde_json::{Map, Value};

/// The longest message kept from an error body, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// Errors talking to Twilio. No variant's text ever contains a credential: requests carry them
/// only in the (sensitive-marked) `Authorization` header, and transport errors are rendered
/// without their URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// Twilio answered with a non-2xx status.
    #[error("Twilio answered HTTP {http_status}{}: {message}", code.map(|c| format!(" (error {c})")).unwrap_or_default())]
    Api {
        http_status: u16,
        /// Twilio's error code (e.g. 21211, 20429); `None` when the body was not a Twilio error.
        code: Option<i64>,
        /// Twilio's message (legacy `message`; RFC 9457 `title: detail`), or the HTTP reason
        /// phrase when the body was not a Twilio error.
        message: String,
        /// Legacy `more_info`, or the RFC 9457 `type` URI.
        more_info: Option<String>,
    },
    /// The exchange failed after the request may have been sent: a timeout, a reset connection,
    /// an unreadable response. Twilio may or may not have acted on the request.
    #[error("Twilio transport error: {0}")]
    Transport(String),
    /// No connection could be established (refused, DNS, TLS handshake): nothing was sent, so
    /// Twilio certainly did not act. A transport error with that one guarantee.
    #[error("could not connect to Twilio: {0}")]
    Connect(String),
    /// Refused locally before anything was sent (e.g. TwiML over 4000 characters).
    #[error("invalid Twilio request: {0}")]
    InvalidRequest(String),
}

impl TwilioError {
    /// Worth trying again later: HTTP 429, any 5xx, and transport/connect errors. Other 4xx and
    /// local validation errors are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            TwilioError::Api { http_status, .. } => *http_status == 429 || *http_status >= 500,
            TwilioError::Transport(_) | TwilioError::Connect(_) => true,
            TwilioError::InvalidRequest(_) => false,
        }
    }

    /// Twilio certainly did not act on the request and sending it again is safe: HTTP 429
    /// (error 20429: "never processed and is always safe to retry") or a connection that was
    /// never established. A create that failed this way placed no call. (Implies
    /// [`is_retryable`](Self::is_retryable); a locally refused request is not retryable and so
    /// not counted here.)
    pub fn was_not_processed(&self) -> bool {
        match self {
            TwilioError::Api { http_status, .. } => *http_status == 429,
            TwilioError::Connect(_) => true,
            TwilioError::Transport(_) | TwilioError::InvalidRequest(_) => false,
        }
    }

    /// Twilio's error code, if it gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            TwilioError::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// The HTTP status Twilio answered with, if it answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            TwilioError::Api { http_status, .. } => Some(*http_status),
            _ => None,
        }
    }
}

/// Parses a non-2xx response body into [`TwilioError::Api`]. Recognises Twilio's legacy shape
/// `{"code", "message", "more_info", "status", "details"}` and the RFC 9457 shape
/// `{"type", "title", "status", "code", "detail", "instance", "errors"}` (twilio-python's
/// `twilio/base/version.py`). Anything else (HTML from a proxy, empty body, unrelated JSON) gives
/// `code: None` and the HTTP reason phrase as the message.
pub fn parse_error(http_status: u16, body: &str) -> TwilioError {
    let parsed: Option<Value> = serde_json::from_str(body.trim()).ok();
    let obj = parsed.as_ref().and_then(Value::as_object);
    let (code, message, more_info) = match obj {
        Some(o) if is_rfc9457(o) => {
            let message = match (text(o, "title"), text(o, "detail")) {
                (Some(t), Some(d)) => Some(format!("{t}: {d}")),
                (t, d) => t.or(d),
            };
            (integer(o, "code"), message, text(o, "type"))
        }
        Some(o) => (integer(o, "code"), text(o, "message"), text(o, "more_info")),
        None => (None, None, None),
    };
    let message = message.unwrap_or_else(|| reason_phrase(http_status));
    TwilioError::Api {
        http_status,
        code,
        message: truncate(&message),
        more_info,
    }
}

/// twilio-python treats a body as RFC 9457 when it has all of `type`, `title`, `status`, `code`.
fn is_rfc9457(o: &Map<String, Value>) -> bool {
    ["type", "title", "status", "code"]
        .iter()
        .all(|k| o.contains_key(*k))
}

fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn integer(o: &Map<String, Value>, key: &str) -> Option<i64> {
    let v = o.get(key)?;
    v.as_i64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// "Bad Gateway", "Too Many Requests"…; `HTTP 599` for statuses without one.
pub(crate) fn reason_phrase(http_status: u16) -> String {
    reqwest::StatusCode::from_u16(http_status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {http_status}"))
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
        t.push('…');
        t
    }
}

/// A reqwest error as text: without its URL, with its causes ("connection refused"…).
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_shape() {
        let e = parse_error(
            400,
            r#"{"code": 21211, "message": "Invalid 'To' Phone Number: +1555", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400, "details": {"foo": "bar"}}"#,
        );
        assert_eq!(
            e,
            TwilioError::Api {
                http_status: 400,
                code: Some(21211),
                message: "Invalid 'To' Phone Number: +1555".into(),
                more_info: Some("https://www.twilio.com/docs/errors/21211".into()),
            }
        );
        assert!(!e.is_retryable());
        assert!(!e.was_not_processed());
    }

    #[test]
    fn rfc9457_shape() {
        let e = parse_error(
            400,
            r#"{"type": "https://www.twilio.com/docs/errors/20001", "title": "Bad request", "status": 400, "code": 20001, "detail": "Missing To", "instance": "/x", "errors": [{"detail": "To is required", "pointer": "/To"}]}"#,
        );
        assert_eq!(e.code(), Some(20001));
        let TwilioError::Api {
            message, more_info, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(message, "Bad request: Missing To");
        assert_eq!(
            more_info.as_deref(),
            Some("https://www.twilio.com/docs/errors/20001")
        );
        // Without `detail`, the title alone.
        let e = parse_error(
            404,
            r#"{"type": "t", "title": "Not Found", "status": 404, "code": 20404}"#,
        );
        assert!(e.to_string().ends_with(": Not Found"), "{e}");
    }

    #[test]
    fn anything_else_falls_back_to_the_reason_phrase() {
        for body in [
            "<html>bad gateway</html>",
            "",
            "[]",
            "{}",
            r#"{"error": 1}"#,
        ] {
            let e = parse_error(502, body);
            assert_eq!(e.code(), None, "{body}");
            assert!(e.to_string().ends_with(": Bad Gateway"), "{e}");
            assert!(e.is_retryable());
            assert!(!e.was_not_processed());
        }
        assert!(parse_error(599, "x").to_string().ends_with("HTTP 599"));
        // A code sent as a string still counts.
        assert_eq!(parse_error(400, r#"{"code": "21211"}"#).code(), Some(21211));
    }

    #[test]
    fn retryability() {
        assert!(parse_error(429, "{}").is_retryable());
        assert!(parse_error(429, "{}").was_not_processed());
        assert!(parse_error(500, "{}").is_retryable());
        assert!(!parse_error(401, "{}").is_retryable());
        assert!(!parse_error(404, "{}").is_retryable());
        assert!(TwilioError::Transport("t".into()).is_retryable());
        assert!(!TwilioError::Transport("t".into()).was_not_processed());
        assert!(TwilioError::Connect("c".into()).is_retryable());
        assert!(TwilioError::Connect("c".into()).was_not_processed());
        assert!(!TwilioError::InvalidRequest("i".into()).is_retryable());
        assert!(!TwilioError::InvalidRequest("i".into()).was_not_processed());
    }

    #[test]
    fn long_messages_are_cut() {
        let long = format!(r#"{{"code": 1, "message": "{}"}}"#, "x".repeat(2000));
        let TwilioError::Api { message, .. } = parse_error(400, &long) else {
            unreachable!()
        };
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}

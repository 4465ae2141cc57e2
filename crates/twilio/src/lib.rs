//! Twilio's REST API for calls: create, update, fetch. Requests are form-encoded and
//! authenticated the way twilio-python sends them (protocols.md A.1–A.5); both documented error
//! shapes are parsed. Only this crate knows Twilio's REST wire format.

pub mod media;

use base64::Engine;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// How to authenticate: an API key (recommended) or the account's Auth Token.
#[derive(Clone)]
pub enum Auth {
    AuthToken(String),
    ApiKey { sid: String, secret: String },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::AuthToken(_) => f.write_str("AuthToken(***)"),
            Auth::ApiKey { sid, .. } => write!(f, "ApiKey {{ sid: {sid:?}, secret: *** }}"),
        }
    }
}

/// Account settings.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` in production; a simulator's base in tests.
    pub api_base: String,
    pub account_sid: String,
    pub auth: Auth,
}

/// Retries of requests Twilio certainly did not process.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// A call to create.
#[derive(Debug, Clone)]
pub struct CreateCall {
    pub to: String,
    pub from: String,
    /// TwiML URL, fetched with POST when the call connects.
    pub url: String,
    /// Receives all four progress events.
    pub status_callback: String,
    pub timeout_secs: Option<u32>,
    pub time_limit_secs: Option<u32>,
}

/// A change to a live call.
#[derive(Debug, Clone)]
pub enum UpdateCall {
    /// Replace the call's TwiML (at most 4000 characters).
    Twiml(String),
    /// Fetch new TwiML from a URL (POST).
    Url { url: String },
    /// End the call.
    Complete,
}

/// Twilio's Call resource (the fields Switchboard reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Call {
    pub sid: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub queue_time: Option<String>,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub answered_by: Option<String>,
}

/// Errors talking to Twilio. Messages carry Twilio's code and text, never credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TwilioError {
    #[error("Twilio answered HTTP {http_status}{}: {message}", code.map(|c| format!(" (error {c})")).unwrap_or_default())]
    Api {
        http_status: u16,
        code: Option<i64>,
        message: String,
        more_info: Option<String>,
    },
    /// The request may or may not have reached Twilio (timeout, connection reset).
    #[error("could not reach Twilio: {0}")]
    Transport(String),
    /// The connection was refused before anything was sent.
    #[error("could not connect to Twilio: {0}")]
    Connect(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl TwilioError {
    /// Worth trying again later (rate limit, server error, network).
    pub fn is_retryable(&self) -> bool {
        match self {
            TwilioError::Api { http_status, .. } => *http_status == 429 || *http_status >= 500,
            TwilioError::Transport(_) | TwilioError::Connect(_) => true,
            TwilioError::InvalidRequest(_) => false,
        }
    }

    /// Twilio certainly did not act on the request: 429 ("never processed and always safe to
    /// retry", error 20429) or a refused connection.
    pub fn was_not_processed(&self) -> bool {
        matches!(
            self,
            TwilioError::Api {
                http_status: 429,
                ..
            } | TwilioError::Connect(_)
        )
    }

    /// Twilio's error code, if it gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            TwilioError::Api { code, .. } => *code,
            _ => None,
        }
    }
}

/// Parses Twilio's error body: the legacy `{code, message, more_info, status}` or the RFC 9457
/// `{type, title, status, code, detail}` shape; anything else falls back to the HTTP status.
pub fn parse_error(http_status: u16, body: &str) -> TwilioError {
    let v: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let obj = v.as_ref().and_then(|v| v.as_object());
    let s = |k: &str| {
        obj.and_then(|o| o.get(k))
            .and_then(|x| x.as_str())
            .map(str::to_string)
    };
    let code = obj
        .and_then(|o| o.get("code"))
        .and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
    let message = s("message")
        .or_else(|| match (s("title"), s("detail")) {
            (Some(t), Some(d)) => Some(format!("{t}: {d}")),
            (t, d) => t.or(d),
        })
        .unwrap_or_else(|| {
            reqwest::StatusCode::from_u16(http_status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_string()
        });
    let more_info = s("more_info").or_else(|| s("type"));
    TwilioError::Api {
        http_status,
        code,
        message: message.chars().take(500).collect(),
        more_info,
    }
}

/// The client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    config: TwilioConfig,
    retry: RetryPolicy,
}

/// The form of a create request, in the order twilio-python writes it (protocols.md A.2).
/// `Method` and `StatusCallbackMethod` stay at Twilio's default, POST, and are not sent, as
/// twilio-python does when they are not given.
pub fn create_form(c: &CreateCall) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("To", c.to.clone()),
        ("From", c.from.clone()),
        ("StatusCallback", c.status_callback.clone()),
    ];
    for e in ["initiated", "ringing", "answered", "completed"] {
        f.push(("StatusCallbackEvent", e.to_string()));
    }
    if let Some(t) = c.timeout_secs {
        f.push(("Timeout", t.to_string()));
    }
    if let Some(t) = c.time_limit_secs {
        f.push(("TimeLimit", t.to_string()));
    }
    f.push(("Url", c.url.clone()));
    f
}

/// The form of an update request.
pub fn update_form(u: &UpdateCall) -> Result<Vec<(&'static str, String)>, TwilioError> {
    Ok(match u {
        UpdateCall::Twiml(t) if t.chars().count() > 4000 => {
            return Err(TwilioError::InvalidRequest(
                "Twiml exceeds Twilio's 4000-character limit".into(),
            ));
        }
        UpdateCall::Twiml(t) => vec![("Twiml", t.clone())],
        UpdateCall::Url { url } => vec![("Url", url.clone()), ("Method", "POST".into())],
        UpdateCall::Complete => vec![("Status", "completed".into())],
    })
}

impl TwilioClient {
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioError> {
        Self::with_options(config, RetryPolicy::default(), Duration::from_secs(10))
    }

    pub fn with_options(
        config: TwilioConfig,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, TwilioError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TwilioError::InvalidRequest(format!("HTTP client: {e}")))?;
        Ok(TwilioClient {
            http,
            config,
            retry,
        })
    }

    fn calls_url(&self, sid: Option<&str>) -> String {
        let base = self.config.api_base.trim_end_matches('/');
        let acct = &self.config.account_sid;
        match sid {
            None => format!("{base}/2010-04-01/Accounts/{acct}/Calls.json"),
            Some(s) => format!("{base}/2010-04-01/Accounts/{acct}/Calls/{s}.json"),
        }
    }

    fn authorization(&self) -> String {
        let (user, pass) = match &self.config.auth {
            Auth::AuthToken(t) => (self.config.account_sid.as_str(), t.as_str()),
            Auth::ApiKey { sid, secret } => (sid.as_str(), secret.as_str()),
        };
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        form: Option<&[(&'static str, String)]>,
    ) -> Result<Call, TwilioError> {
        let mut req = self
            .http
            .request(method, url)
            .header("Accept", "application/json")
            .header("Authorization", self.authorization());
        if let Some(f) = form {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(f.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() {
                TwilioError::Connect(e.to_string())
            } else {
                TwilioError::Transport(e.to_string())
            }
        })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = resp
            .text()
            .await
            .map_err(|e| TwilioError::Transport(e.to_string()))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text)
                .map_err(|e| TwilioError::Transport(format!("unexpected response body: {e}")));
        }
        let mut err = parse_error(status, &text);
        if let (TwilioError::Api { more_info, .. }, Some(secs)) = (&mut err, retry_after) {
            // Carried to the retry loop through a marker the loop strips.
            *more_info = Some(format!("retry-after:{secs}"));
        }
        Err(err)
    }

    /// Sends with retries: `idempotent` requests retry every retryable error; others only the
    /// ones Twilio certainly did not process.
    async fn send_with_retry(
        &self,
        method: reqwest::Method,
        url: &str,
        form: Option<&[(&'static str, String)]>,
        idempotent: bool,
    ) -> Result<Call, TwilioError> {
        let mut attempt = 0;
        loop {
            let result = self.send(method.clone(), url, form).await;
            let err = match result {
                Ok(c) => return Ok(c),
                Err(e) => e,
            };
            let retry = if idempotent {
                err.is_retryable()
            } else {
                err.was_not_processed()
            };
            let mut hinted = None;
            let err = match err {
                TwilioError::Api {
                    http_status,
                    code,
                    message,
                    more_info,
                } => {
                    let (more_info, hint) = match more_info {
                        Some(m) if m.starts_with("retry-after:") => {
                            (None, m[12..].parse::<u64>().ok())
                        }
                        other => (other, None),
                    };
                    hinted = hint;
                    TwilioError::Api {
                        http_status,
                        code,
                        message,
                        more_info,
                    }
                }
                other => other,
            };
            if !retry || attempt >= self.retry.max_retries {
                return Err(err);
            }
            attempt += 1;
            let backoff = self
                .retry
                .base_delay
                .saturating_mul(1 << (attempt - 1).min(10));
            let jitter = rand::random_range(0.5..1.0);
            let delay = hinted
                .map(Duration::from_secs)
                .unwrap_or(backoff.mul_f64(jitter))
                .min(self.retry.max_delay);
            tracing::debug!(attempt, ?delay, "retrying Twilio request");
            tokio::time::sleep(delay).await;
        }
    }

    /// Creates a call. Retried only when Twilio certainly did not process the request: a 5xx or
    /// a timeout may have created the call, and a second call to a clinic is worse than a late
    /// one, so those are returned to the caller (still `is_retryable()`), who reconciles through
    /// status callbacks.
    pub async fn create_call(&self, c: &CreateCall) -> Result<Call, TwilioError> {
        let form = create_form(c);
        self.send_with_retry(
            reqwest::Method::POST,
            &self.calls_url(None),
            Some(&form),
            false,
        )
        .await
    }

    /// Redirects or ends a live call (idempotent: retried on any retryable error).
    pub async fn update_call(&self, call_sid: &str, u: &UpdateCall) -> Result<Call, TwilioError> {
        let form = update_form(u)?;
        self.send_with_retry(
            reqwest::Method::POST,
            &self.calls_url(Some(call_sid)),
            Some(&form),
            true,
        )
        .await
    }

    /// Reads a call (reconciliation).
    pub async fn fetch_call(&self, call_sid: &str) -> Result<Call, TwilioError> {
        self.send_with_retry(
            reqwest::Method::GET,
            &self.calls_url(Some(call_sid)),
            None,
            true,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_parse() {
        let e = parse_error(
            400,
            r#"{"code": 21211, "message": "Invalid 'To' Phone Number", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#,
        );
        assert_eq!(e.code(), Some(21211));
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("21211"));
        let e = parse_error(
            400,
            r#"{"type": "https://www.twilio.com/docs/errors/20001", "title": "Bad request", "status": 400, "code": 20001, "detail": "Missing To"}"#,
        );
        assert_eq!(e.code(), Some(20001));
        assert!(e.to_string().contains("Bad request: Missing To"));
        let e = parse_error(502, "<html>bad gateway</html>");
        assert_eq!(e.code(), None);
        assert!(e.is_retryable());
        assert!(!e.was_not_processed());
        assert!(parse_error(429, "{}").was_not_processed());
    }

    #[test]
    fn secrets_do_not_print() {
        let c = TwilioConfig {
            api_base: "https://api.twilio.com".into(),
            account_sid: "AC1".into(),
            auth: Auth::ApiKey {
                sid: "SK1".into(),
                secret: "very-secret".into(),
            },
        };
        assert!(!format!("{c:?}").contains("very-secret"));
        assert!(!format!("{:?}", Auth::AuthToken("tok-secret".into())).contains("tok-secret"));
    }

    #[test]
    fn long_twiml_is_rejected_locally() {
        assert!(matches!(
            update_form(&UpdateCall::Twiml("x".repeat(4001))),
            Err(TwilioError::InvalidRequest(_))
        ));
        assert_eq!(
            update_form(&UpdateCall::Complete).unwrap(),
            vec![("Status", "completed".to_string())]
        );
    }
}

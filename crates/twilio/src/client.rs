//! The HTTP client: requests, authentication, retries.

use crate::call::Call;
use crate::config::TwilioConfig;
use crate::error::{TwilioError, describe, parse_error, reason_phrase};
use crate::form::{CreateCall, Form, UpdateCall, create_form, encode, update_form};
use crate::retry::{RetryPolicy, parse_retry_after};
use base64::Engine;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use std::fmt;
use std::time::{Duration, SystemTime};

/// Default whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("switchboard/", env!("CARGO_PKG_VERSION"));

/// Which failures an operation retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryOn {
    /// Only failures Twilio certainly did not process ([`TwilioError::was_not_processed`]).
    Unprocessed,
    /// Every retryable failure ([`TwilioError::is_retryable`]).
    AnyRetryable,
}

/// An async client of Twilio's Calls API. Cheap to clone (shares one connection pool).
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    config: TwilioConfig,
    retry: RetryPolicy,
    timeout: Duration,
    authorization: HeaderValue,
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient")
            .field("config", &self.config)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl TwilioClient {
    /// A client with [`RetryPolicy::default`] and a [`DEFAULT_TIMEOUT`] (10 s) per request.
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioError> {
        Self::with_options(config, RetryPolicy::default(), DEFAULT_TIMEOUT)
    }

    /// A client with the given retry policy and whole-request timeout (connecting included).
    /// Fails on an account SID that is not alphanumeric or an `api_base` that is not http(s).
    pub fn with_options(
        config: TwilioConfig,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, TwilioError> {
        path_segment("account SID", &config.account_sid)?;
        let base = config.api_base.to_ascii_lowercase();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(TwilioError::InvalidRequest(
                "api_base must be an http(s) origin".into(),
            ));
        }
        let (user, pass) = config.credentials();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut authorization = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| TwilioError::InvalidRequest("unusable credentials".into()))?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| TwilioError::InvalidRequest(format!("HTTP client: {}", describe(e))))?;
        Ok(TwilioClient {
            http,
            config,
            retry,
            timeout,
            authorization,
        })
    }

    pub fn config(&self) -> &TwilioConfig {
        &self.config
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Places a call: `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls.json` with the
    /// body of [`create_form`] (twilio-python's parameter order and encoding).
    ///
    /// # Retries: only what Twilio certainly did not process
    ///
    /// Creating a call is not idempotent: Twilio has no idempotency key for it, and a second
    /// request after an ambiguous failure may dial the clinic twice, which is worse than calling
    /// late. So this retries (per the [`RetryPolicy`], honouring `Retry-After`) only
    /// - HTTP 429 (error 20429, "never processed and is always safe to retry"), and
    /// - connection failures before anything was sent ([`TwilioError::Connect`]).
    ///
    /// A 5xx, a timeout or a dropped connection after sending ([`TwilioError::Transport`]) is
    /// returned at once, without retrying, even though [`TwilioError::is_retryable`] is true: the
    /// call may exist. The caller should not consume an attempt, and should reconcile (status
    /// callbacks carry the CallSid; or list/fetch calls) before dialling again.
    /// [`TwilioError::was_not_processed`] tells the two cases apart. When retries run out the
    /// last error is returned; it is still retryable.
    pub async fn create_call(&self, call: &CreateCall) -> Result<Call, TwilioError> {
        let form = create_form(call)?;
        let url = self.calls_url(None)?;
        self.execute(Method::POST, &url, Some(&form), RetryOn::Unprocessed)
            .await
    }

    /// Changes a live call: `POST …/Calls/{call_sid}.json` with `Twiml=…`, `Url=…&Method=POST`
    /// or `Status=completed`. TwiML over 4000 characters is refused locally
    /// ([`TwilioError::InvalidRequest`], nothing sent).
    ///
    /// Redirecting to the same TwiML or completing twice has the same effect as doing it once,
    /// so every retryable failure (429, 5xx, transport) is retried per the [`RetryPolicy`].
    pub async fn update_call(
        &self,
        call_sid: &str,
        update: &UpdateCall,
    ) -> Result<Call, TwilioError> {
        let form = update_form(update)?;
        let url = self.calls_url(Some(call_sid))?;
        self.execute(Method::POST, &url, Some(&form), RetryOn::AnyRetryable)
            .await
    }

    /// Reads a call: `GET …/Calls/{call_sid}.json` (for reconciliation). Retried like updates.
    pub async fn fetch_call(&self, call_sid: &str) -> Result<Call, TwilioError> {
        let url = self.calls_url(Some(call_sid))?;
        self.execute(Method::GET, &url, None, RetryOn::AnyRetryable)
            .await
    }

    fn calls_url(&self, call_sid: Option<&str>) -> Result<String, TwilioError> {
        let base = self.config.api_base.trim_end_matches('/');
        let account = &self.config.account_sid;
        Ok(match call_sid {
            None => format!("{base}/2010-04-01/Accounts/{account}/Calls.json"),
            Some(sid) => {
                path_segment("call SID", sid)?;
                format!("{base}/2010-04-01/Accounts/{account}/Calls/{sid}.json")
            }
        })
    }

    async fn execute(
        &self,
        method: Method,
        url: &str,
        form: Option<&Form>,
        retry_on: RetryOn,
    ) -> Result<Call, TwilioError> {
        let body = form.map(|f| encode(f));
        let mut retries = 0;
        loop {
            let (err, retry_after) = match self.attempt(&method, url, body.as_deref()).await {
                Ok(call) => return Ok(call),
                Err(failure) => failure,
            };
            let may_retry = match retry_on {
                RetryOn::Unprocessed => err.was_not_processed(),
                RetryOn::AnyRetryable => err.is_retryable(),
            };
            if !may_retry || retries >= self.retry.max_retries {
                return Err(err);
            }
            retries += 1;
            let delay = self
                .retry
                .delay(retries, retry_after, rand::random_range(0.5..=1.0));
            tracing::debug!(
                %method,
                retry = retries,
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "retrying Twilio request"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One request. On failure also returns the `Retry-After` delay, if the response had one.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&str>,
    ) -> Result<Call, (TwilioError, Option<Duration>)> {
        let mut req = self
            .http
            .request(method.clone(), url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.authorization.clone());
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| (transport(e), None))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let text = resp.text().await.map_err(|e| (transport(e), None))?;
        if !(200..300).contains(&status) {
            return Err((parse_error(status, &text), retry_after));
        }
        serde_json::from_str(&text).map_err(|e| {
            // Twilio acted (2xx) but the body is unusable; the call may exist.
            let what = format!(
                "HTTP {status} {} with an unreadable Call body: {e}",
                reason_phrase(status)
            );
            (TwilioError::Transport(what), None)
        })
    }
}

fn transport(e: reqwest::Error) -> TwilioError {
    if e.is_connect() {
        TwilioError::Connect(describe(e))
    } else if e.is_timeout() {
        TwilioError::Transport(format!("timed out: {}", describe(e)))
    } else {
        TwilioError::Transport(describe(e))
    }
}

/// SIDs go into the URL path: accept only `[A-Za-z0-9]+` so nothing can redirect the request.
fn path_segment(what: &str, s: &str) -> Result<(), TwilioError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(TwilioError::InvalidRequest(format!(
            "{what} must be non-empty and alphanumeric"
        )));
    }
    Ok(())
}

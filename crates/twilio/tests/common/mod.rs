//! A recording HTTP server on 127.0.0.1 (port 0) for the client tests: it keeps every request
//! (method, path, query, headers, raw body) and answers with scripted responses, in order; once
//! the script runs out it answers like Twilio does on success.

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_twilio::{Auth, RetryPolicy, TwilioClient, TwilioConfig};

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const CALL: &str = "CA0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "auth-token-7f3e9c";

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn body(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("header"))
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            headers: vec![],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, k: &'static str, v: &str) -> Self {
        self.headers.push((k, v.to_string()));
        self
    }
    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

pub fn call_json(status: &str) -> String {
    json!({
        "sid": CALL, "account_sid": ACCOUNT, "status": status, "queue_time": "1000",
        "to": "+14155551212", "from": "+15005550006", "direction": "outbound-api",
        "duration": null, "answered_by": null, "price": null, "subresource_uris": {"events": "/x"},
    })
    .to_string()
}

#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl Recorder {
    pub fn push(&self, r: Reply) {
        self.script.lock().unwrap().push_back(r);
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn record(
    State(r): State<Recorder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let create = method == Method::POST && uri.path().ends_with("/Calls.json");
    r.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers,
        body: body.to_vec(),
    });
    let next = r.script.lock().unwrap().pop_front();
    let reply = next.unwrap_or_else(|| {
        if create {
            Reply::new(201, call_json("queued"))
        } else {
            Reply::new(200, call_json("in-progress"))
        }
        .header("content-type", "application/json")
    });
    tokio::time::sleep(reply.delay).await;
    let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (k, v) in reply.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

/// Starts a server; returns its recorder and base URL.
pub async fn server() -> (Recorder, String) {
    let r = Recorder::default();
    let app = Router::new().fallback(record).with_state(r.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (r, format!("http://{addr}"))
}

/// Fast retries for tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
    }
}

pub fn client_with(base: &str, auth: Auth, retry: RetryPolicy, timeout: Duration) -> TwilioClient {
    TwilioClient::with_options(
        TwilioConfig {
            api_base: base.into(),
            account_sid: ACCOUNT.into(),
            auth,
        },
        retry,
        timeout,
    )
    .unwrap()
}

pub fn client(base: &str) -> TwilioClient {
    client_with(
        base,
        Auth::AuthToken(TOKEN.into()),
        fast_retry(),
        Duration::from_secs(5),
    )
}

pub fn sample() -> switchboard_twilio::CreateCall {
    switchboard_twilio::CreateCall {
        to: "+14155551212".into(),
        from: "+15005550006".into(),
        url: "https://example.com/twiml".into(),
        status_callback: "https://example.com/status".into(),
        timeout_secs: Some(30),
        time_limit_secs: Some(600),
    }
}

pub fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

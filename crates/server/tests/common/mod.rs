//! Test harness: the real application on a random port against a real database (SQLite file or
//! a fresh PostgreSQL database), with Twilio's REST API replaced by a local recording server.
#![allow(dead_code)]

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use switchboard::app::{AppState, Application, Clock};
use switchboard::config::{Settings, Source};
use switchboard_core::signature;
use switchboard_store::Store;
use tokio::sync::watch;

pub const PUBLIC_URL: &str = "https://switchboard.example.test";
pub const AUTH_TOKEN: &str = "0123456789abcdef0123456789abcdef";
pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const API_TOKEN: &str = "test-admin-token-0123456789";
pub const VAPI_SECRET: &str = "vapi-test-secret";
pub const VAPI_SIP: &str = "sip:clinic-agent@sip.vapi.ai";
pub const FROM: &str = "+15005550006";

pub use switchboard_store::testing::{Backend, fresh_database};

/// One recorded request to the fake Twilio.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: std::time::Instant,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    pub fn params(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A local stand-in for Twilio's REST API that records what it receives and answers like Twilio.
#[derive(Clone, Default)]
pub struct FakeTwilio {
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// Scripted responses, used first-in first-out before the default 201.
    pub script: Arc<Mutex<Vec<(u16, Value)>>>,
}

async fn fake_create(
    State(f): State<FakeTwilio>,
    Path(_sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let path = "/2010-04-01/Accounts/{sid}/Calls.json".to_string();
    f.requests.lock().unwrap().push(Recorded {
        at: std::time::Instant::now(),
        path,
        headers,
        body,
    });
    let scripted = {
        let mut s = f.script.lock().unwrap();
        if s.is_empty() {
            None
        } else {
            Some(s.remove(0))
        }
    };
    if let Some((status, body)) = scripted {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(body));
    }
    let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    (
        StatusCode::CREATED,
        axum::Json(
            json!({"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID, "queue_time": "0"}),
        ),
    )
}

/// `POST …/Calls/{CallSid}.json` (a live call update): recorded with the call's SID in the path.
async fn fake_update(
    State(f): State<FakeTwilio>,
    Path((_account, call)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let sid = call.trim_end_matches(".json").to_string();
    f.requests.lock().unwrap().push(Recorded {
        at: std::time::Instant::now(),
        path: format!("/2010-04-01/Accounts/{{sid}}/Calls/{sid}.json"),
        headers,
        body,
    });
    (
        StatusCode::OK,
        axum::Json(json!({"sid": sid, "status": "in-progress", "account_sid": ACCOUNT_SID})),
    )
}

impl FakeTwilio {
    pub async fn start(&self) -> String {
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Calls.json", post(fake_create))
            .route("/2010-04-01/Accounts/{sid}/Calls/{call}", post(fake_update))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }
    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

pub struct TestApp {
    pub addr: String,
    pub state: AppState,
    pub store: Store,
    pub twilio: FakeTwilio,
    pub http: reqwest::Client,
    pub backend: Backend,
    pub db_url: String,
    _shutdown: watch::Sender<bool>,
}

/// Settings for tests; `extra` overrides.
pub fn test_settings(db_url: &str, twilio_base: &str, extra: &[(&'static str, &str)]) -> Settings {
    let mut pairs: Vec<(&'static str, &str)> = vec![
        ("DATABASE_URL", db_url),
        ("SWITCHBOARD_LISTEN", "127.0.0.1:0"),
        ("SWITCHBOARD_PUBLIC_URL", PUBLIC_URL),
        ("SWITCHBOARD_API_TOKEN", API_TOKEN),
        ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("TWILIO_FROM_NUMBER", FROM),
        ("TWILIO_API_BASE", twilio_base),
        ("VAPI_SIP_URI", VAPI_SIP),
        ("VAPI_WEBHOOK_SECRET", VAPI_SECRET),
        ("SWITCHBOARD_DISPATCHER", "off"),
        ("SWITCHBOARD_CALLS_PER_SECOND", "1000"),
        ("SWITCHBOARD_MAX_IN_FLIGHT", "1000"),
        ("SWITCHBOARD_DEFAULT_TIMEZONE", "America/New_York"),
    ];
    for (k, v) in extra {
        pairs.retain(|(pk, _)| pk != k);
        pairs.push((k, v));
    }
    Settings::load(&Source::from_pairs(&pairs)).expect("test settings are valid")
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&'static str, &str)]) -> TestApp {
    let db_url = fresh_database(backend).await;
    let twilio = FakeTwilio::default();
    let base = twilio.start().await;
    let settings = test_settings(&db_url, &base, extra);
    let store = Store::connect(&db_url).await.unwrap();
    store.migrate().await.unwrap();
    let app = Application::build_with_store(settings, store.clone(), Clock::default())
        .await
        .unwrap();
    let addr = format!("http://{}", app.local_addr());
    let state = app.state.clone();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move { app.run(rx).await.unwrap() });
    TestApp {
        addr,
        state,
        store,
        twilio,
        http: reqwest::Client::new(),
        backend,
        db_url,
        _shutdown: tx,
    }
}

impl TestApp {
    /// An unauthenticated GET.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.addr))
            .send()
            .await
            .unwrap()
    }

    /// The `/metrics` exposition text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.addr))
            .bearer_auth(API_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.addr))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap()
    }
    pub async fn admin_put(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .put(format!("{}{path}", self.addr))
            .bearer_auth(API_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    pub async fn admin_delete(&self, path: &str) -> reqwest::Response {
        self.http
            .delete(format!("{}{path}", self.addr))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// Creates a pending call for an appointment now (always "today" in every zone).
    pub async fn create_pending(&self, phone: &str) -> Value {
        let body = json!({
            "exam_id": "EX-1001",
            "employee_name": "Jane Q. Employee",
            "employee_dob": "1985-04-12",
            "client_name": "Acme Logistics",
            "clinic_name": "Main Street Clinic",
            "phone": phone,
            "appointment_time": chrono::Utc::now().to_rfc3339(),
            "procedures": "DOT physical; drug screen",
            "instructions": "Confirm the appointment and ask for the fax number."
        });
        let r = self.admin_post("/api/v1/pending-calls", body).await;
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    }

    /// POSTs a form to a Twilio-facing route, signed like Twilio signs it.
    pub async fn twilio_post(&self, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sig = signature::compute(AUTH_TOKEN, &format!("{PUBLIC_URL}{path}"), &owned);
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        self.http
            .post(format!("{}{path}", self.addr))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn status_callback(
        &self,
        session: &str,
        call_sid: &str,
        status: &str,
        seq: u32,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let seq = seq.to_string();
        let mut p = vec![
            ("AccountSid", ACCOUNT_SID),
            ("CallSid", call_sid),
            ("CallStatus", status),
            ("SequenceNumber", seq.as_str()),
            ("CallbackSource", "call-progress-events"),
            ("Timestamp", "Tue, 24 Nov 2026 15:00:00 +0000"),
        ];
        p.extend_from_slice(extra);
        self.twilio_post(&format!("/twilio/status/{session}"), &p)
            .await
    }

    pub async fn vapi_post(&self, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/vapi/webhook", self.addr))
            .bearer_auth(VAPI_SECRET)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn pending(&self, id: &str) -> Value {
        self.admin_get(&format!("/api/v1/pending-calls/{id}"))
            .await
            .json()
            .await
            .unwrap()
    }
    pub async fn sessions(&self, id: &str) -> Vec<Value> {
        let v: Value = self
            .admin_get(&format!("/api/v1/pending-calls/{id}/sessions"))
            .await
            .json()
            .await
            .unwrap();
        v["items"].as_array().unwrap().clone()
    }
}

/// Parses XML into a comparable tree: (name, sorted attributes, text, children).
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

pub fn parse_xml(xml: &str) -> Node {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Node> = vec![Node {
        name: "#doc".into(),
        attrs: vec![],
        text: String::new(),
        children: vec![],
    }];
    let open = |e: &quick_xml::events::BytesStart| {
        let mut attrs: Vec<(String, String)> = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    a.key.as_ref().to_string(),
                    a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect();
        attrs.sort();
        Node {
            name: e.name().as_ref().to_string(),
            attrs,
            text: String::new(),
            children: vec![],
        }
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let n = open(&e);
                stack.last_mut().unwrap().children.push(n);
            }
            Event::Text(t) => {
                let s = t.into_inner().into_owned();
                stack.last_mut().unwrap().text.push_str(s.trim());
            }
            Event::GeneralRef(r) => {
                let name = r.into_inner().into_owned();
                let s = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                stack.last_mut().unwrap().text.push_str(s);
            }
            Event::End(_) => {
                let n = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(n);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    stack.pop().unwrap().children.remove(0)
}

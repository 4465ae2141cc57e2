//! A VAPI stand-in. It takes the SIP hand-off from the carrier (with the `X-pendingcallid`
//! header), then behaves like VAPI towards Switchboard's server URL: `assistant-request`, fetching
//! the pending call (data endpoint or `get_pending_call` tool call), `status-update`s and an
//! `end-of-call-report` whose outcome depends on what was really on the line — talking to a menu or
//! a voicemail box is not a success. It authenticates with the configured secret, like VAPI.

use crate::clock::SimClock;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Settings of the VAPI stand-in.
#[derive(Clone)]
pub struct VapiConfig {
    /// Switchboard's public base URL (`…/vapi/webhook`, `…/vapi/pending-calls/{id}`).
    pub server_url: String,
    /// Sent as `Authorization: Bearer …` (VAPI's Bearer credential).
    pub secret: String,
    /// The SIP user this assistant answers (`clinic-agent` in `sip:clinic-agent@…`); others get 404.
    pub sip_user: String,
    pub clock: SimClock,
}

/// One assistant call, for reports and tests.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AssistantCall {
    pub call_sid: String,
    pub vapi_call_id: String,
    pub pending_call_id: Option<String>,
    pub line: String,
    pub fetched_data: bool,
    pub success: bool,
    pub ended_reason: String,
    /// Simulated seconds the assistant spent talking to a person.
    pub talk_seconds: f64,
    /// Simulated seconds the assistant spent listening to menus, hold music or voicemail.
    pub menu_seconds: f64,
    pub error: Option<String>,
}

struct Inner {
    cfg: VapiConfig,
    http: reqwest::Client,
    calls: Mutex<Vec<AssistantCall>>,
}

/// The running VAPI stand-in (cheap to clone).
#[derive(Clone)]
pub struct VapiSim(Arc<Inner>);

impl VapiSim {
    pub fn new(cfg: VapiConfig) -> Self {
        VapiSim(Arc::new(Inner {
            cfg,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("client"),
            calls: Mutex::new(vec![]),
        }))
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/sip/invite", post(invite))
            .with_state(self.clone())
    }

    pub fn calls(&self) -> Vec<AssistantCall> {
        self.0.calls.lock().expect("calls").clone()
    }

    async fn post(&self, body: Value) -> Result<Value, String> {
        let url = format!("{}/vapi/webhook", self.0.cfg.server_url);
        let r = self
            .0
            .http
            .post(&url)
            .bearer_auth(&self.0.cfg.secret)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("server URL answered {status}: {v}"))
        }
    }
}

fn message(kind: &str, call: &Value, extra: Value) -> Value {
    let mut m =
        json!({"type": kind, "call": call, "timestamp": chrono::Utc::now().timestamp_millis()});
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    json!({ "message": m })
}

async fn invite(State(v): State<VapiSim>, Json(req): Json<Value>) -> Response {
    let uri = req["sip_uri"].as_str().unwrap_or_default();
    let user = uri
        .strip_prefix("sip:")
        .and_then(|u| u.split('@').next())
        .unwrap_or_default();
    if !user.eq_ignore_ascii_case(&v.0.cfg.sip_user) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such SIP user"})),
        )
            .into_response();
    }
    // VAPI: SIP X- headers become variable values, names compared case-insensitively.
    let headers = req["headers"].as_object().cloned().unwrap_or_default();
    let pending = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-pendingcallid"))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string);
    let mut rec = AssistantCall {
        call_sid: req["call_sid"].as_str().unwrap_or_default().to_string(),
        vapi_call_id: uuid::Uuid::new_v4().to_string(),
        pending_call_id: pending.clone(),
        line: req["line"].as_str().unwrap_or("ended").to_string(),
        ..Default::default()
    };
    let result = v.converse(&mut rec, &req, &headers).await;
    if let Err(e) = &result {
        tracing::warn!(call = %rec.call_sid, error = %e, "assistant call failed");
        rec.error = Some(e.clone());
    }
    let duration = rec.talk_seconds + rec.menu_seconds;
    v.0.calls.lock().expect("calls").push(rec);
    Json(json!({"status": "completed", "duration_s": duration})).into_response()
}

impl VapiSim {
    async fn converse(
        &self,
        rec: &mut AssistantCall,
        req: &Value,
        headers: &serde_json::Map<String, Value>,
    ) -> Result<(), String> {
        let mut vars = serde_json::Map::new();
        for (k, val) in headers {
            let name = k
                .trim_start_matches("X-")
                .trim_start_matches("x-")
                .to_ascii_lowercase();
            vars.insert(name, val.clone());
        }
        let call = json!({
            "id": rec.vapi_call_id, "orgId": "org-sim", "type": "inboundPhoneCall", "status": "in-progress",
            "phoneCallProvider": "vapi", "phoneCallTransport": "sip",
            "phoneCallProviderDetails": {"sip": {"headers": headers}},
            "assistantOverrides": {"variableValues": vars},
        });
        let answer = self
            .post(message("assistant-request", &call, json!({})))
            .await?;
        if let Some(e) = answer.get("error").and_then(Value::as_str) {
            return Err(format!("assistant-request rejected the call: {e}"));
        }
        let id = rec
            .pending_call_id
            .clone()
            .ok_or("no X-pendingcallid header")?;
        // Half the calls fetch through the data endpoint, half through the tool: both are VAPI.
        let data = if rec.call_sid.bytes().map(u32::from).sum::<u32>() % 2 == 0 {
            let url = format!("{}/vapi/pending-calls/{id}", self.0.cfg.server_url);
            let r = self
                .0
                .http
                .get(url)
                .bearer_auth(&self.0.cfg.secret)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("data endpoint answered {}", r.status()));
            }
            r.json::<Value>().await.map_err(|e| e.to_string())?
        } else {
            let tool = json!({"toolCallList": [{"id": "call_1", "type": "function",
                "function": {"name": "get_pending_call", "arguments": json!({"pending_call_id": id}).to_string()}}]});
            let r = self.post(message("tool-calls", &call, tool)).await?;
            let result = r["results"][0]["result"]
                .as_str()
                .ok_or("tool call returned no result")?;
            serde_json::from_str(result).map_err(|e| e.to_string())?
        };
        rec.fetched_data = data.get("employee_name").is_some_and(|n| n.is_string());
        self.post(message(
            "status-update",
            &call,
            json!({"status": "in-progress"}),
        ))
        .await?;
        let (success, reason, summary) = match rec.line.as_str() {
            "person" => {
                rec.talk_seconds = 60.0;
                (
                    true,
                    "assistant-ended-call",
                    "Spoke with the front desk; appointment confirmed.",
                )
            }
            "hold" => {
                rec.menu_seconds = req["hold_ms"].as_f64().unwrap_or(0.0) / 1000.0;
                rec.talk_seconds = 60.0;
                (
                    true,
                    "assistant-ended-call",
                    "Waited on hold, then confirmed the appointment.",
                )
            }
            "menu" => {
                rec.menu_seconds = 30.0;
                (
                    false,
                    "silence-timed-out",
                    "Reached an automated menu; no person answered.",
                )
            }
            "voicemail" => {
                rec.menu_seconds = 20.0;
                (false, "voicemail", "Reached voicemail.")
            }
            _ => {
                rec.menu_seconds = 5.0;
                (false, "customer-did-not-answer", "Nobody on the line.")
            }
        };
        self.0
            .cfg
            .clock
            .sleep(((rec.talk_seconds + rec.menu_seconds) * 1000.0) as u64)
            .await;
        rec.success = success;
        rec.ended_reason = reason.to_string();
        self.post(message(
            "status-update",
            &call,
            json!({"status": "ended", "endedReason": reason}),
        ))
        .await?;
        let report = json!({
            "endedReason": reason,
            "artifact": {"transcript": "(simulated)", "messages": []},
            "analysis": {"summary": summary, "successEvaluation": if success { "true" } else { "false" },
                         "structuredData": {"reached_person": success}},
            "startedAt": chrono::Utc::now().to_rfc3339(), "endedAt": chrono::Utc::now().to_rfc3339(),
        });
        self.post(message("end-of-call-report", &call, report))
            .await?;
        Ok(())
    }
}

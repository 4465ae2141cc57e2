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
    /// The carrier's base URL: when set, the assistant navigates menus itself by pressing keys
    /// (VAPI's `dtmf` tool), the way an assistant told to reach the front desk would.
    pub carrier_base: Option<String>,
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
    /// Keys pressed with the `dtmf` tool: (ms from the start of the assistant's call, keys).
    pub dtmf: Vec<(u64, String)>,
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

/// The assistant's reading of a menu prompt: the key for scheduling, else the front desk, else an
/// operator / "all other inquiries". Stands in for the language model; deliberately simple.
pub fn choose_key(prompt: &str) -> Option<char> {
    let lower = prompt.to_lowercase();
    let mut best: Option<(u8, char)> = None;
    for sentence in lower.split(['.', '!', '?', ';']) {
        if [
            "emergency",
            "español",
            "spanish",
            "repeat",
            "billing",
            "pharmacy",
            "refill",
            "cancel",
        ]
        .iter()
        .any(|w| sentence.contains(w))
        {
            continue;
        }
        let score = if sentence.contains("schedul") || sentence.contains("appointment") {
            3
        } else if sentence.contains("front desk")
            || sentence.contains("reception")
            || sentence.contains("representative")
        {
            2
        } else if sentence.contains("operator") || sentence.contains("all other") {
            1
        } else {
            continue;
        };
        let words: Vec<&str> = sentence.split_whitespace().collect();
        let key = words.windows(2).find_map(|w| {
            (w[0] == "press" || w[0] == "dial").then(|| {
                match w[1].trim_matches(|c: char| !c.is_alphanumeric() && c != '*' && c != '#') {
                    "zero" | "0" => Some('0'),
                    "one" | "1" => Some('1'),
                    "two" | "2" => Some('2'),
                    "three" | "3" => Some('3'),
                    "four" | "4" => Some('4'),
                    "five" | "5" => Some('5'),
                    "six" | "6" => Some('6'),
                    "seven" | "7" => Some('7'),
                    "eight" | "8" => Some('8'),
                    "nine" | "9" => Some('9'),
                    "star" | "*" => Some('*'),
                    _ => None,
                }
            })?
        });
        if let Some(k) = key
            && best.is_none_or(|(s, _)| score > s)
        {
            best = Some((score, k));
        }
    }
    best.map(|(_, k)| k)
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
        // On a menu, an assistant with the dtmf tool listens and presses keys towards a person.
        let mut hold_ms = req["hold_ms"].as_f64().unwrap_or(0.0);
        let mut elapsed_ms = 0u64;
        let mut tool_messages = Vec::new();
        if let Some(carrier) = self.0.cfg.carrier_base.clone() {
            let mut prompt = req["prompt"].as_str().unwrap_or_default().to_string();
            for _ in 0..4 {
                if rec.line != "menu" {
                    break;
                }
                let listen = (prompt.len() as u64 * 60).max(3000);
                self.0.cfg.clock.sleep(listen).await;
                elapsed_ms += listen;
                rec.menu_seconds += listen as f64 / 1000.0;
                let Some(key) = choose_key(&prompt) else {
                    break;
                };
                let url = format!("{carrier}/sim/calls/{}/dtmf", rec.call_sid);
                let r: Value = self
                    .0
                    .http
                    .post(url)
                    .json(&json!({"keys": key.to_string()}))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                rec.dtmf.push((elapsed_ms, key.to_string()));
                tool_messages.push(json!({
                    "role": "tool_calls", "time": chrono::Utc::now().timestamp_millis(),
                    "secondsFromStart": elapsed_ms as f64 / 1000.0,
                    "toolCalls": [{"id": format!("dtmf_{}", rec.dtmf.len()), "type": "function",
                                   "function": {"name": "dtmf", "arguments": json!({"keys": key.to_string()}).to_string()}}],
                }));
                rec.line = r["line"].as_str().unwrap_or("ended").to_string();
                prompt = r["prompt"].as_str().unwrap_or_default().to_string();
                hold_ms = r["hold_ms"].as_f64().unwrap_or(0.0);
                elapsed_ms += 200;
            }
        }
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
                rec.menu_seconds += hold_ms / 1000.0;
                rec.talk_seconds = 60.0;
                (
                    true,
                    "assistant-ended-call",
                    "Waited on hold, then confirmed the appointment.",
                )
            }
            "menu" => {
                rec.menu_seconds += 30.0;
                (
                    false,
                    "silence-timed-out",
                    "Reached an automated menu; no person answered.",
                )
            }
            "voicemail" => {
                rec.menu_seconds += 20.0;
                (false, "voicemail", "Reached voicemail.")
            }
            _ => {
                rec.menu_seconds += 5.0;
                (false, "customer-did-not-answer", "Nobody on the line.")
            }
        };
        let remaining = (rec.talk_seconds + rec.menu_seconds) * 1000.0 - elapsed_ms as f64;
        self.0.cfg.clock.sleep(remaining.max(0.0) as u64).await;
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
            "artifact": {"transcript": "(simulated)", "messages": tool_messages},
            "analysis": {"summary": summary, "successEvaluation": if success { "true" } else { "false" },
                         "structuredData": {"reached_person": success}},
            "startedAt": chrono::Utc::now().to_rfc3339(), "endedAt": chrono::Utc::now().to_rfc3339(),
        });
        self.post(message("end-of-call-report", &call, report))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::choose_key;

    #[test]
    fn the_assistant_picks_scheduling_then_front_desk_then_operator() {
        assert_eq!(
            choose_key(
                "For billing press 1. For scheduling press 2. For all other inquiries press 0."
            ),
            Some('2')
        );
        assert_eq!(
            choose_key(
                "If this is a medical emergency, hang up and dial 911. For the operator press zero."
            ),
            Some('0')
        );
        assert_eq!(
            choose_key("To schedule a new appointment press 1. To cancel an appointment press 3."),
            Some('1')
        );
        assert_eq!(
            choose_key("For hours press 1. Para español oprima 9."),
            None
        );
    }
}

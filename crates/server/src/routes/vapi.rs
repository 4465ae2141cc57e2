//! VAPI's side: the read-only data endpoint and the server-URL webhook.

use crate::app::AppState;
use crate::error::ApiError;
use crate::vapi;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use switchboard_core::PendingCallId;
use switchboard_core::retry::AttemptOutcome;
use switchboard_store::{Finish, PendingCall, Store, VapiReport};

/// Read access to pending calls and nothing else: the data endpoint is built on this, so it has
/// no path to a write.
#[derive(Clone)]
pub struct PendingReader(Store);

impl PendingReader {
    pub fn new(store: &Store) -> Self {
        PendingReader(store.clone())
    }
    pub async fn get(&self, id: PendingCallId) -> Result<Option<PendingCall>, ApiError> {
        Ok(self.0.get_pending_call(id).await?)
    }
}

/// Accepts `Authorization: Bearer <secret>` or the legacy `X-Vapi-Secret: <secret>`.
fn authorised(st: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(secret) = st.settings.vapi_webhook_secret.as_ref() else {
        return Err(ApiError::unavailable(
            "vapi_not_configured",
            "set VAPI_WEBHOOK_SECRET to accept VAPI requests",
        ));
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let legacy = headers.get("x-vapi-secret").and_then(|v| v.to_str().ok());
    let want = secret.expose().as_bytes();
    let ok = [bearer, legacy]
        .into_iter()
        .flatten()
        .any(|given| bool::from(given.as_bytes().ct_eq(want)));
    if ok {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// `GET /vapi/pending-calls/{id}`: the seed's data retrieval, read-only. Credentials are checked
/// before the id, so an unauthenticated caller learns nothing about ids.
pub async fn get_pending_call(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorised(&st, &headers)?;
    let id = crate::routes::admin::parse_pending_id(&id)?;
    let reader = PendingReader::new(&st.store);
    match reader.get(id).await? {
        Some(p) => Ok(Json(vapi::assistant_view(&p)).into_response()),
        None => Err(ApiError::not_found("no pending call with this id")),
    }
}

/// `POST /vapi/webhook`: VAPI's server URL.
pub async fn webhook(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    handle(&st, &headers, &body).await
}

async fn handle(st: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    authorised(st, headers)?;
    let envelope: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("invalid_json", "request body is not valid JSON"))?;
    let message = envelope
        .get("message")
        .ok_or_else(|| ApiError::bad_request("invalid_message", "body has no `message` object"))?;
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    st.metrics.inc(
        "switchboard_vapi_messages_total",
        &format!("type=\"{}\"", metric_type(kind)),
    );
    let pid = vapi::pending_call_id(message);
    match kind {
        "assistant-request" => {
            let Some(pid) = pid else {
                tracing::warn!("assistant-request without a pending call id");
                return Ok(Json(
                    json!({"error": "This call could not be matched to an appointment."}),
                )
                .into_response());
            };
            match st.store.get_pending_call(pid).await? {
                Some(p) => Ok(Json(vapi::assistant_request_response(
                    &p,
                    st.settings.vapi_assistant_id.as_deref(),
                ))
                .into_response()),
                None => {
                    tracing::warn!(pending_call_id = %pid, "assistant-request for unknown pending call");
                    Ok(
                        Json(json!({"error": "This call could not be matched to an appointment."}))
                            .into_response(),
                    )
                }
            }
        }
        "tool-calls" => {
            let mut results = Vec::new();
            for call in vapi::tool_calls(message) {
                let mut entry = json!({"toolCallId": call.id, "name": call.name});
                if call.name != "get_pending_call" {
                    entry["error"] = json!(format!("unknown tool `{}`", call.name));
                    results.push(entry);
                    continue;
                }
                let arg = ["pending_call_id", "pendingCallId", "pendingcallid", "id"]
                    .iter()
                    .find_map(|k| call.arguments.get(*k).and_then(Value::as_str));
                let target = match arg {
                    Some(s) => PendingCallId::parse(s).ok(),
                    None => pid,
                };
                match target {
                    None => entry["error"] = json!("pending_call_id is missing or not a UUID"),
                    Some(t) => match st.store.get_pending_call(t).await? {
                        Some(p) => entry["result"] = json!(vapi::assistant_view(&p).to_string()),
                        None => entry["error"] = json!("no pending call with this id"),
                    },
                }
                results.push(entry);
            }
            Ok(Json(json!({ "results": results })).into_response())
        }
        "end-of-call-report" => {
            let Some(pid) = pid else {
                tracing::warn!("end-of-call-report without a pending call id; ignored");
                return Ok(Json(json!({})).into_response());
            };
            let success = vapi::report_success(message);
            let report = VapiReport {
                vapi_call_id: message
                    .pointer("/call/id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                success,
                ended_reason: message
                    .get("endedReason")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                summary: message
                    .pointer("/analysis/summary")
                    .or_else(|| message.get("summary"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                structured_data: message
                    .pointer("/analysis/structuredData")
                    .cloned()
                    .filter(|v| !v.is_null()),
            };
            let now = st.clock.now();
            if let Some(session) = st.store.record_vapi_report(pid, &report, now).await? {
                let outcome = if session.outcome_success == Some(true) {
                    AttemptOutcome::Reached
                } else {
                    AttemptOutcome::Retryable
                };
                let finish = Finish {
                    outcome,
                    error_code: (outcome != AttemptOutcome::Reached)
                        .then(|| "assistant_not_successful".to_string()),
                    error_message: (outcome != AttemptOutcome::Reached).then(|| {
                        format!(
                            "assistant call ended: {}",
                            session.ended_reason.as_deref().unwrap_or("unknown")
                        )
                    }),
                };
                // Learn once per attempt: a duplicated report finds the attempt already finished.
                let applied = st
                    .store
                    .finish_attempt(session.id, &finish, &st.settings.retry, now)
                    .await?;
                if applied.is_some() {
                    learn(st, &session, success, message, now).await?;
                }
                st.metrics.inc(
                    "switchboard_call_outcomes_total",
                    if success {
                        "outcome=\"reached\""
                    } else {
                        "outcome=\"not_reached\""
                    },
                );
            }
            Ok(Json(json!({})).into_response())
        }
        "status-update" => {
            if let (Some(pid), Some("ended")) = (pid, message.get("status").and_then(Value::as_str))
            {
                tracing::info!(pending_call_id = %pid, ended_reason = ?message.get("endedReason"), "assistant call ended");
            }
            Ok(Json(json!({})).into_response())
        }
        _ => Ok(Json(json!({})).into_response()),
    }
}

/// Bounds the metric label set to known message types.
fn metric_type(kind: &str) -> &'static str {
    match kind {
        "assistant-request" => "assistant-request",
        "tool-calls" => "tool-calls",
        "status-update" => "status-update",
        "end-of-call-report" => "end-of-call-report",
        _ => "other",
    }
}

/// What the report teaches about the clinic's phone system: an observed call's key presses become
/// its cached path; a call that used the cache verifies it or marks it stale.
async fn learn(
    st: &AppState,
    session: &switchboard_store::Session,
    success: bool,
    message: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    use switchboard_core::learning::{Verdict, learn_from_observation, replay_verdict};
    match session.routing_decision.as_deref() {
        Some("classify") => {
            // The assistant's presses are timed from its own start: in navigate mode that is the
            // hand-off, after the keys Switchboard pressed itself; in observe mode, about the
            // answer.
            let offset = session
                .handoff_at_ms
                .and_then(|ms| u32::try_from(ms).ok())
                .unwrap_or(0);
            let assistant: Vec<(u32, String)> = vapi::dtmf_presses(message)
                .into_iter()
                .map(|(at, keys)| (at.saturating_add(offset), keys))
                .collect();
            let ours: Vec<(u32, String)> = session
                .ivr_actions_taken
                .clone()
                .and_then(|v| serde_json::from_value::<switchboard_core::IvrActions>(v).ok())
                .map(|a| {
                    a.steps()
                        .iter()
                        .map(|s| (s.after_ms, s.digits.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let Some(phone) = st
                .store
                .get_pending_call(session.pending_call_id)
                .await?
                .and_then(|p| p.phone_e164)
                .and_then(|p| switchboard_core::E164::parse(&p).ok())
            else {
                return Ok(());
            };
            if assistant.is_empty() {
                let cached_by_this_call = st
                    .store
                    .active_classification(&phone, now)
                    .await?
                    .is_some_and(|c| c.source_session_id == Some(session.id.0));
                if cached_by_this_call {
                    // Switchboard's own classifier already cached what answered.
                    return Ok(());
                }
            }
            let pressed: Vec<(u32, String)> = match session.handoff_at_ms {
                // Navigate mode: Switchboard's presses, then the assistant's after the hand-off.
                Some(_) => ours.into_iter().chain(assistant).collect(),
                // Observe mode: the keys heard on the outbound track are timed from the answer
                // itself; the report's are timed from the assistant's start (a little later).
                None if !ours.is_empty() => ours,
                None => assistant,
            };
            let Some((kind, actions)) = learn_from_observation(success, &pressed) else {
                return Ok(());
            };
            st.store
                .put_classification(
                    &switchboard_store::NewClassification {
                        phone_number: phone,
                        classification_type: kind,
                        ivr_actions: actions,
                        confidence: 0.8,
                        source: "observed",
                        source_session_id: Some(session.id),
                        expires_at: now
                            + chrono::Duration::days(st.settings.classification_ttl_days),
                    },
                    now,
                )
                .await?;
            st.metrics.inc(
                "switchboard_classifications_learned_total",
                &format!("type=\"{kind}\""),
            );
        }
        Some("bridge" | "replay_then_bridge") => {
            if let Some(cid) = session.classification_id {
                let navigated = !vapi::dtmf_presses(message).is_empty();
                let verdict = replay_verdict(
                    success,
                    message.get("endedReason").and_then(Value::as_str),
                    navigated,
                );
                st.store
                    .record_classification_result(cid, verdict, now)
                    .await?;
                if verdict == Verdict::Stale {
                    st.metrics
                        .inc("switchboard_classifications_stale_total", "");
                }
            }
        }
        _ => {}
    }
    Ok(())
}

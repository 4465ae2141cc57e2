//! Twilio's webhooks: the voice URL (TwiML routing), status callbacks, the `<Dial action>`, and
//! the Media Streams route. Every request is checked against `X-Twilio-Signature` before anything
//! is read or written; a bad signature gets 403 and changes nothing.

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use switchboard_core::retry::outcome_of_call_end;
use switchboard_core::routing::{ClassifyMode, Route, TwimlContext, decide, twiml_for};
use switchboard_core::{PendingStatus, SessionId, SessionStatus, signature};
use switchboard_store::{CallProgress, DialResult, Finish, ProgressApplied};
use switchboard_twilio::media;

type Params = Vec<(String, String)>;

fn form_params(body: &[u8]) -> Params {
    form_urlencoded::parse(body).into_owned().collect()
}

fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Checks `X-Twilio-Signature` over `SWITCHBOARD_PUBLIC_URL` + path + query and the form params.
/// A WebSocket upgrade is signed over its `wss://` URL (protocols.md B.4); both schemes are tried.
fn verify(
    st: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    params: &Params,
) -> Result<(), ApiError> {
    let (Some(base), Some(token)) = (
        st.settings.public_url.as_deref(),
        st.settings.twilio_auth_token.as_ref(),
    ) else {
        return Err(ApiError::unavailable(
            "twilio_not_configured",
            "set SWITCHBOARD_PUBLIC_URL and TWILIO_AUTH_TOKEN to accept Twilio webhooks",
        ));
    };
    let url = format!(
        "{base}{}",
        uri.path_and_query()
            .map(|p| p.as_str())
            .unwrap_or(uri.path())
    );
    let sig = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let valid = |u: &str| signature::validate_form(token.expose(), u, params, sig);
    let websocket = headers
        .get("upgrade")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    // Only an upgrade is also tried over its ws(s):// URL; ordinary webhooks pay for one check.
    let valid_ws = || {
        let ws_url = url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        valid(&ws_url)
    };
    if !sig.is_empty() && (valid(&url) || (websocket && valid_ws())) {
        Ok(())
    } else {
        st.metrics
            .inc("switchboard_twilio_signature_rejected_total", "");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_signature",
            "X-Twilio-Signature is missing or does not match",
        ))
    }
}

fn parse_session(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw)
        .map_err(|_| ApiError::bad_request("invalid_id", "session id must be a UUID"))
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn hangup() -> Response {
    xml(twiml_for(&Route::Hangup, None).unwrap_or_default())
}

/// A Twilio webhook whose signature checked out, for a well-formed session id.
pub struct Signed {
    pub session: SessionId,
    pub params: Params,
}

impl axum::extract::FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, st: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| u.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let Path(session): Path<String> = Path::from_request_parts(&mut parts, st)
            .await
            .map_err(|_| ApiError::bad_request("invalid_id", "session id must be a UUID"))?;
        let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|_| {
            ApiError::bad_request("invalid_body", "request body is too large or unreadable")
        })?;
        let params = form_params(&bytes);
        verify(st, &parts.headers, &uri, &params)?;
        Ok(Signed {
            session: parse_session(&session)?,
            params,
        })
    }
}

use axum::extract::FromRequestParts;

/// `POST /twilio/voice/{session_id}`: TwiML chosen from the session's classification.
pub async fn voice(State(st): State<AppState>, req: Signed) -> Result<Response, ApiError> {
    let sid = req.session;
    let Some((session, pending_status, cls)) = st.store.routing_context(sid).await? else {
        tracing::warn!(session_id = %sid, "voice webhook for unknown session; hanging up");
        return Ok(hangup());
    };
    if pending_status != PendingStatus::Calling || session.call_status.is_terminal() {
        tracing::warn!(session_id = %sid, status = %pending_status, "voice webhook for a call no longer in progress; hanging up");
        return Ok(hangup());
    }
    let route = decide(
        cls.as_ref().map(|(t, a)| (*t, a)),
        st.settings.ivr_only_policy,
        st.settings.classify_mode,
    );
    let (Some(public_url), Some(sip)) = (
        st.settings.public_url.as_deref(),
        st.settings.vapi_sip_uri.as_deref(),
    ) else {
        tracing::error!("VAPI_SIP_URI is not configured; cannot bridge");
        return Ok(hangup());
    };
    let ctx = TwimlContext {
        public_url,
        session_id: sid,
        pending_call_id: session.pending_call_id,
        vapi_sip_uri: sip,
    };
    let body = twiml_for(&route, Some(&ctx)).map_err(|e| {
        tracing::error!(error = %e, "cannot build TwiML");
        ApiError::internal()
    })?;
    st.store
        .set_routing(
            sid,
            route.decision(),
            param(&req.params, "AnsweredBy"),
            st.clock.now(),
        )
        .await?;
    st.metrics.inc(
        "switchboard_routing_total",
        &format!("decision=\"{}\"", route.decision()),
    );
    Ok(xml(body))
}

/// `POST /twilio/status/{session_id}`: call progress, applied idempotently; a terminal status
/// ends the attempt by the retry policy.
pub async fn status(State(st): State<AppState>, req: Signed) -> Result<Response, ApiError> {
    let (sid, params) = (req.session, &req.params);
    let raw_status = param(params, "CallStatus").unwrap_or("");
    let Some(status) = SessionStatus::from_twilio(raw_status) else {
        return Err(ApiError::bad_request(
            "invalid_status",
            "CallStatus is missing or unknown",
        ));
    };
    let int = |name| param(params, name).and_then(|v| v.parse::<i32>().ok());
    let progress = CallProgress {
        status: Some(status),
        call_sid: param(params, "CallSid").map(str::to_string),
        sequence_number: int("SequenceNumber"),
        duration_seconds: int("CallDuration"),
        sip_response_code: int("SipResponseCode"),
        error_code: param(params, "ErrorCode").map(str::to_string),
        error_message: param(params, "ErrorMessage").map(|m| m.chars().take(500).collect()),
        answered_by: param(params, "AnsweredBy").map(str::to_string),
    };
    let now = st.clock.now();
    match st.store.apply_call_progress(sid, &progress, now).await? {
        None => Err(ApiError::not_found("no session with this id")),
        Some(ProgressApplied::CallSidMismatch) => {
            tracing::warn!(session_id = %sid, "status callback CallSid does not match the session; ignored");
            Err(ApiError::conflict(
                "call_sid_mismatch",
                "CallSid does not match this session",
            ))
        }
        Some(ProgressApplied::Applied { session, moved }) => {
            if moved && session.call_status.is_terminal() {
                st.metrics.inc(
                    "switchboard_calls_ended_total",
                    &format!("status=\"{}\"", session.call_status),
                );
                let outcome = outcome_of_call_end(
                    session.call_status,
                    session.sip_response_code,
                    session.error_code.as_deref(),
                    session.routing_decision.as_deref(),
                    session.sip_bridged,
                );
                if let Some(outcome) = outcome {
                    let finish = Finish {
                        outcome,
                        error_code: Some(format!("call_{}", session.call_status)),
                        error_message: None,
                    };
                    st.store
                        .finish_attempt(sid, &finish, &st.settings.retry, now)
                        .await?;
                }
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// `POST /twilio/dial/{session_id}`: the `<Dial action>`; records whether the SIP leg to the
/// assistant connected, then ends the call.
pub async fn dial(State(st): State<AppState>, req: Signed) -> Result<Response, ApiError> {
    let result = DialResult {
        dial_call_status: param(&req.params, "DialCallStatus")
            .unwrap_or("failed")
            .to_string(),
        sip_response_code: param(&req.params, "DialSipResponseCode").and_then(|v| v.parse().ok()),
    };
    if st
        .store
        .record_dial_result(req.session, &result, st.clock.now())
        .await?
        .is_none()
    {
        tracing::warn!(session_id = %req.session, "dial result for unknown session");
    }
    st.metrics.inc(
        "switchboard_sip_bridge_total",
        &format!("dial_status=\"{}\"", metric_dial(&result.dial_call_status)),
    );
    Ok(hangup())
}

/// Records each webhook's handling time (signature check included) by route.
pub async fn observe_latency(
    State(st): State<AppState>,
    path: Option<axum::extract::MatchedPath>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let resp = next.run(req).await;
    let route = match path.as_ref().map(|p| p.as_str()) {
        Some("/twilio/voice/{session_id}") => "twilio_voice",
        Some("/twilio/status/{session_id}") => "twilio_status",
        Some("/twilio/dial/{session_id}") => "twilio_dial",
        Some("/vapi/webhook") => "vapi_webhook",
        Some("/vapi/pending-calls/{id}") => "vapi_data",
        _ => "other",
    };
    st.metrics.observe_webhook(route, started.elapsed());
    resp
}

fn metric_dial(s: &str) -> &'static str {
    match s {
        "completed" => "completed",
        "answered" => "answered",
        "busy" => "busy",
        "no-answer" => "no-answer",
        "canceled" => "canceled",
        _ => "failed",
    }
}

/// `GET /twilio/media`: the Media Streams WebSocket. The classifier that listens here is a
/// separate component (issue #3); until it is wired in, the stream is accepted, its `start` is
/// checked against a known session, and the socket is closed so Twilio continues with the
/// fallback `<Dial><Sip>` that follows `<Connect>` — the call still reaches the assistant.
pub async fn media(
    State(st): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(e) = verify(&st, &headers, &uri, &vec![]) {
        return e.into_response();
    }
    // A media message is under 1 KB; tungstenite's default 128 KiB read buffer is zero-filled
    // before every read, which cost 16–20 % of the server's CPU (docs/benchmarks.md).
    ws.read_buffer_size(4096)
        .on_upgrade(move |mut socket| async move {
            // Bounded: a stream that never sends `start` is closed after a few messages.
            let mut before_start = 0;
            while let Some(Ok(msg)) = socket.recv().await {
                let Message::Text(text) = msg else { continue };
                match media::parse(&text) {
                    Err(e) => {
                        st.metrics.inc("switchboard_media_malformed_total", "");
                        tracing::debug!(error = %e, "malformed media stream message");
                    }
                    Ok(media::Inbound::Start { start, .. }) => {
                        let sid = start
                            .custom_parameters
                            .get("session_id")
                            .and_then(|s| SessionId::parse(s).ok());
                        let session = match sid {
                            Some(sid) => st.store.get_session(sid).await.ok().flatten(),
                            None => None,
                        };
                        match session {
                            Some(s) if s.call_id.as_deref().is_none_or(|c| c == start.call_sid) => {
                                st.metrics
                                    .inc("switchboard_media_streams_total", "result=\"accepted\"");
                                // Observe mode: the assistant is already talking; listen, classify
                                // and record. Navigate mode: listen, press keys, hand over.
                                match st.settings.classify_mode {
                                    ClassifyMode::Observe => listen(&st, &mut socket, s.id).await,
                                    ClassifyMode::Navigate => {
                                        let call = LiveCall {
                                            session: s,
                                            stream_sid: start.stream_sid.clone(),
                                            call_sid: start.call_sid.clone(),
                                        };
                                        crate::navigate::navigate(&st, &mut socket, call).await
                                    }
                                }
                            }
                            _ => {
                                st.metrics.inc(
                                    "switchboard_media_streams_total",
                                    "result=\"unknown_session\"",
                                );
                                tracing::warn!(
                                    "media stream for an unknown or mismatched session; closing"
                                );
                            }
                        }
                        break;
                    }
                    Ok(media::Inbound::Stop { .. }) => break,
                    Ok(_) => {}
                }
                before_start += 1;
                if before_start > 10 {
                    break;
                }
            }
            let _ = socket.send(Message::Close(None)).await;
        })
}

/// The stream a navigate-mode call is listened to on.
pub struct LiveCall {
    pub session: switchboard_store::Session,
    pub stream_sid: String,
    pub call_sid: String,
}

/// A stream that delivers nothing for this long (wall time) is dead.
const STALL: std::time::Duration = std::time::Duration::from_secs(15);

/// The stream's next frame of the clinic's audio (the inbound track); `None` once the stream
/// stops, closes or stalls. Malformed messages are counted and skipped.
pub async fn next_inbound_media(
    st: &AppState,
    socket: &mut axum::extract::ws::WebSocket,
) -> Option<media::Media> {
    loop {
        let m = next_media(st, socket).await?;
        if m.track == media::Track::Inbound {
            return Some(m);
        }
    }
}

/// The stream's next frame of audio, either track.
async fn next_media(
    st: &AppState,
    socket: &mut axum::extract::ws::WebSocket,
) -> Option<media::Media> {
    loop {
        let msg = match tokio::time::timeout(STALL, socket.recv()).await {
            Ok(Some(Ok(m))) => m,
            Ok(_) => return None,
            Err(_) => {
                tracing::warn!("media stream stalled; ending the analysis");
                return None;
            }
        };
        let Message::Text(text) = msg else { continue };
        match media::parse(&text) {
            Ok(media::Inbound::Media { media: m, .. }) => return Some(m),
            Ok(media::Inbound::Stop { .. }) => return None,
            Ok(_) => {}
            Err(_) => st.metrics.inc("switchboard_media_malformed_total", ""),
        }
    }
}

/// Observe mode: runs the live pipeline over the clinic's audio (media time from Twilio's
/// timestamps) and records the classifier's decision on the session; on the outbound track it
/// listens for the keys the assistant presses, and records them with their media times when the
/// stream ends (the path to a person, if the assistant's report says it reached one).
async fn listen(st: &AppState, socket: &mut axum::extract::ws::WebSocket, sid: SessionId) {
    let mut listener = crate::classify::Listener::with_config(st.settings.classifier_config());
    let mut events = Vec::new();
    let mut decided = false;
    let mut keys = crate::classify::KeyHearer::default();
    while let Some(m) = next_media(st, socket).await {
        if m.track == media::Track::Outbound {
            keys.push(m.timestamp_ms, &m.payload);
            continue;
        }
        if decided {
            continue;
        }
        events.clear();
        if let Some(d) = listener.push_ulaw(m.timestamp_ms, &m.payload, &mut events) {
            decided = true;
            crate::navigate::record_decision(st, sid, &d, d.classification.as_str()).await;
        }
    }
    let pressed: Vec<switchboard_core::IvrAction> = keys
        .finish()
        .into_iter()
        .map(|(at, key)| switchboard_core::IvrAction {
            after_ms: u32::try_from(at).unwrap_or(u32::MAX),
            digits: key.to_string(),
        })
        .collect();
    if !pressed.is_empty()
        && let Ok(steps) = switchboard_core::IvrActions::new(pressed)
        && let Err(e) = st
            .store
            .record_navigation(sid, &steps, None, st.clock.now())
            .await
    {
        tracing::error!(session_id = %sid, error = %e, "could not record the keys heard");
    }
}

//! Navigate mode on a live `<Connect><Stream>`: Switchboard alone on the line with the clinic.
//! The listener classifies what answered; the [`Navigator`] says what to do; this module does it —
//! in-band DTMF on the bidirectional stream for menus, a REST update with the `<Dial><Sip>`
//! TwiML to hand a person to the assistant, and the learned path into the cache.
//!
//! All navigation state lives for the life of the WebSocket; what must outlive it (the steps, the
//! hand-off time, the classification) is written to the database before the hand-off.

use crate::app::AppState;
use crate::classify::{Listener, MenuReader};
use crate::routes::twilio::LiveCall;
use crate::speech::SpeechStream;
use axum::extract::ws::{Message, WebSocket};
use switchboard_core::classifier::{Class, Config, Decision};
use switchboard_core::navigator::{Action, NavConfig, Navigator};
use switchboard_core::retry::AttemptOutcome;
use switchboard_core::routing::{IvrOnlyPolicy, Route, TwimlContext, twiml_for};
use switchboard_core::{ClassificationType, IvrActions, SessionId};
use switchboard_store::{Finish, NewClassification};
use switchboard_twilio::{UpdateCall, media};

/// A DTMF tone's length and the gap after it (Q.24 asks ≥ 40 ms; 100/100 is what phones send).
const TONE_MS: u64 = 100;
const GAP_MS: u64 = 100;

/// After a key press the next thing may be hold music before a person: listen longer.
fn after_press_config(st: &AppState) -> Config {
    crate::classify::after_press(st.settings.classifier_config())
}

/// In-band DTMF for `digits`: µ-law 8 kHz, one tone and one gap per key.
pub fn dtmf_audio(digits: &str) -> Vec<u8> {
    let mut pcm = Vec::new();
    for d in digits.chars() {
        if let Some(tone) = switchboard_audio::r#gen::dtmf(d, TONE_MS, 7000) {
            pcm.extend(tone);
            pcm.extend(switchboard_audio::r#gen::silence(GAP_MS));
        }
    }
    switchboard_audio::g711::encode(&pcm)
}

/// Records a classifier decision on the session (what this call met).
pub async fn record_decision(st: &AppState, sid: SessionId, d: &Decision, class: &str) {
    st.metrics.inc(
        "switchboard_classifications_total",
        &format!("class=\"{}\"", d.classification.as_str()),
    );
    if let Err(e) = st
        .store
        .record_detection(
            sid,
            class,
            d.confidence as f64,
            i32::try_from(d.decided_at_ms).unwrap_or(i32::MAX),
            st.clock.now(),
        )
        .await
    {
        tracing::error!(session_id = %sid, error = %e, "could not record the classification");
    }
}

/// What listening to a stream has led to.
enum Next {
    Listen,
    Done,
}

/// Listens, presses and hands over; returns when the call has been handed on or the stream ends.
pub async fn navigate(st: &AppState, socket: &mut WebSocket, call: LiveCall) {
    let sid = call.session.id;
    let mut speech = SpeechStream::open(&st.speech).await;
    let mut listener = Listener::with_config(Config {
        words_expected: speech.active(),
        ..st.settings.classifier_config()
    });
    let mut nav = Navigator::new(NavConfig::default());
    let mut events = Vec::new();
    let mut reader = MenuReader::default();
    loop {
        let Some(m) = crate::routes::twilio::next_inbound_media(st, socket).await else {
            break;
        };
        events.clear();
        let mut decision = listener.push_ulaw(m.timestamp_ms, &m.payload, &mut events);
        speech.push(m.timestamp_ms, &m.payload, &events);
        reader.events(&events);
        while let Some(h) = speech.try_next() {
            let at = listener.end_ms().max(h.until_ms);
            let d = if h.whole_round {
                reader
                    .heard_all(&h.text, h.until_ms)
                    .then(|| listener.replace_transcript(at, h.until_ms, &h.text))
                    .flatten()
            } else {
                reader
                    .heard(&h.text, h.until_ms)
                    .then(|| listener.push_transcript(at, &h.text))
                    .flatten()
            };
            decision = decision.or(d);
        }
        let ready = decision
            .and_then(|d| reader.offer(d, speech.active()))
            .or_else(|| reader.poll(listener.end_ms(), speech.busy()));
        if let Some(d) = ready {
            if let Next::Done = act(st, socket, &call, &mut nav, &mut listener, d).await {
                return;
            }
            reader.next_round(listener.end_ms());
            speech.next_round();
        }
    }
    // The stream ended before a decision (the caller hung up, or Twilio stopped the stream).
    if listener.decision().is_none() {
        let d = listener.finish();
        record_decision(st, sid, &d, Class::Unknown.as_str()).await;
    }
}

/// Applies the navigator's answer to a decision.
async fn act(
    st: &AppState,
    socket: &mut WebSocket,
    call: &LiveCall,
    nav: &mut Navigator,
    listener: &mut Listener,
    d: Decision,
) -> Next {
    let sid = call.session.id;
    let action = nav.on_decision(&d);
    tracing::info!(session_id = %sid, class = d.classification.as_str(), at_ms = d.decided_at_ms, reason = d.reason, action = action_name(&action), "navigate");
    match action {
        Action::Press { digits, at_ms } => {
            st.metrics.inc("switchboard_navigation_presses_total", "");
            let audio = dtmf_audio(&digits);
            let played_ms = audio.len() as u64 / 8;
            let sent = socket
                .send(Message::text(media::outbound_media(
                    &call.stream_sid,
                    &audio,
                )))
                .await
                .is_ok()
                && socket
                    .send(Message::text(media::outbound_mark(
                        &call.stream_sid,
                        &format!("press-{}", nav.steps().len()),
                    )))
                    .await
                    .is_ok();
            if !sent {
                return Next::Done;
            }
            listener.restart(at_ms + played_ms, after_press_config(st));
            Next::Listen
        }
        Action::WaitForTimeout => {
            listener.restart(d.decided_at_ms, after_press_config(st));
            Next::Listen
        }
        Action::HandOff {
            learned: (kind, steps),
            confidence,
        } => {
            record_decision(st, sid, &d, kind.as_str()).await;
            cache(st, call, kind, &steps, confidence).await;
            hand_off(st, socket, call, &steps, d.decided_at_ms).await;
            Next::Done
        }
        Action::HandOffToAssistant | Action::HandOffUncached(_) => {
            record_decision(st, sid, &d, d.classification.as_str()).await;
            let steps = IvrActions::new(nav.steps().to_vec()).unwrap_or_default();
            hand_off(st, socket, call, &steps, d.decided_at_ms).await;
            Next::Done
        }
        Action::MenuOnly { steps, confidence } => {
            record_decision(st, sid, &d, "ivr_only").await;
            cache(st, call, ClassificationType::IvrOnly, &steps, confidence).await;
            match st.settings.ivr_only_policy {
                IvrOnlyPolicy::ReplayThenBridge => {
                    hand_off(st, socket, call, &steps, d.decided_at_ms).await
                }
                IvrOnlyPolicy::HangupAndFlag => {
                    // The end-of-call callback turns a `hangup` routing into manual follow-up.
                    if let Err(e) = st
                        .store
                        .set_routing(sid, Route::Hangup.decision(), None, st.clock.now())
                        .await
                    {
                        tracing::error!(session_id = %sid, error = %e, "could not record the routing");
                    }
                    hang_up(st, socket, call).await;
                }
            }
            Next::Done
        }
        Action::HangUp(class) => {
            record_decision(st, sid, &d, class.as_str()).await;
            // Nobody will answer this number: end the attempt for good before hanging up, so the
            // status callback does not schedule a retry.
            let finish = Finish {
                outcome: AttemptOutcome::Permanent,
                error_code: Some(format!("detected_{}", class.as_str())),
                error_message: None,
            };
            if let Err(e) = st
                .store
                .finish_attempt(sid, &finish, &st.settings.retry, st.clock.now())
                .await
            {
                tracing::error!(session_id = %sid, error = %e, "could not end the attempt");
            }
            hang_up(st, socket, call).await;
            Next::Done
        }
    }
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Press { .. } => "press",
        Action::WaitForTimeout => "wait",
        Action::HandOff { .. } => "hand_off",
        Action::HandOffToAssistant => "hand_off_to_assistant",
        Action::MenuOnly { .. } => "menu_only",
        Action::HandOffUncached(_) => "hand_off_uncached",
        Action::HangUp(_) => "hang_up",
    }
}

/// Stores what answered at this clinic for `SWITCHBOARD_CLASSIFICATION_TTL_DAYS`.
async fn cache(
    st: &AppState,
    call: &LiveCall,
    kind: ClassificationType,
    steps: &IvrActions,
    confidence: f32,
) {
    let now = st.clock.now();
    let phone = match st
        .store
        .get_pending_call(call.session.pending_call_id)
        .await
    {
        Ok(Some(p)) => p
            .phone_e164
            .and_then(|p| switchboard_core::E164::parse(&p).ok()),
        _ => None,
    };
    let Some(phone) = phone else { return };
    let new = NewClassification {
        phone_number: phone,
        classification_type: kind,
        ivr_actions: steps.clone(),
        confidence: f64::from(confidence),
        source: "classifier",
        source_session_id: Some(call.session.id),
        expires_at: now + chrono::Duration::days(st.settings.classification_ttl_days),
    };
    match st.store.put_classification(&new, now).await {
        Ok(_) => st.metrics.inc(
            "switchboard_classifications_learned_total",
            &format!("type=\"{kind}\""),
        ),
        Err(e) => {
            tracing::error!(session_id = %call.session.id, error = %e, "could not store the classification")
        }
    }
}

/// Hands the call to the assistant: a REST update with the bridge TwiML. If that cannot be done,
/// closing the stream makes Twilio run the `<Dial><Sip>` that follows `<Connect>` — the call still
/// reaches the assistant, a little later.
async fn hand_off(
    st: &AppState,
    socket: &mut WebSocket,
    call: &LiveCall,
    steps: &IvrActions,
    at_ms: u64,
) {
    let sid = call.session.id;
    if let Err(e) = st
        .store
        .record_navigation(
            sid,
            steps,
            Some(u32::try_from(at_ms).unwrap_or(u32::MAX)),
            st.clock.now(),
        )
        .await
    {
        tracing::error!(session_id = %sid, error = %e, "could not record the navigation");
    }
    let twiml = match (
        st.settings.public_url.as_deref(),
        st.settings.vapi_sip_uri.as_deref(),
    ) {
        (Some(public_url), Some(vapi_sip_uri)) => twiml_for(
            &Route::Bridge,
            Some(&TwimlContext {
                public_url,
                session_id: sid,
                pending_call_id: call.session.pending_call_id,
                vapi_sip_uri,
            }),
        )
        .ok(),
        _ => None,
    };
    let updated = match (st.dispatcher.twilio(), twiml) {
        (Some(client), Some(twiml)) => {
            match client
                .update_call(&call.call_sid, &UpdateCall::Twiml(twiml))
                .await
            {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(session_id = %sid, error = %e, "hand-off by REST failed; closing the stream so the fallback bridge runs");
                    false
                }
            }
        }
        _ => false,
    };
    st.metrics.inc(
        "switchboard_handoffs_total",
        if updated {
            "method=\"rest\""
        } else {
            "method=\"stream_close\""
        },
    );
    let _ = socket.send(Message::Close(None)).await;
}

/// Ends the call (REST `Status=completed`). If that fails, closing the stream lets the fallback
/// bridge run: a wasted assistant minute, never a lost call.
async fn hang_up(st: &AppState, socket: &mut WebSocket, call: &LiveCall) {
    if let Some(client) = st.dispatcher.twilio()
        && let Err(e) = client
            .update_call(&call.call_sid, &UpdateCall::Complete)
            .await
    {
        tracing::warn!(session_id = %call.session.id, error = %e, "could not hang up by REST");
    }
    let _ = socket.send(Message::Close(None)).await;
}

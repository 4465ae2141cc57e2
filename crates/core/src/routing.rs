//! Which way a call goes when Twilio asks for TwiML: decided from the session's classification
//! (the pre-check stored at claim time) and the operator's policy. Pure; `twiml_for` renders it.

use crate::classification::{ClassificationType, IvrActions};
use serde::{Deserialize, Serialize};

/// What to do with an `ivr_only` clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IvrOnlyPolicy {
    /// Replay the steps and bridge: the assistant leaves a message.
    ReplayThenBridge,
    /// Hang up and flag the pending call for manual follow-up.
    HangupAndFlag,
}

/// How to handle a number with no classification yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifyMode {
    /// `<Connect><Stream>`: Switchboard listens, classifies and navigates, then hands over.
    Navigate,
    /// `<Start><Stream>` + `<Dial><Sip>`: the assistant talks at once; Switchboard listens and learns.
    Observe,
}

/// The routing decision stored on the session (`call_sessions.routing_decision`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Bridge,
    ReplayThenBridge(IvrActions),
    /// `ivr_only` with [`IvrOnlyPolicy::HangupAndFlag`].
    Hangup,
    Classify(ClassifyMode),
}

impl Route {
    /// The `routing_decision` column value.
    pub fn decision(&self) -> &'static str {
        match self {
            Route::Bridge => "bridge",
            Route::ReplayThenBridge(_) => "replay_then_bridge",
            Route::Hangup => "hangup",
            Route::Classify(_) => "classify",
        }
    }
}

/// Chooses the route for a session from its classification.
pub fn decide(
    classification: Option<(ClassificationType, &IvrActions)>,
    ivr_only: IvrOnlyPolicy,
    classify: ClassifyMode,
) -> Route {
    match classification {
        None => Route::Classify(classify),
        Some((ClassificationType::Human, _)) => Route::Bridge,
        Some((ClassificationType::IvrThenHuman, steps)) if steps.is_empty() => {
            Route::Classify(classify)
        }
        Some((ClassificationType::IvrThenHuman, steps)) => Route::ReplayThenBridge(steps.clone()),
        Some((ClassificationType::IvrOnly, steps)) => match ivr_only {
            IvrOnlyPolicy::HangupAndFlag => Route::Hangup,
            IvrOnlyPolicy::ReplayThenBridge if steps.is_empty() => Route::Bridge,
            IvrOnlyPolicy::ReplayThenBridge => Route::ReplayThenBridge(steps.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classification::IvrAction;

    fn steps() -> IvrActions {
        IvrActions::new(vec![IvrAction {
            after_ms: 3500,
            digits: "2".into(),
        }])
        .unwrap()
    }

    #[test]
    fn each_classification_routes_as_documented() {
        let s = steps();
        let none = IvrActions::default();
        use ClassificationType::*;
        let d = |c, p| decide(c, p, ClassifyMode::Navigate);
        assert_eq!(
            d(None, IvrOnlyPolicy::HangupAndFlag),
            Route::Classify(ClassifyMode::Navigate)
        );
        assert_eq!(
            d(Some((Human, &none)), IvrOnlyPolicy::HangupAndFlag),
            Route::Bridge
        );
        assert_eq!(
            d(Some((IvrThenHuman, &s)), IvrOnlyPolicy::HangupAndFlag),
            Route::ReplayThenBridge(s.clone())
        );
        assert_eq!(
            d(Some((IvrOnly, &s)), IvrOnlyPolicy::HangupAndFlag),
            Route::Hangup
        );
        assert_eq!(
            d(Some((IvrOnly, &s)), IvrOnlyPolicy::ReplayThenBridge),
            Route::ReplayThenBridge(s.clone())
        );
        assert_eq!(
            decide(None, IvrOnlyPolicy::HangupAndFlag, ClassifyMode::Observe),
            Route::Classify(ClassifyMode::Observe)
        );
    }

    #[test]
    fn a_menu_with_no_learned_steps_is_relearned() {
        let none = IvrActions::default();
        assert_eq!(
            decide(
                Some((ClassificationType::IvrThenHuman, &none)),
                IvrOnlyPolicy::HangupAndFlag,
                ClassifyMode::Navigate
            ),
            Route::Classify(ClassifyMode::Navigate)
        );
    }
}

/// Where the TwiML for one session points.
#[derive(Debug, Clone, Copy)]
pub struct TwimlContext<'a> {
    /// `SWITCHBOARD_PUBLIC_URL`, no trailing slash.
    pub public_url: &'a str,
    pub session_id: crate::SessionId,
    pub pending_call_id: crate::PendingCallId,
    /// `VAPI_SIP_URI`.
    pub vapi_sip_uri: &'a str,
}

fn bridge(ctx: &TwimlContext<'_>) -> Result<crate::twiml::Element, crate::twiml::TwimlError> {
    use crate::twiml::{Element, sip_uri_with_headers};
    // Only the pending call id crosses to the assistant; it fetches everything else.
    let uri = sip_uri_with_headers(
        ctx.vapi_sip_uri,
        &[("X-pendingcallid", &ctx.pending_call_id.to_string())],
    )?;
    Ok(Element::new("Dial")
        .attr("answerOnBridge", "true")
        .attr(
            "action",
            format!("{}/twilio/dial/{}", ctx.public_url, ctx.session_id),
        )
        .attr("method", "POST")
        .child(Element::new("Sip").text(uri)))
}

fn stream(ctx: &TwimlContext<'_>) -> crate::twiml::Element {
    use crate::twiml::Element;
    let ws = ctx
        .public_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    Element::new("Stream")
        .attr("url", format!("{ws}/twilio/media"))
        .child(
            Element::new("Parameter")
                .attr("name", "pending_call_id")
                .attr("value", ctx.pending_call_id.to_string()),
        )
        .child(
            Element::new("Parameter")
                .attr("name", "session_id")
                .attr("value", ctx.session_id.to_string()),
        )
}

/// Renders a route as TwiML. `Hangup` needs no context; every other route needs one.
pub fn twiml_for(
    route: &Route,
    ctx: Option<&TwimlContext<'_>>,
) -> Result<String, crate::twiml::TwimlError> {
    use crate::twiml::{Element, Response, dtmf_replay, hangup};
    let Some(ctx) = ctx else {
        return Ok(Response::new().push(hangup()).to_xml());
    };
    let doc = match route {
        Route::Hangup => Response::new().push(hangup()),
        Route::Bridge => Response::new().push(bridge(ctx)?),
        Route::ReplayThenBridge(steps) => {
            let steps: Vec<(u32, &str)> = steps
                .steps()
                .iter()
                .map(|s| (s.after_ms, s.digits.as_str()))
                .collect();
            Response::new()
                .extend(dtmf_replay(&steps)?)
                .push(bridge(ctx)?)
        }
        // Switchboard listens and navigates; if the stream ends without a hand-off, the call
        // continues to the assistant rather than dropping.
        Route::Classify(ClassifyMode::Navigate) => Response::new()
            .push(Element::new("Connect").child(stream(ctx)))
            .push(bridge(ctx)?),
        Route::Classify(ClassifyMode::Observe) => Response::new()
            .push(Element::new("Start").child(stream(ctx).attr("track", "both_tracks")))
            .push(bridge(ctx)?),
    };
    Ok(doc.to_xml())
}

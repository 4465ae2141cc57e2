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

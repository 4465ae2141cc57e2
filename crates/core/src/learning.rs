//! Learning a clinic's phone system from what happened on a call, and keeping the cache honest:
//! a replayed path that reaches a person is verified; one that does not is stale. Pure functions.

use crate::classification::{ClassificationType, IvrAction, IvrActions};

/// What to cache after a call Switchboard only observed (the assistant talked from the start and
/// pressed keys itself): `None` when the call did not show a way to a person.
pub fn learn_from_observation(
    reached_person: bool,
    pressed: &[(u32, String)],
) -> Option<(ClassificationType, IvrActions)> {
    if !reached_person {
        return None;
    }
    let steps: Vec<IvrAction> = pressed
        .iter()
        .filter_map(|(at, keys)| {
            let digits: String = keys
                .chars()
                .filter(|c| matches!(c, '0'..='9' | '*' | '#' | 'A'..='D'))
                .collect();
            (!digits.is_empty()).then_some(IvrAction {
                after_ms: *at,
                digits,
            })
        })
        .collect();
    if steps.is_empty() {
        return Some((ClassificationType::Human, IvrActions::default()));
    }
    IvrActions::new(steps)
        .ok()
        .map(|a| (ClassificationType::IvrThenHuman, a))
}

/// What a call that used a cached classification says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The path reached a person: count a success.
    Verified,
    /// The assistant met a machine where the cache promised a person: deactivate and relearn.
    Stale,
    /// Nothing learned (nobody answered, the person hung up, …).
    Inconclusive,
}

/// End reasons meaning the assistant was talking to a machine, not a person.
const MACHINE_REASONS: &[&str] = &[
    "voicemail",
    "silence-timed-out",
    "customer-did-not-give-microphone-permission",
];

/// `assistant_navigated`: the assistant had to press keys itself after the replay, so the
/// replayed path no longer led where it used to.
pub fn replay_verdict(
    reached_person: bool,
    ended_reason: Option<&str>,
    assistant_navigated: bool,
) -> Verdict {
    if assistant_navigated {
        Verdict::Stale
    } else if reached_person {
        Verdict::Verified
    } else if ended_reason.is_some_and(|r| MACHINE_REASONS.contains(&r)) {
        Verdict::Stale
    } else {
        Verdict::Inconclusive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_keys_become_the_path() {
        let (t, a) =
            learn_from_observation(true, &[(6500, "w2".into()), (14000, "1".into())]).unwrap();
        assert_eq!(t, ClassificationType::IvrThenHuman);
        assert_eq!(
            a.steps()[0],
            IvrAction {
                after_ms: 6500,
                digits: "2".into()
            }
        );
        assert_eq!(a.steps().len(), 2);
        assert_eq!(
            learn_from_observation(true, &[]).unwrap().0,
            ClassificationType::Human
        );
        assert_eq!(learn_from_observation(false, &[(1, "2".into())]), None);
    }

    #[test]
    fn only_a_machine_makes_a_path_stale() {
        assert_eq!(
            replay_verdict(true, Some("assistant-ended-call"), false),
            Verdict::Verified
        );
        assert_eq!(
            replay_verdict(false, Some("silence-timed-out"), false),
            Verdict::Stale
        );
        assert_eq!(
            replay_verdict(false, Some("voicemail"), false),
            Verdict::Stale
        );
        assert_eq!(
            replay_verdict(false, Some("customer-ended-call"), false),
            Verdict::Inconclusive
        );
        assert_eq!(
            replay_verdict(true, Some("assistant-ended-call"), true),
            Verdict::Stale,
            "the menu changed"
        );
    }
}

//! What happens to a pending call after an attempt ends: the retry policy as a pure function.

use crate::status::{PendingStatus, SessionStatus};
use chrono::{DateTime, Duration, Utc};

/// How an attempt ended, from the pending call's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The assistant spoke with a person: the call achieved its purpose.
    Reached,
    /// Busy, no answer, dropped, voicemail…: worth another attempt if any are left.
    Retryable,
    /// The number cannot be reached (invalid, not in service): never retry.
    Permanent,
    /// A menu with no person, and policy says hang up: an operator follows up.
    ManualFollowUp,
    /// The attempt never reached the carrier (Twilio 429/5xx, network): does not count.
    NotPlaced,
}

/// Retry limits and backoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Default `max_attempts` for new pending calls.
    pub max_attempts: i32,
    /// Delay before the second attempt; doubled for each further attempt.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Delay after an attempt that never reached the carrier.
    pub not_placed_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::minutes(15),
            max_backoff: Duration::hours(2),
            not_placed_delay: Duration::minutes(1),
        }
    }
}

/// The pending call's next state after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterAttempt {
    pub status: PendingStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The new `attempt_count` (an attempt that was never placed is handed back).
    pub attempt_count: i32,
}

impl RetryPolicy {
    /// Decides the pending call's next state. `attempt_count` includes the attempt that ended.
    pub fn after_attempt(
        &self,
        outcome: AttemptOutcome,
        attempt_count: i32,
        max_attempts: i32,
        now: DateTime<Utc>,
    ) -> AfterAttempt {
        let done = |status| AfterAttempt {
            status,
            next_attempt_at: None,
            attempt_count,
        };
        match outcome {
            AttemptOutcome::Reached => done(PendingStatus::Completed),
            AttemptOutcome::Permanent => done(PendingStatus::Failed),
            AttemptOutcome::ManualFollowUp => done(PendingStatus::NeedsManual),
            AttemptOutcome::Retryable if attempt_count >= max_attempts => {
                done(PendingStatus::Failed)
            }
            AttemptOutcome::Retryable => {
                let doublings = (attempt_count - 1).clamp(0, 20) as u32;
                let backoff = self.base_backoff * 2i32.pow(doublings.min(16));
                AfterAttempt {
                    status: PendingStatus::RetryScheduled,
                    next_attempt_at: Some(now + backoff.min(self.max_backoff)),
                    attempt_count,
                }
            }
            AttemptOutcome::NotPlaced => AfterAttempt {
                status: PendingStatus::RetryScheduled,
                next_attempt_at: Some(now + self.not_placed_delay),
                attempt_count: (attempt_count - 1).max(0),
            },
        }
    }
}

/// SIP final responses that mean the number itself is wrong (not worth retrying).
pub fn sip_code_is_permanent(code: u16) -> bool {
    matches!(code, 404 | 410 | 484 | 604)
}

/// Twilio error codes that mean the `To` number is invalid or not callable.
pub fn twilio_code_is_permanent(code: i64) -> bool {
    matches!(
        code,
        13223 | 13224 | 21210 | 21211 | 21214 | 21215 | 21216 | 21217 | 21401
    )
}

/// What a call that ended means for its attempt, from Twilio's final status and what the session
/// recorded on the way. `None`: wait — the assistant was bridged and its report decides.
pub fn outcome_of_call_end(
    status: SessionStatus,
    sip_response_code: Option<i32>,
    twilio_error_code: Option<&str>,
    routing_decision: Option<&str>,
    sip_bridged: Option<bool>,
) -> Option<AttemptOutcome> {
    let permanent = sip_response_code
        .is_some_and(|c| u16::try_from(c).is_ok_and(sip_code_is_permanent))
        || twilio_error_code
            .and_then(|c| c.parse::<i64>().ok())
            .is_some_and(twilio_code_is_permanent);
    match status {
        SessionStatus::Busy | SessionStatus::NoAnswer | SessionStatus::Canceled => {
            Some(AttemptOutcome::Retryable)
        }
        SessionStatus::Failed if permanent => Some(AttemptOutcome::Permanent),
        SessionStatus::Failed => Some(AttemptOutcome::Retryable),
        SessionStatus::Completed => match (routing_decision, sip_bridged) {
            (Some("hangup"), _) => Some(AttemptOutcome::ManualFollowUp),
            (_, Some(true)) => None,
            _ => Some(AttemptOutcome::Retryable),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
    }

    #[test]
    fn retryable_backs_off_exponentially_until_out_of_attempts() {
        let p = RetryPolicy::default();
        let a1 = p.after_attempt(AttemptOutcome::Retryable, 1, 3, now());
        assert_eq!(a1.status, PendingStatus::RetryScheduled);
        assert_eq!(a1.next_attempt_at, Some(now() + Duration::minutes(15)));
        let a2 = p.after_attempt(AttemptOutcome::Retryable, 2, 3, now());
        assert_eq!(a2.next_attempt_at, Some(now() + Duration::minutes(30)));
        let a3 = p.after_attempt(AttemptOutcome::Retryable, 3, 3, now());
        assert_eq!(a3.status, PendingStatus::Failed);
        assert_eq!(a3.next_attempt_at, None);
    }

    #[test]
    fn backoff_is_capped() {
        let p = RetryPolicy::default();
        let a = p.after_attempt(AttemptOutcome::Retryable, 9, 10, now());
        assert_eq!(a.next_attempt_at, Some(now() + Duration::hours(2)));
    }

    #[test]
    fn an_attempt_that_never_reached_twilio_is_handed_back() {
        let p = RetryPolicy::default();
        let a = p.after_attempt(AttemptOutcome::NotPlaced, 3, 3, now());
        assert_eq!(a.status, PendingStatus::RetryScheduled);
        assert_eq!(a.attempt_count, 2);
        assert_eq!(a.next_attempt_at, Some(now() + Duration::minutes(1)));
    }

    #[test]
    fn reached_completes_and_permanent_fails() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.after_attempt(AttemptOutcome::Reached, 1, 3, now()).status,
            PendingStatus::Completed
        );
        assert_eq!(
            p.after_attempt(AttemptOutcome::Permanent, 1, 3, now())
                .status,
            PendingStatus::Failed
        );
        assert!(sip_code_is_permanent(404));
        assert!(!sip_code_is_permanent(486));
        assert!(twilio_code_is_permanent(21211));
    }

    #[test]
    fn call_end_outcomes() {
        use SessionStatus::*;
        assert_eq!(
            outcome_of_call_end(Busy, None, None, None, None),
            Some(AttemptOutcome::Retryable)
        );
        assert_eq!(
            outcome_of_call_end(NoAnswer, Some(487), None, None, None),
            Some(AttemptOutcome::Retryable)
        );
        assert_eq!(
            outcome_of_call_end(Failed, Some(404), None, None, None),
            Some(AttemptOutcome::Permanent)
        );
        assert_eq!(
            outcome_of_call_end(Failed, None, Some("13224"), None, None),
            Some(AttemptOutcome::Permanent)
        );
        assert_eq!(
            outcome_of_call_end(Failed, Some(503), None, None, None),
            Some(AttemptOutcome::Retryable)
        );
        assert_eq!(
            outcome_of_call_end(Completed, None, None, Some("hangup"), None),
            Some(AttemptOutcome::ManualFollowUp)
        );
        assert_eq!(
            outcome_of_call_end(Completed, None, None, Some("bridge"), Some(true)),
            None
        );
        assert_eq!(
            outcome_of_call_end(Completed, None, None, Some("bridge"), Some(false)),
            Some(AttemptOutcome::Retryable)
        );
        assert_eq!(
            outcome_of_call_end(Completed, None, None, None, None),
            Some(AttemptOutcome::Retryable)
        );
        assert_eq!(outcome_of_call_end(Ringing, None, None, None, None), None);
    }
}

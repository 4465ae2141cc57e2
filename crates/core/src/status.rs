//! The two status columns and their state machines, as pure functions.
//!
//! `pending_calls.call_status` (one per appointment):
//!
//! ```text
//!             claim                 outcome: reached a person
//!  pending ──────────▶ calling ─────────────────────────────▶ completed
//!     ▲                │  │  │ outcome: retryable, attempts left
//!     │                │  │  └───────────────▶ retry_scheduled ──claim──▶ calling
//!     │                │  │ outcome: permanent, or retryable with no attempts left
//!     │                │  └──────────────────▶ failed
//!     │                │ ivr_only + hang-up policy
//!     │                └─────────────────────▶ needs_manual ──manual dispatch──▶ calling
//!  cancel (pending | retry_scheduled | needs_manual) ─▶ cancelled
//! ```
//!
//! `call_sessions.call_status` (one per attempt) follows Twilio's call progress; it only moves
//! forward (`initiating < queued < initiated < ringing < in_progress < terminal`) and a terminal
//! status is final, so duplicated or reordered status callbacks cannot undo a result.

use crate::classification::UnknownValue;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal { $($(#[$vdoc:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vdoc])* #[serde(rename = $s)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($s => Ok($name::$variant),)+
                    _ => Err(UnknownValue { kind: $kind, value: s.to_string() }),
                }
            }
        }
    };
}

string_enum!(
    /// `pending_calls.call_status`.
    PendingStatus, "pending call status" {
        /// Waiting for its first attempt.
        Pending = "pending",
        /// An attempt is in progress (claimed, dialling, on the line, or awaiting its outcome).
        Calling = "calling",
        /// The last attempt failed; another is due at `next_attempt_at`.
        RetryScheduled = "retry_scheduled",
        /// The call achieved its purpose: the assistant spoke with a person.
        Completed = "completed",
        /// No further attempts: out of attempts or a permanent failure.
        Failed = "failed",
        /// Cancelled by an operator.
        Cancelled = "cancelled",
        /// The clinic has no path to a person; an operator must follow up.
        NeedsManual = "needs_manual",
    }
);

string_enum!(
    /// `call_sessions.call_status`, mirroring Twilio's call progress.
    SessionStatus, "session status" {
        /// Created at claim time; the Twilio request is being made.
        Initiating = "initiating",
        /// Twilio accepted the call (it has a CallSid).
        Queued = "queued",
        Initiated = "initiated",
        Ringing = "ringing",
        /// Answered.
        InProgress = "in_progress",
        /// Answered and ended normally.
        Completed = "completed",
        Busy = "busy",
        NoAnswer = "no_answer",
        /// Twilio could not place the call, or we could not ask it to.
        Failed = "failed",
        Canceled = "canceled",
    }
);

/// Why a pending call cannot make the requested move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the pending call is already calling")]
    AlreadyCalling,
    #[error("the pending call is already completed")]
    AlreadyCompleted,
    #[error("the pending call is cancelled")]
    Cancelled,
    #[error("the pending call has failed permanently")]
    Failed,
    #[error("the pending call has no attempts left")]
    OutOfAttempts,
}

/// Who asks for an attempt: the scheduled dispatcher only picks up calls that are due; an operator
/// (the dispatch endpoint) may also retry one flagged for manual follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOrigin {
    Scheduled,
    Manual,
}

impl PendingStatus {
    /// Whether this status may start a new attempt; the caller also checks due time for
    /// scheduled claims.
    pub fn check_claim(
        self,
        origin: ClaimOrigin,
        attempt_count: i32,
        max_attempts: i32,
    ) -> Result<(), TransitionError> {
        match self {
            PendingStatus::Calling => Err(TransitionError::AlreadyCalling),
            PendingStatus::Completed => Err(TransitionError::AlreadyCompleted),
            PendingStatus::Cancelled => Err(TransitionError::Cancelled),
            PendingStatus::Failed => Err(TransitionError::Failed),
            PendingStatus::NeedsManual if origin == ClaimOrigin::Scheduled => {
                Err(TransitionError::Failed)
            }
            PendingStatus::Pending | PendingStatus::RetryScheduled | PendingStatus::NeedsManual => {
                if attempt_count >= max_attempts {
                    Err(TransitionError::OutOfAttempts)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Whether an operator may cancel from this status. A call in progress is not cancelled
    /// underneath the person talking to it.
    pub fn check_cancel(self) -> Result<(), TransitionError> {
        match self {
            PendingStatus::Pending | PendingStatus::RetryScheduled | PendingStatus::NeedsManual => {
                Ok(())
            }
            PendingStatus::Calling => Err(TransitionError::AlreadyCalling),
            PendingStatus::Completed => Err(TransitionError::AlreadyCompleted),
            PendingStatus::Cancelled => Err(TransitionError::Cancelled),
            PendingStatus::Failed => Err(TransitionError::Failed),
        }
    }

    /// Statuses that will never be dialled again without an operator.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PendingStatus::Completed | PendingStatus::Failed | PendingStatus::Cancelled
        )
    }
}

impl SessionStatus {
    /// Maps Twilio's `CallStatus` (status callbacks, REST) to a session status.
    pub fn from_twilio(call_status: &str) -> Option<SessionStatus> {
        Some(match call_status {
            "queued" => SessionStatus::Queued,
            "initiated" => SessionStatus::Initiated,
            "ringing" => SessionStatus::Ringing,
            "in-progress" | "answered" => SessionStatus::InProgress,
            "completed" => SessionStatus::Completed,
            "busy" => SessionStatus::Busy,
            "no-answer" => SessionStatus::NoAnswer,
            "failed" => SessionStatus::Failed,
            "canceled" => SessionStatus::Canceled,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        self.rank() == 5
    }

    fn rank(self) -> u8 {
        match self {
            SessionStatus::Initiating => 0,
            SessionStatus::Queued => 1,
            SessionStatus::Initiated => 2,
            SessionStatus::Ringing => 3,
            SessionStatus::InProgress => 4,
            _ => 5,
        }
    }

    /// The status after observing `next`, or `None` when `next` is stale (a late `ringing`
    /// after `completed`, a duplicate) and must not be applied.
    pub fn advance(self, next: SessionStatus) -> Option<SessionStatus> {
        if self.is_terminal() || next.rank() <= self.rank() {
            None
        } else {
            Some(next)
        }
    }

    /// Statuses of sessions still occupying a line (counted against the in-flight limit).
    pub const IN_FLIGHT: &'static [SessionStatus] = &[
        SessionStatus::Initiating,
        SessionStatus::Queued,
        SessionStatus::Initiated,
        SessionStatus::Ringing,
        SessionStatus::InProgress,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_ringing_never_overwrites_completed() {
        assert_eq!(
            SessionStatus::Completed.advance(SessionStatus::Ringing),
            None
        );
        assert_eq!(SessionStatus::Completed.advance(SessionStatus::Busy), None);
        assert_eq!(
            SessionStatus::Ringing.advance(SessionStatus::Completed),
            Some(SessionStatus::Completed)
        );
        assert_eq!(
            SessionStatus::InProgress.advance(SessionStatus::Ringing),
            None
        );
        assert_eq!(SessionStatus::Ringing.advance(SessionStatus::Ringing), None);
        assert_eq!(
            SessionStatus::Initiating.advance(SessionStatus::NoAnswer),
            Some(SessionStatus::NoAnswer)
        );
    }

    #[test]
    fn twilio_statuses_map_with_hyphens() {
        assert_eq!(
            SessionStatus::from_twilio("in-progress"),
            Some(SessionStatus::InProgress)
        );
        assert_eq!(
            SessionStatus::from_twilio("no-answer"),
            Some(SessionStatus::NoAnswer)
        );
        assert_eq!(SessionStatus::from_twilio("bogus"), None);
    }

    #[test]
    fn claim_rules_match_the_dispatch_contract() {
        use ClaimOrigin::*;
        assert_eq!(PendingStatus::Pending.check_claim(Scheduled, 0, 3), Ok(()));
        assert_eq!(
            PendingStatus::RetryScheduled.check_claim(Scheduled, 2, 3),
            Ok(())
        );
        assert_eq!(
            PendingStatus::RetryScheduled.check_claim(Scheduled, 3, 3),
            Err(TransitionError::OutOfAttempts)
        );
        assert_eq!(
            PendingStatus::Calling.check_claim(Manual, 1, 3),
            Err(TransitionError::AlreadyCalling)
        );
        assert_eq!(
            PendingStatus::Completed.check_claim(Manual, 1, 3),
            Err(TransitionError::AlreadyCompleted)
        );
        assert_eq!(
            PendingStatus::Cancelled.check_claim(Manual, 0, 3),
            Err(TransitionError::Cancelled)
        );
        assert_eq!(PendingStatus::NeedsManual.check_claim(Manual, 1, 3), Ok(()));
        assert!(
            PendingStatus::NeedsManual
                .check_claim(Scheduled, 1, 3)
                .is_err()
        );
    }

    #[test]
    fn status_strings_round_trip() {
        for s in PendingStatus::ALL {
            assert_eq!(s.as_str().parse::<PendingStatus>().unwrap(), *s);
        }
        for s in SessionStatus::ALL {
            assert_eq!(s.as_str().parse::<SessionStatus>().unwrap(), *s);
        }
    }
}

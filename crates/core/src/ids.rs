//! Identifiers. Each wraps its raw form so a session id can't be passed where a pending-call id is
//! expected, and a malformed id is rejected at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not a UUID")]
    NotUuid,
    #[error("not a Twilio Call SID (CA followed by 32 hex digits)")]
    NotCallSid,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Parses the canonical hyphenated or simple UUID form.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                Uuid::try_parse(s.trim()).map($name).map_err(|_| IdError::NotUuid)
            }
            pub fn new_v4() -> Self {
                $name(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Primary key of a `pending_calls` row: the only thing handed to the assistant.
    PendingCallId
);
uuid_id!(
    /// Primary key of a `call_sessions` row: one per attempt, and the idempotency key of a dial.
    SessionId
);

/// A Twilio Call SID (`CA` + 32 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CallSid(String);

impl CallSid {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok =
            s.len() == 34 && s.starts_with("CA") && s[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(CallSid(s.to_string()))
        } else {
            Err(IdError::NotCallSid)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CallSid {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        CallSid::parse(&s)
    }
}

impl From<CallSid> for String {
    fn from(c: CallSid) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_sid_requires_ca_and_32_hex() {
        assert!(CallSid::parse("CA0123456789abcdef0123456789abcdef").is_ok());
        assert_eq!(CallSid::parse("CA0123"), Err(IdError::NotCallSid));
        assert_eq!(
            CallSid::parse("XX0123456789abcdef0123456789abcdef"),
            Err(IdError::NotCallSid)
        );
        assert_eq!(
            CallSid::parse("CA0123456789abcdef0123456789abcdeg"),
            Err(IdError::NotCallSid)
        );
    }

    #[test]
    fn pending_call_id_rejects_garbage() {
        assert_eq!(PendingCallId::parse("abc"), Err(IdError::NotUuid));
        let id = PendingCallId::new_v4();
        assert_eq!(PendingCallId::parse(&id.to_string()), Ok(id));
    }
}

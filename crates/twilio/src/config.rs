//! Account settings and credentials. Secrets never appear in `Debug` output.

use std::fmt;

/// Twilio's production REST origin (the OpenAPI document's `servers[0].url`).
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";

/// How to authenticate (protocols.md A.1): HTTP Basic with an API key (recommended) or with the
/// account's Auth Token. Either way the Account SID stays in the request path.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// Basic `AccountSid:AuthToken`.
    AuthToken(String),
    /// Basic `KeySid:KeySecret` (`SK…` key).
    ApiKey { sid: String, secret: String },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::AuthToken(_) => f.write_str("AuthToken(<redacted>)"),
            Auth::ApiKey { sid, .. } => f
                .debug_struct("ApiKey")
                .field("sid", sid)
                .field("secret", &format_args!("<redacted>"))
                .finish(),
        }
    }
}

/// Account settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioConfig {
    /// [`DEFAULT_API_BASE`] in production; a simulator's or test server's origin otherwise.
    /// A trailing `/` is ignored.
    pub api_base: String,
    /// `AC…`; used in every request path, whichever [`Auth`] is used.
    pub account_sid: String,
    pub auth: Auth,
}

impl TwilioConfig {
    /// Settings for production Twilio ([`DEFAULT_API_BASE`]).
    pub fn new(account_sid: impl Into<String>, auth: Auth) -> Self {
        TwilioConfig {
            api_base: DEFAULT_API_BASE.to_string(),
            account_sid: account_sid.into(),
            auth,
        }
    }

    /// The Basic-auth user and password.
    pub(crate) fn credentials(&self) -> (&str, &str) {
        match &self.auth {
            Auth::AuthToken(t) => (self.account_sid.as_str(), t.as_str()),
            Auth::ApiKey { sid, secret } => (sid.as_str(), secret.as_str()),
        }
    }
}

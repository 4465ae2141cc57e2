//! Request parameters and their form encoding, byte-for-byte as twilio-python 9.x sends them.
//!
//! twilio-python builds each body from a dict in the OpenAPI document's property order (the
//! captured body in protocols.md A.2 follows it exactly) and encodes it with `requests`, i.e.
//! Python's `urlencode(..., doseq=True)`: lists become repeated keys and every byte except
//! `A–Z a–z 0–9 _ . - ~` is percent-encoded, a space as `+`. [`encode`] does the same.

use crate::error::TwilioError;

/// Twilio's limit on inline TwiML ("Max 4000 characters", CreateCall's `Twiml` description).
pub const TWIML_MAX_CHARS: usize = 4000;

/// The call progress events requested on every call, in Twilio's order.
pub const STATUS_CALLBACK_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// A call to place (`POST …/Calls.json`). TwiML is fetched from `url` and status callbacks
/// posted to `status_callback`, both with POST, and all four progress events are requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCall {
    /// E.164 number, SIP address or client identifier.
    pub to: String,
    /// A Twilio number or verified caller id.
    pub from: String,
    /// Absolute http(s) URL returning the call's TwiML.
    pub url: String,
    /// Absolute http(s) URL receiving `initiated`, `ringing`, `answered`, `completed`.
    pub status_callback: String,
    /// Seconds to ring (`Timeout`; Twilio's default 60, max 600). Not sent when `None`.
    pub timeout_secs: Option<u32>,
    /// Maximum call duration in seconds (`TimeLimit`). Not sent when `None`.
    pub time_limit_secs: Option<u32>,
}

/// A change to a live call (`POST …/Calls/{Sid}.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateCall {
    /// Replace the call's TwiML: `Twiml=…`. At most [`TWIML_MAX_CHARS`] characters.
    Twiml(String),
    /// Fetch new TwiML from a URL: `Url=…&Method=POST`.
    Url { url: String },
    /// Hang up: `Status=completed`.
    Complete,
}

/// A form body as ordered key/value pairs.
pub type Form = Vec<(&'static str, String)>;

/// The parameters of a create, in twilio-python's order. `Method` and `StatusCallbackMethod`
/// are sent explicitly as `POST` (Twilio's default too) so the request does not depend on
/// defaults: our webhook handlers verify signatures of form POSTs only.
pub fn create_form(c: &CreateCall) -> Result<Form, TwilioError> {
    non_empty("To", &c.to)?;
    non_empty("From", &c.from)?;
    http_url("Url", &c.url)?;
    http_url("StatusCallback", &c.status_callback)?;
    let mut f: Form = vec![
        ("To", c.to.clone()),
        ("From", c.from.clone()),
        ("Method", "POST".into()),
        ("StatusCallback", c.status_callback.clone()),
    ];
    for e in STATUS_CALLBACK_EVENTS {
        f.push(("StatusCallbackEvent", e.to_string()));
    }
    f.push(("StatusCallbackMethod", "POST".into()));
    if let Some(t) = c.timeout_secs {
        f.push(("Timeout", t.to_string()));
    }
    if let Some(t) = c.time_limit_secs {
        f.push(("TimeLimit", t.to_string()));
    }
    f.push(("Url", c.url.clone()));
    Ok(f)
}

/// The parameters of an update, in twilio-python's order. Rejects TwiML over
/// [`TWIML_MAX_CHARS`] characters (Unicode scalar values) and non-http(s) URLs.
pub fn update_form(u: &UpdateCall) -> Result<Form, TwilioError> {
    Ok(match u {
        UpdateCall::Twiml(t) => {
            let n = t.chars().count();
            if n > TWIML_MAX_CHARS {
                return Err(TwilioError::InvalidRequest(format!(
                    "Twiml is {n} characters; Twilio accepts at most {TWIML_MAX_CHARS}"
                )));
            }
            non_empty("Twiml", t)?;
            vec![("Twiml", t.clone())]
        }
        UpdateCall::Url { url } => {
            http_url("Url", url)?;
            vec![("Url", url.clone()), ("Method", "POST".into())]
        }
        UpdateCall::Complete => vec![("Status", "completed".into())],
    })
}

/// Encodes a form exactly like Python's `urllib.parse.urlencode(pairs, doseq=True)`.
pub fn encode(form: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in form.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        quote_plus(k, &mut out);
        out.push('=');
        quote_plus(v, &mut out);
    }
    out
}

/// Python's `quote_plus(s, safe='')`: UTF-8 bytes, unreserved `A–Z a–z 0–9 _ . - ~` kept,
/// space → `+`, everything else `%XX` (upper-case hex).
fn quote_plus(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

fn non_empty(name: &str, v: &str) -> Result<(), TwilioError> {
    if v.trim().is_empty() {
        return Err(TwilioError::InvalidRequest(format!("{name} is empty")));
    }
    Ok(())
}

fn http_url(name: &str, v: &str) -> Result<(), TwilioError> {
    let lower = v.get(..8).unwrap_or(v).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &v[8..]
    } else if lower.starts_with("http://") {
        &v[7..]
    } else {
        return Err(TwilioError::InvalidRequest(format!(
            "{name} must be an absolute http(s) URL"
        )));
    };
    if rest.is_empty() || rest.starts_with('/') || v.chars().any(char::is_whitespace) {
        return Err(TwilioError::InvalidRequest(format!(
            "{name} must be an absolute http(s) URL"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_python_urlencode() {
        // Expected values printed by CPython 3's urllib.parse.urlencode.
        let f = vec![
            (
                "Twiml",
                "<Response><Say>héllo ~*!'()</Say></Response>".to_string(),
            ),
            ("X", "a b&c=d/?#".to_string()),
        ];
        assert_eq!(
            encode(&f),
            "Twiml=%3CResponse%3E%3CSay%3Eh%C3%A9llo+~%2A%21%27%28%29%3C%2FSay%3E%3C%2FResponse%3E&X=a+b%26c%3Dd%2F%3F%23"
        );
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn twiml_limit_counts_characters() {
        let at_limit = "é".repeat(TWIML_MAX_CHARS);
        assert!(update_form(&UpdateCall::Twiml(at_limit)).is_ok());
        assert!(matches!(
            update_form(&UpdateCall::Twiml("x".repeat(TWIML_MAX_CHARS + 1))),
            Err(TwilioError::InvalidRequest(_))
        ));
    }

    #[test]
    fn urls_must_be_absolute_http() {
        let bad = |url: &str| UpdateCall::Url { url: url.into() };
        for u in [
            "",
            "/relative",
            "ftp://x",
            "https://",
            "https:///x",
            "https://a b",
        ] {
            assert!(update_form(&bad(u)).is_err(), "{u}");
        }
        assert!(update_form(&bad("HTTPS://example.com/x")).is_ok());
        assert!(update_form(&bad("http://127.0.0.1:8080/x?y=1")).is_ok());
    }

    #[test]
    fn create_requires_to_and_from() {
        let c = CreateCall {
            to: " ".into(),
            from: "+15005550006".into(),
            url: "https://e.com/t".into(),
            status_callback: "https://e.com/s".into(),
            timeout_secs: None,
            time_limit_secs: None,
        };
        assert!(create_form(&c).is_err());
        let c = CreateCall {
            to: "+14155551212".into(),
            ..c
        };
        let keys: Vec<_> = create_form(&c)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "To",
                "From",
                "Method",
                "StatusCallback",
                "StatusCallbackEvent",
                "StatusCallbackEvent",
                "StatusCallbackEvent",
                "StatusCallbackEvent",
                "StatusCallbackMethod",
                "Url"
            ]
        );
    }
}

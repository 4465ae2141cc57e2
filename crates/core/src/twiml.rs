//! A small TwiML writer that produces what twilio-python's `VoiceResponse` produces for the verbs
//! Switchboard uses: an XML declaration, attributes in alphabetical order, empty elements written
//! `<X />`, text and attribute values escaped.

use std::fmt::Write;

/// Why TwiML could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwimlError {
    #[error("SIP header name `{0}` must start with X- and not X-Twilio")]
    BadHeaderName(String),
    #[error("SIP URI must be shorter than 255 characters")]
    UriTooLong,
    #[error("SIP headers must be shorter than 1024 characters")]
    HeadersTooLong,
    #[error("DTMF digits must be 0-9, *, #, A-D")]
    BadDigits,
}

/// One XML element: name, attributes, text, children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    text: Option<String>,
    children: Vec<Element>,
}

impl Element {
    pub fn new(name: &'static str) -> Self {
        Element {
            name,
            attrs: vec![],
            text: None,
            children: vec![],
        }
    }
    pub fn attr(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.attrs.push((k, v.into()));
        self
    }
    pub fn text(mut self, t: impl Into<String>) -> Self {
        self.text = Some(t.into());
        self
    }
    pub fn child(mut self, c: Element) -> Self {
        self.children.push(c);
        self
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.name);
        let mut attrs: Vec<&(&str, String)> = self.attrs.iter().collect();
        attrs.sort_by_key(|(k, _)| *k);
        for (k, v) in attrs {
            let _ = write!(out, " {k}=\"{}\"", escape(v));
        }
        if self.text.is_none() && self.children.is_empty() {
            out.push_str(" />");
            return;
        }
        out.push('>');
        if let Some(t) = &self.text {
            out.push_str(&escape(t));
        }
        for c in &self.children {
            c.write(out);
        }
        let _ = write!(out, "</{}>", self.name);
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A `<Response>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response(Vec<Element>);

impl Response {
    pub fn new() -> Self {
        Response(vec![])
    }
    pub fn push(mut self, verb: Element) -> Self {
        self.0.push(verb);
        self
    }
    pub fn extend(mut self, verbs: impl IntoIterator<Item = Element>) -> Self {
        self.0.extend(verbs);
        self
    }
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        if self.0.is_empty() {
            out.push_str("<Response />");
            return out;
        }
        out.push_str("<Response>");
        for v in &self.0 {
            v.write(&mut out);
        }
        out.push_str("</Response>");
        out
    }
}

/// `<Pause length="n"/>`
pub fn pause(seconds: u32) -> Element {
    Element::new("Pause").attr("length", seconds.to_string())
}

/// `<Play digits="…"/>` (DTMF; `w` is a 0.5 s pause).
pub fn play_digits(digits: &str) -> Element {
    Element::new("Play").attr("digits", digits)
}

/// `<Hangup/>`
pub fn hangup() -> Element {
    Element::new("Hangup")
}

/// `<Redirect method="POST">url</Redirect>`
pub fn redirect(url: &str) -> Element {
    Element::new("Redirect").attr("method", "POST").text(url)
}

/// RFC 3261 `token` characters, which may appear unescaped in a header value.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// Appends custom SIP headers to a SIP URI (`sip:u@h?X-a=1&X-b=2`), percent-encoding values and
/// enforcing Twilio's limits (protocols.md C.2).
pub fn sip_uri_with_headers(base: &str, headers: &[(&str, &str)]) -> Result<String, TwimlError> {
    let mut query = String::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        let valid_name = lower.starts_with("x-")
            && !lower.starts_with("x-twilio")
            && name.len() > 2
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(TwimlError::BadHeaderName(name.to_string()));
        }
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        for c in value.chars() {
            if is_token_char(c) && c != '%' {
                query.push(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(query, "%{b:02X}");
                }
            }
        }
    }
    if query.len() >= 1024 {
        return Err(TwimlError::HeadersTooLong);
    }
    let uri = if query.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{query}")
    };
    if uri.len() >= 255 {
        return Err(TwimlError::UriTooLong);
    }
    Ok(uri)
}

/// Turns learned steps (`after_ms` since answer, non-decreasing) into verbs that press each key at
/// its time: whole seconds of waiting as `<Pause>`, the remainder rounded to the nearest 0.5 s as
/// `w` inside `<Play digits>`. Time spent playing the tones themselves is not counted: each step's
/// clock restarts at its own `after_ms`, so errors do not accumulate beyond one tone's length.
pub fn dtmf_replay(steps: &[(u32, &str)]) -> Result<Vec<Element>, TwimlError> {
    let mut verbs = Vec::new();
    let mut elapsed_ms: u32 = 0;
    for (after_ms, digits) in steps {
        if digits.is_empty()
            || !digits
                .chars()
                .all(|c| matches!(c, '0'..='9' | '*' | '#' | 'A'..='D'))
        {
            return Err(TwimlError::BadDigits);
        }
        let gap = after_ms.saturating_sub(elapsed_ms);
        let half_seconds = (gap + 250) / 500;
        let whole = half_seconds / 2;
        if whole > 0 {
            verbs.push(pause(whole));
        }
        let prefix = "w".repeat((half_seconds % 2) as usize);
        verbs.push(play_digits(&format!("{prefix}{digits}")));
        elapsed_ms = elapsed_ms.max(*after_ms);
    }
    Ok(verbs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_twilio_python_byte_for_byte() {
        let x = Response::new().push(hangup()).to_xml();
        assert_eq!(
            x,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>"#
        );
        let x = Response::new().push(pause(2)).to_xml();
        assert_eq!(
            x,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="2" /></Response>"#
        );
        let x = Response::new()
            .push(redirect("https://example.com/twilio/next"))
            .to_xml();
        assert_eq!(
            x,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Redirect method="POST">https://example.com/twilio/next</Redirect></Response>"#
        );
        let sip = Element::new("Sip")
            .attr(
                "statusCallbackEvent",
                "initiated ringing answered completed",
            )
            .attr("statusCallback", "https://example.com/twilio/sip-status")
            .text("sip:+14155551212@example.sip.vapi.ai?X-pendingcallid=abc123&X-Custom=v1");
        let dial = Element::new("Dial")
            .attr("timeout", "30")
            .attr("method", "POST")
            .attr("answerOnBridge", "true")
            .attr("action", "https://example.com/twilio/dial-done")
            .attr("callerId", "+15005550006")
            .child(sip);
        assert_eq!(
            Response::new().push(dial).to_xml(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial action="https://example.com/twilio/dial-done" answerOnBridge="true" callerId="+15005550006" method="POST" timeout="30"><Sip statusCallback="https://example.com/twilio/sip-status" statusCallbackEvent="initiated ringing answered completed">sip:+14155551212@example.sip.vapi.ai?X-pendingcallid=abc123&amp;X-Custom=v1</Sip></Dial></Response>"#
        );
    }

    #[test]
    fn sip_headers_are_validated_and_encoded() {
        assert_eq!(
            sip_uri_with_headers("sip:a@b", &[("X-pendingcallid", "abc-123")]).unwrap(),
            "sip:a@b?X-pendingcallid=abc-123"
        );
        assert_eq!(
            sip_uri_with_headers("sip:a@b", &[("X-n", "a,b;c")]).unwrap(),
            "sip:a@b?X-n=a%2Cb%3Bc"
        );
        assert!(matches!(
            sip_uri_with_headers("sip:a@b", &[("Foo", "1")]),
            Err(TwimlError::BadHeaderName(_))
        ));
        assert!(matches!(
            sip_uri_with_headers("sip:a@b", &[("X-Twilio-Foo", "1")]),
            Err(TwimlError::BadHeaderName(_))
        ));
        let long = "x".repeat(300);
        assert_eq!(
            sip_uri_with_headers("sip:a@b", &[("X-a", &long)]),
            Err(TwimlError::UriTooLong)
        );
    }

    #[test]
    fn replay_keeps_the_learned_timing() {
        let xml = |v: Vec<Element>| Response::new().extend(v).to_xml();
        // 3.5 s → Pause 3 + "w2"; 9.0 s → 5.5 s later → Pause 5 + "w1"
        let v = dtmf_replay(&[(3500, "2"), (9000, "1")]).unwrap();
        assert_eq!(
            xml(v),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="3" /><Play digits="w2" /><Pause length="5" /><Play digits="w1" /></Response>"#
        );
        // sub-second gaps round to the nearest half second
        let v = dtmf_replay(&[(200, "1"), (900, "2")]).unwrap();
        assert_eq!(
            xml(v),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Play digits="1" /><Play digits="w2" /></Response>"#
        );
        assert_eq!(dtmf_replay(&[(100, "x")]), Err(TwimlError::BadDigits));
    }
}

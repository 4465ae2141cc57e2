//! A small TwiML writer whose output is byte-for-byte what twilio-python 9.13.0's `VoiceResponse`
//! writes for the same verbs: the XML declaration, attributes in alphabetical order, empty
//! elements as `<X />`, and ElementTree's escaping (text: `& < >`; attributes: also `"` and the
//! whitespace controls, which a parser would otherwise fold into spaces).
//!
//! Two layers: [`Verb`] and its nouns are the typed vocabulary Switchboard speaks; [`Element`] is
//! the generic tree they render to, kept public for constructs the typed layer does not cover.
//! Also here: [`sip_uri_with_headers`] (custom SIP headers within Twilio's limits) and
//! [`dtmf_replay`] (a learned phone-menu path as `<Pause>`/`<Play digits>`).

use std::fmt::Write as _;

/// Why TwiML could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwimlError {
    /// Twilio only forwards `X-` headers named with letters, digits and hyphens (32111/13252).
    #[error("SIP header name `{0}` must be X- followed by letters, digits and hyphens")]
    InvalidHeaderName(String),
    /// Twilio drops `X-Twilio…` headers (32113).
    #[error("SIP header name `{0}` is reserved by Twilio (X-Twilio…)")]
    ReservedHeaderName(String),
    /// The SIP URI, headers excluded, must be under 255 characters.
    #[error("SIP URI is {0} characters; Twilio requires fewer than 255")]
    UriTooLong(usize),
    /// The headers part of the SIP URI must be under 1024 characters (21227).
    #[error("SIP headers are {0} characters; Twilio requires fewer than 1024")]
    HeadersTooLong(usize),
    /// A replay step is empty or has something other than DTMF keys.
    #[error("step {step}: `{digits}` must be one or more of 0-9 * # A-D")]
    InvalidDigits { step: usize, digits: String },
    /// A replay step is earlier than the one before it.
    #[error("step {0}: after_ms is earlier than the previous step's")]
    StepsOutOfOrder(usize),
}

// ---------------------------------------------------------------------------------------------
// Generic tree

/// One XML element. Attributes are kept sorted by name (twilio-python sorts them on output) and
/// setting one twice replaces it, as twilio-python's attribute dict does.
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
            attrs: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    /// Sets attribute `name`, replacing any earlier value.
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.attrs.binary_search_by_key(&name, |(n, _)| n) {
            Ok(i) => self.attrs[i].1 = value,
            Err(i) => self.attrs.insert(i, (name, value)),
        }
        self
    }

    /// Sets attribute `name` when there is a value; `None` leaves it out (Twilio's default).
    fn attr_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Sets the text content. Empty text is written as none (`<X />`), like twilio-python.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    pub fn child(mut self, child: impl Into<Element>) -> Self {
        self.children.push(child.into());
        self
    }

    fn write_to(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.name);
        for (name, value) in &self.attrs {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape_attr(value, out);
            out.push('"');
        }
        let text = self.text.as_deref().filter(|t| !t.is_empty());
        if text.is_none() && self.children.is_empty() {
            out.push_str(" />");
            return;
        }
        out.push('>');
        if let Some(text) = text {
            escape_text(text, out);
        }
        for child in &self.children {
            child.write_to(out);
        }
        out.push_str("</");
        out.push_str(self.name);
        out.push('>');
    }
}

/// ElementTree's `_escape_cdata`.
fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// ElementTree's `_escape_attrib`: line breaks and tabs as character references, because a
/// parser normalises literal ones in attribute values to spaces.
fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#09;"),
            c => out.push(c),
        }
    }
}

/// A `<Response>` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response(Element);

impl Default for Response {
    fn default() -> Self {
        Response(Element::new("Response"))
    }
}

impl Response {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(mut self, verb: impl Into<Element>) -> Self {
        self.0.children.push(verb.into());
        self
    }

    pub fn extend<V: Into<Element>>(mut self, verbs: impl IntoIterator<Item = V>) -> Self {
        self.0.children.extend(verbs.into_iter().map(Into::into));
        self
    }

    /// The document, declaration included, as twilio-python's `to_xml()` writes it.
    pub fn to_xml(&self) -> String {
        let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        self.0.write_to(&mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Typed verbs

/// The HTTP method of a Twilio callback. Twilio's default is POST everywhere Switchboard uses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Which audio a `<Stream>` carries. Twilio's default is the inbound track; a bidirectional
/// (`<Connect>`) stream can only carry that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    Inbound,
    Outbound,
    Both,
}

impl Track {
    pub const fn as_str(self) -> &'static str {
        match self {
            Track::Inbound => "inbound_track",
            Track::Outbound => "outbound_track",
            Track::Both => "both_tracks",
        }
    }
}

/// `<Sip>`: the SIP endpoint of a `<Dial>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sip {
    /// The SIP URI, custom headers included (see [`sip_uri_with_headers`]).
    pub uri: String,
    pub status_callback: Option<String>,
    /// Space-separated subset of `initiated ringing answered completed`.
    pub status_callback_event: Option<String>,
}

impl Sip {
    pub fn new(uri: impl Into<String>) -> Self {
        Sip {
            uri: uri.into(),
            status_callback: None,
            status_callback_event: None,
        }
    }
}

/// `<Dial><Sip>`. `None` fields are left out and take Twilio's defaults (protocols.md C.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// Requested when the dialled leg ends; without it TwiML continues with the next verb.
    pub action: Option<String>,
    pub method: Option<Method>,
    /// Keep the caller's leg ringing until the SIP side answers. Written only when true
    /// (false is Twilio's default).
    pub answer_on_bridge: bool,
    /// Seconds to wait for an answer (Twilio: 30).
    pub timeout: Option<u32>,
    pub caller_id: Option<String>,
    pub sip: Sip,
}

impl Dial {
    pub fn new(sip: Sip) -> Self {
        Dial {
            action: None,
            method: None,
            answer_on_bridge: false,
            timeout: None,
            caller_id: None,
            sip,
        }
    }
}

/// `<Stream>` inside `<Connect>` (bidirectional) or `<Start>` (listen only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// `wss://` URL without a query string (Twilio drops it); pass data as `parameters`.
    pub url: String,
    /// Unique per call; `<Stop><Stream name>` refers to it.
    pub name: Option<String>,
    pub track: Option<Track>,
    pub status_callback: Option<String>,
    pub status_callback_method: Option<Method>,
    /// `<Parameter name value />` children, delivered in the `start` message's
    /// `customParameters`, in this order.
    pub parameters: Vec<(String, String)>,
}

impl Stream {
    pub fn new(url: impl Into<String>) -> Self {
        Stream {
            url: url.into(),
            name: None,
            track: None,
            status_callback: None,
            status_callback_method: None,
            parameters: Vec::new(),
        }
    }
}

/// `<Connect><Stream>`: blocks until the stream's WebSocket closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Requested when the stream ends; without it TwiML continues with the next verb.
    pub action: Option<String>,
    pub method: Option<Method>,
    pub stream: Stream,
}

impl Connect {
    pub fn new(stream: Stream) -> Self {
        Connect {
            action: None,
            method: None,
            stream,
        }
    }
}

/// The verbs Switchboard uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Dial(Dial),
    /// `<Play digits>`: DTMF tones; `w` waits 0.5 s. Written as given, like the helper
    /// libraries; [`dtmf_replay`] builds validated ones.
    Play {
        digits: String,
    },
    /// `<Pause>`; `None` is Twilio's default of 1 s.
    Pause {
        length: Option<u32>,
    },
    Redirect {
        url: String,
        method: Option<Method>,
    },
    Hangup,
    Connect(Connect),
    /// `<Start><Stream>`: TwiML continues while the stream runs.
    Start(Stream),
    /// `<Stop><Stream name>`.
    Stop {
        stream_name: String,
    },
}

/// `<Pause length="seconds" />`.
pub fn pause(seconds: u32) -> Verb {
    Verb::Pause {
        length: Some(seconds),
    }
}

/// `<Play digits="…" />`.
pub fn play_digits(digits: &str) -> Verb {
    Verb::Play {
        digits: digits.to_owned(),
    }
}

/// `<Hangup />`.
pub fn hangup() -> Verb {
    Verb::Hangup
}

/// `<Redirect method="POST">url</Redirect>`.
pub fn redirect(url: &str) -> Verb {
    Verb::Redirect {
        url: url.to_owned(),
        method: Some(Method::Post),
    }
}

impl From<Sip> for Element {
    fn from(sip: Sip) -> Self {
        Element::new("Sip")
            .attr_opt("statusCallback", sip.status_callback)
            .attr_opt("statusCallbackEvent", sip.status_callback_event)
            .text(sip.uri)
    }
}

impl From<Dial> for Element {
    fn from(dial: Dial) -> Self {
        let mut el = Element::new("Dial")
            .attr_opt("action", dial.action)
            .attr_opt("method", dial.method.map(Method::as_str))
            .attr_opt("timeout", dial.timeout.map(|t| t.to_string()))
            .attr_opt("callerId", dial.caller_id);
        if dial.answer_on_bridge {
            el = el.attr("answerOnBridge", "true");
        }
        el.child(dial.sip)
    }
}

impl From<Stream> for Element {
    fn from(stream: Stream) -> Self {
        let el = Element::new("Stream")
            .attr("url", stream.url)
            .attr_opt("name", stream.name)
            .attr_opt("track", stream.track.map(Track::as_str))
            .attr_opt("statusCallback", stream.status_callback)
            .attr_opt(
                "statusCallbackMethod",
                stream.status_callback_method.map(Method::as_str),
            );
        stream.parameters.into_iter().fold(el, |el, (name, value)| {
            el.child(
                Element::new("Parameter")
                    .attr("name", name)
                    .attr("value", value),
            )
        })
    }
}

impl From<Connect> for Element {
    fn from(connect: Connect) -> Self {
        Element::new("Connect")
            .attr_opt("action", connect.action)
            .attr_opt("method", connect.method.map(Method::as_str))
            .child(connect.stream)
    }
}

impl From<Verb> for Element {
    fn from(verb: Verb) -> Self {
        match verb {
            Verb::Dial(dial) => dial.into(),
            Verb::Play { digits } => Element::new("Play").attr("digits", digits),
            Verb::Pause { length } => {
                Element::new("Pause").attr_opt("length", length.map(|l| l.to_string()))
            }
            Verb::Redirect { url, method } => Element::new("Redirect")
                .attr_opt("method", method.map(Method::as_str))
                .text(url),
            Verb::Hangup => Element::new("Hangup"),
            Verb::Connect(connect) => connect.into(),
            Verb::Start(stream) => Element::new("Start").child(stream),
            Verb::Stop { stream_name } => {
                Element::new("Stop").child(Element::new("Stream").attr("name", stream_name))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SIP headers

/// Twilio's limits (protocols.md C.2): the URI under 255 characters, its headers part under 1024.
/// The URI limit is taken to exclude the headers, or the 1024 one could never apply.
const MAX_SIP_URI: usize = 255;
const MAX_SIP_HEADERS: usize = 1024;

/// Appends custom SIP headers to `base` the way Twilio reads them, like a query string:
/// `sip:u@h?X-a=1&X-b=2` (`base` may already carry headers; these are added after them).
///
/// Names must be `X-` plus letters, digits and hyphens and must not start with `X-Twilio`
/// (checked case-insensitively, as SIP header names are). Values are percent-encoded except for
/// the RFC 3261 token characters that are also safe unescaped in a SIP URI header
/// (`A-Z a-z 0-9 - . ! * _ ~ '`); `%` and `` ` `` are encoded, and so is `+`, so that Twilio reads
/// the same value whether it decodes the part as a SIP URI or as a form (where `+` is a space).
pub fn sip_uri_with_headers(base: &str, headers: &[(&str, &str)]) -> Result<String, TwimlError> {
    let uri_len = base
        .split_once('?')
        .map_or(base, |(uri, _)| uri)
        .chars()
        .count();
    if uri_len >= MAX_SIP_URI {
        return Err(TwimlError::UriTooLong(uri_len));
    }
    let mut out = base.to_owned();
    let mut separator = if base.contains('?') { '&' } else { '?' };
    for (name, value) in headers {
        check_header_name(name)?;
        out.push(separator);
        separator = '&';
        out.push_str(name);
        out.push('=');
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || b"-.!*_~'".contains(&b) {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    let headers_len = out.split_once('?').map_or(0, |(_, h)| h.chars().count());
    if headers_len >= MAX_SIP_HEADERS {
        return Err(TwimlError::HeadersTooLong(headers_len));
    }
    Ok(out)
}

fn check_header_name(name: &str) -> Result<(), TwimlError> {
    let suffix = name.strip_prefix("X-").or_else(|| name.strip_prefix("x-"));
    let well_formed = suffix.is_some_and(|s| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !well_formed {
        return Err(TwimlError::InvalidHeaderName(name.to_owned()));
    }
    if name
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("x-twilio"))
    {
        return Err(TwimlError::ReservedHeaderName(name.to_owned()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// DTMF replay

/// Turns a learned menu path into verbs that press each step's keys at its time.
///
/// `steps` are `(after_ms, digits)`: milliseconds since the call was answered (non-decreasing)
/// and the DTMF keys to press then (`0-9 * # A-D`). Each wait is the remaining gap from where the
/// previous step was scheduled to this step's `after_ms`, rounded to the nearest 0.5 s (ties round
/// up: a little late is safer than before the menu listens). Its whole seconds become
/// `<Pause length>`, a remaining half second a `w` in front of the digits (`<Play digits="w2">`).
///
/// Assumption: the tones take no time, so the clock after a step is where that step was
/// scheduled (its `after_ms` to within the ±0.25 s rounding). Measuring each gap from the
/// scheduled time, not from the previous `after_ms`, keeps rounding errors from adding up: every
/// press lands within 0.25 s of its `after_ms`, plus the tones played before it.
///
/// Example: `[(3500, "2"), (9000, "1")]` → `Pause 3`, `Play "w2"` (3.5 s), then 5.5 s later
/// `Pause 5`, `Play "w1"` (9.0 s).
pub fn dtmf_replay(steps: &[(u32, &str)]) -> Result<Vec<Verb>, TwimlError> {
    let mut verbs = Vec::with_capacity(steps.len() * 2);
    let mut scheduled_ms: u64 = 0;
    let mut previous_ms = 0;
    for (step, &(after_ms, digits)) in steps.iter().enumerate() {
        let dtmf = !digits.is_empty()
            && digits
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'*' | b'#' | b'A'..=b'D'));
        if !dtmf {
            return Err(TwimlError::InvalidDigits {
                step,
                digits: digits.to_owned(),
            });
        }
        if after_ms < previous_ms {
            return Err(TwimlError::StepsOutOfOrder(step));
        }
        previous_ms = after_ms;

        let gap_ms = u64::from(after_ms).saturating_sub(scheduled_ms);
        let halves = (gap_ms + 250) / 500;
        scheduled_ms += halves * 500;
        let seconds = halves / 2;
        if seconds > 0 {
            // `after_ms` is a u32, so the seconds fit one.
            verbs.push(pause(u32::try_from(seconds).unwrap_or(u32::MAX)));
        }
        let wait = if halves % 2 == 1 { "w" } else { "" };
        verbs.push(Verb::Play {
            digits: format!("{wait}{digits}"),
        });
    }
    Ok(verbs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

    fn doc(verbs: impl IntoIterator<Item = Verb>) -> String {
        Response::new().extend(verbs).to_xml()
    }

    fn body(xml: &str) -> &str {
        xml.strip_prefix(DECL).expect("declaration")
    }

    #[test]
    fn empty_response_and_empty_elements() {
        assert_eq!(Response::new().to_xml(), format!("{DECL}<Response />"));
        assert_eq!(body(&doc([hangup()])), "<Response><Hangup /></Response>");
        assert_eq!(
            body(&doc([Verb::Pause { length: None }])),
            "<Response><Pause /></Response>"
        );
        // Empty text is no text (twilio-python: `if self.value`).
        assert_eq!(
            body(&doc([Verb::Redirect {
                url: String::new(),
                method: None
            }])),
            "<Response><Redirect /></Response>"
        );
    }

    #[test]
    fn attributes_are_sorted_and_replaced() {
        let el = Element::new("X")
            .attr("b", "2")
            .attr("a", "1")
            .attr("c", "3")
            .attr("a", "one");
        assert_eq!(
            body(&Response::new().push(el).to_xml()),
            r#"<Response><X a="one" b="2" c="3" /></Response>"#
        );
        // Uppercase sorts before lowercase, as in Python.
        let el = Element::new("X").attr("a", "").attr("Z", "");
        assert_eq!(
            body(&Response::new().push(el).to_xml()),
            r#"<Response><X Z="" a="" /></Response>"#
        );
    }

    #[test]
    fn dial_sip_matches_twilio_python() {
        let uri = sip_uri_with_headers(
            "sip:+14155551212@example.sip.vapi.ai",
            &[("X-pendingcallid", "abc123"), ("X-Custom", "v1")],
        )
        .unwrap();
        let dial = Dial {
            action: Some("https://example.com/twilio/dial-done".into()),
            method: Some(Method::Post),
            answer_on_bridge: true,
            timeout: Some(30),
            caller_id: Some("+15005550006".into()),
            sip: Sip {
                status_callback: Some("https://example.com/twilio/sip-status".into()),
                status_callback_event: Some("initiated ringing answered completed".into()),
                ..Sip::new(uri)
            },
        };
        assert_eq!(
            doc([Verb::Dial(dial)]),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial action="https://example.com/twilio/dial-done" answerOnBridge="true" callerId="+15005550006" method="POST" timeout="30"><Sip statusCallback="https://example.com/twilio/sip-status" statusCallbackEvent="initiated ringing answered completed">sip:+14155551212@example.sip.vapi.ai?X-pendingcallid=abc123&amp;X-Custom=v1</Sip></Dial></Response>"#
        );
        assert_eq!(
            body(&doc([Verb::Dial(Dial::new(Sip::new(
                "sip:bob@example.com"
            )))])),
            "<Response><Dial><Sip>sip:bob@example.com</Sip></Dial></Response>"
        );
    }

    #[test]
    fn streams_match_twilio_python() {
        let connect = Connect {
            action: Some("https://example.com/twilio/stream-ended".into()),
            ..Connect::new(Stream {
                status_callback: Some("https://example.com/twilio/stream-status".into()),
                status_callback_method: Some(Method::Post),
                parameters: vec![
                    ("pendingCallId".into(), "abc123".into()),
                    ("mode".into(), "ivr".into()),
                ],
                ..Stream::new("wss://example.com/media")
            })
        };
        assert_eq!(
            body(&doc([Verb::Connect(connect)])),
            r#"<Response><Connect action="https://example.com/twilio/stream-ended"><Stream statusCallback="https://example.com/twilio/stream-status" statusCallbackMethod="POST" url="wss://example.com/media"><Parameter name="pendingCallId" value="abc123" /><Parameter name="mode" value="ivr" /></Stream></Connect></Response>"#
        );
        let start = Stream {
            name: Some("ivr-listener".into()),
            track: Some(Track::Both),
            status_callback: Some("https://example.com/twilio/stream-status".into()),
            ..Stream::new("wss://example.com/media")
        };
        assert_eq!(
            body(&doc([Verb::Start(start), pause(60)])),
            r#"<Response><Start><Stream name="ivr-listener" statusCallback="https://example.com/twilio/stream-status" track="both_tracks" url="wss://example.com/media" /></Start><Pause length="60" /></Response>"#
        );
        assert_eq!(
            body(&doc([Verb::Stop {
                stream_name: "ivr-listener".into()
            }])),
            r#"<Response><Stop><Stream name="ivr-listener" /></Stop></Response>"#
        );
        assert_eq!(Track::Inbound.as_str(), "inbound_track");
        assert_eq!(Track::Outbound.as_str(), "outbound_track");
        assert_eq!(Method::Get.as_str(), "GET");
    }

    #[test]
    fn simple_verbs_match_twilio_python() {
        assert_eq!(
            body(&doc([
                play_digits("wwww1"),
                pause(1),
                play_digits("w2"),
                Verb::Redirect {
                    url: "https://example.com/twilio/after-digits".into(),
                    method: None
                },
            ])),
            r#"<Response><Play digits="wwww1" /><Pause length="1" /><Play digits="w2" /><Redirect>https://example.com/twilio/after-digits</Redirect></Response>"#
        );
        assert_eq!(
            body(&doc([redirect("https://example.com/twilio/next")])),
            r#"<Response><Redirect method="POST">https://example.com/twilio/next</Redirect></Response>"#
        );
    }

    #[test]
    fn ampersand_in_a_sip_uri_is_escaped() {
        let uri = sip_uri_with_headers("sip:u@h", &[("X-A", "1"), ("X-B", "2")]).unwrap();
        assert_eq!(uri, "sip:u@h?X-A=1&X-B=2");
        assert_eq!(
            doc([Verb::Dial(Dial::new(Sip::new(uri)))]),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Sip>sip:u@h?X-A=1&amp;X-B=2</Sip></Dial></Response>"#
        );
    }

    /// The expected bytes are twilio-python 9.13.0's output for the same input (run while
    /// writing this): `"` stays literal in text; attributes also escape `"` and CR/LF/TAB;
    /// non-ASCII is written as UTF-8.
    #[test]
    fn escaping_matches_elementtree() {
        let sip = Sip {
            status_callback: Some("https://x/?a=1&b=\"2\"<>\n\t\r é".into()),
            ..Sip::new("sip:a@b?X-A=\"q\"&X-B=<é>\n\t")
        };
        assert_eq!(
            body(&doc([Verb::Dial(Dial::new(sip))])),
            "<Response><Dial><Sip statusCallback=\"https://x/?a=1&amp;b=&quot;2&quot;&lt;&gt;&#10;&#09;&#13; é\">sip:a@b?X-A=\"q\"&amp;X-B=&lt;é&gt;\n\t</Sip></Dial></Response>"
        );
        let el = Element::new("Say").text("a \"b\" 'c' ]]> &amp;");
        assert_eq!(
            body(&Response::new().push(el).to_xml()),
            "<Response><Say>a \"b\" 'c' ]]&gt; &amp;amp;</Say></Response>"
        );
    }

    #[test]
    fn sip_header_values_are_percent_encoded() {
        let enc = |v: &str| sip_uri_with_headers("sip:a@b", &[("X-n", v)]).unwrap();
        assert_eq!(enc("abc-123_x.y~z!*'"), "sip:a@b?X-n=abc-123_x.y~z!*'");
        assert_eq!(enc("a,b;c"), "sip:a@b?X-n=a%2Cb%3Bc");
        // Twilio's own example: X-customName=Madhu%2CMathiyalagan%3BTitle%3DManager
        assert_eq!(
            enc("Madhu,Mathiyalagan;Title=Manager"),
            "sip:a@b?X-n=Madhu%2CMathiyalagan%3BTitle%3DManager"
        );
        assert_eq!(enc("+1 415"), "sip:a@b?X-n=%2B1%20415");
        assert_eq!(enc("50%&x=`"), "sip:a@b?X-n=50%25%26x%3D%60");
        assert_eq!(enc("é"), "sip:a@b?X-n=%C3%A9");
        assert_eq!(enc(""), "sip:a@b?X-n=");
        // A UUID (what Switchboard sends) passes unchanged.
        assert_eq!(
            enc("0195f3c1-7d2a-7c3e-9a4b-1c2d3e4f5a6b"),
            "sip:a@b?X-n=0195f3c1-7d2a-7c3e-9a4b-1c2d3e4f5a6b"
        );
        assert_eq!(
            sip_uri_with_headers("sip:a@b;transport=tls", &[]).unwrap(),
            "sip:a@b;transport=tls"
        );
        assert_eq!(
            sip_uri_with_headers("sip:a@b?X-a=1", &[("x-b", "2")]).unwrap(),
            "sip:a@b?X-a=1&x-b=2"
        );
    }

    #[test]
    fn sip_header_names_are_checked() {
        let name = |n: &str| sip_uri_with_headers("sip:a@b", &[("X-ok", "1"), (n, "1")]);
        assert!(name("X-pendingcallid").is_ok());
        assert!(name("x-lower-case-9").is_ok());
        for bad in [
            "Foo",
            "User-to-User",
            "X-",
            "x-",
            "X",
            "",
            "X-a_b",
            "X-a b",
            "X-a=b",
            "X-é",
            "Y-a",
        ] {
            assert_eq!(
                name(bad),
                Err(TwimlError::InvalidHeaderName(bad.into())),
                "{bad:?}"
            );
        }
        for reserved in ["X-Twilio", "X-Twilio-CallSid", "x-twilio-x", "X-TWILIOx"] {
            assert_eq!(
                name(reserved),
                Err(TwimlError::ReservedHeaderName(reserved.into())),
                "{reserved:?}"
            );
        }
        assert!(name("X-Twili").is_ok());
        assert!(name("X-MyTwilio").is_ok());
    }

    #[test]
    fn sip_uri_and_header_limits() {
        let base = |len: usize| format!("sip:{}@h", "u".repeat(len - 6));
        assert_eq!(base(254).len(), 254);
        assert!(sip_uri_with_headers(&base(254), &[("X-a", "1")]).is_ok());
        assert_eq!(
            sip_uri_with_headers(&base(255), &[]),
            Err(TwimlError::UriTooLong(255))
        );
        // Characters, not bytes.
        let wide = format!("sip:{}@h", "é".repeat(248));
        assert!(sip_uri_with_headers(&wide, &[]).is_ok());
        // "X-a=" + value: 4 + 1019 = 1023 characters is the most headers may take.
        let value = "v".repeat(1019);
        assert_eq!(
            sip_uri_with_headers("sip:a@b", &[("X-a", &value)])
                .unwrap()
                .len(),
            "sip:a@b?".len() + 1023
        );
        let value = "v".repeat(1020);
        assert_eq!(
            sip_uri_with_headers("sip:a@b", &[("X-a", &value)]),
            Err(TwimlError::HeadersTooLong(1024))
        );
        // Encoding counts: 341 × "%2C" + "X-a=" = 1027.
        let commas = ",".repeat(341);
        assert_eq!(
            sip_uri_with_headers("sip:a@b", &[("X-a", &commas)]),
            Err(TwimlError::HeadersTooLong(1027))
        );
    }

    #[test]
    fn replay_example_from_the_docs() {
        let verbs = dtmf_replay(&[(3500, "2"), (9000, "1")]).unwrap();
        assert_eq!(
            verbs,
            vec![pause(3), play_digits("w2"), pause(5), play_digits("w1")]
        );
        assert_eq!(
            body(&doc(verbs)),
            r#"<Response><Pause length="3" /><Play digits="w2" /><Pause length="5" /><Play digits="w1" /></Response>"#
        );
    }

    #[test]
    fn replay_rounds_each_gap_to_the_nearest_half_second() {
        let one = |ms: u32| dtmf_replay(&[(ms, "1")]).unwrap();
        assert_eq!(one(0), [play_digits("1")]);
        assert_eq!(one(249), [play_digits("1")]);
        assert_eq!(one(250), [play_digits("w1")]); // halves round up
        assert_eq!(one(749), [play_digits("w1")]);
        assert_eq!(one(750), [pause(1), play_digits("1")]);
        assert_eq!(one(1000), [pause(1), play_digits("1")]);
        assert_eq!(one(1250), [pause(1), play_digits("w1")]);
        assert_eq!(one(1749), [pause(1), play_digits("w1")]);
        assert_eq!(one(600_000), [pause(600), play_digits("1")]);
        assert_eq!(one(u32::MAX), [pause(u32::MAX / 1000), play_digits("w1")]);
        // Same-time steps follow each other at once.
        assert_eq!(
            dtmf_replay(&[(2000, "1"), (2000, "#")]).unwrap(),
            [pause(2), play_digits("1"), play_digits("#")]
        );
        assert_eq!(dtmf_replay(&[]).unwrap(), []);
    }

    #[test]
    fn replay_rounding_errors_do_not_accumulate() {
        // Gaps of 250 ms each: measured from the previous after_ms every one would round up to
        // 0.5 s, and the third press would land at 1.5 s instead of 0.75 s.
        assert_eq!(
            dtmf_replay(&[(250, "1"), (500, "2"), (750, "3")]).unwrap(),
            [play_digits("w1"), play_digits("2"), play_digits("w3")]
        );
        // Scheduled press times (from the verbs) stay within 250 ms of each after_ms.
        let mut seed: u64 = 0x5eed;
        for _ in 0..500 {
            let mut at = 0u32;
            let steps: Vec<(u32, &str)> = (0..8)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    at += u32::try_from((seed >> 33) % 4000).unwrap();
                    (at, "5")
                })
                .collect();
            let mut clock = 0u64;
            let mut presses = Vec::new();
            for verb in dtmf_replay(&steps).unwrap() {
                match verb {
                    Verb::Pause { length: Some(s) } => clock += u64::from(s) * 1000,
                    Verb::Play { digits } => {
                        let waits = digits.bytes().take_while(|&b| b == b'w').count();
                        clock += 500 * waits as u64;
                        presses.push(clock);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(presses.len(), steps.len());
            for (press, (after_ms, _)) in presses.iter().zip(&steps) {
                assert!(press.abs_diff(u64::from(*after_ms)) <= 250, "{steps:?}");
            }
        }
    }

    #[test]
    fn replay_rejects_bad_steps() {
        for digits in ["", "w1", "a", "12x", "E", " 1"] {
            assert_eq!(
                dtmf_replay(&[(1000, digits)]),
                Err(TwimlError::InvalidDigits {
                    step: 0,
                    digits: digits.into()
                })
            );
        }
        assert_eq!(
            dtmf_replay(&[(1000, "1"), (2000, "9*#ABCD0"), (1999, "2")]),
            Err(TwimlError::StepsOutOfOrder(2))
        );
        assert_eq!(
            dtmf_replay(&[(1000, "1"), (2000, "é")]),
            Err(TwimlError::InvalidDigits {
                step: 1,
                digits: "é".into()
            })
        );
    }

    #[test]
    fn errors_explain_themselves() {
        assert_eq!(
            TwimlError::HeadersTooLong(1030).to_string(),
            "SIP headers are 1030 characters; Twilio requires fewer than 1024"
        );
        assert_eq!(
            TwimlError::InvalidDigits {
                step: 2,
                digits: "x".into()
            }
            .to_string(),
            "step 2: `x` must be one or more of 0-9 * # A-D"
        );
    }
}

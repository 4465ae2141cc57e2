//! Reading TwiML the way Twilio does: a strict XML parse into verbs. Anything Twilio would reject
//! (invalid XML, an unknown verb or noun, a missing required attribute) is an application error.

use quick_xml::events::{BytesStart, Event};

/// A parsed XML element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<El>,
}

impl El {
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Why TwiML was rejected (Twilio error 12100 "Document parse failure" and friends).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwimlError {
    #[error("12100 document parse failure: {0}")]
    Parse(String),
    #[error("12100 root element must be <Response>, found <{0}>")]
    Root(String),
    #[error("12200 schema validation: <{0}> is not a valid verb here")]
    UnknownVerb(String),
    #[error("12200 schema validation: <{0}> is missing `{1}`")]
    Missing(String, &'static str),
    #[error("12200 schema validation: <{0}> has an invalid `{1}`: {2:?}")]
    Invalid(String, &'static str, String),
}

fn open(e: &BytesStart) -> Result<El, TwimlError> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|x| TwimlError::Parse(x.to_string()))?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
            .map_err(|x| TwimlError::Parse(x.to_string()))?;
        attrs.push((a.key.as_ref().to_string(), v.into_owned()));
    }
    Ok(El {
        name: e.name().as_ref().to_string(),
        attrs,
        text: String::new(),
        children: vec![],
    })
}

/// Parses a TwiML document into its `<Response>` element.
pub fn parse(xml: &str) -> Result<El, TwimlError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<El> = vec![El {
        name: "#doc".into(),
        attrs: vec![],
        text: String::new(),
        children: vec![],
    }];
    loop {
        match reader
            .read_event()
            .map_err(|e| TwimlError::Parse(e.to_string()))?
        {
            Event::Start(e) => stack.push(open(&e)?),
            Event::Empty(e) => {
                let el = open(&e)?;
                stack.last_mut().expect("document").children.push(el);
            }
            Event::Text(t) => stack
                .last_mut()
                .expect("document")
                .text
                .push_str(t.into_inner().trim()),
            Event::GeneralRef(r) => {
                let s = match r.into_inner().as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => return Err(TwimlError::Parse(format!("unknown entity &{other};"))),
                };
                stack.last_mut().expect("document").text.push_str(s);
            }
            Event::End(_) => {
                let el = stack.pop().expect("balanced");
                stack
                    .last_mut()
                    .ok_or_else(|| TwimlError::Parse("unbalanced".into()))?
                    .children
                    .push(el);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err(TwimlError::Parse("unclosed element".into()));
    }
    let mut doc = stack.pop().expect("document");
    if doc.children.len() != 1 {
        return Err(TwimlError::Parse(
            "expected exactly one root element".into(),
        ));
    }
    let root = doc.children.remove(0);
    if root.name != "Response" {
        return Err(TwimlError::Root(root.name));
    }
    for v in &root.children {
        check_verb(v)?;
    }
    Ok(root)
}

fn check_verb(v: &El) -> Result<(), TwimlError> {
    let missing = |a: &'static str| TwimlError::Missing(v.name.clone(), a);
    match v.name.as_str() {
        "Play" => {
            if v.attr("digits").is_none() && v.text.is_empty() {
                return Err(missing("digits"));
            }
        }
        "Pause" | "Hangup" | "Reject" => {}
        "Redirect" => {
            if v.text.is_empty() {
                return Err(missing("url"));
            }
        }
        "Dial" => {
            if v.children.is_empty() && v.text.is_empty() {
                return Err(missing("number or sip"));
            }
            for c in &v.children {
                if !matches!(c.name.as_str(), "Sip" | "Number") {
                    return Err(TwimlError::UnknownVerb(c.name.clone()));
                }
            }
        }
        "Connect" | "Start" => {
            for c in &v.children {
                if c.name != "Stream" {
                    return Err(TwimlError::UnknownVerb(c.name.clone()));
                }
                if c.attr("url").is_none() {
                    return Err(TwimlError::Missing("Stream".into(), "url"));
                }
                if let Some(t) = c.attr("track")
                    && !matches!(t, "inbound_track" | "outbound_track" | "both_tracks")
                {
                    return Err(TwimlError::Invalid("Stream".into(), "track", t.into()));
                }
                for p in &c.children {
                    if p.name != "Parameter" || p.attr("name").is_none() {
                        return Err(TwimlError::UnknownVerb(p.name.clone()));
                    }
                }
            }
        }
        "Stop" | "Say" => {}
        other => return Err(TwimlError::UnknownVerb(other.to_string())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_switchboard_emits() {
        let r = parse(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="3" /><Play digits="w2" /><Dial action="https://x/d" answerOnBridge="true"><Sip>sip:a@b?X-pendingcallid=1&amp;X-b=2</Sip></Dial></Response>"#).unwrap();
        assert_eq!(r.children.len(), 3);
        assert_eq!(
            r.children[2].children[0].text,
            "sip:a@b?X-pendingcallid=1&X-b=2"
        );
    }

    #[test]
    fn rejects_what_twilio_rejects() {
        assert!(matches!(
            parse("<Response><Play digits='1'></Response>"),
            Err(TwimlError::Parse(_))
        ));
        assert!(matches!(parse("<Foo/>"), Err(TwimlError::Root(_))));
        assert!(matches!(
            parse("<Response><Dance/></Response>"),
            Err(TwimlError::UnknownVerb(_))
        ));
        assert!(matches!(
            parse("<Response><Redirect/></Response>"),
            Err(TwimlError::Missing(..))
        ));
        assert!(matches!(
            parse("<Response><Connect><Stream/></Connect></Response>"),
            Err(TwimlError::Missing(..))
        ));
        assert!(matches!(
            parse(r#"<Response><Start><Stream url="wss://x/m" track="both"/></Start></Response>"#),
            Err(TwimlError::Invalid(..))
        ));
        assert!(
            parse(r#"<Response><Start><Stream url="wss://x/m" track="both_tracks"/></Start></Response>"#)
                .is_ok()
        );
    }
}

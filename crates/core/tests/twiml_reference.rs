//! The TwiML writer against `fixtures/twiml-reference-twilio-python-9.13.0.txt` (a copy of
//! shared/reference, written by twilio-python 9.13.0's `VoiceResponse`): every construct in the
//! file is built here, parses to the same element tree as the reference, and is byte-identical.
//!
//! The tree comes from a small strict XML reader at the bottom of this file (the crate has no XML
//! dev-dependency); it also checks that escaped output reads back as the original strings.

use std::collections::BTreeMap;

use switchboard_core::twiml::{
    Connect, Dial, Element, Method, Response, Sip, Stream, Track, Verb, dtmf_replay, hangup, pause,
    play_digits, redirect, sip_uri_with_headers,
};

const REFERENCE: &str = include_str!("fixtures/twiml-reference-twilio-python-9.13.0.txt");
const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// `(title, output)` for every `## title` section: the output is the next line, or the quoted
/// document in the title for the `(raw)` one.
fn sections() -> Vec<(&'static str, &'static str)> {
    let lines: Vec<&str> = REFERENCE.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let title = line.strip_prefix("## ")?;
            let output = match title.split_once(": '") {
                Some((_, quoted)) => quoted.strip_suffix('\'').expect("closing quote"),
                None => lines[i + 1],
            };
            Some((title, output))
        })
        .collect()
}

/// Ours for each reference title: the typed verbs where they cover the construct, the generic
/// `Element` for `<Sip username password>` and `<Play>` of a URL.
fn ours(title: &str) -> String {
    let with_decl = |r: Response| r.to_xml();
    match title {
        "Dial+Sip with headers in URI" => with_decl(
            Response::new().push(Verb::Dial(Dial {
                action: Some("https://example.com/twilio/dial-done".into()),
                method: Some(Method::Post),
                answer_on_bridge: true,
                timeout: Some(30),
                caller_id: Some("+15005550006".into()),
                sip: Sip {
                    status_callback: Some("https://example.com/twilio/sip-status".into()),
                    status_callback_event: Some("initiated ringing answered completed".into()),
                    ..Sip::new(
                        sip_uri_with_headers(
                            "sip:+14155551212@example.sip.vapi.ai",
                            &[("X-pendingcallid", "abc123"), ("X-Custom", "v1")],
                        )
                        .unwrap(),
                    )
                },
            })),
        ),
        "Dial+Sip with auth" => with_decl(
            Response::new().push(
                Element::new("Dial").child(
                    Element::new("Sip")
                        .attr("username", "user")
                        .attr("password", "pw")
                        .text("sip:bob@example.com"),
                ),
            ),
        ),
        "Play digits" => with_decl(Response::new().push(play_digits("ww1ww2W#"))),
        "Play url" => with_decl(
            Response::new().push(
                Element::new("Play")
                    .attr("loop", "1")
                    .text("https://example.com/beep.mp3"),
            ),
        ),
        "Pause length=2" => with_decl(Response::new().push(pause(2))),
        "Pause default" => with_decl(Response::new().push(Verb::Pause { length: None })),
        "Redirect" => with_decl(Response::new().push(redirect("https://example.com/twilio/next"))),
        "Hangup" => with_decl(Response::new().push(hangup())),
        "Connect+Stream (bidirectional) with Parameter" => {
            with_decl(Response::new().push(Verb::Connect(Connect {
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
            })))
        }
        "Start+Stream (unidirectional) both_tracks" => with_decl(
            Response::new()
                .push(Verb::Start(Stream {
                    name: Some("ivr-listener".into()),
                    track: Some(Track::Both),
                    status_callback: Some("https://example.com/twilio/stream-status".into()),
                    ..Stream::new("wss://example.com/media")
                }))
                .push(pause(60)),
        ),
        "Stop Stream by name" => with_decl(Response::new().push(Verb::Stop {
            stream_name: "ivr-listener".into(),
        })),
        "IVR nav combo" => with_decl(
            Response::new()
                .push(play_digits("wwww1"))
                .push(pause(1))
                .push(play_digits("w2"))
                .push(Verb::Redirect {
                    url: "https://example.com/twilio/after-digits".into(),
                    method: None,
                }),
        ),
        t if t.starts_with("escaping check (raw)") => {
            with_decl(Response::new().push(Verb::Dial(Dial::new(Sip::new(
                sip_uri_with_headers("sip:u@h", &[("X-A", "1"), ("X-B", "2")]).unwrap(),
            )))))
        }
        // twilio-python without the declaration; ours always writes it.
        "to_xml(xml_declaration=False): None" => {
            let xml = Response::new().push(hangup()).to_xml();
            xml.strip_prefix(DECL).unwrap().to_owned()
        }
        other => panic!("reference construct `{other}` is not built by this test: add it"),
    }
}

#[test]
fn every_reference_construct_is_the_same_tree_and_bytes() {
    let sections = sections();
    assert_eq!(sections.len(), 14, "all reference constructs read");
    for (title, reference) in sections {
        let ours = ours(title);
        assert_eq!(parse(&ours), parse(reference), "{title}: element tree");
        assert_eq!(ours, reference, "{title}: bytes");
    }
}

#[test]
fn escaped_strings_read_back_unchanged() {
    let nasty = "a&b<c>d\"e'f ]]> &amp; \t\r\n é 😀";
    let xml = Response::new()
        .push(Element::new("Say").attr("voice", nasty).text(nasty))
        .push(Verb::Dial(Dial {
            caller_id: Some(nasty.into()),
            ..Dial::new(Sip {
                status_callback: Some(nasty.into()),
                ..Sip::new(nasty)
            })
        }))
        .to_xml();
    let doc = parse(&xml);
    let say = &doc.children[0];
    assert_eq!(say.attrs["voice"], nasty);
    // ElementTree leaves CR literal in text, where a reader folds it into LF.
    let text = nasty.replace("\r\n", "\n").replace('\r', "\n");
    assert_eq!(say.text, text);
    let dial = &doc.children[1];
    assert_eq!(dial.attrs["callerId"], nasty);
    assert_eq!(dial.children[0].attrs["statusCallback"], nasty);
    assert_eq!(dial.children[0].text, text);
}

#[test]
fn a_replayed_path_then_bridge_is_well_formed() {
    let uri = sip_uri_with_headers(
        "sip:assistant@example.sip.vapi.ai",
        &[("X-pendingcallid", "0195f3c1-7d2a-7c3e-9a4b-1c2d3e4f5a6b")],
    )
    .unwrap();
    let xml = Response::new()
        .extend(dtmf_replay(&[(3500, "2"), (9000, "1"), (12_250, "#")]).unwrap())
        .push(Verb::Dial(Dial {
            answer_on_bridge: true,
            ..Dial::new(Sip::new(uri))
        }))
        .to_xml();
    let doc = parse(&xml);
    let summary: Vec<String> = doc
        .children
        .iter()
        .map(|v| {
            let attrs: Vec<String> = v.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}[{}]{}", v.name, attrs.join(","), v.text)
        })
        .collect();
    assert_eq!(
        summary,
        [
            "Pause[length=3]",
            "Play[digits=w2]",
            "Pause[length=5]",
            "Play[digits=w1]",
            "Pause[length=3]",
            "Play[digits=w#]",
            "Dial[answerOnBridge=true]",
        ]
    );
    assert_eq!(
        doc.children[6].children[0].text,
        "sip:assistant@example.sip.vapi.ai?X-pendingcallid=0195f3c1-7d2a-7c3e-9a4b-1c2d3e4f5a6b"
    );
}

#[test]
fn the_reader_compares_trees_not_spelling() {
    let a = parse(r#"<A b="1" a="&#34;">x&amp;<C />y</A>"#);
    assert_eq!(a, parse(r#"<A a="&quot;" b="1">x&#38;<C></C>y</A>"#));
    assert_eq!(a.attrs["a"], "\"");
    assert_eq!(a.text, "x&y");
    assert_ne!(a, parse(r#"<A b="1" a="&#34;">x&amp;<C />z</A>"#));
    assert_ne!(a, parse(r#"<A b="2" a="&#34;">x&amp;<C />y</A>"#));
    assert_ne!(a, parse(r#"<A b="1" a="&#34;">x&amp;<D />y</A>"#));
    // Attribute-value normalisation: literal line breaks read as spaces, references do not.
    let b = parse("<B lit=\"x\ny\" ref=\"x&#10;y\" />");
    assert_eq!(
        (b.attrs["lit"].as_str(), b.attrs["ref"].as_str()),
        ("x y", "x\ny")
    );
}

#[test]
fn the_reader_is_strict() {
    for bad in [
        "<A>",
        "<A></B>",
        "<A a=\"1\" a=\"2\" />",
        "<A>&bogus;</A>",
        "<A>a & b</A>",
        "<A a=\"<\" />",
        "<A /><B />",
        "<A a=1 />",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse(bad)).is_err(),
            "accepted {bad}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A small strict reader for the XML subset TwiML uses: one root element, attributes in double
// quotes, text, the five predefined entities and character references. No comments, CDATA,
// processing instructions (beyond the declaration) or DOCTYPE. Panics on anything else.

#[derive(Debug, PartialEq, Eq)]
struct Node {
    name: String,
    /// Sorted, so attribute order does not matter to the comparison.
    attrs: BTreeMap<String, String>,
    /// All text directly inside, concatenated.
    text: String,
    children: Vec<Node>,
}

fn parse(xml: &str) -> Node {
    let body = xml.strip_prefix(DECL).unwrap_or(xml);
    assert!(!body.starts_with("<?"), "unexpected declaration: {xml}");
    // XML end-of-line handling: CR LF and lone CR read as LF.
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut reader = Reader { rest: &body };
    let root = reader.element();
    assert!(
        reader.rest.is_empty(),
        "content after the root: {}",
        reader.rest
    );
    root
}

struct Reader<'a> {
    rest: &'a str,
}

impl<'a> Reader<'a> {
    fn eat(&mut self, s: &str) -> bool {
        match self.rest.strip_prefix(s) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, s: &str) {
        assert!(self.eat(s), "expected `{s}` at `{}`", self.rest);
    }

    fn skip_space(&mut self) -> bool {
        let trimmed = self.rest.trim_start_matches([' ', '\t', '\n']);
        let skipped = trimmed.len() != self.rest.len();
        self.rest = trimmed;
        skipped
    }

    fn name(&mut self) -> String {
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
            .unwrap_or(self.rest.len());
        assert!(end > 0, "expected a name at `{}`", self.rest);
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        name.to_owned()
    }

    /// The raw text up to the next `stop`.
    fn raw_until(&mut self, stop: char) -> &'a str {
        let end = self.rest.find(stop).unwrap_or(self.rest.len());
        let (raw, rest) = self.rest.split_at(end);
        self.rest = rest;
        raw
    }

    fn element(&mut self) -> Node {
        self.expect("<");
        let name = self.name();
        let mut attrs = BTreeMap::new();
        loop {
            let spaced = self.skip_space();
            if self.eat("/>") {
                return Node {
                    name,
                    attrs,
                    text: String::new(),
                    children: vec![],
                };
            }
            if self.eat(">") {
                break;
            }
            assert!(
                spaced,
                "attributes need a space before them: `{}`",
                self.rest
            );
            let key = self.name();
            self.expect("=\"");
            let raw = self.raw_until('"');
            self.expect("\"");
            assert!(!raw.contains('<'), "`<` in an attribute value");
            let value = decode(raw, true);
            assert!(
                attrs.insert(key.clone(), value).is_none(),
                "duplicate {key}"
            );
        }
        let mut text = String::new();
        let mut children = Vec::new();
        loop {
            if self.eat("</") {
                let end = self.name();
                assert_eq!(end, name, "mismatched end tag");
                self.skip_space();
                self.expect(">");
                return Node {
                    name,
                    attrs,
                    text,
                    children,
                };
            }
            if self.rest.starts_with('<') {
                children.push(self.element());
            } else {
                assert!(!self.rest.is_empty(), "unclosed <{name}>");
                let raw = self.raw_until('<');
                assert!(!raw.contains("]]>"), "`]]>` in text");
                text.push_str(&decode(raw, false));
            }
        }
    }
}

/// Resolves references. In attribute values literal TAB and LF read as spaces (XML
/// attribute-value normalisation; CR was folded already) while referenced ones are kept.
fn decode(raw: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        let (literal, after) = rest.split_at(rest.find('&').unwrap_or(rest.len()));
        if attribute {
            out.extend(
                literal
                    .chars()
                    .map(|c| if matches!(c, '\t' | '\n') { ' ' } else { c }),
            );
        } else {
            out.push_str(literal);
        }
        if after.is_empty() {
            return out;
        }
        let semi = after.find(';').expect("unterminated reference");
        out.push(entity(&after[1..semi]));
        rest = &after[semi + 1..];
    }
}

fn entity(name: &str) -> char {
    match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        e => {
            let code = if let Some(hex) = e.strip_prefix("#x") {
                u32::from_str_radix(hex, 16)
            } else if let Some(dec) = e.strip_prefix('#') {
                dec.parse()
            } else {
                panic!("unknown entity &{e};")
            };
            char::from_u32(code.expect("numeric reference")).expect("a character")
        }
    }
}

//! The TwiML writer against twilio-python 9.13.0's `VoiceResponse` output (fixture copied from
//! shared/reference): same element tree, and byte-identical where the construct is the same.

use switchboard_core::twiml::{Element, Response, hangup, pause, play_digits, redirect};

const REFERENCE: &str = include_str!("fixtures/twiml-reference-twilio-python-9.13.0.txt");

fn reference(title: &str) -> &'static str {
    let mut lines = REFERENCE.lines();
    lines
        .find(|l| *l == format!("## {title}"))
        .unwrap_or_else(|| panic!("no reference `{title}`"));
    lines.next().unwrap()
}

#[test]
fn each_supported_construct_is_byte_identical() {
    let cases: Vec<(&str, Response)> = vec![
        (
            "Dial+Sip with headers in URI",
            Response::new().push(
                Element::new("Dial")
                    .attr("action", "https://example.com/twilio/dial-done")
                    .attr("answerOnBridge", "true")
                    .attr("callerId", "+15005550006")
                    .attr("method", "POST")
                    .attr("timeout", "30")
                    .child(
                        Element::new("Sip")
                            .attr("statusCallback", "https://example.com/twilio/sip-status")
                            .attr("statusCallbackEvent", "initiated ringing answered completed")
                            .text("sip:+14155551212@example.sip.vapi.ai?X-pendingcallid=abc123&X-Custom=v1"),
                    ),
            ),
        ),
        (
            "Dial+Sip with auth",
            Response::new().push(
                Element::new("Dial")
                    .child(Element::new("Sip").attr("username", "user").attr("password", "pw").text("sip:bob@example.com")),
            ),
        ),
        ("Play digits", Response::new().push(play_digits("ww1ww2W#"))),
        ("Pause length=2", Response::new().push(pause(2))),
        ("Pause default", Response::new().push(Element::new("Pause"))),
        ("Redirect", Response::new().push(redirect("https://example.com/twilio/next"))),
        ("Hangup", Response::new().push(hangup())),
        (
            "Connect+Stream (bidirectional) with Parameter",
            Response::new().push(
                Element::new("Connect").attr("action", "https://example.com/twilio/stream-ended").child(
                    Element::new("Stream")
                        .attr("url", "wss://example.com/media")
                        .attr("statusCallback", "https://example.com/twilio/stream-status")
                        .attr("statusCallbackMethod", "POST")
                        .child(Element::new("Parameter").attr("name", "pendingCallId").attr("value", "abc123"))
                        .child(Element::new("Parameter").attr("name", "mode").attr("value", "ivr")),
                ),
            ),
        ),
        (
            "Start+Stream (unidirectional) both_tracks",
            Response::new()
                .push(
                    Element::new("Start").child(
                        Element::new("Stream")
                            .attr("name", "ivr-listener")
                            .attr("statusCallback", "https://example.com/twilio/stream-status")
                            .attr("track", "both_tracks")
                            .attr("url", "wss://example.com/media"),
                    ),
                )
                .push(pause(60)),
        ),
        (
            "Stop Stream by name",
            Response::new().push(Element::new("Stop").child(Element::new("Stream").attr("name", "ivr-listener"))),
        ),
        (
            "IVR nav combo",
            Response::new()
                .push(play_digits("wwww1"))
                .push(pause(1))
                .push(play_digits("w2"))
                .push(Element::new("Redirect").text("https://example.com/twilio/after-digits")),
        ),
    ];
    for (title, doc) in cases {
        assert_eq!(doc.to_xml(), reference(title), "{title}");
    }
}

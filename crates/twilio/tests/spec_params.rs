//! The parameters the client puts on the wire, checked against Twilio's official OpenAPI
//! document. `fixtures/calls-params.json` is extracted from it by
//! `fixtures/extract_calls_params.py` (see there to regenerate).

mod common;

use common::*;
use serde_json::Value;
use switchboard_twilio::{
    Call, CreateCall, STATUS_CALLBACK_EVENTS, TWIML_MAX_CHARS, UpdateCall, encode,
};

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/calls-params.json")).unwrap()
}

/// Checks one recorded form body against operation `op` of the fixture.
fn check(spec: &Value, op: &str, body: &[u8]) {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let entry = &spec[op];
    let props = entry["properties"].as_object().unwrap();
    let order: Vec<&str> = entry["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut last = 0;
    for (k, v) in &pairs {
        let p = props
            .get(k)
            .unwrap_or_else(|| panic!("{op}: `{k}` is not a parameter of the operation"));
        // twilio-python's order is the spec's order: keys never go backwards.
        let i = order.iter().position(|o| o == k).unwrap();
        assert!(i >= last, "{op}: `{k}` out of twilio-python's order");
        last = i;
        if let Some(e) = p.get("enum") {
            assert!(
                e.as_array().unwrap().iter().any(|x| x == v),
                "{op}.{k}={v} not in {e}"
            );
        }
        match p["type"].as_str().unwrap() {
            "integer" => assert!(v.parse::<i64>().is_ok(), "{op}.{k}={v} not an integer"),
            "boolean" => assert!(v == "true" || v == "false", "{op}.{k}={v}"),
            "array" => {
                // The spec's items carry no enum for StatusCallbackEvent; the allowed values are
                // only in the description ("Can be: …"), which the extraction keeps.
                let allowed = p["items"]
                    .get("enum")
                    .or_else(|| p.pointer("/from_description/values"))
                    .unwrap_or_else(|| panic!("{op}.{k}: no allowed values"));
                assert!(
                    allowed.as_array().unwrap().iter().any(|x| x == v),
                    "{op}.{k}={v} not in {allowed}"
                );
            }
            "string" => {
                if p.get("format").and_then(Value::as_str) == Some("uri") {
                    assert!(
                        v.starts_with("http://") || v.starts_with("https://"),
                        "{op}.{k}={v}"
                    );
                }
                if let Some(max) = p.pointer("/from_description/max_chars") {
                    assert!(v.chars().count() as u64 <= max.as_u64().unwrap());
                }
            }
            t => panic!("{op}.{k}: unexpected type {t}"),
        }
    }
    for r in entry["required"].as_array().unwrap() {
        let r = r.as_str().unwrap();
        assert!(pairs.iter().any(|(k, _)| k == r), "{op}: required {r}");
    }
    // x-twilio conditional groups (snake_case names): exactly one of them.
    for group in entry["conditional"].as_array().unwrap() {
        let sent = group
            .as_array()
            .unwrap()
            .iter()
            .filter(|name| {
                let camel: String = name
                    .as_str()
                    .unwrap()
                    .split('_')
                    .map(|w| w[..1].to_uppercase() + &w[1..])
                    .collect();
                pairs.iter().any(|(k, _)| *k == camel)
            })
            .count();
        assert_eq!(sent, 1, "{op}: exactly one of {group}");
    }
}

#[tokio::test]
async fn every_parameter_sent_is_declared_by_twilios_spec() {
    let spec = fixture();
    let (r, base) = server().await;
    let c = client(&base);
    c.create_call(&sample()).await.unwrap();
    c.create_call(&CreateCall {
        timeout_secs: None,
        time_limit_secs: None,
        ..sample()
    })
    .await
    .unwrap();
    c.update_call(
        CALL,
        &UpdateCall::Twiml("<Response><Hangup/></Response>".into()),
    )
    .await
    .unwrap();
    c.update_call(
        CALL,
        &UpdateCall::Url {
            url: "https://example.com/next".into(),
        },
    )
    .await
    .unwrap();
    c.update_call(CALL, &UpdateCall::Complete).await.unwrap();
    let seen = r.seen();
    assert_eq!(seen.len(), 5);
    for s in &seen {
        let op = if s.path.ends_with("/Calls.json") {
            "CreateCall"
        } else {
            "UpdateCall"
        };
        let template = spec[op]["path"]
            .as_str()
            .unwrap()
            .replace("{AccountSid}", ACCOUNT)
            .replace("{Sid}", CALL);
        assert_eq!(s.path, template);
        assert_eq!(s.method.as_str(), spec[op]["method"].as_str().unwrap());
        check(&spec, op, &s.body);
    }
}

#[test]
fn constants_match_the_spec() {
    let spec = fixture();
    let create = &spec["CreateCall"]["properties"];
    assert_eq!(
        create["Twiml"]["from_description"]["max_chars"].as_u64(),
        Some(TWIML_MAX_CHARS as u64)
    );
    assert_eq!(
        create["StatusCallbackEvent"]["from_description"]["values"],
        serde_json::json!(STATUS_CALLBACK_EVENTS)
    );
    assert_eq!(
        spec["UpdateCall"]["properties"]["Status"]["enum"],
        serde_json::json!(["canceled", "completed"])
    );
}

/// protocols.md A.2's body, captured from twilio-python 9.13.0, re-encoded by our encoder from
/// its pairs: same bytes. Its keys are also in the spec's order, which is why our bodies follow
/// that order.
#[test]
fn the_encoder_reproduces_twilio_pythons_captured_body() {
    let captured = "To=%2B14155551212&From=%2B15005550006&StatusCallback=https%3A%2F%2Fexample.com%2Fstatus&StatusCallbackEvent=initiated&StatusCallbackEvent=ringing&StatusCallbackEvent=answered&StatusCallbackEvent=completed&SendDigits=ww1234%23&Timeout=30&Record=false&MachineDetection=DetectMessageEnd&AsyncAmd=true&AsyncAmdStatusCallback=https%3A%2F%2Fexample.com%2Famd&TimeLimit=600&Url=https%3A%2F%2Fexample.com%2Ftwiml";
    let pairs: Vec<(String, String)> = form_urlencoded::parse(captured.as_bytes())
        .into_owned()
        .collect();
    let spec = fixture();
    let order: Vec<&str> = spec["CreateCall"]["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let form: Vec<(&str, String)> = pairs
        .iter()
        .map(|(k, v)| {
            let known = order.iter().find(|o| *o == k).expect("documented key");
            (*known, v.clone())
        })
        .collect();
    assert_eq!(encode(&form), captured);
    check(&spec, "CreateCall", captured.as_bytes());
}

#[test]
fn call_deserialises_the_specs_example_response() {
    let spec = fixture();
    let example = spec["CreateCall"]["example_response"].clone();
    let call: Call = serde_json::from_value(example).unwrap();
    assert_eq!(call.sid, "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(call.status, "completed");
    assert_eq!(call.queue_time.as_deref(), Some("1000"));
    assert_eq!(call.duration.as_deref(), Some("15"));
    assert_eq!(call.answered_by, None);
}

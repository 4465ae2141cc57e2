//! Property tests of the Media Streams parser: no input makes it panic, and every well-formed
//! message Twilio could send parses back to what was built.

use proptest::prelude::*;
use switchboard_twilio::media::{Inbound, Media, MediaError, Track, build, parse};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = parse(&s);
    }

    #[test]
    fn arbitrary_json_shapes_never_panic(event in prop::sample::select(vec!["media", "start", "dtmf", "mark", "stop", "connected", "x"]),
                                          field in "[a-zA-Z]{0,12}", value in prop::option::of(".{0,30}"), n in any::<i64>()) {
        let v = match value {
            Some(v) => serde_json::json!({"event": event, event: {field.clone(): v, "timestamp": n, "payload": n, "digit": n}}),
            None => serde_json::json!({"event": event, "sequenceNumber": n, event: n}),
        };
        let _ = parse(&v.to_string());
    }

    #[test]
    fn media_round_trips(seq in 0u64..1_000_000, chunk in 0u64..1_000_000, ts in 0u64..86_400_000,
                         outbound in any::<bool>(), payload in prop::collection::vec(any::<u8>(), 0..400)) {
        let msg = build::media(seq, "MZ1", outbound, chunk, ts, &payload);
        let track = if outbound { Track::Outbound } else { Track::Inbound };
        prop_assert_eq!(parse(&msg).unwrap(), Inbound::Media { sequence_number: Some(seq), media: Media { track, chunk, timestamp_ms: ts, payload } });
    }

    #[test]
    fn dtmf_digits_round_trip(d in prop::sample::select("0123456789*#ABCD".chars().collect::<Vec<_>>())) {
        let parsed = parse(&build::dtmf(1, "MZ1", d)).unwrap();
        let ok = matches!(parsed, Inbound::Dtmf { digit, .. } if digit == d);
        prop_assert!(ok);
    }
}

#[test]
fn oversized_payloads_are_refused_before_decoding() {
    let msg = build::media(1, "MZ1", false, 1, 0, &vec![0u8; 9000]);
    assert_eq!(parse(&msg), Err(MediaError::PayloadTooLarge));
}

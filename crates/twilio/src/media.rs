//! Twilio Media Streams messages (protocols.md D): parsing what Twilio sends over the WebSocket
//! and building what a bidirectional stream may send back. Tolerant where Twilio's own documents
//! are loose (numeric fields arrive as strings; numbers are accepted too), strict about what the
//! analysis depends on (track, timestamps, payload), and never panicking on any input.

use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Largest media payload accepted in one message (decoded bytes): 1 s of audio. Twilio sends
/// 20 ms (160 bytes) in practice; anything far larger is malformed or hostile.
pub const MAX_PAYLOAD_BYTES: usize = 8000;

/// Which side of the call a media message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    /// The called party (the clinic).
    Inbound,
    /// What we (or the assistant) send to them.
    Outbound,
}

/// The `start` message.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    pub stream_sid: String,
    pub call_sid: String,
    pub account_sid: String,
    pub tracks: Vec<Track>,
    pub custom_parameters: BTreeMap<String, String>,
    pub encoding: String,
    pub sample_rate: u32,
    pub channels: u32,
}

/// One chunk of audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub track: Track,
    pub chunk: u64,
    /// Presentation time in ms from the start of the stream: all analysis timing uses this.
    pub timestamp_ms: u64,
    /// Raw µ-law bytes.
    pub payload: Vec<u8>,
}

/// A message from Twilio.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Connected {
        protocol: String,
        version: String,
    },
    Start {
        sequence_number: Option<u64>,
        start: Start,
    },
    Media {
        sequence_number: Option<u64>,
        media: Media,
    },
    Dtmf {
        sequence_number: Option<u64>,
        track: String,
        digit: char,
    },
    Mark {
        sequence_number: Option<u64>,
        name: String,
    },
    Stop {
        sequence_number: Option<u64>,
        call_sid: Option<String>,
    },
}

/// Why a message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("not a JSON object")]
    NotJson,
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
    #[error("missing or invalid field `{0}`")]
    Field(&'static str),
    #[error("payload is not base64")]
    BadBase64,
    #[error("payload larger than {MAX_PAYLOAD_BYTES} bytes")]
    PayloadTooLarge,
    #[error("unsupported media format {0}")]
    UnsupportedFormat(String),
}

fn str_field<'a>(m: &'a Map<String, Value>, k: &'static str) -> Result<&'a str, MediaError> {
    m.get(k).and_then(Value::as_str).ok_or(MediaError::Field(k))
}

/// A number Twilio may send as a string ("12") or as a number.
fn num(v: Option<&Value>, k: &'static str) -> Result<u64, MediaError> {
    match v {
        Some(Value::String(s)) => s.trim().parse().map_err(|_| MediaError::Field(k)),
        Some(Value::Number(n)) => n.as_u64().ok_or(MediaError::Field(k)),
        _ => Err(MediaError::Field(k)),
    }
}

fn opt_num(v: Option<&Value>) -> Option<u64> {
    num(v, "sequenceNumber").ok()
}

fn track(s: &str) -> Option<Track> {
    match s {
        "inbound" | "inbound_track" => Some(Track::Inbound),
        "outbound" | "outbound_track" => Some(Track::Outbound),
        _ => None,
    }
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Inbound, MediaError> {
    let v: Value = serde_json::from_str(text).map_err(|_| MediaError::NotJson)?;
    let m = v.as_object().ok_or(MediaError::NotJson)?;
    let seq = opt_num(m.get("sequenceNumber"));
    let event = str_field(m, "event")?;
    let section = |k: &'static str| {
        m.get(k)
            .and_then(Value::as_object)
            .ok_or(MediaError::Field(k))
    };
    Ok(match event {
        "connected" => Inbound::Connected {
            protocol: m
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            version: m
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        },
        "start" => {
            let s = section("start")?;
            let fmt = s.get("mediaFormat").and_then(Value::as_object);
            let encoding = fmt
                .and_then(|f| f.get("encoding"))
                .and_then(Value::as_str)
                .unwrap_or("audio/x-mulaw");
            let sample_rate = fmt
                .and_then(|f| f.get("sampleRate"))
                .map(|v| num(Some(v), "sampleRate"))
                .transpose()?
                .unwrap_or(8000);
            let channels = fmt
                .and_then(|f| f.get("channels"))
                .map(|v| num(Some(v), "channels"))
                .transpose()?
                .unwrap_or(1);
            if encoding != "audio/x-mulaw" || sample_rate != 8000 || channels != 1 {
                return Err(MediaError::UnsupportedFormat(format!(
                    "{encoding} {sample_rate} Hz x{channels}"
                )));
            }
            let tracks = s
                .get("tracks")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().and_then(track))
                        .collect()
                })
                .unwrap_or_else(|| vec![Track::Inbound]);
            let custom_parameters = s
                .get("customParameters")
                .and_then(Value::as_object)
                .map(|p| {
                    p.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let stream_sid = s
                .get("streamSid")
                .or_else(|| m.get("streamSid"))
                .and_then(Value::as_str)
                .ok_or(MediaError::Field("streamSid"))?;
            Inbound::Start {
                sequence_number: seq,
                start: Start {
                    stream_sid: stream_sid.to_string(),
                    call_sid: str_field(s, "callSid")?.to_string(),
                    account_sid: s
                        .get("accountSid")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    tracks,
                    custom_parameters,
                    encoding: encoding.to_string(),
                    sample_rate: sample_rate as u32,
                    channels: channels as u32,
                },
            }
        }
        "media" => {
            let md = section("media")?;
            let track = md
                .get("track")
                .and_then(Value::as_str)
                .map_or(Some(Track::Inbound), track)
                .ok_or(MediaError::Field("track"))?;
            let raw = str_field(md, "payload")?;
            // base64 of MAX_PAYLOAD_BYTES is at most 4/3 as long: refuse before decoding.
            if raw.len() > MAX_PAYLOAD_BYTES / 3 * 4 + 4 {
                return Err(MediaError::PayloadTooLarge);
            }
            let payload = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|_| MediaError::BadBase64)?;
            Inbound::Media {
                sequence_number: seq,
                media: Media {
                    track,
                    chunk: num(md.get("chunk"), "chunk").unwrap_or(0),
                    timestamp_ms: num(md.get("timestamp"), "timestamp")?,
                    payload,
                },
            }
        }
        "dtmf" => {
            let d = section("dtmf")?;
            let digit = str_field(d, "digit")?;
            let mut chars = digit.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(MediaError::Field("digit"));
            };
            if !matches!(c, '0'..='9' | '*' | '#' | 'A'..='D') {
                return Err(MediaError::Field("digit"));
            }
            Inbound::Dtmf {
                sequence_number: seq,
                track: d
                    .get("track")
                    .and_then(Value::as_str)
                    .unwrap_or("inbound_track")
                    .to_string(),
                digit: c,
            }
        }
        "mark" => Inbound::Mark {
            sequence_number: seq,
            name: str_field(section("mark")?, "name")?.to_string(),
        },
        "stop" => Inbound::Stop {
            sequence_number: seq,
            call_sid: m
                .get("stop")
                .and_then(|s| s.get("callSid"))
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        other => return Err(MediaError::UnknownEvent(other.chars().take(40).collect())),
    })
}

/// Audio to play on a bidirectional stream (raw µ-law, no header).
pub fn outbound_media(stream_sid: &str, ulaw: &[u8]) -> String {
    json!({"event": "media", "streamSid": stream_sid,
           "media": {"payload": base64::engine::general_purpose::STANDARD.encode(ulaw)}})
    .to_string()
}

/// A mark Twilio echoes when the audio queued before it has played.
pub fn outbound_mark(stream_sid: &str, name: &str) -> String {
    json!({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}).to_string()
}

/// Discards queued outbound audio.
pub fn outbound_clear(stream_sid: &str) -> String {
    json!({"event": "clear", "streamSid": stream_sid}).to_string()
}

/// Builds the messages Twilio sends, for simulators and tests.
pub mod build {
    use base64::Engine;
    use serde_json::json;

    pub fn connected() -> String {
        json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string()
    }

    pub fn start(
        seq: u64,
        stream_sid: &str,
        call_sid: &str,
        params: &[(&str, &str)],
        both_tracks: bool,
    ) -> String {
        let params: serde_json::Map<String, serde_json::Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let tracks = if both_tracks {
            json!(["inbound", "outbound"])
        } else {
            json!(["inbound"])
        };
        json!({"event": "start", "sequenceNumber": seq.to_string(), "streamSid": stream_sid,
               "start": {"accountSid": "AC00000000000000000000000000000000", "streamSid": stream_sid, "callSid": call_sid,
                         "tracks": tracks, "customParameters": params,
                         "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})
        .to_string()
    }

    pub fn media(
        seq: u64,
        stream_sid: &str,
        outbound: bool,
        chunk: u64,
        timestamp_ms: u64,
        ulaw: &[u8],
    ) -> String {
        json!({"event": "media", "sequenceNumber": seq.to_string(), "streamSid": stream_sid,
               "media": {"track": if outbound { "outbound" } else { "inbound" }, "chunk": chunk.to_string(),
                         "timestamp": timestamp_ms.to_string(),
                         "payload": base64::engine::general_purpose::STANDARD.encode(ulaw)}})
        .to_string()
    }

    pub fn dtmf(seq: u64, stream_sid: &str, digit: char) -> String {
        json!({"event": "dtmf", "streamSid": stream_sid, "sequenceNumber": seq.to_string(),
               "dtmf": {"track": "inbound_track", "digit": digit.to_string()}})
        .to_string()
    }

    pub fn mark(seq: u64, stream_sid: &str, name: &str) -> String {
        json!({"event": "mark", "sequenceNumber": seq.to_string(), "streamSid": stream_sid, "mark": {"name": name}}).to_string()
    }

    pub fn stop(seq: u64, stream_sid: &str, call_sid: &str) -> String {
        json!({"event": "stop", "sequenceNumber": seq.to_string(), "streamSid": stream_sid,
               "stop": {"accountSid": "AC00000000000000000000000000000000", "callSid": call_sid}})
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        let c = parse(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#).unwrap();
        assert_eq!(
            c,
            Inbound::Connected {
                protocol: "Call".into(),
                version: "1.0.0".into()
            }
        );
        let s = parse(r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"FirstName":"Jane"}},"streamSid":"MZ1"}"#).unwrap();
        let Inbound::Start {
            sequence_number,
            start,
        } = s
        else {
            panic!()
        };
        assert_eq!(sequence_number, Some(1));
        assert_eq!(start.custom_parameters["FirstName"], "Jane");
        assert_eq!(start.tracks, vec![Track::Inbound]);
        let m = parse(r#"{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"/38="},"streamSid":"MZ1"}"#).unwrap();
        assert_eq!(
            m,
            Inbound::Media {
                sequence_number: Some(4),
                media: Media {
                    track: Track::Inbound,
                    chunk: 2,
                    timestamp_ms: 5,
                    payload: vec![0xff, 0x7f]
                }
            }
        );
        let d = parse(r#"{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}"#).unwrap();
        assert!(matches!(d, Inbound::Dtmf { digit: '1', .. }));
        let k = parse(
            r#"{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"my label"}}"#,
        )
        .unwrap();
        assert_eq!(
            k,
            Inbound::Mark {
                sequence_number: Some(4),
                name: "my label".into()
            }
        );
        let st = parse(r#"{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC1","callSid":"CA1"},"streamSid":"MZ1"}"#).unwrap();
        assert_eq!(
            st,
            Inbound::Stop {
                sequence_number: Some(5),
                call_sid: Some("CA1".into())
            }
        );
    }

    #[test]
    fn built_messages_parse_back() {
        let ulaw = vec![0xffu8; 160];
        let m = parse(&build::media(3, "MZ1", true, 2, 40, &ulaw)).unwrap();
        assert_eq!(
            m,
            Inbound::Media {
                sequence_number: Some(3),
                media: Media {
                    track: Track::Outbound,
                    chunk: 2,
                    timestamp_ms: 40,
                    payload: ulaw
                }
            }
        );
        let s = parse(&build::start(1, "MZ1", "CA1", &[("session_id", "x")], true)).unwrap();
        let Inbound::Start { start, .. } = s else {
            panic!()
        };
        assert_eq!(start.tracks, vec![Track::Inbound, Track::Outbound]);
        assert_eq!(start.custom_parameters["session_id"], "x");
        let out: Value = serde_json::from_str(&outbound_media("MZ1", &[0xff, 0x7f])).unwrap();
        assert_eq!(out["media"]["payload"], "/38=");
        assert_eq!(
            serde_json::from_str::<Value>(&outbound_clear("MZ1")).unwrap()["event"],
            "clear"
        );
    }

    #[test]
    fn malformed_messages_are_typed_errors() {
        assert_eq!(parse("nope"), Err(MediaError::NotJson));
        assert_eq!(parse("[1]"), Err(MediaError::NotJson));
        assert_eq!(
            parse(r#"{"event":"bogus"}"#),
            Err(MediaError::UnknownEvent("bogus".into()))
        );
        assert_eq!(
            parse(r#"{"event":"media","media":{"timestamp":"1","payload":"!!"}}"#),
            Err(MediaError::BadBase64)
        );
        assert_eq!(
            parse(r#"{"event":"media","media":{"payload":"/38="}}"#),
            Err(MediaError::Field("timestamp"))
        );
        assert_eq!(
            parse(r#"{"event":"media","media":{"timestamp":"-3","payload":"/38="}}"#),
            Err(MediaError::Field("timestamp"))
        );
        let big =
            base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_PAYLOAD_BYTES + 100]);
        assert_eq!(
            parse(&format!(
                r#"{{"event":"media","media":{{"timestamp":"1","payload":"{big}"}}}}"#
            )),
            Err(MediaError::PayloadTooLarge)
        );
        assert_eq!(
            parse(r#"{"event":"dtmf","dtmf":{"digit":"12"}}"#),
            Err(MediaError::Field("digit"))
        );
        assert!(matches!(
            parse(
                r#"{"event":"start","start":{"streamSid":"MZ","callSid":"CA","mediaFormat":{"encoding":"audio/l16","sampleRate":16000,"channels":1}}}"#
            ),
            Err(MediaError::UnsupportedFormat(_))
        ));
    }
}

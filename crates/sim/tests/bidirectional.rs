//! Media Streams beyond the inbound track, over real WebSockets:
//!
//! * a forked `<Start><Stream track="both_tracks">` carries an outbound track (what is sent to the
//!   clinic) beside the inbound one, with the assistant's key presses as real in-band DTMF;
//! * a bidirectional `<Connect><Stream>` plays the audio the server sends back, so in-band DTMF
//!   reaches the clinic's menu, with Twilio's `mark` and `clear` semantics.
//!
//! Everything runs at 5× speed; all timing assertions are in media time.

use axum::extract::Path;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use switchboard_audio::{AudioEvent, Pipeline, g711, synth};
use switchboard_sim::line::LineState;
use switchboard_sim::{Carrier, CarrierConfig, SimClock, World};
use switchboard_twilio::media::{self, Inbound, Track};
use tokio::sync::mpsc;

const ACCOUNT: &str = "AC00000000000000000000000000000001";
const MENU: &str = "+13125550002";

const WORLD: &str = r#"
[[clinic]]
name = "Menu Clinic"
phone = "+13125550002"
timezone = "UTC"
kind = "menu"
answer_probability = 1.0
ring_seconds = 1.0
[[clinic.menu]]
prompt = "For scheduling press 2. For billing press 5."
prompt_seconds = 4.0
options = [{ digit = "2", label = "scheduling", leads = "person" }, { digit = "5", label = "billing", leads = "voicemail" }]
on_timeout = "repeat"
hold_seconds = 0.0
"#;

/// One WebSocket the carrier opened: what it sends, and a way to answer (`None` closes).
struct Conn {
    path: String,
    rx: mpsc::UnboundedReceiver<String>,
    tx: mpsc::UnboundedSender<Option<String>>,
}

impl Conn {
    async fn next(&mut self) -> Inbound {
        let text = tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("a message within 10 s")
            .expect("the stream is open");
        media::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn send(&self, v: Value) {
        self.tx.send(Some(v.to_string())).unwrap();
    }

    /// Sends µ-law audio the way a media server does: 20 ms per message.
    fn play(&self, stream_sid: &str, ulaw: &[u8]) {
        for chunk in ulaw.chunks(160) {
            self.tx
                .send(Some(media::outbound_media(stream_sid, chunk)))
                .unwrap();
        }
    }
}

/// A Media Streams server on `ws://…/media/{name}`; each connection is handed to the test.
async fn media_server() -> (String, mpsc::UnboundedReceiver<Conn>) {
    let (conns_tx, conns) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/media/{name}",
        get(move |Path(name): Path<String>, ws: WebSocketUpgrade| {
            let conns_tx = conns_tx.clone();
            async move {
                ws.on_upgrade(move |socket| async move {
                    let (mut sink, mut stream) = socket.split();
                    let (in_tx, rx) = mpsc::unbounded_channel();
                    let (tx, mut out_rx) = mpsc::unbounded_channel::<Option<String>>();
                    let _ = conns_tx.send(Conn { path: name, rx, tx });
                    loop {
                        tokio::select! {
                            m = stream.next() => match m {
                                Some(Ok(Message::Text(t))) => { let _ = in_tx.send(t.to_string()); }
                                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                                _ => {}
                            },
                            o = out_rx.recv() => match o {
                                Some(Some(t)) => { let _ = sink.send(Message::Text(t.into())).await; }
                                _ => { let _ = sink.send(Message::Close(None)).await; break; }
                            },
                        }
                    }
                })
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/media", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, conns)
}

async fn next_conn(conns: &mut mpsc::UnboundedReceiver<Conn>) -> Conn {
    tokio::time::timeout(Duration::from_secs(10), conns.recv())
        .await
        .expect("the carrier connects within 10 s")
        .unwrap()
}

struct Sim {
    carrier: Carrier,
    base: String,
    http: reqwest::Client,
}

impl Sim {
    async fn start() -> Sim {
        // A Wednesday at 15:00 UTC: business hours, so the clinic answers.
        let noon = chrono::DateTime::parse_from_rfc3339("2026-03-04T15:00:00Z")
            .unwrap()
            .to_utc();
        let carrier = Carrier::new(CarrierConfig {
            account_sid: ACCOUNT.into(),
            auth_token: "token".into(),
            api_key: None,
            cps: 100.0,
            world: Arc::new(World::parse(WORLD).unwrap()),
            day: Default::default(),
            clock: SimClock::new(5.0, Arc::new(move || noon)),
            vapi_base: None,
            seed: 7,
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        let router = carrier.router();
        tokio::spawn(async move { axum::serve(l, router).await });
        Sim {
            carrier,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Places a call to the menu clinic running `twiml`; returns its SID.
    async fn call(&self, twiml: &str) -> String {
        let r = self
            .http
            .post(format!(
                "{}/2010-04-01/Accounts/{ACCOUNT}/Calls.json",
                self.base
            ))
            .basic_auth(ACCOUNT, Some("token"))
            .form(&[("To", MENU), ("From", "+15005550006"), ("Twiml", twiml)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["sid"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn hang_up(&self, sid: &str) {
        let r = self
            .http
            .post(format!(
                "{}/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json",
                self.base
            ))
            .basic_auth(ACCOUNT, Some("token"))
            .form(&[("Status", "completed")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    /// The assistant's `dtmf` tool, as the VAPI stand-in uses it; returns the line time of the
    /// press.
    async fn assistant_presses(&self, sid: &str, keys: &str) -> u64 {
        let r: Value = self
            .http
            .post(format!("{}/sim/calls/{sid}/dtmf", self.base))
            .json(&json!({ "keys": keys }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["at_ms"].as_u64().unwrap()
    }

    fn pressed(&self, sid: &str) -> Vec<(u64, char)> {
        self.carrier
            .records()
            .into_iter()
            .find(|r| r.sid == sid)
            .unwrap()
            .digits_pressed
    }
}

/// Reads a stream's opening: `connected`, then `start` (returned).
async fn opening(conn: &mut Conn) -> media::Start {
    assert!(matches!(conn.next().await, Inbound::Connected { .. }));
    match conn.next().await {
        Inbound::Start { start, .. } => start,
        other => panic!("expected start, got {other:?}"),
    }
}

fn dtmf_events(ulaw_by_ts: &[(u64, Vec<u8>)]) -> Vec<(u64, char)> {
    let mut p = Pipeline::new();
    let mut ev = Vec::new();
    for (ts, payload) in ulaw_by_ts {
        ev.extend(p.push_ulaw(*ts, payload));
    }
    ev.extend(p.finish());
    ev.into_iter()
        .filter_map(|e| match e {
            AudioEvent::Dtmf { at_ms, digit, .. } => Some((at_ms, digit)),
            _ => None,
        })
        .collect()
}

/// `ms` of in-band DTMF for `digit` (µ-law), as a server would synthesise it.
fn tone(digit: char, ms: u64) -> Vec<u8> {
    g711::encode(&synth::dtmf(digit, ms, 8000).unwrap())
}

fn silence(ms: u64) -> Vec<u8> {
    g711::encode(&synth::silence(ms))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_both_tracks_fork_carries_the_assistants_keys_on_the_outbound_track() {
    let (ws, mut conns) = media_server().await;
    let sim = Sim::start().await;
    let sid = sim
        .call(&format!(
            r#"<Response><Start><Stream url="{ws}/both" track="both_tracks"/></Start><Start><Stream url="{ws}/in"/></Start><Pause length="60"/></Response>"#
        ))
        .await;
    let mut a = next_conn(&mut conns).await;
    let mut b = next_conn(&mut conns).await;
    if a.path != "both" {
        std::mem::swap(&mut a, &mut b);
    }
    let (both, only_in) = (&mut a, &mut b);
    assert_eq!((both.path.as_str(), only_in.path.as_str()), ("both", "in"));
    let start = opening(both).await;
    assert_eq!(start.tracks, vec![Track::Inbound, Track::Outbound]);
    assert_eq!(start.account_sid, ACCOUNT);
    let start = opening(only_in).await;
    assert_eq!(start.tracks, vec![Track::Inbound]);

    let mut inbound: Vec<media::Media> = vec![];
    let mut outbound: Vec<media::Media> = vec![];
    let mut pressed_at = None;
    let mut stopped = false;
    while !stopped {
        match both.next().await {
            Inbound::Media { media, .. } if media.track == Track::Inbound => inbound.push(media),
            Inbound::Media { media, .. } => {
                let ts = media.timestamp_ms;
                outbound.push(media);
                if ts == 1000 {
                    // The assistant presses 3 (VAPI's dtmf tool) a second into the stream.
                    pressed_at = Some(sim.assistant_presses(&sid, "3").await);
                }
                if ts == 2000 {
                    sim.hang_up(&sid).await;
                }
            }
            Inbound::Stop { .. } => stopped = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    let pressed_at = pressed_at.unwrap();
    // Both tracks every 20 ms, each with its own chunk numbers from 1, on the same timestamps.
    assert!(outbound.len() >= 100, "{} outbound frames", outbound.len());
    for track in [&inbound, &outbound] {
        for (i, m) in track.iter().enumerate() {
            assert_eq!(m.chunk, i as u64 + 1);
            assert_eq!(m.timestamp_ms, i as u64 * 20);
            assert_eq!(m.payload.len(), 160);
        }
    }
    assert_eq!(inbound.len(), outbound.len());
    // The press is a real DTMF 3 at its media time: the line time of the press minus the line
    // time at which the stream started (a few ms after answer).
    let frames: Vec<(u64, Vec<u8>)> = outbound
        .iter()
        .map(|m| (m.timestamp_ms, m.payload.clone()))
        .collect();
    let keys = dtmf_events(&frames);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let (at, digit) = keys[0];
    assert_eq!(digit, '3');
    assert!(
        at <= pressed_at + 2 && at + 100 >= pressed_at && at >= 1000,
        "tone at {at} ms for a press at line time {pressed_at}"
    );
    // Silence everywhere else.
    for m in &outbound {
        if m.timestamp_ms + 22 <= at || m.timestamp_ms >= at + 102 {
            assert!(
                m.payload.iter().all(|b| *b == 0xFF),
                "at {}",
                m.timestamp_ms
            );
        }
    }
    assert!(sim.pressed(&sid).contains(&(pressed_at, '3')));

    // The inbound-only fork carried no outbound frame, and stopped with the call too.
    loop {
        match only_in.next().await {
            Inbound::Media { media, .. } => assert_eq!(media.track, Track::Inbound),
            Inbound::Stop { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(sim.carrier.application_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_band_dtmf_sent_back_on_a_connect_stream_reaches_the_menu() {
    let (ws, mut conns) = media_server().await;
    let sim = Sim::start().await;
    let sid = sim
        .call(&format!(
            r#"<Response><Connect><Stream url="{ws}/nav"/></Connect><Pause length="60"/></Response>"#
        ))
        .await;
    let mut c = next_conn(&mut conns).await;
    let start = opening(&mut c).await;
    assert_eq!(start.tracks, vec![Track::Inbound]);
    let stream_sid = start.stream_sid;
    let mut sent_at = None;
    let mut last_ts = 0;
    let echoed_after = loop {
        match c.next().await {
            Inbound::Media { media, .. } => {
                assert_eq!(
                    media.track,
                    Track::Inbound,
                    "a bidirectional stream is inbound only"
                );
                last_ts = media.timestamp_ms;
                if last_ts == 600 {
                    // 200 ms of silence, the key 2 for 100 ms, 200 ms of silence: 500 ms.
                    let mut audio = silence(200);
                    audio.extend(tone('2', 100));
                    audio.extend(silence(200));
                    c.play(&stream_sid, &audio);
                    c.send(json!({"event": "mark", "streamSid": stream_sid, "mark": {"name": "menu-key"}}));
                    sent_at = Some(last_ts);
                }
            }
            Inbound::Mark { name, .. } => {
                assert_eq!(name, "menu-key");
                break last_ts;
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let sent_at = sent_at.unwrap();
    // The mark comes back once its 500 ms of audio has played, not before.
    assert!(
        echoed_after >= sent_at + 500 && echoed_after <= sent_at + 800,
        "audio sent at {sent_at} ms, mark echoed after the frame at {echoed_after} ms"
    );
    // The clinic heard a 2 and put a person on the line; the call record has the key, pressed
    // when its tone played (200 ms into the audio, in line time).
    let pressed = sim.pressed(&sid);
    assert_eq!(
        pressed.iter().map(|p| p.1).collect::<String>(),
        "2",
        "{pressed:?}"
    );
    assert!(pressed[0].0 >= sent_at + 200, "{pressed:?}");
    assert_eq!(sim.carrier.line_state(&sid), Some(LineState::Person));
    // Updating the call ends the stream with `stop`.
    sim.hang_up(&sid).await;
    loop {
        match c.next().await {
            Inbound::Media { .. } => {}
            Inbound::Stop { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(sim.carrier.application_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marks_wait_for_the_audio_before_them_and_clear_drops_it() {
    let (ws, mut conns) = media_server().await;
    let sim = Sim::start().await;
    let sid = sim
        .call(&format!(
            r#"<Response><Connect><Stream url="{ws}/nav"/></Connect><Hangup/></Response>"#
        ))
        .await;
    let mut c = next_conn(&mut conns).await;
    let stream_sid = opening(&mut c).await.stream_sid;
    let mark =
        |name: &str| json!({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}});
    // Phase by phase: (what was sent at which media time) → which mark comes back when.
    let mut last_ts = 0;
    let mut phase = 0;
    let mut sent_at = 0;
    let mut echoes: Vec<(String, u64)> = vec![];
    loop {
        match c.next().await {
            Inbound::Media { media, .. } => {
                last_ts = media.timestamp_ms;
                match (phase, last_ts) {
                    (0, 400) => {
                        // Nothing queued: a mark comes straight back.
                        c.send(mark("idle"));
                        sent_at = last_ts;
                        phase = 1;
                    }
                    (2, _) => {
                        // 1 s of silence, then a 5 (billing), a mark after it, then `clear`
                        // before the 5 can play: the 5 never reaches the menu, the mark
                        // comes back at once.
                        let mut audio = silence(1000);
                        audio.extend(tone('5', 100));
                        c.play(&stream_sid, &audio);
                        c.send(mark("before-clear"));
                        c.send(json!({"event": "clear", "streamSid": stream_sid}));
                        sent_at = last_ts;
                        phase = 3;
                    }
                    (4, t) if t >= sent_at + 1500 => {
                        // Well past where the 5 would have played: then 2 s of audio, a mark.
                        c.play(&stream_sid, &silence(2000));
                        c.send(mark("two-seconds"));
                        sent_at = last_ts;
                        phase = 5;
                    }
                    _ => {}
                }
            }
            Inbound::Mark { name, .. } => {
                echoes.push((name.clone(), last_ts));
                match (phase, name.as_str()) {
                    (1, "idle") => {
                        assert!(last_ts <= sent_at + 60, "idle mark after {last_ts} ms");
                        phase = 2;
                    }
                    (3, "before-clear") => {
                        assert!(
                            last_ts <= sent_at + 200,
                            "a cleared mark comes back at once, not after its audio ({last_ts} ms)"
                        );
                        phase = 4;
                    }
                    (5, "two-seconds") => {
                        assert!(
                            last_ts >= sent_at + 2000 && last_ts <= sent_at + 2300,
                            "2 s of audio sent at {sent_at} ms, mark after {last_ts} ms"
                        );
                        break;
                    }
                    _ => panic!("unexpected mark {name} in phase {phase}: {echoes:?}"),
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        !sim.pressed(&sid).iter().any(|p| p.1 == '5'),
        "a cleared key is never pressed: {:?}",
        sim.pressed(&sid)
    );
    assert!(matches!(
        sim.carrier.line_state(&sid),
        Some(LineState::Menu { .. })
    ));
    // The server closes the socket: the call goes on to <Hangup/>.
    c.tx.send(None).unwrap();
    for _ in 0..500 {
        if sim.carrier.live_calls() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sim.carrier.live_calls(), 0);
    assert!(sim.carrier.application_errors().is_empty());
}

//! The carrier streams the clinic's rendered audio over a real Media Streams WebSocket: the
//! person's greeting, exactly as rendered, in 20 ms µ-law frames with media timestamps.

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::routing::get;
use std::sync::{Arc, Mutex};
use switchboard_sim::{Carrier, CarrierConfig, SimClock, World};

/// A received media frame: (timestamp ms, µ-law payload).
type Frame = (u64, Vec<u8>);

const WORLD: &str = r#"
[[clinic]]
name = "Person Clinic"
phone = "+13125550001"
timezone = "UTC"
kind = "person"
answer_probability = 1.0
ring_seconds = 1.0
greeting = "Thank you for calling Main Street Clinic, this is Sarah, how can I help you?"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_stream_carries_the_greeting() {
    // A Media Streams server that records what it receives, then closes after 3 s of media.
    let got: Arc<Mutex<Vec<Frame>>> = Arc::default();
    let rec = got.clone();
    let app = axum::Router::new().route(
        "/media",
        get(move |ws: WebSocketUpgrade| {
            let rec = rec.clone();
            async move {
                ws.on_upgrade(move |mut socket| async move {
                    while let Some(Ok(Message::Text(t))) = socket.recv().await {
                        if let Ok(switchboard_twilio::media::Inbound::Media { media, .. }) =
                            switchboard_twilio::media::parse(&t)
                        {
                            rec.lock()
                                .unwrap()
                                .push((media.timestamp_ms, media.payload));
                            if media.timestamp_ms >= 3000 {
                                break;
                            }
                        }
                    }
                    let _ = socket.send(Message::Close(None)).await;
                })
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_url = format!("ws://{}/media", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });

    let carrier = Carrier::new(CarrierConfig {
        account_sid: "AC00000000000000000000000000000001".into(),
        auth_token: "token".into(),
        api_key: None,
        cps: 100.0,
        world: Arc::new(World::parse(WORLD).unwrap()),
        day: Default::default(),
        clock: SimClock::new(4.0, Arc::new(chrono::Utc::now)),
        vapi_base: None,
        seed: 1,
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let router = carrier.router();
    tokio::spawn(async move { axum::serve(l, router).await });
    let twiml =
        format!(r#"<Response><Connect><Stream url="{ws_url}"/></Connect><Hangup/></Response>"#);
    let r = reqwest::Client::new()
        .post(format!(
            "{base}/2010-04-01/Accounts/AC00000000000000000000000000000001/Calls.json"
        ))
        .basic_auth("AC00000000000000000000000000000001", Some("token"))
        .form(&[
            ("To", "+13125550001"),
            ("From", "+15005550006"),
            ("Twiml", twiml.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for _ in 0..200 {
        if got.lock().unwrap().last().is_some_and(|(t, _)| *t >= 3000) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let frames = got.lock().unwrap().clone();
    assert!(frames.len() >= 150, "{} frames", frames.len());
    assert!(
        frames.windows(2).all(|w| w[1].0 == w[0].0 + 20),
        "20 ms apart by media timestamp"
    );
    assert!(frames.iter().all(|(_, p)| p.len() == 160));
    let audio: Vec<u8> = frames.iter().flat_map(|(_, p)| p.clone()).collect();
    let greeting = switchboard_sim::audio::clip(
        "speech:Thank you for calling Main Street Clinic, this is Sarah, how can I help you?",
    )
    .unwrap();
    // The stream starts a moment after answer: find the streamed audio inside the clip.
    let probe = &audio[800..1600];
    assert!(
        greeting.windows(probe.len()).any(|w| w == probe),
        "streamed bytes are the rendered greeting"
    );
    assert!(carrier.application_errors().is_empty());
}

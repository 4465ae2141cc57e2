//! The Media Streams route over a real WebSocket: signature on the upgrade, the stream's session
//! checked at `start`, malformed messages counted without harm.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use switchboard_twilio::media::build;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

async fn connect(
    app: &TestApp,
    signed: bool,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    u16,
> {
    let url = format!("{}/twilio/media", app.addr.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().unwrap();
    if signed {
        let sig = switchboard_core::signature::compute(
            AUTH_TOKEN,
            "wss://switchboard.example.test/twilio/media",
            &[],
        );
        req.headers_mut()
            .insert("x-twilio-signature", sig.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_upgrades_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(connect(&app, false).await.err(), Some(403));
}

/// Plays a corpus clip as Twilio would: 20 ms frames at real-time pace (absolute deadlines),
/// until the server closes the socket or the clip (plus `tail_ms` of silence) ends.
async fn play_realtime(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    clip: &str,
    tail_ms: u64,
) -> Vec<String> {
    let mut audio = std::fs::read(format!(
        "{}/../../corpus/clips/{clip}.ulaw",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    audio.extend(std::iter::repeat_n(0xFF, (tail_ms * 8) as usize));
    let start = tokio::time::Instant::now();
    let mut from_server = Vec::new();
    for (i, chunk) in audio.chunks(160).enumerate() {
        let i = i as u64;
        let due = start + std::time::Duration::from_millis(i * 20);
        // Read what the server sent meanwhile; stop when it closes.
        loop {
            match tokio::time::timeout_at(due, ws.next()).await {
                Err(_) => break,
                Ok(Some(Ok(Message::Text(t)))) => from_server.push(t.to_string()),
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    return from_server;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
        if ws
            .send(Message::text(build::media(
                i + 2,
                "MZ1",
                false,
                i + 1,
                i * 20,
                chunk,
            )))
            .await
            .is_err()
        {
            return from_server;
        }
    }
    from_server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn navigate_mode_hands_a_person_to_the_assistant_by_rest_and_caches_it() {
    let app = spawn_app(Backend::Sqlite).await;
    let p = app.create_pending("+14155550500").await;
    let pid = p["id"].as_str().unwrap();
    app.state.dispatcher.run_once().await.unwrap();
    let s = app.sessions(pid).await.remove(0);
    let (sid, csid) = (s["id"].as_str().unwrap(), s["call_id"].as_str().unwrap());
    let mut ws = connect(&app, true).await.unwrap();
    ws.send(Message::text(build::connected())).await.unwrap();
    ws.send(Message::text("{not json")).await.unwrap();
    ws.send(Message::text(build::start(
        1,
        "MZ1",
        csid,
        &[("pending_call_id", pid), ("session_id", sid)],
        false,
    )))
    .await
    .unwrap();
    // "Lakeview Clinic, how may I help you?"-style greeting, then silence: a person.
    let started = std::time::Instant::now();
    play_realtime(&mut ws, "human-001", 3000).await;
    let elapsed = started.elapsed();
    let update = app
        .twilio
        .recorded()
        .into_iter()
        .find(|r| r.path.ends_with(&format!("/Calls/{csid}.json")))
        .expect("the call was updated by REST");
    let twiml = update.param("Twiml").expect("Twiml");
    fn find<'a>(n: &'a Node, name: &str) -> Option<&'a Node> {
        if n.name == name {
            return Some(n);
        }
        n.children.iter().find_map(|c| find(c, name))
    }
    let doc = parse_xml(&twiml);
    let sip = find(&doc, "Sip").expect("a <Sip>");
    assert!(
        sip.text.contains(&format!("X-pendingcallid={pid}")),
        "{twiml}"
    );
    assert!(
        !sip.text.contains("session"),
        "only the pending call id: {twiml}"
    );
    // Handed over while the clip's silence was still playing: the server closed the socket.
    assert!(
        elapsed
            < std::time::Duration::from_millis(
                std::fs::metadata(format!(
                    "{}/../../corpus/clips/human-001.ulaw",
                    env!("CARGO_MANIFEST_DIR")
                ))
                .unwrap()
                .len()
                    / 8
                    + 3000
            )
    );
    let s = app.sessions(pid).await.remove(0);
    assert_eq!(s["detected_classification"], "human");
    let handoff = s["handoff_at_ms"].as_i64().expect("hand-off time");
    assert!(handoff > 0);
    let c = app
        .store
        .active_classification(
            &switchboard_core::E164::parse("+14155550500").unwrap(),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .expect("cached");
    assert_eq!(
        c.classification_type,
        switchboard_core::ClassificationType::Human
    );
    assert_eq!(c.source, "classifier");
    assert_eq!(
        c.source_session_id.map(|u| u.to_string()).as_deref(),
        Some(sid)
    );
    let text = app.metrics().await;
    assert!(
        text.contains("switchboard_media_streams_total{result=\"accepted\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_media_malformed_total 1"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_handoffs_total{method=\"rest\"} 1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn navigate_mode_hangs_up_on_a_disconnected_number_and_never_retries_it() {
    let app = spawn_app(Backend::Sqlite).await;
    let p = app.create_pending("+14155550501").await;
    let pid = p["id"].as_str().unwrap();
    app.state.dispatcher.run_once().await.unwrap();
    let s = app.sessions(pid).await.remove(0);
    let (sid, csid) = (s["id"].as_str().unwrap(), s["call_id"].as_str().unwrap());
    let mut ws = connect(&app, true).await.unwrap();
    ws.send(Message::text(build::connected())).await.unwrap();
    ws.send(Message::text(build::start(
        1,
        "MZ1",
        csid,
        &[("pending_call_id", pid), ("session_id", sid)],
        false,
    )))
    .await
    .unwrap();
    play_realtime(&mut ws, "sit-000", 1000).await;
    let update = app
        .twilio
        .recorded()
        .into_iter()
        .find(|r| r.path.ends_with(&format!("/Calls/{csid}.json")))
        .expect("the call was ended by REST");
    assert_eq!(update.param("Status").as_deref(), Some("completed"));
    app.status_callback(sid, csid, "completed", 4, &[]).await;
    let p = app.pending(pid).await;
    assert_eq!(p["call_status"], "failed", "{p}");
    let s = app.sessions(pid).await.remove(0);
    assert_eq!(s["detected_classification"], "disconnected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_for_an_unknown_session_is_closed() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut ws = connect(&app, true).await.unwrap();
    let fake = uuid::Uuid::new_v4().to_string();
    ws.send(Message::text(build::start(
        1,
        "MZ1",
        "CA00000000000000000000000000000001",
        &[("session_id", &fake)],
        false,
    )))
    .await
    .unwrap();
    while let Some(Ok(m)) = ws.next().await {
        if m.is_close() {
            break;
        }
    }
    let text = app.metrics().await;
    assert!(
        text.contains("switchboard_media_streams_total{result=\"unknown_session\"} 1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_observe_mode_the_stream_is_classified_and_recorded() {
    let app = spawn_app_with(Backend::Sqlite, &[("SWITCHBOARD_CLASSIFY_MODE", "observe")]).await;
    for (clip, expected) in [("human-001", "human"), ("sit-000", "disconnected")] {
        let p = app.create_pending("+14155550510").await;
        let pid = p["id"].as_str().unwrap().to_string();
        app.state.dispatcher.run_once().await.unwrap();
        let s = app.sessions(&pid).await.remove(0);
        let (sid, csid) = (
            s["id"].as_str().unwrap().to_string(),
            s["call_id"].as_str().unwrap().to_string(),
        );
        let mut ws = connect(&app, true).await.unwrap();
        ws.send(Message::text(build::connected())).await.unwrap();
        ws.send(Message::text(build::start(
            1,
            "MZ1",
            &csid,
            &[("pending_call_id", &pid), ("session_id", &sid)],
            true,
        )))
        .await
        .unwrap();
        let audio = std::fs::read(format!(
            "{}/../../corpus/clips/{clip}.ulaw",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        for (i, chunk) in audio.chunks(160).enumerate() {
            let i = i as u64;
            ws.send(Message::text(build::media(
                i + 2,
                "MZ1",
                false,
                i + 1,
                i * 20,
                chunk,
            )))
            .await
            .unwrap();
            // the outbound track (the assistant) is ignored by the classifier
            ws.send(Message::text(build::media(
                i + 2,
                "MZ1",
                true,
                i + 1,
                i * 20,
                &[0xff; 160],
            )))
            .await
            .unwrap();
        }
        ws.send(Message::text(build::stop(9999, "MZ1", &csid)))
            .await
            .unwrap();
        let _ = ws.close(None).await;
        let mut detected = serde_json::Value::Null;
        for _ in 0..100 {
            detected = app.sessions(&pid).await[0]["detected_classification"].clone();
            if !detected.is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(detected, expected, "{clip}");
        let s = app.sessions(&pid).await.remove(0);
        assert!(s["detection_decided_at_ms"].as_i64().unwrap() > 0);
        app.status_callback(&sid, &csid, "completed", 5, &[]).await;
    }
}

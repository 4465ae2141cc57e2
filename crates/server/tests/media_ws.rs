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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_for_a_known_session_is_accepted_then_handed_back() {
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
    // Until the classifier is wired in, the server closes after `start` so Twilio continues with
    // the fallback <Dial><Sip>.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(Message::Close(_)) | Err(_) => return true,
                _ => {}
            }
        }
        true
    })
    .await
    .unwrap();
    assert!(closed);
    let text = app.metrics().await;
    assert!(
        text.contains("switchboard_media_streams_total{result=\"accepted\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_media_malformed_total 1"),
        "{text}"
    );
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

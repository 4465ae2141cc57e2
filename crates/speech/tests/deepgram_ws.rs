//! The Deepgram client against a local WebSocket server that speaks Deepgram's live protocol:
//! the request (path, query, `Token` auth), binary µ-law frames in, interim and final `Results`
//! out, `CloseStream` at the end.

use axum::extract::RawQuery;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::routing::get;
use std::sync::{Arc, Mutex};
use switchboard_speech::{DeepgramConfig, DeepgramStream};

#[derive(Default)]
struct Seen {
    query: String,
    auth: String,
    audio_bytes: usize,
    close_stream: bool,
}

#[tokio::test]
async fn streams_audio_and_reads_interim_and_final_results() {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/v1/listen",
        get(move |ws: WebSocketUpgrade, RawQuery(q): RawQuery, headers: HeaderMap| {
            let s = s.clone();
            async move {
                {
                    let mut g = s.lock().unwrap();
                    g.query = q.unwrap_or_default();
                    g.auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                }
                ws.on_upgrade(move |mut socket| async move {
                    let mut sent_interim = false;
                    while let Some(Ok(m)) = socket.recv().await {
                        match m {
                            Message::Binary(b) => {
                                let total = {
                                    let mut g = s.lock().unwrap();
                                    g.audio_bytes += b.len();
                                    g.audio_bytes
                                };
                                if total >= 8000 && !sent_interim {
                                    sent_interim = true;
                                    let r = r#"{"type":"Results","channel_index":[0,1],"duration":0.8,"start":0.2,"is_final":false,"speech_final":false,"channel":{"alternatives":[{"transcript":"for scheduling","confidence":0.7,"words":[]}]}}"#;
                                    socket.send(Message::text(r)).await.unwrap();
                                }
                            }
                            Message::Text(t) if t.contains("CloseStream") => {
                                s.lock().unwrap().close_stream = true;
                                let r = r#"{"type":"Results","channel_index":[0,1],"duration":1.6,"start":0.2,"is_final":true,"speech_final":true,"channel":{"alternatives":[{"transcript":"For scheduling, press two.","confidence":0.97,"words":[]}]}}"#;
                                socket.send(Message::text(r)).await.unwrap();
                                socket.send(Message::text(r#"{"type":"Metadata","request_id":"r"}"#)).await.unwrap();
                                let _ = socket.send(Message::Close(None)).await;
                                break;
                            }
                            _ => {}
                        }
                    }
                })
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("ws://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });

    let mut cfg = DeepgramConfig::new("dg-key-123");
    cfg.base_url = base;
    let mut stream = DeepgramStream::connect(&cfg).await.unwrap();
    for _ in 0..60 {
        stream.send(&[0xffu8; 160]).await.unwrap();
    }
    let interim = stream.next_transcript().await.unwrap().unwrap();
    assert_eq!(interim.text, "for scheduling");
    assert!(!interim.is_final);
    stream.finish().await;
    let fin = stream.next_transcript().await.unwrap().unwrap();
    assert_eq!(fin.text, "For scheduling, press two.");
    assert!(fin.is_final);
    assert_eq!((fin.start_ms, fin.end_ms), (200, 1800));
    assert!(
        stream.next_transcript().await.is_none(),
        "stream ends when the server closes"
    );
    let g = seen.lock().unwrap();
    assert_eq!(g.auth, "Token dg-key-123");
    assert!(
        g.query
            .starts_with("encoding=mulaw&sample_rate=8000&channels=1&model=nova-3"),
        "{}",
        g.query
    );
    assert_eq!(g.audio_bytes, 9600);
    assert!(g.close_stream);
}

#[tokio::test]
async fn a_rejected_key_is_a_connect_error_without_the_key() {
    let app = axum::Router::new().route(
        "/v1/listen",
        get(|| async { (axum::http::StatusCode::UNAUTHORIZED, "nope") }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("ws://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    let mut cfg = DeepgramConfig::new("dg-secret");
    cfg.base_url = base;
    let e = DeepgramStream::connect(&cfg).await.err().unwrap();
    assert!(e.to_string().contains("401"), "{e}");
    assert!(!e.to_string().contains("dg-secret"));
}

//! Names, dates of birth and phone numbers never reach the logs, even on error paths.

mod common;

use common::*;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_personal_data() {
    let buf = Buffer::default();
    let writer = buf.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug,sqlx=warn,hyper=warn,reqwest=warn")
        .with_writer(move || writer.clone())
        .init();

    let app = spawn_app(Backend::Sqlite).await;
    // Twilio's own error text quotes the number.
    app.twilio.script.lock().unwrap().push((
        400,
        json!({"code": 21211, "message": "The 'To' number +14155550777 is not a valid phone number.", "status": 400}),
    ));
    let p = app.create_pending("+14155550777").await;
    app.state.dispatcher.run_once().await.unwrap();
    assert_eq!(
        app.pending(p["id"].as_str().unwrap()).await["call_status"],
        "failed"
    );
    // A full successful path, plus rejected input.
    let p = app.create_pending("+14155550778").await;
    let pid = p["id"].as_str().unwrap();
    app.state.dispatcher.run_once().await.unwrap();
    let s = app.sessions(pid).await.remove(0);
    let (sid, csid) = (s["id"].as_str().unwrap(), s["call_id"].as_str().unwrap());
    app.status_callback(sid, csid, "in-progress", 2, &[]).await;
    app.twilio_post(
        &format!("/twilio/voice/{sid}"),
        &[("CallSid", csid), ("To", "+14155550778")],
    )
    .await;
    app.vapi_post(json!({"message": {"type": "assistant-request", "call": {"assistantOverrides": {"variableValues": {"pendingcallid": pid}}}}}))
        .await;
    app.admin_post("/api/v1/pending-calls", json!({"exam_id": "E", "employee_name": "Jane Q. Employee", "phone": "+1 415 555 07", "appointment_time": "x"}))
        .await;
    let unsigned = app
        .http
        .post(format!("{}/twilio/status/{sid}", app.addr))
        .body("To=%2B14155550778")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("Twilio did not place the call"),
        "the error path was logged:\n{logs}"
    );
    for secret in [
        "Jane",
        "Employee",
        "1985-04-12",
        "4155550777",
        "4155550778",
        "555-07",
        AUTH_TOKEN,
        API_TOKEN,
        VAPI_SECRET,
    ] {
        assert!(
            !logs.contains(secret),
            "`{secret}` leaked into logs:\n{logs}"
        );
    }
}

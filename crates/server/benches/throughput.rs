//! Throughput benchmark: `cargo bench -p switchboard --bench throughput [-- --calls N --rps R --secs S]`
//!
//! 1. Dispatch throughput on SQLite and PostgreSQL: N pending calls are claimed (claim + session
//!    in one transaction), each create-call request is sent to a local recording Twilio and the
//!    CallSid stored; reported as dispatches per second.
//! 2. TwiML webhook latency: signed `POST /twilio/voice/{session}` requests at a fixed rate
//!    (open loop) against the real server; reported as latency percentiles.
//!
//! PostgreSQL comes from `SWITCHBOARD_TEST_PG` (or the local service); `scripts/bench.sh` starts a
//! throwaway cluster like the tests do.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::app::Clock;
use switchboard::dispatcher::Dispatcher;
use switchboard_store::Store;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn insert_calls(store: &Store, backend: Backend, n: u64) {
    let now = chrono::Utc::now();
    match backend {
        Backend::Postgres => {
            sqlx::query(
                "INSERT INTO pending_calls (exam_id, employee_name, phone, phone_e164, appointment_time, clinic_timezone) \
                 SELECT 'EX-' || g, 'Person ' || g, '+1415' || lpad(g::text, 7, '0'), '+1415' || lpad(g::text, 7, '0'), now(), 'America/New_York' \
                 FROM generate_series(1, $1) g",
            )
            .bind(n as i64)
            .execute(store.pg_pool().unwrap())
            .await
            .unwrap();
        }
        Backend::Sqlite => {
            let pool = store.sqlite_pool().unwrap();
            let ts = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            sqlx::query(
                "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $1) \
                 INSERT INTO pending_calls (exam_id, employee_name, phone, phone_e164, appointment_time, clinic_timezone) \
                 SELECT 'EX-' || x, 'Person ' || x, '+1415' || printf('%07d', x), '+1415' || printf('%07d', x), $2, 'America/New_York' FROM g",
            )
            .bind(n as i64)
            .bind(ts)
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

async fn dispatch_throughput(backend: Backend, n: u64) -> f64 {
    let db = fresh_database(backend).await;
    let store = Store::connect_with(&db, 16).await.unwrap();
    store.migrate().await.unwrap();
    insert_calls(&store, backend, n).await;
    let twilio = FakeTwilio::default();
    let base = twilio.start().await;
    let settings = test_settings(
        &db,
        &base,
        &[
            ("SWITCHBOARD_MAX_IN_FLIGHT", "10000"),
            ("SWITCHBOARD_CALLS_PER_SECOND", "10000"),
            ("SWITCHBOARD_DISPATCH_WINDOW", "any"),
        ],
    );
    let d = Dispatcher::new(
        Arc::new(settings),
        store.clone(),
        Default::default(),
        Clock::default(),
    )
    .unwrap();
    let started = Instant::now();
    let mut claimed = 0;
    while claimed < n as usize {
        let r = d.run_once().await.unwrap();
        assert_eq!(r.dial_failed, 0);
        if r.claimed == 0 {
            break;
        }
        claimed += r.claimed;
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        twilio.recorded().len(),
        n as usize,
        "every call dialled once"
    );
    store.close().await;
    n as f64 / secs
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn twiml_latency(backend: Backend, rps: u64, secs: u64) -> (usize, f64, f64, f64, f64) {
    let app = spawn_app(backend).await;
    // 200 sessions of a known-human clinic; each request asks for TwiML for one of them.
    app.admin_put(
        "/api/v1/classifications/+14155550100",
        serde_json::json!({"classification_type": "human"}),
    )
    .await;
    let mut sessions = Vec::new();
    for _ in 0..200 {
        let p = app.create_pending("+14155550100").await;
        let r = app
            .admin_post(
                &format!(
                    "/api/v1/pending-calls/{}/dispatch",
                    p["id"].as_str().unwrap()
                ),
                serde_json::json!({}),
            )
            .await;
        let v: serde_json::Value = r.json().await.unwrap();
        sessions.push(v["session_id"].as_str().unwrap().to_string());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let app = Arc::new(app);
    let sessions = Arc::new(sessions);
    let total = rps * secs;
    let interval = Duration::from_secs_f64(1.0 / rps as f64);
    let start = tokio::time::Instant::now();
    let mut handles = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let app = app.clone();
        let sessions = sessions.clone();
        handles.push(tokio::spawn(async move {
            let sid = &sessions[i as usize % sessions.len()];
            let t = Instant::now();
            let r = app
                .twilio_post(
                    &format!("/twilio/voice/{sid}"),
                    &[
                        ("CallSid", "CA00000000000000000000000000000000"),
                        ("CallStatus", "in-progress"),
                    ],
                )
                .await;
            assert_eq!(r.status(), 200);
            let _ = r.text().await;
            t.elapsed()
        }));
    }
    let mut lat = Vec::with_capacity(handles.len());
    for h in handles {
        lat.push(h.await.unwrap());
    }
    let achieved = lat.len() as f64 / start.elapsed().as_secs_f64();
    lat.sort();
    (
        lat.len(),
        achieved,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 0.999),
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let calls = arg("--calls", 5000);
    let rps = arg("--rps", 1000);
    let secs = arg("--secs", 10);
    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::env::consts::ARCH
    );
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let tput = dispatch_throughput(backend, calls).await;
        println!(
            "dispatch throughput {backend:?}: {calls} calls, {tput:.0} dispatches/s (claim + session + Twilio request + CallSid stored)"
        );
    }
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (n, achieved, p50, p99, p999) = twiml_latency(backend, rps, secs).await;
        println!(
            "TwiML webhook {backend:?}: {n} requests at {achieved:.0} req/s (target {rps}); latency p50 {p50:.2} ms, p99 {p99:.2} ms, p99.9 {p999:.2} ms (client-measured, client and server share the machine)"
        );
    }
}

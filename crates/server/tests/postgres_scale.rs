//! PostgreSQL-only behaviour: many dispatcher instances sharing one database, and the seed's
//! success-metrics SQL running unchanged.

mod common;

use common::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use switchboard::app::Clock;
use switchboard::dispatcher::Dispatcher;
use switchboard_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_dispatchers_dial_each_attempt_exactly_once() {
    const CALLS: usize = 300;
    const INSTANCES: usize = 4;
    let app = spawn_app(Backend::Postgres).await;
    let pool = app.store.pg_pool().unwrap().clone();
    // Insert as the external system would, straight into the table.
    sqlx::query(
        "INSERT INTO pending_calls (exam_id, employee_name, phone, appointment_time, clinic_timezone) \
         SELECT 'EX-' || g, 'Person ' || g, '+1415555' || lpad(g::text, 4, '0'), now(), 'America/New_York' \
         FROM generate_series(1, $1) g",
    )
    .bind(CALLS as i32)
    .execute(&pool)
    .await
    .unwrap();

    // Every instance talks to the same recording Twilio.
    let twilio_base = app.twilio.start().await;
    let mut handles = Vec::new();
    for _ in 0..INSTANCES {
        let settings = test_settings(
            &app.db_url,
            &twilio_base,
            &[("SWITCHBOARD_MAX_IN_FLIGHT", "10000")],
        );
        let store = Store::connect_with(&app.db_url, 5).await.unwrap();
        let d = Arc::new(
            Dispatcher::new(
                Arc::new(settings),
                store,
                Default::default(),
                Clock::default(),
            )
            .unwrap(),
        );
        handles.push(tokio::spawn(async move {
            let mut claimed = 0;
            // small passes so the instances interleave
            for _ in 0..200 {
                let r = d.run_once().await.unwrap();
                claimed += r.claimed;
                if r.claimed == 0 {
                    break;
                }
            }
            claimed
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(
        total, CALLS,
        "every pending call claimed once across instances"
    );
    let reqs = app.twilio.recorded();
    assert_eq!(reqs.len(), CALLS, "exactly one Twilio create per attempt");
    let urls: HashSet<String> = reqs.iter().map(|r| r.param("Url").unwrap()).collect();
    assert_eq!(urls.len(), CALLS, "no session dialled twice");
    let tos: HashSet<String> = reqs.iter().map(|r| r.param("To").unwrap()).collect();
    assert_eq!(tos.len(), CALLS, "no clinic dialled twice");
    let per_pending: Vec<(i64,)> =
        sqlx::query_as("SELECT COUNT(*) FROM call_sessions GROUP BY pending_call_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(per_pending.len(), CALLS);
    assert!(per_pending.iter().all(|(n,)| *n == 1));
    let with_sid: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM call_sessions WHERE call_id IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(with_sid, CALLS as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_success_metrics_sql_runs_unchanged() {
    let app = spawn_app(Backend::Postgres).await;
    let pool = app.store.pg_pool().unwrap().clone();
    let mut ids = Vec::new();
    for i in 0..5 {
        let p = app.create_pending(&format!("+1415555020{i}")).await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    // Two complete, one is busy (retry scheduled), two are untouched.
    app.state.dispatcher.run_once().await.unwrap();
    let mut sessions = HashMap::new();
    for id in &ids {
        let s = app.sessions(id).await.remove(0);
        sessions.insert(
            id.clone(),
            (
                s["id"].as_str().unwrap().to_string(),
                s["call_id"].as_str().unwrap().to_string(),
            ),
        );
    }
    for id in &ids[..2] {
        let (sid, csid) = &sessions[id];
        app.twilio_post(
            &format!("/twilio/dial/{sid}"),
            &[("CallSid", csid), ("DialCallStatus", "completed")],
        )
        .await;
        app.vapi_post(serde_json::json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
            "call": {"assistantOverrides": {"variableValues": {"pendingcallid": id}}}, "artifact": {}, "analysis": {"successEvaluation": true}}}))
            .await;
    }
    let (sid, csid) = &sessions[&ids[2]];
    app.status_callback(sid, csid, "busy", 2, &[]).await;

    // The seed's "Success metrics" query, verbatim.
    let row: (i64, i64) = sqlx::query_as(
        "SELECT 
  COUNT(*) as total_calls,
  SUM(CASE WHEN call_status = 'completed' THEN 1 ELSE 0 END) as successful
FROM pending_calls
WHERE appointment_time::date = CURRENT_DATE;",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // appointment_time::date uses the session time zone, like the seed; all five are "now".
    let today: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pending_calls WHERE appointment_time::date = CURRENT_DATE",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.0, today);
    assert_eq!(row.0, 5);
    assert_eq!(row.1, 2);
    // The seed's status-management statements also run unchanged.
    sqlx::query(
        "SELECT * FROM call_sessions 
WHERE pending_call_id = $1::uuid
ORDER BY created_at DESC;",
    )
    .bind(&ids[0])
    .fetch_all(&pool)
    .await
    .unwrap();
}

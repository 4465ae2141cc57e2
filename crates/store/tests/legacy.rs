//! `migrate` upgrades the legacy layout (`pending_calls.call_session_id`, no
//! `call_sessions.pending_call_id`) on PostgreSQL without losing a row.

use switchboard_core::{PendingCallId, PendingStatus, SessionStatus};
use switchboard_store::Store;
use switchboard_store::testing::{Backend, fresh_database};

#[tokio::test]
async fn legacy_layout_is_upgraded_without_losing_a_row() {
    let url = fresh_database(Backend::Postgres).await;
    let store = Store::connect(&url).await.unwrap();
    let pool = store.pg_pool().unwrap().clone();
    sqlx::raw_sql(include_str!("fixtures/legacy_postgres.sql"))
        .execute(&pool)
        .await
        .unwrap();

    let report = store.migrate().await.unwrap();
    let up = report.legacy_upgrade.expect("legacy layout detected");
    // The legacy upgrade lands the current layout (1), then the later migrations apply.
    assert_eq!(report.applied, vec![1, 2]);
    assert_eq!(up.pending_calls, 4);
    assert_eq!(up.call_sessions, 3);
    assert_eq!(
        up.orphan_sessions, 1,
        "the session no pending call pointed at stays in legacy_call_sessions"
    );
    assert_eq!(
        up.call_classifications, 1,
        "only the valid E.164 + known type row carries over"
    );
    assert_eq!(up.skipped_classifications, 2);

    // The old column is gone, the new link exists and was backfilled.
    let old: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'pending_calls' AND column_name = 'call_session_id'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(old, 0);
    let id = |s: &str| PendingCallId::parse(s).unwrap();
    let one = store
        .list_sessions(id("a0000000-0000-4000-8000-000000000001"))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].call_id.as_deref(),
        Some("CA00000000000000000000000000000001")
    );
    assert_eq!(one[0].attempt_number, 1);
    assert_eq!(one[0].ivr_detected, Some(true));
    assert!(one[0].classification_id.is_some());
    let two = store
        .list_sessions(id("a0000000-0000-4000-8000-000000000002"))
        .await
        .unwrap();
    assert_eq!(
        two[0].call_status,
        SessionStatus::NoAnswer,
        "Twilio's hyphenated status mapped"
    );
    let three = store
        .list_sessions(id("a0000000-0000-4000-8000-000000000003"))
        .await
        .unwrap();
    assert_eq!(
        three[0].call_status,
        SessionStatus::Failed,
        "a legacy open session does not stay in flight"
    );
    assert_eq!(store.count_in_flight().await.unwrap(), 0);

    // Statuses mapped onto the current state machine; data intact.
    let p1 = store
        .get_pending_call(id("a0000000-0000-4000-8000-000000000001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p1.call_status, PendingStatus::Completed);
    assert_eq!(p1.employee_name, "Ann One");
    assert_eq!(p1.procedures.as_deref(), Some("DOT"));
    let p2 = store
        .get_pending_call(id("a0000000-0000-4000-8000-000000000002"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        p2.call_status,
        PendingStatus::NeedsManual,
        "unknown legacy status goes to a person"
    );
    let p3 = store
        .get_pending_call(id("a0000000-0000-4000-8000-000000000003"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p3.call_status, PendingStatus::RetryScheduled);
    let p4 = store
        .get_pending_call(id("a0000000-0000-4000-8000-000000000004"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p4.call_status, PendingStatus::Pending);
    assert!(
        p4.phone_e164.is_none(),
        "intake normalises it on the next dispatcher pass"
    );

    // Every legacy row is still there, extra columns included.
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM legacy_pending_calls WHERE legacy_notes = 'vip'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kept, 1);
    let legacy_sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM legacy_call_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(legacy_sessions, 4);

    // Running migrate again changes nothing.
    let again = store.migrate().await.unwrap();
    assert!(again.legacy_upgrade.is_none());
    assert!(again.applied.is_empty());
}

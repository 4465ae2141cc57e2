//! One conformance suite, run against embedded SQLite and a real PostgreSQL: every behaviour the
//! service relies on, at the storage interface.

use chrono::{Duration, Utc};
use switchboard_core::retry::{AttemptOutcome, RetryPolicy};
use switchboard_core::status::{ClaimOrigin, TransitionError};
use switchboard_core::{
    ClassificationType, E164, IvrAction, IvrActions, PendingStatus, SessionStatus,
};
use switchboard_store::testing::{Backend, fresh_database};
use switchboard_store::{
    CallProgress, ClaimError, Finish, NewClassification, NewPendingCall, ProgressApplied, Store,
};

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

conformance!(
    migrate_is_idempotent,
    insert_and_read_back_every_field,
    claim_due_claims_each_due_call_once,
    claim_due_respects_window_backoff_and_attempts,
    claim_one_enforces_transitions,
    finish_attempt_applies_exactly_once,
    progress_never_moves_backwards,
    classification_prechecks_and_replacement,
    check_constraints_reject_bad_statuses,
    navigation_is_recorded_on_the_session,
);

async fn store(b: Backend) -> Store {
    let s = Store::connect(&fresh_database(b).await).await.unwrap();
    s.migrate().await.unwrap();
    s
}

fn new_call(phone: &str, at: chrono::DateTime<Utc>) -> NewPendingCall {
    NewPendingCall {
        exam_id: "EX-1".into(),
        employee_name: "Pat Example".into(),
        employee_dob: chrono::NaiveDate::from_ymd_opt(1990, 1, 2),
        client_name: Some("Acme".into()),
        clinic_name: None,
        phone: phone.into(),
        phone_e164: E164::parse(phone).unwrap(),
        appointment_time: at,
        clinic_timezone: "America/Chicago".into(),
        procedures: Some("audiogram".into()),
        instructions: None,
        assistant_context: Some(serde_json::json!({"language": "en"})),
        max_attempts: 3,
    }
}

fn window() -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let now = Utc::now();
    (now - Duration::hours(12), now + Duration::hours(12))
}

async fn migrate_is_idempotent(b: Backend) {
    let s = Store::connect(&fresh_database(b).await).await.unwrap();
    assert!(!s.is_migrated().await.unwrap());
    let r = s.migrate().await.unwrap();
    assert_eq!(r.applied, vec![1, 2]);
    let r = s.migrate().await.unwrap();
    assert!(r.applied.is_empty());
    assert_eq!(r.already_applied, vec![1, 2]);
    assert!(s.is_migrated().await.unwrap());
}

async fn insert_and_read_back_every_field(b: Backend) {
    let s = store(b).await;
    let at = Utc::now();
    let p = s
        .insert_pending_call(&new_call("+13125550100", at), at)
        .await
        .unwrap();
    let got = s.get_pending_call(p.id).await.unwrap().unwrap();
    assert_eq!(got.call_status, PendingStatus::Pending);
    assert_eq!(got.phone_e164.as_deref(), Some("+13125550100"));
    assert_eq!(
        got.employee_dob,
        chrono::NaiveDate::from_ymd_opt(1990, 1, 2)
    );
    assert_eq!(
        got.assistant_context,
        Some(serde_json::json!({"language": "en"}))
    );
    assert_eq!(
        got.appointment_time.timestamp_millis(),
        at.timestamp_millis()
    );
    assert_eq!(got.clinic_timezone.as_deref(), Some("America/Chicago"));
    assert!(
        s.get_pending_call(switchboard_core::PendingCallId::new_v4())
            .await
            .unwrap()
            .is_none()
    );
}

async fn claim_due_claims_each_due_call_once(b: Backend) {
    let s = store(b).await;
    let now = Utc::now();
    for i in 0..5 {
        s.insert_pending_call(&new_call(&format!("+1312555010{i}"), now), now)
            .await
            .unwrap();
    }
    let (from, until) = window();
    let first = s
        .claim_due("America/Chicago", from, until, now, 3)
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    let second = s
        .claim_due("America/Chicago", from, until, now, 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 2);
    assert!(
        s.claim_due("America/Chicago", from, until, now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.count_in_flight().await.unwrap(), 5);
    for c in first.iter().chain(&second) {
        assert_eq!(c.attempt_number, 1);
        let p = s
            .get_pending_call(c.pending_call_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.call_status, PendingStatus::Calling);
        assert_eq!(p.attempt_count, 1);
        let sess = s.get_session(c.session_id).await.unwrap().unwrap();
        assert_eq!(sess.call_status, SessionStatus::Initiating);
        assert!(sess.call_id.is_none());
    }
}

async fn claim_due_respects_window_backoff_and_attempts(b: Backend) {
    let s = store(b).await;
    let now = Utc::now();
    let (from, until) = window();
    // outside the window
    s.insert_pending_call(&new_call("+13125550200", now + Duration::days(2)), now)
        .await
        .unwrap();
    // other zone
    let mut other = new_call("+13125550201", now);
    other.clinic_timezone = "Europe/London".into();
    s.insert_pending_call(&other, now).await.unwrap();
    // due, then fails with backoff
    let p = s
        .insert_pending_call(&new_call("+13125550202", now), now)
        .await
        .unwrap();
    let c = s
        .claim_due("America/Chicago", from, until, now, 10)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].pending_call_id, p.id);
    let policy = RetryPolicy::default();
    let f = Finish {
        outcome: AttemptOutcome::Retryable,
        error_code: Some("call_busy".into()),
        error_message: None,
    };
    let after = s
        .finish_attempt(c[0].session_id, &f, &policy, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.call_status, PendingStatus::RetryScheduled);
    assert!(
        s.claim_due("America/Chicago", from, until, now, 10)
            .await
            .unwrap()
            .is_empty(),
        "backoff not elapsed"
    );
    let later = now + Duration::minutes(16);
    let c2 = s
        .claim_due("America/Chicago", from, until, later, 10)
        .await
        .unwrap();
    assert_eq!(c2.len(), 1);
    assert_eq!(c2[0].attempt_number, 2);
    let mut tz = s.due_timezones().await.unwrap();
    tz.sort();
    assert_eq!(tz, ["America/Chicago", "Europe/London"]);
}

async fn claim_one_enforces_transitions(b: Backend) {
    let s = store(b).await;
    let now = Utc::now();
    let p = s
        .insert_pending_call(&new_call("+13125550300", now), now)
        .await
        .unwrap();
    let c = s
        .claim_one(p.id, ClaimOrigin::Manual, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.to, "+13125550300");
    assert_eq!(
        s.claim_one(p.id, ClaimOrigin::Manual, now)
            .await
            .unwrap()
            .unwrap_err(),
        ClaimError::Transition(TransitionError::AlreadyCalling)
    );
    assert_eq!(
        s.claim_one(
            switchboard_core::PendingCallId::new_v4(),
            ClaimOrigin::Manual,
            now
        )
        .await
        .unwrap()
        .unwrap_err(),
        ClaimError::NotFound
    );
    let cancel = s.cancel_pending_call(p.id, now).await.unwrap().unwrap();
    assert_eq!(cancel.unwrap_err(), TransitionError::AlreadyCalling);
    let q = s
        .insert_pending_call(&new_call("+13125550301", now), now)
        .await
        .unwrap();
    let cancelled = s
        .cancel_pending_call(q.id, now)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.call_status, PendingStatus::Cancelled);
    assert_eq!(
        s.claim_one(q.id, ClaimOrigin::Manual, now)
            .await
            .unwrap()
            .unwrap_err(),
        ClaimError::Transition(TransitionError::Cancelled)
    );
}

async fn finish_attempt_applies_exactly_once(b: Backend) {
    let s = store(b).await;
    let now = Utc::now();
    let p = s
        .insert_pending_call(&new_call("+13125550400", now), now)
        .await
        .unwrap();
    let c = s
        .claim_one(p.id, ClaimOrigin::Manual, now)
        .await
        .unwrap()
        .unwrap();
    let policy = RetryPolicy::default();
    let ok = Finish {
        outcome: AttemptOutcome::Reached,
        error_code: None,
        error_message: None,
    };
    let done = s
        .finish_attempt(c.session_id, &ok, &policy, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.call_status, PendingStatus::Completed);
    let bad = Finish {
        outcome: AttemptOutcome::Retryable,
        error_code: Some("x".into()),
        error_message: None,
    };
    assert!(
        s.finish_attempt(c.session_id, &bad, &policy, now)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        s.get_pending_call(p.id).await.unwrap().unwrap().call_status,
        PendingStatus::Completed
    );
    // NotPlaced hands the attempt back
    let q = s
        .insert_pending_call(&new_call("+13125550401", now), now)
        .await
        .unwrap();
    let c = s
        .claim_one(q.id, ClaimOrigin::Manual, now)
        .await
        .unwrap()
        .unwrap();
    let np = Finish {
        outcome: AttemptOutcome::NotPlaced,
        error_code: Some("20429".into()),
        error_message: None,
    };
    let after = s
        .finish_attempt(c.session_id, &np, &policy, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.attempt_count, 0);
    assert_eq!(after.call_status, PendingStatus::RetryScheduled);
    assert!(
        !s.get_session(c.session_id)
            .await
            .unwrap()
            .unwrap()
            .counts_as_attempt
    );
    // the next attempt still gets a new attempt number
    let c2 = s
        .claim_one(q.id, ClaimOrigin::Manual, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.attempt_number, 2);
}

async fn progress_never_moves_backwards(b: Backend) {
    let s = store(b).await;
    let now = Utc::now();
    let p = s
        .insert_pending_call(&new_call("+13125550500", now), now)
        .await
        .unwrap();
    let c = s
        .claim_one(p.id, ClaimOrigin::Manual, now)
        .await
        .unwrap()
        .unwrap();
    let sid_str = "CA0123456789abcdef0123456789abcdef";
    let prog = |st: SessionStatus, seq: i32| CallProgress {
        status: Some(st),
        call_sid: Some(sid_str.into()),
        sequence_number: Some(seq),
        ..CallProgress::default()
    };
    // a callback may beat the REST response
    s.apply_call_progress(c.session_id, &prog(SessionStatus::Ringing, 1), now)
        .await
        .unwrap();
    s.mark_dialled(c.session_id, sid_str, now).await.unwrap();
    let got = s.get_session(c.session_id).await.unwrap().unwrap();
    assert_eq!(
        got.call_status,
        SessionStatus::Ringing,
        "mark_dialled does not move it back to queued"
    );
    let r = s
        .apply_call_progress(c.session_id, &prog(SessionStatus::Completed, 3), now)
        .await
        .unwrap()
        .unwrap();
    let ProgressApplied::Applied { session, moved } = r else {
        panic!("applied")
    };
    assert!(moved);
    assert!(session.ended_at.is_some());
    let r = s
        .apply_call_progress(c.session_id, &prog(SessionStatus::Ringing, 1), now)
        .await
        .unwrap()
        .unwrap();
    let ProgressApplied::Applied { session, moved } = r else {
        panic!("applied")
    };
    assert!(!moved);
    assert_eq!(session.call_status, SessionStatus::Completed);
    assert_eq!(session.last_sequence_number, Some(3));
    let other = CallProgress {
        call_sid: Some("CA99999999999999999999999999999999".into()),
        ..prog(SessionStatus::Failed, 4)
    };
    assert!(matches!(
        s.apply_call_progress(c.session_id, &other, now)
            .await
            .unwrap()
            .unwrap(),
        ProgressApplied::CallSidMismatch
    ));
}

async fn classification_prechecks_and_replacement(b: Backend) {
    let s = store(b).await;
    let now = Utc::now();
    let phone = E164::parse("+13125550600").unwrap();
    let steps = IvrActions::new(vec![IvrAction {
        after_ms: 3500,
        digits: "2".into(),
    }])
    .unwrap();
    let c1 = s
        .put_classification(
            &NewClassification {
                phone_number: phone.clone(),
                classification_type: ClassificationType::IvrThenHuman,
                ivr_actions: steps.clone(),
                confidence: 0.8,
                source: "classifier",
                source_session_id: None,
                expires_at: now + Duration::days(30),
            },
            now,
        )
        .await
        .unwrap();
    let got = s.active_classification(&phone, now).await.unwrap().unwrap();
    assert_eq!(got.id, c1.id);
    assert_eq!(got.ivr_actions, steps);
    assert!(
        s.active_classification(&phone, now + Duration::days(31))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    // the claim stores the pre-check on the session
    let p = s
        .insert_pending_call(&new_call("+13125550600", now), now)
        .await
        .unwrap();
    let c = s
        .claim_one(p.id, ClaimOrigin::Manual, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.classification,
        Some((c1.id, ClassificationType::IvrThenHuman))
    );
    assert_eq!(
        s.get_session(c.session_id)
            .await
            .unwrap()
            .unwrap()
            .classification_id,
        Some(c1.id)
    );
    // replacing deactivates the old row
    let c2 = s
        .put_classification(
            &NewClassification {
                phone_number: phone.clone(),
                classification_type: ClassificationType::Human,
                ivr_actions: IvrActions::default(),
                confidence: 1.0,
                source: "operator",
                source_session_id: None,
                expires_at: now + Duration::days(30),
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        s.active_classification(&phone, now)
            .await
            .unwrap()
            .unwrap()
            .id,
        c2.id
    );
    assert!(
        !s.get_classification_by_id(c1.id)
            .await
            .unwrap()
            .unwrap()
            .is_active
    );
    assert!(
        s.deactivate_classification(&phone, "operator", now)
            .await
            .unwrap()
    );
    assert!(
        !s.deactivate_classification(&phone, "operator", now)
            .await
            .unwrap()
    );
}

async fn check_constraints_reject_bad_statuses(b: Backend) {
    let s = store(b).await;
    let now = Utc::now();
    let p = s
        .insert_pending_call(&new_call("+13125550700", now), now)
        .await
        .unwrap();
    let bad = match b {
        Backend::Postgres => {
            sqlx::query("UPDATE pending_calls SET call_status = 'in_progress' WHERE id = $1")
                .bind(p.id.0)
                .execute(s.pg_pool().unwrap())
                .await
                .is_err()
        }
        Backend::Sqlite => {
            sqlx::query("UPDATE pending_calls SET call_status = 'in_progress' WHERE id = $1")
                .bind(p.id.to_string())
                .execute(s.sqlite_pool().unwrap())
                .await
                .is_err()
        }
    };
    assert!(bad, "CHECK constraint rejects an unknown status");
    assert_eq!(
        s.get_pending_call(p.id).await.unwrap().unwrap().call_status,
        PendingStatus::Pending
    );
}

async fn navigation_is_recorded_on_the_session(b: Backend) {
    let s = store(b).await;
    let now = Utc::now();
    let p = s
        .insert_pending_call(&new_call("+13125550600", now), now)
        .await
        .unwrap();
    let c = s
        .claim_one(p.id, ClaimOrigin::Manual, now)
        .await
        .unwrap()
        .unwrap();
    let steps = switchboard_core::IvrActions::new(vec![
        switchboard_core::IvrAction {
            after_ms: 6200,
            digits: "2".into(),
        },
        switchboard_core::IvrAction {
            after_ms: 14_000,
            digits: "1".into(),
        },
    ])
    .unwrap();
    s.record_navigation(c.session_id, &steps, Some(21_000), now)
        .await
        .unwrap();
    let got = s.get_session(c.session_id).await.unwrap().unwrap();
    assert_eq!(got.handoff_at_ms, Some(21_000));
    let back: switchboard_core::IvrActions =
        serde_json::from_value(got.ivr_actions_taken.expect("steps stored")).unwrap();
    assert_eq!(back, steps);
}

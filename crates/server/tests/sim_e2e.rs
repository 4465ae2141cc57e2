//! The whole system through the simulators, over real HTTP and WebSockets: one clinic of every
//! kind, from pending call to stored outcome.

use chrono::Duration;
use std::collections::HashMap;
use switchboard::demo::{Demo, DemoOptions};
use switchboard_core::{ClassificationType, E164, IvrAction, IvrActions, PendingStatus};
use switchboard_store::{NewClassification, PendingFilter};

const WORLD: &str = r#"
[[clinic]]
name = "Person Clinic"
phone = "+13125550001"
timezone = "America/Chicago"
kind = "person"
answer_probability = 1.0
ring_seconds = 3.0
greeting = "Thank you for calling Person Clinic, this is Sarah, how can I help you?"

[[clinic]]
name = "Menu Clinic"
phone = "+13125550002"
timezone = "America/Chicago"
kind = "menu"
answer_probability = 1.0
ring_seconds = 3.0
[[clinic.menu]]
prompt = "Thank you for calling Menu Clinic. For billing press 1. For scheduling press 2."
prompt_seconds = 6.0
options = [{ digit = "1", label = "billing", leads = "voicemail" }, { digit = "2", label = "scheduling", leads = "person" }]
on_timeout = "repeat"

[[clinic]]
name = "Menu Only Clinic"
phone = "+13125550003"
timezone = "America/Chicago"
kind = "menu_only"
answer_probability = 1.0
ring_seconds = 3.0
[[clinic.menu]]
prompt = "For hours press 1. To leave a message press 2."
prompt_seconds = 5.0
options = [{ digit = "1", label = "hours", leads = "repeat" }, { digit = "2", label = "message", leads = "voicemail" }]
on_timeout = "voicemail"

[[clinic]]
name = "Voicemail Clinic"
phone = "+13125550004"
timezone = "America/Chicago"
kind = "voicemail"
ring_seconds = 3.0

[[clinic]]
name = "Busy Clinic"
phone = "+13125550005"
timezone = "America/Chicago"
kind = "busy"

[[clinic]]
name = "Silent Clinic"
phone = "+13125550006"
timezone = "America/Chicago"
kind = "no_answer"

[[clinic]]
name = "Gone Clinic"
phone = "+13125550007"
timezone = "America/Chicago"
kind = "disconnected"

[[clinic]]
name = "Changing Clinic"
phone = "+13125550008"
timezone = "America/Chicago"
kind = "menu"
answer_probability = 1.0
ring_seconds = 3.0
menu_changes_on_day = 1
[[clinic.menu]]
prompt = "Thank you for calling. For scheduling press 2. For billing press 3."
prompt_seconds = 6.0
options = [{ digit = "2", label = "scheduling", leads = "person" }, { digit = "3", label = "billing", leads = "voicemail" }]
[[clinic.changed_menu]]
prompt = "Our menu has changed. For billing press 2. For scheduling press 4."
prompt_seconds = 6.0
options = [{ digit = "2", label = "billing", leads = "voicemail" }, { digit = "4", label = "scheduling", leads = "person" }]
"#;

async fn demo() -> Demo {
    let dir = std::env::temp_dir().join(format!("sb-e2e-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let world = dir.join("world.toml");
    std::fs::write(&world, WORLD).unwrap();
    let opts = DemoOptions {
        world: Some(world.display().to_string()),
        speed: 100.0,
        progress: false,
        ..Default::default()
    };
    let d = Demo::start(&opts).await.unwrap();
    // Noon in Chicago: the clinics are open.
    let now = d.clock.now();
    let noon = chrono::TimeZone::from_utc_datetime(
        &chrono::Utc,
        &now.date_naive().and_hms_opt(18, 0, 0).unwrap(),
    ) + Duration::days(1);
    d.clock.advance(noon - now);
    d
}

async fn seed(d: &Demo, phone: &str, kind: ClassificationType, steps: Vec<IvrAction>) {
    let now = d.clock.now();
    d.store
        .put_classification(
            &NewClassification {
                phone_number: E164::parse(phone).unwrap(),
                classification_type: kind,
                ivr_actions: IvrActions::new(steps).unwrap(),
                confidence: 1.0,
                source: "operator",
                source_session_id: None,
                expires_at: now + Duration::days(30),
            },
            now,
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_clinic_kind_ends_where_it_should() {
    let d = demo().await;
    // A learned path for the menu clinic (what the classifier stores): press 2 after the prompt.
    seed(
        &d,
        "+13125550002",
        ClassificationType::IvrThenHuman,
        vec![IvrAction {
            after_ms: 6500,
            digits: "2".into(),
        }],
    )
    .await;
    seed(&d, "+13125550003", ClassificationType::IvrOnly, vec![]).await;
    d.insert_calls(&[0, 1, 2, 3, 4, 5, 6], 0).await.unwrap();
    d.run_day().await.unwrap();

    let all = d
        .store
        .list_pending_calls(&PendingFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let by_phone: HashMap<String, _> = all
        .iter()
        .map(|p| (p.phone_e164.clone().unwrap(), p))
        .collect();
    let status = |phone: &str| by_phone[phone].call_status;
    let attempts = |phone: &str| by_phone[phone].attempt_count;

    assert_eq!(
        status("+13125550001"),
        PendingStatus::Completed,
        "a person answers → bridged → outcome stored"
    );
    assert_eq!(attempts("+13125550001"), 1);
    assert_eq!(
        status("+13125550002"),
        PendingStatus::Completed,
        "menu → replayed path → a person"
    );
    assert_eq!(
        status("+13125550003"),
        PendingStatus::NeedsManual,
        "menu with no person → flagged"
    );
    assert_eq!(
        status("+13125550004"),
        PendingStatus::Failed,
        "voicemail is not success, retried to the limit"
    );
    assert_eq!(attempts("+13125550004"), 3);
    assert_eq!(
        status("+13125550005"),
        PendingStatus::Failed,
        "busy: retried within limits"
    );
    assert_eq!(attempts("+13125550005"), 3);
    assert_eq!(
        status("+13125550006"),
        PendingStatus::Failed,
        "no answer: retried within limits"
    );
    assert_eq!(attempts("+13125550006"), 3);
    assert_eq!(
        status("+13125550007"),
        PendingStatus::Failed,
        "disconnected: not retried"
    );
    assert_eq!(attempts("+13125550007"), 1);

    let records = d.carrier.records();
    let person = records.iter().find(|r| r.to == "+13125550001").unwrap();
    assert_eq!(person.bridged_to.as_deref(), Some("person"));
    let names: Vec<&str> = person.sip_headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["X-pendingcallid"],
        "only the pending call id crosses to the assistant"
    );
    assert_eq!(
        person.sip_headers[0].1,
        by_phone["+13125550001"].id.to_string()
    );
    let menu = records.iter().find(|r| r.to == "+13125550002").unwrap();
    assert_eq!(menu.bridged_to.as_deref(), Some("person"));
    assert_eq!(
        menu.digits_pressed
            .iter()
            .map(|(_, c)| *c)
            .collect::<String>(),
        "2"
    );
    assert!(
        menu.digits_pressed[0].0 >= 6000,
        "pressed after the prompt: {:?}",
        menu.digits_pressed
    );
    let vapi = d.vapi.calls();
    assert!(
        vapi.iter().filter(|c| c.success).all(|c| c.fetched_data),
        "the assistant fetched the pending call"
    );
    assert_eq!(vapi.iter().filter(|c| c.success).count(), 2);
    assert!(
        d.carrier.application_errors().is_empty(),
        "{:?}",
        d.carrier.application_errors()
    );
    let s = d.summary(1).await.unwrap();
    assert_eq!(s.reached_person, 2);
    assert_eq!(s.classification_hits, 2, "the two pre-classified clinics");
}

async fn day(d: &Demo, clinics: &[usize], n: u32) {
    d.day.store(n, std::sync::atomic::Ordering::SeqCst);
    d.insert_calls(clinics, n).await.unwrap();
    d.run_day().await.unwrap();
    d.clock.advance(Duration::days(1));
}

async fn active(d: &Demo, phone: &str) -> Option<switchboard_store::Classification> {
    d.store
        .active_classification(&E164::parse(phone).unwrap(), d.clock.now())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_menu_is_learned_on_the_first_call_and_replayed_on_the_next() {
    let d = demo().await;
    day(&d, &[1], 0).await;
    // First call: unknown number → Media Streams route → the assistant navigates with dtmf → person.
    let first = d
        .carrier
        .records()
        .into_iter()
        .find(|r| r.to == "+13125550002")
        .unwrap();
    assert!(first.streams >= 1, "a real WebSocket stream was opened");
    assert_eq!(first.bridged_to.as_deref(), Some("menu"));
    let learned = active(&d, "+13125550002")
        .await
        .unwrap_or_else(|| panic!("learned from the call: {:?} {:?}", d.vapi.calls(), first));
    assert_eq!(
        learned.classification_type,
        ClassificationType::IvrThenHuman
    );
    assert_eq!(learned.source, "observed");
    assert_eq!(
        learned
            .ivr_actions
            .steps()
            .iter()
            .map(|s| s.digits.as_str())
            .collect::<String>(),
        "2"
    );
    assert!(learned.source_session_id.is_some());
    // Next call: replayed from the cache; the assistant joins a person and presses nothing.
    day(&d, &[1], 1).await;
    let records: Vec<_> = d
        .carrier
        .records()
        .into_iter()
        .filter(|r| r.to == "+13125550002")
        .collect();
    assert_eq!(records.len(), 2);
    let second = &records[1];
    assert_eq!(second.bridged_to.as_deref(), Some("person"));
    assert_eq!(second.streams, 0, "no listening needed");
    assert_eq!(
        second
            .digits_pressed
            .iter()
            .map(|(_, c)| *c)
            .collect::<String>(),
        "2"
    );
    let vapi = d.vapi.calls();
    assert!(vapi.last().unwrap().dtmf.is_empty());
    assert!(vapi.iter().all(|c| c.success));
    let verified = active(&d, "+13125550002").await.unwrap();
    assert_eq!(verified.success_count, 1);
    assert!(verified.last_verified_at.is_some());
    assert!(d.carrier.application_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_menu_is_detected_and_relearned() {
    let d = demo().await;
    day(&d, &[7], 0).await;
    let old = active(&d, "+13125550008").await.unwrap();
    assert_eq!(old.ivr_actions.steps()[0].digits, "2");
    // Day 1 the menu changes: the replayed "2" now reaches billing (voicemail). The report says the
    // assistant met a machine, so the path is deactivated; the same day's retry listens again and
    // relearns the new key.
    day(&d, &[7], 1).await;
    let old = d
        .store
        .get_classification_by_id(old.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!old.is_active, "stale path deactivated");
    assert_eq!(old.failure_count, 1);
    assert_eq!(
        old.deactivation_reason.as_deref(),
        Some("replay_did_not_reach_a_person")
    );
    let new = active(&d, "+13125550008").await.expect("relearned");
    assert_ne!(new.id, old.id);
    assert_eq!(new.ivr_actions.steps()[0].digits, "4");
    // Day 2: the new path is replayed and verified.
    day(&d, &[7], 2).await;
    assert_eq!(active(&d, "+13125550008").await.unwrap().success_count, 1);
    let all = d
        .store
        .list_pending_calls(&PendingFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        all.iter()
            .all(|p| p.call_status == PendingStatus::Completed),
        "every day's call reached a person"
    );
}

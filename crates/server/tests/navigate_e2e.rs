//! Navigate mode end to end through the simulators, on the default world's clinics (whose audio is
//! rendered): Switchboard alone listens to each unknown number over a real Media Streams
//! WebSocket, reads menus from the recogniser stand-in (Deepgram's protocol), presses keys with
//! in-band DTMF on the bidirectional stream, hands a person to the assistant by a REST update, and
//! caches what it learned — which the next call replays without listening.

use chrono::Duration;
use switchboard::demo::{Demo, DemoOptions};
use switchboard_core::{ClassificationType, E164, PendingStatus};
use switchboard_store::PendingFilter;

// Default-world clinics (crates/sim/world/default.toml).
const PERSON: usize = 0; // "Thank you for calling Main Street Clinic, this is Sarah, …"
const MENU_HOLD: usize = 16; // Brookside: scheduling is 3, then 20 s of hold music, then a person
const NESTED: usize = 18; // Highland: appointments 2, then "to schedule … press 1", then a person
const MENU_ONLY: usize = 30; // Hampton: hours, directions, voicemail — nobody

async fn demo(settings: Vec<(&'static str, String)>) -> Demo {
    let opts = DemoOptions {
        // Slower than the demo: the recogniser's answers arrive over a real WebSocket, and at
        // high speed a few real milliseconds are seconds of call time.
        speed: 20.0,
        progress: false,
        settings,
        ..Default::default()
    };
    let d = Demo::start(&opts).await.unwrap();
    // A weekday, noon in the clinics' time zones: they answer.
    let now = d.clock.now();
    let mut noon = chrono::TimeZone::from_utc_datetime(
        &chrono::Utc,
        &now.date_naive().and_hms_opt(18, 0, 0).unwrap(),
    ) + Duration::days(1);
    while matches!(
        chrono::Datelike::weekday(&noon),
        chrono::Weekday::Sat | chrono::Weekday::Sun
    ) {
        noon += Duration::days(1);
    }
    d.clock.advance(noon - now);
    d
}

async fn active(d: &Demo, phone: &str) -> Option<switchboard_store::Classification> {
    d.store
        .active_classification(&E164::parse(phone).unwrap(), d.clock.now())
        .await
        .unwrap()
}

fn keys(r: &switchboard_sim::CallRecord) -> String {
    r.digits_pressed.iter().map(|(_, c)| *c).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchboard_navigates_menus_itself_and_hands_people_to_the_assistant() {
    let d = demo(vec![]).await;
    let phone = |i: usize| d.world.clinics[i].phone.clone();
    d.insert_calls(&[PERSON, MENU_HOLD, NESTED, MENU_ONLY], 0)
        .await
        .unwrap();
    d.run_day().await.unwrap();
    let records = d.carrier.records();
    let record = |i: usize| {
        records
            .iter()
            .find(|r| r.to == phone(i))
            .unwrap_or_else(|| panic!("no call to clinic {i}"))
            .clone()
    };
    assert!(
        d.carrier.application_errors().is_empty(),
        "{:?}",
        d.carrier.application_errors()
    );

    // A scripted receptionist: a person, handed over at once, cached as human.
    let r = record(PERSON);
    assert_eq!(r.streams, 1);
    assert_eq!(r.bridged_to.as_deref(), Some("person"));
    assert_eq!(keys(&r), "");
    let c = active(&d, &phone(PERSON)).await.expect("cached");
    assert_eq!(c.classification_type, ClassificationType::Human);
    assert_eq!(c.source, "classifier");

    // A menu: Switchboard heard "for scheduling press 3", pressed 3 in-band, waited through the
    // hold music, and handed the person over; the assistant pressed nothing.
    let r = record(MENU_HOLD);
    assert_eq!(keys(&r), "3", "{r:?}");
    assert_eq!(r.bridged_to.as_deref(), Some("person"));
    let c = active(&d, &phone(MENU_HOLD)).await.expect("cached");
    assert_eq!(c.classification_type, ClassificationType::IvrThenHuman);
    assert_eq!(c.source, "classifier");
    let steps = c.ivr_actions.steps();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].digits, "3");
    // Pressed once "for scheduling press 3" had been heard, before the menu timed out.
    assert!((8_000..15_500).contains(&steps[0].after_ms), "{:?}", steps);

    // Nested menus: two presses, both learned in order.
    let r = record(NESTED);
    assert_eq!(keys(&r), "21", "{r:?}");
    assert_eq!(r.bridged_to.as_deref(), Some("person"));
    let c = active(&d, &phone(NESTED)).await.expect("cached");
    assert_eq!(c.classification_type, ClassificationType::IvrThenHuman);
    let digits: Vec<&str> = c
        .ivr_actions
        .steps()
        .iter()
        .map(|s| s.digits.as_str())
        .collect();
    assert_eq!(digits, ["2", "1"]);

    // A menu with no way to a person: cached as ivr_only, flagged for a person to follow up.
    let c = active(&d, &phone(MENU_ONLY)).await.expect("cached");
    assert_eq!(c.classification_type, ClassificationType::IvrOnly);
    let pending = d
        .store
        .list_pending_calls(&PendingFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let status = |i: usize| {
        pending
            .iter()
            .find(|p| p.phone_e164.as_deref() == Some(phone(i).as_str()))
            .unwrap()
            .call_status
    };
    assert_eq!(status(PERSON), PendingStatus::Completed);
    assert_eq!(status(MENU_HOLD), PendingStatus::Completed);
    assert_eq!(status(NESTED), PendingStatus::Completed);
    assert_eq!(status(MENU_ONLY), PendingStatus::NeedsManual);
    let vapi = d.vapi.calls();
    assert!(vapi.iter().all(|c| c.dtmf.is_empty()), "{vapi:?}");
    assert_eq!(vapi.iter().filter(|c| c.success).count(), 3);

    // The next day the learned path is replayed from the cache: no stream, the same keys.
    d.clock.advance(Duration::days(1));
    d.insert_calls(&[MENU_HOLD], 1).await.unwrap();
    d.run_day().await.unwrap();
    let again: Vec<_> = d
        .carrier
        .records()
        .into_iter()
        .filter(|r| r.to == phone(MENU_HOLD))
        .collect();
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].streams, 0, "no listening needed");
    assert_eq!(keys(&again[1]), "3");
    // The replay hands over right after the key: the assistant waits out the hold music.
    assert_eq!(again[1].bridged_to.as_deref(), Some("hold"));
    assert!(d.vapi.calls().last().unwrap().success);
    let c = active(&d, &phone(MENU_HOLD)).await.unwrap();
    assert_eq!(c.success_count, 1, "the replay verified the path");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_recogniser_people_are_still_recognised_and_menus_go_to_the_assistant() {
    let d = demo(vec![("SWITCHBOARD_SPEECH", "none".into())]).await;
    let phone = |i: usize| d.world.clinics[i].phone.clone();
    d.insert_calls(&[PERSON, MENU_HOLD], 0).await.unwrap();
    d.run_day().await.unwrap();
    let c = active(&d, &phone(PERSON)).await.expect("cached");
    assert_eq!(c.classification_type, ClassificationType::Human);
    assert_eq!(c.source, "classifier");
    // The menu cannot be read: the assistant navigates and Switchboard learns from its report,
    // its key placed on the call's timeline after the hand-off.
    let r = d
        .carrier
        .records()
        .into_iter()
        .find(|r| r.to == phone(MENU_HOLD))
        .unwrap();
    assert_eq!(r.bridged_to.as_deref(), Some("menu"));
    assert_eq!(keys(&r), "3");
    let c = active(&d, &phone(MENU_HOLD)).await.expect("learned");
    assert_eq!(c.classification_type, ClassificationType::IvrThenHuman);
    assert_eq!(c.source, "observed");
    let step = &c.ivr_actions.steps()[0];
    assert_eq!(step.digits, "3");
    assert!(
        step.after_ms >= 8_500,
        "after Switchboard's own listening: {step:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_mode_learns_the_assistants_keys_from_the_outbound_track() {
    let d = demo(vec![("SWITCHBOARD_CLASSIFY_MODE", "observe".into())]).await;
    let phone = |i: usize| d.world.clinics[i].phone.clone();
    d.insert_calls(&[NESTED], 0).await.unwrap();
    d.run_day().await.unwrap();
    let r = d
        .carrier
        .records()
        .into_iter()
        .find(|r| r.to == phone(NESTED))
        .unwrap();
    // The assistant was on the line from the start and pressed its way through both menus.
    assert_eq!(r.bridged_to.as_deref(), Some("menu"));
    assert_eq!(keys(&r), "21");
    let c = active(&d, &phone(NESTED)).await.expect("learned");
    assert_eq!(c.classification_type, ClassificationType::IvrThenHuman);
    assert_eq!(c.source, "observed");
    // Timed by the tones heard on the outbound track: within a tone of when the line got them.
    let steps = c.ivr_actions.steps();
    assert_eq!(steps.len(), 2);
    for (s, (line_ms, key)) in steps.iter().zip(&r.digits_pressed) {
        assert_eq!(s.digits, key.to_string());
        assert!(
            (s.after_ms as i64 - *line_ms as i64).abs() <= 1500,
            "heard at {} ms, pressed at {line_ms} ms",
            s.after_ms
        );
    }
    let session = d
        .store
        .get_session(switchboard_core::SessionId(c.source_session_id.unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session.handoff_at_ms, None,
        "observe mode hands nothing over"
    );
    assert!(
        session.ivr_actions_taken.is_some(),
        "the keys heard are kept"
    );
}

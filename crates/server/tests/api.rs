//! The service end to end over real HTTP, on SQLite and on PostgreSQL: admin API → dispatcher →
//! the recorded Twilio request → signed webhooks → VAPI.

mod common;

use common::*;
use serde_json::{Value, json};

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

both_backends!(
    create_returns_the_stored_row_with_column_names,
    create_lists_every_invalid_field,
    admin_api_requires_the_bearer_token,
    get_list_and_cancel_follow_the_contract,
    dispatcher_places_the_call_exactly_as_twilio_python_would,
    voice_webhook_routes_by_classification,
    unsigned_or_wrong_signature_is_rejected_without_side_effects,
    status_callbacks_are_idempotent_and_ordered,
    busy_retries_then_fails_after_max_attempts,
    vapi_report_completes_the_pending_call,
    vapi_data_endpoint_is_guarded_and_uniform,
    vapi_assistant_request_and_tool_calls,
    dispatch_endpoint_contract,
    rows_inserted_by_sql_are_picked_up,
    classification_api_round_trip,
    twilio_rejection_fails_the_attempt_with_its_code,
    stats_report_the_days_success_rate,
);

async fn create_returns_the_stored_row_with_column_names(b: Backend) {
    let app = spawn_app(b).await;
    let p = app.create_pending("(415) 555-0100").await;
    assert_eq!(p["phone"], "(415) 555-0100");
    assert_eq!(p["phone_e164"], "+14155550100");
    assert_eq!(p["call_status"], "pending");
    assert_eq!(p["employee_dob"], "1985-04-12");
    assert_eq!(p["clinic_timezone"], "America/New_York");
    assert_eq!(p["attempt_count"], 0);
    assert_eq!(p["max_attempts"], 3);
    assert!(uuid::Uuid::parse_str(p["id"].as_str().unwrap()).is_ok());
    let fetched = app.pending(p["id"].as_str().unwrap()).await;
    assert_eq!(fetched, p);
}

async fn create_lists_every_invalid_field(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .admin_post(
            "/api/v1/pending-calls",
            json!({"employee_name": "X", "phone": "555-01", "appointment_time": "2026-11-24T10:00:00",
                   "employee_dob": "12/04/1985", "clinic_timezone": "Mars/Base", "colour": "red"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "validation_failed");
    let mut fields: Vec<String> = v["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "appointment_time",
            "clinic_timezone",
            "colour",
            "employee_dob",
            "exam_id",
            "phone"
        ]
    );
    let r = app
        .http
        .post(format!("{}/api/v1/pending-calls", app.addr))
        .bearer_auth(API_TOKEN)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_json");
    let list: Value = app
        .admin_get("/api/v1/pending-calls")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing stored");
}

async fn admin_api_requires_the_bearer_token(b: Backend) {
    let app = spawn_app(b).await;
    let r = app.get("/api/v1/pending-calls").await;
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .get(format!("{}/api/v1/pending-calls", app.addr))
        .bearer_auth("wrong-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthorized");
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["paths"]["/api/v1/pending-calls/{id}/dispatch"]["post"]["responses"]["202"].is_object()
    );
}

async fn get_list_and_cancel_follow_the_contract(b: Backend) {
    let app = spawn_app(b).await;
    let a = app.create_pending("+14155550101").await;
    let _b = app.create_pending("+14155550102").await;
    let r = app.admin_get("/api/v1/pending-calls/not-a-uuid").await;
    assert_eq!(r.status(), 400);
    let r = app
        .admin_get(&format!("/api/v1/pending-calls/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(r.status(), 404);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let v: Value = app
        .admin_get(&format!(
            "/api/v1/pending-calls?status=pending&date={today}&limit=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["next_offset"], 1);
    let v: Value = app
        .admin_get(&format!(
            "/api/v1/pending-calls?date={today}&offset=1&limit=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let r = app.admin_get("/api/v1/pending-calls?status=bogus").await;
    assert_eq!(r.status(), 400);
    let id = a["id"].as_str().unwrap();
    let r = app
        .admin_post(&format!("/api/v1/pending-calls/{id}/cancel"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["call_status"], "cancelled");
    let r = app
        .admin_post(&format!("/api/v1/pending-calls/{id}/cancel"), json!({}))
        .await;
    assert_eq!(r.status(), 409);
    let v: Value = app
        .admin_get("/api/v1/pending-calls?status=cancelled")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
}

async fn dispatcher_places_the_call_exactly_as_twilio_python_would(b: Backend) {
    let app = spawn_app(b).await;
    let p = app.create_pending("+14155550103").await;
    let report = app.state.dispatcher.run_once().await.unwrap();
    assert_eq!(report.claimed, 1);
    assert_eq!(report.dialled, 1);
    let sessions = app.sessions(p["id"].as_str().unwrap()).await;
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    let sid = s["id"].as_str().unwrap();
    assert_eq!(s["call_status"], "queued");
    assert_eq!(s["attempt_number"], 1);
    assert!(s["call_id"].as_str().unwrap().starts_with("CA"));
    let reqs = app.twilio.recorded();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    let url = format!("{PUBLIC_URL}/twilio/voice/{sid}");
    let cb = format!("{PUBLIC_URL}/twilio/status/{sid}");
    let events: Vec<String> = r
        .params()
        .into_iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(events, ["initiated", "ringing", "answered", "completed"]);
    assert_eq!(r.param("To").unwrap(), "+14155550103");
    assert_eq!(r.param("From").unwrap(), FROM);
    assert_eq!(r.param("Url").unwrap(), url);
    assert_eq!(r.param("StatusCallback").unwrap(), cb);
    assert_eq!(r.param("Timeout").unwrap(), "30");
    let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
    assert!(auth.starts_with("Basic "));
    let pending = app.pending(p["id"].as_str().unwrap()).await;
    assert_eq!(pending["call_status"], "calling");
    assert_eq!(pending["attempt_count"], 1);
    // A second pass finds nothing due: the attempt is never dialled twice.
    let report = app.state.dispatcher.run_once().await.unwrap();
    assert_eq!(report.claimed, 0);
    assert_eq!(app.twilio.recorded().len(), 1);
}

/// Dispatches a pending call for `phone` and returns (pending id, session id, CallSid).
async fn dialled(app: &TestApp, phone: &str) -> (String, String, String) {
    let p = app.create_pending(phone).await;
    let pid = p["id"].as_str().unwrap().to_string();
    app.state.dispatcher.run_once().await.unwrap();
    let s = app.sessions(&pid).await.remove(0);
    (
        pid,
        s["id"].as_str().unwrap().to_string(),
        s["call_id"].as_str().unwrap().to_string(),
    )
}

async fn voice(
    app: &TestApp,
    session: &str,
    call_sid: &str,
) -> (reqwest::StatusCode, String, String) {
    let r = app
        .twilio_post(
            &format!("/twilio/voice/{session}"),
            &[
                ("AccountSid", ACCOUNT_SID),
                ("CallSid", call_sid),
                ("CallStatus", "in-progress"),
                ("Direction", "outbound-api"),
                ("To", "+14155550100"),
                ("From", FROM),
            ],
        )
        .await;
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

async fn voice_webhook_routes_by_classification(b: Backend) {
    let app = spawn_app(b).await;
    // human
    let r = app
        .admin_put(
            "/api/v1/classifications/+14155550110",
            json!({"classification_type": "human"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (pid, sid, csid) = dialled(&app, "+14155550110").await;
    let (st, ct, body) = voice(&app, &sid, &csid).await;
    assert_eq!(st, 200);
    assert_eq!(ct, "text/xml");
    let tree = parse_xml(&body);
    let dial = &tree.children[0];
    assert_eq!(dial.name, "Dial");
    assert!(
        dial.attrs
            .contains(&("answerOnBridge".into(), "true".into()))
    );
    assert!(
        dial.attrs
            .contains(&("action".into(), format!("{PUBLIC_URL}/twilio/dial/{sid}")))
    );
    assert_eq!(dial.children[0].name, "Sip");
    assert_eq!(
        dial.children[0].text,
        format!("{VAPI_SIP}?X-pendingcallid={pid}")
    );
    assert!(!body.contains("Jane"), "no personal data in TwiML");
    let s = app.sessions(&pid).await.remove(0);
    assert_eq!(s["routing_decision"], "bridge");
    assert!(s["classification_id"].is_string());

    // ivr_then_human
    app.admin_put(
        "/api/v1/classifications/+14155550111",
        json!({"classification_type": "ivr_then_human", "ivr_actions": [{"after_ms": 3500, "digits": "2"}, {"after_ms": 9000, "digits": "1"}]}),
    )
    .await;
    let (pid, sid, csid) = dialled(&app, "+14155550111").await;
    let (_, _, body) = voice(&app, &sid, &csid).await;
    let tree = parse_xml(&body);
    let names: Vec<&str> = tree.children.iter().map(|n| n.name.as_str()).collect();
    assert!(names.contains(&"Play"), "{body}");
    assert_eq!(*names.last().unwrap(), "Dial", "{body}");
    let digits: String = tree
        .children
        .iter()
        .filter(|n| n.name == "Play")
        .flat_map(|n| {
            n.attrs
                .iter()
                .filter(|(k, _)| k == "digits")
                .map(|(_, v)| v.replace('w', ""))
        })
        .collect();
    assert_eq!(digits, "21");
    assert_eq!(
        tree.children.last().unwrap().children[0].text,
        format!("{VAPI_SIP}?X-pendingcallid={pid}")
    );
    assert_eq!(
        app.sessions(&pid).await[0]["routing_decision"],
        "replay_then_bridge"
    );

    // ivr_only (default policy: hang up and flag)
    app.admin_put(
        "/api/v1/classifications/+14155550112",
        json!({"classification_type": "ivr_only"}),
    )
    .await;
    let (pid, sid, csid) = dialled(&app, "+14155550112").await;
    let (_, _, body) = voice(&app, &sid, &csid).await;
    assert_eq!(parse_xml(&body).children[0].name, "Hangup");
    app.status_callback(&sid, &csid, "completed", 3, &[("CallDuration", "4")])
        .await;
    assert_eq!(app.pending(&pid).await["call_status"], "needs_manual");

    // none → navigate: Connect/Stream with the two parameters, then a fallback Dial
    let (pid, sid, csid) = dialled(&app, "+14155550113").await;
    let (_, _, body) = voice(&app, &sid, &csid).await;
    let tree = parse_xml(&body);
    assert_eq!(tree.children[0].name, "Connect", "{body}");
    let stream = &tree.children[0].children[0];
    assert_eq!(stream.name, "Stream");
    assert!(
        stream.attrs.contains(&(
            "url".into(),
            "wss://switchboard.example.test/twilio/media".into()
        )),
        "{body}"
    );
    let params: Vec<(String, String)> = stream
        .children
        .iter()
        .map(|p| {
            let get = |k: &str| p.attrs.iter().find(|(n, _)| n == k).unwrap().1.clone();
            (get("name"), get("value"))
        })
        .collect();
    assert!(params.contains(&("pending_call_id".into(), pid.clone())));
    assert!(params.contains(&("session_id".into(), sid.clone())));
    assert_eq!(app.sessions(&pid).await[0]["routing_decision"], "classify");
}

async fn unsigned_or_wrong_signature_is_rejected_without_side_effects(b: Backend) {
    let app = spawn_app(b).await;
    let (pid, sid, csid) = dialled(&app, "+14155550120").await;
    let body = format!("CallSid={csid}&CallStatus=completed&SequenceNumber=9");
    let r = app
        .http
        .post(format!("{}/twilio/status/{sid}", app.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .http
        .post(format!("{}/twilio/status/{sid}", app.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_signature");
    // Signed over different params than sent: also rejected.
    let sig = switchboard_core::signature::compute(
        AUTH_TOKEN,
        &format!("{PUBLIC_URL}/twilio/voice/{sid}"),
        &[],
    );
    let r = app
        .http
        .post(format!("{}/twilio/voice/{sid}", app.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body("CallSid=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let s = app.sessions(&pid).await.remove(0);
    assert_eq!(s["call_status"], "queued");
    assert!(s["routing_decision"].is_null());
    assert_eq!(app.pending(&pid).await["call_status"], "calling");
}

async fn status_callbacks_are_idempotent_and_ordered(b: Backend) {
    let app = spawn_app(b).await;
    let (pid, sid, csid) = dialled(&app, "+14155550130").await;
    app.admin_put(
        "/api/v1/classifications/+14155550130",
        json!({"classification_type": "human"}),
    )
    .await;
    assert_eq!(
        app.status_callback(&sid, &csid, "initiated", 0, &[])
            .await
            .status(),
        204
    );
    assert_eq!(
        app.status_callback(&sid, &csid, "ringing", 1, &[])
            .await
            .status(),
        204
    );
    assert_eq!(
        app.status_callback(&sid, &csid, "in-progress", 2, &[])
            .await
            .status(),
        204
    );
    voice(&app, &sid, &csid).await;
    let r = app
        .twilio_post(
            &format!("/twilio/dial/{sid}"),
            &[
                ("CallSid", &csid),
                ("DialCallStatus", "completed"),
                ("DialSipResponseCode", "200"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        parse_xml(&r.text().await.unwrap()).children[0].name,
        "Hangup"
    );
    assert_eq!(
        app.status_callback(
            &sid,
            &csid,
            "completed",
            3,
            &[("CallDuration", "42"), ("SipResponseCode", "200")]
        )
        .await
        .status(),
        204
    );
    // duplicate and late callbacks
    app.status_callback(&sid, &csid, "completed", 3, &[("CallDuration", "42")])
        .await;
    app.status_callback(&sid, &csid, "ringing", 1, &[]).await;
    app.status_callback(&sid, &csid, "busy", 4, &[]).await;
    let s = app.sessions(&pid).await.remove(0);
    assert_eq!(s["call_status"], "completed");
    assert_eq!(s["duration_seconds"], 42);
    assert_eq!(s["sip_bridged"], true);
    assert_eq!(s["dial_sip_response_code"], 200);
    assert_eq!(s["last_sequence_number"], 4);
    assert!(s["answered_at"].is_string() && s["ended_at"].is_string());
    // bridged: the assistant's report decides, so the pending call is still calling
    assert_eq!(app.pending(&pid).await["call_status"], "calling");
    // a callback for another CallSid is refused
    let r = app
        .status_callback(&sid, "CA99999999999999999999999999999999", "failed", 5, &[])
        .await;
    assert_eq!(r.status(), 409);
    // unknown session
    let r = app
        .status_callback(&uuid::Uuid::new_v4().to_string(), &csid, "ringing", 1, &[])
        .await;
    assert_eq!(r.status(), 404);
}

async fn busy_retries_then_fails_after_max_attempts(b: Backend) {
    let app = spawn_app_with(
        b,
        &[
            ("SWITCHBOARD_MAX_ATTEMPTS", "2"),
            ("SWITCHBOARD_RETRY_BACKOFF_SECS", "60"),
        ],
    )
    .await;
    let (pid, sid, csid) = dialled(&app, "+14155550140").await;
    app.status_callback(&sid, &csid, "busy", 2, &[("SipResponseCode", "486")])
        .await;
    let p = app.pending(&pid).await;
    assert_eq!(p["call_status"], "retry_scheduled");
    assert_eq!(p["attempt_count"], 1);
    assert!(p["next_attempt_at"].is_string());
    // not due yet
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().claimed, 0);
    app.state.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().claimed, 1);
    let sessions = app.sessions(&pid).await;
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["attempt_number"], 2, "newest first");
    let (sid2, csid2) = (
        sessions[0]["id"].as_str().unwrap(),
        sessions[0]["call_id"].as_str().unwrap(),
    );
    app.status_callback(sid2, csid2, "no-answer", 2, &[("SipResponseCode", "487")])
        .await;
    let p = app.pending(&pid).await;
    assert_eq!(p["call_status"], "failed");
    assert_eq!(p["attempt_count"], 2);
    app.state.clock.advance(chrono::Duration::hours(3));
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().claimed, 0);
    assert_eq!(app.twilio.recorded().len(), 2);
}

async fn vapi_report_completes_the_pending_call(b: Backend) {
    let app = spawn_app(b).await;
    let (pid, sid, csid) = dialled(&app, "+14155550150").await;
    app.status_callback(&sid, &csid, "in-progress", 2, &[])
        .await;
    voice(&app, &sid, &csid).await;
    app.twilio_post(
        &format!("/twilio/dial/{sid}"),
        &[("DialCallStatus", "completed")],
    )
    .await;
    let report = json!({"message": {
        "type": "end-of-call-report",
        "endedReason": "assistant-ended-call",
        "call": {"id": "vapi-call-1", "assistantOverrides": {"variableValues": {"pendingcallid": pid}}},
        "artifact": {"transcript": "..."},
        "analysis": {"summary": "Appointment confirmed.", "successEvaluation": "true", "structuredData": {"confirmed": true}}
    }});
    assert_eq!(app.vapi_post(report.clone()).await.status(), 200);
    assert_eq!(
        app.vapi_post(report).await.status(),
        200,
        "duplicate report is harmless"
    );
    let p = app.pending(&pid).await;
    assert_eq!(p["call_status"], "completed");
    assert_eq!(p["outcome_success"], true);
    assert_eq!(p["outcome_ended_reason"], "assistant-ended-call");
    assert_eq!(p["outcome_summary"], "Appointment confirmed.");
    assert_eq!(p["outcome_structured_data"], json!({"confirmed": true}));
    // Twilio's completed arrives after the report: nothing changes.
    app.status_callback(&sid, &csid, "completed", 3, &[("CallDuration", "80")])
        .await;
    let p = app.pending(&pid).await;
    assert_eq!(p["call_status"], "completed");
    let s = app.sessions(&pid).await.remove(0);
    assert_eq!(s["vapi_call_id"], "vapi-call-1");
    assert_eq!(s["outcome_success"], true);

    // A report that did not reach anyone schedules a retry.
    let (pid, sid, csid) = dialled(&app, "+14155550151").await;
    app.twilio_post(
        &format!("/twilio/dial/{sid}"),
        &[("DialCallStatus", "completed")],
    )
    .await;
    app.status_callback(&sid, &csid, "completed", 3, &[]).await;
    assert_eq!(app.pending(&pid).await["call_status"], "calling");
    app.vapi_post(json!({"message": {"type": "end-of-call-report", "endedReason": "voicemail",
        "call": {"phoneCallProviderDetails": {"sip": {"headers": {"X-PendingCallId": pid}}}}, "artifact": {}, "analysis": {}}}))
        .await;
    let p = app.pending(&pid).await;
    assert_eq!(p["call_status"], "retry_scheduled");
    assert_eq!(p["outcome_success"], false);
}

async fn vapi_data_endpoint_is_guarded_and_uniform(b: Backend) {
    let app = spawn_app(b).await;
    let p = app.create_pending("+14155550160").await;
    let id = p["id"].as_str().unwrap();
    let get = |path: String, auth: Option<(&'static str, String)>| {
        let mut r = app.http.get(format!("{}{path}", app.addr));
        if let Some((h, v)) = auth {
            r = r.header(h, v);
        }
        r.send()
    };
    let r = get(format!("/vapi/pending-calls/{id}"), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let unauth: Value = r.json().await.unwrap();
    let r = get("/vapi/pending-calls/not-a-uuid".into(), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "credentials are checked before the id");
    let r = get(
        format!("/vapi/pending-calls/{id}"),
        Some(("authorization", "Bearer wrong".into())),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
    let bearer = Some(("authorization", format!("Bearer {VAPI_SECRET}")));
    let r = get("/vapi/pending-calls/not-a-uuid".into(), bearer.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let bad: Value = r.json().await.unwrap();
    let r = get(
        format!("/vapi/pending-calls/{}", uuid::Uuid::new_v4()),
        bearer.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    let missing: Value = r.json().await.unwrap();
    for v in [&unauth, &bad, &missing] {
        let keys: Vec<&String> = v["error"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "message"], "same shape: {v}");
    }
    let r = get(format!("/vapi/pending-calls/{id}"), bearer)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["employee_name"], "Jane Q. Employee");
    assert_eq!(v["exam_id"], "EX-1001");
    assert_eq!(v["pending_call_id"], id);
    let r = get(
        format!("/vapi/pending-calls/{id}"),
        Some(("x-vapi-secret", VAPI_SECRET.into())),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "legacy header accepted");
    // read-only: nothing changed
    let after = app.pending(id).await;
    assert_eq!(after["updated_at"], p["updated_at"]);
}

async fn vapi_assistant_request_and_tool_calls(b: Backend) {
    let app = spawn_app(b).await;
    let p = app.create_pending("+14155550170").await;
    let id = p["id"].as_str().unwrap();
    let r = app
        .vapi_post(json!({"message": {"type": "assistant-request", "call": {"assistantOverrides": {"variableValues": {"X-PendingCallId": id}}}}}))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let vars = &v["assistantOverrides"]["variableValues"];
    assert_eq!(vars["employee_name"], "Jane Q. Employee");
    assert_eq!(vars["pendingcallid"], id);
    let r = app
        .vapi_post(json!({"message": {"type": "tool-calls", "toolCallList": [
            {"id": "tc1", "type": "function", "function": {"name": "get_pending_call", "arguments": format!("{{\"pending_call_id\":\"{id}\"}}")}},
            {"id": "tc2", "name": "get_pending_call", "parameters": {}},
            {"id": "tc3", "name": "transfer_to_moon", "arguments": {}}
        ], "call": {"assistantOverrides": {"variableValues": {"pendingcallid": id}}}}}))
        .await;
    let v: Value = r.json().await.unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["toolCallId"], "tc1");
    let data: Value = serde_json::from_str(results[0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(data["exam_id"], "EX-1001");
    assert!(
        results[1]["result"].is_string(),
        "falls back to the call's id"
    );
    assert!(results[2]["error"].is_string());
    let r = app
        .vapi_post(json!({"message": {"type": "speech-update"}}))
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .post(format!("{}/vapi/webhook", app.addr))
        .json(&json!({"message": {"type": "tool-calls"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn dispatch_endpoint_contract(b: Backend) {
    let app = spawn_app(b).await;
    let p = app.create_pending("+14155550180").await;
    let id = p["id"].as_str().unwrap();
    let r = app
        .admin_post("/api/v1/pending-calls/xyz/dispatch", json!({}))
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .admin_post(
            &format!("/api/v1/pending-calls/{}/dispatch", uuid::Uuid::new_v4()),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .admin_post(&format!("/api/v1/pending-calls/{id}/dispatch"), json!({}))
        .await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    let session_id = v["session_id"].as_str().unwrap().to_string();
    let r = app
        .admin_post(&format!("/api/v1/pending-calls/{id}/dispatch"), json!({}))
        .await;
    assert_eq!(r.status(), 409, "already calling");
    // the background dial lands
    for _ in 0..100 {
        if !app.twilio.recorded().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let reqs = app.twilio.recorded();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].param("Url").unwrap().ends_with(&session_id));
    // the scheduler does not dial it again
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().claimed, 0);
    let c = app.create_pending("+14155550181").await;
    let cid = c["id"].as_str().unwrap();
    app.admin_post(&format!("/api/v1/pending-calls/{cid}/cancel"), json!({}))
        .await;
    let r = app
        .admin_post(&format!("/api/v1/pending-calls/{cid}/dispatch"), json!({}))
        .await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_state");
}

async fn rows_inserted_by_sql_are_picked_up(b: Backend) {
    let app = spawn_app(b).await;
    let now = chrono::Utc::now();
    let appt = now.to_rfc3339();
    match b {
        Backend::Postgres => {
            let pool = app.store.pg_pool().unwrap();
            sqlx::query("INSERT INTO pending_calls (exam_id, employee_name, phone, appointment_time) VALUES ('EX-SQL', 'Sam Sql', '415-555-0190', $1::timestamptz)")
                .bind(&appt)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO pending_calls (exam_id, employee_name, phone, appointment_time) VALUES ('EX-BAD', 'Bad Number', '12', now())")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO pending_calls (exam_id, employee_name, phone, phone_e164, clinic_timezone, appointment_time) VALUES ('EX-TZ', 'Bad Zone', '+14155550191', '+14155550191', 'Mars/Base', now())")
                .execute(pool)
                .await
                .unwrap();
        }
        Backend::Sqlite => {
            let pool = app.store.sqlite_pool().unwrap();
            // A local-offset timestamp with a space, as other tools write it.
            let local = now
                .with_timezone(&chrono::FixedOffset::west_opt(5 * 3600).unwrap())
                .format("%Y-%m-%d %H:%M:%S%:z")
                .to_string();
            sqlx::query("INSERT INTO pending_calls (exam_id, employee_name, phone, appointment_time) VALUES ('EX-SQL', 'Sam Sql', '415-555-0190', $1)")
                .bind(local)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO pending_calls (exam_id, employee_name, phone, appointment_time) VALUES ('EX-BAD', 'Bad Number', '12', $1)")
                .bind(&appt)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("INSERT INTO pending_calls (exam_id, employee_name, phone, phone_e164, clinic_timezone, appointment_time) VALUES ('EX-TZ', 'Bad Zone', '+14155550191', '+14155550191', 'Mars/Base', $1)")
                .bind(&appt)
                .execute(pool)
                .await
                .unwrap();
        }
    }
    let report = app.state.dispatcher.run_once().await.unwrap();
    assert_eq!(report.normalised, 1);
    assert_eq!(
        report.rejected, 2,
        "an invalid number and an unknown time zone"
    );
    assert_eq!(report.claimed, 1);
    let reqs = app.twilio.recorded();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].param("To").unwrap(), "+14155550190");
    let all: Value = app
        .admin_get("/api/v1/pending-calls")
        .await
        .json()
        .await
        .unwrap();
    let items = all["items"].as_array().unwrap();
    let tz = items.iter().find(|p| p["exam_id"] == "EX-TZ").unwrap();
    assert_eq!(tz["call_status"], "failed");
    assert_eq!(tz["last_error_code"], "invalid_timezone");
    let bad = items.iter().find(|p| p["exam_id"] == "EX-BAD").unwrap();
    assert_eq!(bad["call_status"], "failed");
    assert_eq!(bad["last_error_code"], "invalid_phone");
    let good = items.iter().find(|p| p["exam_id"] == "EX-SQL").unwrap();
    assert_eq!(good["call_status"], "calling");
    assert_eq!(good["clinic_timezone"], "America/New_York");
    let t =
        chrono::DateTime::parse_from_rfc3339(good["appointment_time"].as_str().unwrap()).unwrap();
    assert!(
        (t.timestamp() - now.timestamp()).abs() <= 1,
        "timestamp survived normalisation"
    );
}

async fn classification_api_round_trip(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .admin_get("/api/v1/classifications/%2B14155550199")
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .admin_put(
            "/api/v1/classifications/(415)%20555-0199",
            json!({"classification_type": "ivr_then_human"}),
        )
        .await;
    assert_eq!(r.status(), 422, "a menu needs steps");
    let r = app
        .admin_put(
            "/api/v1/classifications/not-a-phone",
            json!({"classification_type": "human"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .admin_put(
            "/api/v1/classifications/(415)%20555-0199",
            json!({"classification_type": "ivr_then_human", "ivr_actions": [{"after_ms": 2000, "digits": "3"}], "confidence": 0.9}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["phone_number"], "+14155550199");
    assert_eq!(v["source"], "operator");
    let expires =
        chrono::DateTime::parse_from_rfc3339(v["classification_expires_at"].as_str().unwrap())
            .unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.1).contains(&days), "30-day default: {days}");
    let r = app
        .admin_put(
            "/api/v1/classifications/+14155550199",
            json!({"classification_type": "human"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = app
        .admin_get("/api/v1/classifications/+1%20415%20555%200199")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["classification_type"], "human");
    assert_eq!(
        app.admin_delete("/api/v1/classifications/+14155550199")
            .await
            .status(),
        204
    );
    assert_eq!(
        app.admin_delete("/api/v1/classifications/+14155550199")
            .await
            .status(),
        404
    );
    assert_eq!(
        app.admin_get("/api/v1/classifications/+14155550199")
            .await
            .status(),
        404
    );
}

async fn twilio_rejection_fails_the_attempt_with_its_code(b: Backend) {
    let app = spawn_app(b).await;
    app.twilio.script.lock().unwrap().push((
        400,
        json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
    ));
    let p = app.create_pending("+14155550200").await;
    let pid = p["id"].as_str().unwrap();
    let report = app.state.dispatcher.run_once().await.unwrap();
    assert_eq!(report.dial_failed, 1);
    let p = app.pending(pid).await;
    assert_eq!(p["call_status"], "failed", "21211 is permanent");
    assert_eq!(p["last_error_code"], "21211");
    let s = app.sessions(pid).await.remove(0);
    assert_eq!(s["call_status"], "failed");
    assert_eq!(s["error_code"], "21211");
    // 429 never reached Twilio's queue: the attempt is handed back.
    app.twilio
        .script
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(
            (
                429,
                json!({"code": 20429, "message": "Too Many Requests", "status": 429}),
            ),
            10,
        ));
    let p = app.create_pending("+14155550201").await;
    let pid = p["id"].as_str().unwrap();
    app.state.dispatcher.run_once().await.unwrap();
    let p = app.pending(pid).await;
    assert_eq!(p["call_status"], "retry_scheduled");
    assert_eq!(p["attempt_count"], 0);
}

/// Checks `value` against a schema summary from VAPI's OpenAPI document: only known properties,
/// required ones present, declared JSON types respected.
fn conforms(schemas: &Value, name: &str, value: &Value) -> Result<(), String> {
    let s = &schemas[name];
    let obj = value.as_object().ok_or(format!("{name}: not an object"))?;
    for r in s["required"].as_array().unwrap() {
        if !obj.contains_key(r.as_str().unwrap()) {
            return Err(format!("{name}: missing required `{r}`"));
        }
    }
    for (k, v) in obj {
        let prop = s["properties"]
            .get(k)
            .ok_or(format!("{name}: unknown property `{k}`"))?;
        let ok = match prop.get("type").and_then(Value::as_str) {
            Some("string") => v.is_string(),
            Some("object") => v.is_object(),
            Some("array") => v.is_array(),
            Some("boolean") => v.is_boolean(),
            Some("number") => v.is_number(),
            _ => true,
        };
        if !ok {
            return Err(format!("{name}.{k}: wrong type"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vapi_responses_conform_to_vapis_openapi() {
    let schemas: Value =
        serde_json::from_str(include_str!("fixtures/vapi-response-schemas.json")).unwrap();
    let app = spawn_app(Backend::Sqlite).await;
    let p = app.create_pending("+14155550300").await;
    let id = p["id"].as_str().unwrap();
    let v: Value = app
        .vapi_post(json!({"message": {"type": "assistant-request", "call": {"assistantOverrides": {"variableValues": {"pendingcallid": id}}}}}))
        .await
        .json()
        .await
        .unwrap();
    conforms(&schemas, "ServerMessageResponseAssistantRequest", &v).unwrap();
    conforms(&schemas, "AssistantOverrides", &v["assistantOverrides"]).unwrap();
    let v: Value = app
        .vapi_post(json!({"message": {"type": "tool-calls", "toolCallList": [
            {"id": "a", "type": "function", "function": {"name": "get_pending_call", "arguments": {"pending_call_id": id}}},
            {"id": "b", "type": "function", "function": {"name": "nope", "arguments": {}}}]}}))
        .await
        .json()
        .await
        .unwrap();
    conforms(&schemas, "ServerMessageResponseToolCalls", &v).unwrap();
    for r in v["results"].as_array().unwrap() {
        conforms(&schemas, "ToolCallResult", r).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_mode_streams_both_tracks_while_the_assistant_talks() {
    let app = spawn_app_with(Backend::Sqlite, &[("SWITCHBOARD_CLASSIFY_MODE", "observe")]).await;
    let (pid, sid, csid) = dialled(&app, "+14155550310").await;
    let (_, _, body) = voice(&app, &sid, &csid).await;
    let tree = parse_xml(&body);
    assert_eq!(tree.children[0].name, "Start", "{body}");
    let stream = &tree.children[0].children[0];
    assert!(
        stream
            .attrs
            .contains(&("track".into(), "both_tracks".into()))
    );
    assert_eq!(tree.children[1].name, "Dial");
    assert_eq!(
        tree.children[1].children[0].text,
        format!("{VAPI_SIP}?X-pendingcallid={pid}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_cache_routing_and_latency() {
    let app = spawn_app(Backend::Sqlite).await;
    app.admin_put(
        "/api/v1/classifications/+14155550320",
        json!({"classification_type": "human"}),
    )
    .await;
    let (_, sid, csid) = dialled(&app, "+14155550320").await;
    voice(&app, &sid, &csid).await;
    dialled(&app, "+14155550321").await;
    let text = app.metrics().await;
    assert!(
        text.contains("switchboard_classification_cache_total{result=\"hit\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_classification_cache_total{result=\"miss\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_routing_total{decision=\"bridge\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_webhook_latency_ms_count{route=\"twilio_voice\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_pending_calls{status=\"calling\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("switchboard_dispatcher_lag_seconds"),
        "{text}"
    );
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 200);
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    let r = app.get("/no/such/route").await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limit_caps_claims_across_passes() {
    let app = spawn_app_with(Backend::Sqlite, &[("SWITCHBOARD_MAX_IN_FLIGHT", "2")]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.create_pending(&format!("+1415555040{i}")).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().claimed, 2);
    assert_eq!(
        app.state.dispatcher.run_once().await.unwrap().claimed,
        0,
        "two calls still on the line"
    );
    // one call ends: one slot frees up
    let calling: Vec<&String> = {
        let mut v = Vec::new();
        for id in &ids {
            if app.pending(id).await["call_status"] == "calling" {
                v.push(id);
            }
        }
        v
    };
    let s = app.sessions(calling[0]).await.remove(0);
    app.status_callback(
        s["id"].as_str().unwrap(),
        s["call_id"].as_str().unwrap(),
        "no-answer",
        2,
        &[],
    )
    .await;
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().claimed, 1);
    assert_eq!(app.twilio.recorded().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_paced_to_the_configured_rate() {
    let app = spawn_app_with(Backend::Sqlite, &[("SWITCHBOARD_CALLS_PER_SECOND", "5")]).await;
    for i in 0..4 {
        app.create_pending(&format!("+1415555041{i}")).await;
    }
    app.state.dispatcher.run_once().await.unwrap();
    let mut at: Vec<std::time::Instant> = app.twilio.recorded().iter().map(|r| r.at).collect();
    at.sort();
    assert_eq!(at.len(), 4);
    for w in at.windows(2) {
        // 5 per second: 200 ms apart (allowing scheduler slack below, never bursts).
        assert!(
            w[1] - w[0] >= std::time::Duration::from_millis(150),
            "calls {:?} apart",
            w[1] - w[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_twilio_settings_nothing_is_dialled_and_dispatch_says_why() {
    let app = spawn_app_with(Backend::Sqlite, &[("TWILIO_ACCOUNT_SID", "")]).await;
    let p = app.create_pending("+14155550420").await;
    let r = app
        .admin_post(
            &format!(
                "/api/v1/pending-calls/{}/dispatch",
                p["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "twilio_not_configured");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("TWILIO_ACCOUNT_SID")
    );
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().claimed, 0);
    assert_eq!(
        app.pending(p["id"].as_str().unwrap()).await["call_status"],
        "pending",
        "nothing claimed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_twilio_failure_is_never_redialled_and_is_settled_by_the_sweep() {
    let app = spawn_app(Backend::Sqlite).await;
    // A 500 on create: Twilio may or may not have created the call.
    app.twilio.script.lock().unwrap().push((
        500,
        json!({"code": 20500, "message": "Internal Server Error", "status": 500}),
    ));
    let p = app.create_pending("+14155550600").await;
    let pid = p["id"].as_str().unwrap();
    let r = app.state.dispatcher.run_once().await.unwrap();
    assert_eq!(r.dial_failed, 1);
    assert_eq!(app.twilio.recorded().len(), 1, "exactly one create");
    let s = app.sessions(pid).await.remove(0);
    assert_eq!(
        s["call_status"], "initiating",
        "unknown outcome: wait for a callback"
    );
    assert_eq!(app.pending(pid).await["call_status"], "calling");
    // Nothing is redialled while it might be ringing.
    app.state.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().claimed, 0);
    assert_eq!(app.twilio.recorded().len(), 1);
    // No callback ever came: the sweep closes the session and schedules a retry.
    app.state.clock.advance(chrono::Duration::minutes(6));
    let r = app.state.dispatcher.run_once().await.unwrap();
    assert_eq!(r.swept, 1);
    let s = app.sessions(pid).await.remove(0);
    assert_eq!(s["call_status"], "failed");
    assert_eq!(s["error_code"], "20500");
    let p = app.pending(pid).await;
    assert_eq!(p["call_status"], "retry_scheduled");
    assert_eq!(p["last_error_code"], "lost_track");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_callback_for_an_ambiguous_create_recovers_the_call() {
    let app = spawn_app(Backend::Sqlite).await;
    app.twilio.script.lock().unwrap().push((
        503,
        json!({"code": 20503, "message": "Service Unavailable", "status": 503}),
    ));
    let p = app.create_pending("+14155550601").await;
    let pid = p["id"].as_str().unwrap();
    app.state.dispatcher.run_once().await.unwrap();
    let sid = app.sessions(pid).await.remove(0)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Twilio did create it after all: its callbacks name the session in the URL.
    let csid = "CA0000000000000000000000000000beef";
    app.status_callback(&sid, csid, "ringing", 1, &[]).await;
    app.status_callback(&sid, csid, "no-answer", 2, &[("SipResponseCode", "487")])
        .await;
    let s = app.sessions(pid).await.remove(0);
    assert_eq!(s["call_id"], csid);
    assert_eq!(s["call_status"], "no_answer");
    assert_eq!(app.pending(pid).await["call_status"], "retry_scheduled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridged_call_without_a_report_is_retried_by_the_sweep() {
    let app = spawn_app(Backend::Sqlite).await;
    let (pid, sid, csid) = dialled(&app, "+14155550602").await;
    app.twilio_post(
        &format!("/twilio/dial/{sid}"),
        &[("DialCallStatus", "completed")],
    )
    .await;
    app.status_callback(&sid, &csid, "completed", 3, &[("CallDuration", "60")])
        .await;
    assert_eq!(
        app.pending(&pid).await["call_status"],
        "calling",
        "waiting for the assistant's report"
    );
    app.state.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(app.state.dispatcher.run_once().await.unwrap().swept, 1);
    let p = app.pending(&pid).await;
    assert_eq!(p["call_status"], "retry_scheduled");
    assert_eq!(p["last_error_code"], "no_assistant_report");
    assert_eq!(
        app.sessions(&pid).await[0]["call_status"],
        "completed",
        "Twilio's final status is kept"
    );
}

async fn stats_report_the_days_success_rate(b: Backend) {
    let app = spawn_app(b).await;
    let (pid, sid, _) = dialled(&app, "+14155550700").await;
    app.twilio_post(
        &format!("/twilio/dial/{sid}"),
        &[("DialCallStatus", "completed")],
    )
    .await;
    app.vapi_post(json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
        "call": {"assistantOverrides": {"variableValues": {"pendingcallid": pid}}}, "artifact": {}, "analysis": {"successEvaluation": true}}}))
        .await;
    let (_, sid2, csid2) = dialled(&app, "+14155550701").await;
    app.status_callback(&sid2, &csid2, "busy", 2, &[]).await;
    app.create_pending("+14155550702").await;
    let v: Value = app.admin_get("/api/v1/stats").await.json().await.unwrap();
    assert_eq!(v["total_calls"], 3);
    assert_eq!(v["successful"], 1);
    assert_eq!(v["by_status"]["retry_scheduled"], 1);
    assert_eq!(v["attempts"], 2);
    assert!((v["success_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(v["tz"], "America/New_York");
    let r = app.admin_get("/api/v1/stats?date=yesterday").await;
    assert_eq!(r.status(), 400);
    let v: Value = app
        .admin_get("/api/v1/stats?date=2001-01-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total_calls"], 0);
    assert!(v["success_rate"].is_null());
}

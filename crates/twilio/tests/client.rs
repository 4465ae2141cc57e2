//! The Twilio client over real HTTP against a local recording server: exact form bodies and
//! headers, both auth kinds, error shapes, and which failures are retried.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};
use switchboard_twilio::{
    Auth, CreateCall, RetryPolicy, TWIML_MAX_CHARS, TwilioConfig, TwilioError, UpdateCall,
};

/// twilio-python 9.x's body for the same parameters (OpenAPI property order; CPython's
/// `urlencode(doseq=True)` printed this string). Compare protocols.md A.2's captured body.
const CREATE_BODY: &str = "To=%2B14155551212&From=%2B15005550006&Method=POST\
&StatusCallback=https%3A%2F%2Fexample.com%2Fstatus\
&StatusCallbackEvent=initiated&StatusCallbackEvent=ringing\
&StatusCallbackEvent=answered&StatusCallbackEvent=completed\
&StatusCallbackMethod=POST&Timeout=30&TimeLimit=600&Url=https%3A%2F%2Fexample.com%2Ftwiml";

#[tokio::test]
async fn create_sends_twilio_pythons_exact_request() {
    let (r, base) = server().await;
    let call = client(&base).create_call(&sample()).await.unwrap();
    assert_eq!(call.sid, CALL);
    assert_eq!(call.status, "queued");
    assert_eq!(call.queue_time.as_deref(), Some("1000"));
    assert_eq!(call.queue_time_ms(), Some(1000));
    assert_eq!(call.direction.as_deref(), Some("outbound-api"));

    let seen = r.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, "POST");
    assert_eq!(s.path, format!("/2010-04-01/Accounts/{ACCOUNT}/Calls.json"));
    assert_eq!(s.query, None);
    assert_eq!(s.body(), CREATE_BODY);
    assert_eq!(
        s.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(s.header("accept"), Some("application/json"));
    assert_eq!(
        s.header("authorization"),
        Some(basic(ACCOUNT, TOKEN).as_str())
    );
    let ua = s.header("user-agent").unwrap();
    assert!(ua.starts_with("switchboard/"), "{ua}");
}

#[tokio::test]
async fn status_callback_events_are_four_repeated_keys() {
    let (r, base) = server().await;
    client(&base).create_call(&sample()).await.unwrap();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&r.seen()[0].body)
        .into_owned()
        .collect();
    let events: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(events, ["initiated", "ringing", "answered", "completed"]);
    assert!(!r.seen()[0].body().contains("%5B"), "no `[]` suffix");
}

#[tokio::test]
async fn optional_limits_are_left_out_when_unset() {
    let (r, base) = server().await;
    let c = CreateCall {
        timeout_secs: None,
        time_limit_secs: None,
        ..sample()
    };
    client(&base).create_call(&c).await.unwrap();
    assert_eq!(
        r.seen()[0].body(),
        CREATE_BODY.replace("&Timeout=30&TimeLimit=600", "")
    );
}

#[tokio::test]
async fn api_keys_authenticate_with_the_key_and_keep_the_account_in_the_path() {
    let (r, base) = server().await;
    let c = client_with(
        &base,
        Auth::ApiKey {
            sid: "SK0123456789abcdef0123456789abcdef".into(),
            secret: "key-secret-1a2b".into(),
        },
        fast_retry(),
        Duration::from_secs(5),
    );
    c.create_call(&sample()).await.unwrap();
    c.fetch_call(CALL).await.unwrap();
    for s in r.seen() {
        assert_eq!(
            s.header("authorization"),
            Some(basic("SK0123456789abcdef0123456789abcdef", "key-secret-1a2b").as_str())
        );
        assert!(
            s.path
                .starts_with(&format!("/2010-04-01/Accounts/{ACCOUNT}/Calls")),
            "{}",
            s.path
        );
    }
}

#[tokio::test]
async fn a_trailing_slash_on_the_base_is_ignored() {
    let (r, base) = server().await;
    client(&format!("{base}/"))
        .create_call(&sample())
        .await
        .unwrap();
    assert_eq!(
        r.seen()[0].path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Calls.json")
    );
}

#[tokio::test]
async fn updates_send_exactly_one_of_twiml_url_or_status() {
    let (r, base) = server().await;
    let c = client(&base);
    let twiml =
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Play digits="ww1"/></Response>"#;
    let call = c
        .update_call(CALL, &UpdateCall::Twiml(twiml.into()))
        .await
        .unwrap();
    assert_eq!(call.status, "in-progress");
    c.update_call(
        CALL,
        &UpdateCall::Url {
            url: "https://example.com/next?step=2".into(),
        },
    )
    .await
    .unwrap();
    c.update_call(CALL, &UpdateCall::Complete).await.unwrap();
    let seen = r.seen();
    assert_eq!(
        seen.iter().map(|s| s.body()).collect::<Vec<_>>(),
        [
            "Twiml=%3C%3Fxml+version%3D%221.0%22+encoding%3D%22UTF-8%22%3F%3E%3CResponse%3E%3CPlay+digits%3D%22ww1%22%2F%3E%3C%2FResponse%3E",
            "Url=https%3A%2F%2Fexample.com%2Fnext%3Fstep%3D2&Method=POST",
            "Status=completed",
        ]
    );
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(
            s.path,
            format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json")
        );
        assert_eq!(
            s.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(s.header("accept"), Some("application/json"));
        assert_eq!(
            s.header("authorization"),
            Some(basic(ACCOUNT, TOKEN).as_str())
        );
    }
}

#[tokio::test]
async fn fetch_is_a_bodiless_get() {
    let (r, base) = server().await;
    let call = client(&base).fetch_call(CALL).await.unwrap();
    assert_eq!(call.sid, CALL);
    let s = &r.seen()[0];
    assert_eq!(s.method, "GET");
    assert_eq!(
        s.path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json")
    );
    assert!(s.body.is_empty());
    assert_eq!(s.header("content-type"), None);
    assert_eq!(s.header("accept"), Some("application/json"));
}

#[tokio::test]
async fn twiml_over_4000_characters_is_refused_without_a_request() {
    let (r, base) = server().await;
    let c = client(&base);
    let long = format!(
        "<Response><Say>{}</Say></Response>",
        "a".repeat(TWIML_MAX_CHARS)
    );
    let e = c
        .update_call(CALL, &UpdateCall::Twiml(long))
        .await
        .unwrap_err();
    assert!(matches!(e, TwilioError::InvalidRequest(_)), "{e:?}");
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("4000"), "{e}");
    assert_eq!(r.count(), 0, "refused locally, nothing sent");
    // Exactly 4000 is allowed.
    let exact = format!("<Response>{}</Response>", "a".repeat(TWIML_MAX_CHARS - 21));
    assert_eq!(exact.chars().count(), TWIML_MAX_CHARS);
    c.update_call(CALL, &UpdateCall::Twiml(exact))
        .await
        .unwrap();
    assert_eq!(r.count(), 1);
}

#[tokio::test]
async fn malformed_input_is_refused_locally() {
    let (r, base) = server().await;
    let c = client(&base);
    for sid in ["", "CA1/../../Accounts", "CA1?x=1", "CA1.json"] {
        let e = c.fetch_call(sid).await.unwrap_err();
        assert!(matches!(e, TwilioError::InvalidRequest(_)), "{sid}: {e:?}");
    }
    let e = c
        .create_call(&CreateCall {
            url: "/relative".into(),
            ..sample()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, TwilioError::InvalidRequest(_)), "{e:?}");
    assert_eq!(r.count(), 0);
    let bad_account = switchboard_twilio::TwilioClient::new(TwilioConfig {
        api_base: base.clone(),
        account_sid: "AC1/x".into(),
        auth: Auth::AuthToken(TOKEN.into()),
    });
    assert!(matches!(bad_account, Err(TwilioError::InvalidRequest(_))));
}

fn too_many() -> Reply {
    Reply::new(
        429,
        json!({"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}).to_string(),
    )
}

#[tokio::test]
async fn rate_limited_creates_are_retried() {
    let (r, base) = server().await;
    r.push(too_many());
    let call = client(&base).create_call(&sample()).await.unwrap();
    assert_eq!(call.sid, CALL);
    let seen = r.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.body() == CREATE_BODY));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (r, base) = server().await;
    r.push(too_many().header("retry-after", "1"));
    let c = client_with(
        &base,
        Auth::AuthToken(TOKEN.into()),
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
        },
        Duration::from_secs(5),
    );
    let t = Instant::now();
    c.create_call(&sample()).await.unwrap();
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert_eq!(r.count(), 2);
}

#[tokio::test]
async fn retry_after_is_capped_by_max_delay() {
    let (r, base) = server().await;
    r.push(too_many().header("retry-after", "3600"));
    let t = Instant::now();
    client(&base).create_call(&sample()).await.unwrap(); // max_delay 20 ms
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(r.count(), 2);
}

#[tokio::test]
async fn exhausted_retries_return_the_last_error_still_retryable() {
    let (r, base) = server().await;
    for _ in 0..10 {
        r.push(too_many());
    }
    let e = client(&base).create_call(&sample()).await.unwrap_err();
    assert_eq!(r.count(), 4, "one attempt and max_retries = 3 retries");
    assert_eq!(e.http_status(), Some(429));
    assert_eq!(e.code(), Some(20429));
    assert!(e.is_retryable());
    assert!(e.was_not_processed());
}

#[tokio::test]
async fn a_server_error_on_create_is_not_retried() {
    let (r, base) = server().await;
    r.push(Reply::new(
        500,
        json!({"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500", "status": 500}).to_string(),
    ));
    let e = client(&base).create_call(&sample()).await.unwrap_err();
    assert_eq!(
        r.count(),
        1,
        "exactly one request: a duplicate call is worse than a late one"
    );
    assert_eq!(e.http_status(), Some(500));
    assert_eq!(e.code(), Some(20500));
    assert!(e.is_retryable());
    assert!(!e.was_not_processed(), "Twilio may have created the call");
}

#[tokio::test]
async fn a_non_json_502_keeps_only_the_status() {
    let (r, base) = server().await;
    r.push(
        Reply::new(502, "<html><body>502 Bad Gateway</body></html>")
            .header("content-type", "text/html"),
    );
    let e = client(&base).create_call(&sample()).await.unwrap_err();
    assert_eq!(r.count(), 1);
    assert_eq!(
        e,
        TwilioError::Api {
            http_status: 502,
            code: None,
            message: "Bad Gateway".into(),
            more_info: None,
        }
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn server_errors_on_update_and_fetch_are_retried() {
    let (r, base) = server().await;
    let c = client(&base);
    r.push(Reply::new(503, "Service Unavailable"));
    r.push(Reply::new(500, "{}"));
    c.update_call(CALL, &UpdateCall::Complete).await.unwrap();
    assert_eq!(r.count(), 3);
    r.push(Reply::new(502, ""));
    c.fetch_call(CALL).await.unwrap();
    assert_eq!(r.count(), 5);
    // A 4xx is final.
    r.push(Reply::new(
        404,
        json!({"code": 20404, "message": "The requested resource was not found", "status": 404})
            .to_string(),
    ));
    let e = c
        .update_call(CALL, &UpdateCall::Complete)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(20404));
    assert!(!e.is_retryable());
    assert_eq!(r.count(), 6);
}

#[tokio::test]
async fn a_timeout_on_create_is_not_retried_but_on_update_is() {
    let (r, base) = server().await;
    let c = client_with(
        &base,
        Auth::AuthToken(TOKEN.into()),
        RetryPolicy {
            max_retries: 1,
            ..fast_retry()
        },
        Duration::from_millis(300),
    );
    r.push(Reply::new(201, call_json("queued")).delayed(Duration::from_secs(3)));
    let e = c.create_call(&sample()).await.unwrap_err();
    assert!(matches!(e, TwilioError::Transport(_)), "{e:?}");
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(e.is_retryable());
    assert!(!e.was_not_processed());
    assert_eq!(r.count(), 1);

    r.push(Reply::new(200, call_json("completed")).delayed(Duration::from_secs(3)));
    let call = c.update_call(CALL, &UpdateCall::Complete).await.unwrap();
    assert_eq!(call.status, "in-progress"); // the retry's (default) answer
    assert_eq!(r.count(), 3);
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_known_not_to_have_reached_twilio() {
    // Bind and drop to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = client(&format!("http://127.0.0.1:{port}"));
    let e = c.create_call(&sample()).await.unwrap_err();
    assert!(matches!(e, TwilioError::Connect(_)), "{e:?}");
    assert!(e.is_retryable());
    assert!(e.was_not_processed(), "{e}");
    assert!(!e.to_string().contains(TOKEN));
}

#[tokio::test]
async fn legacy_error_bodies_are_parsed() {
    let (r, base) = server().await;
    r.push(Reply::new(
        400,
        json!({"code": 21211, "message": "Invalid 'To' Phone Number: +1415555", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400, "details": {"field": "To"}}).to_string(),
    ));
    let e = client(&base).create_call(&sample()).await.unwrap_err();
    assert_eq!(
        e,
        TwilioError::Api {
            http_status: 400,
            code: Some(21211),
            message: "Invalid 'To' Phone Number: +1415555".into(),
            more_info: Some("https://www.twilio.com/docs/errors/21211".into()),
        }
    );
    assert!(!e.is_retryable());
    assert_eq!(r.count(), 1);
}

#[tokio::test]
async fn rfc_9457_error_bodies_are_parsed() {
    let (r, base) = server().await;
    r.push(
        Reply::new(
            401,
            json!({"type": "https://www.twilio.com/docs/errors/20003", "title": "Authenticate", "status": 401, "code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.", "instance": "/2010-04-01/Accounts/AC/Calls.json"}).to_string(),
        )
        .header("content-type", "application/problem+json"),
    );
    let e = client(&base).create_call(&sample()).await.unwrap_err();
    assert_eq!(
        e,
        TwilioError::Api {
            http_status: 401,
            code: Some(20003),
            message: "Authenticate: Your AccountSid or AuthToken was incorrect.".into(),
            more_info: Some("https://www.twilio.com/docs/errors/20003".into()),
        }
    );
    assert!(!e.is_retryable());
    assert!(!e.to_string().contains(TOKEN));
    assert!(!format!("{e:?}").contains(TOKEN));
}

#[tokio::test]
async fn an_unreadable_success_body_is_ambiguous_not_retried() {
    let (r, base) = server().await;
    r.push(Reply::new(201, "<Response/>"));
    let e = client(&base).create_call(&sample()).await.unwrap_err();
    assert!(matches!(e, TwilioError::Transport(_)), "{e:?}");
    assert!(!e.was_not_processed(), "the call may exist");
    assert_eq!(r.count(), 1);
}

#[tokio::test]
async fn secrets_never_appear_in_debug_output() {
    let token = Auth::AuthToken("tok-SECRET-1".into());
    let key = Auth::ApiKey {
        sid: "SK0123456789abcdef0123456789abcdef".into(),
        secret: "key-SECRET-2".into(),
    };
    for auth in [token, key] {
        let cfg = TwilioConfig::new(ACCOUNT, auth);
        assert_eq!(cfg.api_base, "https://api.twilio.com");
        let client = switchboard_twilio::TwilioClient::new(cfg.clone()).unwrap();
        for text in [
            format!("{cfg:?}"),
            format!("{cfg:#?}"),
            format!("{:?}", cfg.auth),
            format!("{client:?}"),
        ] {
            assert!(!text.contains("SECRET"), "{text}");
            assert!(text.contains("redacted"), "{text}");
        }
    }
    let key_debug = format!(
        "{:?}",
        Auth::ApiKey {
            sid: "SK42".into(),
            secret: "s".into()
        }
    );
    assert!(key_debug.contains("SK42"), "the key SID is not secret");
}

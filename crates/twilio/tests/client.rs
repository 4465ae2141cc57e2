//! The Twilio client against a local HTTP server that records each request and answers as
//! scripted: exact form bodies, authentication, error shapes, and which failures are retried.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_twilio::{
    Auth, CreateCall, RetryPolicy, TwilioClient, TwilioConfig, TwilioError, UpdateCall,
    create_form, update_form,
};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A scripted answer: status, extra headers, body.
type Scripted = (u16, Vec<(&'static str, String)>, String);

#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<Vec<Scripted>>>,
}

async fn record(
    State(r): State<Recorder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    r.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_string(),
        headers,
        body,
    });
    let next = {
        let mut s = r.script.lock().unwrap();
        if s.is_empty() {
            None
        } else {
            Some(s.remove(0))
        }
    };
    let (status, extra, body) = next.unwrap_or((
        201,
        vec![],
        json!({"sid": "CA0123456789abcdef0123456789abcdef", "status": "queued", "queue_time": "0", "to": "+14155551212"}).to_string(),
    ));
    let mut resp = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (k, v) in extra {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

async fn server() -> (Recorder, String) {
    let r = Recorder::default();
    let app = Router::new().fallback(record).with_state(r.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (r, format!("http://{addr}"))
}

fn client(base: &str, auth: Auth) -> TwilioClient {
    let retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
    };
    TwilioClient::with_options(
        TwilioConfig {
            api_base: base.into(),
            account_sid: ACCOUNT.into(),
            auth,
        },
        retry,
        Duration::from_secs(5),
    )
    .unwrap()
}

fn sample() -> CreateCall {
    CreateCall {
        to: "+14155551212".into(),
        from: "+15005550006".into(),
        url: "https://example.com/twiml".into(),
        status_callback: "https://example.com/status".into(),
        timeout_secs: Some(30),
        time_limit_secs: Some(600),
    }
}

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[tokio::test]
async fn create_sends_twilio_pythons_exact_body() {
    let (r, base) = server().await;
    let call = client(&base, Auth::AuthToken("tok".into()))
        .create_call(&sample())
        .await
        .unwrap();
    assert_eq!(call.sid, "CA0123456789abcdef0123456789abcdef");
    let seen = r.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, Method::POST);
    assert_eq!(s.path, format!("/2010-04-01/Accounts/{ACCOUNT}/Calls.json"));
    // twilio-python's captured body (protocols.md A.2) minus the parameters we do not set.
    assert_eq!(
        s.body,
        "To=%2B14155551212&From=%2B15005550006&StatusCallback=https%3A%2F%2Fexample.com%2Fstatus\
         &StatusCallbackEvent=initiated&StatusCallbackEvent=ringing&StatusCallbackEvent=answered\
         &StatusCallbackEvent=completed&Timeout=30&TimeLimit=600&Url=https%3A%2F%2Fexample.com%2Ftwiml"
    );
    assert_eq!(
        s.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(s.headers["accept"], "application/json");
    assert_eq!(s.headers["authorization"], basic(ACCOUNT, "tok").as_str());
    assert!(
        s.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("switchboard/")
    );
}

#[tokio::test]
async fn api_keys_authenticate_with_the_key_and_keep_the_account_in_the_path() {
    let (r, base) = server().await;
    client(
        &base,
        Auth::ApiKey {
            sid: "SK1".into(),
            secret: "sec".into(),
        },
    )
    .create_call(&sample())
    .await
    .unwrap();
    let s = r.seen.lock().unwrap()[0].clone();
    assert_eq!(s.headers["authorization"], basic("SK1", "sec").as_str());
    assert!(s.path.contains(ACCOUNT));
}

#[tokio::test]
async fn updates_send_one_of_twiml_url_or_status() {
    let (r, base) = server().await;
    let c = client(&base, Auth::AuthToken("tok".into()));
    let sid = "CA0123456789abcdef0123456789abcdef";
    c.update_call(
        sid,
        &UpdateCall::Twiml("<Response><Play digits=\"ww1\"/></Response>".into()),
    )
    .await
    .unwrap();
    c.update_call(
        sid,
        &UpdateCall::Url {
            url: "https://example.com/next".into(),
        },
    )
    .await
    .unwrap();
    c.update_call(sid, &UpdateCall::Complete).await.unwrap();
    c.fetch_call(sid).await.unwrap();
    let seen = r.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].body,
        "Twiml=%3CResponse%3E%3CPlay+digits%3D%22ww1%22%2F%3E%3C%2FResponse%3E"
    );
    assert_eq!(
        seen[1].body,
        "Url=https%3A%2F%2Fexample.com%2Fnext&Method=POST"
    );
    assert_eq!(seen[2].body, "Status=completed");
    assert_eq!(
        seen[0].path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json")
    );
    assert_eq!(seen[3].method, Method::GET);
    let long = "x".repeat(4001);
    assert!(matches!(
        c.update_call(sid, &UpdateCall::Twiml(long)).await,
        Err(TwilioError::InvalidRequest(_))
    ));
    assert_eq!(
        r.seen.lock().unwrap().len(),
        4,
        "rejected locally, nothing sent"
    );
}

#[tokio::test]
async fn rate_limited_creates_are_retried_honouring_retry_after() {
    let (r, base) = server().await;
    let body = json!({"code": 20429, "message": "Too Many Requests", "status": 429}).to_string();
    r.script
        .lock()
        .unwrap()
        .push((429, vec![("retry-after", "0".into())], body.clone()));
    r.script.lock().unwrap().push((429, vec![], body));
    let call = client(&base, Auth::AuthToken("t".into()))
        .create_call(&sample())
        .await
        .unwrap();
    assert_eq!(call.status.as_deref(), Some("queued"));
    assert_eq!(r.seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_server_error_on_create_is_never_retried() {
    let (r, base) = server().await;
    r.script.lock().unwrap().push((500, vec![], "oops".into()));
    let err = client(&base, Auth::AuthToken("t".into()))
        .create_call(&sample())
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert!(!err.was_not_processed(), "Twilio may have created the call");
    assert_eq!(
        r.seen.lock().unwrap().len(),
        1,
        "exactly one request: a duplicate call is worse than a late one"
    );
}

#[tokio::test]
async fn a_server_error_on_update_is_retried() {
    let (r, base) = server().await;
    r.script.lock().unwrap().push((503, vec![], "{}".into()));
    client(&base, Auth::AuthToken("t".into()))
        .update_call("CA0123456789abcdef0123456789abcdef", &UpdateCall::Complete)
        .await
        .unwrap();
    assert_eq!(r.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn errors_keep_twilios_code_and_message() {
    let (r, base) = server().await;
    r.script.lock().unwrap().push((
        400,
        vec![],
        json!({"code": 21211, "message": "Invalid 'To' Phone Number", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}).to_string(),
    ));
    r.script.lock().unwrap().push((
        401,
        vec![],
        json!({"type": "https://www.twilio.com/docs/errors/20003", "title": "Authenticate", "status": 401, "code": 20003, "detail": "bad credentials"}).to_string(),
    ));
    let c = client(&base, Auth::AuthToken("secret-token".into()));
    let e = c.create_call(&sample()).await.unwrap_err();
    assert_eq!(e.code(), Some(21211));
    assert!(!e.is_retryable());
    let e = c.create_call(&sample()).await.unwrap_err();
    assert_eq!(e.code(), Some(20003));
    assert!(e.to_string().contains("Authenticate: bad credentials"));
    assert!(!e.to_string().contains("secret-token"));
}

#[tokio::test]
async fn a_refused_connection_is_known_not_to_have_reached_twilio() {
    // Bind and drop to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = client(
        &format!("http://127.0.0.1:{port}"),
        Auth::AuthToken("t".into()),
    )
    .create_call(&sample())
    .await
    .unwrap_err();
    assert!(e.was_not_processed(), "{e}");
}

/// Every parameter the client sends exists in Twilio's OpenAPI document for its operation, with
/// a value of the declared type.
#[test]
fn every_parameter_sent_is_in_twilios_openapi_spec() {
    let spec: Value = serde_json::from_str(include_str!("fixtures/calls-params.json")).unwrap();
    let check = |op: &str, form: Vec<(&'static str, String)>| {
        let props = &spec[op]["properties"];
        for (k, v) in &form {
            let p = props
                .get(*k)
                .unwrap_or_else(|| panic!("{op}: `{k}` is not a documented parameter"));
            if let Some(e) = p.get("enum") {
                assert!(
                    e.as_array().unwrap().iter().any(|x| x == v),
                    "{op}.{k}={v} not in {e}"
                );
            }
            match p["type"].as_str().unwrap() {
                "integer" => assert!(v.parse::<i64>().is_ok(), "{op}.{k} must be an integer"),
                "array" => assert!(
                    ["initiated", "ringing", "answered", "completed"].contains(&v.as_str()),
                    "{op}.{k}={v}"
                ),
                "string" if p.get("format").and_then(Value::as_str) == Some("uri") => {
                    assert!(v.starts_with("http"))
                }
                _ => {}
            }
        }
        for r in spec[op]["required"].as_array().unwrap() {
            assert!(
                form.iter().any(|(k, _)| *k == r.as_str().unwrap()),
                "{op}: required {r} missing"
            );
        }
    };
    check("CreateCall", create_form(&sample()));
    check(
        "UpdateCall",
        update_form(&UpdateCall::Twiml("<Response/>".into())).unwrap(),
    );
    check(
        "UpdateCall",
        update_form(&UpdateCall::Url {
            url: "https://e.com/x".into(),
        })
        .unwrap(),
    );
    check("UpdateCall", update_form(&UpdateCall::Complete).unwrap());
}

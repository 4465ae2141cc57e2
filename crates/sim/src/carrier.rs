//! The carrier: a Twilio stand-in. It serves the REST subset Switchboard uses (create, update,
//! fetch a call) with Twilio's auth, JSON bodies and error shapes, queues calls at a
//! calls-per-second limit, and plays each call out against the clinic's phone system: it rings,
//! answers (or not), fetches TwiML with a correct `X-Twilio-Signature`, executes it, opens Media
//! Streams over real WebSockets, hands `<Dial><Sip>` to the VAPI stand-in, and sends signed
//! status callbacks. TwiML Twilio would reject is an application error: logged loudly, counted,
//! and the call ends, so a test that makes Switchboard emit bad TwiML fails.

use crate::clock::SimClock;
use crate::line::{Line, LineState};
use crate::playout::{self, Playout};
use crate::twiml::{self, El};
use crate::world::{Clinic, Kind, World};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Carrier settings.
#[derive(Clone)]
pub struct CarrierConfig {
    pub account_sid: String,
    /// Authenticates REST requests (with the Account SID) and signs webhooks.
    pub auth_token: String,
    /// An optional API key accepted for REST requests.
    pub api_key: Option<(String, String)>,
    pub cps: f64,
    pub world: Arc<World>,
    /// The simulated day (menus can change on a given day).
    pub day: Arc<AtomicU32>,
    pub clock: SimClock,
    /// Where `<Dial><Sip>` hand-offs go: the VAPI stand-in's base URL.
    pub vapi_base: Option<String>,
    pub seed: u64,
}

/// An answered call's clinic line and the instant it was answered.
type SharedLine = (Arc<Mutex<Line>>, std::time::Instant);

/// What happened to one call, for reports and tests.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CallRecord {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub status: String,
    pub clinic_kind: Option<String>,
    pub answered: bool,
    /// Simulated seconds from answer to hang-up.
    pub duration_s: u64,
    /// Keys that reached the clinic — `<Play digits>`, the assistant's `dtmf` tool, in-band DTMF
    /// played on a `<Connect><Stream>` — as (line media ms, key), recorded as they are pressed.
    pub digits_pressed: Vec<(u64, char)>,
    /// What was on the line when the assistant joined.
    pub bridged_to: Option<String>,
    pub sip_headers: Vec<(String, String)>,
    pub streams: u32,
    pub application_error: Option<String>,
    pub queue_time_ms: u64,
}

/// A change to a live call from `POST …/Calls/{sid}.json`.
#[derive(Debug, Clone)]
enum Control {
    Twiml(String),
    Url(String),
    Complete,
}

struct Inner {
    cfg: CarrierConfig,
    http: reqwest::Client,
    calls: Mutex<HashMap<String, CallRecord>>,
    controls: Mutex<HashMap<String, mpsc::UnboundedSender<Control>>>,
    next_slot_ms: Mutex<f64>,
    started: std::time::Instant,
    counter: AtomicU64,
    fail_next: AtomicU32,
    /// Answered calls' lines and answer instants, for DTMF sent by the assistant mid-call.
    lines: Mutex<HashMap<String, SharedLine>>,
    /// Keys signalled towards each clinic (`<Play digits>`, the assistant's `dtmf` tool) with
    /// their media times, rendered as tones on forked streams' outbound track.
    sent_keys: Mutex<HashMap<String, Vec<(u64, char)>>>,
}

/// Most keys remembered per call for the outbound track (the oldest are forgotten first).
const MAX_SENT_KEYS: usize = 256;

/// Which tracks a `<Stream>` carries (its `track` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tracks {
    /// `inbound_track` (the default): the clinic.
    Inbound,
    /// `outbound_track`: what is sent to the clinic.
    Outbound,
    /// `both_tracks`.
    Both,
}

impl Tracks {
    fn of(stream: &El) -> Tracks {
        match stream.attr("track") {
            Some("outbound_track") => Tracks::Outbound,
            Some("both_tracks") => Tracks::Both,
            _ => Tracks::Inbound,
        }
    }

    fn inbound(self) -> bool {
        self != Tracks::Outbound
    }

    fn outbound(self) -> bool {
        self != Tracks::Inbound
    }

    /// The `start` message's `tracks`.
    fn names(self) -> &'static [&'static str] {
        match self {
            Tracks::Inbound => &["inbound"],
            Tracks::Outbound => &["outbound"],
            Tracks::Both => &["inbound", "outbound"],
        }
    }
}

/// What a bidirectional stream's server may send.
#[derive(Debug, PartialEq)]
enum FromServer {
    /// µ-law audio to play to the clinic.
    Media(Vec<u8>),
    Mark(String),
    Clear,
}

fn from_server(text: &str) -> Option<FromServer> {
    let v: Value = serde_json::from_str(text).ok()?;
    match v["event"].as_str()? {
        "media" => base64::engine::general_purpose::STANDARD
            .decode(v["media"]["payload"].as_str()?)
            .ok()
            .map(FromServer::Media),
        "mark" => Some(FromServer::Mark(v["mark"]["name"].as_str()?.to_string())),
        "clear" => Some(FromServer::Clear),
        _ => None,
    }
}

/// The running carrier (cheap to clone).
#[derive(Clone)]
pub struct Carrier(Arc<Inner>);

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Json(json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()})),
    )
        .into_response()
}

/// Twilio's 20404 answer.
fn not_found() -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

/// Splits `sip:user@host?X-a=1&X-b=2` into the URI and its decoded headers.
pub fn sip_headers(uri: &str) -> (String, Vec<(String, String)>) {
    match uri.split_once('?') {
        None => (uri.to_string(), vec![]),
        Some((base, q)) => (
            base.to_string(),
            form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        ),
    }
}

/// A deterministic random stream per call (xorshift64*), so a seeded demo replays exactly.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Carrier {
    pub fn new(cfg: CarrierConfig) -> Self {
        Carrier(Arc::new(Inner {
            cfg,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("client"),
            calls: Mutex::new(HashMap::new()),
            controls: Mutex::new(HashMap::new()),
            next_slot_ms: Mutex::new(0.0),
            started: std::time::Instant::now(),
            counter: AtomicU64::new(0),
            fail_next: AtomicU32::new(0),
            lines: Mutex::new(HashMap::new()),
            sent_keys: Mutex::new(HashMap::new()),
        }))
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Calls.json",
                post(create).get(list),
            )
            .route("/sim/calls/{sid}/dtmf", post(sim_dtmf))
            .route(
                "/2010-04-01/Accounts/{account}/Calls/{sid}",
                post(update).get(fetch),
            )
            .with_state(self.clone())
    }

    /// The next `n` creates answer 429 Too Many Requests (as Twilio does under load).
    pub fn fail_next_creates(&self, n: u32) {
        self.0.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn records(&self) -> Vec<CallRecord> {
        let mut v: Vec<CallRecord> = self
            .0
            .calls
            .lock()
            .expect("calls")
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.sid.cmp(&b.sid));
        v
    }

    /// What is on an answered call's line now (`None` once the call has ended).
    pub fn line_state(&self, sid: &str) -> Option<LineState> {
        let line = self.0.lines.lock().expect("lines").get(sid).cloned()?;
        Some(line.0.lock().expect("line").state())
    }

    /// Calls still ringing or on the line.
    pub fn live_calls(&self) -> usize {
        self.0.controls.lock().expect("controls").len()
    }

    pub fn application_errors(&self) -> Vec<String> {
        self.0
            .calls
            .lock()
            .expect("calls")
            .values()
            .filter_map(|c| c.application_error.clone())
            .collect()
    }

    fn authorised(&self, headers: &HeaderMap, account: &str) -> Result<(), Box<Response>> {
        let cfg = &self.0.cfg;
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "));
        let decoded = auth
            .and_then(|a| base64::engine::general_purpose::STANDARD.decode(a).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let ok = match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((user, pass)) if user == cfg.account_sid => pass == cfg.auth_token,
            Some((user, pass)) => cfg
                .api_key
                .as_ref()
                .is_some_and(|(k, s)| k == user && s == pass),
            None => false,
        };
        if !ok {
            let mut r = twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
            r.headers_mut().insert(
                "www-authenticate",
                "Basic realm=\"Twilio API\"".parse().expect("header"),
            );
            return Err(Box::new(r));
        }
        if account != cfg.account_sid {
            return Err(Box::new(not_found()));
        }
        Ok(())
    }

    fn call_json(&self, r: &CallRecord) -> Value {
        let acct = &self.0.cfg.account_sid;
        json!({
            "sid": r.sid, "account_sid": acct, "to": r.to, "to_formatted": r.to, "from": r.from, "from_formatted": r.from,
            "status": r.status, "direction": "outbound-api", "api_version": "2010-04-01",
            "duration": if r.status == "completed" { Some(r.duration_s.to_string()) } else { None },
            "answered_by": null, "queue_time": r.queue_time_ms.to_string(), "parent_call_sid": null,
            "price": null, "price_unit": "USD", "phone_number_sid": null, "caller_name": null, "forwarded_from": null,
            "group_sid": null, "trunk_sid": null, "start_time": null, "end_time": null,
            "date_created": chrono::Utc::now().to_rfc2822(), "date_updated": chrono::Utc::now().to_rfc2822(),
            "uri": format!("/2010-04-01/Accounts/{acct}/Calls/{}.json", r.sid),
            "subresource_uris": {"recordings": format!("/2010-04-01/Accounts/{acct}/Calls/{}/Recordings.json", r.sid)},
        })
    }

    /// Claims a CPS slot; returns the simulated queueing delay in ms.
    fn cps_slot(&self) -> u64 {
        let now_ms = self.0.started.elapsed().as_secs_f64() * 1000.0 * self.0.cfg.clock.speed();
        let interval = 1000.0 / self.0.cfg.cps;
        let mut next = self.0.next_slot_ms.lock().expect("slot");
        let slot = next.max(now_ms);
        *next = slot + interval;
        (slot - now_ms) as u64
    }
}

fn form(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn first<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

async fn create(
    State(c): State<Carrier>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Err(r) = c.authorised(&headers, &account) {
        return *r;
    }
    if c.0.fail_next.load(Ordering::SeqCst) > 0 {
        c.0.fail_next.fetch_sub(1, Ordering::SeqCst);
        return twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
    }
    let p = form(&body);
    let Some(to) = first(&p, "To") else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21201,
            "No 'To' number is specified",
        );
    };
    let Some(from) = first(&p, "From") else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21213,
            "No 'From' number is specified",
        );
    };
    if switchboard_core::E164::parse(to)
        .map(|e| e.as_str() != to)
        .unwrap_or(true)
    {
        return twilio_error(StatusCode::BAD_REQUEST, 21211, "Invalid 'To' Phone Number");
    }
    let url = first(&p, "Url").map(str::to_string);
    let inline = first(&p, "Twiml").map(str::to_string);
    if url.is_none() && inline.is_none() {
        return twilio_error(StatusCode::BAD_REQUEST, 21205, "Url parameter is required");
    }
    if inline.as_ref().is_some_and(|t| t.chars().count() > 4000) {
        return twilio_error(StatusCode::BAD_REQUEST, 21232, "Twiml is too long");
    }
    let events: Vec<String> = p
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .map(|(_, v)| v.clone())
        .collect();
    let timeout = first(&p, "Timeout")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(60)
        .min(600);
    let n = c.0.counter.fetch_add(1, Ordering::SeqCst);
    let sid = format!("CA{:032x}", (c.0.cfg.seed as u128) << 64 | n as u128);
    let queue_time_ms = c.cps_slot();
    let clinic = c.0.cfg.world.clinic_by_phone(to).cloned();
    let record = CallRecord {
        sid: sid.clone(),
        to: to.to_string(),
        from: from.to_string(),
        status: "queued".into(),
        clinic_kind: clinic.as_ref().map(|k| k.kind.as_str().to_string()),
        queue_time_ms,
        ..Default::default()
    };
    let body = c.call_json(&record);
    c.0.calls.lock().expect("calls").insert(sid.clone(), record);
    let (tx, rx) = mpsc::unbounded_channel();
    c.0.controls
        .lock()
        .expect("controls")
        .insert(sid.clone(), tx);
    let plan = Plan {
        sid,
        to: to.to_string(),
        from: from.to_string(),
        url,
        inline,
        status_callback: first(&p, "StatusCallback").map(str::to_string),
        events,
        timeout_s: timeout,
        queue_time_ms,
        clinic,
        seed: c.0.cfg.seed ^ n.wrapping_mul(0x5851_F42D_4C95_7F2D),
    };
    let carrier = c.clone();
    tokio::spawn(async move { carrier.run_call(plan, rx).await });
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn list(
    State(c): State<Carrier>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = c.authorised(&headers, &account) {
        return *r;
    }
    let calls: Vec<Value> = c.records().iter().map(|r| c.call_json(r)).collect();
    Json(json!({"calls": calls})).into_response()
}

fn strip_json(sid: &str) -> Option<&str> {
    sid.strip_suffix(".json")
}

async fn fetch(
    State(c): State<Carrier>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = c.authorised(&headers, &account) {
        return *r;
    }
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    match c.0.calls.lock().expect("calls").get(sid) {
        Some(r) => Json(c.call_json(r)).into_response(),
        None => not_found(),
    }
}

async fn update(
    State(c): State<Carrier>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Err(r) = c.authorised(&headers, &account) {
        return *r;
    }
    let Some(sid) = strip_json(&sid) else {
        return not_found();
    };
    let p = form(&body);
    let control = match (first(&p, "Twiml"), first(&p, "Url"), first(&p, "Status")) {
        (Some(t), None, _) if t.chars().count() <= 4000 => Control::Twiml(t.to_string()),
        (Some(_), None, _) => {
            return twilio_error(StatusCode::BAD_REQUEST, 21232, "Twiml is too long");
        }
        (None, Some(u), _) => Control::Url(u.to_string()),
        (Some(_), Some(_), _) => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21220,
                "Twiml and Url are mutually exclusive",
            );
        }
        (None, None, Some("completed" | "canceled")) => Control::Complete,
        (None, None, Some(_)) => {
            return twilio_error(StatusCode::BAD_REQUEST, 21218, "Invalid Status");
        }
        (None, None, None) => {
            return twilio_error(StatusCode::BAD_REQUEST, 21205, "Url parameter is required");
        }
    };
    let sender = c.0.controls.lock().expect("controls").get(sid).cloned();
    let record = c.0.calls.lock().expect("calls").get(sid).cloned();
    match (sender, record) {
        (Some(tx), Some(r)) => {
            let _ = tx.send(control);
            Json(c.call_json(&r)).into_response()
        }
        (None, Some(_)) => twilio_error(
            StatusCode::BAD_REQUEST,
            21220,
            "Call is not in-progress. Cannot redirect.",
        ),
        _ => not_found(),
    }
}

/// DTMF from the far end of a bridged call (the assistant's `dtmf` tool, RFC 2833 in reality):
/// the keys reach the clinic's menu at the current media time, 200 ms apart. Answers what is on
/// the line afterwards.
async fn sim_dtmf(
    State(c): State<Carrier>,
    Path(sid): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some((line, answered)) = c.0.lines.lock().expect("lines").get(&sid).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such call on the line"})),
        )
            .into_response();
    };
    let keys = body["keys"].as_str().unwrap_or_default();
    let now = (answered.elapsed().as_secs_f64() * 1000.0 * c.0.cfg.clock.speed()) as u64;
    let mut l = line.lock().expect("line");
    let mut t = now;
    for k in keys.chars() {
        match k {
            'w' => t += 500,
            'W' => t += 1000,
            d => {
                c.press(&sid, &mut l, t, d, true);
                t += 200;
            }
        }
    }
    let state = l.at(t);
    Json(json!({
        "line": state.label(),
        "at_ms": now,
        "hold_ms": match state { LineState::Hold { until_ms } => until_ms.saturating_sub(t), _ => 0 },
        "prompt": l.prompt().unwrap_or_default(),
    }))
    .into_response()
}

/// Everything a call task needs.
struct Plan {
    sid: String,
    to: String,
    from: String,
    url: Option<String>,
    inline: Option<String>,
    status_callback: Option<String>,
    events: Vec<String>,
    timeout_s: u64,
    queue_time_ms: u64,
    clinic: Option<Clinic>,
    seed: u64,
}

/// A call on the line.
struct Live {
    plan: Plan,
    seq: u32,
    line: Option<Arc<Mutex<Line>>>,
    answered_real: Option<std::time::Instant>,
    controls: mpsc::UnboundedReceiver<Control>,
    hung_up: bool,
}

/// How executing a document ended.
enum Flow {
    /// Ran out of verbs.
    Done,
    /// `<Hangup>`, an error, or a REST `Status=completed`.
    Hangup,
    /// The call's TwiML was replaced through REST.
    Replaced(Control),
}

impl Carrier {
    fn set(&self, sid: &str, f: impl FnOnce(&mut CallRecord)) {
        if let Some(r) = self.0.calls.lock().expect("calls").get_mut(sid) {
            f(r);
        }
    }

    /// A key reaching call `sid`'s clinic at media time `at_ms`; the call record's
    /// `digits_pressed` follows at once. `signalled` keys (`<Play digits>`, the assistant's `dtmf`
    /// tool) are also rendered as tones on forked streams' outbound track; keys heard in a
    /// bidirectional stream's audio were audio already.
    fn press(&self, sid: &str, line: &mut Line, at_ms: u64, digit: char, signalled: bool) {
        line.press(at_ms, digit);
        let pressed = line.pressed.clone();
        self.set(sid, |r| r.digits_pressed = pressed);
        if signalled {
            let mut keys = self.0.sent_keys.lock().expect("keys");
            let keys = keys.entry(sid.to_string()).or_default();
            if keys.len() >= MAX_SENT_KEYS {
                keys.remove(0);
            }
            keys.push((at_ms, digit));
        }
    }

    fn media_ms(&self, live: &Live) -> u64 {
        live.answered_real
            .map(|t| (t.elapsed().as_secs_f64() * 1000.0 * self.0.cfg.clock.speed()) as u64)
            .unwrap_or(0)
    }

    /// Signs and POSTs a webhook the way Twilio does; returns the body when 2xx.
    async fn webhook(
        &self,
        url: &str,
        params: &[(String, String)],
    ) -> Result<(String, Option<String>), String> {
        let sig = switchboard_core::signature::compute(&self.0.cfg.auth_token, url, params);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let resp = self
            .0
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .header(
                "i-twilio-idempotency-token",
                uuid::Uuid::new_v4().to_string(),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| format!("11200 HTTP retrieval failure: {e}"))?;
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp
            .text()
            .await
            .map_err(|e| format!("11200 HTTP retrieval failure: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "11200 HTTP retrieval failure: {url} answered {status}"
            ));
        }
        Ok((text, ct))
    }

    fn base_params(&self, live: &Live, status: &str) -> Vec<(String, String)> {
        let p = &live.plan;
        [
            ("AccountSid", self.0.cfg.account_sid.as_str()),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", &p.sid),
            ("CallStatus", status),
            ("Called", &p.to),
            ("Caller", &p.from),
            ("Direction", "outbound-api"),
            ("From", &p.from),
            ("To", &p.to),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    async fn status_callback(
        &self,
        live: &mut Live,
        event: &str,
        status: &str,
        extra: &[(&str, String)],
    ) {
        self.set(&live.plan.sid, |r| r.status = status.to_string());
        let Some(url) = live.plan.status_callback.clone() else {
            return;
        };
        let wanted = if live.plan.events.is_empty() {
            event == "completed"
        } else {
            live.plan.events.iter().any(|e| e == event)
        };
        if !wanted {
            return;
        }
        let mut p = self.base_params(live, status);
        p.push(("CallbackSource".into(), "call-progress-events".into()));
        p.push(("SequenceNumber".into(), live.seq.to_string()));
        p.push(("Timestamp".into(), chrono::Utc::now().to_rfc2822()));
        for (k, v) in extra {
            p.push((k.to_string(), v.clone()));
        }
        live.seq += 1;
        if let Err(e) = self.webhook(&url, &p).await {
            tracing::warn!(call = %live.plan.sid, error = %e, "status callback failed");
        }
    }

    /// Sleeps `sim_ms`, unless the call's TwiML is replaced or it is completed through REST.
    async fn wait(&self, live: &mut Live, sim_ms: u64) -> Option<Control> {
        tokio::select! {
            _ = self.0.cfg.clock.sleep(sim_ms) => None,
            c = live.controls.recv() => c,
        }
    }

    async fn run_call(self, plan: Plan, controls: mpsc::UnboundedReceiver<Control>) {
        let mut rng = Rng::new(plan.seed);
        let sid = plan.sid.clone();
        let mut live = Live {
            plan,
            seq: 0,
            line: None,
            answered_real: None,
            controls,
            hung_up: false,
        };
        self.0.cfg.clock.sleep(live.plan.queue_time_ms).await;
        self.status_callback(&mut live, "initiated", "initiated", &[])
            .await;
        self.0.cfg.clock.sleep(300).await;
        let clinic = live.plan.clinic.clone();
        let Some(clinic) = clinic else {
            // Not a number of this world: it does not exist.
            self.finish(&mut live, "failed", 0, 404).await;
            return;
        };
        if clinic.kind == Kind::Disconnected {
            self.finish(&mut live, "failed", 0, 404).await;
            return;
        }
        self.status_callback(&mut live, "ringing", "ringing", &[])
            .await;
        let answers = match clinic.kind {
            Kind::Busy => {
                self.0.cfg.clock.sleep(2000).await;
                self.finish(&mut live, "busy", 0, 486).await;
                return;
            }
            Kind::NoAnswer => false,
            _ => rng.unit() < clinic.answer_probability_at(self.0.cfg.clock.now()),
        };
        let ring_ms = (clinic.ring_seconds * 1000.0) as u64;
        let timeout_ms = live.plan.timeout_s * 1000;
        if !answers || ring_ms > timeout_ms {
            if let Some(Control::Complete) = self.wait(&mut live, timeout_ms).await {
                self.finish(&mut live, "canceled", 0, 487).await;
                return;
            }
            self.finish(&mut live, "no-answer", 0, 487).await;
            return;
        }
        if let Some(Control::Complete) = self.wait(&mut live, ring_ms).await {
            self.finish(&mut live, "canceled", 0, 487).await;
            return;
        }
        let line = Arc::new(Mutex::new(Line::answer(
            &clinic,
            self.0.cfg.day.load(Ordering::SeqCst),
        )));
        live.line = Some(line.clone());
        self.0
            .lines
            .lock()
            .expect("lines")
            .insert(sid.clone(), (line, std::time::Instant::now()));
        live.answered_real = Some(std::time::Instant::now());
        self.set(&sid, |r| r.answered = true);
        self.status_callback(&mut live, "answered", "in-progress", &[])
            .await;
        // The first document: inline TwiML or the Url.
        let mut next = match (&live.plan.inline, &live.plan.url) {
            (Some(t), _) => Some(Ok(t.clone())),
            (None, Some(u)) => {
                let p = self.base_params(&live, "in-progress");
                let u = u.clone();
                Some(self.webhook(&u, &p).await.map(|(b, _)| b))
            }
            (None, None) => None,
        };
        let mut documents = 0;
        while let Some(doc) = next.take() {
            documents += 1;
            if documents > 50 {
                self.application_error(&live, "too many redirects".into());
                break;
            }
            let doc = match doc {
                Ok(d) => d,
                Err(e) => {
                    self.application_error(&live, e);
                    break;
                }
            };
            let parsed = match twiml::parse(&doc) {
                Ok(p) => p,
                Err(e) => {
                    self.application_error(
                        &live,
                        format!("{e} in: {}", doc.chars().take(300).collect::<String>()),
                    );
                    break;
                }
            };
            match Box::pin(self.execute(&mut live, &parsed)).await {
                Flow::Done | Flow::Hangup => break,
                Flow::Replaced(Control::Complete) => break,
                Flow::Replaced(Control::Twiml(t)) => next = Some(Ok(t)),
                Flow::Replaced(Control::Url(u)) => {
                    let p = self.base_params(&live, "in-progress");
                    next = Some(self.webhook(&u, &p).await.map(|(b, _)| b));
                }
            }
        }
        let duration = self.media_ms(&live) / 1000;
        if let Some(line) = &live.line {
            let pressed = line.lock().expect("line").pressed.clone();
            self.set(&sid, |r| r.digits_pressed = pressed);
        }
        self.finish(&mut live, "completed", duration, 200).await;
    }

    fn application_error(&self, live: &Live, e: String) {
        tracing::error!(call = %live.plan.sid, error = %e, "APPLICATION ERROR: Twilio would play 'an application error has occurred' and hang up");
        self.set(&live.plan.sid, |r| r.application_error = Some(e));
    }

    async fn finish(&self, live: &mut Live, status: &str, duration_s: u64, sip: u16) {
        if live.hung_up {
            return;
        }
        live.hung_up = true;
        self.set(&live.plan.sid, |r| r.duration_s = duration_s);
        let extra = [
            ("CallDuration", duration_s.to_string()),
            ("SipResponseCode", sip.to_string()),
        ];
        self.status_callback(live, "completed", status, &extra)
            .await;
        self.0
            .controls
            .lock()
            .expect("controls")
            .remove(&live.plan.sid);
        self.0.lines.lock().expect("lines").remove(&live.plan.sid);
        self.0
            .sent_keys
            .lock()
            .expect("keys")
            .remove(&live.plan.sid);
    }

    /// Executes one `<Response>`.
    async fn execute(&self, live: &mut Live, doc: &El) -> Flow {
        for verb in &doc.children {
            if let Ok(c) = live.controls.try_recv() {
                return Flow::Replaced(c);
            }
            let now = self.media_ms(live);
            if live
                .line
                .as_ref()
                .map(|l| l.lock().expect("line").at(now) == LineState::Ended)
                .unwrap_or(false)
            {
                return Flow::Hangup;
            }
            match verb.name.as_str() {
                "Pause" => {
                    let secs = verb
                        .attr("length")
                        .and_then(|l| l.parse::<u64>().ok())
                        .unwrap_or(1);
                    if let Some(c) = self.wait(live, secs * 1000).await {
                        return Flow::Replaced(c);
                    }
                }
                "Play" => {
                    if let Some(digits) = verb.attr("digits") {
                        for ch in digits.chars() {
                            let ms = match ch {
                                'w' => 500,
                                'W' => 1000,
                                _ => {
                                    let at = self.media_ms(live);
                                    if let Some(line) = live.line.as_ref() {
                                        let mut line = line.lock().expect("line");
                                        self.press(&live.plan.sid, &mut line, at, ch, true);
                                    }
                                    // a DTMF tone plus the gap after it
                                    200
                                }
                            };
                            if let Some(c) = self.wait(live, ms).await {
                                return Flow::Replaced(c);
                            }
                        }
                    } else if let Some(c) = self.wait(live, 3000).await {
                        return Flow::Replaced(c);
                    }
                }
                "Say" => {
                    let ms = 60 * verb.text.len() as u64;
                    if let Some(c) = self.wait(live, ms).await {
                        return Flow::Replaced(c);
                    }
                }
                "Hangup" | "Reject" => return Flow::Hangup,
                "Redirect" => return Flow::Replaced(Control::Url(verb.text.clone())),
                "Dial" => {
                    let flow = self.dial(live, verb).await;
                    if !matches!(flow, Flow::Done) {
                        return flow;
                    }
                }
                "Connect" => {
                    let stream = &verb.children[0];
                    if let Some(c) = self.stream(live, stream).await {
                        return Flow::Replaced(c);
                    }
                    if let Some(action) = verb.attr("action") {
                        let p = self.base_params(live, "in-progress");
                        return match self.webhook(action, &p).await {
                            Ok((doc, _)) => Flow::Replaced(Control::Twiml(doc)),
                            Err(e) => {
                                self.application_error(live, e);
                                Flow::Hangup
                            }
                        };
                    }
                }
                "Start" => {
                    // A forked stream runs beside the call; TwiML continues at once.
                    let stream = verb.children[0].clone();
                    let me = self.clone();
                    let params = Self::stream_params(&stream);
                    let url = stream.attr("url").unwrap_or_default().to_string();
                    let tracks = Tracks::of(&stream);
                    let sid = live.plan.sid.clone();
                    self.set(&sid, |r| r.streams += 1);
                    tokio::spawn(async move {
                        me.stream_audio(&sid, &url, params, tracks, false, None)
                            .await
                    });
                }
                "Stop" => {}
                other => {
                    self.application_error(live, format!("12200 unsupported verb <{other}>"));
                    return Flow::Hangup;
                }
            }
        }
        Flow::Done
    }

    /// The `<Parameter>`s of a `<Stream>`, for the `start` message's `customParameters`.
    fn stream_params(stream: &El) -> Vec<(String, String)> {
        stream
            .children
            .iter()
            .filter_map(|p| {
                Some((
                    p.attr("name")?.to_string(),
                    p.attr("value").unwrap_or_default().to_string(),
                ))
            })
            .collect()
    }

    /// `<Connect><Stream>`: blocks until the server closes the socket or the call is updated.
    /// Bidirectional streams carry the inbound track only.
    async fn stream(&self, live: &mut Live, stream: &El) -> Option<Control> {
        let url = stream.attr("url").unwrap_or_default().to_string();
        let params = Self::stream_params(stream);
        let sid = live.plan.sid.clone();
        self.set(&sid, |r| r.streams += 1);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let me = self.clone();
        let task = tokio::spawn(async move {
            me.stream_audio(&sid, &url, params, Tracks::Inbound, true, Some(stop_rx))
                .await
        });
        tokio::select! {
            _ = task => None,
            c = live.controls.recv() => {
                let _ = stop_tx.send(());
                c
            }
        }
    }

    /// The `start` message, with this account's SID and the stream's `tracks`.
    fn start_message(
        &self,
        stream_sid: &str,
        call_sid: &str,
        params: &[(&str, &str)],
        tracks: Tracks,
    ) -> String {
        use switchboard_twilio::media::build;
        let msg = build::start(1, stream_sid, call_sid, params, tracks == Tracks::Both);
        let mut v: Value = serde_json::from_str(&msg).expect("start is JSON");
        v["start"]["accountSid"] = json!(self.0.cfg.account_sid);
        v["start"]["tracks"] = json!(tracks.names());
        v.to_string()
    }

    /// The `stop` message, with this account's SID.
    fn stop_message(&self, seq: u64, stream_sid: &str, call_sid: &str) -> String {
        use switchboard_twilio::media::build;
        let mut v: Value =
            serde_json::from_str(&build::stop(seq, stream_sid, call_sid)).expect("stop is JSON");
        v["stop"]["accountSid"] = json!(self.0.cfg.account_sid);
        v.to_string()
    }

    /// Streams a call to a Media Streams server at real-time pace (scaled by the clock):
    /// `connected`, `start`, then every 20 ms a `media` message per track, until the server closes
    /// the socket, the call ends (`stop`) or a `<Connect>` is interrupted (`stop`).
    ///
    /// * inbound track: the clinic's side, read from its line model at each frame's media time;
    /// * outbound track (forked streams with `outbound_track` or `both_tracks`): what is sent to
    ///   the clinic, i.e. silence and the tones of the keys pressed towards it (`<Play digits>`,
    ///   the assistant's `dtmf` tool), with their own chunk numbers and the same timestamps;
    /// * bidirectional (`<Connect>`): the server's `media` is queued and played 20 ms per frame,
    ///   through a DTMF detector whose keys reach the clinic's line at the media time they were
    ///   played; `mark`s are echoed once the audio queued before them has played, and `clear`
    ///   drops the queue and echoes pending marks at once.
    async fn stream_audio(
        &self,
        call_sid: &str,
        url: &str,
        params: Vec<(String, String)>,
        tracks: Tracks,
        bidirectional: bool,
        mut stop: Option<tokio::sync::oneshot::Receiver<()>>,
    ) {
        use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
        let sig = switchboard_core::signature::compute(&self.0.cfg.auth_token, url, &[]);
        let Ok(mut req) = url.into_client_request() else {
            tracing::error!(call = %call_sid, "APPLICATION ERROR: <Stream url> is not a WebSocket URL");
            self.set(call_sid, |r| {
                r.application_error = Some("31920 stream url invalid".into())
            });
            return;
        };
        req.headers_mut()
            .insert("x-twilio-signature", sig.parse().expect("header"));
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(req).await else {
            tracing::warn!(call = %call_sid, "media stream connection failed (31920)");
            return;
        };
        let stream_sid = format!("MZ{}", &call_sid[2..]);
        use switchboard_twilio::media::build;
        let kv: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let _ = ws.send(Message::text(build::connected())).await;
        let _ = ws
            .send(Message::text(self.start_message(
                &stream_sid,
                call_sid,
                &kv,
                tracks,
            )))
            .await;
        // Frames advance exactly 20 ms of line time each, from the line time at stream start, so
        // the audio is contiguous whatever the scheduler's jitter.
        let line = self.0.lines.lock().expect("lines").get(call_sid).cloned();
        let speed = self.0.cfg.clock.speed();
        let t0 = line
            .as_ref()
            .map(|(_, answered)| (answered.elapsed().as_secs_f64() * 1000.0 * speed) as u64)
            .unwrap_or(0);
        let mut playout = bidirectional.then(Playout::new);
        let mut warned_full = false;
        let mut seq: u64 = 2;
        let (mut chunk_in, mut chunk_out) = (1u64, 1u64);
        let mut ts = 0;
        let tick = self.0.cfg.clock.sleep(20);
        tokio::pin!(tick);
        loop {
            let mut out: Vec<String> = Vec::new();
            let mut done = false;
            tokio::select! {
                _ = &mut tick => {
                    tick.set(self.0.cfg.clock.sleep(20));
                    // Stay on the call's clock: when the scheduler falls behind (an accelerated
                    // clock always does), send the frames that are due, so the stream's media
                    // time and the line's time agree.
                    let due = line
                        .as_ref()
                        .map(|(_, answered)| (answered.elapsed().as_secs_f64() * 1000.0 * speed) as u64)
                        .unwrap_or(t0 + ts)
                        .saturating_sub(t0);
                    let mut frames = 0;
                    loop {
                        let t = t0 + ts;
                        if let Some(p) = playout.as_mut() {
                            let played = p.tick(t);
                            for name in played.marks {
                                out.push(build::mark(seq, &stream_sid, &name));
                                seq += 1;
                            }
                            if let (false, Some((l, _))) = (played.digits.is_empty(), &line) {
                                let mut l = l.lock().expect("line");
                                for (at, d) in played.digits {
                                    tracing::debug!(call = %call_sid, digit = %d, at_ms = at, "in-band key press from the stream");
                                    self.press(call_sid, &mut l, at, d, false);
                                }
                            }
                        }
                        if tracks.inbound() {
                            let frame = match &line {
                                Some((l, _)) => l.lock().expect("line").audio_frame(t),
                                None => [crate::audio::SILENCE; 160],
                            };
                            out.push(build::media(seq, &stream_sid, false, chunk_in, ts, &frame));
                            seq += 1;
                            chunk_in += 1;
                        }
                        if tracks.outbound() {
                            let frame = {
                                let keys = self.0.sent_keys.lock().expect("keys");
                                playout::outbound_frame(keys.get(call_sid).map_or(&[], Vec::as_slice), t)
                            };
                            out.push(build::media(seq, &stream_sid, true, chunk_out, ts, &frame));
                            seq += 1;
                            chunk_out += 1;
                        }
                        ts += 20;
                        // The call ended (a forked stream outlives the TwiML that started it).
                        if line.is_some() && !self.0.lines.lock().expect("lines").contains_key(call_sid) {
                            out.push(self.stop_message(seq, &stream_sid, call_sid));
                            done = true;
                        }
                        if ts > 10 * 60 * 1000 {
                            done = true;
                        }
                        frames += 1;
                        // Catch up only when more than a few frames behind, a few frames at a
                        // time, so the server still hears the line in small steps.
                        if done || ts + 200 > due || frames >= 50 {
                            break;
                        }
                    }
                }
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) => match (playout.as_mut(), from_server(&t)) {
                        // A unidirectional stream only listens: Twilio ignores what the server sends.
                        (None, _) => {}
                        (Some(p), Some(FromServer::Media(audio))) => {
                            let dropped = p.media(&audio);
                            if dropped > 0 && !warned_full {
                                warned_full = true;
                                tracing::warn!(call = %call_sid, dropped, "bidirectional stream queued over 60 s of audio; dropping the excess");
                            }
                        }
                        (Some(p), Some(FromServer::Mark(name))) => match p.mark(name) {
                            Ok(Some(name)) => {
                                out.push(build::mark(seq, &stream_sid, &name));
                                seq += 1;
                            }
                            Ok(None) => {}
                            Err(name) => tracing::warn!(call = %call_sid, mark = %name, "too many pending marks; dropping one"),
                        },
                        (Some(p), Some(FromServer::Clear)) => {
                            for name in p.clear() {
                                out.push(build::mark(seq, &stream_sid, &name));
                                seq += 1;
                            }
                        }
                        (Some(_), None) => {
                            tracing::debug!(call = %call_sid, "ignoring an unknown or malformed stream message");
                        }
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    _ => {}
                },
                _ = async { match stop.as_mut() { Some(s) => { let _ = s.await; } None => std::future::pending::<()>().await } } => {
                    out.push(self.stop_message(seq, &stream_sid, call_sid));
                    done = true;
                }
            }
            for m in out {
                if ws.feed(Message::text(m)).await.is_err() {
                    done = true;
                    break;
                }
            }
            let flushed = ws.flush().await.is_ok();
            if done || !flushed {
                break;
            }
        }
        let _ = ws.close(None).await;
    }

    /// `<Dial><Sip>`: hands the call to the VAPI stand-in, then requests the `action`.
    async fn dial(&self, live: &mut Live, verb: &El) -> Flow {
        let Some(sip) = verb.children.iter().find(|c| c.name == "Sip") else {
            self.application_error(live, "13201 <Dial> without <Sip> is not simulated".into());
            return Flow::Hangup;
        };
        let (uri, headers) = sip_headers(&sip.text);
        let at = self.media_ms(live);
        let state = live
            .line
            .as_ref()
            .map(|l| l.lock().expect("line").at(at))
            .unwrap_or(LineState::Ended);
        let sid = live.plan.sid.clone();
        let hdrs = headers.clone();
        self.set(&sid, |r| {
            r.bridged_to = Some(state.label().to_string());
            r.sip_headers = hdrs;
        });
        let started = self.media_ms(live);
        let result = match &self.0.cfg.vapi_base {
            None => Err(503),
            Some(base) => {
                let body = json!({
                    "call_sid": sid, "sip_uri": uri, "headers": headers.iter().cloned().collect::<HashMap<_, _>>(),
                    "line": state.label(),
                    "hold_ms": match state { LineState::Hold { until_ms } => until_ms.saturating_sub(at), _ => 0 },
                    "prompt": live.line.as_ref().and_then(|l| l.lock().expect("line").prompt().map(str::to_string)).unwrap_or_default(),
                });
                let req = self
                    .0
                    .http
                    .post(format!("{base}/sip/invite"))
                    .json(&body)
                    .send();
                tokio::select! {
                    r = req => match r {
                        Ok(resp) if resp.status().is_success() => Ok(resp.json::<Value>().await.unwrap_or_default()),
                        Ok(resp) => Err(resp.status().as_u16()),
                        Err(_) => Err(503),
                    },
                    c = live.controls.recv() => return Flow::Replaced(c.unwrap_or(Control::Complete)),
                }
            }
        };
        let dial_ms = self.media_ms(live).saturating_sub(started);
        let (status, code) = match &result {
            Ok(_) => ("completed", 200),
            Err(404) => ("failed", 404),
            Err(c) => ("failed", *c),
        };
        if let Some(action) = verb.attr("action") {
            let mut p = self.base_params(live, "in-progress");
            p.push(("DialCallStatus".into(), status.into()));
            p.push(("DialCallSid".into(), format!("CA{:032x}", rand_u128(&sid))));
            p.push(("DialCallDuration".into(), (dial_ms / 1000).to_string()));
            p.push(("DialSipResponseCode".into(), code.to_string()));
            p.push(("DialSipCallId".into(), uuid::Uuid::new_v4().to_string()));
            p.push(("DialBridged".into(), (status == "completed").to_string()));
            return match self.webhook(action, &p).await {
                Ok((doc, _)) => Flow::Replaced(Control::Twiml(doc)),
                Err(e) => {
                    self.application_error(live, e);
                    Flow::Hangup
                }
            };
        }
        Flow::Done
    }
}

fn rand_u128(s: &str) -> u128 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u128, |h, b| {
        (h ^ b as u128).wrapping_mul(0x1000_0000_01b3)
    })
}

//! Concurrent live Media Streams per core:
//! `cargo bench -p switchboard --bench streams [-- --n 250,500,1000,2000 --secs 20]`
//! (or the environment: `STREAMS_N`, `STREAMS_SECS`, `STREAMS_RAMP_MS` (first calls spread over
//! it, default 1000), `STREAMS_TRACKS` (`both`, the default, or `inbound`), `STREAMS_PIN=1`
//! (server on CPU 0 with one tokio worker, client on the other CPUs, via `taskset`)).
//!
//! The real server (observe mode, SQLite in a temporary directory) listens on loopback in this
//! process. For each level N a client in a *child process* (this binary again) opens N signed
//! `/twilio/media` WebSockets and keeps N calls live for `--secs` seconds: each call sends
//! `connected`, `start` (customParameters session_id/pending_call_id), then one corpus clip (the
//! greetings and menus of `corpus/clips`) as 20 ms µ-law `media` frames paced on absolute
//! deadlines, both tracks like Twilio in observe mode, then `stop`; the client then starts its
//! next call on a fresh session. Back-to-back calls rather than one looped clip, because the
//! server stops running the acoustic pipeline on a stream once the classifier has decided: a
//! looped clip would measure JSON parsing, not the pipeline.
//!
//! Measured:
//! - server CPU: utime + stime of the server process (`/proc/self/stat`) from the client's start
//!   to its exit; the client's own CPU is in the other process and reported separately.
//!   Streams per core = audio seconds streamed / server CPU seconds, i.e. how many real-time
//!   streams one fully busy core sustains, provided the level kept real time (all its audio
//!   delivered, lag bounded): under overload each wakeup handles several frames and the ratio
//!   rises without being sustainable.
//! - send lateness: per 20 ms tick, when the frame was handed to the kernel minus its deadline
//!   (client scheduling and TCP backpressure; what Twilio's sender would see).
//! - processing lag: per call, from sending `stop` to receiving the server's Close. The server
//!   reads a stream's messages in order and closes only after `stop`, so this is how far behind
//!   the incoming audio its processing of that stream was, plus one loopback round trip (and the
//!   client's own scheduling delay when it is starved of CPU: see send lateness).
//! - correctness: the classification each session got in the database must equal what the same
//!   audio gives offline (the classifier works in media time, so load must not change it), or
//!   nothing when the call was cut before the decision.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use switchboard::classify::Listener;
use switchboard_twilio::media::{self, build};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const CLIENT_ENV: &str = "STREAMS_CLIENT_PLAN";
/// The server's settings beyond the tests' defaults.
const SERVER: &[(&str, &str)] = &[("SWITCHBOARD_CLASSIFY_MODE", "observe")];
const FRAME: Duration = Duration::from_millis(20);
/// How long a call waits for the server's Close after `stop` before counting it as lost.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// `--name value` from the arguments, else the environment variable, else `None`.
fn knob(arg: &str, env: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == arg)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
}

fn corpus_dir() -> String {
    format!("{}/../../corpus", env!("CARGO_MANIFEST_DIR"))
}

/// A corpus clip of the mix and what the live pipeline decides on it offline.
struct Clip {
    file: String,
    ulaw: Vec<u8>,
    /// Index of the 160-byte frame whose push returns the decision, and the class recorded.
    decision: Option<(usize, String)>,
}

/// The greetings and menus of the corpus, interleaved in a fixed order.
fn load_mix() -> Vec<Clip> {
    let labels: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/labels.json", corpus_dir())).unwrap(),
    )
    .unwrap();
    let mut files: Vec<String> = labels
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            matches!(
                l["classification"].as_str(),
                Some("human" | "ivr_then_human" | "ivr_only")
            )
        })
        .map(|l| l["file"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    // A fixed permutation (37 is coprime with the clip count) so neighbours differ in kind.
    let n = files.len();
    assert!(n > 0 && !n.is_multiple_of(37));
    (0..n)
        .map(|j| {
            let file = files[(j * 37) % n].clone();
            let ulaw = std::fs::read(format!("{}/clips/{file}", corpus_dir())).unwrap();
            Clip {
                file,
                ulaw,
                decision: None,
            }
        })
        .collect()
}

/// Offline reference on this thread: the decisions, and the cost of the acoustic pipeline and of
/// message parsing alone. Returns (pipeline s per audio s on every frame, fraction of frames the
/// server runs the pipeline on, parse s per message).
fn offline(clips: &mut [Clip], cfg: &switchboard_core::classifier::Config) -> (f64, f64, f64) {
    let (mut all, mut frames, mut until, mut parse) =
        (Duration::ZERO, 0usize, 0usize, Duration::ZERO);
    let mut events = Vec::new();
    for c in clips.iter_mut() {
        let mut l = Listener::with_config(cfg.clone());
        let started = Instant::now();
        for (k, chunk) in c.ulaw.chunks(160).enumerate() {
            events.clear();
            if let Some(d) = l.push_ulaw(k as u64 * 20, chunk, &mut events)
                && c.decision.is_none()
            {
                c.decision = Some((k, d.classification.as_str().to_string()));
            }
        }
        all += started.elapsed();
        let n = c.ulaw.chunks(160).count();
        frames += n;
        until += c.decision.as_ref().map_or(n, |(k, _)| k + 1);
        let msgs: Vec<String> = c
            .ulaw
            .chunks(160)
            .enumerate()
            .map(|(k, chunk)| {
                build::media(
                    k as u64 + 2,
                    "MZ",
                    false,
                    k as u64 + 1,
                    k as u64 * 20,
                    chunk,
                )
            })
            .collect();
        let started = Instant::now();
        for m in &msgs {
            std::hint::black_box(media::parse(m).unwrap());
        }
        parse += started.elapsed();
    }
    let audio_s = frames as f64 * 0.02;
    (
        all.as_secs_f64() / audio_s,
        until as f64 / frames as f64,
        parse.as_secs_f64() / frames as f64,
    )
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of this whole process (all threads, live and exited), in seconds.
fn process_cpu_secs(tck: f64) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // Fields 14 and 15 of proc(5); `rest` starts at field 3.
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / tck
}

/// CPU seconds the whole machine spent busy (all processes), from `/proc/stat`.
fn machine_busy_secs(tck: f64) -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let f: Vec<f64> = stat
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / tck
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[derive(Serialize, Deserialize)]
struct Plan {
    ws_url: String,
    signature: String,
    secs: f64,
    ramp_ms: u64,
    both_tracks: bool,
    clip_files: Vec<String>,
    /// Per client, its calls in order (more than it will have time for).
    clients: Vec<Vec<PlannedCall>>,
    report_path: String,
}

#[derive(Serialize, Deserialize, Clone)]
struct PlannedCall {
    session: String,
    call_sid: String,
    pending: String,
    clip: usize,
}

#[derive(Serialize, Deserialize, Default)]
struct CallOut {
    client: usize,
    index: usize,
    /// Inbound frames sent (the clip's, or fewer when the run ended mid-call).
    frames: usize,
    /// The run ended during this call (it is the client's last).
    cut: bool,
    /// `stop` sent → server's Close received, ms; `None` when it never came.
    lag_ms: Option<f64>,
    error: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct Report {
    calls: Vec<CallOut>,
    ticks: usize,
    late_p50_ms: f64,
    late_p99_ms: f64,
    late_max_ms: f64,
    client_cpu_s: f64,
}

// ------------------------------------------------------------------------------------------
// Client (child process)

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Per clip frame: the base64 payload, encoded once.
fn payloads(ulaw: &[u8]) -> Vec<String> {
    ulaw.chunks(160)
        .map(|chunk| {
            let m: serde_json::Value =
                serde_json::from_str(&build::media(0, "MZ", false, 0, 0, chunk)).unwrap();
            m["media"]["payload"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Twilio's `media` message, byte for byte what `build::media` makes but without building JSON
/// values (the client shares the machine with the server; it should spend little).
fn media_msg(seq: u64, stream_sid: &str, track: &str, chunk: u64, ts: u64, b64: &str) -> String {
    format!(
        r#"{{"event":"media","media":{{"chunk":"{chunk}","payload":"{b64}","timestamp":"{ts}","track":"{track}"}},"sequenceNumber":"{seq}","streamSid":"{stream_sid}"}}"#
    )
}

struct ClientOut {
    calls: Vec<CallOut>,
    late_us: Vec<u32>,
}

async fn connect(plan: &Plan) -> Result<Ws, String> {
    let mut req = plan
        .ws_url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut()
        .insert("x-twilio-signature", plan.signature.parse().unwrap());
    tokio_tungstenite::connect_async_with_config(req, None, true)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

/// One call: start, the clip at real-time pace until it ends or `end`, stop, wait for Close.
async fn one_call(
    plan: &Plan,
    call: &PlannedCall,
    clip: &[String],
    silence: &str,
    end: tokio::time::Instant,
    out: &mut CallOut,
    late_us: &mut Vec<u32>,
) -> Result<(), String> {
    let mut ws = connect(plan).await?;
    let stream_sid = format!("MZ{}", &call.call_sid[2..]);
    ws.send(Message::text(build::connected()))
        .await
        .map_err(|e| e.to_string())?;
    ws.send(Message::text(build::start(
        1,
        &stream_sid,
        &call.call_sid,
        &[
            ("pending_call_id", &call.pending),
            ("session_id", &call.session),
        ],
        plan.both_tracks,
    )))
    .await
    .map_err(|e| e.to_string())?;
    let t0 = tokio::time::Instant::now();
    let mut seq = 2;
    for (k, b64) in clip.iter().enumerate() {
        let deadline = t0 + FRAME * k as u32;
        if deadline >= end {
            out.cut = true;
            break;
        }
        tokio::time::sleep_until(deadline).await;
        let (chunk, ts) = (k as u64 + 1, k as u64 * 20);
        let inbound = media_msg(seq, &stream_sid, "inbound", chunk, ts, b64);
        seq += 1;
        if plan.both_tracks {
            // The assistant's track: parsed and dropped by the server, same size as speech.
            ws.feed(Message::text(inbound))
                .await
                .map_err(|e| e.to_string())?;
            let outbound = media_msg(seq, &stream_sid, "outbound", chunk, ts, silence);
            seq += 1;
            ws.send(Message::text(outbound))
                .await
                .map_err(|e| e.to_string())?;
        } else {
            ws.send(Message::text(inbound))
                .await
                .map_err(|e| e.to_string())?;
        }
        let late = tokio::time::Instant::now().saturating_duration_since(deadline);
        late_us.push(late.as_micros().min(u32::MAX as u128) as u32);
        out.frames = k + 1;
    }
    ws.send(Message::text(build::stop(seq, &stream_sid, &call.call_sid)))
        .await
        .map_err(|e| e.to_string())?;
    let stopped = Instant::now();
    let closed = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(Message::Close(_)) => return Ok(stopped.elapsed()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("closed without a Close frame".to_string())
    })
    .await
    .map_err(|_| "no Close within the timeout".to_string())??;
    out.lag_ms = Some(closed.as_secs_f64() * 1000.0);
    Ok(())
}

async fn client(
    plan: std::sync::Arc<Plan>,
    clips: std::sync::Arc<Vec<Vec<String>>>,
    i: usize,
    start: tokio::time::Instant,
) -> ClientOut {
    let silence = payloads(&[0xff; 160]).remove(0);
    let end = start + Duration::from_secs_f64(plan.secs);
    tokio::time::sleep_until(start).await;
    let mut out = ClientOut {
        calls: Vec::new(),
        late_us: Vec::with_capacity((plan.secs * 50.0) as usize + 8),
    };
    for (index, call) in plan.clients[i].iter().enumerate() {
        if tokio::time::Instant::now() >= end {
            break;
        }
        let mut c = CallOut {
            client: i,
            index,
            ..Default::default()
        };
        let r = one_call(
            &plan,
            call,
            &clips[call.clip],
            &silence,
            end,
            &mut c,
            &mut out.late_us,
        )
        .await;
        c.error = r.err();
        let cut = c.cut;
        out.calls.push(c);
        if cut {
            return out;
        }
    }
    if tokio::time::Instant::now() < end {
        out.calls.push(CallOut {
            client: i,
            index: 0,
            error: Some("ran out of planned calls".into()),
            ..Default::default()
        });
    }
    out
}

fn client_main(plan_path: &str) {
    let tck = clk_tck();
    let cpu0 = process_cpu_secs(tck);
    let plan: Plan = serde_json::from_str(&std::fs::read_to_string(plan_path).unwrap()).unwrap();
    // The hand-written message must be what Twilio (and `build::media`) sends.
    let value = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
    let b64 = payloads(&[0x7f; 160]).remove(0);
    assert_eq!(
        value(&media_msg(7, "MZ1", "outbound", 3, 40, &b64)),
        value(&build::media(7, "MZ1", true, 3, 40, &[0x7f; 160]))
    );
    let clips: Vec<Vec<String>> = plan
        .clip_files
        .iter()
        .map(|f| payloads(&std::fs::read(format!("{}/clips/{f}", corpus_dir())).unwrap()))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        let (plan, clips) = (std::sync::Arc::new(plan), std::sync::Arc::new(clips));
        let n = plan.clients.len();
        let t0 = tokio::time::Instant::now() + Duration::from_millis(200);
        let ramp = Duration::from_millis(plan.ramp_ms);
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let start = t0 + ramp.mul_f64(i as f64 / n as f64);
                tokio::spawn(client(plan.clone(), clips.clone(), i, start))
            })
            .collect();
        let mut report = Report::default();
        let mut late = Vec::new();
        for t in tasks {
            let o = t.await.unwrap();
            report.calls.extend(o.calls);
            late.extend(o.late_us);
        }
        late.sort_unstable();
        let late: Vec<f64> = late.iter().map(|&u| u as f64 / 1000.0).collect();
        report.ticks = late.len();
        report.late_p50_ms = percentile(&late, 0.5);
        report.late_p99_ms = percentile(&late, 0.99);
        report.late_max_ms = late.last().copied().unwrap_or(f64::NAN);
        (report, plan.report_path.clone())
    });
    let (mut report, path) = report;
    report.client_cpu_s = process_cpu_secs(tck) - cpu0;
    std::fs::write(path, serde_json::to_string(&report).unwrap()).unwrap();
}

// ------------------------------------------------------------------------------------------
// Server side (this process)

/// `m` sessions on answered calls, each with its own pending call: (session, CallSid, pending).
async fn make_sessions(app: &TestApp, m: usize) -> Vec<(String, String, String)> {
    let pool = app.store.sqlite_pool().unwrap();
    let ts = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    sqlx::query(
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $1) \
         INSERT INTO pending_calls (exam_id, employee_name, phone, phone_e164, appointment_time, clinic_timezone, call_status, attempt_count) \
         SELECT 'EX-' || x, 'Person ' || x, '+1415' || printf('%07d', x), '+1415' || printf('%07d', x), $2, 'America/New_York', 'calling', 1 FROM g",
    )
    .bind(m as i64)
    .bind(ts)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO call_sessions (pending_call_id, attempt_number, call_status, call_id) \
         SELECT id, 1, 'in_progress', 'CA' || lower(hex(randomblob(16))) FROM pending_calls",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query_as("SELECT id, call_id, pending_call_id FROM call_sessions")
        .fetch_all(pool)
        .await
        .unwrap()
}

struct Row {
    n: usize,
    audio_s: f64,
    server_cpu_s: f64,
    wall_s: f64,
    client_cpu_s: f64,
    /// Busy CPU time of the rest of the machine meanwhile (other processes, the kernel's).
    other_cpu_s: f64,
    late_p50: f64,
    late_p99: f64,
    lag_p50: f64,
    lag_p99: f64,
    lag_max: f64,
    pipeline_frac: f64,
    calls: usize,
    as_expected: usize,
    problems: Vec<String>,
}

/// How a run is set up (arguments or environment).
struct Knobs {
    secs: f64,
    ramp_ms: u64,
    both_tracks: bool,
    /// Server pinned to CPU 0 with one tokio worker, the client to the other CPUs.
    pin: bool,
    cores: usize,
    tck: f64,
}

async fn level(n: usize, k: &Knobs, clips: &[Clip]) -> Row {
    let (secs, tck) = (k.secs, k.tck);
    let app = spawn_app_with(Backend::Sqlite, SERVER).await;
    // Plan each client's calls: clips in mix order from a per-client offset, enough to fill
    // `secs` of audio plus one (connection set-up makes calls a little longer than their audio).
    let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(n);
    for i in 0..n {
        let (mut calls, mut ms) = (Vec::new(), 0.0);
        let mut c = (i * 7) % clips.len();
        while ms < secs * 1000.0 || calls.len() < 2 {
            calls.push(c);
            ms += clips[c].ulaw.len() as f64 / 8.0;
            c = (c + 1) % clips.len();
        }
        calls.push(c);
        shapes.push(calls);
    }
    let total: usize = shapes.iter().map(Vec::len).sum();
    let mut sessions = make_sessions(&app, total).await.into_iter();
    let clients: Vec<Vec<PlannedCall>> = shapes
        .iter()
        .map(|calls| {
            calls
                .iter()
                .map(|&clip| {
                    let (session, call_sid, pending) = sessions.next().unwrap();
                    PlannedCall {
                        session,
                        call_sid,
                        pending,
                        clip,
                    }
                })
                .collect()
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("switchboard-streams-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan = Plan {
        ws_url: format!("{}/twilio/media", app.addr.replacen("http://", "ws://", 1)),
        // Twilio signs the wss:// form of the public URL for an upgrade.
        signature: switchboard_core::signature::compute(
            AUTH_TOKEN,
            &format!(
                "{}/twilio/media",
                PUBLIC_URL.replacen("https://", "wss://", 1)
            ),
            &[],
        ),
        secs,
        ramp_ms: k.ramp_ms,
        both_tracks: k.both_tracks,
        clip_files: clips.iter().map(|c| c.file.clone()).collect(),
        clients,
        report_path: dir.join("report.json").to_string_lossy().into_owned(),
    };
    let plan_path = dir.join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string(&plan).unwrap()).unwrap();

    let cpu0 = process_cpu_secs(tck);
    let busy0 = machine_busy_secs(tck);
    let wall0 = Instant::now();
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if k.pin {
        let mut c = tokio::process::Command::new("taskset");
        c.arg("-c").arg(format!("1-{}", k.cores - 1)).arg(exe);
        c
    } else {
        tokio::process::Command::new(exe)
    };
    let status = cmd.env(CLIENT_ENV, &plan_path).status().await.unwrap();
    let server_cpu_s = process_cpu_secs(tck) - cpu0;
    let busy_s = machine_busy_secs(tck) - busy0;
    let wall_s = wall0.elapsed().as_secs_f64();
    assert!(status.success(), "the client process failed: {status}");
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&plan.report_path).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    // Correctness: what each call's session holds against the offline decision on the audio sent.
    let detected: HashMap<String, Option<String>> =
        sqlx::query_as("SELECT id, detected_classification FROM call_sessions")
            .fetch_all(app.store.sqlite_pool().unwrap())
            .await
            .unwrap()
            .into_iter()
            .collect();
    let (mut as_expected, mut problems) = (0, Vec::new());
    let (mut frames, mut piped) = (0usize, 0usize);
    let mut lags = Vec::new();
    for c in &report.calls {
        let planned = &plan.clients[c.client][c.index];
        let clip = &clips[planned.clip];
        frames += c.frames;
        let expected = match &clip.decision {
            Some((k, class)) if c.frames > *k => {
                piped += k + 1;
                Some(class.clone())
            }
            _ => {
                piped += c.frames;
                None
            }
        };
        let got = detected.get(&planned.session).cloned().flatten();
        if let Some(l) = c.lag_ms {
            lags.push(l);
        }
        match (&c.error, got == expected) {
            (None, true) => as_expected += 1,
            (Some(e), _) => problems.push(format!("{}: {e}", clip.file)),
            (None, false) => problems.push(format!(
                "{} ({} frames): recorded {got:?}, expected {expected:?}",
                clip.file, c.frames
            )),
        }
    }
    lags.sort_by(f64::total_cmp);
    Row {
        n,
        audio_s: frames as f64 * 0.02,
        server_cpu_s,
        wall_s,
        client_cpu_s: report.client_cpu_s,
        other_cpu_s: busy_s - server_cpu_s - report.client_cpu_s,
        late_p50: report.late_p50_ms,
        late_p99: report.late_p99_ms,
        lag_p50: percentile(&lags, 0.5),
        lag_p99: percentile(&lags, 0.99),
        lag_max: lags.last().copied().unwrap_or(f64::NAN),
        pipeline_frac: piped as f64 / frames.max(1) as f64,
        calls: report.calls.len(),
        as_expected,
        problems,
    }
}

fn main() {
    if let Ok(plan) = std::env::var(CLIENT_ENV) {
        return client_main(&plan);
    }
    let levels: Vec<usize> = knob("--n", "STREAMS_N")
        .unwrap_or_else(|| "250,500,1000,2000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("STREAMS_N: comma-separated counts"))
        .collect();
    let secs: f64 = knob("--secs", "STREAMS_SECS").map_or(20.0, |s| s.parse().unwrap());
    let ramp_ms: u64 = knob("--ramp-ms", "STREAMS_RAMP_MS").map_or(1000, |s| s.parse().unwrap());
    let both_tracks = match knob("--tracks", "STREAMS_TRACKS").as_deref() {
        None | Some("both") => true,
        Some("inbound") => false,
        Some(o) => panic!("STREAMS_TRACKS: both or inbound, not {o}"),
    };
    let pin = knob("--pin", "STREAMS_PIN").is_some_and(|v| v == "1");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let k = Knobs {
        secs,
        ramp_ms,
        both_tracks,
        pin,
        cores,
        tck: clk_tck(),
    };
    let mut clips = load_mix();
    // The classifier configured as the server's `listen` configures it.
    let cfg = test_settings("sqlite://unused.db", "http://127.0.0.1:9", SERVER).classifier_config();
    let (pipe_s_per_audio_s, server_frac, parse_s) = offline(&mut clips, &cfg);
    let workers = if pin {
        assert!(cores >= 2, "STREAMS_PIN=1 needs two CPUs");
        // Threads started from now on (tokio workers, blocking pool, SQLite) inherit CPU 0.
        let ok = std::process::Command::new("taskset")
            .args(["-p", "-c", "0", &std::process::id().to_string()])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "taskset failed");
        println!(
            "machine: {cores} cores, {}; server in this process pinned to CPU 0 (tokio, 1 worker, SQLite), client in a child process on CPUs 1-{}",
            std::env::consts::ARCH,
            cores - 1
        );
        1
    } else {
        println!(
            "machine: {cores} cores, {}; server in this process (tokio, {cores} workers, SQLite), client in a child process; they share the cores",
            std::env::consts::ARCH
        );
        cores
    };
    println!(
        "mix: {} clips (greetings and menus), {} s per level, ramp {ramp_ms} ms, tracks: {}",
        clips.len(),
        secs,
        if both_tracks { "both" } else { "inbound" }
    );
    println!(
        "offline, one thread: acoustic pipeline {:.1} µs per audio-s on every frame (ceiling {:.0} streams/core); \
         the server runs it until the decision ({:.0} % of a whole clip's frames); media::parse {:.2} µs per message",
        pipe_s_per_audio_s * 1e6,
        1.0 / pipe_s_per_audio_s,
        server_frac * 100.0,
        parse_s * 1e6
    );
    println!();
    println!(
        "| N | audio-s (of N × secs) | server CPU-s | CPU-s per audio-s | streams/core | server cores busy | client CPU-s | other CPU-s | send late p50 / p99 | stop→Close lag p50 / p99 / max | pipeline frames | decisions as offline |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let mut failed = false;
    for n in levels {
        let r = rt.block_on(level(n, &k, &clips));
        let per = r.server_cpu_s / r.audio_s;
        println!(
            "| {} | {:.0} ({:.0} %) | {:.2} | {:.6} | {:.0} | {:.2} of {workers} | {:.2} | {:.2} | {:.2} / {:.2} ms | {:.1} / {:.1} / {:.1} ms | {:.0} % | {}/{} |",
            r.n,
            r.audio_s,
            r.audio_s / (r.n as f64 * k.secs) * 100.0,
            r.server_cpu_s,
            per,
            1.0 / per,
            r.server_cpu_s / r.wall_s,
            r.client_cpu_s,
            r.other_cpu_s,
            r.late_p50,
            r.late_p99,
            r.lag_p50,
            r.lag_p99,
            r.lag_max,
            r.pipeline_frac * 100.0,
            r.as_expected,
            r.calls
        );
        for p in r.problems.iter().take(5) {
            println!("    problem: {p}");
        }
        failed |= !r.problems.is_empty();
    }
    println!();
    println!(
        "streams/core = audio seconds / server CPU seconds (utime+stime of the server process while the client ran, \
         incl. WebSocket upgrades, signature checks, session reads and decision writes). \
         send late = frame handed to the kernel minus its 20 ms deadline (tokio timers add up to 1 ms). \
         stop→Close = the server's backlog on a stream when it ends, plus a loopback round trip. \
         other CPU-s = the machine's busy time (/proc/stat) minus server and client: anything else running skews lateness and lag. \
         A level that delivered less than all its audio, or whose lag grew, did not keep real time: its streams/core is not sustainable."
    );
    if failed {
        std::process::exit(1);
    }
}

//! `switchboard demo`: the real service and the simulated world in one process on loopback —
//! a Twilio stand-in, 50+ clinics and a VAPI stand-in — on embedded SQLite, run for N simulated
//! days, then summarised. Nothing here is a shortcut: every call crosses real HTTP and WebSocket
//! exchanges exactly as it would against Twilio and VAPI.

use crate::app::{Application, Clock};
use crate::config::{Settings, Source};
use chrono::{Datelike, Duration as ChronoDuration, TimeZone, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use switchboard_core::PendingStatus;
use switchboard_sim::{Carrier, CarrierConfig, SimClock, VapiConfig, VapiSim, World};
use switchboard_store::{NewPendingCall, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Demo options (the CLI flags).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Use only the first N clinics of the world.
    pub clinics: Option<usize>,
    /// Pending calls inserted per simulated day.
    pub calls: usize,
    pub days: u32,
    pub seed: u64,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// A world file instead of the default world.
    pub world: Option<String>,
    /// Where to keep the SQLite database (default: a temporary directory).
    pub database: Option<String>,
    /// Print progress to stderr.
    pub progress: bool,
    /// Further service settings (e.g. `SWITCHBOARD_CLASSIFY_MODE`, `SWITCHBOARD_SPEECH`); they
    /// override the demo's own.
    pub settings: Vec<(&'static str, String)>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            clinics: None,
            calls: 60,
            days: 1,
            seed: 1,
            speed: 200.0,
            world: None,
            database: None,
            progress: true,
            settings: Vec::new(),
        }
    }
}

/// The running demo world.
pub struct Demo {
    pub app_url: String,
    pub api_token: String,
    pub carrier_url: String,
    pub store: Store,
    pub clock: Clock,
    pub carrier: Carrier,
    pub vapi: VapiSim,
    pub world: Arc<World>,
    pub day: Arc<AtomicU32>,
    pub state: crate::app::AppState,
    /// The temporary directory holding the demo's database, removed when the demo ends.
    temp_dir: Option<std::path::PathBuf>,
    _shutdown: watch::Sender<bool>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(d) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// What the demo reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub days: u32,
    pub pending_calls: usize,
    /// Final status of pending calls, by clinic kind.
    pub outcomes_by_kind: BTreeMap<String, BTreeMap<String, usize>>,
    pub attempts: usize,
    /// Attempts that found a cached classification at claim time.
    pub classification_hits: usize,
    pub reached_person: usize,
    /// Pending calls at clinics where a person can be reached (person and menu-to-person).
    pub reachable: usize,
    /// Attempts at clinics where a person can be reached, and how many of them skipped
    /// classification thanks to the cache (the seed's "classification overhead").
    pub attempts_reachable: usize,
    pub hits_reachable: usize,
    pub agent_minutes_talking: f64,
    pub agent_minutes_in_menus: f64,
    pub application_errors: Vec<String>,
}

fn random_hex(seed: u64, n: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_digit((x % 16) as u32, 16).expect("hex digit")
        })
        .collect()
}

impl Demo {
    /// Starts the service, the carrier and the VAPI stand-in on free loopback ports.
    pub async fn start(opts: &DemoOptions) -> anyhow::Result<Demo> {
        let world = Arc::new(match &opts.world {
            Some(p) => World::parse(
                &std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("cannot read {p}: {e}"))?,
            )?,
            None => World::default_world(),
        });
        let world = Arc::new(match opts.clinics {
            Some(n) => World {
                clinics: world.clinics.iter().take(n).cloned().collect(),
            },
            None => (*world).clone(),
        });
        let (db, temp_dir) = match &opts.database {
            Some(d) => (d.clone(), None),
            None => {
                let dir = std::env::temp_dir().join(format!(
                    "switchboard-demo-{}",
                    uuid::Uuid::new_v4().simple()
                ));
                std::fs::create_dir_all(&dir)?;
                (format!("sqlite://{}/demo.db", dir.display()), Some(dir))
            }
        };
        let app_l = TcpListener::bind("127.0.0.1:0").await?;
        let carrier_l = TcpListener::bind("127.0.0.1:0").await?;
        let vapi_l = TcpListener::bind("127.0.0.1:0").await?;
        let speech_l = TcpListener::bind("127.0.0.1:0").await?;
        let speech_url = format!("ws://{}", speech_l.local_addr()?);
        let speech_key = random_hex(opts.seed ^ 0x7777, 32);
        let app_url = format!("http://{}", app_l.local_addr()?);
        let carrier_url = format!("http://{}", carrier_l.local_addr()?);
        let vapi_url = format!("http://{}", vapi_l.local_addr()?);
        let account = format!("AC{}", random_hex(opts.seed, 32));
        let token = random_hex(opts.seed ^ 0xA5A5, 32);
        let api_token = random_hex(opts.seed ^ 0x5A5A, 32);
        let vapi_secret = random_hex(opts.seed ^ 0x1234, 32);
        let listen = app_l.local_addr()?.to_string();
        let sip = format!("sip:clinic-agent@{}", vapi_l.local_addr()?);
        let mut pairs: Vec<(&'static str, &str)> = vec![
            ("DATABASE_URL", &db),
            ("SWITCHBOARD_LISTEN", &listen),
            ("SWITCHBOARD_PUBLIC_URL", &app_url),
            ("SWITCHBOARD_API_TOKEN", &api_token),
            ("TWILIO_ACCOUNT_SID", &account),
            ("TWILIO_AUTH_TOKEN", &token),
            ("TWILIO_FROM_NUMBER", "+15005550006"),
            ("TWILIO_API_BASE", &carrier_url),
            ("VAPI_SIP_URI", &sip),
            ("VAPI_WEBHOOK_SECRET", &vapi_secret),
            ("SWITCHBOARD_DISPATCHER", "off"),
            ("SWITCHBOARD_CALLS_PER_SECOND", "200"),
            ("SWITCHBOARD_MAX_IN_FLIGHT", "100"),
            ("SWITCHBOARD_RING_TIMEOUT_SECS", "30"),
            // The recogniser stand-in (Deepgram's protocol) transcribes the clinics' prompts.
            ("SWITCHBOARD_SPEECH", "deepgram"),
            ("DEEPGRAM_URL", &speech_url),
            ("DEEPGRAM_API_KEY", &speech_key),
        ];
        for (k, v) in &opts.settings {
            pairs.retain(|(key, _)| key != k);
            pairs.push((k, v.as_str()));
        }
        let settings = Settings::load(&Source::from_pairs(&pairs))?;
        let store = Store::connect(&db).await?;
        store.migrate().await?;
        let clock = Clock::default();
        let app = Application::build_with_listener(settings, store.clone(), clock.clone(), app_l)?;
        let state = app.state.clone();
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            if let Err(e) = app.run(rx).await {
                tracing::error!(error = %e, "demo service stopped");
            }
        });
        let now_clock = clock.clone();
        let sim_clock = SimClock::new(opts.speed, Arc::new(move || now_clock.now()));
        let day = Arc::new(AtomicU32::new(0));
        let carrier = Carrier::new(CarrierConfig {
            account_sid: account,
            auth_token: token,
            api_key: None,
            cps: 50.0,
            world: world.clone(),
            day: day.clone(),
            clock: sim_clock.clone(),
            vapi_base: Some(vapi_url),
            seed: opts.seed,
        });
        let vapi = VapiSim::new(VapiConfig {
            server_url: app_url.clone(),
            secret: vapi_secret,
            sip_user: "clinic-agent".into(),
            clock: sim_clock,
            carrier_base: Some(carrier_url.clone()),
        });
        let recogniser = switchboard_sim::Recogniser::new(switchboard_sim::RecogniserConfig {
            api_key: speech_key.clone(),
        });
        let sr = recogniser.router();
        tokio::spawn(async move { axum::serve(speech_l, sr).await });
        let (cr, vr) = (carrier.router(), vapi.router());
        tokio::spawn(async move { axum::serve(carrier_l, cr).await });
        tokio::spawn(async move { axum::serve(vapi_l, vr).await });
        Ok(Demo {
            app_url,
            api_token,
            carrier_url,
            store,
            clock,
            carrier,
            vapi,
            world,
            day,
            state,
            temp_dir,
            _shutdown: tx,
        })
    }

    /// Inserts `n` pending calls for today, spread over the world's clinics.
    pub async fn insert_day(&self, n: usize, day: u32) -> anyhow::Result<()> {
        let clinics: Vec<usize> = (0..n)
            .map(|i| (i + day as usize * 7) % self.world.clinics.len())
            .collect();
        self.insert_calls(&clinics, day).await
    }

    /// Inserts one pending call for today at each of the given clinics (indexes into the world).
    pub async fn insert_calls(&self, clinics: &[usize], day: u32) -> anyhow::Result<()> {
        let now = self.clock.now();
        for (i, &ci) in clinics.iter().enumerate() {
            let c = &self.world.clinics[ci];
            let tz: chrono_tz::Tz = c.timezone.parse()?;
            let local = now
                .with_timezone(&tz)
                .date_naive()
                .and_hms_opt(15, 30, 0)
                .expect("valid time");
            let appointment = tz
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now);
            self.store
                .insert_pending_call(
                    &NewPendingCall {
                        exam_id: format!("EX-{day:02}-{i:04}"),
                        employee_name: format!("Employee {day}-{i}"),
                        employee_dob: chrono::NaiveDate::from_ymd_opt(
                            1980 + (i % 30) as i32,
                            1 + (i % 12) as u32,
                            1 + (i % 28) as u32,
                        ),
                        client_name: Some("Acme Logistics".into()),
                        clinic_name: Some(c.name.clone()),
                        phone: c.phone.clone(),
                        phone_e164: switchboard_core::E164::parse(&c.phone)?,
                        appointment_time: appointment,
                        clinic_timezone: c.timezone.clone(),
                        procedures: Some("DOT physical".into()),
                        instructions: Some("Confirm the appointment time.".into()),
                        assistant_context: None,
                        max_attempts: 3,
                    },
                    now,
                )
                .await?;
        }
        Ok(())
    }

    /// Runs dispatcher passes until today's calls are settled, moving the clock to each retry.
    pub async fn run_day(&self) -> anyhow::Result<()> {
        let start = self.clock.now();
        for _ in 0..200 {
            let report = self.state.dispatcher.run_once().await?;
            // Wait for the calls placed in this pass to end.
            for _ in 0..6000 {
                if self.carrier.live_calls() == 0 && self.store.count_in_flight().await? == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            if report.claimed > 0 {
                continue;
            }
            // Nothing due now: jump to the next retry today, or end the day.
            let retries = self
                .store
                .list_pending_calls(&switchboard_store::PendingFilter {
                    status: Some(PendingStatus::RetryScheduled),
                    limit: 10_000,
                    ..Default::default()
                })
                .await?;
            let next = retries.iter().filter_map(|p| p.next_attempt_at).min();
            match next {
                Some(t) if t > self.clock.now() && t - start < ChronoDuration::hours(10) => {
                    self.clock
                        .advance(t - self.clock.now() + ChronoDuration::seconds(1));
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Replays `opts.days` days and summarises.
    pub async fn run(&self, opts: &DemoOptions) -> anyhow::Result<Summary> {
        // Start each simulated day at 17:00 UTC (noon in New York, 09:00 in Los Angeles), when
        // every clinic of the default world is open.
        let now = self.clock.now();
        let nine = Utc.from_utc_datetime(&now.date_naive().and_hms_opt(17, 0, 0).expect("valid"))
            + ChronoDuration::days(1);
        self.clock.advance(nine - now);
        for d in 0..opts.days {
            self.day.store(d, Ordering::SeqCst);
            let day_start = self.clock.now();
            // Appointments are booked on weekdays; weekends pass with the clinics closed.
            let weekday = day_start
                .with_timezone(&chrono_tz::America::New_York)
                .weekday();
            if !matches!(weekday, chrono::Weekday::Sat | chrono::Weekday::Sun) {
                self.insert_day(opts.calls, d).await?;
            }
            self.run_day().await?;
            if opts.progress {
                let s = self.summary(d + 1).await?;
                eprint!(
                    "\rday {:>3}/{}: {} calls, {} reached a person, cache hits {}/{} attempts   ",
                    d + 1,
                    opts.days,
                    s.pending_calls,
                    s.reached_person,
                    s.classification_hits,
                    s.attempts
                );
            }
            let next_day = day_start + ChronoDuration::days(1);
            let now = self.clock.now();
            if next_day > now {
                self.clock.advance(next_day - now);
            }
        }
        if opts.progress {
            eprintln!();
        }
        self.summary(opts.days).await
    }

    pub async fn summary(&self, days: u32) -> anyhow::Result<Summary> {
        let mut s = Summary {
            days,
            ..Default::default()
        };
        let all = self
            .store
            .list_pending_calls(&switchboard_store::PendingFilter {
                limit: 1_000_000,
                ..Default::default()
            })
            .await?;
        s.pending_calls = all.len();
        for p in &all {
            let kind = self
                .world
                .clinic_by_phone(p.phone_e164.as_deref().unwrap_or(""))
                .map(|c| c.kind.as_str().to_string())
                .unwrap_or_else(|| "unknown".into());
            *s.outcomes_by_kind
                .entry(kind.clone())
                .or_default()
                .entry(p.call_status.as_str().to_string())
                .or_default() += 1;
            if matches!(kind.as_str(), "person" | "menu") {
                s.reachable += 1;
            }
            if p.call_status == PendingStatus::Completed {
                s.reached_person += 1;
            }
            let sessions = self.store.list_sessions(p.id).await?;
            let hits = sessions
                .iter()
                .filter(|x| x.classification_id.is_some())
                .count();
            s.attempts += sessions.len();
            s.classification_hits += hits;
            if matches!(kind.as_str(), "person" | "menu") {
                s.attempts_reachable += sessions.len();
                s.hits_reachable += hits;
            }
        }
        for c in self.vapi.calls() {
            s.agent_minutes_talking += c.talk_seconds / 60.0;
            s.agent_minutes_in_menus += c.menu_seconds / 60.0;
        }
        s.application_errors = self.carrier.application_errors();
        Ok(s)
    }
}

impl Summary {
    /// The human-readable report printed at the end of `switchboard demo`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Switchboard demo — {} simulated day(s), {} pending calls, {} attempts\n\n",
            self.days, self.pending_calls, self.attempts
        ));
        out.push_str("Outcomes by clinic kind:\n");
        for (kind, statuses) in &self.outcomes_by_kind {
            let parts: Vec<String> = statuses.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push_str(&format!("  {kind:<13} {}\n", parts.join(", ")));
        }
        let pct = |a: usize, b: usize| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        out.push_str(&format!(
            "\nReached a person: {} of {} reachable pending calls ({:.1} %)\n",
            self.reached_person,
            self.reachable,
            pct(self.reached_person, self.reachable)
        ));
        out.push_str(&format!(
            "Classification cache: {} of {} attempts skipped classification ({:.1} %); at clinics with a person, {} of {} ({:.1} %)\n",
            self.classification_hits,
            self.attempts,
            pct(self.classification_hits, self.attempts),
            self.hits_reachable,
            self.attempts_reachable,
            pct(self.hits_reachable, self.attempts_reachable)
        ));
        out.push_str(&format!(
            "Agent minutes: {:.1} talking with people, {:.1} spent in menus, hold or voicemail\n",
            self.agent_minutes_talking, self.agent_minutes_in_menus
        ));
        if self.application_errors.is_empty() {
            out.push_str("TwiML application errors: none\n");
        } else {
            out.push_str(&format!(
                "TwiML application errors: {}\n",
                self.application_errors.len()
            ));
        }
        out
    }
}

//! `switchboard`: the command line. Parses arguments and settings, then hands over to the library.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use switchboard::app::{Application, Clock};
use switchboard::config::{Settings, Source};
use switchboard::dispatcher::Dispatcher;
use switchboard_store::Store;
use tokio::sync::watch;

/// Gets an AI voice agent on the line with a person at a clinic: places calls from
/// `pending_calls`, routes them by the clinic's phone system, and hands them to VAPI.
#[derive(Parser)]
#[command(name = "switchboard", version, about)]
struct Cli {
    /// TOML file with settings (keys are the environment variable names); the environment wins.
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    config: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (admin API, Twilio and VAPI webhooks) and the dispatcher loop.
    Serve {
        /// Apply pending migrations before serving (the embedded SQLite default does this anyway).
        #[arg(long)]
        migrate: bool,
    },
    /// Create or upgrade the database schema (also upgrades the legacy layout).
    Migrate,
    /// Run the dispatcher.
    Dispatch {
        /// Run one pass and exit (for cron-style use).
        #[arg(long)]
        once: bool,
    },
    /// Classify a recording of a call's inbound track (WAV PCM16 or mu-law at any rate, or raw
    /// .ulaw 8 kHz) through exactly the live pipeline.
    Classify {
        file: String,
        /// The outbound track (what was sent to the clinic): the key presses heard on it are the
        /// steps taken.
        #[arg(long)]
        outbound: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Offline recogniser for the clinic's words: `none` or `whisper` (a `--features
        /// whisper` build).
        #[arg(long, default_value = "none")]
        speech: String,
        /// Keep the recogniser's answers in FILE and reuse them (see `evaluate`).
        #[arg(long, value_name = "FILE")]
        transcript_cache: Option<String>,
        /// Print what the recogniser heard and each decision to standard error as it happens.
        #[arg(long)]
        trace: bool,
    },
    /// Evaluate the classifier on a labelled corpus: confusion matrix, accuracy, latencies.
    Evaluate {
        #[arg(long, default_value = "corpus")]
        corpus: String,
        #[arg(long)]
        json: bool,
        /// Offline recogniser: `none` or `whisper` (a `--features whisper` build).
        #[arg(long, default_value = "none")]
        speech: String,
        /// Keep the recogniser's answers in FILE and reuse them on later runs (same audio, same
        /// words, same measured decode time), so a classifier change is re-evaluated in seconds.
        #[arg(long, value_name = "FILE")]
        transcript_cache: Option<String>,
        /// Also list every clip classified wrongly or pressed the wrong key.
        #[arg(long)]
        misses: bool,
    },
    /// Run one simulator as its own process, so a deployment can point `TWILIO_API_BASE` and
    /// `VAPI_SIP_URI` at it.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Run the whole system against a simulated telephone world (no credentials needed):
    /// the service, a Twilio stand-in, 50+ clinics and a VAPI stand-in, on loopback.
    Demo {
        /// Use only the first N clinics of the world.
        #[arg(long)]
        clinics: Option<usize>,
        /// Pending calls inserted per simulated day.
        #[arg(long, default_value_t = 60)]
        calls: usize,
        /// Simulated days to replay (an accelerated clock; shows the 30-day cache and relearning).
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Random seed (the same seed replays the same world).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated seconds per real second.
        #[arg(long, default_value_t = 200.0)]
        speed: f64,
        /// A world file (TOML) instead of the default world.
        #[arg(long)]
        world: Option<String>,
        /// Keep the service and simulators up afterwards (Ctrl-C to stop).
        #[arg(long)]
        serve: bool,
        /// How unknown numbers are handled: `navigate` (Switchboard listens first, hands a person
        /// to the assistant, lets the assistant navigate menus it cannot read) or `observe` (the
        /// assistant talks at once; Switchboard listens alongside and learns).
        #[arg(long, default_value = "navigate", value_parser = ["navigate", "observe"])]
        classify_mode: String,
    },
}

#[derive(Subcommand)]
enum SimCommand {
    /// The Twilio stand-in (REST API, calls against the clinic world, webhooks, Media Streams).
    Carrier {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// World file (TOML); the default world when omitted.
        #[arg(long)]
        world: Option<String>,
        #[arg(long, env = "TWILIO_ACCOUNT_SID")]
        account_sid: String,
        /// Authenticates REST calls and signs webhooks.
        #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
        auth_token: String,
        /// Base URL of the VAPI stand-in that receives `<Dial><Sip>` hand-offs.
        #[arg(long)]
        vapi_base: Option<String>,
        #[arg(long, default_value_t = 1.0)]
        cps: f64,
        /// Simulated seconds per real second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The VAPI stand-in (SIP hand-off in, server-URL webhooks out).
    Vapi {
        #[arg(long, default_value = "127.0.0.1:8091")]
        listen: String,
        /// Switchboard's public base URL.
        #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
        server_url: String,
        #[arg(long, env = "VAPI_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// The SIP user of the assistant (`clinic-agent` in `sip:clinic-agent@host`).
        #[arg(long, default_value = "clinic-agent")]
        sip_user: String,
        /// The carrier's base URL, for the assistant's own key presses.
        #[arg(long)]
        carrier_base: Option<String>,
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
}

async fn run_sim(cmd: SimCommand) -> anyhow::Result<ExitCode> {
    use switchboard_sim::{Carrier, CarrierConfig, SimClock, VapiConfig, VapiSim, World};
    let (listen, router) = match cmd {
        SimCommand::Carrier {
            listen,
            world,
            account_sid,
            auth_token,
            vapi_base,
            cps,
            speed,
            seed,
        } => {
            let world = match world {
                Some(p) => World::parse(
                    &std::fs::read_to_string(&p)
                        .map_err(|e| anyhow::anyhow!("cannot read {p}: {e}"))?,
                )?,
                None => World::default_world(),
            };
            let carrier = Carrier::new(CarrierConfig {
                account_sid,
                auth_token,
                api_key: None,
                cps,
                world: std::sync::Arc::new(world),
                day: Default::default(),
                clock: SimClock::new(speed, std::sync::Arc::new(chrono::Utc::now)),
                vapi_base,
                seed,
            });
            (listen, carrier.router())
        }
        SimCommand::Vapi {
            listen,
            server_url,
            secret,
            sip_user,
            carrier_base,
            speed,
        } => {
            let vapi = VapiSim::new(VapiConfig {
                server_url: server_url.trim_end_matches('/').to_string(),
                secret,
                sip_user,
                clock: SimClock::new(speed, std::sync::Arc::new(chrono::Utc::now)),
                carrier_base,
            });
            (listen, vapi.router())
        }
    };
    let l = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    tracing::info!(addr = %listen, "simulator listening");
    axum::serve(l, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(json: bool, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The offline recogniser of `classify`/`evaluate`, with its transcript cache when one is named.
fn recogniser(
    speech: &str,
    cache: Option<&str>,
) -> Result<Option<switchboard::classify::Recogniser>, String> {
    use switchboard::classify::{offline_recogniser, with_transcript_cache};
    match (offline_recogniser(speech)?, cache) {
        (Some(r), Some(path)) => with_transcript_cache(r, path).map(Some),
        (r, _) => Ok(r),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("switchboard: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Offline commands need none of the service's settings.
    match &cli.command {
        Command::Classify {
            file,
            outbound,
            json,
            speech,
            transcript_cache,
            trace,
        } => {
            use switchboard::classify::{Offline, classify_call, read_audio};
            let recogniser = match recogniser(speech, transcript_cache.as_deref()) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            let outbound = match outbound.as_deref().map(read_audio).transpose() {
                Ok(o) => o,
                Err(e) => return fail(e),
            };
            return match read_audio(file) {
                Err(e) => fail(e),
                Ok(audio) => {
                    let r = classify_call(
                        &audio,
                        &Offline {
                            outbound: outbound.as_deref(),
                            transcribe: recogniser.as_deref(),
                            trace: *trace,
                        },
                    );
                    if *json {
                        println!("{}", serde_json::to_string(&r).expect("serialisable"));
                    } else {
                        println!(
                            "{} (confidence {:.2}) at {} ms: {}",
                            r.classification.as_str(),
                            r.confidence,
                            r.decided_at_ms,
                            r.reason
                        );
                    }
                    ExitCode::SUCCESS
                }
            };
        }
        Command::Evaluate {
            corpus,
            json,
            speech,
            transcript_cache,
            misses,
        } => {
            let recogniser = match recogniser(speech, transcript_cache.as_deref()) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            return match switchboard::classify::evaluate_with(corpus, recogniser.as_deref()) {
                Err(e) => fail(e),
                Ok(ev) => {
                    if *json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&ev).expect("serialisable")
                        );
                    } else {
                        print!("{}", ev.render());
                        if *misses {
                            print!("\nmisses:\n{}", ev.render_misses());
                        }
                    }
                    ExitCode::SUCCESS
                }
            };
        }
        _ => {}
    }
    // The simulators take their own flags and none of the service's settings.
    if let Command::Sim(cmd) = cli.command {
        init_tracing(false, "info");
        return match run_sim(cmd).await {
            Ok(c) => c,
            Err(e) => fail(format!("{e:#}")),
        };
    }
    let settings = match Source::from_env(cli.config.as_deref()).and_then(|s| Settings::load(&s)) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // The demo prints a summary; only problems belong on its stderr.
    let level = if matches!(cli.command, Command::Demo { .. }) {
        "warn"
    } else {
        "info"
    };
    init_tracing(settings.log_json, level);
    match run(cli.command, settings).await {
        Ok(code) => code,
        Err(e) => fail(format!("{e:#}")),
    }
}

/// The demo's own service settings: the classify mode, and the recogniser if the environment
/// configures one (`SWITCHBOARD_SPEECH`, `DEEPGRAM_API_KEY`, `DEEPGRAM_URL`,
/// `SWITCHBOARD_WHISPER_MODEL`).
fn demo_settings(classify_mode: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![("SWITCHBOARD_CLASSIFY_MODE", classify_mode.to_string())];
    for var in [
        "SWITCHBOARD_SPEECH",
        "DEEPGRAM_API_KEY",
        "DEEPGRAM_URL",
        "SWITCHBOARD_WHISPER_MODEL",
    ] {
        if let Ok(v) = std::env::var(var) {
            out.push((var, v));
        }
    }
    out
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Sim(_) | Command::Classify { .. } | Command::Evaluate { .. } => {
            unreachable!("handled before settings are loaded")
        }
        Command::Demo {
            clinics,
            calls,
            days,
            seed,
            speed,
            world,
            serve,
            classify_mode,
        } => {
            if calls == 0 || days == 0 || speed.is_nan() || speed <= 0.0 {
                anyhow::bail!("--calls, --days and --speed must be greater than 0");
            }
            let opts = switchboard::demo::DemoOptions {
                clinics,
                calls,
                days,
                seed,
                speed,
                world,
                database: None,
                progress: true,
                settings: demo_settings(&classify_mode),
            };
            let demo = switchboard::demo::Demo::start(&opts).await?;
            eprintln!(
                "demo: service {} · carrier (Twilio stand-in) {} · {} clinics · {} calls/day × {} day(s)",
                demo.app_url,
                demo.carrier_url,
                demo.world.clinics.len(),
                calls,
                days
            );
            let summary = demo.run(&opts).await?;
            println!("{}", summary.render());
            if serve {
                eprintln!(
                    "serving: admin API {}/api/v1 (bearer {}), Ctrl-C to stop",
                    demo.app_url, demo.api_token
                );
                let _ = tokio::signal::ctrl_c().await;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = Store::connect(&settings.database_url).await?;
            let report = store.migrate().await?;
            if let Some(l) = &report.legacy_upgrade {
                println!(
                    "upgraded legacy layout: {} pending calls, {} sessions, {} classifications carried over; \
                     {} orphan sessions and {} classifications kept in legacy_* tables",
                    l.pending_calls,
                    l.call_sessions,
                    l.call_classifications,
                    l.orphan_sessions,
                    l.skipped_classifications
                );
            }
            println!(
                "migrations applied: {:?}; already applied: {:?}",
                report.applied, report.already_applied
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { migrate } => {
            let store = Store::connect(&settings.database_url).await?;
            if migrate || settings.database_url.starts_with("sqlite:") {
                store.migrate().await?;
            } else if !store.is_migrated().await? {
                anyhow::bail!("database schema is not up to date: run `switchboard migrate` first");
            }
            let app = Application::build_with_store(settings, store, Clock::default()).await?;
            tracing::info!(addr = %app.local_addr(), "switchboard listening");
            let (tx, rx) = watch::channel(false);
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("shutting down");
                let _ = tx.send(true);
            });
            app.run(rx).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dispatch { once } => {
            let store = Store::connect(&settings.database_url).await?;
            if !store.is_migrated().await? {
                anyhow::bail!("database schema is not up to date: run `switchboard migrate` first");
            }
            let settings = std::sync::Arc::new(settings);
            let d = std::sync::Arc::new(Dispatcher::new(
                settings.clone(),
                store,
                Default::default(),
                Clock::default(),
            )?);
            if !d.can_place_calls() {
                anyhow::bail!(
                    "placing calls needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SID + \
                     TWILIO_API_KEY_SECRET), TWILIO_FROM_NUMBER, SWITCHBOARD_PUBLIC_URL and VAPI_SIP_URI"
                );
            }
            if once {
                let r = d.run_once().await?;
                println!(
                    "claimed {} (dialled {}, failed {}); normalised {}, rejected {}, swept {}",
                    r.claimed, r.dialled, r.dial_failed, r.normalised, r.rejected, r.swept
                );
            } else {
                let (tx, rx) = watch::channel(false);
                tokio::spawn(async move {
                    let _ = tokio::signal::ctrl_c().await;
                    let _ = tx.send(true);
                });
                d.run_loop(rx).await;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

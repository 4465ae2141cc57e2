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
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("switchboard: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Source::from_env(cli.config.as_deref()).and_then(|s| Settings::load(&s)) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    init_tracing(settings.log_json);
    match run(cli.command, settings).await {
        Ok(code) => code,
        Err(e) => fail(format!("{e:#}")),
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
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

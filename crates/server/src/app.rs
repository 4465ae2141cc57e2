//! One place that wires settings, store, Twilio client, dispatcher and router into an
//! [`Application`]; `main.rs` and the tests build the same thing (tests on port 0).

use crate::config::Settings;
use crate::dispatcher::Dispatcher;
use crate::metrics::Metrics;
use crate::routes;
use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use switchboard_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Wall clock with an adjustable offset, so tests can move time forward (retries, sweeps).
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }
    pub fn advance(&self, d: chrono::Duration) {
        self.offset_ms
            .fetch_add(d.num_milliseconds(), Ordering::Relaxed);
    }
}

/// Shared state of every request handler. Holds no per-call state: that lives in the database.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub dispatcher: Arc<Dispatcher>,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
    /// The recogniser for live classification.
    pub speech: crate::speech::Speech,
}

pub fn router(state: AppState) -> Router {
    let admin = Router::new()
        .route(
            "/pending-calls",
            post(routes::admin::create_pending).get(routes::admin::list_pending),
        )
        .route("/stats", get(routes::admin::stats))
        .route("/pending-calls/{id}", get(routes::admin::get_pending))
        .route(
            "/pending-calls/{id}/sessions",
            get(routes::admin::list_sessions),
        )
        .route(
            "/pending-calls/{id}/cancel",
            post(routes::admin::cancel_pending),
        )
        .route(
            "/pending-calls/{id}/dispatch",
            post(routes::admin::dispatch_pending),
        )
        .route(
            "/classifications/{phone}",
            get(routes::admin::get_classification)
                .put(routes::admin::put_classification)
                .delete(routes::admin::delete_classification),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::admin::require_token,
        ));
    let webhooks = Router::new()
        .route("/twilio/voice/{session_id}", post(routes::twilio::voice))
        .route("/twilio/status/{session_id}", post(routes::twilio::status))
        .route("/twilio/dial/{session_id}", post(routes::twilio::dial))
        .route(
            "/vapi/pending-calls/{id}",
            get(routes::vapi::get_pending_call),
        )
        .route("/vapi/webhook", post(routes::vapi::webhook))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::twilio::observe_latency,
        ));
    Router::new()
        .route("/api/v1/openapi.json", get(routes::admin::openapi))
        .nest("/api/v1", admin)
        .merge(webhooks)
        .route("/twilio/media", get(routes::twilio::media))
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/metrics", get(routes::ops::metrics))
        .fallback(routes::ops::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .with_state(state)
}

/// A built, bound application.
pub struct Application {
    pub state: AppState,
    listener: TcpListener,
}

impl Application {
    /// Connects the store (refusing an unmigrated database), builds the dispatcher and binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let store = Store::connect(&settings.database_url).await?;
        if !store.is_migrated().await? {
            anyhow::bail!("database schema is not up to date: run `switchboard migrate` first");
        }
        Self::build_with_store(settings, store, Clock::default()).await
    }

    pub async fn build_with_store(
        settings: Settings,
        store: Store,
        clock: Clock,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} (SWITCHBOARD_LISTEN): {e}",
                settings.listen
            )
        })?;
        Self::build_with_listener(settings, store, clock, listener)
    }

    /// Builds on an already bound listener (the demo needs its address before the settings).
    pub fn build_with_listener(
        settings: Settings,
        store: Store,
        clock: Clock,
        listener: TcpListener,
    ) -> anyhow::Result<Application> {
        let metrics = Arc::new(Metrics::default());
        let speech = crate::speech::Speech::load(&settings.speech)?;
        let settings = Arc::new(settings);
        let dispatcher = Arc::new(Dispatcher::new(
            settings.clone(),
            store.clone(),
            metrics.clone(),
            clock.clone(),
        )?);
        Ok(Application {
            state: AppState {
                settings,
                store,
                dispatcher,
                metrics,
                clock,
                speech,
            },
            listener,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` turns true; runs the dispatcher loop alongside when enabled.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let state = self.state;
        let loop_handle = if state.settings.dispatcher_enabled {
            let d = state.dispatcher.clone();
            let rx = shutdown.clone();
            Some(tokio::spawn(async move { d.run_loop(rx).await }))
        } else {
            None
        };
        let app = router(state.clone());
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                while !*shutdown.borrow() {
                    if shutdown.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await?;
        if let Some(h) = loop_handle {
            let _ = h.await;
        }
        Ok(())
    }
}

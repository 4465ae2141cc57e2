//! Health, readiness and metrics.

use crate::app::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Liveness: the process answers.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Readiness: the database answers.
pub async fn readyz(State(st): State<AppState>) -> Response {
    match st.store.ping().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::unavailable("database_unavailable", "the database is not reachable")
                .into_response()
        }
    }
}

/// Prometheus exposition: this instance's counters plus shared row counts.
pub async fn metrics(State(st): State<AppState>) -> Response {
    let counts = match st.store.status_counts().await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: status counts unavailable");
            None
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(counts.as_ref()),
    )
        .into_response()
}

pub async fn not_found() -> Response {
    ApiError::not_found("no such route").into_response()
}

//! The admin API (`/api/v1`, bearer `SWITCHBOARD_API_TOKEN`): pending calls, their attempts,
//! on-demand dispatch, and operator-maintained classifications.

use crate::app::AppState;
use crate::error::{ApiError, FieldError};
use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;
use switchboard_core::{ClassificationType, E164, IvrActions, PendingCallId, PendingStatus};
use switchboard_store::{NewClassification, NewPendingCall, PendingFilter};

/// Rejects requests without the configured bearer token (constant-time compare).
pub async fn require_token(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = st.settings.api_token.as_ref() else {
        return ApiError::unavailable(
            "admin_api_disabled",
            "set SWITCHBOARD_API_TOKEN to enable the admin API",
        )
        .into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if given.as_bytes().ct_eq(token.expose().as_bytes()).into() {
        next.run(req).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

pub fn parse_pending_id(raw: &str) -> Result<PendingCallId, ApiError> {
    PendingCallId::parse(raw)
        .map_err(|_| ApiError::bad_request("invalid_id", "pending call id must be a UUID"))
}

const KNOWN_FIELDS: &[&str] = &[
    "exam_id",
    "employee_name",
    "employee_dob",
    "client_name",
    "clinic_name",
    "phone",
    "appointment_time",
    "clinic_timezone",
    "procedures",
    "instructions",
    "assistant_context",
    "max_attempts",
];

/// Validates a create body, collecting every field error rather than stopping at the first.
pub fn validate_new_pending(
    body: &Value,
    default_tz: Tz,
    default_max: i32,
) -> Result<NewPendingCall, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::validation(vec![FieldError {
            field: "body".into(),
            message: "must be a JSON object".into(),
        }]));
    };
    let mut errs = Vec::new();
    let mut err = |field: &str, message: &str| {
        errs.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    for k in obj.keys() {
        if !KNOWN_FIELDS.contains(&k.as_str()) {
            err(k, "unknown field");
        }
    }
    let text = |obj: &Map<String, Value>,
                f: &str,
                required: bool,
                err: &mut dyn FnMut(&str, &str)|
     -> Option<String> {
        match obj.get(f) {
            None | Some(Value::Null) => {
                if required {
                    err(f, "is required");
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() && required => {
                err(f, "must not be empty");
                None
            }
            Some(Value::String(s)) if s.len() > 10_000 => {
                err(f, "is too long");
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Some(_) => {
                err(f, "must be a string");
                None
            }
        }
    };
    let exam_id = text(obj, "exam_id", true, &mut err);
    let employee_name = text(obj, "employee_name", true, &mut err);
    let client_name = text(obj, "client_name", false, &mut err);
    let clinic_name = text(obj, "clinic_name", false, &mut err);
    let procedures = text(obj, "procedures", false, &mut err);
    let instructions = text(obj, "instructions", false, &mut err);
    let phone = text(obj, "phone", true, &mut err);
    let phone_e164 = phone.as_deref().and_then(|p| match E164::parse(p) {
        Ok(e) => Some(e),
        Err(e) => {
            err("phone", &format!("not a valid phone number: {e}"));
            None
        }
    });
    let employee_dob = text(obj, "employee_dob", false, &mut err).and_then(|d| {
        match NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                err("employee_dob", "must be a date in YYYY-MM-DD form");
                None
            }
        }
    });
    let appointment_time = text(obj, "appointment_time", true, &mut err).and_then(|t| {
        match DateTime::parse_from_rfc3339(&t) {
            Ok(dt) => Some(dt.with_timezone(&Utc)),
            Err(_) => {
                err(
                    "appointment_time",
                    "must be an RFC 3339 timestamp with an offset, e.g. 2026-11-24T15:30:00-05:00",
                );
                None
            }
        }
    });
    let clinic_timezone = match text(obj, "clinic_timezone", false, &mut err) {
        None => Some(default_tz.name().to_string()),
        Some(tz) => match tz.parse::<Tz>() {
            Ok(t) => Some(t.name().to_string()),
            Err(_) => {
                err(
                    "clinic_timezone",
                    "must be an IANA time zone such as America/Chicago",
                );
                None
            }
        },
    };
    let assistant_context = match obj.get("assistant_context") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            err("assistant_context", "must be a JSON object");
            None
        }
    };
    let max_attempts = match obj.get("max_attempts") {
        None | Some(Value::Null) => Some(default_max),
        Some(v) => match v.as_i64() {
            Some(n @ 1..=20) => Some(n as i32),
            _ => {
                err("max_attempts", "must be an integer from 1 to 20");
                None
            }
        },
    };
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    match (
        exam_id,
        employee_name,
        phone,
        phone_e164,
        appointment_time,
        clinic_timezone,
        max_attempts,
    ) {
        (
            Some(exam_id),
            Some(employee_name),
            Some(phone),
            Some(phone_e164),
            Some(appointment_time),
            Some(clinic_timezone),
            Some(max_attempts),
        ) => Ok(NewPendingCall {
            exam_id,
            employee_name,
            employee_dob,
            client_name,
            clinic_name,
            phone,
            phone_e164,
            appointment_time,
            clinic_timezone,
            procedures,
            instructions,
            assistant_context,
            max_attempts,
        }),
        _ => Err(ApiError::internal()),
    }
}

/// `POST /api/v1/pending-calls`
pub async fn create_pending(
    State(st): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!(
                "request body is not valid JSON: line {} column {}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let new = validate_new_pending(
        &value,
        st.settings.default_timezone,
        st.settings.retry.max_attempts,
    )?;
    let stored = st.store.insert_pending_call(&new, st.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

/// `GET /api/v1/pending-calls/{id}`
pub async fn get_pending(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_pending_id(&id)?;
    match st.store.get_pending_call(id).await? {
        Some(p) => Ok(Json(p).into_response()),
        None => Err(ApiError::not_found("no pending call with this id")),
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    date: Option<String>,
    tz: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// `GET /api/v1/pending-calls?status=&date=&tz=&limit=&offset=`: `date` is a calendar day in `tz`
/// (default `SWITCHBOARD_DEFAULT_TIMEZONE`).
pub async fn list_pending(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(s.parse::<PendingStatus>().map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!(
                    "status must be one of {}",
                    PendingStatus::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?),
    };
    let tz: Tz = match q.tz.as_deref() {
        None | Some("") => st.settings.default_timezone,
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::bad_request("invalid_query", "tz must be an IANA time zone"))?,
    };
    let (from, until) = match q.date.as_deref() {
        None | Some("") => (None, None),
        Some(d) => {
            let day = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request("invalid_query", "date must be YYYY-MM-DD"))?;
            let (a, b) = crate::dispatcher::day_bounds(tz, day);
            (Some(a), Some(b))
        }
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be from 1 to 500",
        ));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "offset must not be negative",
        ));
    }
    let items = st
        .store
        .list_pending_calls(&PendingFilter {
            status,
            from,
            until,
            limit,
            offset,
        })
        .await?;
    let next_offset = (items.len() as i64 == limit).then_some(offset + limit);
    Ok(Json(
        json!({ "items": items, "limit": limit, "offset": offset, "next_offset": next_offset }),
    )
    .into_response())
}

/// `GET /api/v1/pending-calls/{id}/sessions`: all attempts, newest first.
pub async fn list_sessions(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_pending_id(&id)?;
    if st.store.get_pending_call(id).await?.is_none() {
        return Err(ApiError::not_found("no pending call with this id"));
    }
    let sessions = st.store.list_sessions(id).await?;
    Ok(Json(json!({ "items": sessions })).into_response())
}

/// `POST /api/v1/pending-calls/{id}/cancel`
pub async fn cancel_pending(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_pending_id(&id)?;
    match st.store.cancel_pending_call(id, st.clock.now()).await? {
        None => Err(ApiError::not_found("no pending call with this id")),
        Some(Err(e)) => Err(ApiError::conflict("invalid_state", e.to_string())),
        Some(Ok(p)) => Ok(Json(p).into_response()),
    }
}

/// `POST /api/v1/pending-calls/{id}/dispatch`: the seed's Edge Function. 202 with the new
/// session id; the dial proceeds in the background through the same code as the scheduler.
pub async fn dispatch_pending(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_pending_id(&id)?;
    let session_id = st.dispatcher.dispatch_one(id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "session_id": session_id })),
    )
        .into_response())
}

fn parse_phone_path(raw: &str) -> Result<E164, ApiError> {
    E164::parse(raw).map_err(|e| {
        ApiError::bad_request("invalid_phone", format!("not a valid phone number: {e}"))
    })
}

/// `GET /api/v1/classifications/{phone}`: the active, unexpired classification.
pub async fn get_classification(
    State(st): State<AppState>,
    Path(phone): Path<String>,
) -> Result<Response, ApiError> {
    let phone = parse_phone_path(&phone)?;
    match st
        .store
        .active_classification(&phone, st.clock.now())
        .await?
    {
        Some(c) => Ok(Json(c).into_response()),
        None => Err(ApiError::not_found(
            "no active classification for this number",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutClassification {
    classification_type: String,
    #[serde(default)]
    ivr_actions: Value,
    confidence: Option<f64>,
    expires_in_days: Option<i64>,
}

/// `PUT /api/v1/classifications/{phone}`: an operator records or corrects a phone system.
pub async fn put_classification(
    State(st): State<AppState>,
    Path(phone): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let phone = parse_phone_path(&phone)?;
    let req: PutClassification = serde_json::from_slice(&body).map_err(|e| {
        ApiError::validation(vec![FieldError {
            field: "body".into(),
            message: e.to_string(),
        }])
    })?;
    let mut errs = Vec::new();
    let kind = match req.classification_type.parse::<ClassificationType>() {
        Ok(k) => Some(k),
        Err(_) => {
            errs.push(FieldError {
                field: "classification_type".into(),
                message: "must be human, ivr_only or ivr_then_human".into(),
            });
            None
        }
    };
    let actions = match if req.ivr_actions.is_null() {
        Ok(IvrActions::default())
    } else {
        serde_json::from_value::<IvrActions>(req.ivr_actions)
    } {
        Ok(a) => Some(a),
        Err(e) => {
            errs.push(FieldError {
                field: "ivr_actions".into(),
                message: e.to_string(),
            });
            None
        }
    };
    if let (Some(k), Some(a)) = (kind, &actions)
        && let Err(e) = a.check_for(k)
    {
        errs.push(FieldError {
            field: "ivr_actions".into(),
            message: e.to_string(),
        });
    }
    let confidence = req.confidence.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&confidence) {
        errs.push(FieldError {
            field: "confidence".into(),
            message: "must be between 0 and 1".into(),
        });
    }
    let days = req
        .expires_in_days
        .unwrap_or(st.settings.classification_ttl_days);
    if !(1..=365).contains(&days) {
        errs.push(FieldError {
            field: "expires_in_days".into(),
            message: "must be from 1 to 365".into(),
        });
    }
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let (Some(kind), Some(actions)) = (kind, actions) else {
        return Err(ApiError::internal());
    };
    let now = st.clock.now();
    let stored = st
        .store
        .put_classification(
            &NewClassification {
                phone_number: phone,
                classification_type: kind,
                ivr_actions: actions,
                confidence,
                source: "operator",
                source_session_id: None,
                expires_at: now + chrono::Duration::days(days),
            },
            now,
        )
        .await?;
    Ok(Json(stored).into_response())
}

/// `DELETE /api/v1/classifications/{phone}`: invalidates the cached classification.
pub async fn delete_classification(
    State(st): State<AppState>,
    Path(phone): Path<String>,
) -> Result<Response, ApiError> {
    let phone = parse_phone_path(&phone)?;
    if st
        .store
        .deactivate_classification(&phone, "operator", st.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(
            "no active classification for this number",
        ))
    }
}

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    date: Option<String>,
    tz: Option<String>,
}

/// `GET /api/v1/stats?date=&tz=`: the seed's success metrics for one appointment day (default
/// today in `tz`): pending calls by status, the success rate and the attempts spent.
pub async fn stats(
    State(st): State<AppState>,
    Query(q): Query<StatsQuery>,
) -> Result<Response, ApiError> {
    let tz: Tz = match q.tz.as_deref() {
        None | Some("") => st.settings.default_timezone,
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::bad_request("invalid_query", "tz must be an IANA time zone"))?,
    };
    let day = match q.date.as_deref() {
        None | Some("") => st.clock.now().with_timezone(&tz).date_naive(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request("invalid_query", "date must be YYYY-MM-DD"))?,
    };
    let (from, until) = crate::dispatcher::day_bounds(tz, day);
    let (by_status, attempts) = st.store.stats(from, until).await?;
    let total: i64 = by_status.iter().map(|(_, n)| n).sum();
    let count = |s: &str| {
        by_status
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let completed = count("completed");
    let finished = completed + count("failed") + count("needs_manual");
    Ok(Json(json!({
        "date": day.to_string(),
        "tz": tz.name(),
        "total_calls": total,
        "successful": completed,
        "by_status": by_status.iter().map(|(k, n)| (k.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "success_rate": if total > 0 { Some(completed as f64 / total as f64) } else { None },
        "success_rate_of_finished": if finished > 0 { Some(completed as f64 / finished as f64) } else { None },
        "attempts": attempts,
    }))
    .into_response())
}

/// `GET /api/v1/openapi.json`
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
        .into_response()
}

//! `pending_calls`: create, read, list, cancel.

use crate::codec::{id, opt_ts, ts};
use crate::records::{PendingCall, Session, pending_columns, session_columns};
use crate::{Result, Store, begin_write, with_db};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::types::Json;
use switchboard_core::status::TransitionError;
use switchboard_core::{E164, PendingCallId, PendingStatus};

/// A validated pending call to insert (the admin API parses into this).
#[derive(Debug, Clone)]
pub struct NewPendingCall {
    pub exam_id: String,
    pub employee_name: String,
    pub employee_dob: Option<NaiveDate>,
    pub client_name: Option<String>,
    pub clinic_name: Option<String>,
    pub phone: String,
    pub phone_e164: E164,
    pub appointment_time: DateTime<Utc>,
    pub clinic_timezone: String,
    pub procedures: Option<String>,
    pub instructions: Option<String>,
    pub assistant_context: Option<Value>,
    pub max_attempts: i32,
}

/// Listing filter: by status and/or appointment day (UTC bounds chosen by the caller).
#[derive(Debug, Clone, Default)]
pub struct PendingFilter {
    pub status: Option<PendingStatus>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

impl Store {
    pub async fn insert_pending_call(
        &self,
        n: &NewPendingCall,
        now: DateTime<Utc>,
    ) -> Result<PendingCall> {
        let new_id = PendingCallId::new_v4();
        with_db!(self, |pool, d| {
            let row = sqlx::query(concat!(
                "INSERT INTO pending_calls (id, exam_id, employee_name, employee_dob, client_name, clinic_name, phone, \
                 phone_e164, appointment_time, clinic_timezone, procedures, instructions, assistant_context, \
                 max_attempts, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING ",
                pending_columns!()
            ))
            .bind(id(new_id.0))
            .bind(&n.exam_id)
            .bind(&n.employee_name)
            .bind(n.employee_dob)
            .bind(&n.client_name)
            .bind(&n.clinic_name)
            .bind(&n.phone)
            .bind(n.phone_e164.as_str())
            .bind(ts(n.appointment_time))
            .bind(&n.clinic_timezone)
            .bind(&n.procedures)
            .bind(&n.instructions)
            .bind(n.assistant_context.as_ref().map(Json))
            .bind(n.max_attempts)
            .bind(ts(now))
            .fetch_one(pool)
            .await?;
            PendingCall::from_row(&row)
        })
    }

    pub async fn get_pending_call(&self, pid: PendingCallId) -> Result<Option<PendingCall>> {
        with_db!(self, |pool, d| {
            let row = sqlx::query(concat!(
                "SELECT ",
                pending_columns!(),
                " FROM pending_calls WHERE id = $1"
            ))
            .bind(id(pid.0))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(PendingCall::from_row).transpose()
        })
    }

    /// Lists pending calls by appointment time, oldest first.
    pub async fn list_pending_calls(&self, f: &PendingFilter) -> Result<Vec<PendingCall>> {
        with_db!(self, |pool, d| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                pending_columns!(),
                " FROM pending_calls WHERE ($1 IS NULL OR call_status = $1) \
                 AND ($2 IS NULL OR appointment_time >= $2) AND ($3 IS NULL OR appointment_time < $3) \
                 ORDER BY appointment_time, id LIMIT $4 OFFSET $5"
            ))
            .bind(f.status.map(|s| s.as_str()))
            .bind(opt_ts(f.from))
            .bind(opt_ts(f.until))
            .bind(f.limit)
            .bind(f.offset)
            .fetch_all(pool)
            .await?;
            rows.iter().map(PendingCall::from_row).collect()
        })
    }

    /// Success metrics for appointments in `[from, until)`: pending calls by status, and attempts.
    pub async fn stats(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(Vec<(String, i64)>, i64)> {
        with_db!(self, |pool, d| {
            let by_status: Vec<(String, i64)> = sqlx::query_as(
                "SELECT call_status, COUNT(*) FROM pending_calls \
                 WHERE appointment_time >= $1 AND appointment_time < $2 GROUP BY call_status ORDER BY 1",
            )
            .bind(ts(from))
            .bind(ts(until))
            .fetch_all(pool)
            .await?;
            let attempts: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM call_sessions s JOIN pending_calls p ON p.id = s.pending_call_id \
                 WHERE p.appointment_time >= $1 AND p.appointment_time < $2 AND s.counts_as_attempt = TRUE",
            )
            .bind(ts(from))
            .bind(ts(until))
            .fetch_one(pool)
            .await?;
            Ok((by_status, attempts))
        })
    }

    /// "View all attempts": sessions of a pending call, newest first.
    pub async fn list_sessions(&self, pid: PendingCallId) -> Result<Vec<Session>> {
        with_db!(self, |pool, d| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                session_columns!(),
                " FROM call_sessions WHERE pending_call_id = $1 ORDER BY created_at DESC, attempt_number DESC"
            ))
            .bind(id(pid.0))
            .fetch_all(pool)
            .await?;
            rows.iter().map(Session::from_row).collect()
        })
    }

    /// Cancels a pending call that is not in progress or finished. `Ok(None)`: unknown id.
    pub async fn cancel_pending_call(
        &self,
        pid: PendingCallId,
        now: DateTime<Utc>,
    ) -> Result<Option<std::result::Result<PendingCall, TransitionError>>> {
        with_db!(self, |pool, d| {
            let mut tx = begin_write!(pool, d);
            let row = sqlx::query(d.pick(
                concat!(
                    "SELECT ",
                    pending_columns!(),
                    " FROM pending_calls WHERE id = $1 FOR UPDATE"
                ),
                concat!(
                    "SELECT ",
                    pending_columns!(),
                    " FROM pending_calls WHERE id = $1"
                ),
            ))
            .bind(id(pid.0))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let current = PendingCall::from_row(&row)?;
            if let Err(e) = current.call_status.check_cancel() {
                return Ok(Some(Err(e)));
            }
            let row = sqlx::query(concat!(
                "UPDATE pending_calls SET call_status = 'cancelled', next_attempt_at = NULL, updated_at = $2 \
                 WHERE id = $1 RETURNING ",
                pending_columns!()
            ))
            .bind(id(pid.0))
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?;
            let updated = PendingCall::from_row(&row)?;
            tx.commit().await?;
            Ok(Some(Ok(updated)))
        })
    }
}

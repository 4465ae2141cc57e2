//! The dispatcher's side of the store: intake normalisation of rows other systems inserted,
//! and claiming due pending calls. A claim moves the pending call to `calling` and creates its
//! session in one transaction, committed before anyone talks to Twilio; the session id is the
//! idempotency key of the dial.

use crate::codec::{RowGet, id, ts};
use crate::records::{PendingCall, pending_columns};
use crate::{Db, Result, Store, begin_write, corrupt, with_db};
use chrono::{DateTime, Utc};
use switchboard_core::status::{ClaimOrigin, TransitionError};
use switchboard_core::{ClassificationType, PendingCallId, SessionId};
use uuid::Uuid;

/// A row inserted without the normalised columns the dispatcher needs.
#[derive(Debug, Clone)]
pub struct IntakeRow {
    pub id: PendingCallId,
    pub phone: String,
    pub clinic_timezone: Option<String>,
}

/// A claimed attempt, ready to dial.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub session_id: SessionId,
    pub pending_call_id: PendingCallId,
    pub attempt_number: i32,
    /// E.164 number to dial.
    pub to: String,
    /// The classification pre-check result stored on the session (seed §3).
    pub classification: Option<(Uuid, ClassificationType)>,
    /// Since when the call was due (its retry time, or its creation): the dispatcher's lag.
    pub due_since: DateTime<Utc>,
}

/// Why an on-demand claim was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("pending call not found")]
    NotFound,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("pending call has no valid phone number: {0}")]
    InvalidPhone(String),
}

macro_rules! claim_row {
    ($tx:expr, $pid:expr, $to:expr, $cls:expr, $due:expr, $now:expr) => {{
        let cls_id: Option<Uuid> = $cls.map(|(cid, _)| cid);
        sqlx::query(
            "UPDATE pending_calls SET call_status = 'calling', attempt_count = attempt_count + 1, \
             classification_id = $2, last_attempt_at = $3, next_attempt_at = NULL, updated_at = $3 WHERE id = $1",
        )
        .bind(id($pid.0))
        .bind(cls_id.map(id))
        .bind(ts($now))
        .execute(&mut *$tx)
        .await?;
        let session_id = SessionId::new_v4();
        let attempt_number: i32 = sqlx::query_scalar(
            "INSERT INTO call_sessions (id, pending_call_id, classification_id, attempt_number, call_status, \
             created_at, updated_at) VALUES ($1, $2, $3, \
             (SELECT COALESCE(MAX(attempt_number), 0) + 1 FROM call_sessions WHERE pending_call_id = $2), \
             'initiating', $4, $4) RETURNING attempt_number",
        )
        .bind(id(session_id.0))
        .bind(id($pid.0))
        .bind(cls_id.map(id))
        .bind(ts($now))
        .fetch_one(&mut *$tx)
        .await?;
        Claimed { session_id, pending_call_id: $pid, attempt_number, to: $to, classification: $cls, due_since: $due }
    }};
}

fn classification_from(r: &impl RowGet) -> Result<Option<(Uuid, ClassificationType)>> {
    match r.opt_uuid("cid")? {
        None => Ok(None),
        Some(cid) => {
            let t: ClassificationType = r.text("ctype")?.parse().map_err(corrupt)?;
            Ok(Some((cid, t)))
        }
    }
}

impl Store {
    /// Rows still waiting for a normalised phone number or time zone (inserted directly by SQL).
    pub async fn rows_needing_intake(&self, limit: i64) -> Result<Vec<IntakeRow>> {
        with_db!(self, |pool, d| {
            let rows = sqlx::query(
                "SELECT id, phone, clinic_timezone FROM pending_calls \
                 WHERE (phone_e164 IS NULL OR clinic_timezone IS NULL) \
                 AND call_status IN ('pending', 'retry_scheduled') ORDER BY created_at LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(IntakeRow {
                        id: PendingCallId(r.uuid("id")?),
                        phone: r.text("phone")?,
                        clinic_timezone: r.opt_text("clinic_timezone")?,
                    })
                })
                .collect()
        })
    }

    /// Stores the normalised phone and time zone, or fails the row with a reason code when its
    /// data cannot be dialled (it is never silently skipped).
    pub async fn complete_intake(
        &self,
        pid: PendingCallId,
        normalised: std::result::Result<(String, String), (&str, &str)>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_db!(self, |pool, d| {
            match normalised {
                Ok((e164, tz)) => {
                    sqlx::query(
                        "UPDATE pending_calls SET phone_e164 = $2, clinic_timezone = $3, updated_at = $4 \
                         WHERE id = $1",
                    )
                    .bind(id(pid.0))
                    .bind(e164)
                    .bind(tz)
                    .bind(ts(now))
                    .execute(pool)
                    .await?;
                }
                Err((code, message)) => {
                    sqlx::query(
                        "UPDATE pending_calls SET call_status = 'failed', last_error_code = $2, \
                         last_error_message = $3, updated_at = $4 \
                         WHERE id = $1 AND call_status IN ('pending', 'retry_scheduled')",
                    )
                    .bind(id(pid.0))
                    .bind(code)
                    .bind(message)
                    .bind(ts(now))
                    .execute(pool)
                    .await?;
                }
            }
        });
        Ok(())
    }

    /// Time zones that have calls waiting; the dispatcher computes "today" in each.
    pub async fn due_timezones(&self) -> Result<Vec<String>> {
        with_db!(self, |pool, d| {
            Ok(sqlx::query_scalar(
                "SELECT DISTINCT clinic_timezone FROM pending_calls \
                 WHERE call_status IN ('pending', 'retry_scheduled') AND clinic_timezone IS NOT NULL",
            )
            .fetch_all(pool)
            .await?)
        })
    }

    /// Fails the waiting calls of a time zone that is not an IANA zone (set by another system): they
    /// could never be scheduled, and must not wait silently.
    pub async fn fail_timezone(&self, timezone: &str, now: DateTime<Utc>) -> Result<u64> {
        with_db!(self, |pool, d| {
            let r = sqlx::query(
                "UPDATE pending_calls SET call_status = 'failed', last_error_code = 'invalid_timezone', \
                 last_error_message = 'clinic_timezone is not an IANA time zone', updated_at = $2 \
                 WHERE clinic_timezone = $1 AND call_status IN ('pending', 'retry_scheduled')",
            )
            .bind(timezone)
            .bind(ts(now))
            .execute(pool)
            .await?;
            Ok(r.rows_affected())
        })
    }

    /// Sessions currently occupying a line, across all instances (the in-flight limit).
    pub async fn count_in_flight(&self) -> Result<i64> {
        with_db!(self, |pool, d| {
            Ok(sqlx::query_scalar(
                "SELECT COUNT(*) FROM call_sessions \
                 WHERE call_status IN ('initiating', 'queued', 'initiated', 'ringing', 'in_progress')",
            )
            .fetch_one(pool)
            .await?)
        })
    }

    /// Claims up to `limit` due calls of one time zone whose appointment lies in `[from, until)`.
    /// On PostgreSQL rows locked by another dispatcher are skipped, so N instances never claim
    /// the same attempt; on SQLite the write transaction serialises claimers.
    pub async fn claim_due(
        &self,
        timezone: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Claimed>> {
        const CANDIDATES: &str = "SELECT p.id, p.phone_e164, COALESCE(p.next_attempt_at, p.created_at) AS due_since, \
             c.id AS cid, c.classification_type AS ctype FROM pending_calls p \
             LEFT JOIN call_classifications c ON c.phone_number = p.phone_e164 AND c.is_active = TRUE \
             AND c.classification_expires_at > $4 \
             WHERE p.call_status IN ('pending', 'retry_scheduled') AND p.clinic_timezone = $1 \
             AND p.appointment_time >= $2 AND p.appointment_time < $3 \
             AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= $4) \
             AND p.attempt_count < p.max_attempts AND p.phone_e164 IS NOT NULL \
             ORDER BY p.appointment_time, p.id LIMIT $5";
        match &self.db {
            // PostgreSQL: skip rows another dispatcher holds, then claim the whole batch with two
            // set-based statements instead of two per row.
            Db::Pg(pool) => {
                let mut tx = pool.begin().await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{CANDIDATES} FOR UPDATE OF p SKIP LOCKED"
                )))
                .bind(timezone)
                .bind(ts(from))
                .bind(ts(until))
                .bind(ts(now))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                let mut pending = Vec::with_capacity(rows.len());
                for r in &rows {
                    let cls = classification_from(r)?;
                    pending.push((
                        PendingCallId(r.uuid("id")?),
                        r.text("phone_e164")?,
                        cls,
                        r.time("due_since")?,
                    ));
                }
                if pending.is_empty() {
                    tx.commit().await?;
                    return Ok(vec![]);
                }
                let pids: Vec<Uuid> = pending.iter().map(|p| p.0.0).collect();
                let cids: Vec<Option<Uuid>> = pending.iter().map(|p| p.2.map(|(c, _)| c)).collect();
                let sids: Vec<Uuid> = pending.iter().map(|_| SessionId::new_v4().0).collect();
                sqlx::query(
                    "UPDATE pending_calls p SET call_status = 'calling', attempt_count = p.attempt_count + 1, \
                     classification_id = u.cid, last_attempt_at = $3, next_attempt_at = NULL, updated_at = $3 \
                     FROM UNNEST($1::uuid[], $2::uuid[]) AS u(pid, cid) WHERE p.id = u.pid",
                )
                .bind(&pids)
                .bind(&cids)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let numbers: Vec<(Uuid, i32)> = sqlx::query_as(
                    "INSERT INTO call_sessions (id, pending_call_id, classification_id, attempt_number, call_status, \
                     created_at, updated_at) \
                     SELECT u.sid, u.pid, u.cid, COALESCE((SELECT MAX(s.attempt_number) FROM call_sessions s \
                     WHERE s.pending_call_id = u.pid), 0) + 1, 'initiating', $4, $4 \
                     FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[]) AS u(sid, pid, cid) RETURNING id, attempt_number",
                )
                .bind(&sids)
                .bind(&pids)
                .bind(&cids)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let by_sid: std::collections::HashMap<Uuid, i32> = numbers.into_iter().collect();
                Ok(pending
                    .into_iter()
                    .zip(sids)
                    .map(|((pid, to, cls, due), sid)| Claimed {
                        session_id: SessionId(sid),
                        pending_call_id: pid,
                        attempt_number: by_sid.get(&sid).copied().unwrap_or(1),
                        to,
                        classification: cls,
                        due_since: due,
                    })
                    .collect())
            }
            // SQLite: one writer at a time (BEGIN IMMEDIATE), claimed row by row.
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let rows = sqlx::query(CANDIDATES)
                    .bind(timezone)
                    .bind(ts(from))
                    .bind(ts(until))
                    .bind(ts(now))
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut claimed = Vec::with_capacity(rows.len());
                for r in &rows {
                    let pid = PendingCallId(r.uuid("id")?);
                    let to = r.text("phone_e164")?;
                    let cls = classification_from(r)?;
                    let due = r.time("due_since")?;
                    claimed.push(claim_row!(tx, pid, to, cls, due, now));
                }
                tx.commit().await?;
                Ok(claimed)
            }
        }
    }

    /// Claims one pending call on demand (the dispatch endpoint). Same transition rules and the
    /// same session creation as [`Store::claim_due`].
    pub async fn claim_one(
        &self,
        pid: PendingCallId,
        origin: ClaimOrigin,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Claimed, ClaimError>> {
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
            let Some(row) = row else {
                return Ok(Err(ClaimError::NotFound));
            };
            let p = PendingCall::from_row(&row)?;
            if let Err(e) = p
                .call_status
                .check_claim(origin, p.attempt_count, p.max_attempts)
            {
                return Ok(Err(e.into()));
            }
            let to = match &p.phone_e164 {
                Some(e) => e.clone(),
                None => match switchboard_core::E164::parse(&p.phone) {
                    Ok(e) => {
                        sqlx::query("UPDATE pending_calls SET phone_e164 = $2 WHERE id = $1")
                            .bind(id(pid.0))
                            .bind(e.as_str())
                            .execute(&mut *tx)
                            .await?;
                        e.as_str().to_string()
                    }
                    Err(e) => return Ok(Err(ClaimError::InvalidPhone(e.to_string()))),
                },
            };
            let crow = sqlx::query(concat!(
                "SELECT id AS cid, classification_type AS ctype FROM call_classifications ",
                "WHERE phone_number = $1 AND is_active = TRUE AND classification_expires_at > $2"
            ))
            .bind(&to)
            .bind(ts(now))
            .fetch_optional(&mut *tx)
            .await?;
            let cls = match &crow {
                Some(r) => classification_from(r)?,
                None => None,
            };
            let due = p.next_attempt_at.unwrap_or(p.created_at);
            let claimed = claim_row!(tx, pid, to, cls, due, now);
            tx.commit().await?;
            Ok(Ok(claimed))
        })
    }
}

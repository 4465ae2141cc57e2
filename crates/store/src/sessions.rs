//! `call_sessions`: progress from Twilio, the SIP leg, VAPI's report, and finishing an attempt
//! (which moves the pending call by the retry policy).

use crate::codec::{RowGet, id, ts};
use crate::records::{PendingCall, Session, pending_columns, session_columns};
use crate::{Dialect, Result, Store, begin_write, corrupt, with_db};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use switchboard_core::retry::{AttemptOutcome, RetryPolicy};
use switchboard_core::{
    ClassificationType, IvrActions, PendingCallId, PendingStatus, SessionId, SessionStatus,
};

/// One observation of call progress (a status callback or the REST response).
#[derive(Debug, Clone, Default)]
pub struct CallProgress {
    pub status: Option<SessionStatus>,
    pub call_sid: Option<String>,
    pub sequence_number: Option<i32>,
    pub duration_seconds: Option<i32>,
    pub sip_response_code: Option<i32>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub answered_by: Option<String>,
}

/// Whether the SIP leg to the assistant connected (the `<Dial action>` callback).
#[derive(Debug, Clone)]
pub struct DialResult {
    pub dial_call_status: String,
    pub sip_response_code: Option<i32>,
}

/// How an attempt ended, with the reason to store.
#[derive(Debug, Clone)]
pub struct Finish {
    pub outcome: AttemptOutcome,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// VAPI's end-of-call report, reduced to what Switchboard stores.
#[derive(Debug, Clone, Default)]
pub struct VapiReport {
    pub vapi_call_id: Option<String>,
    pub success: bool,
    pub ended_reason: Option<String>,
    pub summary: Option<String>,
    pub structured_data: Option<Value>,
}

/// The result of applying progress.
#[derive(Debug, Clone)]
pub enum ProgressApplied {
    /// The status moved forward (or only metadata changed when `moved` is false).
    Applied { session: Box<Session>, moved: bool },
    /// The callback names a different CallSid than the session already has.
    CallSidMismatch,
}

impl Store {
    pub async fn get_session(&self, sid: SessionId) -> Result<Option<Session>> {
        with_db!(self, |pool, d| {
            let row = sqlx::query(concat!(
                "SELECT ",
                session_columns!(),
                " FROM call_sessions WHERE id = $1"
            ))
            .bind(id(sid.0))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(Session::from_row).transpose()
        })
    }

    /// The latest attempt of a pending call.
    pub async fn latest_session(&self, pid: PendingCallId) -> Result<Option<Session>> {
        with_db!(self, |pool, d| {
            let row = sqlx::query(concat!(
                "SELECT ",
                session_columns!(),
                " FROM call_sessions WHERE pending_call_id = $1 ORDER BY attempt_number DESC LIMIT 1"
            ))
            .bind(id(pid.0))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(Session::from_row).transpose()
        })
    }

    /// Everything the voice webhook needs to choose TwiML, in one round trip: the session, its
    /// pending call's status, and the classification stored on the session at claim time.
    pub async fn routing_context(
        &self,
        sid: SessionId,
    ) -> Result<
        Option<(
            Session,
            PendingStatus,
            Option<(ClassificationType, IvrActions)>,
        )>,
    > {
        with_db!(self, |pool, d| {
            let row = sqlx::query(concat!(
                "SELECT x.*, p.call_status AS p_status, c.classification_type AS c_type, c.ivr_actions AS c_actions \
                 FROM (SELECT ",
                session_columns!(),
                " FROM call_sessions WHERE id = $1) x \
                 JOIN pending_calls p ON p.id = x.pending_call_id \
                 LEFT JOIN call_classifications c ON c.id = x.classification_id"
            ))
            .bind(id(sid.0))
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let session = Session::from_row(&row)?;
            let status: PendingStatus = row.text("p_status")?.parse().map_err(corrupt)?;
            let cls = match row.opt_text("c_type")? {
                None => None,
                Some(t) => {
                    let actions = row.opt_json("c_actions")?.unwrap_or(Value::Array(vec![]));
                    Some((
                        t.parse().map_err(corrupt)?,
                        serde_json::from_value(actions).map_err(corrupt)?,
                    ))
                }
            };
            Ok(Some((session, status, cls)))
        })
    }

    /// Records the CallSid Twilio returned for a session. Status callbacks may have arrived first
    /// (and set both already); this never moves the status backwards.
    pub async fn mark_dialled(
        &self,
        sid: SessionId,
        call_sid: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_db!(self, |pool, d| {
            let mut tx = pool.begin().await?;
            if d == Dialect::Postgres {
                // Every status callback carries the CallSid too, so this write may skip waiting for
                // the WAL flush: a crash can lose it, but never the call.
                sqlx::query("SET LOCAL synchronous_commit TO OFF")
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "UPDATE call_sessions SET call_id = COALESCE(call_id, $2), \
                 call_status = CASE WHEN call_status = 'initiating' THEN 'queued' ELSE call_status END, \
                 queued_at = COALESCE(queued_at, $3), updated_at = $3 WHERE id = $1",
            )
            .bind(id(sid.0))
            .bind(call_sid)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// [`Store::mark_dialled`] for a dispatcher pass, in one statement on PostgreSQL.
    pub async fn mark_dialled_batch(
        &self,
        placed: &[(SessionId, String)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if placed.is_empty() {
            return Ok(());
        }
        match &self.db {
            crate::Db::Pg(pool) => {
                let ids: Vec<uuid::Uuid> = placed.iter().map(|(s, _)| s.0).collect();
                let sids: Vec<&str> = placed.iter().map(|(_, c)| c.as_str()).collect();
                let mut tx = pool.begin().await?;
                sqlx::query("SET LOCAL synchronous_commit TO OFF")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE call_sessions s SET call_id = COALESCE(s.call_id, u.csid), \
                     call_status = CASE WHEN s.call_status = 'initiating' THEN 'queued' ELSE s.call_status END, \
                     queued_at = COALESCE(s.queued_at, $3), updated_at = $3 \
                     FROM UNNEST($1::uuid[], $2::text[]) AS u(sid, csid) WHERE s.id = u.sid",
                )
                .bind(&ids)
                .bind(&sids)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            crate::Db::Sqlite(_) => {
                for (sid, call_sid) in placed {
                    self.mark_dialled(*sid, call_sid, now).await?;
                }
            }
        }
        Ok(())
    }

    /// Records what the Media Streams classifier decided for this attempt.
    pub async fn record_detection(
        &self,
        sid: SessionId,
        classification: &str,
        confidence: f64,
        decided_at_ms: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_db!(self, |pool, d| {
            sqlx::query(
                "UPDATE call_sessions SET detected_classification = $2, detection_confidence = $3, \
                 detection_decided_at_ms = $4, ivr_detected = $5, updated_at = $6 WHERE id = $1",
            )
            .bind(id(sid.0))
            .bind(classification)
            .bind(confidence)
            .bind(decided_at_ms)
            .bind(classification.starts_with("ivr"))
            .bind(ts(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records what Switchboard did on a navigate-mode call: the keys it pressed (`{after_ms,
    /// digits}` from answer) and, when it handed the call to the assistant, the media time of the
    /// hand-off (the assistant's own key presses are timed from there).
    pub async fn record_navigation(
        &self,
        sid: SessionId,
        steps: &switchboard_core::IvrActions,
        handoff_at_ms: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let steps = serde_json::to_value(steps).map_err(corrupt)?;
        let handoff = handoff_at_ms.map(|ms| i32::try_from(ms).unwrap_or(i32::MAX));
        with_db!(self, |pool, _d| {
            sqlx::query(
                "UPDATE call_sessions SET ivr_actions_taken = $2, handoff_at_ms = $3, updated_at = $4 \
                 WHERE id = $1",
            )
            .bind(id(sid.0))
            .bind(Json(steps))
            .bind(handoff)
            .bind(ts(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records the routing chosen by the voice webhook (and Twilio's AMD verdict, if any).
    pub async fn set_routing(
        &self,
        sid: SessionId,
        decision: &str,
        answered_by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_db!(self, |pool, d| {
            let mut tx = pool.begin().await?;
            if d == Dialect::Postgres {
                // On the TwiML hot path: commit without waiting for the WAL flush. Only a database
                // crash in the next fraction of a second can lose it, and then the attempt is
                // retried rather than flagged; the call itself is unaffected.
                sqlx::query("SET LOCAL synchronous_commit TO OFF")
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "UPDATE call_sessions SET routing_decision = $2, answered_by = COALESCE($3, answered_by), \
                 answered_at = COALESCE(answered_at, $4), updated_at = $4 WHERE id = $1",
            )
            .bind(id(sid.0))
            .bind(decision)
            .bind(answered_by)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Applies a status callback idempotently: duplicates and stale (reordered) statuses leave
    /// the status alone; metadata (CallSid, duration, SIP code) is kept from whichever callback
    /// carried it. Returns `None` for an unknown session.
    pub async fn apply_call_progress(
        &self,
        sid: SessionId,
        p: &CallProgress,
        now: DateTime<Utc>,
    ) -> Result<Option<ProgressApplied>> {
        with_db!(self, |pool, d| {
            let mut tx = begin_write!(pool, d);
            let row = sqlx::query(d.pick(
                concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM call_sessions WHERE id = $1 FOR UPDATE"
                ),
                concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM call_sessions WHERE id = $1"
                ),
            ))
            .bind(id(sid.0))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let current = Session::from_row(&row)?;
            if let (Some(have), Some(got)) = (&current.call_id, &p.call_sid)
                && have != got
            {
                return Ok(Some(ProgressApplied::CallSidMismatch));
            }
            let next = p.status.and_then(|s| current.call_status.advance(s));
            let new_status = next.unwrap_or(current.call_status);
            let answered = next == Some(SessionStatus::InProgress);
            let ended = next.is_some_and(|s| s.is_terminal());
            let row = sqlx::query(concat!(
                "UPDATE call_sessions SET call_status = $2, call_id = COALESCE(call_id, $3), \
                 last_sequence_number = CASE WHEN last_sequence_number IS NULL OR $4 > last_sequence_number \
                   THEN $4 ELSE last_sequence_number END, \
                 duration_seconds = COALESCE($5, duration_seconds), \
                 sip_response_code = COALESCE($6, sip_response_code), \
                 error_code = COALESCE($7, error_code), error_message = COALESCE($8, error_message), \
                 answered_by = COALESCE($9, answered_by), \
                 answered_at = CASE WHEN $10 THEN COALESCE(answered_at, $12) ELSE answered_at END, \
                 ended_at = CASE WHEN $11 THEN COALESCE(ended_at, $12) ELSE ended_at END, \
                 updated_at = $12 WHERE id = $1 RETURNING ",
                session_columns!()
            ))
            .bind(id(sid.0))
            .bind(new_status.as_str())
            .bind(&p.call_sid)
            .bind(p.sequence_number)
            .bind(p.duration_seconds)
            .bind(p.sip_response_code)
            .bind(&p.error_code)
            .bind(&p.error_message)
            .bind(&p.answered_by)
            .bind(answered)
            .bind(ended)
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?;
            let session = Session::from_row(&row)?;
            tx.commit().await?;
            Ok(Some(ProgressApplied::Applied {
                session: Box::new(session),
                moved: next.is_some(),
            }))
        })
    }

    /// Records the `<Dial>` result: whether the SIP leg to the assistant connected.
    pub async fn record_dial_result(
        &self,
        sid: SessionId,
        r: &DialResult,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>> {
        let bridged = matches!(r.dial_call_status.as_str(), "completed" | "answered");
        with_db!(self, |pool, d| {
            let row = sqlx::query(concat!(
                "UPDATE call_sessions SET sip_bridged = $2, dial_call_status = $3, dial_sip_response_code = $4, \
                 updated_at = $5 WHERE id = $1 RETURNING ",
                session_columns!()
            ))
            .bind(id(sid.0))
            .bind(bridged)
            .bind(&r.dial_call_status)
            .bind(r.sip_response_code)
            .bind(ts(now))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(Session::from_row).transpose()
        })
    }

    /// Stores VAPI's report on the pending call's latest session and on the pending call (result
    /// storage). Duplicated reports keep the first. Returns the session it was stored on.
    pub async fn record_vapi_report(
        &self,
        pid: PendingCallId,
        r: &VapiReport,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>> {
        with_db!(self, |pool, d| {
            let mut tx = begin_write!(pool, d);
            let row = sqlx::query(d.pick(
                concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM call_sessions WHERE pending_call_id = $1 ORDER BY attempt_number DESC LIMIT 1 FOR UPDATE"
                ),
                concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM call_sessions WHERE pending_call_id = $1 ORDER BY attempt_number DESC LIMIT 1"
                ),
            ))
            .bind(id(pid.0))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let session = Session::from_row(&row)?;
            if session.outcome_success.is_some() {
                return Ok(Some(session));
            }
            let row = sqlx::query(concat!(
                "UPDATE call_sessions SET outcome_success = $2, ended_reason = $3, outcome_summary = $4, \
                 outcome_structured_data = $5, vapi_call_id = COALESCE($6, vapi_call_id), updated_at = $7 \
                 WHERE id = $1 RETURNING ",
                session_columns!()
            ))
            .bind(id(session.id.0))
            .bind(r.success)
            .bind(&r.ended_reason)
            .bind(&r.summary)
            .bind(r.structured_data.as_ref().map(Json))
            .bind(&r.vapi_call_id)
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?;
            let session = Session::from_row(&row)?;
            sqlx::query(
                "UPDATE pending_calls SET outcome_success = $2, outcome_ended_reason = $3, outcome_summary = $4, \
                 outcome_structured_data = $5, outcome_at = $6, updated_at = $6 WHERE id = $1",
            )
            .bind(id(pid.0))
            .bind(r.success)
            .bind(&r.ended_reason)
            .bind(&r.summary)
            .bind(r.structured_data.as_ref().map(Json))
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(session))
        })
    }

    /// Ends an attempt exactly once and moves its pending call by the retry policy. Returns the
    /// updated pending call, or `None` when this attempt was already finished, is not the latest,
    /// or its pending call is no longer `calling` (e.g. cancelled) — then nothing changes.
    pub async fn finish_attempt(
        &self,
        sid: SessionId,
        f: &Finish,
        policy: &RetryPolicy,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingCall>> {
        let counts = f.outcome != AttemptOutcome::NotPlaced;
        with_db!(self, |pool, d| {
            let mut tx = begin_write!(pool, d);
            let row = sqlx::query(
                "UPDATE call_sessions SET outcome_at = $2, counts_as_attempt = $3, \
                 error_code = COALESCE(error_code, $4), error_message = COALESCE(error_message, $5), \
                 updated_at = $2 WHERE id = $1 AND outcome_at IS NULL RETURNING pending_call_id, attempt_number",
            )
            .bind(id(sid.0))
            .bind(ts(now))
            .bind(counts)
            .bind(&f.error_code)
            .bind(&f.error_message)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let pid = PendingCallId(row.uuid("pending_call_id")?);
            let attempt_number = row.int("attempt_number")?;
            let prow = sqlx::query(d.pick(
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
            .fetch_one(&mut *tx)
            .await?;
            let pending = PendingCall::from_row(&prow)?;
            let latest: i32 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(attempt_number), 0) FROM call_sessions WHERE pending_call_id = $1",
            )
            .bind(id(pid.0))
            .fetch_one(&mut *tx)
            .await?;
            if pending.call_status != PendingStatus::Calling || latest != attempt_number {
                tx.commit().await?;
                return Ok(None);
            }
            let next =
                policy.after_attempt(f.outcome, pending.attempt_count, pending.max_attempts, now);
            let row = sqlx::query(concat!(
                "UPDATE pending_calls SET call_status = $2, next_attempt_at = $3, attempt_count = $4, \
                 last_error_code = CASE WHEN $5 IS NULL THEN last_error_code ELSE $5 END, \
                 last_error_message = CASE WHEN $5 IS NULL THEN last_error_message ELSE $6 END, \
                 updated_at = $7 WHERE id = $1 RETURNING ",
                pending_columns!()
            ))
            .bind(id(pid.0))
            .bind(next.status.as_str())
            .bind(next.next_attempt_at.map(ts))
            .bind(next.attempt_count)
            .bind(&f.error_code)
            .bind(&f.error_message)
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?;
            let updated = PendingCall::from_row(&row)?;
            tx.commit().await?;
            Ok(Some(updated))
        })
    }

    /// Sessions that lost track: never confirmed by Twilio (`initiating` since before
    /// `initiating_before`), open since before `open_before` (callbacks lost), or ended without an
    /// outcome since before `ended_before` (no report from the assistant).
    pub async fn stale_sessions(
        &self,
        initiating_before: DateTime<Utc>,
        open_before: DateTime<Utc>,
        ended_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Session>> {
        with_db!(self, |pool, d| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                session_columns!(),
                " FROM call_sessions WHERE outcome_at IS NULL AND ( \
                   (call_status = 'initiating' AND created_at < $1) \
                   OR (call_status IN ('queued', 'initiated', 'ringing', 'in_progress') AND created_at < $2) \
                   OR (ended_at IS NOT NULL AND ended_at < $3)) \
                 ORDER BY created_at LIMIT $4"
            ))
            .bind(ts(initiating_before))
            .bind(ts(open_before))
            .bind(ts(ended_before))
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter().map(Session::from_row).collect()
        })
    }

    /// Closes a session the sweep gave up on, so it no longer counts as in flight.
    pub async fn close_lost_session(&self, sid: SessionId, now: DateTime<Utc>) -> Result<()> {
        with_db!(self, |pool, d| {
            sqlx::query(
                "UPDATE call_sessions SET call_status = 'failed', ended_at = COALESCE(ended_at, $2), updated_at = $2 \
                 WHERE id = $1 AND call_status IN ('initiating', 'queued', 'initiated', 'ringing', 'in_progress')",
            )
            .bind(id(sid.0))
            .bind(ts(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

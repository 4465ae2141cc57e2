//! `call_classifications`: the 30-day cache of each clinic number's phone system. At most one
//! active row per number (a partial unique index enforces it); replacing one deactivates the old.

use crate::codec::{id, ts};
use crate::records::{Classification, StatusCounts, classification_columns};
use crate::{Result, Store, begin_write, with_db};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use switchboard_core::{ClassificationType, E164, IvrActions, SessionId};
use uuid::Uuid;

/// A classification to record (from the classifier, an operator, or observation).
#[derive(Debug, Clone)]
pub struct NewClassification {
    pub phone_number: E164,
    pub classification_type: ClassificationType,
    pub ivr_actions: IvrActions,
    pub confidence: f64,
    /// `classifier`, `operator` or `observed`.
    pub source: &'static str,
    pub source_session_id: Option<SessionId>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// The active, unexpired classification of a number (the seed's pre-check).
    pub async fn active_classification(
        &self,
        phone: &E164,
        now: DateTime<Utc>,
    ) -> Result<Option<Classification>> {
        with_db!(self, |pool, d| {
            let row = sqlx::query(concat!(
                "SELECT ",
                classification_columns!(),
                " FROM call_classifications WHERE phone_number = $1 AND is_active = TRUE \
                 AND classification_expires_at > $2"
            ))
            .bind(phone.as_str())
            .bind(ts(now))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(Classification::from_row).transpose()
        })
    }

    pub async fn get_classification_by_id(&self, cid: Uuid) -> Result<Option<Classification>> {
        with_db!(self, |pool, d| {
            let row = sqlx::query(concat!(
                "SELECT ",
                classification_columns!(),
                " FROM call_classifications WHERE id = $1"
            ))
            .bind(id(cid))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(Classification::from_row).transpose()
        })
    }

    /// Records a classification, deactivating any active one for the number in the same
    /// transaction.
    pub async fn put_classification(
        &self,
        n: &NewClassification,
        now: DateTime<Utc>,
    ) -> Result<Classification> {
        let new_id = Uuid::new_v4();
        with_db!(self, |pool, d| {
            let mut tx = begin_write!(pool, d);
            sqlx::query(
                "UPDATE call_classifications SET is_active = FALSE, deactivated_at = $2, \
                 deactivation_reason = 'replaced', updated_at = $2 WHERE phone_number = $1 AND is_active = TRUE",
            )
            .bind(n.phone_number.as_str())
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query(concat!(
                "INSERT INTO call_classifications (id, phone_number, classification_type, ivr_actions, confidence, \
                 source, source_session_id, classified_at, classification_expires_at, is_active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $8, $8) RETURNING ",
                classification_columns!()
            ))
            .bind(id(new_id))
            .bind(n.phone_number.as_str())
            .bind(n.classification_type.as_str())
            .bind(Json(&n.ivr_actions))
            .bind(n.confidence)
            .bind(n.source)
            .bind(n.source_session_id.map(|s| id(s.0)))
            .bind(ts(now))
            .bind(ts(n.expires_at))
            .fetch_one(&mut *tx)
            .await?;
            let c = Classification::from_row(&row)?;
            tx.commit().await?;
            Ok(c)
        })
    }

    /// Invalidates the active classification of a number. Returns whether one was active.
    pub async fn deactivate_classification(
        &self,
        phone: &E164,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        with_db!(self, |pool, d| {
            let r = sqlx::query(
                "UPDATE call_classifications SET is_active = FALSE, deactivated_at = $2, deactivation_reason = $3, \
                 updated_at = $2 WHERE phone_number = $1 AND is_active = TRUE",
            )
            .bind(phone.as_str())
            .bind(ts(now))
            .bind(reason)
            .execute(pool)
            .await?;
            Ok(r.rows_affected() > 0)
        })
    }

    /// Applies what a call that used this classification showed: a verified path counts a success
    /// and is re-verified; a stale one is deactivated so the next attempt relearns it.
    pub async fn record_classification_result(
        &self,
        cid: Uuid,
        verdict: switchboard_core::learning::Verdict,
        now: DateTime<Utc>,
    ) -> Result<()> {
        use switchboard_core::learning::Verdict;
        with_db!(self, |pool, d| {
            match verdict {
                Verdict::Verified => {
                    sqlx::query(
                        "UPDATE call_classifications SET success_count = success_count + 1, last_verified_at = $2, \
                         updated_at = $2 WHERE id = $1",
                    )
                    .bind(id(cid))
                    .bind(ts(now))
                    .execute(pool)
                    .await?;
                }
                Verdict::Stale => {
                    sqlx::query(
                        "UPDATE call_classifications SET failure_count = failure_count + 1, is_active = FALSE, \
                         deactivated_at = COALESCE(deactivated_at, $2), \
                         deactivation_reason = COALESCE(deactivation_reason, 'replay_did_not_reach_a_person'), \
                         updated_at = $2 WHERE id = $1",
                    )
                    .bind(id(cid))
                    .bind(ts(now))
                    .execute(pool)
                    .await?;
                }
                Verdict::Inconclusive => {}
            }
        });
        Ok(())
    }

    /// Row counts by status for `/metrics`.
    pub async fn status_counts(&self) -> Result<StatusCounts> {
        with_db!(self, |pool, d| {
            let pending: Vec<(String, i64)> = sqlx::query_as(
                "SELECT call_status, COUNT(*) FROM pending_calls GROUP BY call_status ORDER BY 1",
            )
            .fetch_all(pool)
            .await?;
            let sessions: Vec<(String, i64)> = sqlx::query_as(
                "SELECT call_status, COUNT(*) FROM call_sessions GROUP BY call_status ORDER BY 1",
            )
            .fetch_all(pool)
            .await?;
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM call_classifications WHERE is_active = TRUE",
            )
            .fetch_one(pool)
            .await?;
            Ok(StatusCounts {
                pending_calls: pending,
                call_sessions: sessions,
                active_classifications: active,
            })
        })
    }
}

//! Upgrading the legacy layout of the original design note, where `pending_calls.call_session_id`
//! pointed at one session and `call_sessions` had no `pending_call_id` (PostgreSQL/Supabase).
//!
//! In one transaction: backfill `call_sessions.pending_call_id` from the old column and drop it
//! (the checklist's two steps); set the legacy tables aside as `legacy_*`; create the current
//! schema; copy every row across by column name, mapping statuses the current CHECKs do not know.
//! Row counts are verified before commit. The `legacy_*` tables are kept (with any columns the
//! current schema lacks) until an operator drops them; nothing is deleted.

use crate::migrate::LegacyUpgrade;
use crate::{Result, StoreError};
use sqlx::{AssertSqlSafe, PgConnection};

const TABLES: [&str; 3] = ["call_classifications", "pending_calls", "call_sessions"];

async fn columns(conn: &mut PgConnection, table: &str) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT column_name::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?)
}

async fn count(conn: &mut PgConnection, sql: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *conn)
        .await?)
}

/// Whether the connected database has the legacy layout and no Switchboard migrations.
pub(crate) async fn is_legacy(conn: &mut PgConnection) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name = 'pending_calls' AND column_name = 'call_session_id'",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// Step 1 (the checklist): backfill the new link from the old column, then drop the old column,
/// and set the legacy tables aside so the current schema can be created beside them.
pub(crate) async fn set_aside(conn: &mut PgConnection) -> Result<()> {
    let stmts = [
        "ALTER TABLE call_sessions ADD COLUMN IF NOT EXISTS pending_call_id uuid",
        "UPDATE call_sessions s SET pending_call_id = p.id FROM pending_calls p \
         WHERE p.call_session_id = s.id AND s.pending_call_id IS NULL",
        "ALTER TABLE pending_calls DROP COLUMN call_session_id",
    ];
    for s in stmts {
        sqlx::query(s).execute(&mut *conn).await?;
    }
    for t in TABLES {
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(t)
        .fetch_one(&mut *conn)
        .await?;
        if exists == 0 {
            // A missing table is created empty so the copy below has a source.
            sqlx::query(AssertSqlSafe(format!(
                "CREATE TABLE legacy_{t} (id uuid PRIMARY KEY)"
            )))
            .execute(&mut *conn)
            .await?;
            continue;
        }
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE {t} RENAME TO legacy_{t}"
        )))
        .execute(&mut *conn)
        .await?;
    }
    // Index (and primary-key/unique constraint) names share one namespace: rename them too.
    sqlx::raw_sql(
        "DO $$ DECLARE r record; BEGIN \
           FOR r IN SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename IN ('legacy_pending_calls', 'legacy_call_sessions', 'legacy_call_classifications') \
             AND indexname NOT LIKE 'legacy\\_%' \
           LOOP EXECUTE format('ALTER INDEX %I RENAME TO %I', r.indexname, 'legacy_' || r.indexname); END LOOP; \
         END $$",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The SELECT expression for column `col` (current type `udt`) from the legacy table `l`.
fn expr(table: &str, col: &str, udt: &str, legacy: &[(String, String)]) -> Option<String> {
    let has = |c: &str| legacy.iter().any(|(n, _)| n == c);
    let cast = |c: &str| format!("CAST(l.\"{c}\" AS {udt})");
    let pending_status = "CASE WHEN l.call_status IN ('pending','retry_scheduled','completed','failed','cancelled','needs_manual') \
        THEN l.call_status WHEN l.call_status IS NULL THEN 'pending' WHEN l.call_status = 'canceled' THEN 'cancelled' \
        WHEN l.call_status IN ('calling','initiating','queued','ringing','in_progress','in-progress') THEN 'retry_scheduled' \
        WHEN l.call_status IN ('success','succeeded','done') THEN 'completed' ELSE 'needs_manual' END";
    let session_status = "CASE WHEN l.call_status IN ('initiating','queued','initiated','ringing','in_progress','completed','busy','no_answer','failed','canceled') \
        THEN l.call_status WHEN l.call_status = 'in-progress' THEN 'in_progress' WHEN l.call_status = 'no-answer' THEN 'no_answer' \
        WHEN l.call_status = 'cancelled' THEN 'canceled' ELSE 'failed' END";
    match (table, col) {
        ("pending_calls", "call_status") if has(col) => Some(pending_status.into()),
        ("call_sessions", "call_status") if has(col) => Some(session_status.into()),
        ("call_sessions", "attempt_number") => Some(
            "CAST(row_number() OVER (PARTITION BY l.pending_call_id ORDER BY l.created_at NULLS FIRST, l.id) AS integer)".into(),
        ),
        (_, "classification_id") if has(col) => Some(
            "CASE WHEN l.classification_id IN (SELECT id FROM call_classifications) THEN l.classification_id END".into(),
        ),
        (_, "source_session_id") => None,
        ("pending_calls", "exam_id" | "employee_name" | "phone") => {
            Some(if has(col) { format!("COALESCE(CAST(l.\"{col}\" AS text), '')") } else { "''".into() })
        }
        ("pending_calls", "appointment_time") => Some(if has(col) {
            format!("COALESCE({}, {})", cast(col), if has("created_at") { "CAST(l.created_at AS timestamptz)" } else { "now()" })
        } else {
            "now()".into()
        }),
        ("pending_calls", "phone_e164") => None,
        ("call_classifications", "ivr_actions") if has(col) => {
            Some("CASE WHEN jsonb_typeof(CAST(l.ivr_actions AS jsonb)) = 'array' THEN CAST(l.ivr_actions AS jsonb) ELSE '[]'::jsonb END".into())
        }
        ("call_classifications", "classification_expires_at") => Some(if has(col) {
            format!("COALESCE({}, now() + interval '30 days')", cast(col))
        } else {
            "now() + interval '30 days'".into()
        }),
        ("call_classifications", "is_active") if has(col) => Some(
            "COALESCE(l.is_active, true) AND row_number() OVER (PARTITION BY l.phone_number, COALESCE(l.is_active, true) \
             ORDER BY l.created_at DESC NULLS LAST, l.id) = 1"
                .into(),
        ),
        _ if has(col) => Some(cast(col)),
        _ => None,
    }
}

/// Step 2: copy the legacy rows into the freshly created tables.
pub(crate) async fn copy_rows(conn: &mut PgConnection) -> Result<LegacyUpgrade> {
    let mut report = LegacyUpgrade::default();
    for t in TABLES {
        let legacy = columns(conn, &format!("legacy_{t}")).await?;
        let current = columns(conn, t).await?;
        let mut cols = Vec::new();
        let mut exprs = Vec::new();
        for (c, udt) in &current {
            if let Some(e) = expr(t, c, udt, &legacy) {
                cols.push(format!("\"{c}\""));
                exprs.push(e);
            }
        }
        let filter = match t {
            "call_sessions" => "WHERE l.pending_call_id IN (SELECT id FROM pending_calls)",
            "call_classifications" => {
                "WHERE l.classification_type IN ('human', 'ivr_only', 'ivr_then_human') \
                 AND CAST(l.phone_number AS text) ~ '^\\+[1-9][0-9]{7,14}$'"
            }
            _ => "",
        };
        if t == "call_classifications" && !legacy.iter().any(|(c, _)| c == "classification_type") {
            continue;
        }
        let sql = format!(
            "INSERT INTO {t} ({}) SELECT {} FROM legacy_{t} l {filter}",
            cols.join(", "),
            exprs.join(", ")
        );
        let copied = sqlx::query(AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .map_err(|e| StoreError::Migration(format!("copying legacy {t}: {e}")))?
            .rows_affected() as i64;
        let total = count(conn, &format!("SELECT COUNT(*) FROM legacy_{t}")).await?;
        match t {
            "pending_calls" => {
                if copied != total {
                    return Err(StoreError::Migration(format!(
                        "copied {copied} of {total} legacy pending calls"
                    )));
                }
                report.pending_calls = copied;
            }
            "call_sessions" => {
                report.call_sessions = copied;
                report.orphan_sessions = total - copied;
            }
            _ => {
                report.call_classifications = copied;
                report.skipped_classifications = total - copied;
            }
        }
    }
    // A copied session's status decides nothing now; make pending calls it left `calling`
    // dispatchable (mapped to retry_scheduled above) and record the legacy origin.
    sqlx::query(
        "UPDATE call_sessions SET outcome_at = COALESCE(outcome_at, updated_at), \
         ended_at = COALESCE(ended_at, updated_at), \
         call_status = CASE WHEN call_status IN ('initiating', 'queued', 'initiated', 'ringing', 'in_progress') \
           THEN 'failed' ELSE call_status END, \
         error_message = COALESCE(error_message, 'migrated from the legacy layout')",
    )
    .execute(&mut *conn)
    .await?;
    Ok(report)
}

//! Schema migrations, embedded in the binary. Each backend has its own directory of SQL files
//! (`migrations/postgres`, `migrations/sqlite`) with the same numbering; applied versions are
//! recorded in `switchboard_migrations`.

use crate::{Result, Store, StoreError, begin_write, with_db};
use chrono::Utc;

struct Migration {
    version: i64,
    name: &'static str,
    postgres: &'static str,
    sqlite: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "navigation",
        postgres: include_str!("../migrations/postgres/0002_navigation.sql"),
        sqlite: include_str!("../migrations/sqlite/0002_navigation.sql"),
    },
];

/// What `migrate` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<i64>,
    pub already_applied: Vec<i64>,
    /// Set when a legacy layout (`pending_calls.call_session_id`) was upgraded.
    pub legacy_upgrade: Option<crate::migrate::LegacyUpgrade>,
}

/// Counts from upgrading a legacy database (see `legacy.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyUpgrade {
    pub pending_calls: i64,
    pub call_sessions: i64,
    pub call_classifications: i64,
    /// Legacy sessions no pending call pointed at; kept in `legacy_call_sessions`.
    pub orphan_sessions: i64,
    /// Legacy classifications that could not be carried over; kept in `legacy_call_classifications`.
    pub skipped_classifications: i64,
}

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS switchboard_migrations (
    version bigint PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)";

impl Store {
    /// Applies every migration not yet recorded, each in its own transaction.
    pub async fn migrate(&self) -> Result<MigrationReport> {
        let mut report = MigrationReport::default();
        if let Some(pool) = self.pg_pool() {
            sqlx::query(CREATE_LEDGER).execute(pool).await?;
            let mut tx = pool.begin().await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM switchboard_migrations WHERE version = 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_none() && crate::legacy::is_legacy(&mut tx).await? {
                crate::legacy::set_aside(&mut tx).await?;
                sqlx::raw_sql(MIGRATIONS[0].postgres)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        StoreError::Migration(format!("0001_init over the legacy layout: {e}"))
                    })?;
                let upgrade = crate::legacy::copy_rows(&mut tx).await?;
                sqlx::query("INSERT INTO switchboard_migrations (version, name, applied_at) VALUES (1, 'init', $1)")
                    .bind(Utc::now().to_rfc3339())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                report.applied.push(1);
                report.legacy_upgrade = Some(upgrade);
            }
        }
        with_db!(self, |pool, d| {
            sqlx::query(CREATE_LEDGER).execute(pool).await?;
            for m in MIGRATIONS {
                let mut tx = begin_write!(pool, d);
                let done: Option<i64> = sqlx::query_scalar(
                    "SELECT version FROM switchboard_migrations WHERE version = $1",
                )
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await?;
                if done.is_some() {
                    if !report.applied.contains(&m.version) {
                        report.already_applied.push(m.version);
                    }
                    continue;
                }
                let sql = d.pick(m.postgres, m.sqlite);
                sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(|e| {
                    StoreError::Migration(format!("{:04}_{}: {e}", m.version, m.name))
                })?;
                sqlx::query(
                    "INSERT INTO switchboard_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                )
                .bind(m.version)
                .bind(m.name)
                .bind(Utc::now().to_rfc3339())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                report.applied.push(m.version);
            }
        });
        Ok(report)
    }

    /// Whether every known migration is applied (the server refuses to start otherwise).
    pub async fn is_migrated(&self) -> Result<bool> {
        let exists = self.table_exists("switchboard_migrations").await?;
        if !exists {
            return Ok(false);
        }
        let n: i64 = with_db!(self, |pool, d| {
            sqlx::query_scalar("SELECT COUNT(*) FROM switchboard_migrations")
                .fetch_one(pool)
                .await?
        });
        Ok(n as usize >= MIGRATIONS.len())
    }

    pub(crate) async fn table_exists(&self, table: &str) -> Result<bool> {
        let n: i64 = with_db!(self, |pool, d| {
            sqlx::query_scalar(d.pick(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1",
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
            ))
            .bind(table)
            .fetch_one(pool)
            .await?
        });
        Ok(n > 0)
    }
}

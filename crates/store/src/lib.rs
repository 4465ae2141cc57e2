//! Switchboard's storage: the three tables of the seed (`pending_calls`, `call_sessions`,
//! `call_classifications`) on PostgreSQL or embedded SQLite behind one [`Store`].
//!
//! Every piece of SQL lives in this crate, once. Where the dialects differ the two texts sit next
//! to each other (see [`Dialect::pick`]); everything else is written once and run on both through
//! [`with_db!`], which expands the same code for each backend's concrete pool.

mod classifications;
mod codec;
mod dispatch;
mod legacy;
mod migrate;
mod pending;
mod records;
mod sessions;
#[cfg(feature = "test-support")]
pub mod testing;

pub use classifications::NewClassification;
pub use dispatch::{ClaimError, Claimed, IntakeRow};
pub use migrate::LegacyUpgrade;
pub use migrate::MigrationReport;
pub use pending::{NewPendingCall, PendingFilter};
pub use records::{Classification, PendingCall, Session, StatusCounts};
pub use sessions::{CallProgress, DialResult, Finish, ProgressApplied, VapiReport};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// Errors from the storage layer. Messages name tables and constraints, never row contents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported DATABASE_URL scheme (expected postgres:// or sqlite://)")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which backend a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// Chooses the dialect-specific text of a statement; both texts stay side by side at the
    /// call site.
    pub fn pick(self, postgres: &'static str, sqlite: &'static str) -> &'static str {
        match self {
            Dialect::Postgres => postgres,
            Dialect::Sqlite => sqlite,
        }
    }
}

#[derive(Clone)]
enum Db {
    Pg(PgPool),
    Sqlite(SqlitePool),
}

/// The storage handle: cheap to clone, shared by the server, dispatcher and CLI.
#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// Runs `$body` with `$pool` bound to the concrete pool and `$d` to its [`Dialect`]; the body is
/// compiled once per backend.
macro_rules! with_db {
    ($store:expr, |$pool:ident, $d:ident| $body:expr) => {
        match &$store.db {
            $crate::Db::Pg($pool) => {
                #[allow(unused_variables)]
                let $d = $crate::Dialect::Postgres;
                $body
            }
            $crate::Db::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $d = $crate::Dialect::Sqlite;
                $body
            }
        }
    };
}
pub(crate) use with_db;

/// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite takes the write lock up front so two
/// writers never deadlock upgrading read locks; PostgreSQL uses row locks instead.
macro_rules! begin_write {
    ($pool:expr, $d:expr) => {
        match $d {
            $crate::Dialect::Postgres => $pool.begin().await?,
            $crate::Dialect::Sqlite => $pool.begin_with("BEGIN IMMEDIATE").await?,
        }
    };
}
pub(crate) use begin_write;

impl Store {
    /// Connects to `postgres://…` or `sqlite://path` (created if missing; `sqlite::memory:` for
    /// tests).
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, 10).await
    }

    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?.application_name("switchboard");
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Store { db: Db::Pg(pool) })
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = SqlitePoolOptions::new()
                // One in-memory database lives per connection: keep exactly one.
                .max_connections(if in_memory {
                    1
                } else {
                    max_connections.clamp(1, 8)
                })
                .min_connections(if in_memory { 1 } else { 0 })
                .idle_timeout(if in_memory {
                    None
                } else {
                    Some(Duration::from_secs(600))
                })
                .max_lifetime(if in_memory {
                    None
                } else {
                    Some(Duration::from_secs(1800))
                })
                .connect_with(opts)
                .await?;
            Ok(Store {
                db: Db::Sqlite(pool),
            })
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.db {
            Db::Pg(_) => Dialect::Postgres,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Readiness probe: one round trip.
    pub async fn ping(&self) -> Result<()> {
        with_db!(self, |pool, d| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// The PostgreSQL pool, for callers (tests, the legacy fixture) that must run raw SQL.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.db {
            Db::Pg(p) => Some(p),
            Db::Sqlite(_) => None,
        }
    }

    /// The SQLite pool, for tests that insert rows as an external system would.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.db {
            Db::Sqlite(p) => Some(p),
            Db::Pg(_) => None,
        }
    }

    pub async fn close(&self) {
        with_db!(self, |pool, d| pool.close().await)
    }
}

/// Shorthand for mapping a row to a record or a [`StoreError::Corrupt`].
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

//! Test support (feature `test-support`): a fresh, empty database per test on either backend.

use uuid::Uuid;

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The admin URL of a PostgreSQL server for tests: `SWITCHBOARD_TEST_PG`, else a postgres
/// `DATABASE_URL`, else the local service on 127.0.0.1:5432.
pub fn pg_admin_url() -> String {
    if let Ok(u) = std::env::var("SWITCHBOARD_TEST_PG") {
        return u;
    }
    match std::env::var("DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => u,
        _ => "postgres://postgres@127.0.0.1:5432/postgres".to_string(),
    }
}

/// The URL of a new, empty database: a SQLite file in a temp directory, or a new database on the
/// test PostgreSQL server.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir =
                std::env::temp_dir().join(format!("switchboard-test-{}", Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}/test.db", dir.display())
        }
        Backend::Postgres => {
            let admin = pg_admin_url();
            let name = format!("sb_test_{}", Uuid::new_v4().simple());
            let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at the test admin URL ({e}); run scripts/test.sh (it starts a \
                     throwaway cluster) or set SWITCHBOARD_TEST_PG"
                )
            });
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .expect("create test database");
            pool.close().await;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            format!("{base}/{name}")
        }
    }
}

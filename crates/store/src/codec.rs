//! How values cross into each backend. PostgreSQL gets native `uuid`/`timestamptz`; SQLite gets
//! lowercase UUID text and one canonical UTC timestamp text, so text order is time order and
//! rows inserted by other systems read the same.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgRow, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteRow, SqliteTypeInfo, SqliteValueRef};
use sqlx::types::Json;
use sqlx::{Decode, Encode, Postgres, Row, Sqlite, Type};
use uuid::Uuid;

/// Canonical SQLite timestamp form; must match `strftime('%Y-%m-%dT%H:%M:%fZ', …)` in the
/// migrations.
pub const SQLITE_TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// A UUID bound or read as `uuid` (PostgreSQL) or text (SQLite).
#[derive(Debug, Clone, Copy)]
pub struct Id(pub Uuid);

/// A UTC timestamp bound as `timestamptz` (PostgreSQL) or canonical text (SQLite).
#[derive(Debug, Clone, Copy)]
pub struct Ts(pub DateTime<Utc>);

impl Type<Postgres> for Id {
    fn type_info() -> PgTypeInfo {
        <Uuid as Type<Postgres>>::type_info()
    }
}
impl Encode<'_, Postgres> for Id {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Uuid as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}
impl<'r> Decode<'r, Postgres> for Id {
    fn decode(v: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <Uuid as Decode<Postgres>>::decode(v).map(Id)
    }
}
impl Type<Sqlite> for Id {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}
impl Encode<'_, Sqlite> for Id {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.0.hyphenated().to_string(), buf)
    }
}
impl<'r> Decode<'r, Sqlite> for Id {
    fn decode(v: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <&str as Decode<Sqlite>>::decode(v)?;
        Ok(Id(Uuid::try_parse(s)?))
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}
impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}
impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}
impl Encode<'_, Sqlite> for Ts {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.0.format(SQLITE_TS_FORMAT).to_string(), buf)
    }
}

pub fn id(u: impl Into<Uuid>) -> Id {
    Id(u.into())
}
pub fn ts(t: DateTime<Utc>) -> Ts {
    Ts(t)
}
pub fn opt_ts(t: Option<DateTime<Utc>>) -> Option<Ts> {
    t.map(Ts)
}

/// Typed column access that reads the same from both backends' rows, so each record has one
/// row-mapping function.
pub trait RowGet {
    fn uuid(&self, col: &str) -> Result<Uuid, sqlx::Error>;
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, sqlx::Error>;
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i32, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i32>, sqlx::Error>;
    fn real(&self, col: &str) -> Result<f64, sqlx::Error>;
    fn opt_real(&self, col: &str) -> Result<Option<f64>, sqlx::Error>;
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error>;
    fn opt_flag(&self, col: &str) -> Result<Option<bool>, sqlx::Error>;
    fn time(&self, col: &str) -> Result<DateTime<Utc>, sqlx::Error>;
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error>;
    fn opt_date(&self, col: &str) -> Result<Option<NaiveDate>, sqlx::Error>;
    fn opt_json(&self, col: &str) -> Result<Option<serde_json::Value>, sqlx::Error>;
}

macro_rules! row_get {
    ($row:ty) => {
        impl RowGet for $row {
            fn uuid(&self, col: &str) -> Result<Uuid, sqlx::Error> {
                Ok(self.try_get::<Id, _>(col)?.0)
            }
            fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, sqlx::Error> {
                Ok(self.try_get::<Option<Id>, _>(col)?.map(|i| i.0))
            }
            fn text(&self, col: &str) -> Result<String, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(col)
            }
            fn int(&self, col: &str) -> Result<i32, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i32>, sqlx::Error> {
                self.try_get(col)
            }
            fn real(&self, col: &str) -> Result<f64, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_real(&self, col: &str) -> Result<Option<f64>, sqlx::Error> {
                self.try_get(col)
            }
            fn flag(&self, col: &str) -> Result<bool, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_flag(&self, col: &str) -> Result<Option<bool>, sqlx::Error> {
                self.try_get(col)
            }
            fn time(&self, col: &str) -> Result<DateTime<Utc>, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_date(&self, col: &str) -> Result<Option<NaiveDate>, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_json(&self, col: &str) -> Result<Option<serde_json::Value>, sqlx::Error> {
                Ok(self
                    .try_get::<Option<Json<serde_json::Value>>, _>(col)?
                    .map(|j| j.0))
            }
        }
    };
}
row_get!(PgRow);
row_get!(SqliteRow);

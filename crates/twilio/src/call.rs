//! Twilio's Call resource (`api.v2010.account.call`, protocols.md A.3).

use serde::{Deserialize, Deserializer};

/// The Call resource as Twilio returns it from create, update and fetch. Every field but `sid`
/// is nullable in the spec and may be missing; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Call {
    /// `CA…` (34 characters).
    pub sid: String,
    /// `queued`, `ringing`, `in-progress`, `completed`, `busy`, `failed`, `no-answer`,
    /// `canceled` (`call_enum_status`); empty when Twilio sent `null` or nothing.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub status: String,
    /// Estimated queueing delay in milliseconds (a string), set when calls are queued by CPS.
    #[serde(default)]
    pub queue_time: Option<String>,
    #[serde(default)]
    pub account_sid: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    /// `inbound`, `outbound-api`, `outbound-dial`, …
    #[serde(default)]
    pub direction: Option<String>,
    /// Seconds, as a string; set once the call has ended.
    #[serde(default)]
    pub duration: Option<String>,
    /// Set with answering machine detection.
    #[serde(default)]
    pub answered_by: Option<String>,
    #[serde(default)]
    pub parent_call_sid: Option<String>,
    /// RFC 2822 (`Tue, 31 Aug 2010 20:36:28 +0000`).
    #[serde(default)]
    pub date_created: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub price_unit: Option<String>,
}

impl Call {
    /// `queue_time` in milliseconds, if present and numeric.
    pub fn queue_time_ms(&self) -> Option<u64> {
        self.queue_time.as_deref()?.trim().parse().ok()
    }
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_nulls_missing_and_unknown_fields() {
        let c: Call = serde_json::from_str(
            r#"{"sid": "CA1", "status": null, "queue_time": null, "brand_new": {"x": 1}}"#,
        )
        .unwrap();
        assert_eq!(c.status, "");
        assert_eq!(c.queue_time, None);
        let c: Call = serde_json::from_str(r#"{"sid": "CA1", "queue_time": "1000"}"#).unwrap();
        assert_eq!(c.queue_time_ms(), Some(1000));
        assert!(serde_json::from_str::<Call>(r#"{"sid": null}"#).is_err());
    }
}

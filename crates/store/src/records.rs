//! Rows as typed records. Field names are the column names, which are also the JSON field names
//! of the admin API.

use crate::codec::RowGet;
use crate::{Result, corrupt};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use switchboard_core::{
    ClassificationType, IvrActions, PendingCallId, PendingStatus, SessionId, SessionStatus,
};
use uuid::Uuid;

/// A `pending_calls` row.
#[derive(Debug, Clone, Serialize)]
pub struct PendingCall {
    pub id: PendingCallId,
    pub exam_id: String,
    pub employee_name: String,
    pub employee_dob: Option<NaiveDate>,
    pub client_name: Option<String>,
    pub clinic_name: Option<String>,
    pub phone: String,
    pub phone_e164: Option<String>,
    pub appointment_time: DateTime<Utc>,
    pub clinic_timezone: Option<String>,
    pub procedures: Option<String>,
    pub instructions: Option<String>,
    pub assistant_context: Option<Value>,
    pub call_status: PendingStatus,
    pub classification_id: Option<Uuid>,
    pub attempt_count: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub outcome_success: Option<bool>,
    pub outcome_ended_reason: Option<String>,
    pub outcome_summary: Option<String>,
    pub outcome_structured_data: Option<Value>,
    pub outcome_at: Option<DateTime<Utc>>,
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The column list, as a macro so statements stay `&'static str` via `concat!`.
macro_rules! pending_columns {
    () => {
        "id, exam_id, employee_name, employee_dob, client_name, clinic_name, phone, \
    phone_e164, appointment_time, clinic_timezone, procedures, instructions, assistant_context, call_status, \
    classification_id, attempt_count, max_attempts, next_attempt_at, last_attempt_at, outcome_success, \
    outcome_ended_reason, outcome_summary, outcome_structured_data, outcome_at, last_error_code, \
    last_error_message, created_at, updated_at"
    };
}
pub(crate) use pending_columns;

impl PendingCall {
    pub(crate) fn from_row(r: &impl RowGet) -> Result<Self> {
        Ok(PendingCall {
            id: PendingCallId(r.uuid("id")?),
            exam_id: r.text("exam_id")?,
            employee_name: r.text("employee_name")?,
            employee_dob: r.opt_date("employee_dob")?,
            client_name: r.opt_text("client_name")?,
            clinic_name: r.opt_text("clinic_name")?,
            phone: r.text("phone")?,
            phone_e164: r.opt_text("phone_e164")?,
            appointment_time: r.time("appointment_time")?,
            clinic_timezone: r.opt_text("clinic_timezone")?,
            procedures: r.opt_text("procedures")?,
            instructions: r.opt_text("instructions")?,
            assistant_context: r.opt_json("assistant_context")?,
            call_status: r.text("call_status")?.parse().map_err(corrupt)?,
            classification_id: r.opt_uuid("classification_id")?,
            attempt_count: r.int("attempt_count")?,
            max_attempts: r.int("max_attempts")?,
            next_attempt_at: r.opt_time("next_attempt_at")?,
            last_attempt_at: r.opt_time("last_attempt_at")?,
            outcome_success: r.opt_flag("outcome_success")?,
            outcome_ended_reason: r.opt_text("outcome_ended_reason")?,
            outcome_summary: r.opt_text("outcome_summary")?,
            outcome_structured_data: r.opt_json("outcome_structured_data")?,
            outcome_at: r.opt_time("outcome_at")?,
            last_error_code: r.opt_text("last_error_code")?,
            last_error_message: r.opt_text("last_error_message")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// A `call_sessions` row: one attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: SessionId,
    pub call_id: Option<String>,
    pub pending_call_id: PendingCallId,
    pub classification_id: Option<Uuid>,
    pub attempt_number: i32,
    pub call_status: SessionStatus,
    pub routing_decision: Option<String>,
    pub counts_as_attempt: bool,
    pub ivr_detected: Option<bool>,
    pub detected_classification: Option<String>,
    pub detection_confidence: Option<f64>,
    pub detection_decided_at_ms: Option<i32>,
    pub ivr_actions_taken: Option<Value>,
    /// Navigate mode: media ms from answer when the call was handed to the assistant.
    pub handoff_at_ms: Option<i32>,
    pub answered_by: Option<String>,
    pub sip_bridged: Option<bool>,
    pub dial_call_status: Option<String>,
    pub dial_sip_response_code: Option<i32>,
    pub last_sequence_number: Option<i32>,
    pub sip_response_code: Option<i32>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub vapi_call_id: Option<String>,
    pub outcome_success: Option<bool>,
    pub ended_reason: Option<String>,
    pub outcome_summary: Option<String>,
    pub outcome_structured_data: Option<Value>,
    pub outcome_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub queued_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i32>,
    pub updated_at: DateTime<Utc>,
}

/// The column list, as a macro so statements stay `&'static str` via `concat!`.
macro_rules! session_columns {
    () => {
        "id, call_id, pending_call_id, classification_id, attempt_number, \
    call_status, routing_decision, counts_as_attempt, ivr_detected, detected_classification, detection_confidence, \
    detection_decided_at_ms, ivr_actions_taken, handoff_at_ms, answered_by, sip_bridged, dial_call_status, dial_sip_response_code, \
    last_sequence_number, sip_response_code, error_code, error_message, vapi_call_id, outcome_success, ended_reason, \
    outcome_summary, outcome_structured_data, outcome_at, created_at, queued_at, answered_at, ended_at, \
    duration_seconds, updated_at"
    };
}
pub(crate) use session_columns;

impl Session {
    pub(crate) fn from_row(r: &impl RowGet) -> Result<Self> {
        Ok(Session {
            id: SessionId(r.uuid("id")?),
            call_id: r.opt_text("call_id")?,
            pending_call_id: PendingCallId(r.uuid("pending_call_id")?),
            classification_id: r.opt_uuid("classification_id")?,
            attempt_number: r.int("attempt_number")?,
            call_status: r.text("call_status")?.parse().map_err(corrupt)?,
            routing_decision: r.opt_text("routing_decision")?,
            counts_as_attempt: r.flag("counts_as_attempt")?,
            ivr_detected: r.opt_flag("ivr_detected")?,
            detected_classification: r.opt_text("detected_classification")?,
            detection_confidence: r.opt_real("detection_confidence")?,
            detection_decided_at_ms: r.opt_int("detection_decided_at_ms")?,
            ivr_actions_taken: r.opt_json("ivr_actions_taken")?,
            handoff_at_ms: r.opt_int("handoff_at_ms")?,
            answered_by: r.opt_text("answered_by")?,
            sip_bridged: r.opt_flag("sip_bridged")?,
            dial_call_status: r.opt_text("dial_call_status")?,
            dial_sip_response_code: r.opt_int("dial_sip_response_code")?,
            last_sequence_number: r.opt_int("last_sequence_number")?,
            sip_response_code: r.opt_int("sip_response_code")?,
            error_code: r.opt_text("error_code")?,
            error_message: r.opt_text("error_message")?,
            vapi_call_id: r.opt_text("vapi_call_id")?,
            outcome_success: r.opt_flag("outcome_success")?,
            ended_reason: r.opt_text("ended_reason")?,
            outcome_summary: r.opt_text("outcome_summary")?,
            outcome_structured_data: r.opt_json("outcome_structured_data")?,
            outcome_at: r.opt_time("outcome_at")?,
            created_at: r.time("created_at")?,
            queued_at: r.opt_time("queued_at")?,
            answered_at: r.opt_time("answered_at")?,
            ended_at: r.opt_time("ended_at")?,
            duration_seconds: r.opt_int("duration_seconds")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// A `call_classifications` row.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub id: Uuid,
    pub phone_number: String,
    pub classification_type: ClassificationType,
    pub ivr_actions: IvrActions,
    pub confidence: f64,
    pub source: String,
    pub source_session_id: Option<Uuid>,
    pub classified_at: DateTime<Utc>,
    pub classification_expires_at: DateTime<Utc>,
    pub is_active: bool,
    pub success_count: i32,
    pub failure_count: i32,
    pub last_verified_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub deactivation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The column list, as a macro so statements stay `&'static str` via `concat!`.
macro_rules! classification_columns {
    () => {
        "id, phone_number, classification_type, ivr_actions, confidence, \
    source, source_session_id, classified_at, classification_expires_at, is_active, success_count, failure_count, \
    last_verified_at, deactivated_at, deactivation_reason, created_at, updated_at"
    };
}
pub(crate) use classification_columns;

impl Classification {
    pub(crate) fn from_row(r: &impl RowGet) -> Result<Self> {
        let actions = r.opt_json("ivr_actions")?.unwrap_or(Value::Array(vec![]));
        Ok(Classification {
            id: r.uuid("id")?,
            phone_number: r.text("phone_number")?,
            classification_type: r.text("classification_type")?.parse().map_err(corrupt)?,
            ivr_actions: serde_json::from_value(actions).map_err(corrupt)?,
            confidence: r.real("confidence")?,
            source: r.text("source")?,
            source_session_id: r.opt_uuid("source_session_id")?,
            classified_at: r.time("classified_at")?,
            classification_expires_at: r.time("classification_expires_at")?,
            is_active: r.flag("is_active")?,
            success_count: r.int("success_count")?,
            failure_count: r.int("failure_count")?,
            last_verified_at: r.opt_time("last_verified_at")?,
            deactivated_at: r.opt_time("deactivated_at")?,
            deactivation_reason: r.opt_text("deactivation_reason")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// Row counts by status, for `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusCounts {
    pub pending_calls: Vec<(String, i64)>,
    pub call_sessions: Vec<(String, i64)>,
    pub active_classifications: i64,
}

-- Switchboard schema, SQLite. Mirrors postgres/0001_init.sql; keep the two side by side.
-- Timestamps are TEXT in one canonical UTC form (YYYY-MM-DDTHH:MM:SS.SSSZ) so text order is time
-- order; triggers normalise rows inserted by other systems. UUIDs are lowercase hyphenated TEXT.
-- Status CHECK lists mirror switchboard_core::status (PendingStatus, SessionStatus).

CREATE TABLE call_classifications (
    id                        text PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    phone_number              text NOT NULL CHECK (phone_number GLOB '+[1-9]*' AND length(phone_number) BETWEEN 9 AND 16 AND substr(phone_number, 2) NOT GLOB '*[^0-9]*'),
    classification_type       text NOT NULL
        CHECK (classification_type IN ('human', 'ivr_only', 'ivr_then_human')),
    ivr_actions               text NOT NULL DEFAULT '[]' CHECK (json_valid(ivr_actions) AND json_type(ivr_actions) = 'array'),
    confidence                real NOT NULL DEFAULT 1.0 CHECK (confidence >= 0 AND confidence <= 1),
    source                    text NOT NULL DEFAULT 'classifier'
        CHECK (source IN ('classifier', 'operator', 'observed')),
    source_session_id         text REFERENCES call_sessions (id) ON DELETE SET NULL,
    classified_at             text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    classification_expires_at text NOT NULL,
    is_active                 integer NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    success_count             integer NOT NULL DEFAULT 0 CHECK (success_count >= 0),
    failure_count             integer NOT NULL DEFAULT 0 CHECK (failure_count >= 0),
    last_verified_at          text,
    deactivated_at            text,
    deactivation_reason       text,
    created_at                text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at                text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE pending_calls (
    id                      text PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    exam_id                 text NOT NULL,
    employee_name           text NOT NULL,
    employee_dob            text CHECK (employee_dob IS NULL OR date(employee_dob) = employee_dob),
    client_name             text,
    clinic_name             text,
    phone                   text NOT NULL,
    phone_e164              text CHECK (phone_e164 GLOB '+[1-9]*' AND length(phone_e164) BETWEEN 9 AND 16 AND substr(phone_e164, 2) NOT GLOB '*[^0-9]*'),
    appointment_time        text NOT NULL,
    clinic_timezone         text,
    procedures              text,
    instructions            text,
    assistant_context       text,
    call_status             text NOT NULL DEFAULT 'pending'
        CHECK (call_status IN ('pending', 'calling', 'retry_scheduled', 'completed', 'failed', 'cancelled', 'needs_manual')),
    classification_id       text REFERENCES call_classifications (id) ON DELETE SET NULL,
    attempt_count           integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    max_attempts            integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 20),
    next_attempt_at         text,
    last_attempt_at         text,
    outcome_success         integer,
    outcome_ended_reason    text,
    outcome_summary         text,
    outcome_structured_data text,
    outcome_at              text,
    last_error_code         text,
    last_error_message      text,
    created_at              text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at              text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE call_sessions (
    id                      text PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    call_id                 text UNIQUE,
    pending_call_id         text NOT NULL REFERENCES pending_calls (id) ON DELETE CASCADE,
    classification_id       text REFERENCES call_classifications (id) ON DELETE SET NULL,
    attempt_number          integer NOT NULL CHECK (attempt_number >= 1),
    call_status             text NOT NULL DEFAULT 'initiating'
        CHECK (call_status IN ('initiating', 'queued', 'initiated', 'ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed', 'canceled')),
    routing_decision        text CHECK (routing_decision IN ('bridge', 'replay_then_bridge', 'classify', 'hangup')),
    counts_as_attempt       integer NOT NULL DEFAULT 1,
    ivr_detected            integer,
    detected_classification text CHECK (detected_classification IN
        ('human', 'ivr_only', 'ivr_then_human', 'voicemail', 'no_answer', 'silence', 'disconnected', 'fax', 'unknown')),
    detection_confidence    real CHECK (detection_confidence >= 0 AND detection_confidence <= 1),
    detection_decided_at_ms integer,
    ivr_actions_taken       text,
    answered_by             text,
    sip_bridged             integer,
    dial_call_status        text,
    dial_sip_response_code  integer,
    last_sequence_number    integer,
    sip_response_code       integer,
    error_code              text,
    error_message           text,
    vapi_call_id            text,
    outcome_success         integer,
    ended_reason            text,
    outcome_summary         text,
    outcome_structured_data text,
    outcome_at              text,
    created_at              text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    queued_at               text,
    answered_at             text,
    ended_at                text,
    duration_seconds        integer CHECK (duration_seconds >= 0),
    updated_at              text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (pending_call_id, attempt_number)
);


-- Dispatcher claim: due calls of one time zone with today's appointment.
CREATE INDEX pending_calls_due_idx ON pending_calls (clinic_timezone, appointment_time)
    WHERE call_status IN ('pending', 'retry_scheduled');
-- Intake normalisation: rows inserted by SQL without phone_e164 / clinic_timezone.
CREATE INDEX pending_calls_intake_idx ON pending_calls (created_at)
    WHERE phone_e164 IS NULL OR clinic_timezone IS NULL;
-- Admin listing by status and day, and the seed's success-metrics query.
CREATE INDEX pending_calls_status_time_idx ON pending_calls (call_status, appointment_time);
-- Classification pre-check: one active row per number, looked up by number + expiry.
CREATE UNIQUE INDEX call_classifications_active_idx ON call_classifications (phone_number)
    WHERE is_active = 1;
CREATE INDEX call_classifications_lookup_idx ON call_classifications (phone_number, classification_expires_at)
    WHERE is_active = 1;
-- "View all attempts": sessions of a pending call, newest first (also the FK's index).
CREATE INDEX call_sessions_pending_idx ON call_sessions (pending_call_id, created_at DESC);
-- In-flight limit and the stale-session sweep.
CREATE INDEX call_sessions_open_idx ON call_sessions (created_at)
    WHERE call_status IN ('initiating', 'queued', 'initiated', 'ringing', 'in_progress');
-- Sessions awaiting their outcome after the line closed (sweep).
CREATE INDEX call_sessions_awaiting_outcome_idx ON call_sessions (ended_at)
    WHERE outcome_at IS NULL AND ended_at IS NOT NULL;

-- Rows written by other systems may carry any ISO-8601 form; store the canonical one.
CREATE TRIGGER pending_calls_appointment_time_canonical AFTER INSERT ON pending_calls
    WHEN NEW.appointment_time IS NOT NULL AND NEW.appointment_time IS NOT strftime('%Y-%m-%dT%H:%M:%fZ', NEW.appointment_time)
BEGIN
    UPDATE pending_calls SET appointment_time = strftime('%Y-%m-%dT%H:%M:%fZ', NEW.appointment_time) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER pending_calls_next_attempt_at_canonical AFTER INSERT ON pending_calls
    WHEN NEW.next_attempt_at IS NOT NULL AND NEW.next_attempt_at IS NOT strftime('%Y-%m-%dT%H:%M:%fZ', NEW.next_attempt_at)
BEGIN
    UPDATE pending_calls SET next_attempt_at = strftime('%Y-%m-%dT%H:%M:%fZ', NEW.next_attempt_at) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER call_classifications_classification_expires_at_canonical AFTER INSERT ON call_classifications
    WHEN NEW.classification_expires_at IS NOT NULL AND NEW.classification_expires_at IS NOT strftime('%Y-%m-%dT%H:%M:%fZ', NEW.classification_expires_at)
BEGIN
    UPDATE call_classifications SET classification_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', NEW.classification_expires_at) WHERE rowid = NEW.rowid;
END;

-- Switchboard schema, PostgreSQL. Mirrors sqlite/0001_init.sql; keep the two side by side.
-- Status CHECK lists mirror switchboard_core::status (PendingStatus, SessionStatus).

CREATE TABLE call_classifications (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    phone_number              text NOT NULL CHECK (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    classification_type       text NOT NULL
        CHECK (classification_type IN ('human', 'ivr_only', 'ivr_then_human')),
    ivr_actions               jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(ivr_actions) = 'array'),
    confidence                double precision NOT NULL DEFAULT 1.0 CHECK (confidence >= 0 AND confidence <= 1),
    source                    text NOT NULL DEFAULT 'classifier'
        CHECK (source IN ('classifier', 'operator', 'observed')),
    source_session_id         uuid,
    classified_at             timestamptz NOT NULL DEFAULT now(),
    classification_expires_at timestamptz NOT NULL,
    is_active                 boolean NOT NULL DEFAULT true,
    success_count             integer NOT NULL DEFAULT 0 CHECK (success_count >= 0),
    failure_count             integer NOT NULL DEFAULT 0 CHECK (failure_count >= 0),
    last_verified_at          timestamptz,
    deactivated_at            timestamptz,
    deactivation_reason       text,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pending_calls (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    exam_id                 text NOT NULL,
    employee_name           text NOT NULL,
    employee_dob            date,
    client_name             text,
    clinic_name             text,
    phone                   text NOT NULL,
    phone_e164              text CHECK (phone_e164 ~ '^\+[1-9][0-9]{7,14}$'),
    appointment_time        timestamptz NOT NULL,
    clinic_timezone         text,
    procedures              text,
    instructions            text,
    assistant_context       jsonb,
    call_status             text NOT NULL DEFAULT 'pending'
        CHECK (call_status IN ('pending', 'calling', 'retry_scheduled', 'completed', 'failed', 'cancelled', 'needs_manual')),
    classification_id       uuid REFERENCES call_classifications (id) ON DELETE SET NULL,
    attempt_count           integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    max_attempts            integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 20),
    next_attempt_at         timestamptz,
    last_attempt_at         timestamptz,
    outcome_success         boolean,
    outcome_ended_reason    text,
    outcome_summary         text,
    outcome_structured_data jsonb,
    outcome_at              timestamptz,
    last_error_code         text,
    last_error_message      text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE call_sessions (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id                 text UNIQUE,
    pending_call_id         uuid NOT NULL REFERENCES pending_calls (id) ON DELETE CASCADE,
    classification_id       uuid REFERENCES call_classifications (id) ON DELETE SET NULL,
    attempt_number          integer NOT NULL CHECK (attempt_number >= 1),
    call_status             text NOT NULL DEFAULT 'initiating'
        CHECK (call_status IN ('initiating', 'queued', 'initiated', 'ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed', 'canceled')),
    routing_decision        text CHECK (routing_decision IN ('bridge', 'replay_then_bridge', 'classify', 'hangup')),
    counts_as_attempt       boolean NOT NULL DEFAULT true,
    ivr_detected            boolean,
    detected_classification text CHECK (detected_classification IN
        ('human', 'ivr_only', 'ivr_then_human', 'voicemail', 'no_answer', 'silence', 'disconnected', 'fax', 'unknown')),
    detection_confidence    double precision CHECK (detection_confidence >= 0 AND detection_confidence <= 1),
    detection_decided_at_ms integer,
    ivr_actions_taken       jsonb,
    answered_by             text,
    sip_bridged             boolean,
    dial_call_status        text,
    dial_sip_response_code  integer,
    last_sequence_number    integer,
    sip_response_code       integer,
    error_code              text,
    error_message           text,
    vapi_call_id            text,
    outcome_success         boolean,
    ended_reason            text,
    outcome_summary         text,
    outcome_structured_data jsonb,
    outcome_at              timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    queued_at               timestamptz,
    answered_at             timestamptz,
    ended_at                timestamptz,
    duration_seconds        integer CHECK (duration_seconds >= 0),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pending_call_id, attempt_number)
);

ALTER TABLE call_classifications
    ADD CONSTRAINT call_classifications_source_session_fk
    FOREIGN KEY (source_session_id) REFERENCES call_sessions (id) ON DELETE SET NULL;

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
    WHERE is_active;
CREATE INDEX call_classifications_lookup_idx ON call_classifications (phone_number, classification_expires_at)
    WHERE is_active;
-- "View all attempts": sessions of a pending call, newest first (also the FK's index).
CREATE INDEX call_sessions_pending_idx ON call_sessions (pending_call_id, created_at DESC);
-- In-flight limit and the stale-session sweep.
CREATE INDEX call_sessions_open_idx ON call_sessions (created_at)
    WHERE call_status IN ('initiating', 'queued', 'initiated', 'ringing', 'in_progress');
-- Sessions awaiting their outcome after the line closed (sweep).
CREATE INDEX call_sessions_awaiting_outcome_idx ON call_sessions (ended_at)
    WHERE outcome_at IS NULL AND ended_at IS NOT NULL;

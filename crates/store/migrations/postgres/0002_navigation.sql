-- Navigate mode: media time (ms from answer) at which Switchboard handed the call to the
-- assistant, so key presses the assistant reports (timed from its own start) can be placed on
-- the call's timeline and appended to the steps Switchboard pressed itself (ivr_actions_taken).
ALTER TABLE call_sessions ADD COLUMN handoff_at_ms integer CHECK (handoff_at_ms >= 0);

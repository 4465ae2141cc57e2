#!/usr/bin/env python3
"""Writes crates/server/openapi.json, the OpenAPI 3.0 document of the admin API and the
VAPI data endpoint. Run after changing a route or a field: python3 scripts/gen_openapi.py"""
import json, os

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def err(desc): return {"description": desc, "content": {"application/json": {"schema": ref("Error")}}}
def ok(desc, schema): return {"description": desc, "content": {"application/json": {"schema": schema}}}
S = lambda t, **kw: dict(type=t, **kw)
nullable = lambda t, **kw: dict(type=t, nullable=True, **kw)

pending_status = ["pending", "calling", "retry_scheduled", "completed", "failed", "cancelled", "needs_manual"]
session_status = ["initiating", "queued", "initiated", "ringing", "in_progress", "completed", "busy", "no_answer", "failed", "canceled"]

pending = {"type": "object", "properties": {
    "id": S("string", format="uuid"), "exam_id": S("string"), "employee_name": S("string"),
    "employee_dob": nullable("string", format="date"), "client_name": nullable("string"), "clinic_name": nullable("string"),
    "phone": S("string", description="As given"), "phone_e164": nullable("string", description="Normalised E.164 copy"),
    "appointment_time": S("string", format="date-time"), "clinic_timezone": nullable("string", description="IANA zone"),
    "procedures": nullable("string"), "instructions": nullable("string"), "assistant_context": nullable("object"),
    "call_status": S("string", enum=pending_status), "classification_id": nullable("string", format="uuid"),
    "attempt_count": S("integer"), "max_attempts": S("integer"),
    "next_attempt_at": nullable("string", format="date-time"), "last_attempt_at": nullable("string", format="date-time"),
    "outcome_success": nullable("boolean"), "outcome_ended_reason": nullable("string"), "outcome_summary": nullable("string"),
    "outcome_structured_data": nullable("object"), "outcome_at": nullable("string", format="date-time"),
    "last_error_code": nullable("string"), "last_error_message": nullable("string"),
    "created_at": S("string", format="date-time"), "updated_at": S("string", format="date-time")},
    "required": ["id", "exam_id", "employee_name", "phone", "appointment_time", "call_status", "attempt_count", "max_attempts", "created_at", "updated_at"]}

new_pending = {"type": "object", "additionalProperties": False, "required": ["exam_id", "employee_name", "phone", "appointment_time"],
    "properties": {
    "exam_id": S("string"), "employee_name": S("string"), "employee_dob": S("string", format="date"),
    "client_name": S("string"), "clinic_name": S("string"), "phone": S("string", description="Any format that parses to E.164"),
    "appointment_time": S("string", format="date-time", description="RFC 3339 with an offset"),
    "clinic_timezone": S("string", description="IANA zone; default SWITCHBOARD_DEFAULT_TIMEZONE"),
    "procedures": S("string"), "instructions": S("string"), "assistant_context": S("object"),
    "max_attempts": S("integer", minimum=1, maximum=20)}}

session = {"type": "object", "properties": {
    "id": S("string", format="uuid"), "call_id": nullable("string", description="Twilio CallSid"),
    "pending_call_id": S("string", format="uuid"), "classification_id": nullable("string", format="uuid"),
    "attempt_number": S("integer"), "call_status": S("string", enum=session_status),
    "routing_decision": nullable("string", enum=["bridge", "replay_then_bridge", "classify", "hangup"]),
    "counts_as_attempt": S("boolean"), "ivr_detected": nullable("boolean"), "detected_classification": nullable("string"),
    "detection_confidence": nullable("number"), "detection_decided_at_ms": nullable("integer"), "ivr_actions_taken": nullable("array", items={}),
    "handoff_at_ms": nullable("integer", description="navigate mode: media ms from answer when the call was handed to the assistant"),
    "answered_by": nullable("string"), "sip_bridged": nullable("boolean"), "dial_call_status": nullable("string"),
    "dial_sip_response_code": nullable("integer"), "last_sequence_number": nullable("integer"), "sip_response_code": nullable("integer"),
    "error_code": nullable("string"), "error_message": nullable("string"), "vapi_call_id": nullable("string"),
    "outcome_success": nullable("boolean"), "ended_reason": nullable("string"), "outcome_summary": nullable("string"),
    "outcome_structured_data": nullable("object"), "outcome_at": nullable("string", format="date-time"),
    "created_at": S("string", format="date-time"), "queued_at": nullable("string", format="date-time"),
    "answered_at": nullable("string", format="date-time"), "ended_at": nullable("string", format="date-time"),
    "duration_seconds": nullable("integer"), "updated_at": S("string", format="date-time")}}

ivr_action = {"type": "object", "required": ["after_ms", "digits"], "properties": {
    "after_ms": S("integer", minimum=0, maximum=600000, description="Milliseconds after answer"),
    "digits": S("string", pattern="^[0-9*#A-D]{1,32}$")}}

classification = {"type": "object", "properties": {
    "id": S("string", format="uuid"), "phone_number": S("string"), "classification_type": S("string", enum=["human", "ivr_only", "ivr_then_human"]),
    "ivr_actions": S("array", items=ref("IvrAction")), "confidence": S("number"), "source": S("string", enum=["classifier", "operator", "observed"]),
    "source_session_id": nullable("string", format="uuid"), "classified_at": S("string", format="date-time"),
    "classification_expires_at": S("string", format="date-time"), "is_active": S("boolean"),
    "success_count": S("integer"), "failure_count": S("integer"), "last_verified_at": nullable("string", format="date-time"),
    "deactivated_at": nullable("string", format="date-time"), "deactivation_reason": nullable("string"),
    "created_at": S("string", format="date-time"), "updated_at": S("string", format="date-time")}}

put_classification = {"type": "object", "additionalProperties": False, "required": ["classification_type"], "properties": {
    "classification_type": S("string", enum=["human", "ivr_only", "ivr_then_human"]),
    "ivr_actions": S("array", items=ref("IvrAction")), "confidence": S("number", minimum=0, maximum=1),
    "expires_in_days": S("integer", minimum=1, maximum=365)}}

error = {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
    "code": S("string"), "message": S("string"),
    "fields": S("array", items={"type": "object", "properties": {"field": S("string"), "message": S("string")}})}}}}

id_param = {"name": "id", "in": "path", "required": True, "schema": S("string", format="uuid")}
phone_param = {"name": "phone", "in": "path", "required": True, "schema": S("string"), "description": "Any format that parses to E.164 (URL-encode +)"}
auth_errors = {"401": err("Missing or wrong bearer token"), "503": err("SWITCHBOARD_API_TOKEN not configured")}

doc = {
  "openapi": "3.0.3",
  "info": {"title": "Switchboard admin API", "version": "1", "description": "Pending calls, their attempts, dispatch and classifications. JSON field names are the database column names."},
  "servers": [{"url": "/"}],
  "security": [{"bearer": []}],
  "paths": {
    "/api/v1/pending-calls": {
      "post": {"summary": "Create a pending call", "operationId": "createPendingCall",
               "requestBody": {"required": True, "content": {"application/json": {"schema": ref("NewPendingCall")}}},
               "responses": {"201": ok("Stored", ref("PendingCall")), "400": err("Not JSON"), "422": err("Invalid fields (see error.fields)"), **auth_errors}},
      "get": {"summary": "List pending calls", "operationId": "listPendingCalls",
              "parameters": [{"name": "status", "in": "query", "schema": S("string", enum=pending_status)},
                             {"name": "date", "in": "query", "schema": S("string", format="date"), "description": "Appointment day in `tz`"},
                             {"name": "tz", "in": "query", "schema": S("string"), "description": "IANA zone for `date` (default SWITCHBOARD_DEFAULT_TIMEZONE)"},
                             {"name": "limit", "in": "query", "schema": S("integer", minimum=1, maximum=500, default=50)},
                             {"name": "offset", "in": "query", "schema": S("integer", minimum=0, default=0)}],
              "responses": {"200": ok("A page", {"type": "object", "properties": {"items": S("array", items=ref("PendingCall")), "limit": S("integer"), "offset": S("integer"), "next_offset": nullable("integer")}}), "400": err("Bad query"), **auth_errors}}},
    "/api/v1/stats": {"get": {"summary": "Success metrics of one appointment day", "operationId": "getStats",
        "parameters": [{"name": "date", "in": "query", "schema": S("string", format="date"), "description": "Appointment day (default today in tz)"},
                       {"name": "tz", "in": "query", "schema": S("string"), "description": "IANA zone (default SWITCHBOARD_DEFAULT_TIMEZONE)"}],
        "responses": {"200": ok("Metrics", {"type": "object", "properties": {"date": S("string", format="date"), "tz": S("string"),
            "total_calls": S("integer"), "successful": S("integer"), "by_status": S("object"), "success_rate": nullable("number"),
            "success_rate_of_finished": nullable("number"), "attempts": S("integer")}}), "400": err("Bad query"), **auth_errors}}},
    "/api/v1/pending-calls/{id}": {"get": {"summary": "Get a pending call", "operationId": "getPendingCall", "parameters": [id_param],
        "responses": {"200": ok("Found", ref("PendingCall")), "400": err("Malformed id"), "404": err("Unknown id"), **auth_errors}}},
    "/api/v1/pending-calls/{id}/sessions": {"get": {"summary": "All attempts, newest first", "operationId": "listSessions", "parameters": [id_param],
        "responses": {"200": ok("Sessions", {"type": "object", "properties": {"items": S("array", items=ref("CallSession"))}}), "400": err("Malformed id"), "404": err("Unknown id"), **auth_errors}}},
    "/api/v1/pending-calls/{id}/cancel": {"post": {"summary": "Cancel a pending call", "operationId": "cancelPendingCall", "parameters": [id_param],
        "responses": {"200": ok("Cancelled", ref("PendingCall")), "400": err("Malformed id"), "404": err("Unknown id"), "409": err("Calling, completed, failed or already cancelled"), **auth_errors}}},
    "/api/v1/pending-calls/{id}/dispatch": {"post": {"summary": "Place an attempt now (the seed's Edge Function)", "operationId": "dispatchPendingCall", "parameters": [id_param],
        "responses": {"202": ok("Claimed; the call is being placed", {"type": "object", "required": ["session_id"], "properties": {"session_id": S("string", format="uuid")}}),
                      "400": err("Malformed id"), "404": err("Unknown id"), "409": err("Already calling, completed, cancelled, failed, or out of attempts"), "401": err("Missing or wrong bearer token"), "503": err("Twilio or the admin token not configured")}}},
    "/api/v1/classifications/{phone}": {
      "get": {"summary": "Active classification of a number", "operationId": "getClassification", "parameters": [phone_param],
              "responses": {"200": ok("Active", ref("Classification")), "400": err("Not a phone number"), "404": err("None active"), **auth_errors}},
      "put": {"summary": "Record or correct a clinic's phone system", "operationId": "putClassification", "parameters": [phone_param],
              "requestBody": {"required": True, "content": {"application/json": {"schema": ref("PutClassification")}}},
              "responses": {"200": ok("Stored (replaces the active one)", ref("Classification")), "400": err("Not a phone number"), "422": err("Invalid fields"), **auth_errors}},
      "delete": {"summary": "Invalidate the cached classification", "operationId": "deleteClassification", "parameters": [phone_param],
                 "responses": {"204": {"description": "Deactivated"}, "400": err("Not a phone number"), "404": err("None active"), **auth_errors}}},
    "/vapi/pending-calls/{id}": {"get": {"summary": "VAPI data retrieval (read-only)", "operationId": "vapiGetPendingCall", "parameters": [id_param],
        "security": [{"bearer": []}, {"vapiSecret": []}],
        "responses": {"200": ok("What the assistant needs", {"type": "object"}), "400": err("Malformed id"), "401": err("Missing or wrong secret"), "404": err("Unknown id")}}},
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "vapiSecret": {"type": "apiKey", "in": "header", "name": "X-Vapi-Secret"}},
    "schemas": {"PendingCall": pending, "NewPendingCall": new_pending, "CallSession": session, "IvrAction": ivr_action,
                "Classification": classification, "PutClassification": put_classification, "Error": error}}
}
out = os.path.join(os.path.dirname(__file__), "..", "crates", "server", "openapi.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")

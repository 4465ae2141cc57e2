//! VAPI's server-URL protocol: reading its messages tolerantly (the documented shapes disagree,
//! see protocols.md E.2) and building the responses it expects. No I/O here.

use serde_json::{Map, Value, json};
use switchboard_core::PendingCallId;
use switchboard_store::PendingCall;

/// Whether a variable/header name is ours: `X-pendingcallid`, `pendingcallid`, `pending_call_id`,
/// `pendingCallId`, `X-Pending-Call-Id`… compared case- and separator-insensitively.
fn is_pending_call_key(k: &str) -> bool {
    let norm: String = k
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(|c| c.to_lowercase())
        .collect();
    norm == "pendingcallid" || norm == "xpendingcallid"
}

fn find_in(obj: Option<&Value>) -> Option<PendingCallId> {
    let map = obj?.as_object()?;
    map.iter()
        .filter(|(k, _)| is_pending_call_key(k))
        .find_map(|(_, v)| v.as_str().and_then(|s| PendingCallId::parse(s).ok()))
}

/// Finds the pending call id in a server message: the call's variable values (where VAPI puts
/// SIP `X-` headers), then the SIP headers themselves, then other places integrations use.
pub fn pending_call_id(message: &Value) -> Option<PendingCallId> {
    let call = message.get("call");
    let candidates = [
        call.and_then(|c| c.pointer("/assistantOverrides/variableValues")),
        message.pointer("/assistant/variableValues"),
        message.pointer("/assistantOverrides/variableValues"),
        call.and_then(|c| c.pointer("/phoneCallProviderDetails/sip/headers")),
        call.and_then(|c| c.pointer("/metadata")),
        message.pointer("/artifact/variableValues"),
        message.pointer("/variableValues"),
    ];
    candidates.into_iter().find_map(find_in)
}

/// One tool call, whichever documented shape it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Map<String, Value>,
}

fn parse_tool_call(v: &Value) -> Option<ToolCall> {
    let id = v.get("id")?.as_str()?.to_string();
    let name = v
        .pointer("/function/name")
        .or_else(|| v.get("name"))
        .and_then(Value::as_str)?
        .to_string();
    let raw = v
        .pointer("/function/arguments")
        .or_else(|| v.get("arguments"))
        .or_else(|| v.get("parameters"));
    let arguments = match raw {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => serde_json::from_str::<Map<String, Value>>(s).unwrap_or_default(),
        _ => Map::new(),
    };
    Some(ToolCall {
        id,
        name,
        arguments,
    })
}

/// The tool calls of a `tool-calls` message (`toolCallList`, or `toolWithToolCallList[].toolCall`).
pub fn tool_calls(message: &Value) -> Vec<ToolCall> {
    if let Some(list) = message.get("toolCallList").and_then(Value::as_array) {
        return list.iter().filter_map(parse_tool_call).collect();
    }
    message
        .get("toolWithToolCallList")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|t| t.get("toolCall").and_then(parse_tool_call))
                .collect()
        })
        .unwrap_or_default()
}

/// The fields the assistant may use, as template variables and as the data endpoint's body.
pub fn assistant_view(p: &PendingCall) -> Value {
    let local = p
        .clinic_timezone
        .as_deref()
        .and_then(|tz| tz.parse::<chrono_tz::Tz>().ok())
        .map(|tz| {
            p.appointment_time
                .with_timezone(&tz)
                .format("%A, %B %-d, %Y at %-I:%M %p %Z")
                .to_string()
        });
    json!({
        "pending_call_id": p.id,
        "exam_id": p.exam_id,
        "employee_name": p.employee_name,
        "employee_dob": p.employee_dob,
        "client_name": p.client_name,
        "clinic_name": p.clinic_name,
        "phone": p.phone_e164.as_deref().unwrap_or(&p.phone),
        "appointment_time": p.appointment_time,
        "appointment_time_local": local,
        "clinic_timezone": p.clinic_timezone,
        "procedures": p.procedures,
        "instructions": p.instructions,
        "assistant_context": p.assistant_context,
    })
}

/// `assistant-request` answer: fills `variableValues` (and names the assistant when configured).
pub fn assistant_request_response(p: &PendingCall, assistant_id: Option<&str>) -> Value {
    let mut vars = assistant_view(p);
    if let Some(m) = vars.as_object_mut() {
        m.insert("pendingcallid".into(), json!(p.id));
    }
    let mut out = json!({ "assistantOverrides": { "variableValues": vars } });
    if let Some(id) = assistant_id {
        out["assistantId"] = json!(id);
    }
    out
}

/// The keys the assistant pressed with VAPI's `dtmf` tool, with their time from the start of the
/// assistant's call (ms), from the report's `artifact.messages` (tool-call messages carry
/// `secondsFromStart`).
pub fn dtmf_presses(message: &Value) -> Vec<(u32, String)> {
    let messages = message
        .pointer("/artifact/messages")
        .or_else(|| message.get("messages"))
        .and_then(Value::as_array);
    let mut out = Vec::new();
    for m in messages.into_iter().flatten() {
        let at = m
            .get("secondsFromStart")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        for call in m
            .get("toolCalls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(tc) = parse_tool_call(call) else {
                continue;
            };
            if tc.name != "dtmf" {
                continue;
            }
            if let Some(keys) = tc.arguments.get("keys").and_then(Value::as_str) {
                out.push(((at * 1000.0).round().max(0.0) as u32, keys.to_string()));
            }
        }
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

/// End reasons that mean the assistant held a conversation that ended normally.
const CONVERSATION_ENDED: &[&str] = &[
    "assistant-ended-call",
    "assistant-said-end-call-phrase",
    "assistant-ended-call-after-message-spoken",
    "assistant-ended-call-with-hangup-task",
    "customer-ended-call",
    "assistant-forwarded-call",
];

/// Whether the report says the call achieved its purpose: the analysis' success evaluation when
/// it gives a clear verdict, otherwise a conversation that ended normally.
pub fn report_success(message: &Value) -> bool {
    match message.pointer("/analysis/successEvaluation") {
        Some(Value::Bool(b)) => return *b,
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "pass" | "passed" | "success" | "yes" => return true,
            "false" | "fail" | "failed" | "failure" | "no" => return false,
            _ => {}
        },
        _ => {}
    }
    message
        .get("endedReason")
        .and_then(Value::as_str)
        .is_some_and(|r| CONVERSATION_ENDED.contains(&r))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b7e3c1e-2f8a-4d7b-9a55-3f1c2b4d5e6f";

    #[test]
    fn finds_the_id_in_variable_values_case_insensitively() {
        let m = json!({"type":"assistant-request","call":{"assistantOverrides":{"variableValues":{"PendingCallId": ID}}}});
        assert_eq!(pending_call_id(&m).unwrap().to_string(), ID);
        let m = json!({"call":{"phoneCallProviderDetails":{"sip":{"headers":{"X-PENDINGCALLID": ID}}}}});
        assert_eq!(pending_call_id(&m).unwrap().to_string(), ID);
        let m = json!({"call":{"assistantOverrides":{"variableValues":{"pending_call_id": "not-a-uuid"}}}});
        assert_eq!(pending_call_id(&m), None);
    }

    #[test]
    fn parses_both_documented_tool_call_shapes() {
        let schema = json!({"toolCallList":[{"id":"t1","type":"function","function":{"name":"get_pending_call","arguments":"{\"pending_call_id\":\"x\"}"}}]});
        let docs = json!({"toolCallList":[{"id":"t2","name":"get_pending_call","parameters":{"pending_call_id":"y"}}]});
        let nested = json!({"toolWithToolCallList":[{"toolCall":{"id":"t3","name":"get_pending_call","arguments":{"a":1}}}]});
        assert_eq!(tool_calls(&schema)[0].arguments["pending_call_id"], "x");
        assert_eq!(tool_calls(&docs)[0].arguments["pending_call_id"], "y");
        assert_eq!(tool_calls(&nested)[0].id, "t3");
    }

    #[test]
    fn dtmf_tool_calls_are_read_from_the_artifact() {
        let m = json!({"artifact": {"messages": [
            {"role": "bot", "message": "hello", "secondsFromStart": 1.0},
            {"role": "tool_calls", "secondsFromStart": 6.52, "toolCalls": [{"id": "a", "type": "function", "function": {"name": "dtmf", "arguments": "{\"keys\":\"w2\"}"}}]},
            {"role": "tool_calls", "secondsFromStart": 3.0, "toolCalls": [{"id": "b", "type": "function", "function": {"name": "get_pending_call", "arguments": "{}"}}]}
        ]}});
        assert_eq!(dtmf_presses(&m), vec![(6520, "w2".to_string())]);
        assert!(dtmf_presses(&json!({})).is_empty());
    }

    #[test]
    fn success_prefers_the_evaluation_then_the_end_reason() {
        assert!(report_success(
            &json!({"endedReason":"voicemail","analysis":{"successEvaluation":"true"}})
        ));
        assert!(!report_success(
            &json!({"endedReason":"customer-ended-call","analysis":{"successEvaluation":false}})
        ));
        assert!(report_success(
            &json!({"endedReason":"customer-ended-call","analysis":{}})
        ));
        assert!(!report_success(
            &json!({"endedReason":"voicemail","analysis":{}})
        ));
        assert!(!report_success(&json!({"endedReason":"silence-timed-out"})));
    }
}

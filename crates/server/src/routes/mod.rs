//! HTTP handlers, one module per audience. Handlers parse, call the store or dispatcher, and map
//! errors; decisions live in `switchboard_core`.

pub mod admin;
pub mod ops;
pub mod twilio;
pub mod vapi;

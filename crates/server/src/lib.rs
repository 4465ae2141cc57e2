//! The Switchboard service: admin API, Twilio and VAPI webhooks, the dispatcher, and the CLI's
//! building blocks. Only this crate knows HTTP.

pub mod app;
pub mod classify;
pub mod config;
pub mod demo;
pub mod dispatcher;
pub mod error;
pub mod metrics;
pub mod navigate;
pub mod routes;
pub mod speech;
pub mod vapi;

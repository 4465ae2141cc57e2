//! A simulated telephone world that speaks the real protocols: a Twilio stand-in (the carrier),
//! clinic phone systems (`world`, `line`), and a VAPI stand-in. Switchboard runs against it
//! unchanged, with only `TWILIO_API_BASE` and `VAPI_SIP_URI` pointing here.

pub mod audio;
pub mod carrier;
pub mod clock;
pub mod line;
mod playout;
pub mod recogniser;
pub mod twiml;
pub mod vapi;
pub mod world;

pub use carrier::{CallRecord, Carrier, CarrierConfig};
pub use clock::SimClock;
pub use recogniser::{Recogniser, RecogniserConfig};
pub use vapi::{AssistantCall, VapiConfig, VapiSim};
pub use world::{Kind, World};

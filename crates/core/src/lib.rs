//! Switchboard's domain core: the types and rules of placing a call to a clinic and handing it to
//! an assistant. Nothing here does I/O; every function is deterministic given its inputs, so the
//! store, the HTTP server and the dispatcher only ever *apply* decisions made here.

pub mod classification;
pub mod classifier;
pub mod ids;
pub mod learning;
pub mod menu;
pub mod navigator;
pub mod phone;
pub mod retry;
pub mod routing;
pub mod signature;
pub mod status;
pub mod twiml;

pub use classification::{ClassificationType, IvrAction, IvrActions};
pub use ids::{CallSid, PendingCallId, SessionId};
pub use phone::E164;
pub use status::{PendingStatus, SessionStatus};

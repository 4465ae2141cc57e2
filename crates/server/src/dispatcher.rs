//! The dispatcher: one code path for "call this pending call now" (the dispatch endpoint) and
//! "call everything that is due" (the loop in `serve`, and `dispatch --once`).
//!
//! A pass: normalise rows other systems inserted → close sessions that lost track → claim due
//! calls up to the global in-flight limit (claim and session creation commit together) → dial
//! each through Twilio, paced to the calls-per-second limit. Twilio is only called after the
//! claim has committed, and a session that has a CallSid is never dialled again.

use crate::app::Clock;
use crate::config::{DispatchWindow, Settings};
use crate::error::ApiError;
use crate::metrics::Metrics;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::retry::{AttemptOutcome, twilio_code_is_permanent};
use switchboard_core::status::ClaimOrigin;
use switchboard_core::{E164, PendingCallId, SessionId, SessionStatus};
use switchboard_store::{CallProgress, ClaimError, Claimed, Finish, Store, StoreError};
use switchboard_twilio::{Auth, CreateCall, TwilioClient, TwilioConfig};
use tokio::sync::{Mutex, watch};
use tokio::time::Instant;

/// UTC bounds `[start, end)` of a calendar day in a time zone (DST-safe: a day may be 23 or 25 h).
pub fn day_bounds(tz: Tz, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        // A zone may skip midnight (DST at 00:00); then the day starts at the first valid instant.
        tz.from_local_datetime(&midnight)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(midnight + ChronoDuration::hours(1)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
    };
    (
        start_of(day),
        start_of(day.succ_opt().expect("day after exists")),
    )
}

/// Spaces calls at the configured calls-per-second, across all concurrent dials of this process.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(cps: f64) -> Self {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / cps),
            next: Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub normalised: usize,
    pub rejected: usize,
    pub swept: usize,
    pub claimed: usize,
    pub dialled: usize,
    pub dial_failed: usize,
}

/// How one dial ended.
enum DialOutcome {
    /// Twilio accepted the call: the session and its CallSid.
    Placed(SessionId, String),
    Failed,
}

pub struct Dispatcher {
    settings: Arc<Settings>,
    store: Store,
    twilio: Option<TwilioClient>,
    metrics: Arc<Metrics>,
    clock: Clock,
    pacer: Pacer,
}

impl Dispatcher {
    pub fn new(
        settings: Arc<Settings>,
        store: Store,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let twilio = match &settings.twilio {
            None => None,
            Some(t) => {
                let auth = match (&t.api_key, &t.auth_token) {
                    (Some((sid, secret)), _) => Auth::ApiKey {
                        sid: sid.clone(),
                        secret: secret.expose().to_string(),
                    },
                    (None, Some(token)) => Auth::AuthToken(token.expose().to_string()),
                    (None, None) => anyhow::bail!("TWILIO_AUTH_TOKEN or an API key is required"),
                };
                Some(TwilioClient::new(TwilioConfig {
                    api_base: t.api_base.clone(),
                    account_sid: t.account_sid.clone(),
                    auth,
                })?)
            }
        };
        let pacer = Pacer::new(settings.calls_per_second);
        Ok(Dispatcher {
            settings,
            store,
            twilio,
            metrics,
            clock,
            pacer,
        })
    }

    /// The Twilio REST client (navigate mode updates live calls with it).
    pub fn twilio(&self) -> Option<&TwilioClient> {
        self.twilio.as_ref()
    }

    pub fn can_place_calls(&self) -> bool {
        self.twilio.is_some()
    }

    /// Claims one pending call now and dials it in the background (the dispatch endpoint).
    pub async fn dispatch_one(self: &Arc<Self>, pid: PendingCallId) -> Result<SessionId, ApiError> {
        if self.twilio.is_none() {
            return Err(ApiError::unavailable(
                "twilio_not_configured",
                "placing calls needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN (or an API key), TWILIO_FROM_NUMBER, \
                 SWITCHBOARD_PUBLIC_URL and VAPI_SIP_URI",
            ));
        }
        let claimed = match self
            .store
            .claim_one(pid, ClaimOrigin::Manual, self.clock.now())
            .await?
        {
            Ok(c) => c,
            Err(ClaimError::NotFound) => {
                return Err(ApiError::not_found("no pending call with this id"));
            }
            Err(ClaimError::Transition(e)) => {
                return Err(ApiError::conflict("invalid_state", e.to_string()));
            }
            Err(ClaimError::InvalidPhone(m)) => return Err(ApiError::conflict("invalid_phone", m)),
        };
        self.record_claim(&claimed);
        let session_id = claimed.session_id;
        let me = self.clone();
        tokio::spawn(async move { me.dial(claimed, true).await });
        Ok(session_id)
    }

    /// One dispatcher pass; waits for every dial it started.
    pub async fn run_once(&self) -> Result<PassReport, StoreError> {
        let mut report = PassReport::default();
        self.intake(&mut report).await?;
        self.sweep(&mut report).await?;
        if self.twilio.is_none() {
            return Ok(report);
        }
        let in_flight = self.store.count_in_flight().await?;
        let mut capacity = self.settings.max_in_flight - in_flight;
        if capacity <= 0 {
            return Ok(report);
        }
        let now = self.clock.now();
        let mut claimed = Vec::new();
        for tz_name in self.store.due_timezones().await? {
            if capacity <= 0 {
                break;
            }
            let Ok(tz) = tz_name.parse::<Tz>() else {
                let n = self.store.fail_timezone(&tz_name, now).await?;
                tracing::warn!(
                    failed = n,
                    "pending calls with an unknown clinic_timezone failed"
                );
                report.rejected += n as usize;
                continue;
            };
            let (from, until) = match self.settings.dispatch_window {
                DispatchWindow::Today => day_bounds(tz, now.with_timezone(&tz).date_naive()),
                DispatchWindow::Any => (
                    Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
                    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap(),
                ),
            };
            let batch = self
                .store
                .claim_due(&tz_name, from, until, now, capacity.min(500))
                .await?;
            capacity -= batch.len() as i64;
            claimed.extend(batch);
        }
        report.claimed = claimed.len();
        for c in &claimed {
            self.record_claim(c);
        }
        let results =
            futures_util::future::join_all(claimed.into_iter().map(|c| self.dial(c, false))).await;
        let mut placed = Vec::with_capacity(results.len());
        for r in results {
            match r {
                DialOutcome::Placed(sid, call_sid) => placed.push((sid, call_sid)),
                DialOutcome::Failed => report.dial_failed += 1,
            }
        }
        report.dialled = placed.len();
        // One write for the pass. A status callback that arrives first records the CallSid itself.
        if let Err(e) = self
            .store
            .mark_dialled_batch(&placed, self.clock.now())
            .await
        {
            tracing::error!(error = %e, "could not record CallSids; callbacks will");
        }
        Ok(report)
    }

    /// Runs passes every `SWITCHBOARD_DISPATCH_INTERVAL_SECS` until shutdown.
    pub async fn run_loop(&self, mut shutdown: watch::Receiver<bool>) {
        if self.twilio.is_none() {
            tracing::warn!(
                "dispatcher running without Twilio settings: rows are normalised but no calls are placed \
                 (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, SWITCHBOARD_PUBLIC_URL, VAPI_SIP_URI)"
            );
        }
        loop {
            match self.run_once().await {
                Ok(r) if r.claimed > 0 || r.swept > 0 || r.rejected > 0 => {
                    tracing::info!(?r, "dispatcher pass")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "dispatcher pass failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.dispatch_interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }

    fn record_claim(&self, c: &Claimed) {
        let hit = if c.classification.is_some() {
            "result=\"hit\""
        } else {
            "result=\"miss\""
        };
        self.metrics
            .inc("switchboard_classification_cache_total", hit);
        self.metrics.inc("switchboard_dispatch_claims_total", "");
        let lag = (self.clock.now() - c.due_since).num_milliseconds().max(0) as f64 / 1000.0;
        self.metrics.set_dispatcher_lag(lag);
    }

    /// Places the call for a claimed session. Never retries a create that Twilio may have
    /// processed: such a session stays `initiating` until a status callback or the sweep
    /// settles it.
    async fn dial(&self, c: Claimed, record_now: bool) -> DialOutcome {
        let (Some(client), Some(twilio), Some(public)) = (
            &self.twilio,
            &self.settings.twilio,
            self.settings.public_url.as_deref(),
        ) else {
            return DialOutcome::Failed;
        };
        self.pacer.wait().await;
        let sid = c.session_id;
        let req = CreateCall {
            to: c.to.clone(),
            from: twilio.from_number.as_str().to_string(),
            url: format!("{public}/twilio/voice/{sid}"),
            status_callback: format!("{public}/twilio/status/{sid}"),
            timeout_secs: Some(self.settings.ring_timeout_secs),
            time_limit_secs: Some(4 * 3600),
        };
        let result = client.create_call(&req).await;
        let now = self.clock.now();
        let outcome = match result {
            Ok(call) => {
                if record_now && let Err(e) = self.store.mark_dialled(sid, &call.sid, now).await {
                    // The callbacks carry the CallSid too; the session is not lost.
                    tracing::error!(session_id = %sid, error = %e, "could not record CallSid");
                }
                self.metrics
                    .inc("switchboard_twilio_calls_created_total", "");
                return DialOutcome::Placed(sid, call.sid);
            }
            Err(e) => e,
        };
        let code = outcome
            .code()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "twilio_unavailable".into());
        // Twilio's message may quote the number: log the code only; the message is stored.
        tracing::warn!(session_id = %sid, code = %code, retryable = outcome.is_retryable(), "Twilio did not place the call");
        self.metrics.inc(
            "switchboard_twilio_errors_total",
            &format!("retryable=\"{}\"", outcome.is_retryable()),
        );
        let finish = if outcome.was_not_processed() {
            Some(AttemptOutcome::NotPlaced)
        } else if outcome.is_retryable() {
            None
        } else if outcome.code().is_some_and(twilio_code_is_permanent) {
            Some(AttemptOutcome::Permanent)
        } else {
            Some(AttemptOutcome::Retryable)
        };
        let progress = CallProgress {
            status: finish.map(|_| SessionStatus::Failed),
            error_code: Some(code.clone()),
            error_message: Some(outcome.to_string().chars().take(500).collect()),
            ..CallProgress::default()
        };
        let _ = self.store.apply_call_progress(sid, &progress, now).await;
        if let Some(o) = finish {
            let f = Finish {
                outcome: o,
                error_code: Some(code),
                error_message: Some(outcome.to_string()),
            };
            if let Err(e) = self
                .store
                .finish_attempt(sid, &f, &self.settings.retry, now)
                .await
            {
                tracing::error!(session_id = %sid, error = %e, "could not finish attempt");
            }
        }
        DialOutcome::Failed
    }

    async fn intake(&self, report: &mut PassReport) -> Result<(), StoreError> {
        let now = self.clock.now();
        for row in self.store.rows_needing_intake(500).await? {
            let tz = row
                .clinic_timezone
                .clone()
                .unwrap_or_else(|| self.settings.default_timezone.name().to_string());
            let result = match (E164::parse(&row.phone), tz.parse::<Tz>()) {
                (Err(e), _) => Err(("invalid_phone", e.to_string())),
                (_, Err(_)) => Err((
                    "invalid_timezone",
                    "clinic_timezone is not an IANA time zone".to_string(),
                )),
                (Ok(p), Ok(t)) => Ok((p.as_str().to_string(), t.name().to_string())),
            };
            match result {
                Ok(v) => {
                    self.store.complete_intake(row.id, Ok(v), now).await?;
                    report.normalised += 1;
                }
                Err((code, msg)) => {
                    tracing::warn!(pending_call_id = %row.id, code, "pending call rejected at intake");
                    self.store
                        .complete_intake(row.id, Err((code, &msg)), now)
                        .await?;
                    report.rejected += 1;
                }
            }
        }
        Ok(())
    }

    /// Settles sessions that lost track so no pending call stays `calling` forever.
    async fn sweep(&self, report: &mut PassReport) -> Result<(), StoreError> {
        let now = self.clock.now();
        let stale = self
            .store
            .stale_sessions(
                now - ChronoDuration::minutes(10),
                now - ChronoDuration::hours(6),
                now - ChronoDuration::minutes(30),
                200,
            )
            .await?;
        for s in stale {
            let (code, message) = if s.ended_at.is_some() {
                (
                    "no_assistant_report",
                    "the call ended but the assistant never reported an outcome",
                )
            } else {
                ("lost_track", "no progress from Twilio for this session")
            };
            tracing::warn!(session_id = %s.id, code, "sweeping stale session");
            self.store.close_lost_session(s.id, now).await?;
            let f = Finish {
                outcome: AttemptOutcome::Retryable,
                error_code: Some(code.into()),
                error_message: Some(message.into()),
            };
            self.store
                .finish_attempt(s.id, &f, &self.settings.retry, now)
                .await?;
            report.swept += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_bounds_follow_dst() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let (a, b) = day_bounds(tz, NaiveDate::from_ymd_opt(2026, 3, 8).unwrap());
        assert_eq!(a.to_rfc3339(), "2026-03-08T05:00:00+00:00");
        assert_eq!((b - a).num_hours(), 23);
        let (a, b) = day_bounds(tz, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        assert_eq!(a.to_rfc3339(), "2026-11-24T05:00:00+00:00");
        assert_eq!((b - a).num_hours(), 24);
    }
}

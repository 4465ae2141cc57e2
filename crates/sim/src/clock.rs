//! Simulated time: the simulators wait in *simulated* seconds, scaled by a speed factor, so a
//! demo can replay days of calls in minutes while every protocol exchange stays real.

use std::sync::Arc;
use std::time::Duration;

/// Scales simulated durations to real ones. `speed = 1.0` is real time.
#[derive(Clone)]
pub struct SimClock {
    speed: f64,
    /// "Now" in the simulated world (the demo shares the service's adjustable clock).
    now: Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>,
}

impl SimClock {
    pub fn new(
        speed: f64,
        now: Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>,
    ) -> Self {
        SimClock {
            speed: speed.max(0.001),
            now,
        }
    }

    pub fn real_time() -> Self {
        Self::new(1.0, Arc::new(chrono::Utc::now))
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.now)()
    }

    /// The real duration of `sim_ms` simulated milliseconds.
    pub fn real(&self, sim_ms: u64) -> Duration {
        Duration::from_secs_f64(sim_ms as f64 / 1000.0 / self.speed)
    }

    /// Sleeps for `sim_ms` simulated milliseconds.
    pub async fn sleep(&self, sim_ms: u64) {
        tokio::time::sleep(self.real(sim_ms)).await;
    }
}

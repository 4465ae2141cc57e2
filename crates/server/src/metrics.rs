//! Prometheus metrics, hand-rolled: a few counters and one latency histogram are all the
//! service needs, and the text format is simple. Row counts by status are read from the
//! database at scrape time, so every instance reports the shared truth.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;
use switchboard_store::StatusCounts;

const BUCKETS_MS: &[f64] = &[
    0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum_ms: f64,
    total: u64,
}

/// In-process counters of this instance.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(String, String), u64>>,
    webhook_latency: Mutex<BTreeMap<String, Histogram>>,
    dispatcher_lag_seconds: Mutex<f64>,
}

impl Metrics {
    /// Adds one to counter `name` with a single `label="value"` pair (may be empty).
    pub fn inc(&self, name: &str, label: &str) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry((name.to_string(), label.to_string())).or_default() += 1;
    }

    pub fn observe_webhook(&self, route: &str, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let mut h = self
            .webhook_latency
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let e = h.entry(route.to_string()).or_insert_with(|| Histogram {
            counts: vec![0; BUCKETS_MS.len()],
            ..Default::default()
        });
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                e.counts[i] += 1;
            }
        }
        e.sum_ms += ms;
        e.total += 1;
    }

    pub fn set_dispatcher_lag(&self, seconds: f64) {
        *self
            .dispatcher_lag_seconds
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = seconds;
    }

    /// Renders the exposition text, with the database's status counts.
    pub fn render(&self, counts: Option<&StatusCounts>) -> String {
        let mut out = String::new();
        if let Some(c) = counts {
            out.push_str("# HELP switchboard_pending_calls Pending calls by call_status.\n# TYPE switchboard_pending_calls gauge\n");
            for (s, n) in &c.pending_calls {
                let _ = writeln!(out, "switchboard_pending_calls{{status=\"{s}\"}} {n}");
            }
            out.push_str("# HELP switchboard_call_sessions Call sessions by call_status.\n# TYPE switchboard_call_sessions gauge\n");
            for (s, n) in &c.call_sessions {
                let _ = writeln!(out, "switchboard_call_sessions{{status=\"{s}\"}} {n}");
            }
            out.push_str("# HELP switchboard_active_classifications Active cached classifications.\n# TYPE switchboard_active_classifications gauge\n");
            let _ = writeln!(
                out,
                "switchboard_active_classifications {}",
                c.active_classifications
            );
        }
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut last = "";
        for ((name, label), v) in counters.iter() {
            if name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            if label.is_empty() {
                let _ = writeln!(out, "{name} {v}");
            } else {
                let _ = writeln!(out, "{name}{{{label}}} {v}");
            }
        }
        drop(counters);
        out.push_str("# HELP switchboard_webhook_latency_ms Webhook handling time in milliseconds.\n# TYPE switchboard_webhook_latency_ms histogram\n");
        let h = self
            .webhook_latency
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (route, hist) in h.iter() {
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "switchboard_webhook_latency_ms_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    hist.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "switchboard_webhook_latency_ms_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                hist.total
            );
            let _ = writeln!(
                out,
                "switchboard_webhook_latency_ms_sum{{route=\"{route}\"}} {}",
                hist.sum_ms
            );
            let _ = writeln!(
                out,
                "switchboard_webhook_latency_ms_count{{route=\"{route}\"}} {}",
                hist.total
            );
        }
        drop(h);
        let lag = *self
            .dispatcher_lag_seconds
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP switchboard_dispatcher_lag_seconds How late the last claimed call was, in seconds.\n# TYPE switchboard_dispatcher_lag_seconds gauge\n");
        let _ = writeln!(out, "switchboard_dispatcher_lag_seconds {lag}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe_webhook("voice", Duration::from_micros(700));
        m.observe_webhook("voice", Duration::from_millis(30));
        let text = m.render(None);
        assert!(
            text.contains("switchboard_webhook_latency_ms_bucket{route=\"voice\",le=\"1\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("switchboard_webhook_latency_ms_bucket{route=\"voice\",le=\"50\"} 2")
        );
        assert!(text.contains("switchboard_webhook_latency_ms_count{route=\"voice\"} 2"));
    }

    #[test]
    fn counters_render_with_labels() {
        let m = Metrics::default();
        m.inc("switchboard_classification_cache_total", "result=\"hit\"");
        m.inc("switchboard_classification_cache_total", "result=\"hit\"");
        m.inc("switchboard_classification_cache_total", "result=\"miss\"");
        let text = m.render(None);
        assert!(text.contains("switchboard_classification_cache_total{result=\"hit\"} 2"));
        assert!(text.contains("switchboard_classification_cache_total{result=\"miss\"} 1"));
    }
}

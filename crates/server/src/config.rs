//! Typed settings from environment variables, optionally layered over a TOML file, validated at
//! start-up with a message naming the bad or missing variable. Secrets are wrapped so they never
//! print.

use chrono_tz::Tz;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use switchboard_core::E164;
use switchboard_core::retry::RetryPolicy;
use switchboard_core::routing::{ClassifyMode, IvrOnlyPolicy};

/// A secret value: compared and used, never displayed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration problem, naming the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid {var}: {message}")]
    Invalid { var: &'static str, message: String },
    #[error("{var} is required {why}")]
    Missing {
        var: &'static str,
        why: &'static str,
    },
    #[error("cannot read config file {path}: {message}")]
    File { path: String, message: String },
}

/// Which appointments the scheduled dispatcher picks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchWindow {
    /// Appointments today in the clinic's time zone (the seed's example criterion).
    Today,
    /// Any appointment, as soon as it is due.
    Any,
}

/// Twilio account settings; present only when calls can be placed.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: Option<Secret>,
    pub api_key: Option<(String, Secret)>,
    pub from_number: E164,
    pub api_base: String,
}

/// All settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub api_token: Option<Secret>,
    pub twilio: Option<TwilioSettings>,
    /// Verifies `X-Twilio-Signature`; Twilio signs with the account's Auth Token even when REST
    /// calls use an API key.
    pub twilio_auth_token: Option<Secret>,
    pub vapi_sip_uri: Option<String>,
    pub vapi_webhook_secret: Option<Secret>,
    /// Named in `assistant-request` answers when set (phone numbers without a fixed assistant).
    pub vapi_assistant_id: Option<String>,
    pub dispatcher_enabled: bool,
    pub dispatch_interval: Duration,
    pub dispatch_window: DispatchWindow,
    pub max_in_flight: i64,
    pub calls_per_second: f64,
    pub default_timezone: Tz,
    pub retry: RetryPolicy,
    pub ring_timeout_secs: u32,
    pub classification_ttl_days: i64,
    pub ivr_only_policy: IvrOnlyPolicy,
    pub classify_mode: ClassifyMode,
    /// The recogniser that helps the classifier read menus (`SWITCHBOARD_SPEECH`).
    pub speech: SpeechChoice,
    /// A live stream with nothing clear by then is decided `unknown`
    /// (`SWITCHBOARD_ANALYSIS_WINDOW_SECS`).
    pub analysis_window: Duration,
    pub log_json: bool,
}

/// Which recogniser to use; loaded into a [`crate::speech::Speech`] at start.
#[derive(Debug, Clone, Default)]
pub enum SpeechChoice {
    /// Acoustics only.
    #[default]
    None,
    /// Deepgram's streaming API (`DEEPGRAM_API_KEY`, `DEEPGRAM_URL`).
    Deepgram(switchboard_speech::DeepgramConfig),
    /// The offline Whisper model in this directory (`SWITCHBOARD_WHISPER_MODEL`; builds with the
    /// `whisper` feature only).
    Whisper(std::path::PathBuf),
}

const VARS: &[&str] = &[
    "DATABASE_URL",
    "SWITCHBOARD_LISTEN",
    "SWITCHBOARD_PUBLIC_URL",
    "SWITCHBOARD_API_TOKEN",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY_SID",
    "TWILIO_API_KEY_SECRET",
    "TWILIO_FROM_NUMBER",
    "TWILIO_API_BASE",
    "VAPI_SIP_URI",
    "VAPI_WEBHOOK_SECRET",
    "VAPI_ASSISTANT_ID",
    "SWITCHBOARD_DISPATCHER",
    "SWITCHBOARD_DISPATCH_INTERVAL_SECS",
    "SWITCHBOARD_DISPATCH_WINDOW",
    "SWITCHBOARD_MAX_IN_FLIGHT",
    "SWITCHBOARD_CALLS_PER_SECOND",
    "SWITCHBOARD_DEFAULT_TIMEZONE",
    "SWITCHBOARD_MAX_ATTEMPTS",
    "SWITCHBOARD_RETRY_BACKOFF_SECS",
    "SWITCHBOARD_RETRY_MAX_BACKOFF_SECS",
    "SWITCHBOARD_RING_TIMEOUT_SECS",
    "SWITCHBOARD_CLASSIFICATION_TTL_DAYS",
    "SWITCHBOARD_IVR_ONLY_POLICY",
    "SWITCHBOARD_CLASSIFY_MODE",
    "SWITCHBOARD_SPEECH",
    "SWITCHBOARD_ANALYSIS_WINDOW_SECS",
    "DEEPGRAM_API_KEY",
    "DEEPGRAM_URL",
    "SWITCHBOARD_WHISPER_MODEL",
    "SWITCHBOARD_LOG_FORMAT",
];

/// A source of raw values: the TOML file's keys (variable names, case-insensitive) overlaid by
/// the environment.
pub struct Source(HashMap<&'static str, String>);

impl Source {
    /// Reads the process environment, over the TOML file at `file` if given.
    pub fn from_env(file: Option<&str>) -> Result<Source, ConfigError> {
        let mut map = HashMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.to_string(),
                message: e.to_string(),
            })?;
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::File {
                        path: path.to_string(),
                        message: e.message().to_string(),
                    })?;
            for (k, v) in table {
                let Some(var) = VARS.iter().find(|v| v.eq_ignore_ascii_case(&k)) else {
                    return Err(ConfigError::File {
                        path: path.to_string(),
                        message: format!("unknown key `{k}`"),
                    });
                };
                let value = match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(*var, value);
            }
        }
        for var in VARS {
            if let Ok(v) = std::env::var(var) {
                map.insert(*var, v);
            }
        }
        Ok(Source(map))
    }

    /// A source from explicit pairs (tests, the benchmark).
    pub fn from_pairs(pairs: &[(&'static str, &str)]) -> Source {
        Source(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    fn get(&self, var: &'static str) -> Option<&str> {
        self.0.get(var).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
                var,
                message: e.to_string(),
            }),
        }
    }
}

fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.into(),
    }
}

impl Settings {
    /// The classifier's tunables for a live stream.
    pub fn classifier_config(&self) -> switchboard_core::classifier::Config {
        switchboard_core::classifier::Config {
            window_ms: self.analysis_window.as_millis() as u64,
            ..Default::default()
        }
    }

    pub fn load(src: &Source) -> Result<Settings, ConfigError> {
        let database_url = src
            .get("DATABASE_URL")
            .unwrap_or("sqlite://switchboard.db")
            .to_string();
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "DATABASE_URL",
                "expected sqlite://PATH or postgres://…",
            ));
        }
        let listen = src.parse(
            "SWITCHBOARD_LISTEN",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        )?;
        let public_url = match src.get("SWITCHBOARD_PUBLIC_URL") {
            None => None,
            Some(u) => {
                let u = u.trim_end_matches('/');
                let rest = u
                    .strip_prefix("https://")
                    .or_else(|| u.strip_prefix("http://"));
                match rest {
                    Some(host)
                        if !host.is_empty() && !host.contains('?') && !host.contains('#') =>
                    {
                        Some(u.to_string())
                    }
                    _ => {
                        return Err(invalid(
                            "SWITCHBOARD_PUBLIC_URL",
                            "expected an absolute https:// URL without query",
                        ));
                    }
                }
            }
        };
        let api_token = src.get("SWITCHBOARD_API_TOKEN").map(Secret::new);
        if api_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            return Err(invalid(
                "SWITCHBOARD_API_TOKEN",
                "must be at least 16 characters",
            ));
        }

        let auth_token = src.get("TWILIO_AUTH_TOKEN").map(Secret::new);
        let api_key = match (
            src.get("TWILIO_API_KEY_SID"),
            src.get("TWILIO_API_KEY_SECRET"),
        ) {
            (Some(sid), Some(secret)) => {
                if !sid.starts_with("SK") {
                    return Err(invalid("TWILIO_API_KEY_SID", "must start with SK"));
                }
                Some((sid.to_string(), Secret::new(secret)))
            }
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    var: "TWILIO_API_KEY_SECRET",
                    why: "when TWILIO_API_KEY_SID is set",
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    var: "TWILIO_API_KEY_SID",
                    why: "when TWILIO_API_KEY_SECRET is set",
                });
            }
            (None, None) => None,
        };
        let twilio = match src.get("TWILIO_ACCOUNT_SID") {
            None => None,
            Some(sid) => {
                let ok = sid.len() == 34
                    && sid.starts_with("AC")
                    && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
                if !ok {
                    return Err(invalid(
                        "TWILIO_ACCOUNT_SID",
                        "expected AC followed by 32 hex digits",
                    ));
                }
                if auth_token.is_none() && api_key.is_none() {
                    return Err(ConfigError::Missing {
                        var: "TWILIO_AUTH_TOKEN",
                        why: "(or TWILIO_API_KEY_SID + TWILIO_API_KEY_SECRET) when TWILIO_ACCOUNT_SID is set",
                    });
                }
                let from = src.get("TWILIO_FROM_NUMBER").ok_or(ConfigError::Missing {
                    var: "TWILIO_FROM_NUMBER",
                    why: "when TWILIO_ACCOUNT_SID is set",
                })?;
                let from_number =
                    E164::parse(from).map_err(|e| invalid("TWILIO_FROM_NUMBER", e.to_string()))?;
                if public_url.is_none() {
                    return Err(ConfigError::Missing {
                        var: "SWITCHBOARD_PUBLIC_URL",
                        why: "when TWILIO_ACCOUNT_SID is set (Twilio must reach the webhooks)",
                    });
                }
                if src.get("VAPI_SIP_URI").is_none() {
                    return Err(ConfigError::Missing {
                        var: "VAPI_SIP_URI",
                        why: "when TWILIO_ACCOUNT_SID is set (answered calls are bridged to it)",
                    });
                }
                let api_base = src
                    .get("TWILIO_API_BASE")
                    .unwrap_or("https://api.twilio.com")
                    .trim_end_matches('/');
                if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
                    return Err(invalid("TWILIO_API_BASE", "expected an http(s):// URL"));
                }
                Some(TwilioSettings {
                    account_sid: sid.to_string(),
                    auth_token: auth_token.clone(),
                    api_key,
                    from_number,
                    api_base: api_base.to_string(),
                })
            }
        };
        let vapi_sip_uri = match src.get("VAPI_SIP_URI") {
            None => None,
            Some(u)
                if (u.starts_with("sip:") || u.starts_with("sips:"))
                    && u.contains('@')
                    && !u.contains('?') =>
            {
                Some(u.to_string())
            }
            Some(_) => {
                return Err(invalid(
                    "VAPI_SIP_URI",
                    "expected sip:user@host without headers",
                ));
            }
        };
        let vapi_webhook_secret = src.get("VAPI_WEBHOOK_SECRET").map(Secret::new);
        let vapi_assistant_id = src.get("VAPI_ASSISTANT_ID").map(str::to_string);

        let dispatcher_enabled = match src.get("SWITCHBOARD_DISPATCHER").unwrap_or("on") {
            "on" | "true" | "1" => true,
            "off" | "false" | "0" => false,
            _ => return Err(invalid("SWITCHBOARD_DISPATCHER", "expected on or off")),
        };
        let interval: f64 = src.parse("SWITCHBOARD_DISPATCH_INTERVAL_SECS", 5.0)?;
        if !(0.05..=3600.0).contains(&interval) {
            return Err(invalid(
                "SWITCHBOARD_DISPATCH_INTERVAL_SECS",
                "must be between 0.05 and 3600",
            ));
        }
        let dispatch_window = match src.get("SWITCHBOARD_DISPATCH_WINDOW").unwrap_or("today") {
            "today" => DispatchWindow::Today,
            "any" => DispatchWindow::Any,
            _ => {
                return Err(invalid(
                    "SWITCHBOARD_DISPATCH_WINDOW",
                    "expected today or any",
                ));
            }
        };
        let max_in_flight: i64 = src.parse("SWITCHBOARD_MAX_IN_FLIGHT", 10)?;
        if !(1..=10_000).contains(&max_in_flight) {
            return Err(invalid(
                "SWITCHBOARD_MAX_IN_FLIGHT",
                "must be between 1 and 10000",
            ));
        }
        let calls_per_second: f64 = src.parse("SWITCHBOARD_CALLS_PER_SECOND", 1.0)?;
        if !(calls_per_second > 0.0 && calls_per_second <= 10_000.0) {
            return Err(invalid(
                "SWITCHBOARD_CALLS_PER_SECOND",
                "must be greater than 0",
            ));
        }
        let default_timezone: Tz = src
            .get("SWITCHBOARD_DEFAULT_TIMEZONE")
            .unwrap_or("America/New_York")
            .parse()
            .map_err(|_| {
                invalid(
                    "SWITCHBOARD_DEFAULT_TIMEZONE",
                    "expected an IANA time zone such as America/Chicago",
                )
            })?;
        let max_attempts: i32 = src.parse("SWITCHBOARD_MAX_ATTEMPTS", 3)?;
        if !(1..=20).contains(&max_attempts) {
            return Err(invalid(
                "SWITCHBOARD_MAX_ATTEMPTS",
                "must be between 1 and 20",
            ));
        }
        let backoff: i64 = src.parse("SWITCHBOARD_RETRY_BACKOFF_SECS", 900)?;
        let max_backoff: i64 = src.parse("SWITCHBOARD_RETRY_MAX_BACKOFF_SECS", 7200)?;
        if backoff < 0 || max_backoff < backoff {
            return Err(invalid(
                "SWITCHBOARD_RETRY_BACKOFF_SECS",
                "must be >= 0 and <= SWITCHBOARD_RETRY_MAX_BACKOFF_SECS",
            ));
        }
        let ring_timeout_secs: u32 = src.parse("SWITCHBOARD_RING_TIMEOUT_SECS", 30)?;
        if !(5..=600).contains(&ring_timeout_secs) {
            return Err(invalid(
                "SWITCHBOARD_RING_TIMEOUT_SECS",
                "must be between 5 and 600",
            ));
        }
        let classification_ttl_days: i64 = src.parse("SWITCHBOARD_CLASSIFICATION_TTL_DAYS", 30)?;
        if !(1..=365).contains(&classification_ttl_days) {
            return Err(invalid(
                "SWITCHBOARD_CLASSIFICATION_TTL_DAYS",
                "must be between 1 and 365",
            ));
        }
        let ivr_only_policy = match src
            .get("SWITCHBOARD_IVR_ONLY_POLICY")
            .unwrap_or("hangup_and_flag")
        {
            "hangup_and_flag" => IvrOnlyPolicy::HangupAndFlag,
            "replay_then_bridge" => IvrOnlyPolicy::ReplayThenBridge,
            _ => {
                return Err(invalid(
                    "SWITCHBOARD_IVR_ONLY_POLICY",
                    "expected hangup_and_flag or replay_then_bridge",
                ));
            }
        };
        let classify_mode = match src.get("SWITCHBOARD_CLASSIFY_MODE").unwrap_or("navigate") {
            "navigate" => ClassifyMode::Navigate,
            "observe" => ClassifyMode::Observe,
            _ => {
                return Err(invalid(
                    "SWITCHBOARD_CLASSIFY_MODE",
                    "expected navigate or observe",
                ));
            }
        };
        let deepgram_key = src.get("DEEPGRAM_API_KEY").filter(|k| !k.is_empty());
        let default_speech = if deepgram_key.is_some() {
            "deepgram"
        } else {
            "none"
        };
        let speech = match src.get("SWITCHBOARD_SPEECH").unwrap_or(default_speech) {
            "none" => SpeechChoice::None,
            "deepgram" => {
                let Some(key) = deepgram_key else {
                    return Err(invalid(
                        "DEEPGRAM_API_KEY",
                        "is required when SWITCHBOARD_SPEECH=deepgram",
                    ));
                };
                let mut cfg = switchboard_speech::DeepgramConfig::new(key);
                if let Some(url) = src.get("DEEPGRAM_URL") {
                    if !(url.starts_with("wss://") || url.starts_with("ws://")) {
                        return Err(invalid("DEEPGRAM_URL", "expected a ws:// or wss:// URL"));
                    }
                    cfg.base_url = url.trim_end_matches('/').to_string();
                }
                SpeechChoice::Deepgram(cfg)
            }
            "whisper" => {
                if !cfg!(feature = "whisper") {
                    return Err(invalid(
                        "SWITCHBOARD_SPEECH",
                        "whisper needs a build with `--features whisper` (see docs/speech.md)",
                    ));
                }
                SpeechChoice::Whisper(
                    src.get("SWITCHBOARD_WHISPER_MODEL")
                        .unwrap_or("target/whisper-model")
                        .into(),
                )
            }
            _ => {
                return Err(invalid(
                    "SWITCHBOARD_SPEECH",
                    "expected none, deepgram or whisper",
                ));
            }
        };
        let window: f64 = src.parse("SWITCHBOARD_ANALYSIS_WINDOW_SECS", 45.0)?;
        if !(5.0..=600.0).contains(&window) {
            return Err(invalid(
                "SWITCHBOARD_ANALYSIS_WINDOW_SECS",
                "must be between 5 and 600 seconds",
            ));
        }
        let log_json = match src.get("SWITCHBOARD_LOG_FORMAT").unwrap_or("text") {
            "text" => false,
            "json" => true,
            _ => return Err(invalid("SWITCHBOARD_LOG_FORMAT", "expected text or json")),
        };
        Ok(Settings {
            database_url,
            listen,
            public_url,
            api_token,
            twilio,
            twilio_auth_token: auth_token,
            vapi_sip_uri,
            vapi_webhook_secret,
            vapi_assistant_id,
            dispatcher_enabled,
            dispatch_interval: Duration::from_secs_f64(interval),
            dispatch_window,
            max_in_flight,
            calls_per_second,
            default_timezone,
            retry: RetryPolicy {
                max_attempts,
                base_backoff: chrono::Duration::seconds(backoff),
                max_backoff: chrono::Duration::seconds(max_backoff),
                ..RetryPolicy::default()
            },
            ring_timeout_secs,
            classification_ttl_days,
            ivr_only_policy,
            classify_mode,
            speech,
            analysis_window: Duration::from_secs_f64(window),
            log_json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_start_without_credentials() {
        let s = Settings::load(&Source::from_pairs(&[])).unwrap();
        assert_eq!(s.database_url, "sqlite://switchboard.db");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert!(s.twilio.is_none());
        assert_eq!(s.dispatch_window, DispatchWindow::Today);
    }

    #[test]
    fn errors_name_the_variable() {
        let e = Settings::load(&Source::from_pairs(&[("SWITCHBOARD_LISTEN", "nope")])).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid SWITCHBOARD_LISTEN"),
            "{e}"
        );
        let e = Settings::load(&Source::from_pairs(&[(
            "TWILIO_ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef",
        )]))
        .unwrap_err();
        assert!(
            e.to_string().starts_with("TWILIO_AUTH_TOKEN is required"),
            "{e}"
        );
        let e = Settings::load(&Source::from_pairs(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(e.to_string().contains("DATABASE_URL"), "{e}");
    }

    #[test]
    fn speech_settings_are_checked() {
        let load = |pairs: &[(&'static str, &str)]| Settings::load(&Source::from_pairs(pairs));
        assert!(matches!(load(&[]).unwrap().speech, SpeechChoice::None));
        let s = load(&[("DEEPGRAM_API_KEY", "dg-secret-key")]).unwrap();
        let SpeechChoice::Deepgram(cfg) = &s.speech else {
            panic!("a key turns Deepgram on")
        };
        assert_eq!(cfg.base_url, "wss://api.deepgram.com");
        assert!(
            !format!("{s:?}").contains("dg-secret-key"),
            "the key never prints"
        );
        let e = load(&[("SWITCHBOARD_SPEECH", "deepgram")]).unwrap_err();
        assert!(e.to_string().contains("DEEPGRAM_API_KEY"), "{e}");
        let e = load(&[("DEEPGRAM_API_KEY", "k"), ("DEEPGRAM_URL", "http://x")]).unwrap_err();
        assert!(e.to_string().contains("DEEPGRAM_URL"), "{e}");
        let e = load(&[("SWITCHBOARD_SPEECH", "vosk")]).unwrap_err();
        assert!(e.to_string().contains("SWITCHBOARD_SPEECH"), "{e}");
        if !cfg!(feature = "whisper") {
            let e = load(&[("SWITCHBOARD_SPEECH", "whisper")]).unwrap_err();
            assert!(e.to_string().contains("--features whisper"), "{e}");
        }
        let e = load(&[("SWITCHBOARD_ANALYSIS_WINDOW_SECS", "2")]).unwrap_err();
        assert!(
            e.to_string().contains("SWITCHBOARD_ANALYSIS_WINDOW_SECS"),
            "{e}"
        );
        let s = load(&[("SWITCHBOARD_ANALYSIS_WINDOW_SECS", "30")]).unwrap();
        assert_eq!(s.classifier_config().window_ms, 30_000);
    }

    #[test]
    fn toml_file_is_read_and_unknown_keys_are_rejected() {
        let dir = std::env::temp_dir().join(format!("sb-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(
            &good,
            "switchboard_max_in_flight = 7\nSWITCHBOARD_CLASSIFY_MODE = \"observe\"\n",
        )
        .unwrap();
        let src = Source::from_env(Some(good.to_str().unwrap())).unwrap();
        assert_eq!(src.get("SWITCHBOARD_MAX_IN_FLIGHT"), Some("7"));
        assert_eq!(src.get("SWITCHBOARD_CLASSIFY_MODE"), Some("observe"));
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "max_inflight = 7\n").unwrap();
        let e = Source::from_env(Some(bad.to_str().unwrap())).err().unwrap();
        assert!(e.to_string().contains("unknown key `max_inflight`"), "{e}");
        let e = Source::from_env(Some("/nonexistent/switchboard.toml"))
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("cannot read config file"), "{e}");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings::load(&Source::from_pairs(&[
            ("SWITCHBOARD_API_TOKEN", "super-secret-token-123"),
            ("VAPI_WEBHOOK_SECRET", "vapi-secret-value"),
        ]))
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("super-secret-token-123"));
        assert!(!dbg.contains("vapi-secret-value"));
    }
}

//! Offline classification: a recording of a call's inbound track streamed through exactly the
//! live pipeline (µ-law → frames → front end → classifier, in media time), and the corpus
//! evaluation built on it. Used by `switchboard classify` and `switchboard evaluate`.

use serde::Serialize;
use serde_json::{Value, json};
use switchboard_audio::{AudioEvent, Pipeline, ToneKind};
use switchboard_core::classifier::{Class, Classifier, Config, Decision, Observation, Tone};

/// The JSON contract of `switchboard classify --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Classified {
    pub classification: Class,
    pub confidence: f32,
    pub decided_at_ms: u64,
    pub ivr_actions: Vec<Value>,
    pub menu_options: Vec<Value>,
    pub events: Vec<AudioEvent>,
    pub reason: &'static str,
}

fn tone(t: ToneKind) -> Tone {
    match t {
        ToneKind::Ringback => Tone::Ringback,
        ToneKind::Busy => Tone::Busy,
        ToneKind::Reorder => Tone::Reorder,
        ToneKind::Sit => Tone::Sit,
        ToneKind::Beep => Tone::Beep,
        ToneKind::Fax => Tone::Fax,
        ToneKind::Music => Tone::Music,
    }
}

/// The classifier's view of a front-end event.
pub fn observation(e: &AudioEvent) -> Option<Observation> {
    Some(match *e {
        AudioEvent::SpeechStart { at_ms } => Observation::SpeechStart { at_ms },
        AudioEvent::SpeechEnd { at_ms, .. } => Observation::SpeechEnd { at_ms },
        AudioEvent::Dtmf { at_ms, digit, .. } => Observation::Dtmf { at_ms, digit },
        AudioEvent::Tone { at_ms, tone: t, .. } => Observation::Tone {
            at_ms,
            tone: tone(t),
        },
        AudioEvent::Gap { .. } => return None,
    })
}

/// Streams µ-law 8 kHz audio through the live pipeline in 20 ms chunks, as Twilio would send it.
pub fn classify_ulaw(ulaw: &[u8]) -> Classified {
    let mut pipeline = Pipeline::new();
    let mut classifier = Classifier::new(Config::default());
    let mut events = Vec::new();
    let mut decision: Option<Decision> = None;
    let mut t = 0u64;
    for chunk in ulaw.chunks(160) {
        let evs = pipeline.push_ulaw(t, chunk);
        t += chunk.len() as u64 / 8;
        for e in evs {
            if decision.is_none()
                && let Some(o) = observation(&e)
            {
                decision = classifier.push(&o).or(decision);
            }
            events.push(e);
        }
        if decision.is_none() {
            decision = classifier.push(&Observation::Tick { at_ms: t });
        }
    }
    for e in pipeline.finish() {
        if decision.is_none()
            && let Some(o) = observation(&e)
        {
            decision = classifier.push(&o);
        }
        events.push(e);
    }
    // A recording that stops early: let the silence after it count, as a live line would.
    let end = t;
    while decision.is_none() && t < end + 2000 {
        t += 20;
        decision = classifier.push(&Observation::Tick { at_ms: t });
    }
    let d = decision.unwrap_or_else(|| classifier.finish(t));
    let ivr_actions = match d.digit {
        Some(digit) => vec![json!({"after_ms": d.decided_at_ms, "digits": digit.to_string()})],
        None => vec![],
    };
    Classified {
        classification: d.classification,
        confidence: d.confidence,
        decided_at_ms: d.decided_at_ms,
        ivr_actions,
        menu_options: d
            .menu_options
            .iter()
            .map(|o| json!({"digit": o.digit.to_string(), "label": o.label}))
            .collect(),
        events,
        reason: d.reason,
    }
}

/// Reads a recording as µ-law 8 kHz: raw `.ulaw`, or WAV (PCM 16-bit or µ-law, any rate, any
/// channel count — mixed to mono and resampled linearly to 8 kHz).
pub fn read_audio(path: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if !bytes.starts_with(b"RIFF") {
        if path.ends_with(".ulaw") || path.ends_with(".raw") {
            return Ok(bytes);
        }
        return Err(format!("{path}: not a WAV file (and not .ulaw)"));
    }
    if bytes.len() < 12 || &bytes[8..12] != b"WAVE" {
        return Err(format!("{path}: not a WAVE file"));
    }
    let (mut fmt, mut data) = (None, None);
    let mut i = 12;
    while i + 8 <= bytes.len() {
        let id = &bytes[i..i + 4];
        let len =
            u32::from_le_bytes([bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]]) as usize;
        let body = &bytes[i + 8..(i + 8 + len).min(bytes.len())];
        match id {
            b"fmt " => fmt = Some(body),
            b"data" => data = Some(body),
            _ => {}
        }
        i += 8 + len + (len & 1);
    }
    let (Some(fmt), Some(data)) = (fmt, data) else {
        return Err(format!("{path}: WAV without fmt or data"));
    };
    if fmt.len() < 16 {
        return Err(format!("{path}: short fmt chunk"));
    }
    let format = u16::from_le_bytes([fmt[0], fmt[1]]);
    let channels = u16::from_le_bytes([fmt[2], fmt[3]]).max(1) as usize;
    let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
    let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
    let samples: Vec<i16> = match (format, bits) {
        (1, 16) | (0xFFFE, 16) => data
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect(),
        (7, 8) => switchboard_audio::g711::decode(data),
        _ => {
            return Err(format!(
                "{path}: unsupported WAV encoding (format {format}, {bits} bits); use PCM 16-bit or mu-law"
            ));
        }
    };
    let mono: Vec<i16> = samples
        .chunks(channels)
        .map(|c| (c.iter().map(|s| *s as i32).sum::<i32>() / c.len() as i32) as i16)
        .collect();
    if rate == 0 {
        return Err(format!("{path}: sample rate 0"));
    }
    let out_len = (mono.len() as u64 * 8000 / rate as u64) as usize;
    let resampled: Vec<i16> = (0..out_len)
        .map(|n| {
            let pos = n as f64 * rate as f64 / 8000.0;
            let i = pos.floor() as usize;
            let frac = pos - i as f64;
            let a = *mono.get(i).unwrap_or(&0) as f64;
            let b = *mono.get(i + 1).unwrap_or(&(a as i16)) as f64;
            (a + (b - a) * frac) as i16
        })
        .collect();
    Ok(switchboard_audio::g711::encode(&resampled))
}

/// One corpus clip's label (corpus/labels.json).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Label {
    pub file: String,
    pub classification: String,
    #[serde(default)]
    pub greeting_end_ms: Option<u64>,
    #[serde(default)]
    pub menu_start_ms: Option<u64>,
    #[serde(default)]
    pub digit: Option<String>,
}

/// Evaluation figures over a labelled corpus.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluation {
    pub clips: usize,
    /// (expected, predicted) → count.
    pub confusion: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    pub three_class_accuracy: f64,
    pub humans_called_machines: f64,
    pub digit_accuracy: Option<f64>,
    /// Decision time after the end of the greeting, people only (ms): p50, p90, p99.
    pub human_latency_ms: (u64, u64, u64),
    /// Decision time after the first prompt starts, menus only (ms): p50, p90.
    pub menu_latency_ms: (u64, u64),
}

fn pct(mut v: Vec<u64>, p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// The coarse class a label and a prediction are compared on for the 3-class figure.
fn coarse(c: &str) -> &'static str {
    match c {
        "human" => "human",
        "ivr_only" | "ivr_then_human" => "ivr",
        _ => "other",
    }
}

/// Classifies every clip of `dir/labels.json` and scores it.
pub fn evaluate(dir: &str) -> Result<Evaluation, String> {
    let labels: Vec<Label> = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/labels.json"))
            .map_err(|e| format!("cannot read {dir}/labels.json: {e}"))?,
    )
    .map_err(|e| format!("labels.json: {e}"))?;
    let mut ev = Evaluation {
        clips: labels.len(),
        ..Default::default()
    };
    let (mut three_ok, mut three_n, mut humans, mut humans_wrong) = (0, 0, 0, 0);
    let (mut digits_ok, mut digits_n) = (0, 0);
    let (mut human_lat, mut menu_lat) = (vec![], vec![]);
    for l in &labels {
        let audio = std::fs::read(format!("{dir}/clips/{}", l.file))
            .map_err(|e| format!("{}: {e}", l.file))?;
        let r = classify_ulaw(&audio);
        let predicted = r.classification.as_str();
        *ev.confusion
            .entry(l.classification.clone())
            .or_default()
            .entry(predicted.to_string())
            .or_default() += 1;
        if coarse(&l.classification) != "other" {
            three_n += 1;
            if coarse(&l.classification) == coarse(predicted) {
                three_ok += 1;
            }
        }
        if l.classification == "human" {
            humans += 1;
            if coarse(predicted) == "ivr" || matches!(predicted, "voicemail" | "fax") {
                humans_wrong += 1;
            }
            if predicted == "human"
                && let Some(end) = l.greeting_end_ms
            {
                human_lat.push(r.decided_at_ms.saturating_sub(end));
            }
        }
        if coarse(&l.classification) == "ivr" {
            if let Some(start) = l.menu_start_ms
                && coarse(predicted) == "ivr"
            {
                menu_lat.push(r.decided_at_ms.saturating_sub(start));
            }
            if let Some(d) = &l.digit {
                digits_n += 1;
                if r.ivr_actions.first().and_then(|a| a["digits"].as_str()) == Some(d.as_str()) {
                    digits_ok += 1;
                }
            }
        }
    }
    ev.three_class_accuracy = three_ok as f64 / three_n.max(1) as f64;
    ev.humans_called_machines = humans_wrong as f64 / humans.max(1) as f64;
    ev.digit_accuracy = (digits_n > 0).then(|| digits_ok as f64 / digits_n as f64);
    ev.human_latency_ms = (
        pct(human_lat.clone(), 0.5),
        pct(human_lat.clone(), 0.9),
        pct(human_lat, 0.99),
    );
    ev.menu_latency_ms = (pct(menu_lat.clone(), 0.5), pct(menu_lat, 0.9));
    Ok(ev)
}

impl Evaluation {
    pub fn render(&self) -> String {
        let classes = [
            "human",
            "ivr_then_human",
            "ivr_only",
            "voicemail",
            "silence",
            "disconnected",
            "fax",
            "unknown",
        ];
        let mut out = format!("{} clips\n\nexpected \\ predicted", self.clips);
        for c in classes {
            out.push_str(&format!(" {c:>14}"));
        }
        out.push('\n');
        for (exp, row) in &self.confusion {
            out.push_str(&format!("{exp:<20}"));
            for c in classes {
                out.push_str(&format!(" {:>14}", row.get(c).copied().unwrap_or(0)));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "\n3-class accuracy (human / menu / other): {:.1} %\npeople called machines: {:.1} %\ndigit accuracy: {}\nhuman decision after the greeting ends: p50 {} ms, p90 {} ms, p99 {} ms\nmenu decision after the prompt starts: p50 {} ms, p90 {} ms\n",
            self.three_class_accuracy * 100.0,
            self.humans_called_machines * 100.0,
            self.digit_accuracy.map(|d| format!("{:.1} %", d * 100.0)).unwrap_or_else(|| "n/a".into()),
            self.human_latency_ms.0,
            self.human_latency_ms.1,
            self.human_latency_ms.2,
            self.menu_latency_ms.0,
            self.menu_latency_ms.1,
        ));
        out
    }
}

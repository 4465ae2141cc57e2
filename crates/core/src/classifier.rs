//! The call classifier: a streaming state machine fed with what the audio front end and the
//! recogniser observed, in media time, deciding what answered — a person, a menu (with or without
//! a way to a person), voicemail, silence, a disconnected number or a fax — with a confidence and
//! the media time of the decision. Deterministic: the same observations give the same decision.
//!
//! Acoustic rules separate most cases on their own (a person says something short and waits; a
//! menu talks on; tones are unambiguous); the transcript settles the hard one, a scripted
//! receptionist whose long greeting sounds like a menu's first sentence.

use crate::menu::{self, MenuOption, Target};
use serde::Serialize;

/// Call-progress and special tones the front end reports. Mirrors `switchboard_audio::ToneKind`
/// on purpose: the domain core depends on no adapter crate; `server::classify` maps one to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Ringback,
    Busy,
    Reorder,
    Sit,
    Beep,
    Fax,
    Music,
}

/// One thing observed on the clinic's side of the line, at media time `at_ms`.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    SpeechStart {
        at_ms: u64,
    },
    SpeechEnd {
        at_ms: u64,
    },
    Tone {
        at_ms: u64,
        tone: Tone,
    },
    Dtmf {
        at_ms: u64,
        digit: char,
    },
    /// Recognised text; `is_final` when the recogniser will not revise it.
    Transcript {
        at_ms: u64,
        text: String,
        is_final: bool,
    },
    /// Time passed (a frame of audio was processed), so silences can be timed.
    Tick {
        at_ms: u64,
    },
}

impl Observation {
    pub fn at_ms(&self) -> u64 {
        match self {
            Observation::SpeechStart { at_ms }
            | Observation::SpeechEnd { at_ms }
            | Observation::Tone { at_ms, .. }
            | Observation::Dtmf { at_ms, .. }
            | Observation::Transcript { at_ms, .. }
            | Observation::Tick { at_ms } => *at_ms,
        }
    }
}

/// What answered. The first three are cached per clinic; the rest concern this call only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Human,
    IvrOnly,
    IvrThenHuman,
    Voicemail,
    Silence,
    Disconnected,
    Fax,
    Unknown,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Human => "human",
            Class::IvrOnly => "ivr_only",
            Class::IvrThenHuman => "ivr_then_human",
            Class::Voicemail => "voicemail",
            Class::Silence => "silence",
            Class::Disconnected => "disconnected",
            Class::Fax => "fax",
            Class::Unknown => "unknown",
        }
    }

    /// Whether the class describes the clinic's phone system (worth caching for 30 days).
    pub fn is_cacheable(self) -> bool {
        matches!(self, Class::Human | Class::IvrOnly | Class::IvrThenHuman)
    }
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub classification: Class,
    pub confidence: f32,
    pub decided_at_ms: u64,
    /// For a menu: the key that leads towards a person, when the transcript names one.
    pub digit: Option<char>,
    pub menu_options: Vec<MenuOption>,
    /// Why, in a few words (for the event log).
    pub reason: &'static str,
}

/// Tunables, in media milliseconds.
#[derive(Debug, Clone)]
pub struct Config {
    /// A greeting at most this long, followed by `short_wait_ms` of silence, is a person.
    pub short_greeting_ms: u64,
    pub short_wait_ms: u64,
    /// After a longer utterance a person still waits; a menu does not pause this long (and a
    /// voicemail beep arrives sooner).
    pub long_wait_ms: u64,
    /// Speech with pauses shorter than `run_gap_ms` for this long is a prompt, not a greeting.
    pub menu_run_ms: u64,
    pub run_gap_ms: u64,
    /// No speech at all for this long: nobody is there.
    pub silence_ms: u64,
    /// Decide `unknown` when nothing is clear by then.
    pub window_ms: u64,
    /// Preferences for the key to press.
    pub preferences: Vec<Target>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            short_greeting_ms: 3500,
            short_wait_ms: 750,
            long_wait_ms: 2000,
            menu_run_ms: 8500,
            run_gap_ms: 1500,
            silence_ms: 8000,
            window_ms: 45_000,
            preferences: menu::default_preferences(),
        }
    }
}

/// The per-call state machine.
#[derive(Debug, Clone)]
pub struct Classifier {
    cfg: Config,
    speaking_since: Option<u64>,
    /// End of the last speech segment, and that segment's length.
    last_end: Option<(u64, u64)>,
    first_speech_ms: Option<u64>,
    /// Start of the current run of speech (pauses shorter than `run_gap_ms` do not break it).
    run_start: Option<u64>,
    /// Speech so far (ms), and the longest single segment.
    talk_ms: u64,
    transcript: String,
    beep_after_speech: Option<u64>,
    music: bool,
    decided: Option<Decision>,
}

impl Classifier {
    pub fn new(cfg: Config) -> Self {
        Classifier {
            cfg,
            speaking_since: None,
            last_end: None,
            first_speech_ms: None,
            run_start: None,
            talk_ms: 0,
            transcript: String::new(),
            beep_after_speech: None,
            music: false,
            decided: None,
        }
    }

    /// The decision, once made (it is final).
    pub fn decision(&self) -> Option<&Decision> {
        self.decided.as_ref()
    }

    fn decide(
        &mut self,
        classification: Class,
        confidence: f32,
        at: u64,
        reason: &'static str,
    ) -> Option<Decision> {
        let options = menu::extract_options(&self.transcript);
        let digit = if matches!(classification, Class::IvrThenHuman | Class::IvrOnly) {
            menu::choose(&options, &self.cfg.preferences).map(|o| o.digit)
        } else {
            None
        };
        let d = Decision {
            classification,
            confidence,
            decided_at_ms: at,
            digit,
            menu_options: options,
            reason,
        };
        self.decided = Some(d.clone());
        Some(d)
    }

    /// What the transcript says so far: (menu-likeness, person-likeness).
    fn text_cues(&self) -> (f32, f32) {
        if self.transcript.trim().is_empty() {
            return (0.0, 0.0);
        }
        (
            menu::menu_likelihood(&self.transcript),
            menu::is_person_greeting_like(&self.transcript),
        )
    }

    fn menu_class(&self) -> Class {
        let options = menu::extract_options(&self.transcript);
        if menu::choose(&options, &self.cfg.preferences).is_some() {
            Class::IvrThenHuman
        } else if options.is_empty() {
            // A menu whose options we could not read: assume a person is reachable.
            Class::IvrThenHuman
        } else {
            Class::IvrOnly
        }
    }

    /// Replaces everything heard so far with `text` (a recogniser that re-decodes the whole round
    /// gives its best reading each time) and re-evaluates at `at_ms`.
    pub fn replace_transcript(&mut self, at_ms: u64, text: &str) -> Option<Decision> {
        if self.decided.is_some() {
            return None;
        }
        self.transcript = text.to_string();
        self.push(&Observation::Tick { at_ms })
    }

    /// Feeds one observation; returns the decision when this observation makes it.
    pub fn push(&mut self, o: &Observation) -> Option<Decision> {
        if self.decided.is_some() {
            return None;
        }
        let t = o.at_ms();
        match o {
            Observation::Tone {
                tone: Tone::Sit, ..
            } => return self.decide(Class::Disconnected, 0.95, t, "special information tones"),
            Observation::Tone {
                tone: Tone::Fax, ..
            } => return self.decide(Class::Fax, 0.95, t, "fax tones"),
            Observation::Tone {
                tone: Tone::Beep, ..
            } if self.talk_ms >= 1500 => {
                self.beep_after_speech = Some(t);
                return self.decide(Class::Voicemail, 0.9, t, "a greeting, then a beep");
            }
            Observation::Tone {
                tone: Tone::Music, ..
            } => self.music = true,
            Observation::Tone { .. } | Observation::Dtmf { .. } => {}
            Observation::SpeechStart { at_ms } => {
                let new_run = match self.last_end {
                    None => true,
                    Some((end, _)) => at_ms.saturating_sub(end) >= self.cfg.run_gap_ms,
                };
                if new_run || self.run_start.is_none() {
                    self.run_start = Some(*at_ms);
                }
                self.speaking_since.get_or_insert(*at_ms);
                self.first_speech_ms.get_or_insert(*at_ms);
            }
            Observation::SpeechEnd { at_ms } => {
                if let Some(s) = self.speaking_since.take() {
                    let len = at_ms.saturating_sub(s);
                    self.talk_ms += len;
                    self.last_end = Some((*at_ms, len));
                }
            }
            Observation::Transcript { text, .. } => {
                if !self.transcript.is_empty() {
                    self.transcript.push(' ');
                }
                self.transcript.push_str(text);
            }
            Observation::Tick { .. } => {}
        }
        let (menu_cue, person_cue) = self.text_cues();
        // The transcript names a menu: decide as soon as it does.
        if menu_cue >= 0.7 && person_cue < 0.5 {
            let class = self.menu_class();
            return self.decide(class, 0.9, t, "the words of a menu");
        }
        // Someone spoke, stopped, and is waiting for us.
        if self.speaking_since.is_none()
            && let Some((end, len)) = self.last_end
        {
            let waited = t.saturating_sub(end);
            let short = len <= self.cfg.short_greeting_ms
                && self.talk_ms <= self.cfg.short_greeting_ms + 1000;
            if short && waited >= self.cfg.short_wait_ms && menu_cue < 0.5 {
                let conf = if person_cue >= 0.5 { 0.95 } else { 0.85 };
                return self.decide(Class::Human, conf, t, "a short greeting, then silence");
            }
            if person_cue >= 0.6 && menu_cue < 0.4 && waited >= self.cfg.short_wait_ms {
                return self.decide(
                    Class::Human,
                    0.9,
                    t,
                    "a receptionist's greeting, then silence",
                );
            }
            if waited >= self.cfg.long_wait_ms {
                // A long utterance and then a real wait: a person (a scripted greeting) unless the
                // words say menu; menus pause briefly between options.
                if menu_cue >= 0.5 {
                    let class = self.menu_class();
                    return self.decide(class, 0.75, t, "a long prompt with menu words");
                }
                if !self.music {
                    return self.decide(Class::Human, 0.7, t, "a long greeting, then a long wait");
                }
            }
        }
        // Long fluent speech (short pauses only) with no transcript help: a menu by timing alone.
        if let Some(run) = self.run_start
            && t.saturating_sub(run) >= self.cfg.menu_run_ms
            && (self.speaking_since.is_some()
                || self
                    .last_end
                    .is_some_and(|(end, _)| t.saturating_sub(end) < self.cfg.run_gap_ms))
            && person_cue < 0.5
        {
            let class = self.menu_class();
            return self.decide(class, 0.65, t, "long fluent speech");
        }
        if self.first_speech_ms.is_none() && t >= self.cfg.silence_ms {
            return self.decide(Class::Silence, 0.8, t, "nobody spoke");
        }
        if t >= self.cfg.window_ms {
            return self.decide(Class::Unknown, 0.0, t, "analysis window ended");
        }
        None
    }

    /// Ends the analysis (the stream closed): `unknown` unless already decided.
    pub fn finish(&mut self, at_ms: u64) -> Decision {
        if let Some(d) = &self.decided {
            return d.clone();
        }
        if self.first_speech_ms.is_none() && at_ms >= self.cfg.silence_ms / 2 {
            return self
                .decide(Class::Silence, 0.6, at_ms, "nobody spoke")
                .expect("decided");
        }
        self.decide(Class::Unknown, 0.0, at_ms, "stream ended before a decision")
            .expect("decided")
    }
}

#[cfg(test)]
mod tests {
    use super::{Class, Classifier, Config, Decision, Observation};
    use Observation::{SpeechEnd, SpeechStart, Tick, Transcript};

    fn run(obs: &[Observation]) -> Decision {
        let mut c = Classifier::new(Config::default());
        for o in obs {
            if let Some(d) = c.push(o) {
                return d;
            }
        }
        // Let silence pass after the last observation.
        let last = obs.last().map(|o| o.at_ms()).unwrap_or(0);
        let mut t = last;
        while t < last + 60_000 {
            t += 20;
            if let Some(d) = c.push(&Tick { at_ms: t }) {
                return d;
            }
        }
        c.finish(t)
    }

    #[test]
    fn a_short_hello_then_silence_is_a_person_after_the_short_wait() {
        let d = run(&[SpeechStart { at_ms: 300 }, SpeechEnd { at_ms: 900 }]);
        assert_eq!(d.classification, Class::Human);
        assert!(
            d.decided_at_ms - 900 <= Config::default().short_wait_ms + 20,
            "{d:?}"
        );
    }

    #[test]
    fn a_scripted_receptionist_is_a_person_not_a_machine() {
        let d = run(&[
            SpeechStart { at_ms: 200 },
            Transcript {
                at_ms: 4000,
                text:
                    "Thank you for calling Main Street Clinic, this is Sarah, how can I help you?"
                        .into(),
                is_final: true,
            },
            SpeechEnd { at_ms: 5200 },
        ]);
        assert_eq!(d.classification, Class::Human, "{d:?}");
        assert!(
            d.decided_at_ms - 5200 <= Config::default().short_wait_ms + 20,
            "{d:?}"
        );
        // Timing alone (no transcript) still says person after a long wait.
        let d = run(&[SpeechStart { at_ms: 200 }, SpeechEnd { at_ms: 5200 }]);
        assert_eq!(d.classification, Class::Human);
    }

    #[test]
    fn a_menu_is_recognised_from_its_words_with_the_key_to_press() {
        let d = run(&[
            SpeechStart { at_ms: 300 },
            Transcript {
                at_ms: 2500,
                text: "Thank you for calling Riverside Medical.".into(),
                is_final: true,
            },
            Transcript {
                at_ms: 5500,
                text: "For billing press 1. For scheduling press 2.".into(),
                is_final: true,
            },
        ]);
        assert_eq!(d.classification, Class::IvrThenHuman, "{d:?}");
        assert_eq!(d.digit, Some('2'));
        assert!(d.decided_at_ms - 300 <= 6000);
    }

    #[test]
    fn a_menu_without_a_person_is_ivr_only() {
        let d = run(&[
            SpeechStart { at_ms: 300 },
            Transcript {
                at_ms: 6000,
                text: "Our hours are eight to five. For directions press 2. For billing press 3."
                    .into(),
                is_final: true,
            },
        ]);
        assert_eq!(d.classification, Class::IvrOnly, "{d:?}");
    }

    #[test]
    fn tones_decide_at_once() {
        assert_eq!(
            run(&[Observation::Tone {
                at_ms: 300,
                tone: super::Tone::Sit
            }])
            .classification,
            Class::Disconnected
        );
        assert_eq!(
            run(&[Observation::Tone {
                at_ms: 300,
                tone: super::Tone::Fax
            }])
            .classification,
            Class::Fax
        );
        let d = run(&[
            SpeechStart { at_ms: 200 },
            SpeechEnd { at_ms: 6000 },
            Observation::Tone {
                at_ms: 6200,
                tone: super::Tone::Beep,
            },
        ]);
        // The long greeting's wait is shorter than the long-wait threshold before the beep.
        assert_eq!(d.classification, Class::Voicemail, "{d:?}");
    }

    #[test]
    fn nobody_speaking_is_silence_and_long_speech_is_a_menu_by_timing() {
        assert_eq!(run(&[Tick { at_ms: 20 }]).classification, Class::Silence);
        // Sentences with short pauses, 9 s in all: a prompt.
        let d = run(&[
            SpeechStart { at_ms: 100 },
            SpeechEnd { at_ms: 2500 },
            SpeechStart { at_ms: 2900 },
            SpeechEnd { at_ms: 5500 },
            SpeechStart { at_ms: 5900 },
            Tick { at_ms: 9200 },
        ]);
        assert_eq!(d.classification, Class::IvrThenHuman);
        assert!(d.confidence < 0.8);
    }
}

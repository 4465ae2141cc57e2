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

/// Menu words from less speech than this need a recognisable option to count (see
/// `Classifier::menu_words_fit_the_audio`).
const MIN_MENU_SPEECH_MS: u64 = 2000;

/// What the transcript says, read once each time it changes (the classifier runs on every 20 ms
/// frame; the words change a few times a call).
#[derive(Debug, Clone, Default)]
struct Reading {
    /// The options it offers (`menu::extract_options`).
    options: Vec<menu::MenuOption>,
    /// `menu::menu_likelihood`, `menu::is_person_greeting_like`, `menu::voicemail_likelihood`.
    menu: f32,
    person: f32,
    recorded: f32,
    /// Some option names a recognisable destination.
    names_a_destination: bool,
    /// At most one option, leading nowhere named, in words that speak to the caller: a primed
    /// recogniser's slip in a greeting rather than a menu.
    lone_slip: bool,
}

impl Reading {
    fn of(transcript: &str) -> Self {
        if transcript.trim().is_empty() {
            return Self::default();
        }
        let options = menu::extract_options(transcript);
        let names_a_destination = options.iter().any(|o| o.target != menu::Target::Unknown);
        Reading {
            menu: menu::menu_likelihood(transcript),
            person: menu::is_person_greeting_like(transcript),
            recorded: menu::voicemail_likelihood(transcript),
            names_a_destination,
            lone_slip: options.len() <= 1
                && !names_a_destination
                && menu::addresses_the_caller(transcript),
            options,
        }
    }
}

/// Tunables, in media milliseconds.
#[derive(Debug, Clone)]
pub struct Config {
    /// A greeting at most this long, followed by `short_wait_ms` of silence, is a person.
    pub short_greeting_ms: u64,
    pub short_wait_ms: u64,
    /// Whether a recogniser feeds this classifier its words.
    pub words_expected: bool,
    /// With words expected but none yet saying "a person" (a greeting's words come back 0.6–1 s
    /// after it ends), a short greeting needs this much silence instead of `short_wait_ms`. A
    /// menu's first sentence ("You have reached Westgate Clinic.") is followed by a pause of
    /// 0.8–0.9 s once line noise hides its edges, which 750 ms took for a person waiting; a
    /// person whose words say so is still decided after `short_wait_ms`. Without a recogniser
    /// the wait stays short: every person would pay for it (docs/classifier.md).
    pub unconfirmed_wait_ms: u64,
    /// After a longer utterance a person still waits; a menu does not pause this long (and a
    /// voicemail beep arrives sooner).
    pub long_wait_ms: u64,
    /// Speech with pauses shorter than `run_gap_ms` for this long is a prompt, not a greeting.
    pub menu_run_ms: u64,
    pub run_gap_ms: u64,
    /// Such a run is a prompt only while it is being spoken or has paused for less than this. A
    /// person who ends a 7–8 s scripted greeting just before `menu_run_ms` and then waits in
    /// silence is not a prompt (the long-wait rule decides); a prompt that pauses longer is
    /// recognised when it resumes, a moment later.
    pub fluent_pause_ms: u64,
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
            words_expected: false,
            unconfirmed_wait_ms: 900,
            long_wait_ms: 2000,
            menu_run_ms: 8500,
            run_gap_ms: 1500,
            fluent_pause_ms: 1000,
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
    /// Media time the transcript's words reach.
    words_until_ms: Option<u64>,
    /// The transcript, read.
    reading: Reading,
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
            words_until_ms: None,
            reading: Reading::default(),
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
        let options = self.reading.options.clone();
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

    /// What the transcript says so far: (menu-likeness, person-likeness, recorded-message-likeness).
    fn text_cues(&self, t: u64) -> (f32, f32, f32) {
        let r = &self.reading;
        let menu_cue = if r.menu > 0.0 && !self.menu_words_fit_the_audio(t) {
            0.0
        } else {
            r.menu
        };
        (menu_cue, r.person, r.recorded)
    }

    /// Whether menu words can be what was said: a recogniser that cannot make out a short
    /// greeting at all may write the vocabulary it was primed with ("Let me press 1." for "Front
    /// desk."), and pressing keys at a receptionist is the costliest mistake. A menu's option
    /// ("for scheduling, press 2") takes well over a second to say and follows a greeting, so
    /// menu words heard in less than `MIN_MENU_SPEECH_MS` of speech count only when an option
    /// names a recognisable destination.
    fn menu_words_fit_the_audio(&self, t: u64) -> bool {
        let spoken_until = if self.speaking_since.is_some() {
            Some(t)
        } else {
            self.last_end.map(|(end, _)| end)
        };
        // Only the speech the words were decoded from counts, not what was said since.
        let spoken_until = match (spoken_until, self.words_until_ms) {
            (Some(s), Some(w)) => Some(s.min(w)),
            (s, _) => s,
        };
        let span = match (self.first_speech_ms, spoken_until) {
            (Some(first), Some(until)) => until.saturating_sub(first),
            _ => 0,
        };
        span >= MIN_MENU_SPEECH_MS || self.reading.names_a_destination
    }

    fn menu_class(&self) -> Class {
        let options = &self.reading.options;
        if menu::choose(options, &self.cfg.preferences).is_some() {
            Class::IvrThenHuman
        } else if options.is_empty() {
            // A menu whose options we could not read: assume a person is reachable.
            Class::IvrThenHuman
        } else {
            Class::IvrOnly
        }
    }

    /// Replaces everything heard so far with `text` (a recogniser that re-decodes the whole round
    /// gives its best reading each time) and re-evaluates at `at_ms`. `heard_until_ms` is the
    /// media time the words reach (decoding makes them arrive later).
    pub fn replace_transcript(
        &mut self,
        at_ms: u64,
        heard_until_ms: u64,
        text: &str,
    ) -> Option<Decision> {
        if self.decided.is_some() {
            return None;
        }
        self.transcript = text.to_string();
        self.reading = Reading::of(&self.transcript);
        self.words_until_ms = Some(heard_until_ms);
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
            Observation::Transcript { text, at_ms, .. } => {
                self.words_until_ms = Some(self.words_until_ms.unwrap_or(0).max(*at_ms));
                if !self.transcript.is_empty() {
                    self.transcript.push(' ');
                }
                self.transcript.push_str(text);
                self.reading = Reading::of(&self.transcript);
            }
            Observation::Tick { .. } => {}
        }
        let (menu_cue, person_cue, recorded_cue) = self.text_cues(t);
        // The transcript names a menu: decide as soon as it does.
        if menu_cue >= 0.7 && person_cue < 0.5 {
            let class = self.menu_class();
            return self.decide(class, 0.9, t, "the words of a menu");
        }
        // The words of a recorded message ("please leave a message"): its short greeting ends
        // like a person's, so no timing rule may call it one; its beep (or a long wait for a
        // message) decides.
        if recorded_cue >= 0.5 && menu_cue < 0.7 {
            if self.speaking_since.is_none()
                && let Some((end, _)) = self.last_end
                && t.saturating_sub(end) >= self.cfg.long_wait_ms
            {
                return self.decide(
                    Class::Voicemail,
                    0.75,
                    t,
                    "a recorded message, then silence",
                );
            }
        } else if self.speaking_since.is_none()
            && let Some((end, len)) = self.last_end
        {
            // Someone spoke, stopped, and is waiting for us.
            let waited = t.saturating_sub(end);
            // The span from the first word, not the sum of the speech segments: in line noise
            // the quieter syllables of a prompt fall under the VAD's margin, and a long prompt
            // heard in pieces must not add up to a short greeting.
            let span = end.saturating_sub(self.first_speech_ms.unwrap_or(end));
            let short = len <= self.cfg.short_greeting_ms
                && self.talk_ms <= self.cfg.short_greeting_ms + 1000
                && span <= self.cfg.short_greeting_ms + 1000;
            let short_wait = if self.cfg.words_expected && person_cue < 0.5 {
                self.cfg.unconfirmed_wait_ms
            } else {
                self.cfg.short_wait_ms
            };
            if short && waited >= short_wait && menu_cue < 0.5 {
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
                // words say menu; menus pause briefly between options. One "press N" leading
                // nowhere named, in words that speak to the caller ("…press 3. How can I help
                // you?"), is a primed recogniser's slip in a receptionist's greeting, not a menu.
                if menu_cue >= 0.5 && !self.reading.lone_slip {
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
                    .is_some_and(|(end, _)| t.saturating_sub(end) < self.cfg.fluent_pause_ms))
            && person_cue < 0.5
            && recorded_cue < 0.5
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
        run_with(Config::default(), obs)
    }

    fn run_with(cfg: Config, obs: &[Observation]) -> Decision {
        let mut c = Classifier::new(cfg);
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
    fn with_a_recogniser_a_pause_after_a_first_sentence_is_not_yet_a_person() {
        let words = Config {
            words_expected: true,
            ..Config::default()
        };
        // "You have reached Westgate Clinic." — 850 ms of silence — "For the pharmacy, press 7…":
        // without words that pause reads as a person waiting; with a recogniser attached whose
        // words have not shown a person yet, the prompt resumes before the wait is over.
        let sentence_then_prompt = [
            SpeechStart { at_ms: 500 },
            SpeechEnd { at_ms: 2400 },
            Tick { at_ms: 3200 },
            SpeechStart { at_ms: 3250 },
            Tick { at_ms: 12_500 },
        ];
        let d = run(&sentence_then_prompt);
        assert_eq!(d.classification, Class::Human, "{d:?}");
        let d = run_with(words.clone(), &sentence_then_prompt);
        assert_ne!(d.classification, Class::Human, "{d:?}");
        // A short greeting and real silence is still a person, after the longer wait.
        let d = run_with(
            words.clone(),
            &[SpeechStart { at_ms: 300 }, SpeechEnd { at_ms: 900 }],
        );
        assert_eq!(d.classification, Class::Human, "{d:?}");
        let waited = d.decided_at_ms - 900;
        assert!(
            waited >= words.unconfirmed_wait_ms && waited <= words.unconfirmed_wait_ms + 20,
            "{d:?}"
        );
        // Words that say "a person" keep the short wait.
        let d = run_with(
            words.clone(),
            &[
                SpeechStart { at_ms: 300 },
                Transcript {
                    at_ms: 1500,
                    text: "Front desk, this is Maria.".into(),
                    is_final: true,
                },
                SpeechEnd { at_ms: 1600 },
            ],
        );
        assert_eq!(d.classification, Class::Human, "{d:?}");
        assert!(d.decided_at_ms - 1600 <= words.short_wait_ms + 20, "{d:?}");
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
    fn menu_words_in_a_second_of_speech_do_not_make_a_greeting_a_menu() {
        // "Front desk." in line noise, written by a primed recogniser as "Let me press 1."
        let primed = |text: &str| {
            run(&[
                SpeechStart { at_ms: 570 },
                SpeechEnd { at_ms: 1130 },
                Transcript {
                    at_ms: 1600,
                    text: text.into(),
                    is_final: true,
                },
            ])
        };
        let d = primed("Let me press 1.");
        assert_eq!(d.classification, Class::Human, "{d:?}");
        assert!(d.decided_at_ms <= 1130 + Config::default().short_wait_ms + 20);
        // The speech goes on after the words were decoded: they still cover only its first
        // half-second, so they still do not count.
        let mut c = Classifier::new(Config::default());
        for o in [
            SpeechStart { at_ms: 370 },
            SpeechEnd { at_ms: 870 },
            SpeechStart { at_ms: 1160 },
        ] {
            assert!(c.push(&o).is_none());
        }
        assert!(
            c.replace_transcript(1360, 870, "And then, press 1.")
                .is_none()
        );
        for t in (1380..2500).step_by(20) {
            assert!(c.push(&Tick { at_ms: t }).is_none(), "decided at {t}");
        }
        // A short prompt that names where its key leads is still a menu.
        let d = primed("For scheduling, press 2.");
        assert_eq!(d.classification, Class::IvrThenHuman, "{d:?}");
        assert_eq!(d.digit, Some('2'));
    }

    #[test]
    fn one_stray_press_in_a_greeting_that_asks_how_to_help_is_a_person() {
        let greeting = |text: &str| {
            run(&[
                SpeechStart { at_ms: 440 },
                SpeechEnd { at_ms: 6240 },
                Transcript {
                    at_ms: 7160,
                    text: text.into(),
                    is_final: true,
                },
            ])
        };
        let d = greeting("So, start off your paper, press 3. So, OK. How can I help you?");
        assert_eq!(d.classification, Class::Human, "{d:?}");
        // Two options, or one with a destination, after the same long wait: a menu.
        let d = greeting("For billing press 3. For the pharmacy press 4.");
        assert_eq!(d.classification, Class::IvrOnly, "{d:?}");
        let d = greeting("Thank you for calling. For scheduling, press 3.");
        assert_eq!(d.classification, Class::IvrThenHuman, "{d:?}");
    }

    #[test]
    fn a_short_recorded_message_waits_for_its_beep_instead_of_passing_for_a_person() {
        let closed = |at_ms| Transcript {
            at_ms,
            text: "The office is now closed. Please leave a message.".into(),
            is_final: true,
        };
        // The words arrive while the greeting is still being spoken (its first sentence was
        // decoded during the second): the beep 1.2 s after the greeting decides.
        let d = run(&[
            SpeechStart { at_ms: 300 },
            closed(2000),
            SpeechEnd { at_ms: 3300 },
            Tick { at_ms: 4200 },
            Observation::Tone {
                at_ms: 4500,
                tone: super::Tone::Beep,
            },
        ]);
        assert_eq!(d.classification, Class::Voicemail, "{d:?}");
        assert_eq!(d.decided_at_ms, 4500);
        // No beep heard: the long wait for a message decides, not the short-greeting rule.
        let d = run(&[
            SpeechStart { at_ms: 300 },
            closed(2000),
            SpeechEnd { at_ms: 3300 },
        ]);
        assert_eq!(d.classification, Class::Voicemail, "{d:?}");
        assert!(d.decided_at_ms >= 3300 + Config::default().long_wait_ms);
        // The same timing without those words is a person, decided after the short wait.
        let d = run(&[SpeechStart { at_ms: 300 }, SpeechEnd { at_ms: 3300 }]);
        assert_eq!(d.classification, Class::Human, "{d:?}");
        assert!(d.decided_at_ms <= 3300 + Config::default().short_wait_ms + 20);
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

    #[test]
    fn a_long_greeting_that_has_ended_is_not_a_prompt_by_timing() {
        // A scripted receptionist without a pause for 7.3 s, then silence: at the 8.5 s mark
        // she has been quiet for 1.2 s, waiting. The long wait decides, for a person.
        let d = run(&[SpeechStart { at_ms: 300 }, SpeechEnd { at_ms: 7600 }]);
        assert_eq!(d.classification, Class::Human, "{d:?}");
        assert_eq!(d.reason, "a long greeting, then a long wait");
        // A prompt that pauses as long across that mark is recognised when it resumes.
        let d = run(&[
            SpeechStart { at_ms: 300 },
            SpeechEnd { at_ms: 7600 },
            Tick { at_ms: 8800 },
            SpeechStart { at_ms: 8900 },
            Tick { at_ms: 9000 },
        ]);
        assert_eq!(d.classification, Class::IvrThenHuman, "{d:?}");
        assert_eq!(d.decided_at_ms, 8900);
    }
}

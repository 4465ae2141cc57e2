//! Offline classification: a recording of a call's inbound track streamed through exactly the
//! live pipeline (µ-law → frames → front end → classifier, in media time), and the corpus
//! evaluation built on it. Used by `switchboard classify` and `switchboard evaluate`.

use serde::Serialize;
use serde_json::{Value, json};
use switchboard_audio::{AudioEvent, Pipeline, ToneKind};
use switchboard_core::classifier::{Class, Classifier, Config, Decision, Observation, Tone};
use switchboard_core::menu;

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

/// The live listening chain for one stream: front end → classifier, in media time. A call may be
/// classified several times (after each key press in navigate mode): [`Listener::restart`] starts
/// a fresh classification from a media time while the front end keeps its noise estimate.
pub struct Listener {
    pipeline: Pipeline,
    classifier: Classifier,
    /// Media time the current classification started at; the classifier sees times relative to it.
    base_ms: u64,
    /// Whether a recogniser feeds the classifier (`Config::words_expected`), kept across restarts.
    words_expected: bool,
    /// End of the audio pushed so far.
    end_ms: u64,
}

impl Default for Listener {
    fn default() -> Self {
        Self::new()
    }
}

impl Listener {
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A listener whose first classification uses `cfg` (e.g. the operator's analysis window).
    pub fn with_config(cfg: Config) -> Self {
        Listener {
            pipeline: Pipeline::new(),
            words_expected: cfg.words_expected,
            classifier: Classifier::new(cfg),
            base_ms: 0,
            end_ms: 0,
        }
    }

    /// Media time of the end of the audio pushed so far.
    pub fn end_ms(&self) -> u64 {
        self.end_ms
    }

    fn observe(&mut self, o: Observation) -> Option<Decision> {
        let rebased = match o {
            Observation::SpeechStart { at_ms } => Observation::SpeechStart {
                at_ms: at_ms.saturating_sub(self.base_ms),
            },
            Observation::SpeechEnd { at_ms } => Observation::SpeechEnd {
                at_ms: at_ms.saturating_sub(self.base_ms),
            },
            Observation::Tone { at_ms, tone } => Observation::Tone {
                at_ms: at_ms.saturating_sub(self.base_ms),
                tone,
            },
            Observation::Dtmf { at_ms, digit } => Observation::Dtmf {
                at_ms: at_ms.saturating_sub(self.base_ms),
                digit,
            },
            Observation::Transcript {
                at_ms,
                text,
                is_final,
            } => Observation::Transcript {
                at_ms: at_ms.saturating_sub(self.base_ms),
                text,
                is_final,
            },
            Observation::Tick { at_ms } => Observation::Tick {
                at_ms: at_ms.saturating_sub(self.base_ms),
            },
        };
        let mut d = self.classifier.push(&rebased)?;
        d.decided_at_ms += self.base_ms;
        Some(d)
    }

    /// Feeds audio that starts at media time `ts_ms`; front-end events go to `events`. Returns the
    /// decision when this audio makes it.
    pub fn push_ulaw(
        &mut self,
        ts_ms: u64,
        payload: &[u8],
        events: &mut Vec<AudioEvent>,
    ) -> Option<Decision> {
        let first = events.len();
        events.extend(self.pipeline.push_ulaw(ts_ms, payload));
        self.end_ms = self.end_ms.max(ts_ms + payload.len() as u64 / 8);
        self.after_events(first, events)
    }

    /// Flushes the front end at the end of the audio.
    pub fn finish_audio(&mut self, events: &mut Vec<AudioEvent>) -> Option<Decision> {
        let first = events.len();
        events.extend(self.pipeline.finish());
        self.after_events(first, events)
    }

    fn after_events(&mut self, first: usize, events: &[AudioEvent]) -> Option<Decision> {
        let mut decision = None;
        for e in &events[first..] {
            if e.at_ms() < self.base_ms {
                continue;
            }
            if decision.is_none()
                && let Some(o) = observation(e)
            {
                decision = self.observe(o);
            }
        }
        decision.or_else(|| self.tick(self.end_ms))
    }

    /// Lets time pass with no new audio (a silent line is timed too).
    pub fn tick(&mut self, at_ms: u64) -> Option<Decision> {
        self.observe(Observation::Tick { at_ms })
    }

    /// The round's whole transcript so far, re-decoded (replaces what was heard before); its
    /// words reach media time `heard_until_ms`.
    pub fn replace_transcript(
        &mut self,
        at_ms: u64,
        heard_until_ms: u64,
        text: &str,
    ) -> Option<Decision> {
        let mut d = self.classifier.replace_transcript(
            at_ms.saturating_sub(self.base_ms),
            heard_until_ms.saturating_sub(self.base_ms),
            text,
        )?;
        d.decided_at_ms += self.base_ms;
        Some(d)
    }

    /// Recognised text heard up to `at_ms`.
    pub fn push_transcript(&mut self, at_ms: u64, text: &str) -> Option<Decision> {
        self.observe(Observation::Transcript {
            at_ms,
            text: text.to_string(),
            is_final: true,
        })
    }

    /// The decision so far, if any.
    pub fn decision(&self) -> Option<Decision> {
        self.classifier.decision().map(|d| Decision {
            decided_at_ms: d.decided_at_ms + self.base_ms,
            ..d.clone()
        })
    }

    /// Ends the analysis: the decision, `unknown` (or `silence`) when none was made.
    pub fn finish(&mut self) -> Decision {
        let mut d = self
            .classifier
            .finish(self.end_ms.saturating_sub(self.base_ms));
        d.decided_at_ms += self.base_ms;
        d
    }

    /// Starts a new classification at media time `at_ms` (after a key press) with `cfg`; whether
    /// words are expected stays as the listener was made.
    pub fn restart(&mut self, at_ms: u64, cfg: Config) {
        self.classifier = Classifier::new(Config {
            words_expected: self.words_expected,
            ..cfg
        });
        self.base_ms = at_ms;
    }
}

/// The classifier's settings for listening after a key press, live and offline alike: the next
/// thing may be hold music before a person, so silence and the analysis window run longer.
pub fn after_press(base: Config) -> Config {
    Config {
        silence_ms: 30_000,
        window_ms: base.window_ms.max(180_000),
        ..base
    }
}

/// A menu is acted on once its prompt pauses for this long (it waits for a key): by then every
/// option has been heard and decoded…
pub const PROMPT_PAUSE_MS: u64 = 1500;
/// A menu whose options so far offer no way to a person is given this long a pause to name more.
pub const PROMPT_END_MS: u64 = 3500;
/// …or at the latest this long after the classifier recognised it.
pub const MENU_READ_MAX_MS: u64 = 20_000;
/// Words reaching this close to the end of the speech count as its transcript (a recogniser's
/// timestamps trail the front end's speech end a little).
const WORDS_SLACK_MS: u64 = 700;

/// Holds a menu decision until the whole prompt has been heard, then reads its options from
/// every transcript of the round (since answer or the last key press): the key to a person is
/// often named last. Without a recogniser there is nothing to wait for.
#[derive(Debug, Default)]
pub struct MenuReader {
    heard: String,
    pending: Option<Decision>,
    speaking: bool,
    last_end_ms: u64,
    /// Media time the words heard so far reach (recognisers answer late).
    words_until_ms: u64,
    /// Start of this round: words from before it belong to a menu already acted on.
    round_start_ms: u64,
    /// After a key press the round starts with the next speech (the menu's answer to the key).
    awaiting_speech: bool,
    /// The options of every whole-round reading of this round (see [`merge_readings`]).
    readings: Vec<Vec<menu::MenuOption>>,
    /// The round's options as heard so far, updated when words arrive (not on every poll).
    options: Vec<menu::MenuOption>,
}

/// Combines the options of successive readings of the same round. A recogniser that re-decodes
/// the whole round each time it grows reads the same audio with different context, and its
/// slips differ from reading to reading ("reach the front desk, press 2" in one, "reach
/// left-to-left, press 2" in the next); the latest reading alone loses what an earlier one
/// heard. Per key: the destination most readings agree on (the latest among equals), an
/// unrecognised one only when no reading recognised any; keys in order of first appearance.
pub fn merge_readings(readings: &[Vec<menu::MenuOption>]) -> Vec<menu::MenuOption> {
    use menu::Target;
    let mut keys: Vec<char> = Vec::new();
    for o in readings.iter().flatten() {
        if !keys.contains(&o.digit) {
            keys.push(o.digit);
        }
    }
    keys.into_iter()
        .filter_map(|key| {
            let of_key: Vec<&menu::MenuOption> = readings
                .iter()
                .filter_map(|r| r.iter().find(|o| o.digit == key))
                .collect();
            let votes = |t: Target| of_key.iter().filter(|o| o.target == t).count();
            // `max_by_key` keeps the last of equal maxima; the index breaks ties towards the
            // latest reading anyway.
            of_key
                .iter()
                .enumerate()
                .max_by_key(|(i, o)| (o.target != Target::Unknown, votes(o.target), *i))
                .map(|(_, o)| (*o).clone())
        })
        .collect()
}

impl MenuReader {
    /// Notes the front end's speech events.
    pub fn events(&mut self, events: &[AudioEvent]) {
        for e in events {
            match *e {
                AudioEvent::SpeechStart { at_ms } => {
                    self.speaking = true;
                    if self.awaiting_speech && at_ms >= self.round_start_ms {
                        self.awaiting_speech = false;
                        self.round_start_ms = at_ms;
                    }
                }
                AudioEvent::SpeechEnd { at_ms, .. } => {
                    self.speaking = false;
                    self.last_end_ms = at_ms;
                }
                _ => {}
            }
        }
    }

    /// Notes a transcript of speech that ended at `until_ms`; false (and ignored) when it is
    /// from before this round — the menu a key was already pressed for.
    pub fn heard(&mut self, text: &str, until_ms: u64) -> bool {
        if self.awaiting_speech || until_ms < self.round_start_ms {
            return false;
        }
        self.words_until_ms = self.words_until_ms.max(until_ms);
        self.heard.push(' ');
        self.heard.push_str(text);
        self.options = menu::extract_options(&self.heard);
        true
    }

    /// Like [`MenuReader::heard`] for a transcript of the whole round so far (it replaces the
    /// earlier, shorter readings; a late answer for less audio is ignored).
    pub fn heard_all(&mut self, text: &str, until_ms: u64) -> bool {
        if self.awaiting_speech || until_ms < self.round_start_ms || until_ms < self.words_until_ms
        {
            return false;
        }
        self.words_until_ms = until_ms;
        self.heard = text.to_string();
        self.readings.push(menu::extract_options(text));
        self.options = merge_readings(&self.readings);
        true
    }

    /// Media time the current round started at (after a key press: the menu's next words).
    pub fn round_start_ms(&self) -> Option<u64> {
        (!self.awaiting_speech).then_some(self.round_start_ms)
    }

    /// Offers a classifier decision: returned at once, unless it is a menu and a recogniser is
    /// listening (then [`MenuReader::poll`] returns it read out).
    pub fn offer(&mut self, d: Decision, reading: bool) -> Option<Decision> {
        if reading && matches!(d.classification, Class::IvrOnly | Class::IvrThenHuman) {
            self.pending = Some(d);
            return None;
        }
        Some(d)
    }

    /// The waiting menu, read out, once its prompt has paused and no decode is outstanding.
    pub fn poll(&mut self, now_ms: u64, decoding: bool) -> Option<Decision> {
        let pending = self.pending.as_ref()?;
        let paused = !self.speaking && now_ms.saturating_sub(self.last_end_ms) >= PROMPT_PAUSE_MS;
        // The last words spoken have come back from the recogniser.
        let caught_up = self.words_until_ms + WORDS_SLACK_MS >= self.last_end_ms;
        let overdue = now_ms.saturating_sub(pending.decided_at_ms) >= MENU_READ_MAX_MS;
        let options = &self.options;
        // The most wanted option has been named: no need to hear the rest (menus accept a key
        // while they talk).
        let best_heard = menu::default_preferences()
            .first()
            .is_some_and(|best| options.iter().any(|o| o.target == *best));
        let digit = menu::choose(options, &menu::default_preferences()).map(|o| o.digit);
        // Options heard but none leads to a person: perhaps more are coming after a long pause;
        // only a menu that has clearly stopped talking is read as offering none.
        let stopped = !self.speaking && now_ms.saturating_sub(self.last_end_ms) >= PROMPT_END_MS;
        let settled = digit.is_some() || options.is_empty() || stopped;
        if !((paused && caught_up && !decoding && settled) || overdue || best_heard) {
            return None;
        }
        let pending = self.pending.take()?;
        let options = self.options.clone();
        // What timing took for a prompt may turn out, in words, to be a person (hold music,
        // then "thank you for holding, how can I help you?").
        if options.is_empty()
            && menu::is_person_greeting_like(&self.heard) >= 0.5
            && menu::menu_likelihood(&self.heard) < 0.5
        {
            return Some(Decision {
                classification: Class::Human,
                confidence: 0.85,
                decided_at_ms: now_ms,
                digit: None,
                menu_options: options,
                reason: "a person's words after what sounded like a prompt",
            });
        }
        let classification = if digit.is_some() || options.is_empty() {
            Class::IvrThenHuman
        } else {
            Class::IvrOnly
        };
        Some(Decision {
            classification,
            decided_at_ms: now_ms,
            digit,
            menu_options: options,
            ..pending
        })
    }

    /// After acting: a new round of listening from media time `at_ms`.
    pub fn next_round(&mut self, at_ms: u64) {
        self.heard.clear();
        self.readings.clear();
        self.options.clear();
        self.pending = None;
        self.round_start_ms = at_ms;
        self.awaiting_speech = true;
    }
}

/// What an offline recogniser made of some audio, and how long decoding it took (the words
/// reach the classifier that much media time after the audio ended, as they would live).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Decoded {
    pub text: String,
    pub took_ms: u64,
}

/// A blocking recogniser for one utterance of µ-law audio (offline classification).
pub type Transcribe<'a> = &'a dyn Fn(&[u8]) -> Option<Decoded>;
/// An owned [`Transcribe`].
pub type Recogniser = Box<dyn Fn(&[u8]) -> Option<Decoded>>;

/// Streams µ-law 8 kHz audio through the live pipeline in 20 ms chunks, as Twilio would send it.
pub fn classify_ulaw(ulaw: &[u8]) -> Classified {
    classify_call(ulaw, &Offline::default())
}

/// What an offline classification may use besides the clinic's audio.
#[derive(Default, Clone, Copy)]
pub struct Offline<'a> {
    /// The outbound track (what was sent to the clinic): its key presses are the steps taken.
    pub outbound: Option<&'a [u8]>,
    /// A recogniser for the clinic's utterances.
    pub transcribe: Option<Transcribe<'a>>,
    /// Print what the recogniser heard and each decision to standard error as it happens
    /// (`switchboard classify --trace`: an operator looking into one recording on a terminal;
    /// never used by the service, whose logs carry no transcripts).
    pub trace: bool,
}

/// Listens for key presses in one track (the outbound track: what was sent to the clinic).
#[derive(Default)]
pub struct KeyHearer {
    framer: switchboard_audio::Framer,
    detector: switchboard_audio::DtmfDetector,
    keys: Vec<(u64, char)>,
}

impl KeyHearer {
    /// At most this many keys are kept (the length of a replayable path).
    const MAX_KEYS: usize = 20;

    /// Feeds µ-law audio that starts at media time `ts_ms`.
    pub fn push(&mut self, ts_ms: u64, ulaw: &[u8]) {
        use switchboard_audio::Stage;
        let pcm = switchboard_audio::g711::decode(ulaw);
        for f in self.framer.push(ts_ms, &pcm) {
            let evs = self.detector.push(&f);
            self.note(evs);
        }
    }

    fn note(&mut self, evs: Vec<AudioEvent>) {
        for e in evs {
            if let AudioEvent::Dtmf { at_ms, digit, .. } = e
                && self.keys.len() < Self::MAX_KEYS
            {
                self.keys.push((at_ms, digit));
            }
        }
    }

    /// The keys heard, (media ms, key), once the track has ended.
    pub fn finish(mut self) -> Vec<(u64, char)> {
        use switchboard_audio::Stage;
        let evs = self.detector.finish();
        self.note(evs);
        self.keys
    }
}

/// Key presses heard in a track: (media ms, key).
pub fn keys_in(ulaw: &[u8]) -> Vec<(u64, char)> {
    let mut hearer = KeyHearer::default();
    for (i, chunk) in ulaw.chunks(160).enumerate() {
        hearer.push(i as u64 * 20, chunk);
    }
    hearer.finish()
}

/// Classifies a recorded call the way navigate mode would live: the same listener, menu reader
/// and navigator, in media time. A recogniser's answers arrive as late as decoding took. With
/// the outbound track, the keys actually pressed are the steps; without it, the keys the
/// navigator would press (and when) are. The recording cannot react to our keys, so after a press
/// the analysis simply goes on with what was recorded.
pub fn classify_call(inbound: &[u8], opts: &Offline<'_>) -> Classified {
    use switchboard_core::navigator::{Action, NavConfig, Navigator};
    use switchboard_core::{ClassificationType, IvrAction};
    let mut listener = Listener::with_config(Config {
        words_expected: opts.transcribe.is_some(),
        ..Config::default()
    });
    let mut reader = MenuReader::default();
    let mut nav = Navigator::new(NavConfig::default());
    let mut cutter = crate::speech::Utterances::whole_rounds();
    // (available at, heard until, text)
    let mut due: std::collections::VecDeque<(u64, u64, String)> = Default::default();
    let mut events = Vec::new();
    let heard_keys = opts.outbound.map(keys_in).unwrap_or_default();
    let mut next_key = 0;
    let mut steps: Vec<IvrAction> = Vec::new();
    let mut menu_seen: Option<Decision> = None;
    let mut last_menu: Option<Decision> = None;
    let mut outcome: Option<(Class, Decision)> = None;
    // The last menu whose key was pressed because it named the way to a person.
    let mut person_menu: Option<Decision> = None;
    let mut t = 0u64;
    let end = inbound.len() as u64 / 8;
    let mut chunks = inbound.chunks(160);
    // After the recording, let 2 s of silence count, as a live line would.
    while t < end + 2000 && outcome.is_none() {
        let first = events.len();
        let chunk = chunks.next();
        let mut d = match chunk {
            Some(c) => listener.push_ulaw(t, c, &mut events),
            None => listener
                .finish_audio(&mut events)
                .or_else(|| listener.tick(t + 20)),
        };
        let new_events = &events[first..];
        reader.events(new_events);
        if let (Some(tr), Some(c)) = (opts.transcribe, chunk) {
            for u in cutter.push(t, c, new_events) {
                if let Some(Decoded { text, took_ms }) = tr(&u.ulaw) {
                    // Decodes run one after another (live they queue for a core too): a later
                    // one starts when the one before it ends.
                    let starts = due.back().map_or(u.end_ms, |x| x.0.max(u.end_ms));
                    due.push_back((starts + took_ms, u.end_ms, text));
                }
            }
        }
        t += chunk.map_or(20, |c| c.len() as u64 / 8);
        while due.front().is_some_and(|x| x.0 <= t) {
            let (_, until, text) = due.pop_front().expect("checked");
            if opts.trace {
                eprintln!("[{t} ms] heard (to {until} ms): {text}");
            }
            if reader.heard_all(&text, until) {
                d = d.or(listener.replace_transcript(t, until, &text));
            }
        }
        // Keys really pressed: each starts a new round of listening.
        while next_key < heard_keys.len() && heard_keys[next_key].0 <= t {
            let (at, key) = heard_keys[next_key];
            steps.push(IvrAction {
                after_ms: u32::try_from(at).unwrap_or(u32::MAX),
                digits: key.to_string(),
            });
            listener.restart(at + 100, after_press(Config::default()));
            reader.next_round(at);
            cutter.next_round();
            next_key += 1;
            d = None;
        }
        if let Some(d) = &d
            && matches!(d.classification, Class::IvrOnly | Class::IvrThenHuman)
            && menu_seen.is_none()
        {
            menu_seen = Some(d.clone());
        }
        let ready = d
            .and_then(|d| reader.offer(d, opts.transcribe.is_some()))
            .or_else(|| reader.poll(t, !due.is_empty()));
        let Some(d) = ready else { continue };
        if opts.trace {
            eprintln!(
                "[{t} ms] {} ({}), key {:?}, options {:?}",
                d.classification.as_str(),
                d.reason,
                d.digit,
                d.menu_options
                    .iter()
                    .map(|o| format!("{} {}", o.digit, o.target.as_str()))
                    .collect::<Vec<_>>()
            );
        }
        if matches!(d.classification, Class::IvrOnly | Class::IvrThenHuman) {
            last_menu = Some(d.clone());
        }
        match nav.on_decision(&d) {
            Action::Press { digits, at_ms } => {
                if d.digit.is_some() {
                    person_menu = Some(d.clone());
                }
                if heard_keys.is_empty() {
                    steps.push(IvrAction {
                        after_ms: u32::try_from(at_ms).unwrap_or(u32::MAX),
                        digits,
                    });
                }
                listener.restart(at_ms + 200, after_press(Config::default()));
                reader.next_round(t);
                cutter.next_round();
            }
            Action::WaitForTimeout => {
                listener.restart(d.decided_at_ms, after_press(Config::default()));
                reader.next_round(t);
            }
            Action::HandOff {
                learned: (kind, _), ..
            } => {
                let class = match kind {
                    ClassificationType::Human if steps.is_empty() => Class::Human,
                    ClassificationType::Human | ClassificationType::IvrThenHuman => {
                        Class::IvrThenHuman
                    }
                    ClassificationType::IvrOnly => Class::IvrOnly,
                };
                outcome = Some((class, d));
            }
            // Someone else's keys are on the outbound track: keep listening to what they reach.
            Action::HandOffToAssistant if !heard_keys.is_empty() => {
                listener.restart(d.decided_at_ms, after_press(Config::default()));
                reader.next_round(t);
            }
            Action::HandOffToAssistant => outcome = Some((d.classification, d)),
            Action::MenuOnly { .. } => outcome = Some((Class::IvrOnly, d)),
            Action::HandOffUncached(c) | Action::HangUp(c) => {
                // A menu that ended in silence or a mailbox was still a menu.
                let c = match (&menu_seen, c) {
                    (Some(m), Class::Silence | Class::Unknown) => m.classification,
                    _ => c,
                };
                outcome = Some((c, d));
            }
        }
    }
    // Keep the front end's events for the whole recording.
    for c in chunks {
        let _ = listener.push_ulaw(t, c, &mut events);
        t += c.len() as u64 / 8;
    }
    let (class, d) = match outcome {
        Some(o) => o,
        // The recording stopped at a menu: what it was, and what the navigator pressed. A
        // recording does not react to a key, so after one it plays on with the rest of the same
        // prompt: a later round that names no person does not undo the way to one found before.
        None => match (person_menu.clone(), last_menu.clone().or(menu_seen.clone())) {
            (Some(m), _) => (Class::IvrThenHuman, m),
            (None, Some(m)) => (m.classification, m),
            (None, None) => {
                let d = listener.finish();
                (d.classification, d)
            }
        },
    };
    // A menu is reported when it was recognised, a person when the hand-off was decided.
    let decided_at_ms = match (&menu_seen, class) {
        (Some(m), Class::IvrOnly | Class::IvrThenHuman) => m.decided_at_ms,
        _ => d.decided_at_ms,
    };
    let options = person_menu
        .as_ref()
        .or(last_menu.as_ref())
        .map_or(&d.menu_options, |m| &m.menu_options);
    Classified {
        classification: class,
        confidence: d.confidence,
        decided_at_ms,
        ivr_actions: steps
            .iter()
            .map(|s| json!({"after_ms": s.after_ms, "digits": s.digits}))
            .collect(),
        menu_options: options
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
    /// Every clip's answer, in corpus order.
    pub results: Vec<ClipResult>,
}

/// One clip of an evaluation: what it is, what the pipeline said, and whether that was right.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClipResult {
    pub file: String,
    pub expected: String,
    pub predicted: String,
    pub decided_at_ms: u64,
    /// The key a person is reached by (menus with one), and the first key the navigator pressed.
    pub expected_digit: Option<String>,
    pub pressed: Option<String>,
    pub reason: &'static str,
    /// Not the labelled class, or not the labelled key.
    pub miss: bool,
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
    evaluate_with(dir, None)
}

/// [`evaluate`] with a recogniser.
pub fn evaluate_with(dir: &str, transcribe: Option<Transcribe<'_>>) -> Result<Evaluation, String> {
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
        let r = classify_call(
            &audio,
            &Offline {
                outbound: None,
                transcribe,
                trace: false,
            },
        );
        let predicted = r.classification.as_str();
        let pressed = r
            .ivr_actions
            .first()
            .and_then(|a| a["digits"].as_str())
            .map(str::to_string);
        ev.results.push(ClipResult {
            file: l.file.clone(),
            expected: l.classification.clone(),
            predicted: predicted.to_string(),
            decided_at_ms: r.decided_at_ms,
            expected_digit: l.digit.clone(),
            pressed: pressed.clone(),
            reason: r.reason,
            miss: l.classification != predicted || (l.digit.is_some() && pressed != l.digit),
        });
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
                if pressed.as_deref() == Some(d.as_str()) {
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
    /// The clips it got wrong (class or key), one line each.
    pub fn render_misses(&self) -> String {
        let mut out = String::new();
        for r in self.results.iter().filter(|r| r.miss) {
            out.push_str(&format!(
                "{:<24} expected {:<15} got {:<15} key {:>2} pressed {:>2}  at {:>6} ms  {}\n",
                r.file,
                r.expected,
                r.predicted,
                r.expected_digit.as_deref().unwrap_or("-"),
                r.pressed.as_deref().unwrap_or("-"),
                r.decided_at_ms,
                r.reason
            ));
        }
        out
    }

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

/// The offline recogniser named on the command line (`--speech`).
pub fn offline_recogniser(name: &str) -> Result<Option<Recogniser>, String> {
    match name {
        "none" => Ok(None),
        #[cfg(feature = "whisper")]
        "whisper" => {
            let dir = std::env::var("SWITCHBOARD_WHISPER_MODEL")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|_| switchboard_speech::default_model_dir());
            let model = switchboard_speech::WhisperTranscriber::load(&dir, 2).map_err(|e| {
                format!(
                    "cannot load the Whisper model from {} (SWITCHBOARD_WHISPER_MODEL): {e}",
                    dir.display()
                )
            })?;
            Ok(Some(Box::new(move |ulaw: &[u8]| {
                let started = std::time::Instant::now();
                let text = model
                    .transcribe_ulaw(ulaw)
                    .ok()
                    .filter(|t| !t.trim().is_empty())?;
                Some(Decoded {
                    text,
                    took_ms: started.elapsed().as_millis() as u64,
                })
            })))
        }
        #[cfg(not(feature = "whisper"))]
        "whisper" => {
            Err("--speech whisper needs a build with `--features whisper` (docs/speech.md)".into())
        }
        other => Err(format!("--speech {other}: expected none or whisper")),
    }
}

/// Wraps a recogniser with a file of its earlier answers (one JSON object a line: the audio's
/// hash, the text and the decode time measured then), so that re-running an evaluation after a
/// change to the classifier replays exactly the same words at the same delays instead of
/// spending minutes decoding again. New answers are appended as they are made.
pub fn with_transcript_cache(inner: Recogniser, path: &str) -> Result<Recogniser, String> {
    use std::io::Write;
    #[derive(Serialize, serde::Deserialize)]
    struct Entry {
        audio: String,
        #[serde(flatten)]
        decoded: Option<Decoded>,
    }
    let mut known = std::collections::HashMap::new();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let e: Entry = serde_json::from_str(line)
                    .map_err(|e| format!("{path}:{}: not a transcript cache line: {e}", n + 1))?;
                known.insert(e.audio, e.decoded);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {path}: {e}")),
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    let state = std::sync::Mutex::new((known, file));
    Ok(Box::new(move |ulaw: &[u8]| {
        let key = audio_key(ulaw);
        if let Some(hit) = state.lock().expect("not poisoned").0.get(&key) {
            return hit.clone();
        }
        let decoded = inner(ulaw);
        let mut st = state.lock().expect("not poisoned");
        let line = serde_json::to_string(&Entry {
            audio: key.clone(),
            decoded: decoded.clone(),
        })
        .expect("serialisable");
        if let Err(e) = writeln!(st.1, "{line}") {
            tracing::warn!(error = %e, "transcript cache not written");
        }
        st.0.insert(key, decoded.clone());
        decoded
    }))
}

/// A stable name for a piece of audio: its length and two 64-bit FNV-1a hashes.
fn audio_key(bytes: &[u8]) -> String {
    let fnv = |seed: u64| {
        bytes.iter().fold(seed, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3)
        })
    };
    format!(
        "{}-{:016x}-{:016x}",
        bytes.len(),
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

#[cfg(test)]
mod tests {
    use super::{Decoded, Recogniser, merge_readings, with_transcript_cache};
    use switchboard_core::menu::{Target, extract_options};

    #[test]
    fn successive_readings_of_a_round_keep_what_any_of_them_heard_best() {
        let readings: Vec<_> = [
            "Thank you for calling Westgate clinic, reach the front desk, press 2.",
            "Thank you for calling Westgate clinic, reach the front desk, press 2 for the rest.",
            "And do for calling Westgate clinic, reach left-to-left, press 2 for directions and \
             hours. Press 6 for directions and hours.",
            "For billing press 3. Reach the front desk, press 2. Press 6 for directions.",
        ]
        .iter()
        .map(|t| extract_options(t))
        .collect();
        let merged = merge_readings(&readings);
        let pairs: Vec<(char, Target)> = merged.iter().map(|o| (o.digit, o.target)).collect();
        // 2: front desk in three readings, unrecognised in one. 6 is only ever unrecognised.
        // 3 appears once, later, and keeps its place after the earlier keys.
        assert_eq!(
            pairs,
            vec![
                ('2', Target::FrontDesk),
                ('6', Target::Unknown),
                ('3', Target::Billing)
            ]
        );
        // Disagreement: the destination most readings agree on; among equals, the latest.
        let said = |t: &str| extract_options(t);
        let two_to_one = merge_readings(&[
            said("For billing, press 4."),
            said("For scheduling, press 4."),
            said("For scheduling, press 4."),
        ]);
        assert_eq!(two_to_one[0].target, Target::Scheduling);
        let tie = merge_readings(&[
            said("For scheduling, press 4."),
            said("For billing, press 4."),
        ]);
        assert_eq!(tie[0].target, Target::Billing);
        assert!(merge_readings(&[]).is_empty());
    }
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A recogniser that names the audio's length and counts its calls.
    fn counting(calls: Arc<AtomicUsize>) -> Recogniser {
        Box::new(move |ulaw: &[u8]| {
            calls.fetch_add(1, Ordering::SeqCst);
            (ulaw.len() != 3).then(|| Decoded {
                text: format!("{} bytes", ulaw.len()),
                took_ms: 100 + ulaw.len() as u64,
            })
        })
    }

    #[test]
    fn the_transcript_cache_replays_earlier_answers_and_their_decode_times() {
        let dir = std::env::temp_dir().join(format!("sb-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cache.jsonl");
        let path = path.to_str().unwrap();
        let _ = std::fs::remove_file(path);

        let calls = Arc::new(AtomicUsize::new(0));
        let first = with_transcript_cache(counting(calls.clone()), path).unwrap();
        let a = first(&[1, 2, 3, 4]);
        assert_eq!(
            a,
            Some(Decoded {
                text: "4 bytes".into(),
                took_ms: 104
            })
        );
        // Nothing heard is remembered too, and the same audio is not decoded twice.
        assert_eq!(first(&[9, 9, 9]), None);
        assert_eq!(first(&[1, 2, 3, 4]), a);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        drop(first);

        // A later run reads the file: no decoding for known audio, new audio is decoded.
        let calls = Arc::new(AtomicUsize::new(0));
        let second = with_transcript_cache(counting(calls.clone()), path).unwrap();
        assert_eq!(second(&[1, 2, 3, 4]), a);
        assert_eq!(second(&[9, 9, 9]), None);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // Same length, other bytes: another piece of audio.
        assert_eq!(second(&[4, 3, 2, 1]).map(|d| d.took_ms), Some(104));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // A damaged file is refused with the line named.
        std::fs::write(path, "{\"audio\": 1}\n").unwrap();
        let err = with_transcript_cache(counting(calls), path)
            .err()
            .expect("refused");
        assert!(err.contains(":1:"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! One answered call at a clinic: what is on the line at each moment of media time, and how key
//! presses move a menu. Deterministic; time is milliseconds since the call was answered.

use crate::world::{Clinic, Kind, Leads, MenuNode};

/// What a listener on the line hears / talks to at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// A person, ready to talk.
    Person,
    /// A menu node prompting.
    Menu {
        node: usize,
    },
    /// Hold music until a person picks up.
    Hold {
        until_ms: u64,
    },
    /// A voicemail greeting, then a beep, then recording.
    Voicemail,
    Fax,
    /// The clinic hung up.
    Ended,
}

impl LineState {
    pub fn label(self) -> &'static str {
        match self {
            LineState::Person => "person",
            LineState::Menu { .. } => "menu",
            LineState::Hold { .. } => "hold",
            LineState::Voicemail => "voicemail",
            LineState::Fax => "fax",
            LineState::Ended => "ended",
        }
    }
}

/// Digits are ignored this long after a prompt starts (the IVR is still loading).
const ACCEPT_AFTER_MS: u64 = 300;
/// How long a node waits for a key after its prompt ends.
const TIMEOUT_MS: u64 = 5000;
/// A menu that repeats this many times hangs up.
const MAX_REPEATS: u32 = 3;
/// A person who has greeted and hears only silence says "Hello?" after this long.
const HELLO_AFTER_MS: u64 = 4000;

/// The clinic side of one call.
#[derive(Debug, Clone)]
pub struct Line {
    menu: Vec<MenuNode>,
    /// What a person or voicemail box says on answering.
    greeting: Option<String>,
    state: LineState,
    /// When the current state began (media ms), for audio.
    since_ms: u64,
    /// When the current menu node's prompt started.
    entered_ms: u64,
    repeats: u32,
    /// Every key press received, with its time (for tests and the summary).
    pub pressed: Vec<(u64, char)>,
    /// Ignored or invalid presses.
    pub invalid: u32,
}

impl Line {
    /// The line at the moment of answer on simulated day `day`.
    pub fn answer(clinic: &Clinic, day: u32) -> Line {
        let state = match clinic.kind {
            Kind::Person => LineState::Person,
            Kind::Menu | Kind::MenuOnly => LineState::Menu { node: 0 },
            Kind::Voicemail => LineState::Voicemail,
            Kind::Fax => LineState::Fax,
            Kind::Busy | Kind::NoAnswer | Kind::Disconnected => LineState::Ended,
        };
        Line {
            menu: clinic.menu_on(day).to_vec(),
            greeting: clinic.greeting.clone(),
            state,
            since_ms: 0,
            entered_ms: 0,
            repeats: 0,
            pressed: vec![],
            invalid: 0,
        }
    }

    fn go(&mut self, leads: &Leads, at_ms: u64) {
        self.since_ms = at_ms;
        self.state = match leads {
            Leads::Person => match self.state {
                LineState::Menu { node } if self.menu[node].hold_seconds > 0.0 => LineState::Hold {
                    until_ms: at_ms + (self.menu[node].hold_seconds * 1000.0) as u64,
                },
                _ => LineState::Person,
            },
            Leads::Voicemail => LineState::Voicemail,
            Leads::Hangup => LineState::Ended,
            Leads::Node(i) => {
                self.entered_ms = at_ms;
                self.repeats = 0;
                LineState::Menu { node: *i }
            }
            Leads::Repeat => {
                self.repeats += 1;
                self.entered_ms = at_ms;
                if self.repeats >= MAX_REPEATS {
                    LineState::Ended
                } else {
                    self.state
                }
            }
        };
    }

    /// Advances timeouts and hold up to `t_ms` and returns what is on the line then.
    pub fn at(&mut self, t_ms: u64) -> LineState {
        loop {
            match self.state {
                LineState::Hold { until_ms } if t_ms >= until_ms => {
                    self.state = LineState::Person;
                    self.since_ms = until_ms;
                    self.greeting = Some("Thank you for holding, how can I help you?".into());
                }
                LineState::Menu { node } => {
                    let n = &self.menu[node];
                    let deadline =
                        self.entered_ms + (n.prompt_seconds * 1000.0) as u64 + TIMEOUT_MS;
                    if t_ms < deadline {
                        break;
                    }
                    let leads = n.on_timeout.clone();
                    self.go(&leads, deadline);
                    if self.state == LineState::Ended {
                        break;
                    }
                }
                _ => break,
            }
        }
        self.state
    }

    /// A key press at media time `at_ms`.
    pub fn press(&mut self, at_ms: u64, digit: char) {
        self.pressed.push((at_ms, digit));
        let LineState::Menu { node } = self.at(at_ms) else {
            self.invalid += 1;
            return;
        };
        if at_ms < self.entered_ms + ACCEPT_AFTER_MS {
            self.invalid += 1;
            return;
        }
        match self.menu[node].options.iter().find(|o| o.digit == digit) {
            Some(o) => {
                let leads = o.leads.clone();
                self.go(&leads, at_ms);
            }
            None => {
                // "That is not a valid option": the node starts over.
                self.invalid += 1;
                self.go(&Leads::Repeat, at_ms);
            }
        }
    }

    /// The rendered audio of what a person or mailbox says on answering (empty if none).
    fn greeting_clip(&self) -> &'static [u8] {
        self.greeting
            .as_deref()
            .and_then(|g| crate::audio::clip(&format!("speech:{g}")))
            .unwrap_or(&[])
    }

    /// 20 ms of what the line sounds like at media time `t_ms` (µ-law): greetings and prompts from
    /// the rendered clips, hold music, the voicemail beep, fax tones, or silence.
    pub fn audio_frame(&mut self, t_ms: u64) -> [u8; 160] {
        use crate::audio::{SILENCE, clip, slice_at};
        let state = self.at(t_ms);
        let since = t_ms.saturating_sub(self.since_ms);
        let src: Option<(&'static [u8], bool)> = match state {
            LineState::Person => {
                // A person who hears nothing says "Hello?" — twice, a few seconds apart.
                let greeting = self.greeting_clip();
                let greeting_ms = greeting.len() as u64 / 8;
                let again = since.saturating_sub(greeting_ms) / HELLO_AFTER_MS;
                if since < greeting_ms {
                    Some((greeting, false))
                } else if (1..=2).contains(&again) {
                    let offset = since - greeting_ms - again * HELLO_AFTER_MS;
                    return slice_at(clip("speech:Hello?").unwrap_or(&[]), offset * 8, false);
                } else {
                    None
                }
            }
            LineState::Menu { node } => {
                clip(&format!("speech:{}", self.menu[node].prompt)).map(|c| (c, false))
            }
            LineState::Hold { .. } => clip("tone:hold_music").map(|c| (c, true)),
            LineState::Fax => clip("tone:fax_cng").map(|c| (c, true)),
            LineState::Voicemail => {
                // The greeting (when the box has one), then the beep, then silence to record.
                let greeting = self.greeting_clip();
                let greeting_ms = greeting.len() as u64 / 8;
                if since < greeting_ms {
                    Some((greeting, false))
                } else {
                    return slice_at(
                        clip("tone:beep").unwrap_or(&[]),
                        (since - greeting_ms) * 8,
                        false,
                    );
                }
            }
            LineState::Ended => None,
        };
        match src {
            Some((c, looping)) => slice_at(c, since * 8, looping),
            None => [SILENCE; 160],
        }
    }

    /// What is on the line as of the last event (without advancing time).
    pub fn state(&self) -> LineState {
        self.state
    }

    /// The prompt being spoken now, if a menu is on the line (for transcripts and audio).
    pub fn prompt(&self) -> Option<&str> {
        match self.state {
            LineState::Menu { node } => Some(&self.menu[node].prompt),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn clinic(kind: Kind, nested: bool) -> Clinic {
        World::default_world()
            .clinics
            .into_iter()
            .find(|c| {
                c.kind == kind && (c.menu.len() > 1) == nested && c.menu_changes_on_day.is_none()
            })
            .unwrap()
    }

    #[test]
    fn the_right_keys_at_the_right_times_reach_a_person() {
        let c = clinic(Kind::Menu, true);
        let path = c.path_to_person(0).unwrap();
        let mut line = Line::answer(&c, 0);
        assert!(matches!(line.at(0), LineState::Menu { node: 0 }));
        for (t, d) in &path {
            line.press(*t as u64, *d);
        }
        let end = path.last().unwrap().0 as u64;
        let s = line.at(end + 60_000);
        assert_eq!(s, LineState::Person, "{:?}", line);
    }

    #[test]
    fn wrong_keys_and_silence_do_not() {
        let c = clinic(Kind::Menu, false);
        let mut line = Line::answer(&c, 0);
        line.press(2000, '8');
        assert!(matches!(line.at(2001), LineState::Menu { .. }));
        assert_eq!(line.invalid, 1);
        // nobody presses anything: the menu repeats, then hangs up
        assert_eq!(line.at(10 * 60_000), LineState::Ended);
        let only = clinic(Kind::MenuOnly, false);
        let mut line = Line::answer(&only, 0);
        assert_eq!(line.at(60_000), LineState::Voicemail);
    }

    #[test]
    fn a_person_and_a_voicemail_answer_directly() {
        assert_eq!(
            Line::answer(&clinic(Kind::Person, false), 0).at(0),
            LineState::Person
        );
        assert_eq!(
            Line::answer(&clinic(Kind::Voicemail, false), 0).at(0),
            LineState::Voicemail
        );
    }
}

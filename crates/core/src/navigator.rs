//! Navigate mode: what to do with each classifier decision on a call Switchboard is listening to
//! alone (the assistant is not on the line yet). Presses the key that leads to a person, listens
//! again, repeats through nested menus, and hands the call to the assistant as soon as a person
//! answers — remembering the presses, with their times, as the clinic's path for next time.
//!
//! Pure: the route feeds it [`Decision`]s and applies the [`Action`]s it returns.

use crate::classification::{ClassificationType, IvrAction, IvrActions};
use crate::classifier::{Class, Decision};
use crate::menu::MenuOption;

/// Tunables.
#[derive(Debug, Clone)]
pub struct NavConfig {
    /// The same menu heard this many times means our presses are not getting anywhere.
    pub same_menu_limit: u32,
    /// Key pressed when a menu loops or names no way to a person (`0` reaches an operator on most
    /// systems, announced or not).
    pub fallback_digit: char,
    /// At most this many presses on one call.
    pub max_presses: usize,
}

impl Default for NavConfig {
    fn default() -> Self {
        NavConfig {
            same_menu_limit: 3,
            fallback_digit: '0',
            max_presses: 8,
        }
    }
}

/// What the route does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Press `digits` now (`at_ms`: media time since answer), then listen afresh.
    Press { digits: String, at_ms: u64 },
    /// Say nothing and listen afresh: let the menu time out (most route a silent caller to a person).
    WaitForTimeout,
    /// A person is on the line: bridge to the assistant, and cache what answered.
    HandOff {
        learned: (ClassificationType, IvrActions),
        confidence: f32,
    },
    /// A menu we cannot read (no transcript): bridge now and let the assistant navigate with its
    /// own key presses; the route learns the rest from the assistant's report.
    HandOffToAssistant,
    /// A menu with no way to a person: cache it as `ivr_only` (the route then applies the
    /// operator's ivr-only policy).
    MenuOnly { steps: IvrActions, confidence: f32 },
    /// Something this call only (voicemail, silence, nothing clear): bridge without caching — the
    /// assistant's report decides the outcome.
    HandOffUncached(Class),
    /// Nobody will ever answer at this number on this call (SIT, fax): hang up.
    HangUp(Class),
}

/// Per-call navigation state: lives for the life of the media stream.
#[derive(Debug, Clone)]
pub struct Navigator {
    cfg: NavConfig,
    steps: Vec<IvrAction>,
    /// Menus heard, by their options' signature, and how often.
    menus: Vec<(String, u32)>,
    /// Escalation once a menu loops or offers nothing: 0 = press the fallback key, 1 = wait for the
    /// menu's timeout, 2 = give up.
    fallback_stage: u8,
}

fn signature(options: &[MenuOption]) -> String {
    let mut parts: Vec<String> = options
        .iter()
        .map(|o| format!("{}={}", o.digit, o.target.as_str()))
        .collect();
    parts.sort();
    parts.join(",")
}

impl Navigator {
    pub fn new(cfg: NavConfig) -> Self {
        Navigator {
            cfg,
            steps: Vec::new(),
            menus: Vec::new(),
            fallback_stage: 0,
        }
    }

    /// The presses so far, `{after_ms, digits}` from answer.
    pub fn steps(&self) -> &[IvrAction] {
        &self.steps
    }

    fn learned_steps(&self) -> IvrActions {
        // Steps are recorded in order and validated when pressed; an invalid list cannot arise,
        // but an empty list is the safe answer if it somehow did.
        IvrActions::new(self.steps.clone()).unwrap_or_default()
    }

    fn press(&mut self, digit: char, at_ms: u64) -> Action {
        self.steps.push(IvrAction {
            after_ms: u32::try_from(at_ms).unwrap_or(u32::MAX),
            digits: digit.to_string(),
        });
        Action::Press {
            digits: digit.to_string(),
            at_ms,
        }
    }

    /// The menu is not leading anywhere: press the fallback key, then wait it out, then give up.
    fn escalate(&mut self, at_ms: u64, confidence: f32) -> Action {
        let stage = self.fallback_stage;
        self.fallback_stage += 1;
        match stage {
            0 if self.steps.len() < self.cfg.max_presses => {
                self.press(self.cfg.fallback_digit, at_ms)
            }
            0 | 1 => {
                self.fallback_stage = 2;
                Action::WaitForTimeout
            }
            _ => Action::MenuOnly {
                steps: self.learned_steps(),
                confidence,
            },
        }
    }

    /// The next action for a classifier decision made at `d.decided_at_ms` (media time since answer).
    pub fn on_decision(&mut self, d: &Decision) -> Action {
        let at = d.decided_at_ms;
        match d.classification {
            Class::Human => {
                let kind = if self.steps.is_empty() {
                    ClassificationType::Human
                } else {
                    ClassificationType::IvrThenHuman
                };
                Action::HandOff {
                    learned: (kind, self.learned_steps()),
                    confidence: d.confidence,
                }
            }
            Class::IvrOnly | Class::IvrThenHuman => {
                if d.menu_options.is_empty() {
                    // Nothing readable: without words we cannot choose, and a wrong key wastes
                    // the call. The assistant hears the menu and navigates.
                    return if self.fallback_stage > 0 {
                        self.escalate(at, d.confidence)
                    } else {
                        Action::HandOffToAssistant
                    };
                }
                let sig = signature(&d.menu_options);
                let seen = match self.menus.iter_mut().find(|(s, _)| *s == sig) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        self.menus.push((sig, 1));
                        1
                    }
                };
                match d.digit {
                    Some(digit)
                        if seen < self.cfg.same_menu_limit
                            && self.fallback_stage == 0
                            && self.steps.len() < self.cfg.max_presses =>
                    {
                        self.press(digit, at)
                    }
                    _ => self.escalate(at, d.confidence),
                }
            }
            Class::Disconnected | Class::Fax => Action::HangUp(d.classification),
            // Waiting out a menu that offered no way to a person ended in a mailbox or silence:
            // there is no way to a person.
            Class::Voicemail | Class::Silence | Class::Unknown if self.fallback_stage > 0 => {
                Action::MenuOnly {
                    steps: self.learned_steps(),
                    confidence: 0.7,
                }
            }
            Class::Voicemail | Class::Silence | Class::Unknown => {
                Action::HandOffUncached(d.classification)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::extract_options;

    fn decision(class: Class, at: u64, transcript: &str) -> Decision {
        let options = extract_options(transcript);
        let digit =
            crate::menu::choose(&options, &crate::menu::default_preferences()).map(|o| o.digit);
        Decision {
            classification: class,
            confidence: 0.9,
            decided_at_ms: at,
            digit,
            menu_options: options,
            reason: "test",
        }
    }

    #[test]
    fn a_person_at_once_is_cached_as_human() {
        let mut n = Navigator::new(NavConfig::default());
        let a = n.on_decision(&decision(Class::Human, 1800, ""));
        let Action::HandOff { learned, .. } = a else {
            panic!("{a:?}")
        };
        assert_eq!(learned.0, ClassificationType::Human);
        assert!(learned.1.is_empty());
    }

    #[test]
    fn nested_menus_are_pressed_through_and_the_path_is_learned() {
        let mut n = Navigator::new(NavConfig::default());
        let a = n.on_decision(&decision(
            Class::IvrThenHuman,
            6200,
            "For billing press 1. For appointments press 2.",
        ));
        assert_eq!(
            a,
            Action::Press {
                digits: "2".into(),
                at_ms: 6200
            }
        );
        let a = n.on_decision(&decision(
            Class::IvrThenHuman,
            14_000,
            "To schedule a new appointment press 1. To cancel press 3.",
        ));
        assert_eq!(
            a,
            Action::Press {
                digits: "1".into(),
                at_ms: 14_000
            }
        );
        let Action::HandOff { learned, .. } = n.on_decision(&decision(Class::Human, 21_000, ""))
        else {
            panic!()
        };
        assert_eq!(learned.0, ClassificationType::IvrThenHuman);
        let steps: Vec<(u32, &str)> = learned
            .1
            .steps()
            .iter()
            .map(|s| (s.after_ms, s.digits.as_str()))
            .collect();
        assert_eq!(steps, vec![(6200, "2"), (14_000, "1")]);
    }

    #[test]
    fn a_menu_heard_three_times_escalates_to_zero_then_waiting_then_menu_only() {
        let mut n = Navigator::new(NavConfig::default());
        let menu = "For scheduling press 3. For billing press 1.";
        assert!(matches!(
            n.on_decision(&decision(Class::IvrThenHuman, 5000, menu)),
            Action::Press { ref digits, .. } if digits == "3"
        ));
        assert!(matches!(
            n.on_decision(&decision(Class::IvrThenHuman, 12_000, menu)),
            Action::Press { ref digits, .. } if digits == "3"
        ));
        // Third time: the key does nothing here; try the operator.
        assert!(matches!(
            n.on_decision(&decision(Class::IvrThenHuman, 19_000, menu)),
            Action::Press { ref digits, .. } if digits == "0"
        ));
        assert_eq!(
            n.on_decision(&decision(Class::IvrThenHuman, 26_000, menu)),
            Action::WaitForTimeout
        );
        let a = n.on_decision(&decision(Class::IvrThenHuman, 40_000, menu));
        assert!(matches!(a, Action::MenuOnly { .. }), "{a:?}");
    }

    #[test]
    fn a_menu_with_no_way_to_a_person_tries_zero_then_gives_up_as_menu_only() {
        let mut n = Navigator::new(NavConfig::default());
        let menu = "For directions press 2. For billing press 3.";
        assert!(matches!(
            n.on_decision(&decision(Class::IvrOnly, 5000, menu)),
            Action::Press { ref digits, .. } if digits == "0"
        ));
        assert_eq!(
            n.on_decision(&decision(Class::IvrOnly, 12_000, menu)),
            Action::WaitForTimeout
        );
        assert!(matches!(
            n.on_decision(&decision(Class::IvrOnly, 30_000, menu)),
            Action::MenuOnly { .. }
        ));
        // Waiting out the menu ends in a mailbox: menu-only too.
        let mut n = Navigator::new(NavConfig::default());
        n.on_decision(&decision(Class::IvrOnly, 5000, menu));
        n.on_decision(&decision(Class::IvrOnly, 12_000, menu));
        assert!(matches!(
            n.on_decision(&decision(Class::Voicemail, 30_000, "")),
            Action::MenuOnly { .. }
        ));
        // A person picking up after the zero still wins, and the zero is the path.
        let mut n = Navigator::new(NavConfig::default());
        n.on_decision(&decision(Class::IvrOnly, 5000, menu));
        let Action::HandOff { learned, .. } = n.on_decision(&decision(Class::Human, 9000, ""))
        else {
            panic!()
        };
        assert_eq!(learned.0, ClassificationType::IvrThenHuman);
        assert_eq!(learned.1.steps()[0].digits, "0");
    }

    #[test]
    fn an_unreadable_menu_goes_to_the_assistant_and_machines_end_the_call() {
        let mut n = Navigator::new(NavConfig::default());
        assert_eq!(
            n.on_decision(&decision(Class::IvrThenHuman, 8500, "")),
            Action::HandOffToAssistant
        );
        assert_eq!(
            n.on_decision(&decision(Class::Disconnected, 300, "")),
            Action::HangUp(Class::Disconnected)
        );
        assert_eq!(
            n.on_decision(&decision(Class::Voicemail, 7000, "")),
            Action::HandOffUncached(Class::Voicemail)
        );
    }
}

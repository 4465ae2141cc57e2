//! The simulated world: clinics, each a phone number plus a phone system, described in a plain
//! TOML file users can edit (`world/default.toml` ships 50+ clinics of every kind).

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// What answers a clinic's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A person answers.
    Person,
    /// A menu; the right keys reach a person.
    Menu,
    /// A menu with no person behind it (ends in a voicemail box).
    MenuOnly,
    /// Straight to voicemail, with a beep.
    Voicemail,
    Busy,
    NoAnswer,
    /// Number not in service (SIT tones).
    Disconnected,
    Fax,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Menu => "menu",
            Kind::MenuOnly => "menu_only",
            Kind::Voicemail => "voicemail",
            Kind::Busy => "busy",
            Kind::NoAnswer => "no_answer",
            Kind::Disconnected => "disconnected",
            Kind::Fax => "fax",
        }
    }
}

/// Where a menu option (or a menu's timeout) leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leads {
    Person,
    Voicemail,
    /// Another menu node, by index in `menu`.
    Node(usize),
    /// The menu repeats itself.
    Repeat,
    Hangup,
}

/// One option of a menu node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuOption {
    pub digit: char,
    pub label: String,
    pub leads: Leads,
}

/// One level of a phone menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenuNode {
    /// The spoken prompt (what a recogniser would hear).
    pub prompt: String,
    /// How long the prompt takes to play, in seconds.
    pub prompt_seconds: f64,
    pub options: Vec<MenuOption>,
    /// What happens when nobody presses anything (after the prompt, plus a few seconds).
    #[serde(default = "default_timeout")]
    pub on_timeout: Leads,
    /// Seconds of hold music before a person picks up, when this node leads to one.
    #[serde(default)]
    pub hold_seconds: f64,
}

fn default_timeout() -> Leads {
    Leads::Repeat
}

/// A clinic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clinic {
    pub name: String,
    pub phone: String,
    pub timezone: String,
    pub kind: Kind,
    /// Probability of answering during business hours (8–17 local, Mon–Fri); much lower outside.
    #[serde(default = "default_answer")]
    pub answer_probability: f64,
    #[serde(default = "default_ring")]
    pub ring_seconds: f64,
    /// What the person says on answering.
    #[serde(default)]
    pub greeting: Option<String>,
    /// Menu nodes; node 0 answers.
    #[serde(default)]
    pub menu: Vec<MenuNode>,
    /// On this simulated day (0-based) and after, the menu is `changed_menu` (relearning).
    #[serde(default)]
    pub menu_changes_on_day: Option<u32>,
    #[serde(default)]
    pub changed_menu: Vec<MenuNode>,
}

fn default_answer() -> f64 {
    0.95
}
fn default_ring() -> f64 {
    6.0
}

/// The whole world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    #[serde(rename = "clinic")]
    pub clinics: Vec<Clinic>,
}

/// Why a world file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("world file: {0}")]
    Parse(String),
    #[error("clinic `{0}`: {1}")]
    Invalid(String, String),
}

/// The world shipped with Switchboard.
pub const DEFAULT_WORLD: &str = include_str!("../world/default.toml");

impl World {
    pub fn parse(text: &str) -> Result<World, WorldError> {
        let w: World = toml::from_str(text).map_err(|e| WorldError::Parse(e.to_string()))?;
        for c in &w.clinics {
            let bad = |m: &str| Err(WorldError::Invalid(c.name.clone(), m.to_string()));
            if switchboard_core::E164::parse(&c.phone).is_err() {
                return bad("phone is not a valid number");
            }
            if c.timezone.parse::<chrono_tz::Tz>().is_err() {
                return bad("timezone is not an IANA zone");
            }
            let needs_menu = matches!(c.kind, Kind::Menu | Kind::MenuOnly);
            if needs_menu && c.menu.is_empty() {
                return bad("a menu clinic needs menu nodes");
            }
            for nodes in [&c.menu, &c.changed_menu] {
                for n in nodes.iter() {
                    for l in n
                        .options
                        .iter()
                        .map(|o| &o.leads)
                        .chain(std::iter::once(&n.on_timeout))
                    {
                        if let Leads::Node(i) = l
                            && *i >= nodes.len()
                        {
                            return bad("an option leads to a node that does not exist");
                        }
                    }
                }
            }
        }
        Ok(w)
    }

    pub fn default_world() -> World {
        World::parse(DEFAULT_WORLD).expect("the shipped world is valid")
    }

    pub fn clinic_by_phone(&self, e164: &str) -> Option<&Clinic> {
        self.clinics.iter().find(|c| {
            switchboard_core::E164::parse(&c.phone)
                .map(|p| p.as_str() == e164)
                .unwrap_or(false)
        })
    }
}

impl Clinic {
    /// The menu in force on simulated day `day`.
    pub fn menu_on(&self, day: u32) -> &[MenuNode] {
        match self.menu_changes_on_day {
            Some(d) if day >= d && !self.changed_menu.is_empty() => &self.changed_menu,
            _ => &self.menu,
        }
    }

    /// Probability that the clinic picks up at `now` (local business hours matter).
    pub fn answer_probability_at(&self, now: DateTime<Utc>) -> f64 {
        let tz: chrono_tz::Tz = self.timezone.parse().unwrap_or(chrono_tz::UTC);
        let local = now.with_timezone(&tz);
        let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
        let open = (8..17).contains(&local.hour());
        match (weekend, open) {
            (false, true) => self.answer_probability,
            (false, false) => self.answer_probability * 0.3,
            (true, _) => self.answer_probability * 0.1,
        }
    }

    /// The digits (with times relative to answer) that reach a person, if any: what a perfect
    /// navigator would press. Used by tests and the VAPI stand-in's own navigation.
    pub fn path_to_person(&self, day: u32) -> Option<Vec<(u32, char)>> {
        let menu = self.menu_on(day);
        let mut node = 0;
        let mut t = 0.0;
        let mut path = Vec::new();
        for _ in 0..menu.len() {
            let n = &menu[node];
            let opt = n.options.iter().find(|o| {
                matches!(o.leads, Leads::Person | Leads::Node(_))
                    && leads_to_person(menu, &o.leads, 0)
            })?;
            t += n.prompt_seconds;
            path.push(((t * 1000.0) as u32, opt.digit));
            match opt.leads {
                Leads::Person => return Some(path),
                Leads::Node(i) => node = i,
                _ => return None,
            }
        }
        None
    }
}

fn leads_to_person(menu: &[MenuNode], l: &Leads, depth: usize) -> bool {
    if depth > menu.len() {
        return false;
    }
    match l {
        Leads::Person => true,
        Leads::Node(i) => menu[*i]
            .options
            .iter()
            .any(|o| leads_to_person(menu, &o.leads, depth + 1)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_world_covers_every_kind_with_fifty_clinics() {
        let w = World::default_world();
        assert!(w.clinics.len() >= 50, "{}", w.clinics.len());
        for k in [
            Kind::Person,
            Kind::Menu,
            Kind::MenuOnly,
            Kind::Voicemail,
            Kind::Busy,
            Kind::NoAnswer,
            Kind::Disconnected,
            Kind::Fax,
        ] {
            assert!(w.clinics.iter().any(|c| c.kind == k), "{k:?} missing");
        }
        assert!(
            w.clinics.iter().any(|c| c.menu_changes_on_day.is_some()),
            "a menu that changes"
        );
        assert!(w.clinics.iter().any(|c| c.menu.len() > 1), "a nested menu");
        let phones: std::collections::HashSet<_> = w.clinics.iter().map(|c| &c.phone).collect();
        assert_eq!(phones.len(), w.clinics.len(), "unique numbers");
    }

    #[test]
    fn path_to_person_follows_nested_menus() {
        let w = World::default_world();
        let nested = w
            .clinics
            .iter()
            .find(|c| c.kind == Kind::Menu && c.menu.len() > 1)
            .unwrap();
        let path = nested.path_to_person(0).unwrap();
        assert!(path.len() >= 2);
        let only = w.clinics.iter().find(|c| c.kind == Kind::MenuOnly).unwrap();
        assert_eq!(only.path_to_person(0), None);
    }

    #[test]
    fn bad_worlds_are_rejected_with_the_clinic_named() {
        let e = World::parse("[[clinic]]\nname='X'\nphone='12'\ntimezone='UTC'\nkind='person'\n")
            .unwrap_err();
        assert!(e.to_string().contains("clinic `X`"), "{e}");
        let e = World::parse(
            "[[clinic]]\nname='Y'\nphone='+14155550100'\ntimezone='UTC'\nkind='menu'\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs menu"), "{e}");
    }
}

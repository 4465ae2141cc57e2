//! Reading a clinic's phone menu (IVR) from an imperfect speech-recognition transcript: which keys
//! it offers, where each one leads, which key reaches a person about an appointment, and whether
//! the audio sounds like a menu or like a receptionist. Pure and deterministic: no I/O, no regex,
//! no randomness; the same transcript always gives the same answer.
//!
//! # How a transcript is read
//!
//! 1. **Tokenising** (hand-written). The text is lower-cased, accents are folded (`español` →
//!    `espanol`), curly apostrophes are straightened, and it is split into words, numbers, the keys
//!    `*` and `#`, and two strengths of break: *hard* (`.` `!` `?` `;` `…`, a sentence) and *soft*
//!    (`,` `:` brackets, quotes, a spaced dash, a line break — a clause). Digits joined by
//!    `.` `-` `:` `/` (`555-1234`, `9:00`, `2.5`) or by a thousands comma stay one multi-digit
//!    number, and the full stop of `Dr.`, `St.` or `a.m.` does not end a sentence.
//! 2. **Anchors.** An option is anchored on a *press word* followed — after at most four filler
//!    words such as "the", "number", "option", "or say", "el", "la tecla" — by exactly one key: a
//!    numeral, an English or Spanish digit word, or star/pound. Press words come in three
//!    strengths: plain ("press", "push", "oprima", "presione", "pulse"), mis-heard ("dress",
//!    "rest", "prez", "pres", "pressed") and weak ("dial", "select", "enter", "marque", "option"),
//!    which also name things that are not menu choices and so count only with a label. A key
//!    followed by another digit (`911`, `9 1 1`, "nine one one", `1 800…`) is a number being
//!    dialled, not an option, and "hang up and dial…" or lobby/arrival instructions are rejected.
//!    The ambiguous "to/too/for" after a press word is a digit only when what follows cannot
//!    continue a phrase: "press for for billing" is 4, "press for billing" is nothing.
//! 3. **Labels.** Menus put the label before the key ("for scheduling, press 2") or after it
//!    ("press 2 for scheduling"). All anchors of one sentence are read the same way: whichever way
//!    gives more of them a label (label-first on a tie), so that unpunctuated runs such as "for
//!    scheduling press 1 for billing press 2" pair up correctly. A label-first label opens at the
//!    earliest "for/to/if/para/si" in the clause before the press word that is at most twelve
//!    words away and spans no other press word or number ("thank you for calling", "welcome to"
//!    and "8 to 5" never open one). A key-first label runs from "for/to/if/para/si" right after
//!    the key to the next break, number or press word, and "…, 2 for billing, or 0 for the
//!    operator" items that follow it are options too. When the recogniser put a full stop inside
//!    an option ("For scheduling. Press 2."), the label may come from the neighbouring sentence.
//! 4. **Targets.** The label's words are matched against keyword lists in a fixed precedence:
//!    calls from professionals, emergency, repeat and language first, then the clinical and
//!    billing departments, then scheduling, appointments, directory, front desk, operator and
//!    finally "all other". A label naming two departments therefore resolves deterministically
//!    and conservatively (a nurse line mentioning appointments is still the nurse line).
//!
//! # Limits
//!
//! Options without a key ("stay on the line for the next representative", "say billing") are not
//! options here; [`extract_options`] de-duplicates by digit, so a transcript holding two nested
//! menus should be split per prompt; keyword lists are English and Spanish only.

use serde::{Deserialize, Serialize};

/// Where a menu option leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Front desk, reception, receptionist, front office.
    FrontDesk,
    /// Scheduling, booking, making or rescheduling an appointment.
    Scheduling,
    /// Operator, representative, "someone", an agent, a live person.
    Operator,
    /// Calls "about an appointment" (existing appointments, appointment line).
    Appointments,
    /// Billing, payments, balances, insurance.
    Billing,
    /// The pharmacy.
    Pharmacy,
    /// Laboratory, blood work.
    Lab,
    /// Test results.
    Results,
    /// Nurse line, triage, medical questions.
    Nurse,
    /// Prescription refills, medications.
    Prescriptions,
    /// The Spanish-language menu.
    Spanish,
    /// The English-language menu (a language gate in front of the real menu).
    English,
    /// Repeat this menu, return to the main or previous menu.
    Repeat,
    /// Dial-by-name directory, "if you know your party's extension".
    Directory,
    /// Emergencies and urgent medical matters. Never chosen by default.
    Emergency,
    /// "All other inquiries", general questions, "anything else".
    Other,
    /// A label that names none of the above (hours, directions, calls from physicians…), or none.
    Unknown,
}

impl Target {
    /// Every target, in declaration order.
    pub const ALL: [Target; 17] = [
        Self::FrontDesk,
        Self::Scheduling,
        Self::Operator,
        Self::Appointments,
        Self::Billing,
        Self::Pharmacy,
        Self::Lab,
        Self::Results,
        Self::Nurse,
        Self::Prescriptions,
        Self::Spanish,
        Self::English,
        Self::Repeat,
        Self::Directory,
        Self::Emergency,
        Self::Other,
        Self::Unknown,
    ];

    /// The snake_case name (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FrontDesk => "front_desk",
            Self::Scheduling => "scheduling",
            Self::Operator => "operator",
            Self::Appointments => "appointments",
            Self::Billing => "billing",
            Self::Pharmacy => "pharmacy",
            Self::Lab => "lab",
            Self::Results => "results",
            Self::Nurse => "nurse",
            Self::Prescriptions => "prescriptions",
            Self::Spanish => "spanish",
            Self::English => "english",
            Self::Repeat => "repeat",
            Self::Directory => "directory",
            Self::Emergency => "emergency",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }
}

/// One option of a phone menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenuOption {
    /// The key to press: `'0'..='9'`, `'*'` or `'#'`.
    pub digit: char,
    /// A short normalised label: the option's phrase, lower-cased and accent-folded, without
    /// leading and trailing filler ("to reach the front desk" → `"front desk"`); empty if the
    /// transcript gave none.
    pub label: String,
    /// Where the option leads.
    pub target: Target,
    /// How clearly the option was heard, in `0.0..=1.0`: 1.0 for "press 2 for scheduling"; lower
    /// for mis-heard press words ("dress"), homophone digits ("to", "for"), weak verbs ("dial"),
    /// unrecognised or missing labels, and labels taken across a sentence break.
    pub confidence: f32,
}

/// All options found, in order of appearance, de-duplicated by digit: when a digit is offered
/// twice the clearest reading (highest confidence, then earliest) is kept, at its own position.
pub fn extract_options(transcript: &str) -> Vec<MenuOption> {
    // A leading sentence break: every label then has a token before it (see `clause_label`).
    let toks: Vec<Tok> = std::iter::once(Tok::Hard)
        .chain(tokenize(transcript))
        .collect();
    let as_punctuated = find_options(&toks);
    // Recognisers put full stops in the wrong places, and a consistent slip shifts every label
    // onto the neighbouring key: "…for scheduling. Press 2 for prescription refills. Press 8."
    // reads as "press 2 for prescription refills" sentence by sentence. The same words read as
    // one unpunctuated run pair up as spoken ("for scheduling press 2 for prescription refills
    // press 8"). Whichever reading gives more options a label wins; the punctuation on a tie.
    let unbroken: Vec<Tok> = toks.iter().filter(|t| **t != Tok::Hard).cloned().collect();
    let run = find_options(&unbroken);
    let labelled =
        |found: &[(usize, MenuOption)]| found.iter().filter(|(_, o)| !o.label.is_empty()).count();
    let found = if labelled(&run) > labelled(&as_punctuated) {
        run
    } else {
        as_punctuated
    };
    let mut best: Vec<(usize, MenuOption)> = Vec::new();
    for (pos, option) in found {
        match best.iter_mut().find(|(_, kept)| kept.digit == option.digit) {
            Some(slot) if option.confidence > slot.1.confidence => *slot = (pos, option),
            Some(_) => {}
            None => best.push((pos, option)),
        }
    }
    best.sort_by_key(|(pos, _)| *pos);
    best.into_iter().map(|(_, option)| option).collect()
}

/// How likely the transcript is a machine menu rather than a person, in `0.0..=1.0`.
///
/// Evidence for a menu: extracted options, press words ("press", "oprima", and mis-heard ones
/// when a key follows), stock phrases ("your call is important", "please listen carefully as our
/// menu options have changed", "para español", "if you know your party's extension", "stay on
/// the line", "calls may be recorded", "hang up and dial 911"…) and, at half weight, voicemail
/// phrases. The pieces are combined as independent evidence (`1 − Π(1 − wᵢ)`). Person cues (a
/// name introduction, a question to the caller) then discount the result — strongly when no
/// option was found, mildly when one was.
pub fn menu_likelihood(transcript: &str) -> f32 {
    let toks = tokenize(transcript);
    let words = word_list(&toks);
    if words.is_empty() {
        return 0.0;
    }
    let options = extract_options(transcript).len();
    let menu = menu_evidence(&toks, &words, options, 0.5);
    let person = person_cues(&toks, &words, transcript);
    let discount = if options > 0 { 0.25 } else { 0.7 };
    round2(menu * (1.0 - discount * person))
}

/// How much the transcript sounds like a person (a scripted receptionist) answering, in
/// `0.0..=1.0`.
///
/// Person cues: a first-person introduction ("this is Sarah", "Sarah speaking", "my name is",
/// "you're speaking with", "habla María"), a question to the caller ("how can I help", "how may I
/// direct your call", "¿en qué le puedo ayudar?"), a greeting word, a question mark, and
/// shortness. The cues are combined as independent evidence and then scaled down by the menu and
/// voicemail evidence of [`menu_likelihood`] (options, press words, stock phrases), and halved
/// for long transcripts (over 60 words), which people answering a phone do not produce.
pub fn is_person_greeting_like(transcript: &str) -> f32 {
    let toks = tokenize(transcript);
    let words = word_list(&toks);
    if words.is_empty() {
        return 0.0;
    }
    let brevity = match words.len() {
        0..=25 => 0.25,
        26..=40 => 0.1,
        _ => 0.0,
    };
    let person = noisy_or([person_cues(&toks, &words, transcript), brevity]);
    let options = extract_options(transcript).len();
    let machine = menu_evidence(&toks, &words, options, 1.0);
    let length = if words.len() > 60 { 0.5 } else { 1.0 };
    round2(person * (1.0 - machine) * length)
}

/// How much the transcript sounds like a recorded message that takes messages (voicemail, a
/// closed office's announcement) rather than a person or a menu, in `0.0..=1.0`.
///
/// Evidence: the stock phrases of such recordings ("please leave a message", "after the tone",
/// "we are unable to take your call", "the office is now closed", "I'll call you back"…) combined
/// as independent evidence. A transcript with menu options is a menu ("to leave a message, press
/// one" offers a key), so it scores 0; person cues (a name introduction, a question to the
/// caller) discount the rest. Why it matters: a short recorded greeting ends like a person's —
/// a few words, then silence — and its beep comes a second later, after a timing rule has already
/// called it a person.
pub fn voicemail_likelihood(transcript: &str) -> f32 {
    let toks = tokenize(transcript);
    let words = word_list(&toks);
    if words.is_empty() || !extract_options(transcript).is_empty() {
        return 0.0;
    }
    let machine = noisy_or(machine_cues(&words));
    let person = person_cues(&toks, &words, transcript);
    round2(machine * (1.0 - 0.4 * person))
}

/// Whether the words speak to the caller as a person does: a name introduction ("this is
/// Sarah") or a question to the caller ("how can I help you?"), whatever else was heard.
pub fn addresses_the_caller(transcript: &str) -> bool {
    let toks = tokenize(transcript);
    let words = word_list(&toks);
    !words.is_empty() && person_cues(&toks, &words, transcript) >= 0.5
}

/// The default preference for reaching a person about an appointment:
/// `[Scheduling, Appointments, FrontDesk, Operator, Other, English]`.
///
/// - **Scheduling** and **Appointments** reach the people whose job is the call's purpose;
///   scheduling first because "about an appointment" lines sometimes only confirm or cancel.
/// - **FrontDesk** and **Operator** reach a generalist who books or transfers; the front desk
///   first because it usually books directly, an operator usually transfers.
/// - **Other** ("all other inquiries") is the catch-all that clinics route to a person.
/// - **English** is a language gate: it reaches no one itself but leads to the real menu, which
///   is better than waiting out a bilingual greeting.
///
/// Left out on purpose: departments staffed by people who do not book appointments (billing,
/// pharmacy, lab, results, nurse triage, prescriptions) — landing there wastes their time and
/// ends in a transfer or a voicemail; the directory (it needs a name or extension we lack);
/// and never Emergency, Repeat, Spanish or Unknown. Callers who accept more pass their own list.
pub fn default_preferences() -> Vec<Target> {
    vec![
        Target::Scheduling,
        Target::Appointments,
        Target::FrontDesk,
        Target::Operator,
        Target::Other,
        Target::English,
    ]
}

/// Chooses the option to press: the first preference that some option reaches, and among the
/// options reaching it the clearest (highest confidence, then earliest). Only preferred targets
/// are ever chosen, so Emergency, Repeat, Spanish (or anything else) are never pressed unless
/// explicitly preferred. `None` when no option reaches a preferred target.
pub fn choose<'a>(options: &'a [MenuOption], preferences: &[Target]) -> Option<&'a MenuOption> {
    preferences.iter().find_map(|want| {
        options
            .iter()
            .filter(|o| o.target == *want)
            .fold(None, |best: Option<&MenuOption>, o| match best {
                Some(b) if b.confidence >= o.confidence => Some(b),
                _ => Some(o),
            })
    })
}

// ---------------------------------------------------------------------------------------------
// Tokeniser
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A lower-cased, accent-folded word (may hold an inner apostrophe or digits: `party's`,
    /// `2nd`).
    Word(String),
    /// A run of digits; more than one digit means a number, never a key.
    Num(String),
    /// `*` or `#`.
    Key(char),
    /// A clause break.
    Soft,
    /// A sentence break.
    Hard,
}

impl Tok {
    fn word(&self) -> Option<&str> {
        match self {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    fn is_break(&self) -> bool {
        matches!(self, Tok::Soft | Tok::Hard)
    }
}

fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        '’' | '‘' | 'ʼ' | '`' => '\'',
        _ => c,
    }
}

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: &str = "dr drs mr mrs ms st jr sr ave no";

fn push_break(toks: &mut Vec<Tok>, hard: bool) {
    match toks.last() {
        None | Some(Tok::Hard) => {}
        Some(Tok::Soft) => {
            if hard {
                *toks.last_mut().expect("non-empty") = Tok::Hard;
            }
        }
        Some(_) => toks.push(if hard { Tok::Hard } else { Tok::Soft }),
    }
}

fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold)
        .collect();
    let n = chars.len();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if c.is_alphanumeric() {
            let start = i;
            while i < n
                && (chars[i].is_alphanumeric()
                    || (chars[i] == '\''
                        && i + 1 < n
                        && chars[i + 1].is_alphanumeric()
                        && chars[i - 1].is_alphanumeric()))
            {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            if !run.chars().all(|c| c.is_ascii_digit()) {
                toks.push(Tok::Word(run));
                continue;
            }
            let mut digits = run;
            loop {
                let joined = i + 1 < n
                    && matches!(chars[i], '.' | '-' | ':' | '/')
                    && chars[i + 1].is_ascii_digit();
                let thousands = i + 3 < n
                    && chars[i] == ','
                    && chars[i + 1..=i + 3].iter().all(char::is_ascii_digit)
                    && chars.get(i + 4).is_none_or(|c| !c.is_ascii_digit());
                if !(joined || thousands) {
                    break;
                }
                i += 1;
                while i < n && chars[i].is_ascii_digit() {
                    digits.push(chars[i]);
                    i += 1;
                }
            }
            toks.push(Tok::Num(digits));
            continue;
        }
        match c {
            '*' | '#' => toks.push(Tok::Key(c)),
            '.' => {
                let abbreviation = match toks.last() {
                    Some(Tok::Word(w)) => {
                        listed(ABBREVIATIONS, w)
                            || (w.chars().count() == 1
                                && chars.get(i + 1).is_some_and(|c| c.is_alphabetic()))
                    }
                    _ => false,
                };
                if !abbreviation {
                    push_break(&mut toks, true);
                }
            }
            '!' | '?' | ';' | '¿' | '¡' | '…' => push_break(&mut toks, true),
            ',' | ':' | '(' | ')' | '[' | ']' | '"' | '“' | '”' | '\n' | '\r' | '–' | '—' => {
                push_break(&mut toks, false)
            }
            '-' if chars.get(i + 1).is_none_or(|c| c.is_whitespace())
                && i > 0
                && chars[i - 1].is_whitespace() =>
            {
                push_break(&mut toks, false)
            }
            _ => {}
        }
        i += 1;
    }
    toks
}

/// Words and numbers, breaks dropped (for phrase cues).
fn word_list(toks: &[Tok]) -> Vec<&str> {
    toks.iter()
        .filter_map(|t| match t {
            Tok::Word(w) | Tok::Num(w) => Some(w.as_str()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verb {
    /// "press", "oprima": only ever means a key.
    Plain,
    /// What recognisers make of "press".
    Misheard,
    /// Also used for things that are not menu options ("dial 9 from the lobby"): needs a label.
    Weak,
}

fn verb_kind(w: &str) -> Option<Verb> {
    match w {
        "press" | "presses" | "pressing" | "push" | "hit" | "oprima" | "oprime" | "presione"
        | "presiona" | "pulse" | "pulsa" | "digite" | "teclee" => Some(Verb::Plain),
        "dress" | "rest" | "prez" | "pres" | "prest" | "pressed" | "brest" | "priss" => {
            Some(Verb::Misheard)
        }
        "dial" | "select" | "choose" | "enter" | "marque" | "marca" | "option" | "opcion"
        | "elija" | "seleccione" => Some(Verb::Weak),
        _ => None,
    }
}

/// How a key was spelled.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Clarity {
    /// `2`, `*`.
    Numeral,
    /// "two", "dos", "star".
    Spelled,
    /// "to", "for", "oh", "won", "ate": a digit only by sound.
    Homophone,
}

impl Clarity {
    fn factor(self) -> f32 {
        match self {
            Clarity::Numeral => 1.0,
            Clarity::Spelled => 0.95,
            Clarity::Homophone => 0.8,
        }
    }
}

fn digit_word(w: &str) -> Option<(char, Clarity)> {
    use Clarity::{Homophone, Spelled};
    Some(match w {
        "zero" | "cero" => ('0', Spelled),
        "oh" | "o" => ('0', Homophone),
        "one" | "uno" => ('1', Spelled),
        "won" => ('1', Homophone),
        "two" | "dos" => ('2', Spelled),
        "to" | "too" => ('2', Homophone),
        "three" | "tres" => ('3', Spelled),
        "four" | "cuatro" => ('4', Spelled),
        "for" | "fore" => ('4', Homophone),
        "five" | "cinco" => ('5', Spelled),
        "six" | "seis" => ('6', Spelled),
        "seven" | "siete" => ('7', Spelled),
        "eight" | "ocho" => ('8', Spelled),
        "ate" => ('8', Homophone),
        "nine" | "niner" | "nueve" => ('9', Spelled),
        "nein" => ('9', Homophone),
        "star" | "asterisk" | "asterisco" | "estrella" => ('*', Spelled),
        "pound" | "hash" | "hashtag" | "numeral" | "gato" => ('#', Spelled),
        _ => return None,
    })
}

/// A spelled digit 0–9 (not a homophone, not star/pound): continues a number.
fn is_spelled_number(w: &str) -> bool {
    matches!(digit_word(w), Some((c, Clarity::Spelled)) if c.is_ascii_digit())
}

/// Homophones that are also the words that open a label.
fn is_prepositional(w: &str) -> bool {
    matches!(w, "to" | "too" | "for" | "fore")
}

/// Words that open a label ("for scheduling", "to reach…", "if you are…", "para español").
fn is_opener_word(w: &str) -> bool {
    matches!(w, "for" | "to" | "if" | "para" | "si")
}

/// Whether `w` is one of the space-separated words of `list`.
fn listed(list: &str, w: &str) -> bool {
    list.split(' ').any(|x| x == w)
}

/// Skipped between a press word and its key: "press the number 2", "press or say 1", "marque el 9".
const SLOT_FILLERS: &str = "\
    the number option key button digit or say el la numero tecla opcion on your keypad phone \
    touch tone please just simply";

/// Skipped after a key: "press the pound key", "press 0 at any time to…".
const AFTER_FILLERS: &str = "\
    key button sign now please at any time on your keypad phone telephone touch tone";

/// Dropped from the start of a label.
const LEAD_FILLERS: &str = "\
    a an the our your you you're you'd are is am i we this it calling call about regarding \
    reach speak talk with to please would like want wish need be connected transferred connect \
    get in touch desea hablar con el la los las un una usted si for if para que";

/// Dropped from the end of a label.
const TRAIL_FILLERS: &str = "\
    please now simply just you can may could should then and or say kindly por favor y o the a \
    an";

// ---------------------------------------------------------------------------------------------
// Anchors: a press word and its key
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Anchor {
    /// Index of the press word (`None` for "…, 2 for billing" items).
    verb: Option<usize>,
    /// Index of the key token.
    key: usize,
    /// First index after the key and its fillers ("key", "now", "at any time").
    after: usize,
    digit: char,
    /// Verb factor × key clarity.
    strength: f32,
    /// Counts only with a label (weak or mis-heard press word).
    needs_label: bool,
}

enum Slot {
    Key {
        idx: usize,
        digit: char,
        clarity: Clarity,
    },
    /// A multi-digit number: `911`, `9 1 1`, `1 800 …`.
    Number,
    Nothing,
}

fn read_slot(toks: &[Tok], verb: usize) -> Slot {
    let mut i = verb + 1;
    let mut skipped = 0;
    while i < toks.len() && skipped <= 4 {
        let (digit, clarity) = match &toks[i] {
            Tok::Hard => return Slot::Nothing,
            Tok::Soft => {
                i += 1;
                skipped += 1;
                continue;
            }
            Tok::Num(s) if s.len() == 1 => (s.chars().next().expect("one digit"), Clarity::Numeral),
            Tok::Num(_) => return Slot::Number,
            Tok::Key(c) => (*c, Clarity::Numeral),
            Tok::Word(w) => {
                if let Some((digit, clarity)) = digit_word(w) {
                    if is_prepositional(w) && !prepositional_is_digit(toks, i) {
                        return Slot::Nothing;
                    }
                    (digit, clarity)
                } else if listed(SLOT_FILLERS, w) {
                    i += 1;
                    skipped += 1;
                    continue;
                } else {
                    return Slot::Nothing;
                }
            }
        };
        // Another digit right after the key: a number being dialled.
        let continues = match toks.get(i + 1) {
            Some(Tok::Num(_)) => true,
            Some(Tok::Word(w)) => is_spelled_number(w),
            _ => false,
        };
        if continues && digit.is_ascii_digit() {
            return Slot::Number;
        }
        return Slot::Key {
            idx: i,
            digit,
            clarity,
        };
    }
    Slot::Nothing
}

/// "press for for billing", "press to." — the homophone is the key only when what follows cannot
/// continue a phrase it would open.
fn prepositional_is_digit(toks: &[Tok], i: usize) -> bool {
    match toks.get(i + 1) {
        None | Some(Tok::Soft | Tok::Hard) => true,
        Some(Tok::Word(next)) => is_opener_word(next) || verb_kind(next) == Some(Verb::Plain),
        Some(Tok::Num(_) | Tok::Key(_)) => false,
    }
}

fn skip_after(toks: &[Tok], mut i: usize) -> usize {
    while let Some(w) = toks.get(i).and_then(Tok::word) {
        if !listed(AFTER_FILLERS, w) {
            break;
        }
        i += 1;
    }
    i
}

/// Instructions that use a press word but are not menu options.
fn bad_context(toks: &[Tok], verb: usize, key: usize) -> bool {
    let word_at = |i: usize| toks.get(i).and_then(Tok::word);
    // "hang up and dial …" (but not "please don't hang up, press 0 …")
    let hang = (verb.saturating_sub(4)..verb)
        .rev()
        .take_while(|&i| toks[i] != Tok::Hard)
        .find(|&i| word_at(i) == Some("hang"));
    if let Some(h) = hang
        && !matches!(
            h.checked_sub(1).and_then(word_at),
            Some("don't" | "not" | "never")
        )
    {
        return true;
    }
    // "when you arrive, dial 9 from the lobby phone"
    let lo = (0..verb)
        .rev()
        .take(6)
        .take_while(|&i| toks[i] != Tok::Hard)
        .last()
        .unwrap_or(verb);
    let hi = (key + 1..toks.len())
        .take(6)
        .take_while(|&i| toks[i] != Tok::Hard)
        .last()
        .unwrap_or(key);
    (lo..=hi).any(|i| {
        matches!(
            word_at(i),
            Some("lobby" | "arrive" | "arrival" | "arriving" | "courtesy")
        )
    })
}

/// Finds every press word followed by a key. `boundary[i]` marks press words followed by any key
/// or number (valid or not): labels never span them.
fn find_anchors(toks: &[Tok]) -> (Vec<Anchor>, Vec<bool>) {
    let mut anchors = Vec::new();
    let mut boundary = vec![false; toks.len()];
    let mut i = 0;
    while i < toks.len() {
        let Some(verb) = toks[i].word().and_then(verb_kind) else {
            i += 1;
            continue;
        };
        match read_slot(toks, i) {
            Slot::Key {
                idx,
                digit,
                clarity,
            } => {
                boundary[i] = true;
                if !bad_context(toks, i, idx) {
                    let verb_factor = match verb {
                        Verb::Plain => 1.0,
                        Verb::Misheard => 0.8,
                        Verb::Weak => 0.85,
                    };
                    anchors.push(Anchor {
                        verb: Some(i),
                        key: idx,
                        after: skip_after(toks, idx + 1),
                        digit,
                        strength: verb_factor * clarity.factor(),
                        needs_label: verb != Verb::Plain,
                    });
                }
                i = idx + 1;
            }
            Slot::Number => {
                boundary[i] = true;
                i += 1;
            }
            Slot::Nothing => i += 1,
        }
    }
    (anchors, boundary)
}

// ---------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------

/// A label: the opener's index and the exclusive end of the label's tokens.
#[derive(Debug, Clone, Copy)]
struct Span {
    open: usize,
    end: usize,
}

/// A press word that stops a label: plain or weak ones always ("dial it at any time"), except
/// "dial by name"; others when they anchor a key.
fn blocks_label(toks: &[Tok], boundary: &[bool], i: usize) -> bool {
    if boundary[i] {
        return true;
    }
    let Some(w) = toks[i].word() else {
        return false;
    };
    match verb_kind(w) {
        Some(Verb::Plain) => true,
        Some(Verb::Weak) => !(w == "dial" && toks.get(i + 1).and_then(Tok::word) == Some("by")),
        _ => false,
    }
}

/// Whether the word at `j` opens a label that precedes its press word.
fn opens_before(toks: &[Tok], j: usize) -> bool {
    let Some(w) = toks[j].word() else {
        return false;
    };
    let prev = j.checked_sub(1).map(|p| &toks[p]);
    let prev_word = prev.and_then(Tok::word);
    let next = toks.get(j + 1);
    let next_word = next.and_then(Tok::word);
    let number_like = |t: Option<&Tok>| match t {
        Some(Tok::Num(_)) => true,
        Some(Tok::Word(w)) => is_spelled_number(w),
        _ => false,
    };
    match w {
        "for" => {
            !matches!(prev_word, Some("you" | "thanks" | "thank"))
                && !matches!(
                    next_word,
                    Some("calling" | "holding" | "waiting" | "choosing" | "your")
                )
        }
        "to" => {
            !matches!(
                prev_word,
                Some("welcome" | "important" | "listen" | "due" | "up" | "according" | "back")
            ) && !number_like(next)
                && (!number_like(prev) || pressed_key(toks, j - 1))
        }
        "if" | "para" | "si" => true,
        // "To reach the front desk, press 1" with the "to" lost by the recogniser ("…and reach
        // the front desk, press 1"): the verb of reaching someone opens the label itself.
        "reach" | "speak" | "talk" => !matches!(prev_word, Some("to" | "for")),
        _ => false,
    }
}

/// Whether the number at `i` is a key that a press word just before it asks for ("press 3 to…"),
/// rather than part of "8 to 5".
fn pressed_key(toks: &[Tok], i: usize) -> bool {
    toks[i.saturating_sub(5)..i]
        .iter()
        .rev()
        .take_while(|t| **t != Tok::Hard)
        .any(|t| t.word().and_then(verb_kind).is_some())
}

/// Whether a label's tokens hold a word that is not filler.
fn has_content(toks: &[Tok], from: usize, to: usize) -> bool {
    toks[from..to].iter().any(|t| match t {
        Tok::Word(w) => !listed(LEAD_FILLERS, w) && !listed(TRAIL_FILLERS, w),
        _ => false,
    })
}

/// A label-first label within `lo..verb`: opens at the earliest opener that is at most 12 words
/// before the press word and spans no break of a sentence, number, key or press word.
fn before_label(toks: &[Tok], boundary: &[bool], lo: usize, verb: usize) -> Option<Span> {
    (lo..verb).find_map(|j| {
        if !opens_before(toks, j) {
            return None;
        }
        let mut words = 0;
        for i in j + 1..verb {
            match &toks[i] {
                Tok::Hard | Tok::Num(_) | Tok::Key(_) => return None,
                Tok::Word(_) if blocks_label(toks, boundary, i) => return None,
                Tok::Word(_) => words += 1,
                Tok::Soft => {}
            }
        }
        ((1..=12).contains(&words) && has_content(toks, j + 1, verb))
            .then_some(Span { open: j, end: verb })
    })
}

/// A key-first label opening at `start`: "for …" / "to …" up to the next break, number, press
/// word, "…, 2 for" item or "or stay on the line"; at most ten words.
fn after_label(toks: &[Tok], boundary: &[bool], start: usize) -> Option<Span> {
    let opener = toks.get(start)?.word()?;
    if !is_opener_word(opener) {
        return None;
    }
    let mut end = start + 1;
    let mut words = 0;
    while end < toks.len() && words < 10 {
        let Tok::Word(w) = &toks[end] else {
            break;
        };
        if blocks_label(toks, boundary, end) {
            break;
        }
        let next = toks.get(end + 1).and_then(Tok::word);
        if digit_word(w).is_some_and(|(_, c)| c == Clarity::Spelled)
            && next.is_some_and(is_opener_word)
        {
            break;
        }
        if matches!(w.as_str(), "or" | "and")
            && next.is_some_and(|n| {
                matches!(n, "stay" | "remain" | "hold" | "say" | "wait") || verb_kind(n).is_some()
            })
        {
            break;
        }
        words += 1;
        end += 1;
    }
    has_content(toks, start + 1, end).then_some(Span { open: start, end })
}

/// "For scheduling. Press 2.": a label-first label ending at the sentence break just before the
/// press word (only "please", "now" or a clause break between).
fn before_label_across(toks: &[Tok], boundary: &[bool], lo: usize, verb: usize) -> Option<Span> {
    let mut h = verb;
    while h > lo {
        h -= 1;
        match &toks[h] {
            Tok::Soft => continue,
            Tok::Word(w) if matches!(w.as_str(), "please" | "now" | "then" | "and") => continue,
            Tok::Hard => return before_label(toks, boundary, lo, h),
            _ => return None,
        }
    }
    None
}

/// "Just keep with the receptionist, press 4" (a recogniser lost "to speak with"): the clause
/// right before the press word, opener or not, when it names a destination. Only a fallback for
/// an anchor left without a label; the clause spans at most 12 words and no number, key or
/// press word.
fn clause_label(toks: &[Tok], boundary: &[bool], lo: usize, verb: usize) -> Option<Span> {
    let mut end = verb;
    while end > lo && matches!(toks[end - 1], Tok::Soft | Tok::Hard) {
        end -= 1;
    }
    let mut start = end;
    while start > lo {
        match &toks[start - 1] {
            Tok::Word(_) if !blocks_label(toks, boundary, start - 1) => start -= 1,
            Tok::Soft | Tok::Hard => break,
            _ => return None,
        }
    }
    let words = word_list(&toks[start..end]);
    // The token before the clause is its "opener" (a break, or the tokenizer's leading one).
    let open = start.checked_sub(1)?;
    ((1..=12).contains(&words.len()) && classify(&words) != Target::Unknown)
        .then_some(Span { open, end })
}

/// "Press 3. For billing.": a key-first label in the next sentence that ends that sentence.
fn after_label_across(toks: &[Tok], boundary: &[bool], after: usize) -> Option<Span> {
    if toks.get(after) != Some(&Tok::Hard) {
        return None;
    }
    let span = after_label(toks, boundary, after + 1)?;
    matches!(toks.get(span.end), None | Some(Tok::Hard)).then_some(span)
}

/// "…, 2 for billing, or 0 for the operator": an item without a press word, starting at `from`.
fn chained_item(toks: &[Tok], boundary: &[bool], from: usize) -> Option<(Anchor, Span)> {
    let mut i = from;
    let mut skipped = 0;
    while skipped < 3 {
        match toks.get(i)? {
            Tok::Soft => {}
            Tok::Word(w) if matches!(w.as_str(), "and" | "or" | "y") => {}
            _ => break,
        }
        i += 1;
        skipped += 1;
    }
    let (digit, clarity) = match toks.get(i)? {
        Tok::Num(s) if s.len() == 1 => (s.chars().next()?, Clarity::Numeral),
        Tok::Key(c) => (*c, Clarity::Numeral),
        Tok::Word(w) => match digit_word(w)? {
            (d, Clarity::Spelled) => (d, Clarity::Spelled),
            _ => return None,
        },
        _ => return None,
    };
    // The label must start with a word: "8 to 5" is not an item.
    if !matches!(toks.get(i + 2), Some(Tok::Word(_))) {
        return None;
    }
    let span = after_label(toks, boundary, i + 1)?;
    let anchor = Anchor {
        verb: None,
        key: i,
        after: i + 1,
        digit,
        strength: 0.9 * clarity.factor(),
        needs_label: true,
    };
    Some((anchor, span))
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/// Keyword patterns per target, in precedence order. A pattern is one or more words; a word
/// ending in `*` matches by prefix.
const TARGET_RULES: &[(Target, &[&str])] = &[
    (
        Target::Emergency,
        &[
            "emergenc*",
            "urgent*",
            "urgencia*",
            "911",
            "life threatening",
        ],
    ),
    (
        Target::Repeat,
        &[
            "repeat*",
            "again",
            "replay*",
            "main menu",
            "previous menu",
            "start over",
            "repetir",
            "de nuevo",
            "otra vez",
            "menu principal",
        ],
    ),
    (Target::Spanish, &["spanish", "espanol"]),
    (Target::English, &["english", "ingles"]),
    (Target::Results, &["result*", "resultado*"]),
    // A mailbox is not a person, whatever department it is for ("to leave a message for
    // scheduling, press 2").
    (
        Target::Unknown,
        &[
            "leave a message",
            "leave a voicemail",
            "voicemail",
            "voice mail",
            "mailbox",
            "dejar un mensaje",
        ],
    ),
    (
        Target::Prescriptions,
        &[
            "prescription*",
            "refill*",
            "medication*",
            "rx",
            "receta*",
            "medicamento*",
        ],
    ),
    (Target::Pharmacy, &["pharmac*", "farmacia*"]),
    (
        Target::Lab,
        &[
            "lab",
            "labs",
            "laborator*",
            "blood work",
            "bloodwork",
            "blood draw*",
        ],
    ),
    (
        Target::Billing,
        &[
            "bill",
            "bills",
            "billing",
            "payment*",
            "pay",
            "balance*",
            "insurance",
            "statement*",
            "account*",
            "financial",
            "factura*",
            "pago*",
            "cobro*",
        ],
    ),
    (
        Target::Nurse,
        &[
            "nurse*",
            "nursing",
            "triage",
            "medical question*",
            "clinical",
            "symptom*",
            "enfermer*",
        ],
    ),
    (
        Target::Scheduling,
        &[
            "schedul*",
            "reschedul*",
            "book",
            "booking",
            "make an appointment",
            "make a new appointment",
            "make appointment",
            "new appointment",
            "programar",
            "agendar",
            "hacer una cita",
            "sacar una cita",
            "hacer cita",
        ],
    ),
    (
        Target::Appointments,
        &["appointment*", "appt*", "cita", "citas"],
    ),
    (
        Target::Directory,
        &[
            "directory",
            "directorio",
            "dial by name",
            "by name",
            "extension*",
        ],
    ),
    (
        Target::FrontDesk,
        &[
            "front desk",
            "front office",
            "front",
            "reception*",
            "recepcion*",
            "main desk",
            "check in",
            "checking in",
        ],
    ),
    (
        Target::Operator,
        &[
            "operator*",
            "operador*",
            "representative*",
            "representante*",
            "someone",
            "somebody",
            "agent*",
            "attendant*",
            "associate*",
            "person",
            "persona",
            "live",
            "human",
            "team member*",
            "staff member*",
            "customer service*",
            "patient service*",
        ],
    ),
    (
        Target::Other,
        &[
            "other",
            "others",
            "otra",
            "otras",
            "otro",
            "otros",
            "general",
            "else",
            "inquir*",
            "question*",
            "pregunta*",
        ],
    ),
];

/// Callers a line is meant for that are not patients: "if you are a physician…", "calling from a
/// pharmacy…" (matched after "are/you're/from/this is" + "a/an").
const PROFESSIONAL_WORDS: &[&str] = &[
    "physician*",
    "provider*",
    "hospital*",
    "pharmacist*",
    "pharmacy",
    "pharmacies",
    "doctor's",
    "facility",
    "facilities",
    "insurance",
    "vendor*",
    "agency",
    "medical",
];

fn word_matches(w: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(stem) => w.starts_with(stem),
        None => w == pattern,
    }
}

fn phrase_at(words: &[&str], i: usize, pattern: &str) -> bool {
    pattern
        .split(' ')
        .enumerate()
        .all(|(k, p)| words.get(i + k).is_some_and(|w| word_matches(w, p)))
}

fn contains_phrase(words: &[&str], pattern: &str) -> bool {
    (0..words.len()).any(|i| phrase_at(words, i, pattern))
}

fn is_professional_line(words: &[&str]) -> bool {
    (1..words.len()).any(|i| {
        matches!(words[i], "a" | "an")
            && matches!(words[i - 1], "are" | "you're" | "from" | "is")
            && words[i + 1..]
                .iter()
                .take(2)
                .any(|w| PROFESSIONAL_WORDS.iter().any(|p| word_matches(w, p)))
    })
}

fn classify(words: &[&str]) -> Target {
    if words.is_empty() || is_professional_line(words) {
        return Target::Unknown;
    }
    TARGET_RULES
        .iter()
        .find(|(_, patterns)| patterns.iter().any(|p| contains_phrase(words, p)))
        .map_or(Target::Unknown, |(target, _)| *target)
}

/// The short label: the span's words without leading/trailing filler; a long one (over six
/// words) keeps only its last "to/for/if…" phrase that names the same target ("patient and would
/// like to speak to a nurse" → "nurse"); at most eight words.
fn normalise_label(words: &[&str], target: Target) -> String {
    fn strip_lead<'w, 's>(mut s: &'s [&'w str]) -> &'s [&'w str] {
        while let Some((first, rest)) = s.split_first() {
            if !listed(LEAD_FILLERS, first) {
                break;
            }
            s = rest;
        }
        s
    }
    let mut s = strip_lead(words);
    if s.len() > 6
        && let Some(k) = (1..s.len()).rev().find(|&k| {
            let rest = strip_lead(&s[k + 1..]);
            is_opener_word(s[k])
                && rest.iter().any(|w| !listed(TRAIL_FILLERS, w))
                && classify(rest) == target
        })
    {
        s = strip_lead(&s[k + 1..]);
    }
    s = &s[..s.len().min(8)];
    while let Some((last, rest)) = s.split_last() {
        if !listed(TRAIL_FILLERS, last) {
            break;
        }
        s = rest;
    }
    s.join(" ")
}

fn build_option(
    toks: &[Tok],
    anchor: &Anchor,
    label: Option<Span>,
    across: bool,
) -> Option<MenuOption> {
    if label.is_none() && anchor.needs_label {
        return None;
    }
    let words: Vec<&str> =
        label.map_or_else(Vec::new, |span| word_list(&toks[span.open + 1..span.end]));
    let target = match classify(&words) {
        // "To speak with <words the recogniser garbled>": whoever it is, it is someone — a better
        // key than the blind `0` a menu without a named person gets.
        Target::Unknown if label.is_some_and(|span| reaches_someone(toks, span)) => {
            Target::Operator
        }
        target => target,
    };
    let label_factor = match (label, target) {
        (None, _) => 0.5,
        (Some(_), Target::Unknown) => 0.75,
        _ => 1.0,
    };
    let across_factor = if across { 0.85 } else { 1.0 };
    Some(MenuOption {
        digit: anchor.digit,
        label: normalise_label(&words, target),
        target,
        confidence: round2((anchor.strength * label_factor * across_factor).clamp(0.0, 1.0)),
    })
}

/// Whether a label asks to reach, speak or talk with someone ("to speak with …", "reach …").
/// Not when a "for …" follows inside the label: in "you can reach <clinic> for billing, press 4"
/// the option is what comes after "for", and the reaching was the clinic's greeting.
fn reaches_someone(toks: &[Tok], span: Span) -> bool {
    let words: Vec<&str> = toks[span.open..span.end]
        .iter()
        .filter_map(Tok::word)
        .collect();
    let Some(verb) = words
        .iter()
        .take(3)
        .position(|w| matches!(*w, "reach" | "speak" | "talk"))
    else {
        return false;
    };
    !words[verb + 1..].contains(&"for")
}

/// Every option in transcript order (before de-duplication), with the key's token index.
fn find_options(toks: &[Tok]) -> Vec<(usize, MenuOption)> {
    let (anchors, boundary) = find_anchors(toks);
    let mut found = Vec::new();
    let mut cursor = 0;
    let mut a = 0;
    while a < anchors.len() {
        // A run: anchors with no sentence break between one's key and the next press word.
        let mut b = a + 1;
        while b < anchors.len()
            && !toks[anchors[b - 1].key..anchors[b].verb.unwrap_or(anchors[b].key)]
                .contains(&Tok::Hard)
        {
            b += 1;
        }
        let run = &anchors[a..b];
        a = b;

        // Label-first or key-first: whichever labels more anchors (label-first on a tie).
        let (mut first, mut second) = (0, 0);
        let mut lo = cursor;
        for anchor in run {
            let verb = anchor.verb.unwrap_or(anchor.key);
            if before_label(toks, &boundary, lo, verb).is_some() {
                first += 1;
            }
            if after_label(toks, &boundary, anchor.after).is_some() {
                second += 1;
            }
            lo = anchor.after;
        }
        let label_first = first > 0 && first >= second;

        for anchor in run {
            let verb = anchor.verb.unwrap_or(anchor.key);
            let before = || before_label(toks, &boundary, cursor, verb);
            let after = || after_label(toks, &boundary, anchor.after);
            let mut label = if label_first {
                before().or_else(after)
            } else {
                after().or_else(before)
            };
            let mut across = false;
            if label.is_none() {
                label = before_label_across(toks, &boundary, cursor, verb)
                    .or_else(|| after_label_across(toks, &boundary, anchor.after))
                    .or_else(|| clause_label(toks, &boundary, cursor, verb));
                across = label.is_some();
            }
            if let Some(option) = build_option(toks, anchor, label, across) {
                found.push((anchor.key, option));
            }
            cursor = cursor.max(anchor.after);
            let Some(span) = label else { continue };
            if span.open < anchor.key {
                continue;
            }
            cursor = cursor.max(span.end);
            // "Press 1 for appointments, 2 for billing, or 0 for the operator."
            while let Some((item, span)) = chained_item(toks, &boundary, cursor) {
                if let Some(option) = build_option(toks, &item, Some(span), false) {
                    found.push((item.key, option));
                }
                cursor = span.end;
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Menu and person cues
// ---------------------------------------------------------------------------------------------

/// Stock phrases of phone menus, with their weight as evidence.
const MENU_CUES: &[(&str, f32)] = &[
    ("your call is important", 0.6),
    ("listen carefully", 0.5),
    ("options have changed", 0.6),
    ("menu has changed", 0.6),
    ("menu options", 0.5),
    ("following options", 0.5),
    ("menu", 0.3),
    ("para espanol", 0.5),
    ("en espanol", 0.3),
    ("party's extension", 0.5),
    ("extension", 0.3),
    ("at any time", 0.25),
    ("stay on the line", 0.3),
    ("remain on the line", 0.3),
    ("next available", 0.35),
    ("recorded", 0.3),
    ("monitored", 0.3),
    ("hang up and dial", 0.35),
    ("medical emergency", 0.2),
    ("office hours", 0.2),
    ("our hours", 0.2),
    ("automated", 0.4),
    ("you can say", 0.4),
    ("you have reached", 0.15),
    ("you've reached", 0.15),
    ("please hold", 0.1),
];

/// Stock phrases of voicemail and closed-office recordings (a machine, but not a menu).
const MACHINE_CUES: &[(&str, f32)] = &[
    ("leave a message", 0.5),
    ("leave your name", 0.4),
    ("after the tone", 0.5),
    ("after the beep", 0.5),
    ("at the tone", 0.5),
    ("not available", 0.3),
    ("unable to take your call", 0.5),
    ("office is closed", 0.4),
    ("office is now closed", 0.5),
    ("we are closed", 0.4),
    ("we're closed", 0.4),
    ("currently closed", 0.4),
    ("now closed", 0.4),
    ("call you back", 0.4),
    ("return your call", 0.4),
    ("take your call", 0.4),
    ("leave your message", 0.5),
    ("business hours", 0.25),
    ("mailbox", 0.4),
    ("voicemail", 0.4),
    ("recording", 0.4),
    ("deje su mensaje", 0.5),
    ("deje un mensaje", 0.5),
];

/// The weights of the voicemail and closed-office phrases the words contain.
fn machine_cues<'a>(words: &'a [&str]) -> impl Iterator<Item = f32> + 'a {
    MACHINE_CUES
        .iter()
        .filter(|(p, _)| contains_phrase(words, p))
        .map(|(_, w)| *w)
}

fn noisy_or(weights: impl IntoIterator<Item = f32>) -> f32 {
    1.0 - weights
        .into_iter()
        .fold(1.0, |none, w| none * (1.0 - w.clamp(0.0, 1.0)))
}

fn round2(x: f32) -> f32 {
    (x.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

/// Evidence that the audio is a menu: options, press words, stock phrases, and voicemail phrases
/// scaled by `machine_weight`.
fn menu_evidence(toks: &[Tok], words: &[&str], options: usize, machine_weight: f32) -> f32 {
    let (anchors, _) = find_anchors(toks);
    let plain = words
        .iter()
        .filter(|w| verb_kind(w) == Some(Verb::Plain))
        .count();
    let other = anchors.iter().filter(|a| a.needs_label).count();
    let press = (plain + other).min(3);
    let option_evidence = 1.0 - 0.4f32.powi(options.min(8) as i32);
    let cues = MENU_CUES
        .iter()
        .filter(|(p, _)| contains_phrase(words, p))
        .map(|(_, w)| *w)
        .chain(machine_cues(words).map(|w| w * machine_weight));
    noisy_or(
        [option_evidence]
            .into_iter()
            .chain(std::iter::repeat_n(0.3, press))
            .chain(cues),
    )
}

/// Not names after "this is": "this is an emergency", "this is the front desk".
const NOT_NAMES: &str = "\
    a an the not our your my it its to for regarding about being only urgent emergency medical \
    main important how where what that when why who because also just very so now please in at \
    on with from this these recorded automated going all no correct true intended la el";

/// Words of an organisation's or machine's name: "this is Lakeside Pediatrics".
const ORG_WORDS: &str = "\
    clinic clinics office offices medical center centre practice hospital pharmacy health \
    healthcare group associates pediatrics family medicine dental care line department \
    voicemail mailbox menu message system recording service services answering clinica \
    consultorio physicians partners specialists";

/// Questions a receptionist asks the caller.
const PERSON_QUESTIONS: &[&str] = &[
    "how can i help",
    "how may i help",
    "how can i assist",
    "how may i assist",
    "how can we help",
    "how may we help",
    "how can i direct",
    "how may i direct",
    "how can i be of",
    "what can i do for you",
    "what can i help",
    "can i help you",
    "may i help you",
    "who am i speaking",
    "who's calling",
    "can i get your name",
    "may i have your name",
    "can you hold",
    "can i put you on hold",
    "what are you calling about",
    "en que le puedo ayudar",
    "en que puedo ayudar",
    "en que le ayudo",
    "como le puedo ayudar",
    "le puedo ayudar",
];

const GREETINGS: &[&str] = &[
    "hello",
    "hi",
    "hey",
    "good morning",
    "good afternoon",
    "good evening",
    "hola",
    "buenos dias",
    "buenas tardes",
];

/// "this is Sarah", "Sarah speaking", "my name is…", "you're speaking with…", "habla María".
fn has_name_intro(toks: &[Tok], words: &[&str]) -> bool {
    let introductions = [
        "my name is",
        "you're speaking with",
        "you are speaking with",
        "le habla",
        "me llamo",
    ];
    if introductions.iter().any(|p| contains_phrase(words, p)) {
        return true;
    }
    let word_at = |i: usize| toks.get(i).and_then(Tok::word);
    (0..toks.len()).any(|i| match word_at(i) {
        Some("this") if word_at(i + 1) == Some("is") => {
            let Some(name) = word_at(i + 2) else {
                return false;
            };
            if listed(NOT_NAMES, name) || digit_word(name).is_some() {
                return false;
            }
            // The name runs until a break or "at/from/with/in"; an organisation word in it means
            // "this is Lakeside Pediatrics", not a person.
            !toks[i + 2..]
                .iter()
                .take(4)
                .map_while(|t| t.word())
                .take_while(|w| !matches!(*w, "at" | "from" | "with" | "in" | "and" | "how"))
                .any(|w| listed(ORG_WORDS, w))
        }
        Some("speaking") => i.checked_sub(1).and_then(word_at).is_some_and(|prev| {
            !matches!(
                prev,
                "are"
                    | "you're"
                    | "is"
                    | "am"
                    | "i'm"
                    | "were"
                    | "be"
                    | "you"
                    | "spanish"
                    | "english"
                    | "generally"
                    | "publicly"
            )
        }),
        Some("habla") => word_at(i + 1).is_some_and(|n| {
            !matches!(n, "espanol" | "ingles" | "usted" | "con") && !toks[i + 1].is_break()
        }),
        _ => false,
    })
}

/// Evidence that a person answered (without the brevity and menu terms).
fn person_cues(toks: &[Tok], words: &[&str], raw: &str) -> f32 {
    let name = if has_name_intro(toks, words) {
        0.6
    } else {
        0.0
    };
    let question = if PERSON_QUESTIONS.iter().any(|p| contains_phrase(words, p)) {
        0.6
    } else {
        0.0
    };
    let head = &words[..words.len().min(4)];
    let greeting = if GREETINGS.iter().any(|g| contains_phrase(head, g)) {
        0.25
    } else {
        0.0
    };
    let question_mark = if raw.contains('?') { 0.1 } else { 0.0 };
    noisy_or([name, question, greeting, question_mark])
}

#[cfg(test)]
mod tests {
    use super::*;
    use Target::*;

    fn pairs(transcript: &str) -> Vec<(char, Target)> {
        extract_options(transcript)
            .into_iter()
            .map(|o| (o.digit, o.target))
            .collect()
    }

    fn only(transcript: &str) -> MenuOption {
        let options = extract_options(transcript);
        assert_eq!(options.len(), 1, "{transcript:?} → {options:?}");
        options.into_iter().next().unwrap()
    }

    /// (transcript, expected (digit, target) in order).
    const CASES: &[(&str, &[(char, Target)])] = &[
        // Label first.
        ("For scheduling, press 2.", &[('2', Scheduling)]),
        (
            "To leave a message for scheduling press 2. For the front desk press 0.",
            &[('2', Unknown), ('0', FrontDesk)],
        ),
        ("To schedule an appointment press two", &[('2', Scheduling)]),
        (
            "If you are calling about an appointment, please press 2.",
            &[('2', Appointments)],
        ),
        ("To reach the front desk press 0.", &[('0', FrontDesk)]),
        ("For the operator, press zero.", &[('0', Operator)]),
        (
            "To speak with a receptionist, press 0.",
            &[('0', FrontDesk)],
        ),
        ("For all other inquiries, press 9.", &[('9', Other)]),
        ("To speak to a representative, press 0.", &[('0', Operator)]),
        ("To speak with a nurse, press 5.", &[('5', Nurse)]),
        ("For test results, press 6.", &[('6', Results)]),
        ("For the lab, press 7.", &[('7', Lab)]),
        ("For pharmacy refills, press 4.", &[('4', Prescriptions)]),
        (
            "For our dial by name directory, press 8.",
            &[('8', Directory)],
        ),
        ("To hear these options again, press 9.", &[('9', Repeat)]),
        ("Please dial 0 for the operator.", &[('0', Operator)]),
        // Key first.
        ("Press 2 for scheduling.", &[('2', Scheduling)]),
        ("Press 1 to repeat this menu.", &[('1', Repeat)]),
        (
            "Press pound to return to the previous menu.",
            &[('#', Repeat)],
        ),
        ("Press the star key for the main menu.", &[('*', Repeat)]),
        (
            "Press 1 on your keypad for appointments.",
            &[('1', Appointments)],
        ),
        ("Say or press 1 for the pharmacy.", &[('1', Pharmacy)]),
        ("Press 1 to continue in English.", &[('1', English)]),
        ("Press 1 for hours and directions.", &[('1', Unknown)]),
        (
            "If you are a physician or hospital calling about a patient, press 7.",
            &[('7', Unknown)],
        ),
        (
            "If you are calling from a pharmacy, press 6.",
            &[('6', Unknown)],
        ),
        // Recognition errors.
        ("for scheduling dress two", &[('2', Scheduling)]),
        ("to reach the front desk rest zero", &[('0', FrontDesk)]),
        ("press for for billing", &[('4', Billing)]),
        ("prez one for pharmacy", &[('1', Pharmacy)]),
        ("press to for scheduling", &[('2', Scheduling)]),
        (
            "For billing, pres 3. For prescription refills, press ate.",
            &[('3', Billing), ('8', Prescriptions)],
        ),
        ("for the nurse pressed won", &[('1', Nurse)]),
        ("For scheduling. Press 2.", &[('2', Scheduling)]),
        ("Press 3. For billing.", &[('3', Billing)]),
        (
            "thank you for calling main street clinic for scheduling press 2",
            &[('2', Scheduling)],
        ),
        // Spanish.
        ("Para español oprima 9.", &[('9', Spanish)]),
        ("Para español marque el nueve.", &[('9', Spanish)]),
        ("Oprima nueve para español.", &[('9', Spanish)]),
        ("Press 9 for Spanish.", &[('9', Spanish)]),
        (
            "For English press 1, para español oprima dos.",
            &[('1', English), ('2', Spanish)],
        ),
        (
            "Gracias por llamar. Para hacer una cita, oprima el uno. Para hablar con una \
             operadora, marque cero.",
            &[('1', Scheduling), ('0', Operator)],
        ),
        (
            "Para citas oprima 1, para facturación oprima 2.",
            &[('1', Appointments), ('2', Billing)],
        ),
        (
            "Si desea hablar con una enfermera, presione 4.",
            &[('4', Nurse)],
        ),
        // Not options.
        (
            "If you know your party's extension, you may dial it at any time.",
            &[],
        ),
        ("If this is a medical emergency, hang up and dial 911.", &[]),
        (
            "If this is an emergency, please hang up and dial nine one one.",
            &[],
        ),
        ("When you arrive, dial 9 from the lobby phone.", &[]),
        ("Our fax number is 555 1234.", &[]),
        ("We are open 8 to 5.", &[]),
        ("We are located at 100 Main Street, Suite 200.", &[]),
        ("To reach our billing office, dial 1 800 555 1234.", &[]),
        (
            "Rest assured, the rest of our staff will be with you shortly.",
            &[],
        ),
        ("Press for billing.", &[]),
        (
            "Please don't hang up. Press 0 for the operator.",
            &[('0', Operator)],
        ),
        // Several options.
        (
            "Thank you for calling Main Street Clinic. If this is a medical emergency, please \
             hang up and dial 911. Para español, oprima 9. For scheduling, press 2. For billing, \
             press 3. For prescription refills, press 4. For the front desk or all other \
             inquiries, press 0. To repeat this menu, press star.",
            &[
                ('9', Spanish),
                ('2', Scheduling),
                ('3', Billing),
                ('4', Prescriptions),
                ('0', FrontDesk),
                ('*', Repeat),
            ],
        ),
        (
            "press 1 for scheduling press 2 for billing press 3 for the pharmacy",
            &[('1', Scheduling), ('2', Billing), ('3', Pharmacy)],
        ),
        (
            "for scheduling press 1 for billing press 2 for the nurse press 3",
            &[('1', Scheduling), ('2', Billing), ('3', Nurse)],
        ),
        (
            "for scheduling press 1 for billing press 2 press 9 to repeat",
            &[('1', Scheduling), ('2', Billing), ('9', Repeat)],
        ),
        (
            "Press 1 for appointments, 2 for billing, 3 for lab results, or 0 for the operator.",
            &[
                ('1', Appointments),
                ('2', Billing),
                ('3', Results),
                ('0', Operator),
            ],
        ),
        (
            "Welcome to Lakeside Pediatrics. Please listen carefully as our menu options have \
             changed. \
             Press 1 for scheduling or press 2 for billing.",
            &[('1', Scheduling), ('2', Billing)],
        ),
        (
            "If this is an emergency, press 1. For scheduling, press 2.",
            &[('1', Emergency), ('2', Scheduling)],
        ),
        (
            "For billing press 3. Our fax number is 555-1234. We are located at 100 Main Street, \
             Suite 200, \
             and we are open 8 to 5.",
            &[('3', Billing)],
        ),
        (
            "If you know your party's extension you may dial it at any time for scheduling press 2",
            &[('2', Scheduling)],
        ),
        (
            "if this is an emergency hang up and dial 911 for scheduling press 2",
            &[('2', Scheduling)],
        ),
        (
            "When you arrive, dial 9 from the lobby phone. To speak with a receptionist, press 0.",
            &[('0', FrontDesk)],
        ),
        (
            "To make a payment press 3 to speak with a nurse press 4",
            &[('3', Billing), ('4', Nurse)],
        ),
        (
            "For scheduling, press 2, for billing, press 3",
            &[('2', Scheduling), ('3', Billing)],
        ),
        (
            "press 1 for billing, for scheduling press 2",
            &[('1', Billing), ('2', Scheduling)],
        ),
        (
            "For appointments press one for billing press two",
            &[('1', Appointments), ('2', Billing)],
        ),
        (
            "Our office hours are Monday through Friday 8 to 5 for scheduling press 2",
            &[('2', Scheduling)],
        ),
        (
            "press 2 for scheduling or stay on the line for the operator",
            &[('2', Scheduling)],
        ),
        (
            "Press 0 to be connected to the operator.",
            &[('0', Operator)],
        ),
        (
            "Para continuar en español, oprima el dos.",
            &[('2', Spanish)],
        ),
        (
            "We are closed. If this is urgent, please call 555-1234.",
            &[],
        ),
        (
            "If you are a physician calling with an urgent matter, press 1.",
            &[('1', Unknown)],
        ),
        // A nested menu: the appointment line's own prompt.
        (
            "You have reached the appointment line. To schedule a new appointment, press 1. To \
             cancel or reschedule an appointment, press 2. To speak with the front desk, press 0. \
             To return to the main menu, press star.",
            &[
                ('1', Scheduling),
                ('2', Scheduling),
                ('0', FrontDesk),
                ('*', Repeat),
            ],
        ),
        (
            "If you're calling to make, change or cancel an appointment, press 1. For all other \
             calls, press 0.",
            &[('1', Appointments), ('0', Other)],
        ),
    ];

    #[test]
    fn extracts_expected_options() {
        let mut failures = Vec::new();
        for (transcript, expected) in CASES {
            let got = pairs(transcript);
            if got != *expected {
                failures.push(format!(
                    "{transcript:?}\n  expected {expected:?}\n  got      {got:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(CASES.len() >= 40);
    }

    #[test]
    fn labels_are_short_and_normalised() {
        assert_eq!(only("For scheduling, press 2.").label, "scheduling");
        assert_eq!(only("To reach the front desk press 0.").label, "front desk");
        assert_eq!(
            only("For all other inquiries, press 9.").label,
            "all other inquiries"
        );
        assert_eq!(
            only("If you are calling about an appointment, please press 2.").label,
            "appointment"
        );
        assert_eq!(only("Para español oprima 9.").label, "espanol");
        assert_eq!(
            only("Press 1 to repeat this menu.").label,
            "repeat this menu"
        );
        assert_eq!(
            only("To speak to a representative, press 0.").label,
            "representative"
        );
        assert_eq!(only("Press 1 now.").label, "");
        assert_eq!(
            only("If you are a patient and would like to speak to a nurse press 3").label,
            "nurse"
        );
        assert_eq!(
            only("For questions about your bill or to make a payment, press 3").label,
            "make a payment"
        );
        // Shortening never makes the label disagree with the target.
        let o = only("For refills or to speak to a nurse, press 4.");
        assert_eq!(
            (o.label.as_str(), o.target),
            ("refills or to speak to a nurse", Prescriptions)
        );
        assert_eq!(
            only("press 2 for scheduling or stay on the line for the operator").label,
            "scheduling"
        );
    }

    #[test]
    fn unlabelled_plain_press_is_kept_with_low_confidence() {
        let o = only("Press 1 now.");
        assert_eq!((o.digit, o.target), ('1', Unknown));
        assert!(o.confidence <= 0.5);
        // Weak and mis-heard press words need a label.
        assert!(extract_options("Please dial 5.").is_empty());
        assert!(extract_options("Get some rest 2 days.").is_empty());
    }

    #[test]
    fn confidence_reflects_how_clearly_it_was_heard() {
        let clear = only("Press 2 for scheduling.").confidence;
        let misheard = only("Dress 2 for scheduling.").confidence;
        let homophone = only("press to for scheduling").confidence;
        let across = only("For scheduling. Press 2.").confidence;
        assert_eq!(clear, 1.0);
        assert!(misheard < clear && homophone < clear && across < clear);
        assert!(only("Press 2 for hours.").confidence < clear);
    }

    #[test]
    fn duplicates_keep_the_clearest_reading() {
        let options = extract_options(
            "For scheduling dress 2. For billing press 3. Again, for scheduling press 2.",
        );
        assert_eq!(options.len(), 2);
        assert_eq!((options[0].digit, options[0].target), ('3', Billing));
        assert_eq!((options[1].digit, options[1].confidence), ('2', 1.0));
        // Same confidence: the first stays.
        let options = extract_options("Press 2 for scheduling. Press 2 for billing.");
        assert_eq!(pairs_of(&options), vec![('2', Scheduling)]);
    }

    fn pairs_of(options: &[MenuOption]) -> Vec<(char, Target)> {
        options.iter().map(|o| (o.digit, o.target)).collect()
    }

    const FULL_MENU: &str = "Thank you for calling Main Street Clinic. If this is a medical \
        emergency, \
        please hang up and dial 911. Para español, oprima 9. For billing, press 3. For scheduling, \
        press 2. For all other inquiries, press 0. To repeat this menu, press star.";

    #[test]
    fn choose_with_default_preferences() {
        let options = extract_options(FULL_MENU);
        let chosen = choose(&options, &default_preferences()).unwrap();
        assert_eq!((chosen.digit, chosen.target), ('2', Scheduling));

        let options = extract_options(
            "For billing press 3. For the operator press 0. For the pharmacy press 4.",
        );
        assert_eq!(choose(&options, &default_preferences()).unwrap().digit, '0');

        let options = extract_options("For billing press 1. For all other inquiries press 9.");
        assert_eq!(choose(&options, &default_preferences()).unwrap().digit, '9');

        let options = extract_options("For English press 1. Para español oprima 2.");
        assert_eq!(choose(&options, &default_preferences()).unwrap().digit, '1');

        let options = extract_options(
            "If you are calling about an appointment press 1. To reach the front desk press 0.",
        );
        assert_eq!(choose(&options, &default_preferences()).unwrap().digit, '1');
    }

    #[test]
    fn choose_never_picks_emergency_repeat_or_spanish_by_default() {
        let options = extract_options(
            "If this is an emergency press 1. Press 9 to repeat this menu. Para español oprima \
             8. For billing press 3.",
        );
        assert_eq!(
            pairs_of(&options),
            vec![
                ('1', Emergency),
                ('9', Repeat),
                ('8', Spanish),
                ('3', Billing)
            ]
        );
        assert_eq!(choose(&options, &default_preferences()), None);
        assert_eq!(choose(&options, &[Spanish]).unwrap().digit, '8');
        assert_eq!(choose(&[], &default_preferences()), None);
        assert_eq!(choose(&options, &[]), None);
    }

    #[test]
    fn choose_with_custom_preferences() {
        let options = extract_options(FULL_MENU);
        assert_eq!(choose(&options, &[Billing, Scheduling]).unwrap().digit, '3');
        assert_eq!(choose(&options, &[Nurse, Other]).unwrap().digit, '0');
        assert_eq!(choose(&options, &[Nurse, Lab]), None);
    }

    #[test]
    fn choose_prefers_the_clearest_of_equal_targets() {
        let options = vec![
            MenuOption {
                digit: '4',
                label: "scheduling".into(),
                target: Scheduling,
                confidence: 0.6,
            },
            MenuOption {
                digit: '2',
                label: "scheduling".into(),
                target: Scheduling,
                confidence: 0.9,
            },
            MenuOption {
                digit: '5',
                label: "scheduling".into(),
                target: Scheduling,
                confidence: 0.9,
            },
        ];
        assert_eq!(choose(&options, &default_preferences()).unwrap().digit, '2');
    }

    #[test]
    fn default_preferences_reach_people_about_appointments() {
        let prefs = default_preferences();
        assert_eq!(
            &prefs[..4],
            &[Scheduling, Appointments, FrontDesk, Operator]
        );
        for never in [Emergency, Repeat, Spanish, Unknown, Billing, Nurse] {
            assert!(!prefs.contains(&never), "{never:?}");
        }
    }

    const MENUS: &[&str] = &[
        FULL_MENU,
        "Thank you for calling Main Street Clinic. If this is an emergency hang up and dial 911. \
         For scheduling press 2",
        "Please listen carefully as our menu options have changed. For scheduling, press 1.",
        "Your call is important to us. Please stay on the line and the next available \
         representative will assist you.",
        "press 1 for scheduling press 2 for billing press 3 for the pharmacy",
        "Para español oprima 9. For appointments press 1.",
        "If you know your party's extension, you may dial it at any time. Otherwise, please \
         listen to the following options.",
        "for scheduling dress two to reach the front desk rest zero",
        "Welcome to Lakeside Pediatrics. Calls may be recorded for quality purposes. Press 0 at \
         any time to reach the operator.",
        "You have reached the appointment line. To schedule a new appointment, press 1. To \
         return to the main menu, press star.",
    ];

    const GREETINGS_BY_PEOPLE: &[&str] = &[
        "Thank you for calling Main Street Clinic, this is Sarah, how can I help you?",
        "Main Street Clinic, Sarah speaking.",
        "Good morning, Lakeside Family Medicine, this is Jessica speaking, how may I direct your \
         call?",
        "Hi, thanks for calling Dr. Patel's office, this is Mike. How can I help?",
        "Front desk, this is Ana.",
        "Hello, you've reached Main Street Clinic, my name is Lisa, how can I help you today?",
        "Scheduling, this is Tom, can I get your name please?",
        "Clínica Main Street, habla María, ¿en qué le puedo ayudar?",
        "Hello? How can I help you?",
        "Lakeside Pediatrics, you're speaking with Dana. What can I do for you?",
    ];

    #[test]
    fn menu_likelihood_is_high_for_menus_and_low_for_people() {
        for menu in MENUS {
            let m = menu_likelihood(menu);
            assert!(m >= 0.7, "{m} for {menu:?}");
        }
        for greeting in GREETINGS_BY_PEOPLE {
            let m = menu_likelihood(greeting);
            assert!(m <= 0.3, "{m} for {greeting:?}");
        }
        assert_eq!(menu_likelihood(""), 0.0);
    }

    #[test]
    fn greetings_are_person_like_and_menus_are_not() {
        for greeting in GREETINGS_BY_PEOPLE {
            let p = is_person_greeting_like(greeting);
            assert!(p >= 0.6, "{p} for {greeting:?}");
        }
        for menu in MENUS {
            let p = is_person_greeting_like(menu);
            assert!(p <= 0.3, "{p} for {menu:?}");
        }
        assert_eq!(is_person_greeting_like("  "), 0.0);
    }

    #[test]
    fn full_stops_shifted_by_the_recogniser_do_not_move_labels_onto_the_next_key() {
        // Whisper's reading of "For scheduling, press 2. For prescription refills, press 8. …"
        let shifted = "Thank you for calling the medical group for scheduling. Press 2 for \
            prescription refills. Press 8 for prescription refills. Press 3 for the pharmacy. \
            Press 5.";
        assert_eq!(
            pairs(shifted),
            vec![
                ('2', Scheduling),
                ('8', Prescriptions),
                ('3', Prescriptions),
                ('5', Pharmacy)
            ]
        );
        // Menus that really say the key first keep their reading, punctuated or not.
        for keys_first in [
            "Press 1 for billing. Press 2 for scheduling.",
            "Press 1 for billing press 2 for scheduling",
        ] {
            assert_eq!(
                pairs(keys_first),
                vec![('1', Billing), ('2', Scheduling)],
                "{keys_first}"
            );
        }
        // No opener at all, but a destination named right before the press word.
        assert_eq!(
            pairs("For the pharmacy, press 5. Just keep with the receptionist, press 4."),
            vec![('5', Pharmacy), ('4', FrontDesk)]
        );
        assert_eq!(pairs("Receptionist, press 4."), vec![('4', FrontDesk)]);
        // The "to" of "to reach the front desk" lost by the recogniser.
        assert_eq!(
            pairs("For lab results, press 9 and reach the front desk, press 1."),
            vec![('9', Results), ('1', FrontDesk)]
        );
        // Someone to speak with, whose name the recogniser garbled: someone all the same.
        assert_eq!(
            pairs("For billing, press 4. Reach not long care, press 2."),
            vec![('4', Billing), ('2', Operator)]
        );
        assert_eq!(
            pairs("For billing, press 4. To speak with the wrestling, press 2."),
            vec![('4', Billing), ('2', Operator)]
        );
        // A greeting's "you can reach <the clinic>" before "for <garbled>, press 4" does not
        // make that option a person; the later "reach <garbled>, press 2" still is one.
        assert_eq!(
            pairs(
                "You can reach some detergent care for building, press 4, reach not long care, press 2."
            ),
            vec![('4', Unknown), ('2', Operator)]
        );
        // …but not a department or a place named after "reach".
        assert_eq!(
            pairs("To reach our billing office, press 3. For directions, press 5."),
            vec![('3', Billing), ('5', Unknown)]
        );
        // Mixed orders, correctly punctuated, are read sentence by sentence.
        assert_eq!(
            pairs(
                "For lab results, press eight. Press five for appointments. For the operator, press zero."
            ),
            vec![('8', Results), ('5', Appointments), ('0', Operator)]
        );
    }

    #[test]
    fn recorded_messages_sound_like_voicemail_and_people_and_menus_do_not() {
        for recording in [
            "The office is now closed. Please leave a message.",
            "You have reached Riverside Medical. We are unable to take your call. Please leave a \
             message after the tone.",
            "Hi, you've reached Dana at Main Street Clinic. Leave your name and number and I'll \
             call you back.",
            "Hi, this is Dr. Smith. I'm not available right now, please leave a message after \
             the tone.",
            "Our office is currently closed. Please call back during business hours.",
        ] {
            let v = voicemail_likelihood(recording);
            assert!(v >= 0.5, "{v} for {recording:?}");
        }
        for other in GREETINGS_BY_PEOPLE.iter().chain(MENUS) {
            let v = voicemail_likelihood(other);
            assert!(v < 0.3, "{v} for {other:?}");
        }
        // A menu that takes messages offers a key: it is a menu, not a mailbox.
        assert_eq!(
            voicemail_likelihood("To leave a message, press one. For directions, press two."),
            0.0
        );
        assert_eq!(voicemail_likelihood(""), 0.0);
    }

    #[test]
    fn voicemail_and_organisation_names_are_not_people() {
        let voicemail = "Hi, this is Dr. Smith. I'm not available right now, please leave a \
            message after the tone.";
        assert!(is_person_greeting_like(voicemail) < 0.5);
        assert!(
            is_person_greeting_like("This is Lakeside Pediatrics. Our office is currently closed.")
                < 0.3
        );
        assert!(
            is_person_greeting_like("This is an automated message from Main Street Clinic.") < 0.3
        );
    }

    #[test]
    fn tokenizer_keeps_numbers_and_sentences_apart() {
        use Tok::*;
        let w = |s: &str| Word(s.to_string());
        let n = |s: &str| Num(s.to_string());
        assert_eq!(
            tokenize("Press 2. Fax: 555-1234, open 9:00–5; Dr. Ruiz’s #"),
            vec![
                w("press"),
                n("2"),
                Hard,
                w("fax"),
                Soft,
                n("5551234"),
                Soft,
                w("open"),
                n("900"),
                Soft,
                n("5"),
                Hard,
                w("dr"),
                w("ruiz's"),
                Key('#'),
            ]
        );
        assert_eq!(
            tokenize("ESPAÑOL, 1,200 a.m."),
            vec![w("espanol"), Soft, n("1200"), w("a"), w("m"), Hard]
        );
        assert_eq!(
            tokenize("nine-one-one"),
            vec![w("nine"), w("one"), w("one")]
        );
        assert!(tokenize("...,,").is_empty());
    }

    #[test]
    fn targets_serialise_in_snake_case() {
        for target in Target::ALL {
            let json = serde_json::to_string(&target).unwrap();
            assert_eq!(json, format!("\"{}\"", target.as_str()));
            assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), target);
        }
        let option = only("To reach the front desk press 0.");
        assert_eq!(
            serde_json::to_value(&option).unwrap(),
            serde_json::json!({
                "digit": "0",
                "label": "front desk",
                "target": "front_desk",
                "confidence": 1.0
            })
        );
    }

    #[test]
    fn deterministic() {
        for (transcript, _) in CASES {
            assert_eq!(extract_options(transcript), extract_options(transcript));
            assert_eq!(menu_likelihood(transcript), menu_likelihood(transcript));
        }
    }
}

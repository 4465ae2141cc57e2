//! The offline Whisper backend on the repository's corpus (8 kHz µ-law TTS menus and greetings
//! over a simulated line). Needs the model: `bash scripts/fetch_whisper_model.sh` puts it where
//! `default_model_dir()` looks. Without it these tests fail, on purpose: a build with the
//! `whisper` feature that cannot transcribe is broken.
#![cfg(feature = "whisper")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use switchboard_speech::{WhisperTranscriber, default_model_dir};

/// One model for all tests in this binary (loading takes a few hundred ms).
fn whisper() -> &'static WhisperTranscriber {
    static MODEL: OnceLock<WhisperTranscriber> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = default_model_dir();
        assert!(
            dir.join("model.bin").is_file(),
            "no Whisper model in {}: run `bash scripts/fetch_whisper_model.sh` \
             (or set SWITCHBOARD_WHISPER_MODEL to a directory holding one)",
            dir.display()
        );
        WhisperTranscriber::load(&dir, 2).expect("the model loads")
    })
}

fn clip(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpus/clips")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lower-case words, punctuation dropped, number words as digits.
fn words(text: &str) -> Vec<String> {
    const NUMBERS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            NUMBERS
                .iter()
                .position(|n| *n == w)
                .map_or(w, |d| d.to_string())
        })
        .collect()
}

fn says_press(text: &str, digit: &str) -> bool {
    words(text)
        .windows(2)
        .any(|w| w[0] == "press" && w[1] == digit)
}

#[test]
fn a_clean_menu_is_heard_with_press_and_its_digits() {
    // "Thank you for calling Valley Medical Group. For scheduling, press 2. For prescription
    // refills, press 8. For prescription refills, press 3. For the pharmacy, press 5."
    let text = whisper().transcribe_ulaw(&clip("menu-009.ulaw")).unwrap();
    assert!(says_press(&text, "2"), "no \"press 2\" in: {text}");
    assert!(says_press(&text, "5"), "no \"press 5\" in: {text}");
}

#[test]
fn a_menu_with_digits_as_words_is_heard_with_the_right_digit() {
    // "Thank you for calling Westgate Clinic. For the operator, press three. …" (clean)
    let text = whisper().transcribe_ulaw(&clip("menu-018.ulaw")).unwrap();
    assert!(says_press(&text, "3"), "no \"press 3\" in: {text}");
}

#[test]
fn a_menu_at_20_db_snr_is_heard_with_the_right_digit() {
    // "You have reached Summit Urgent Care. For billing, press four. To reach the front desk,
    // press two." (20 dB white line noise; tiny.en garbles the words around the digits)
    let text = whisper().transcribe_ulaw(&clip("menu-034.ulaw")).unwrap();
    assert!(says_press(&text, "2"), "no \"press 2\" in: {text}");
}

#[test]
fn a_greeting_is_transcribed_with_its_key_words() {
    // "Good afternoon, thank you for calling Main Street Clinic. My name is Sarah. How may I
    // direct your call?" (clean)
    let text = whisper().transcribe_ulaw(&clip("human-000.ulaw")).unwrap();
    let w = words(&text);
    for key in ["thank", "calling", "name", "sarah"] {
        assert!(w.iter().any(|x| x == key), "no {key:?} in: {text}");
    }
    assert!(
        !w.iter().any(|x| x == "press"),
        "a person heard as a menu: {text}"
    );
}

#[test]
fn a_short_greeting_is_not_heard_as_a_menu() {
    // "Front desk." and "Hello?" (clean): short answers in a few seconds of line noise, where a
    // prompted decoder is most tempted to echo its "press 1".
    for (file, key) in [("human-039.ulaw", "desk"), ("human-015.ulaw", "hello")] {
        let text = whisper().transcribe_ulaw(&clip(file)).unwrap();
        let w = words(&text);
        assert!(w.iter().any(|x| x == key), "{file}: no {key:?} in: {text}");
        assert!(
            !w.iter().any(|x| x == "press"),
            "{file}: a person heard as a menu: {text}"
        );
    }
}

#[test]
fn silence_as_ulaw_or_as_pcm_gives_the_same_text_and_no_special_tokens() {
    // Silence (µ-law 0xFF, or zeros at 16 kHz) decodes without error, alike in both forms.
    let ulaw = vec![0xFFu8; 8000 * 3];
    let a = whisper().transcribe_ulaw(&ulaw).unwrap();
    let b = whisper()
        .transcribe_pcm16k(&vec![0.0f32; 16000 * 3])
        .unwrap();
    assert_eq!(a, b);
    assert!(!a.contains("<|"), "special tokens leaked: {a}");
}

#[test]
fn empty_audio_gives_empty_text() {
    assert_eq!(whisper().transcribe_ulaw(&[]).unwrap(), "");
    assert_eq!(whisper().transcribe_pcm16k(&[]).unwrap(), "");
}

#[test]
fn audio_longer_than_30_s_keeps_its_last_30_s() {
    // 10 s of silence, then a menu: the menu must survive the cut.
    let mut ulaw = vec![0xFFu8; 8000 * 25];
    let menu = clip("menu-009.ulaw");
    ulaw.extend_from_slice(&menu);
    assert!(ulaw.len() > 8000 * 30);
    let text = whisper().transcribe_ulaw(&ulaw).unwrap();
    assert!(says_press(&text, "2"), "no \"press 2\" in: {text}");
}

#[test]
fn transcribes_from_several_threads_at_once() {
    let clips = Arc::new([clip("menu-009.ulaw"), clip("human-000.ulaw")]);
    let alone: Vec<String> = clips
        .iter()
        .map(|c| whisper().transcribe_ulaw(c).unwrap())
        .collect();
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let clips = clips.clone();
            std::thread::spawn(move || whisper().transcribe_ulaw(&clips[i]).unwrap())
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), alone[i]);
    }
}

#[test]
fn loading_writes_nothing_into_the_model_directory() {
    let dir: PathBuf = default_model_dir();
    let list = |d: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), e.metadata().unwrap().modified().unwrap())
            })
            .collect();
        names.sort();
        names
    };
    let _ = whisper();
    let before = list(&dir);
    let _second = WhisperTranscriber::load(&dir, 1).unwrap();
    assert_eq!(before, list(&dir));
}

#[test]
fn a_directory_without_a_model_is_an_error_naming_the_fetch_script() {
    let err = WhisperTranscriber::load(Path::new("/nonexistent/whisper-model"), 1).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("fetch_whisper_model.sh"), "{msg}");
}

//! Offline speech recognition with Whisper tiny.en in CTranslate2 format (feature `whisper`).
//!
//! One call transcribes one utterance of at most 30 s: µ-law 8 kHz is decoded and upsampled to
//! 16 kHz, turned into Whisper's log-mel features here (as faster-whisper computes them), and
//! decoded by CTranslate2's Whisper with beam search 5 and an initial prompt that primes the
//! vocabulary of phone menus ("press 1"), which tiny.en otherwise often hears as "dress"/"rest".
//! The model is read from a directory that `scripts/fetch_whisper_model.sh` fills; nothing is
//! downloaded here and nothing is written into the model directory. Other CTranslate2 Whisper
//! models load too (multilingual ones are told the language is English): Whisper base was
//! measured this way and hears no more than tiny.en on the corpus (docs/speech.md).

mod audio;
mod mel;

use std::path::{Path, PathBuf};

use ct2rs::Tokenizer as _;
use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};
use ct2rs::tokenizers::hf;

use crate::SpeechError;

/// The environment variable that names the model directory.
const MODEL_DIR_ENV: &str = "SWITCHBOARD_WHISPER_MODEL";

/// Text given to the decoder as "previous context" (faster-whisper's `initial_prompt`): it makes
/// tiny.en expect menu phrasing ("press 1", digits as numerals) as well as a receptionist's
/// greeting. Chosen by measurement over the corpus (docs/speech.md): a menu-only prompt found as
/// many digits but heard greetings less well.
const INITIAL_PROMPT: &str = "Thank you for calling the clinic. How can I help you? \
     For appointments, press 1. For the operator, press 0.";

/// The model directory: `$SWITCHBOARD_WHISPER_MODEL` when set and non-empty, else
/// `target/whisper-model` in the workspace this crate was built from (where
/// `scripts/fetch_whisper_model.sh` puts it by default). Deployed binaries should set the
/// variable, since the built-in default names a path of the build machine.
pub fn default_model_dir() -> PathBuf {
    match std::env::var_os(MODEL_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/whisper-model"),
    }
}

/// A loaded Whisper model, ready to transcribe. Cheap to share (`Arc`) between threads; calls
/// from several threads are queued by CTranslate2 and run one at a time.
pub struct WhisperTranscriber {
    model: Whisper,
    tokenizer: hf::Tokenizer,
    mel: mel::LogMel,
    /// `<|startofprev|>`, the prompt's tokens, `<|startoftranscript|>`, `<|notimestamps|>`.
    prompt: Vec<String>,
    /// `<|startoftranscript|>` (then `<|en|>`, `<|transcribe|>` for a multilingual model),
    /// `<|notimestamps|>`: the fallback without the prompt.
    bare_prompt: Vec<String>,
    /// Token ids from here up are special (`<|endoftext|>` and everything after it).
    first_special_id: usize,
}

impl std::fmt::Debug for WhisperTranscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperTranscriber")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl WhisperTranscriber {
    /// Loads the CTranslate2 model directory (`model.bin`, `config.json`, `vocabulary.txt` or
    /// `vocabulary.json`, `tokenizer.json`) for CPU inference in int8 with `threads` threads (0:
    /// CTranslate2's default). Reads only; `preprocessor_config.json` is not needed.
    pub fn load(model_dir: &Path, threads: usize) -> Result<Self, SpeechError> {
        for file in ["model.bin", "config.json", "tokenizer.json"] {
            if !model_dir.join(file).is_file() {
                return Err(SpeechError::Model(format!(
                    "{} has no {file} (run scripts/fetch_whisper_model.sh)",
                    model_dir.display()
                )));
            }
        }
        // CTranslate2 reads either form of the vocabulary; converters have written both.
        if !["vocabulary.txt", "vocabulary.json"]
            .iter()
            .any(|file| model_dir.join(file).is_file())
        {
            return Err(SpeechError::Model(format!(
                "{} has no vocabulary.txt or vocabulary.json (run scripts/fetch_whisper_model.sh)",
                model_dir.display()
            )));
        }
        let config = Config {
            device: Device::CPU,
            compute_type: ComputeType::INT8,
            num_threads_per_replica: threads,
            ..Config::default()
        };
        let model = Whisper::new(model_dir, config)
            .map_err(|e| SpeechError::Model(format!("cannot load {}: {e}", model_dir.display())))?;
        if model.n_mels() != mel::N_MELS {
            return Err(SpeechError::Model(format!(
                "{} is not an 80-mel Whisper model",
                model_dir.display()
            )));
        }
        let multilingual = model.is_multilingual();

        let mut tokenizer = hf::Tokenizer::new(model_dir)
            .map_err(|e| SpeechError::Model(format!("cannot load the tokenizer: {e}")))?;
        tokenizer.disable_spacial_token();
        let first_special_id = tokenizer
            .token_to_id("<|endoftext|>")
            .ok_or_else(|| SpeechError::Model("the tokenizer has no <|endoftext|>".into()))?
            as usize;
        // As faster-whisper encodes an initial prompt: a leading space, no special tokens.
        let prompt_tokens = tokenizer
            .encode(&format!(" {INITIAL_PROMPT}"))
            .map_err(|e| SpeechError::Model(format!("cannot tokenize the prompt: {e}")))?;
        // A multilingual model is told the language and the task rather than left to guess
        // them: clinics' menus are English, and a detected "language" of line noise is not.
        let bare_prompt: Vec<String> = if multilingual {
            vec![
                "<|startoftranscript|>",
                "<|en|>",
                "<|transcribe|>",
                "<|notimestamps|>",
            ]
        } else {
            vec!["<|startoftranscript|>", "<|notimestamps|>"]
        }
        .into_iter()
        .map(String::from)
        .collect();
        let mut prompt = vec!["<|startofprev|>".to_string()];
        prompt.extend(prompt_tokens);
        prompt.extend(bare_prompt.iter().cloned());

        Ok(Self {
            model,
            tokenizer,
            mel: mel::LogMel::new(),
            prompt,
            bare_prompt,
            first_special_id,
        })
    }

    /// Transcribes one utterance of 8 kHz G.711 µ-law audio (at most 30 s; longer audio is cut
    /// to its last 30 s). Blocking: call it from `spawn_blocking`. Returns plain text, trimmed,
    /// with special tokens stripped; empty audio gives an empty string.
    pub fn transcribe_ulaw(&self, ulaw: &[u8]) -> Result<String, SpeechError> {
        let tail = &ulaw[ulaw.len().saturating_sub(mel::N_SAMPLES / 2)..];
        let pcm8k: Vec<f32> = tail.iter().map(|b| audio::ulaw_to_f32(*b)).collect();
        self.transcribe_pcm16k(&audio::upsample_8k_to_16k(&pcm8k))
    }

    /// Transcribes one utterance of 16 kHz mono PCM in [-1, 1] (at most 30 s; longer audio is
    /// cut to its last 30 s). Blocking, like [`Self::transcribe_ulaw`].
    ///
    /// The prompt primes tiny.en for menus, but on unclear audio it can make the model echo it
    /// ("Press 1, press 1, press 1, …"). A decode that repeats itself is therefore discarded and
    /// the same audio decoded again without the prompt. Output length is bounded by the audio's
    /// duration, so a runaway decode costs little.
    pub fn transcribe_pcm16k(&self, pcm: &[f32]) -> Result<String, SpeechError> {
        if pcm.is_empty() {
            return Ok(String::new());
        }
        let tail = &pcm[pcm.len().saturating_sub(mel::N_SAMPLES)..];
        let mut features = self.mel.features(tail);
        let features =
            StorageView::new(&[1, mel::N_MELS, mel::N_FRAMES], &mut features, Device::CPU)
                .map_err(|e| SpeechError::Model(format!("cannot build the input: {e}")))?;
        // Encode once; both decodes below start from the same encoder output.
        let encoded = self
            .model
            .encode(&features, false)
            .map_err(|e| SpeechError::Model(format!("encoding failed: {e}")))?;
        // About 3 words (4–5 tokens) a second is brisk speech; 8 a second plus 32 is ample.
        let max_new_tokens = 32 + tail.len() * 8 / mel::SAMPLE_RATE;
        let text = self.decode(&encoded, &self.prompt, max_new_tokens)?;
        if !repeats_itself(&text) && !echoes_prompt_options(&text) {
            return Ok(text);
        }
        tracing::debug!("the prompted decode looped or echoed the prompt; decoding it unprompted");
        self.decode(&encoded, &self.bare_prompt, max_new_tokens)
    }

    /// One beam-search decode from `prompt`; plain text, special tokens dropped.
    fn decode(
        &self,
        encoded: &StorageView,
        prompt: &[String],
        max_new_tokens: usize,
    ) -> Result<String, SpeechError> {
        let options = WhisperOptions {
            beam_size: 5,
            max_length: (prompt.len() + max_new_tokens).min(MAX_TOKENS),
            ..WhisperOptions::default()
        };
        let results = self
            .model
            .generate(encoded, std::slice::from_ref(&prompt.to_vec()), &options)
            .map_err(|e| SpeechError::Model(format!("decoding failed: {e}")))?;
        let Some(best) = results.into_iter().next() else {
            return Ok(String::new());
        };
        let (Some(tokens), Some(ids)) = (
            best.sequences.into_iter().next(),
            best.sequences_ids.first(),
        ) else {
            return Ok(String::new());
        };
        let text_tokens: Vec<String> = tokens
            .into_iter()
            .zip(ids)
            .filter(|(_, id)| **id < self.first_special_id)
            .map(|(token, _)| token)
            .collect();
        let text = self
            .tokenizer
            .decode(text_tokens)
            .map_err(|_| SpeechError::Model("cannot detokenize the model's output".into()))?;
        Ok(text.trim().to_string())
    }
}

/// Whisper's decoder context: prompt and output together fit in 448 tokens.
const MAX_TOKENS: usize = 448;

/// A transcript's words, lower-cased, punctuation dropped.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether a transcript loops: a phrase of 2 to 8 words said twice in a row ("press 1, press 1"),
/// or one word four times in a row. Real greetings and menus do neither; decoder loops do.
fn repeats_itself(text: &str) -> bool {
    let words = words(text);
    (1..=8).any(|n| {
        let times = if n == 1 { 4 } else { 2 };
        words.len() >= n * times
            && (0..=words.len() - n * times)
                .any(|i| (1..times).all(|k| words[i..i + n] == words[i + k * n..i + (k + 1) * n]))
    })
}

/// The menu options of [`INITIAL_PROMPT`] (its sentences that say "press"), as normalised words.
fn prompt_options() -> Vec<Vec<String>> {
    INITIAL_PROMPT
        .split(['.', '?'])
        .map(words)
        .filter(|sentence| sentence.iter().any(|w| w == "press"))
        .collect()
}

/// Whether the only menu option in a transcript is one of the prompt's own: on audio it cannot
/// make out, tiny.en continues the prompt's pattern ("Main Street Clinic. For appointments, press
/// 1."), and one such phrase would make a person's greeting read as a menu — the costliest
/// error, since Switchboard would then press keys at a receptionist. A menu that also names
/// other keys is taken as heard.
fn echoes_prompt_options(text: &str) -> bool {
    let words: Vec<String> = words(text)
        .into_iter()
        .map(|w| match w.as_str() {
            "one" => "1".to_string(),
            "zero" | "oh" => "0".to_string(),
            _ => w,
        })
        .collect();
    let mut echoed = vec![false; words.len()];
    let mut any = false;
    for option in prompt_options() {
        for i in 0..words.len().saturating_sub(option.len() - 1) {
            if words[i..i + option.len()]
                .iter()
                .zip(&option)
                .all(|(w, o)| w == o)
            {
                echoed[i..i + option.len()]
                    .iter_mut()
                    .for_each(|e| *e = true);
                any = true;
            }
        }
    }
    any && !words
        .iter()
        .zip(&echoed)
        .any(|(w, e)| !e && matches!(w.as_str(), "press" | "dial" | "oprima" | "option"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_echo_of_the_prompts_options_is_recognised_and_real_menus_are_not() {
        assert!(echoes_prompt_options(
            "Main Street Clinic. For appointments, press 1."
        ));
        assert!(echoes_prompt_options(
            "Hello? For the operator, press zero."
        ));
        assert!(echoes_prompt_options(
            "For appointments, press one. For the operator, press 0."
        ));
        // Other keys named too: a menu, whatever else it says.
        assert!(!echoes_prompt_options(
            "For billing, press 2. For appointments, press 1."
        ));
        assert!(!echoes_prompt_options("For scheduling, press 3."));
        assert!(!echoes_prompt_options(
            "Thank you for calling the clinic. How can I help you?"
        ));
        assert!(!echoes_prompt_options(""));
    }

    #[test]
    fn decoder_loops_are_recognised_and_menus_are_not() {
        assert!(repeats_itself("Press 1, press 1, press 1, press 1"));
        assert!(repeats_itself("Press 1, press 1."));
        assert!(repeats_itself("We have many calls. We have many calls."));
        assert!(repeats_itself("1, 2, 3, 3, 4, 3, 4, 3, 4"));
        assert!(repeats_itself("left left left left"));
        assert!(!repeats_itself(
            "For the pharmacy, press 3. For the pharmacy, press 9. To speak with a receptionist, press 4."
        ));
        assert!(!repeats_itself("Hello? Hello?"));
        assert!(!repeats_itself(
            "Good morning, front desk. This is Anna speaking. How can I help you?"
        ));
        assert!(!repeats_itself(""));
    }

    #[test]
    fn transcriber_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<WhisperTranscriber>();
    }

    #[test]
    fn a_missing_model_is_reported_by_file_without_panicking() {
        let dir = std::env::temp_dir().join("switchboard-speech-no-model");
        let err = WhisperTranscriber::load(&dir, 1).unwrap_err();
        assert!(matches!(err, SpeechError::Model(_)));
        assert!(err.to_string().contains("model.bin"), "{err}");
    }
}

//! Measures the offline Whisper backend on the labelled corpus: model load time, transcription
//! time per clip, peak memory, and how often a menu's transcript names the right "press N".
//!
//! ```sh
//! bash scripts/fetch_whisper_model.sh
//! cargo run -p switchboard-speech --release --features whisper --example whisper_eval -- [OPTIONS]
//! ```
//!
//! Options: `--corpus DIR` (default: the repository's `corpus/`), `--model DIR` (default:
//! `switchboard_speech::default_model_dir()`), `--threads N` (default 0: CTranslate2's choice),
//! `--verbose` (print every transcript), `--menus-only` (skip the people), `--bench FILE --runs
//! N` (only time FILE, a raw µ-law clip, N times and print the median; no corpus run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchboard_speech::{WhisperTranscriber, default_model_dir};

struct Args {
    corpus: PathBuf,
    model: PathBuf,
    threads: usize,
    verbose: bool,
    bench: Option<PathBuf>,
    runs: usize,
    menus_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        corpus: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus"),
        model: default_model_dir(),
        threads: 0,
        verbose: false,
        bench: None,
        runs: 5,
        menus_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--corpus" => args.corpus = value()?.into(),
            "--model" => args.model = value()?.into(),
            "--threads" => {
                args.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?
            }
            "--bench" => args.bench = Some(value()?.into()),
            "--runs" => args.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--verbose" => args.verbose = true,
            "--menus-only" => args.menus_only = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("whisper_eval: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let whisper = match WhisperTranscriber::load(&args.model, args.threads) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("whisper_eval: {e}");
            std::process::exit(2);
        }
    };
    let load = started.elapsed();
    println!(
        "model load: {:.3} s ({})",
        load.as_secs_f64(),
        args.model.display()
    );

    match &args.bench {
        Some(file) => bench(&whisper, file, args.runs),
        None => evaluate(&whisper, &args),
    }
    println!("peak RSS: {} MB", peak_rss_kb() / 1024);
}

fn bench(whisper: &WhisperTranscriber, file: &Path, runs: usize) {
    let ulaw = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut text = String::new();
    for _ in 0..runs.max(1) {
        let (t, c) = (Instant::now(), cpu_time());
        text = whisper
            .transcribe_ulaw(&ulaw)
            .expect("transcription failed");
        times.push(t.elapsed());
        cpu.push(cpu_time().saturating_sub(c));
    }
    times.sort();
    cpu.sort();
    println!(
        "{}: {:.2} s of audio, transcribe wall median {:.3} s (min {:.3}, max {:.3}), CPU median {:.2} s, {} runs\n  {text}",
        file.display(),
        ulaw.len() as f64 / 8000.0,
        median(&times).as_secs_f64(),
        times[0].as_secs_f64(),
        times[times.len() - 1].as_secs_f64(),
        median(&cpu).as_secs_f64(),
        times.len()
    );
}

/// User plus system CPU time of this process so far (Linux `/proc/self/stat`, 100 ticks a second).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

#[derive(Default)]
struct Tally {
    clips: usize,
    said_press: usize,
    right_digit: usize,
}

fn evaluate(whisper: &WhisperTranscriber, args: &Args) {
    let labels: Vec<serde_json::Value> = serde_json::from_slice(
        &std::fs::read(args.corpus.join("labels.json")).expect("corpus/labels.json"),
    )
    .expect("labels.json is JSON");

    let mut menus: BTreeMap<String, Tally> = BTreeMap::new();
    let mut people = Tally::default();
    let mut people_words = (0usize, 0usize); // (found, expected) key words
    let mut times = Vec::new();
    for label in &labels {
        let file = label["file"].as_str().expect("file");
        let class = label["classification"].as_str().unwrap_or("");
        let digit = label["digit"].as_str();
        if digit.is_none() && (class != "human" || args.menus_only) {
            continue;
        }
        let ulaw = std::fs::read(args.corpus.join("clips").join(file)).expect("clip");
        let t = Instant::now();
        let text = whisper
            .transcribe_ulaw(&ulaw)
            .expect("transcription failed");
        times.push(t.elapsed());
        let words = normalise(&text);
        let snr = match label["snr_db"].as_i64() {
            Some(db) => format!("{db} dB"),
            None => "clean".to_string(),
        };
        let said_press = words.iter().any(|w| w == "press");
        match digit {
            Some(d) => {
                let right = says_press(&words, d);
                for key in [
                    "all".to_string(),
                    snr.clone(),
                    label["menu_kind"].as_str().unwrap_or("?").to_string(),
                ] {
                    let tally = menus.entry(key).or_default();
                    tally.clips += 1;
                    tally.said_press += said_press as usize;
                    tally.right_digit += right as usize;
                }
                println!(
                    "{file:<20} {snr:>6} press {d}: {}",
                    if right { "yes" } else { "NO" }
                );
            }
            None => {
                people.clips += 1;
                people.said_press += said_press as usize;
                let expected = normalise(label["text"].as_str().unwrap_or(""));
                let found = expected.iter().filter(|w| words.contains(w)).count();
                people_words.0 += found;
                people_words.1 += expected.len();
                println!(
                    "{file:<20} {snr:>6} person: {found}/{} words",
                    expected.len()
                );
            }
        }
        if args.verbose {
            println!("    {text}");
        }
    }

    times.sort();
    println!("\nmenus with an expected digit: transcript says \"press\" / says \"press <digit>\"");
    for (key, t) in &menus {
        println!(
            "  {key:<18} {:>3} clips  press {:>3} ({:>3.0} %)  right digit {:>3} ({:>3.0} %)",
            t.clips,
            t.said_press,
            pct(t.said_press, t.clips),
            t.right_digit,
            pct(t.right_digit, t.clips)
        );
    }
    println!(
        "people: {} clips, {} with \"press\" in the transcript, {}/{} words of the greeting found ({:.0} %)",
        people.clips,
        people.said_press,
        people_words.0,
        people_words.1,
        pct(people_words.0, people_words.1)
    );
    println!(
        "transcribe time per clip: median {:.3} s, max {:.3} s over {} clips",
        median(&times).as_secs_f64(),
        times.last().copied().unwrap_or_default().as_secs_f64(),
        times.len()
    );
}

/// Lower-case words with punctuation removed and number words turned into digits.
fn normalise(text: &str) -> Vec<String> {
    const NUMBERS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            match NUMBERS.iter().position(|n| *n == w) {
                Some(d) => d.to_string(),
                None => w,
            }
        })
        .collect()
}

/// Whether the words contain "press <digit>".
fn says_press(words: &[String], digit: &str) -> bool {
    words.windows(2).any(|w| w[0] == "press" && w[1] == digit)
}

fn pct(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

fn median(sorted: &[Duration]) -> Duration {
    if sorted.is_empty() {
        Duration::ZERO
    } else {
        sorted[sorted.len() / 2]
    }
}

/// Peak resident set size of this process (Linux `VmHWM`), in kB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

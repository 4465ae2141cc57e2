//! Call-progress and special tones: ringback, busy, reorder, SIT, voicemail beep, fax, music.

use crate::dsp::{
    FFT_N, FULL_SCALE, Fft256, Reblocker, db, energy, goertzel_bank, goertzel_coef, hann,
    parabolic_offset, to_f32,
};
use crate::{AudioEvent, Frame, SAMPLES_PER_MS, Stage, ToneKind};
use std::collections::VecDeque;

/// Analysis hop: one 20 ms frame.
const HOP: usize = 160;
/// Window for the dual-tone Goertzel bank: 50 ms, so 440/480/620 Hz and their ±20 Hz guard
/// frequencies all sit on the 20 Hz grid of a 400-sample block, where a rectangular window makes
/// them exactly orthogonal (440 + 480 Hz is only 40 Hz wide).
const HIST: usize = 400;
/// Dual-tone bank: 420, 440, 460, 480, 500, 600, 620, 640 Hz.
const DUAL_FREQS: [f32; 8] = [420.0, 440.0, 460.0, 480.0, 500.0, 600.0, 620.0, 640.0];
const F420: usize = 0;
const F440: usize = 1;
const F460: usize = 2;
const F480: usize = 3;
const F500: usize = 4;
const F600: usize = 5;
const F620: usize = 6;
const F640: usize = 7;
/// Per-tone amplitude floor for all tones (≈ −48 dBFS); call-progress tones are sent at −13 to
/// −24 dBm0.
const MIN_AMP: f32 = 130.0 / FULL_SCALE;
/// Guard frequencies (±20 Hz) may hold at most 25 % of the tone's energy: a real 440 + 480 Hz
/// pair leaves them empty, a single tone between the two (or speech) does not. Tolerates tones
/// about ±1 % off nominal.
const GUARD: f32 = 0.25;
/// The pair must hold 60 % of the window energy.
const DUAL_MIN_RATIO: f32 = 0.6;
const DUAL_MAX_TWIST_DB: f32 = 10.0;
/// Single tone: within ±3 FFT bins (±94 Hz) of the peak lies 85 % of the energy ...
const SINGLE_MIN_CONCENTRATION: f32 = 0.85;
/// ... no other bin comes within 20 dB of the peak (rejects DTMF pairs, even twisted ones, and
/// harmonic sounds) ...
const SINGLE_MAX_OTHER: f32 = 0.01;
/// ... and the level is steady within the frame (four 5 ms sub-blocks within 4 dB), which
/// rejects unresolved close pairs, whose beating swings the level.
const STEADY_MAX_RATIO: f32 = 2.5;
const SINGLE_MIN_HZ: f32 = 300.0;
const SINGLE_MAX_HZ: f32 = 2200.0;
/// A single-tone segment continues while each frame stays within 1.5 % of its mean frequency.
const FREQ_TOLERANCE: f32 = 0.015;
/// Frames without the tone bridged inside a segment (e.g. a CED phase reversal).
const MAX_MISSES: u32 = 2;

const fn ms(v: u64) -> u64 {
    v * SAMPLES_PER_MS
}
/// Ringback: each 440 + 480 Hz burst of at least 0.8 s (North America: 2 s).
const RINGBACK_MIN: u64 = ms(800);
/// Busy (0.5/0.5 s) and reorder (0.25/0.25 s) are told apart by their on and off times.
const BUSY_ON: (u64, u64) = (ms(350), ms(750));
const REORDER_ON: (u64, u64) = (ms(150), ms(349));
/// SIT: three single tones, each 274 or 380 ms nominally, back to back.
const SIT_FREQS: [&[f32]; 3] = [&[913.8, 985.2], &[1370.6, 1428.5], &[1776.7]];
const SIT_DURATION: (u64, u64) = (ms(200), ms(480));
const SIT_MAX_GAP: u64 = ms(100);
const SIT_FREQ_TOLERANCE: f32 = 0.015;
/// Beep: stable single tone 440–2000 Hz lasting 150 ms–2 s (±the ~10 ms edge precision), with
/// no other single tone within 200 ms either side (so a pure-tone melody is not a string of
/// beeps).
const BEEP_HZ: (f32, f32) = (435.0, 2020.0);
const BEEP_DURATION: (u64, u64) = (ms(140), ms(2100));
const BEEP_MAX_SPREAD: f32 = 0.02;
const BEEP_ISOLATION: u64 = ms(200);
/// Fax CNG: 1100 Hz ± 38 Hz, 0.5 s on, 3 s off; recognised on the second burst.
const CNG_HZ: f32 = 1100.0;
const CNG_TOLERANCE: f32 = 0.035;
const CNG_ON: (u64, u64) = (ms(350), ms(800));
const CNG_OFF: (u64, u64) = (ms(2500), ms(4000));
/// Fax CED: 2100 Hz ± 15 Hz answer tone for at least 1 s (nominally 2.6–4 s).
const CED_HZ: f32 = 2100.0;
const CED_TOLERANCE: f32 = 0.015;
const CED_MIN: u64 = ms(1000);
/// Segments waiting for context are few; more than this means garbage, drop the oldest.
const MAX_PENDING: usize = 8;

/// Music: judged over a sliding 3 s window of 20 ms frames.
const MUSIC_FRAMES: usize = 150;
/// At least 80 % of the frames must be tonal (stable spectral peaks carry half the energy).
const MUSIC_MIN_TONAL: f32 = 0.8;
/// On average at least 2 stable peaks per tonal frame ...
const MUSIC_MIN_PEAKS: f32 = 2.0;
/// ... and either 3 or more, or the notes change (≥ 10 frames whose main peak was absent
/// 200 ms earlier): a steady two-tone signal is not music.
const MUSIC_RICH_PEAKS: f32 = 3.0;
const MUSIC_MIN_CHANGES: usize = 10;
const CHANGE_LAG: usize = 10;
/// Syllabic modulation: the 2–8 Hz component of the level envelope relative to its mean (the AM
/// depth) must stay below 0.25. Speech is modulated almost fully at ~4 Hz; sustained music is not.
const MUSIC_MAX_MODULATION: f32 = 0.25;
/// Music ends after 1 s of failing the test.
const MUSIC_RELEASE_FRAMES: u32 = 50;
const MUSIC_MIN_DBFS: f32 = -50.0;
/// Spectral peak: within 30 dB of the strongest, 9 dB above the bins two away.
const PEAK_RANGE: f32 = 1e-3;
const PEAK_PROMINENCE: f32 = 8.0;
const MAX_PEAKS: usize = 24;

/// One analysis frame's view of a tone.
#[derive(Clone, Copy, Default)]
struct Obs {
    /// Sample index of the analysis window's centre.
    center: u64,
    level: f32,
    freq: f32,
}

/// An open run of frames showing the same tone. Keeps only its first and last few frames, so a
/// tone that never stops costs nothing.
#[derive(Clone, Copy)]
struct Seg {
    first: [Obs; 4],
    nfirst: usize,
    last: [Obs; 4],
    nlast: usize,
    max_level: f32,
    freq_sum: f64,
    freq_n: u32,
    fmin: f32,
    fmax: f32,
    misses: u32,
}

/// A finished tone segment, in samples of media time.
#[derive(Clone, Copy, Debug)]
struct Closed {
    start: u64,
    end: u64,
    freq: f32,
    spread: f32,
}

impl Closed {
    fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

impl Seg {
    fn new(o: Obs) -> Self {
        Self {
            first: [o; 4],
            nfirst: 1,
            last: [o; 4],
            nlast: 1,
            max_level: o.level,
            freq_sum: f64::from(o.freq),
            freq_n: 1,
            fmin: o.freq,
            fmax: o.freq,
            misses: 0,
        }
    }

    fn mean_freq(&self) -> f32 {
        (self.freq_sum / f64::from(self.freq_n.max(1))) as f32
    }

    fn add(&mut self, o: Obs) {
        self.misses = 0;
        if self.nfirst < 4 {
            self.first[self.nfirst] = o;
            self.nfirst += 1;
        }
        self.last[self.nlast % 4] = o;
        self.nlast += 1;
        self.max_level = self.max_level.max(o.level);
        if o.level >= 0.5 * self.max_level {
            self.freq_sum += f64::from(o.freq);
            self.freq_n += 1;
            self.fmin = self.fmin.min(o.freq);
            self.fmax = self.fmax.max(o.freq);
        }
    }

    /// Trims edge frames whose window was less than half filled by the tone (level under half
    /// the peak), so the segment spans from the first to the last window centred on the tone.
    fn close(&self) -> Option<Closed> {
        let thr = 0.5 * self.max_level;
        let first = &self.first[..self.nfirst];
        let start_center = first.iter().find(|o| o.level >= thr).map_or(
            first[first.len() - 1].center.saturating_add(HOP as u64),
            |o| o.center,
        );
        let n = self.nlast.min(4);
        let mut recent = (0..n).map(|i| self.last[(self.nlast - 1 - i) % 4]);
        let oldest = self.last[(self.nlast - n) % 4];
        let end_center = recent
            .find(|o| o.level >= thr)
            .map_or(oldest.center.saturating_sub(HOP as u64), |o| o.center);
        let start = start_center.saturating_sub(HOP as u64 / 2);
        let end = end_center.saturating_add(HOP as u64 / 2);
        let freq = self.mean_freq();
        (end > start).then(|| Closed {
            start,
            end,
            freq,
            spread: if freq > 0.0 {
                (self.fmax - self.fmin) / freq
            } else {
                0.0
            },
        })
    }
}

/// Turns per-frame observations into closed segments.
struct Track {
    seg: Option<Seg>,
    by_freq: bool,
}

impl Track {
    fn new(by_freq: bool) -> Self {
        Self { seg: None, by_freq }
    }

    fn observe(&mut self, obs: Option<Obs>) -> Option<Closed> {
        match (obs, &mut self.seg) {
            (Some(o), Some(s)) => {
                let mean = s.mean_freq();
                if !self.by_freq || (o.freq - mean).abs() <= FREQ_TOLERANCE * mean {
                    s.add(o);
                    None
                } else {
                    let closed = s.close();
                    self.seg = Some(Seg::new(o));
                    closed
                }
            }
            (Some(o), None) => {
                self.seg = Some(Seg::new(o));
                None
            }
            (None, Some(s)) => {
                s.misses += 1;
                if s.misses > MAX_MISSES {
                    self.close_now()
                } else {
                    None
                }
            }
            (None, None) => None,
        }
    }

    fn close_now(&mut self) -> Option<Closed> {
        self.seg.take().and_then(|s| s.close())
    }

    /// Approximate start time of the open segment.
    fn open_start(&self) -> Option<u64> {
        self.seg
            .as_ref()
            .map(|s| s.first[0].center.saturating_sub(HOP as u64 / 2))
    }
}

/// A busy/reorder cadence in progress.
struct Cadence {
    kind: ToneKind,
    first_start: u64,
    last_end: u64,
    recognised: bool,
}

/// Per-frame music features.
#[derive(Clone, Copy)]
struct MusicFrame {
    center: u64,
    tonal: bool,
    stable: u8,
    change: bool,
    env: f32,
}

type Peaks = ([u8; MAX_PEAKS], usize);

struct Music {
    frames: VecDeque<MusicFrame>,
    /// Running totals over `frames`: tonal frames, their stable peaks, changes.
    tonal: usize,
    tonal_peaks: usize,
    changes: usize,
    /// Peak bins of the last `CHANGE_LAG + 1` frames, newest last.
    peaks: VecDeque<Peaks>,
    active: bool,
    failing: u32,
    env_coefs: [f32; 13],
}

impl Music {
    fn new() -> Self {
        Self {
            frames: VecDeque::with_capacity(MUSIC_FRAMES + 1),
            tonal: 0,
            tonal_peaks: 0,
            changes: 0,
            peaks: VecDeque::with_capacity(CHANGE_LAG + 2),
            active: false,
            failing: 0,
            // 2, 2.5, … 8 Hz on the 50 Hz frame-rate envelope.
            env_coefs: std::array::from_fn(|i| {
                2.0 * (2.0 * std::f32::consts::PI * (2.0 + 0.5 * i as f32) / 50.0).cos()
            }),
        }
    }

    fn reset(&mut self) {
        self.frames.clear();
        (self.tonal, self.tonal_peaks, self.changes) = (0, 0, 0);
        self.peaks.clear();
        self.active = false;
        self.failing = 0;
    }

    /// Depth of 2–8 Hz amplitude modulation of the envelope (1.0 = fully modulated sine AM).
    fn modulation(&self) -> f32 {
        let n = self.frames.len() as f32;
        let mean = self.frames.iter().map(|f| f.env).sum::<f32>() / n;
        if mean <= 0.0 {
            return 0.0;
        }
        let mut x = [0.0f32; MUSIC_FRAMES];
        for (o, f) in x.iter_mut().zip(&self.frames) {
            *o = f.env - mean;
        }
        goertzel_bank(&x[..self.frames.len()], &self.env_coefs)
            .iter()
            .map(|&p| 2.0 * p.sqrt() / (n * mean))
            .fold(0.0, f32::max)
    }

    /// Adds one frame; returns the window's start when music is first recognised.
    fn push(&mut self, center: u64, p: &[f32; FFT_N / 2 + 1], frame_energy: f32) -> Option<u64> {
        let total: f32 = p[1..FFT_N / 2].iter().sum();
        let pmax = p[2..=120].iter().copied().fold(0.0, f32::max);
        let mut peaks: Peaks = ([0; MAX_PEAKS], 0);
        for k in 3..=118 {
            let v = p[k];
            if v > p[k - 1]
                && v >= p[k + 1]
                && v >= PEAK_RANGE * pmax
                && v >= PEAK_PROMINENCE * p[k - 2]
                && v >= PEAK_PROMINENCE * p[k + 2]
                && peaks.1 < MAX_PEAKS
            {
                peaks.0[peaks.1] = k as u8;
                peaks.1 += 1;
            }
        }
        let near = |set: &Peaks, k: u8| set.0[..set.1].iter().any(|&j| j.abs_diff(k) <= 1);
        let mut stable = 0u8;
        let mut stable_energy = 0.0;
        let mut strongest: Option<u8> = None;
        if let Some(prev) = self.peaks.back() {
            for &k in &peaks.0[..peaks.1] {
                if near(prev, k) {
                    stable += 1;
                    let k = usize::from(k);
                    stable_energy += p[k - 1] + p[k] + p[k + 1];
                    if strongest.is_none_or(|s| p[k] > p[usize::from(s)]) {
                        strongest = Some(k as u8);
                    }
                }
            }
        }
        let level_db = db(frame_energy / HOP as f32, 1.0);
        let tonal = level_db >= MUSIC_MIN_DBFS && stable >= 1 && stable_energy >= 0.5 * total;
        let change = tonal
            && self.peaks.len() > CHANGE_LAG
            && strongest.is_some_and(|s| {
                let old = &self.peaks[self.peaks.len() - 1 - CHANGE_LAG];
                old.1 > 0 && !near(old, s)
            });
        self.peaks.push_back(peaks);
        if self.peaks.len() > CHANGE_LAG + 1 {
            self.peaks.pop_front();
        }
        let frame = MusicFrame {
            center,
            tonal,
            stable,
            change,
            env: (frame_energy / HOP as f32).sqrt(),
        };
        self.count(&frame, true);
        self.frames.push_back(frame);
        if self.frames.len() > MUSIC_FRAMES
            && let Some(old) = self.frames.pop_front()
        {
            self.count(&old, false);
        }
        if self.frames.len() < MUSIC_FRAMES {
            return None;
        }
        let ok = self.judge();
        let mut recognised = None;
        if ok {
            self.failing = 0;
            if !self.active {
                self.active = true;
                // From the first tonal frame: the window may begin with a little silence.
                recognised = self.frames.iter().find(|f| f.tonal).map(|f| f.center);
            }
        } else if self.active {
            self.failing += 1;
            if self.failing >= MUSIC_RELEASE_FRAMES {
                self.active = false;
            }
        }
        recognised
    }

    /// Adds (or removes) a frame to the running totals.
    fn count(&mut self, f: &MusicFrame, add: bool) {
        let apply = |total: &mut usize, v: usize| {
            *total = if add { *total + v } else { *total - v };
        };
        if f.tonal {
            apply(&mut self.tonal, 1);
            apply(&mut self.tonal_peaks, usize::from(f.stable));
        }
        apply(&mut self.changes, usize::from(f.change));
    }

    fn judge(&self) -> bool {
        let n = self.frames.len() as f32;
        if (self.tonal as f32) < MUSIC_MIN_TONAL * n || self.tonal == 0 {
            return false;
        }
        let peaks = self.tonal_peaks as f32 / self.tonal as f32;
        peaks >= MUSIC_MIN_PEAKS
            && (peaks >= MUSIC_RICH_PEAKS || self.changes >= MUSIC_MIN_CHANGES)
            && self.modulation() < MUSIC_MAX_MODULATION
    }
}

/// Call-progress and special tones.
///
/// Every 20 ms it looks at the audio two ways:
/// * a Goertzel bank over the last 50 ms at 440/480/620 Hz plus empty-guard frequencies ±20 Hz
///   away finds the North American dual tones (ringback 440+480, busy/reorder 480+620);
/// * a 256-point Hann FFT over the last 32 ms finds a single dominant steady tone and its
///   frequency (±2 Hz), and feeds the music features.
///
/// Frames showing the same tone form segments whose edges are trimmed to where the analysis
/// window is at least half filled (±10–20 ms). Segments are then classified:
/// * `Ringback` per 440+480 burst ≥ 0.8 s, when it ends;
/// * `Busy` / `Reorder` once two bursts and the pause between them match 0.5/0.5 s or
///   0.25/0.25 s (once per cadence);
/// * `Sit` when 913.8|985.2 → 1370.6|1428.5 → 1776.7 Hz follow each other (200–480 ms each);
/// * `Fax` on CED (2100 Hz ≥ 1 s) or on the second CNG burst (1100 Hz, 0.5 s, 3 s apart);
/// * `Beep` for any other stable single tone 440–2000 Hz of 150 ms–2 s with no other single tone
///   within 200 ms either side. A lone 1100 Hz burst is held 4 s (it may be CNG) and a first SIT
///   tone 100 ms, so those beeps come late, with their true `at_ms`;
/// * `Music` when, over 3 s, ≥ 80 % of frames have stable spectral peaks carrying half the
///   energy, with ≥ 2 such peaks on average and either ≥ 3 or changing notes, and the level
///   envelope has < 25 % modulation at 2–8 Hz (speech is syllabic; music is sustained). Emitted
///   once when recognised, its duration covering the evidence (up to 3 s); re-armed after 1 s
///   without.
pub struct ToneDetector {
    blocks: Reblocker<HOP>,
    hist: [f32; HIST],
    fft: Fft256,
    window: [f32; FFT_N],
    window_power: f32,
    dual_coefs: [f32; 8],
    ring: Track,
    busy: Track,
    single: Track,
    cadence: Option<Cadence>,
    pending: VecDeque<Closed>,
    last_single_end: Option<u64>,
    cng_last_end: Option<u64>,
    music: Music,
    now: u64,
    active: bool,
}

impl Default for ToneDetector {
    fn default() -> Self {
        Self::new()
    }
}

enum SitState {
    Complete,
    Waiting,
    Failed,
}

fn near(f: f32, nominal: f32, tolerance: f32) -> bool {
    (f - nominal).abs() <= tolerance * nominal
}

fn sit_stage_matches(stage: usize, s: &Closed) -> bool {
    SIT_FREQS[stage]
        .iter()
        .any(|&f| near(s.freq, f, SIT_FREQ_TOLERANCE))
        && (SIT_DURATION.0..=SIT_DURATION.1).contains(&s.duration())
}

fn is_cng(s: &Closed) -> bool {
    near(s.freq, CNG_HZ, CNG_TOLERANCE) && (CNG_ON.0..=CNG_ON.1).contains(&s.duration())
}

fn tone(tone: ToneKind, start: u64, end: u64, freq_hz: Option<f32>) -> AudioEvent {
    AudioEvent::Tone {
        at_ms: start / SAMPLES_PER_MS,
        tone,
        duration_ms: end.saturating_sub(start) / SAMPLES_PER_MS,
        freq_hz,
    }
}

impl ToneDetector {
    /// A detector with empty history.
    pub fn new() -> Self {
        let window = hann::<FFT_N>();
        Self {
            blocks: Reblocker::new(),
            hist: [0.0; HIST],
            fft: Fft256::new(),
            window_power: window.iter().map(|w| w * w).sum(),
            window,
            dual_coefs: DUAL_FREQS.map(goertzel_coef),
            ring: Track::new(false),
            busy: Track::new(false),
            single: Track::new(true),
            cadence: None,
            pending: VecDeque::new(),
            last_single_end: None,
            cng_last_end: None,
            music: Music::new(),
            now: 0,
            active: false,
        }
    }

    /// Whether the last pushed frame showed a tone (or music is playing): used to mask the VAD.
    pub fn is_active(&self) -> bool {
        self.active
    }

    fn hop(&mut self, start: u64, x: &[i16; HOP], out: &mut Vec<AudioEvent>) {
        let xf = to_f32(x);
        self.hist.copy_within(HOP.., 0);
        self.hist[HIST - HOP..].copy_from_slice(&xf);
        let end = start.saturating_add(HOP as u64);

        // Dual tones (rectangular 400-sample Goertzel: energy of each component in the window).
        let window_energy = energy(&self.hist);
        let e = goertzel_bank(&self.hist, &self.dual_coefs).map(|p| 2.0 * p / HIST as f32);
        let amp = |i: usize| (2.0 * e[i] / HIST as f32).sqrt();
        let pair = |a: usize, b: usize| {
            amp(a) >= MIN_AMP
                && amp(b) >= MIN_AMP
                && db(e[a], e[b]).abs() <= DUAL_MAX_TWIST_DB
                && e[a] + e[b] >= DUAL_MIN_RATIO * window_energy
        };
        let ring_flag = pair(F440, F480)
            && e[F420] <= GUARD * e[F440]
            && e[F500] <= GUARD * e[F480]
            && e[F460] <= GUARD * e[F440].max(e[F480])
            && e[F620] <= GUARD * e[F480];
        let busy_flag = pair(F480, F620)
            && e[F460] <= GUARD * e[F480]
            && e[F500] <= GUARD * e[F480]
            && e[F600] <= GUARD * e[F620]
            && e[F640] <= GUARD * e[F620]
            && e[F440] <= GUARD * e[F480];

        // Spectrum of the last 32 ms.
        let mut w = [0.0f32; FFT_N];
        for ((o, h), win) in w
            .iter_mut()
            .zip(&self.hist[HIST - FFT_N..])
            .zip(&self.window)
        {
            *o = h * win;
        }
        let p = self.fft.power(&w);
        let single = if ring_flag || busy_flag {
            None
        } else {
            self.single_tone(&p, &xf)
        };

        let dual_center = end.saturating_sub(HIST as u64 / 2);
        let single_center = end.saturating_sub(FFT_N as u64 / 2);
        self.now = single_center;
        let obs = |flag: bool, a: usize, b: usize| {
            flag.then(|| Obs {
                center: dual_center,
                level: amp(a).min(amp(b)),
                freq: 0.0,
            })
        };
        if let Some(c) = self.ring.observe(obs(ring_flag, F440, F480)) {
            self.on_ringback(c, out);
        }
        if let Some(c) = self.busy.observe(obs(busy_flag, F480, F620)) {
            self.on_busy(c, out);
        }
        let single_obs = single.map(|(freq, level)| Obs {
            center: single_center,
            level,
            freq,
        });
        if let Some(c) = self.single.observe(single_obs) {
            self.pending.push_back(c);
        }
        self.resolve(out, false);
        if let Some(c) = &self.cadence
            && dual_center > c.last_end.saturating_add(2 * BUSY_ON.1)
        {
            self.cadence = None;
        }

        if let Some(at) = self.music.push(single_center, &p, energy(&xf)) {
            let from = at.saturating_sub(HOP as u64 / 2);
            out.push(tone(
                ToneKind::Music,
                from,
                single_center.saturating_add(HOP as u64 / 2),
                None,
            ));
        }
        self.active |= ring_flag || busy_flag || single.is_some() || self.music.active;
    }

    /// (frequency, amplitude) when the spectrum shows one steady dominant tone.
    fn single_tone(&self, p: &[f32; FFT_N / 2 + 1], x: &[f32; HOP]) -> Option<(f32, f32)> {
        let total: f32 = p[1..FFT_N / 2].iter().sum();
        let k = (9..=72).max_by(|&a, &b| p[a].total_cmp(&p[b]))?;
        let (lo, hi) = (k - 3, k + 3);
        let tone_power: f32 = p[lo..=hi].iter().sum();
        let other = p[1..lo]
            .iter()
            .chain(&p[hi + 1..FFT_N / 2])
            .copied()
            .fold(0.0, f32::max);
        if total <= 0.0
            || tone_power < SINGLE_MIN_CONCENTRATION * total
            || other > SINGLE_MAX_OTHER * p[k]
        {
            return None;
        }
        let sub: [f32; 4] = std::array::from_fn(|i| energy(&x[i * 40..(i + 1) * 40]));
        let (smin, smax) = sub
            .iter()
            .fold((f32::INFINITY, 0.0f32), |(a, b), &v| (a.min(v), b.max(v)));
        if smax > STEADY_MAX_RATIO * smin + 1e-12 {
            return None;
        }
        // One-sided Parseval: Σ|X|² over the lobe ≈ N·(A²/4)·Σw².
        let amplitude = (4.0 * tone_power / (FFT_N as f32 * self.window_power)).sqrt();
        let freq = (k as f32 + parabolic_offset(p[k - 1], p[k], p[k + 1]))
            * crate::SAMPLE_RATE as f32
            / FFT_N as f32;
        (amplitude >= MIN_AMP && (SINGLE_MIN_HZ..=SINGLE_MAX_HZ).contains(&freq))
            .then_some((freq, amplitude))
    }

    fn on_ringback(&mut self, c: Closed, out: &mut Vec<AudioEvent>) {
        if c.duration() >= RINGBACK_MIN {
            out.push(tone(ToneKind::Ringback, c.start, c.end, None));
        }
    }

    fn on_busy(&mut self, c: Closed, out: &mut Vec<AudioEvent>) {
        let on = c.duration();
        let kind = if (BUSY_ON.0..=BUSY_ON.1).contains(&on) {
            ToneKind::Busy
        } else if (REORDER_ON.0..=REORDER_ON.1).contains(&on) {
            ToneKind::Reorder
        } else {
            self.cadence = None;
            return;
        };
        // The pause matches the burst length for both cadences.
        let (lo, hi) = if kind == ToneKind::Busy {
            BUSY_ON
        } else {
            REORDER_ON
        };
        match &mut self.cadence {
            Some(cad)
                if cad.kind == kind
                    && (lo..=hi).contains(&c.start.saturating_sub(cad.last_end)) =>
            {
                cad.last_end = c.end;
                if !cad.recognised {
                    cad.recognised = true;
                    out.push(tone(kind, cad.first_start, c.end, None));
                }
            }
            _ => {
                self.cadence = Some(Cadence {
                    kind,
                    first_start: c.start,
                    last_end: c.end,
                    recognised: false,
                });
            }
        }
    }

    fn sit_state(&self) -> SitState {
        let mut prev = self.pending[0];
        for stage in 1..3 {
            match self.pending.get(stage) {
                Some(s) => {
                    if sit_stage_matches(stage, s)
                        && s.start <= prev.end.saturating_add(SIT_MAX_GAP)
                    {
                        prev = *s;
                    } else {
                        return SitState::Failed;
                    }
                }
                None => {
                    let deadline = prev.end.saturating_add(SIT_MAX_GAP);
                    let open = self.single.open_start().is_some_and(|o| o <= deadline);
                    return if open || self.now <= deadline {
                        SitState::Waiting
                    } else {
                        SitState::Failed
                    };
                }
            }
        }
        SitState::Complete
    }

    /// Classifies closed single-tone segments once enough context has been seen; `flush` decides
    /// everything with what is known (end of stream).
    fn resolve(&mut self, out: &mut Vec<AudioEvent>, flush: bool) {
        while let Some(&a) = self.pending.front() {
            if sit_stage_matches(0, &a) {
                match self.sit_state() {
                    SitState::Complete => {
                        let last = self.pending[2];
                        out.push(tone(ToneKind::Sit, a.start, last.end, None));
                        self.pending.drain(..3);
                        self.last_single_end = Some(last.end);
                        continue;
                    }
                    SitState::Waiting if !flush => break,
                    _ => {}
                }
            }
            if is_cng(&a) {
                if let Some(le) = self.cng_last_end
                    && a.start <= le.saturating_add(CNG_OFF.1)
                {
                    // Another burst of a fax already reported.
                    self.cng_last_end = Some(a.end);
                    self.pending.pop_front();
                    self.last_single_end = Some(a.end);
                    continue;
                }
                let next = self.pending.iter().skip(1).find(|b| is_cng(b)).copied();
                if let Some(b) = next
                    && (CNG_OFF.0..=CNG_OFF.1).contains(&b.start.saturating_sub(a.end))
                {
                    out.push(tone(ToneKind::Fax, a.start, b.end, Some(a.freq)));
                    self.cng_last_end = Some(a.end);
                    self.pending.pop_front();
                    self.last_single_end = Some(a.end);
                    continue;
                }
                if !flush && self.now <= a.end.saturating_add(CNG_OFF.1) {
                    break; // the next burst may still come
                }
            }
            if near(a.freq, CED_HZ, CED_TOLERANCE) && a.duration() >= CED_MIN {
                out.push(tone(ToneKind::Fax, a.start, a.end, Some(a.freq)));
            } else if (BEEP_HZ.0..=BEEP_HZ.1).contains(&a.freq)
                && (BEEP_DURATION.0..=BEEP_DURATION.1).contains(&a.duration())
                && a.spread <= BEEP_MAX_SPREAD
            {
                let isolated_before = self
                    .last_single_end
                    .is_none_or(|e| a.start > e.saturating_add(BEEP_ISOLATION));
                let next_start = self
                    .pending
                    .get(1)
                    .map(|s| s.start)
                    .or(self.single.open_start());
                let deadline = a.end.saturating_add(BEEP_ISOLATION);
                let isolated_after = match next_start {
                    Some(s) => s > deadline,
                    None if !flush && self.now <= deadline => break,
                    None => true,
                };
                if isolated_before && isolated_after {
                    out.push(tone(ToneKind::Beep, a.start, a.end, Some(a.freq)));
                }
            }
            self.pending.pop_front();
            self.last_single_end = Some(a.end);
        }
        while self.pending.len() > MAX_PENDING {
            if let Some(a) = self.pending.pop_front() {
                self.last_single_end = Some(a.end);
            }
        }
    }

    /// Closes everything and decides with what is known (end of stream or a media-time jump).
    fn flush(&mut self, out: &mut Vec<AudioEvent>) {
        if let Some(c) = self.ring.close_now() {
            self.on_ringback(c, out);
        }
        if let Some(c) = self.busy.close_now() {
            self.on_busy(c, out);
        }
        if let Some(c) = self.single.close_now() {
            self.pending.push_back(c);
        }
        self.resolve(out, true);
        self.pending.clear();
        self.cadence = None;
        self.last_single_end = None;
        self.cng_last_end = None;
        self.music.reset();
    }
}

impl std::fmt::Debug for ToneDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToneDetector")
            .field("active", &self.active)
            .field("music", &self.music.active)
            .finish_non_exhaustive()
    }
}

impl Stage for ToneDetector {
    fn push(&mut self, frame: &Frame) -> Vec<AudioEvent> {
        let mut out = Vec::new();
        self.active = false;
        if self.blocks.sync(frame) {
            self.flush(&mut out);
            self.hist = [0.0; HIST];
        }
        let mut rest = &frame.samples[..];
        while let Some((start, block)) = self.blocks.next_block(&mut rest) {
            self.hop(start, &block, &mut out);
        }
        out
    }

    fn finish(&mut self) -> Vec<AudioEvent> {
        let mut out = Vec::new();
        self.flush(&mut out);
        out
    }
}

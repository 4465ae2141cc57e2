//! DTMF (touch-tone) detection.

use crate::dsp::{
    FULL_SCALE, Reblocker, amplitude, db, energy, goertzel_bank, goertzel_coef, goertzel_power,
    parabolic_offset, to_f32,
};
use crate::{AudioEvent, Frame, SAMPLES_PER_MS, Stage};
use std::f32::consts::PI;

/// Row (low-group) frequencies.
pub(crate) const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// Column (high-group) frequencies.
pub(crate) const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// The (row, column) frequencies of a key, if it is one.
pub(crate) fn key_freqs(digit: char) -> Option<(f32, f32)> {
    let digit = digit.to_ascii_uppercase();
    KEYS.iter().enumerate().find_map(|(r, row)| {
        row.iter()
            .position(|&k| k == digit)
            .map(|c| (ROWS[r], COLS[c]))
    })
}

/// Block length: 10 ms. Short enough that a 40 ms tone fills at least three blocks however it is
/// aligned; the coarse 100 Hz resolution only has to pick the right row and column, because the
/// precise checks run on the whole press afterwards.
const N: usize = 80;
/// Per-tone amplitude floor (≈ −47 dBm0): well under the −25 dBm0 Q.24 must-accept level.
const MIN_TONE_AMP: f32 = 100.0 / FULL_SCALE;
/// Block screen: the chosen row/column must beat the runner-up in its group by 3 dB (amplitude
/// ratio √2); adjacent rows are only 73 Hz apart, so leakage at 10 ms is about −10 dB.
const DOMINANCE: f32 = std::f32::consts::SQRT_2;
/// Block screen twist limits, 3 dB looser than the final ones because a 10 ms Goertzel reads an
/// off-frequency tone up to 1 dB low.
const BLOCK_NORMAL_TWIST_DB: f32 = 11.0;
const BLOCK_REVERSE_TWIST_DB: f32 = 7.0;
/// Block screen: share of the block energy in the two tones.
const BLOCK_MIN_RATIO: f32 = 0.6;
/// A press ends after this many blocks without its digit; one or two (interruptions ≤ ~10 ms
/// plus the blocks they straddle) are bridged so a dropout does not register the key twice.
const MAX_MISSES: u32 = 2;
/// Interior blocks of a press must keep 50 % (−6 dB) of its peak amplitude on both tones: a
/// keypad is steady, a syllable swells and decays. Not tighter: with normal twist, the strong low
/// tone's leakage into the weak high tone's 10 ms bin swings with phase by about ±30 %, and a
/// 70 % limit missed long `*` and `7` presses at 5.5 dB twist (found by tests/detector_props.rs).
/// Blocks next to a dropout are not interior.
const MIN_STEADINESS: f32 = 0.5;
/// Samples captured from the start of a press for the final checks (50 ms).
const CAPTURE: usize = 5 * N;
/// Minimum duration: 37.5 ms, between the must-reject (35 ms) and must-accept (40 ms) points;
/// the duration estimate is good to about ±1 ms, so both sides keep a margin.
const MIN_DURATION_SAMPLES: f32 = 300.0;
/// Final frequency check: scan ±6 % around nominal in 0.5 % steps, accept |deviation| ≤ 2.5 %
/// (midway between Q.24's must-accept 1.5 % and must-reject 3.5 %).
const SCAN_STEPS: i32 = 12;
const SCAN_STEP: f32 = 0.005;
const MAX_DEVIATION: f32 = 0.025;
/// Final twist limits with 0.5 dB margin: normal twist (column weaker) 8 dB, reverse 4 dB.
const NORMAL_TWIST_DB: f32 = 8.5;
const REVERSE_TWIST_DB: f32 = 4.5;
/// Final energy ratio: the two tones must carry 90 % of the (windowed) energy. White noise at
/// 20 dB SNR leaves 99 %; speech spreads its energy over many harmonics (the synthetic vowels
/// that got through a 75 % limit peaked at 86 %).
const MIN_RATIO: f32 = 0.9;
/// Second harmonics must be 12 dB below their fundamental (voiced speech has strong harmonics;
/// a keypad does not).
const MAX_HARMONIC: f32 = 0.25;

/// Goertzel on the 8 DTMF freqs (+2nd harmonics to reject speech).
///
/// Two passes. Every 10 ms block is screened cheaply (8 Goertzel filters: level, row/column
/// dominance, loose twist, energy ratio) and consecutive blocks with the same key form a press.
/// When the press ends it is validated on its first 50 ms with a Hann window: each tone's
/// frequency is measured by scanning ±6 % (so ±1.5 % passes and ±3.5 % fails), twist is
/// measured on those peaks, the two tones must hold 90 % of the energy and their second
/// harmonics must be weak; the press must also hold its level within 3 dB. The duration is
/// estimated to about a millisecond from the tone amplitude in the partial blocks at each edge. One `Dtmf` event per press, emitted when the
/// key is released (≈30 ms later); a pause of ≥ 40 ms always separates two presses.
pub struct DtmfDetector {
    blocks: Reblocker<N>,
    coefs: [f32; 8],
    prev_amps: [f32; 8],
    run: Option<Run>,
    active: bool,
}

struct Run {
    row: usize,
    col: usize,
    first_start: u64,
    pre: (f32, f32),
    first: (f32, f32),
    last_start: u64,
    last: (f32, f32),
    post: Option<(f32, f32)>,
    misses: u32,
    /// Highest block amplitudes of the press (the reference for edges and steadiness).
    max: (f32, f32),
    /// Lowest amplitudes among interior blocks (valid blocks with valid neighbours).
    min_inner: (f32, f32),
    /// The last valid block's amplitudes, if its predecessor was valid too.
    inner_candidate: Option<(f32, f32)>,
    /// Contiguous samples from the first valid block on, up to `CAPTURE`.
    capture: Vec<f32>,
}

impl Run {
    fn new(row: usize, col: usize, start: u64, pre: (f32, f32), a: (f32, f32), x: &[f32]) -> Self {
        let mut capture = Vec::with_capacity(CAPTURE);
        capture.extend_from_slice(x);
        Self {
            row,
            col,
            first_start: start,
            pre,
            first: a,
            last_start: start,
            last: a,
            post: None,
            misses: 0,
            max: a,
            min_inner: (f32::INFINITY, f32::INFINITY),
            inner_candidate: None,
            capture,
        }
    }

    fn extend(&mut self, start: u64, a: (f32, f32)) {
        if let Some(c) = self.inner_candidate {
            self.min_inner = (self.min_inner.0.min(c.0), self.min_inner.1.min(c.1));
        }
        self.inner_candidate = (self.misses == 0).then_some(a);
        self.max = (self.max.0.max(a.0), self.max.1.max(a.1));
        self.last_start = start;
        self.last = a;
        self.post = None;
        self.misses = 0;
    }

    fn miss(&mut self, a: (f32, f32)) {
        if self.post.is_none() {
            self.post = Some(a);
        }
        self.inner_candidate = None;
        self.misses += 1;
    }

    /// Interior blocks hold their level within 3 dB: a keypad is steady, a voice is not.
    fn steady(&self) -> bool {
        let ok = |min: f32, max: f32| !min.is_finite() || min >= MIN_STEADINESS * max;
        ok(self.min_inner.0, self.max.0) && ok(self.min_inner.1, self.max.1)
    }
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfDetector {
    /// A detector with no press in progress.
    pub fn new() -> Self {
        let mut coefs = [0.0; 8];
        for (c, f) in coefs.iter_mut().zip(ROWS.iter().chain(COLS.iter())) {
            *c = goertzel_coef(*f);
        }
        Self {
            blocks: Reblocker::new(),
            coefs,
            prev_amps: [0.0; 8],
            run: None,
            active: false,
        }
    }

    /// Whether the last pushed frame carried DTMF (a press in progress): used to mask the VAD.
    pub fn is_active(&self) -> bool {
        self.active
    }

    fn block(&mut self, start: u64, x: &[i16; N], out: &mut Vec<AudioEvent>) {
        let x = to_f32(x);
        let total = energy(&x);
        let amps = goertzel_bank(&x, &self.coefs).map(|p| amplitude(p, N));
        let digit = screen(&amps, total);
        if let Some(run) = &mut self.run
            && run.capture.len() < CAPTURE
        {
            run.capture.extend_from_slice(&x);
        }
        match (&mut self.run, digit) {
            (None, None) => {}
            (Some(run), Some((r, c))) if run.row == r && run.col == c => {
                run.extend(start, (amps[r], amps[4 + c]));
            }
            (Some(run), None) => {
                run.miss((amps[run.row], amps[4 + run.col]));
                if run.misses > MAX_MISSES {
                    self.finalize(out);
                }
            }
            (_, Some((r, c))) => {
                if let Some(run) = &mut self.run {
                    run.miss((amps[run.row], amps[4 + run.col]));
                }
                self.finalize(out);
                let pre = (self.prev_amps[r], self.prev_amps[4 + c]);
                self.run = Some(Run::new(r, c, start, pre, (amps[r], amps[4 + c]), &x));
            }
        }
        self.active |= digit.is_some() || self.run.is_some();
        self.prev_amps = amps;
    }

    fn finalize(&mut self, out: &mut Vec<AudioEvent>) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        let (ref_row, ref_col) = run.max;
        let frac = |a: (f32, f32)| {
            (
                (a.0 / ref_row).clamp(0.0, 1.0),
                (a.1 / ref_col).clamp(0.0, 1.0),
            )
        };
        let edge = |a: (f32, f32)| {
            let (r, c) = frac(a);
            r.min(c) // a neighbouring press may share one of the tones
        };
        let inner = |a: (f32, f32)| {
            let (r, c) = frac(a);
            0.5 * (r + c)
        };
        let n = N as f32;
        let head = (1.0 - inner(run.first) - edge(run.pre)) * n; // may be negative
        let tail = (inner(run.last) + run.post.map_or(0.0, edge)) * n;
        let start = run.first_start as f64 + f64::from(head);
        let end = run.last_start as f64 + f64::from(tail);
        let duration = (end - start) as f32;
        // Validate on the press itself, not on the blocks after its end.
        let valid_len = (run.last_start.saturating_add(N as u64)).saturating_sub(run.first_start);
        run.capture.truncate(valid_len.min(CAPTURE as u64) as usize);
        if duration < MIN_DURATION_SAMPLES
            || !run.steady()
            || !validate(&run.capture, run.row, run.col)
        {
            return;
        }
        let spm = SAMPLES_PER_MS as f64;
        out.push(AudioEvent::Dtmf {
            at_ms: (start.max(0.0) / spm).round() as u64,
            digit: KEYS[run.row][run.col],
            duration_ms: (f64::from(duration) / spm).round() as u64,
        });
    }
}

/// Cheap per-block screen; returns (row, column) of a plausible key.
fn screen(amps: &[f32; 8], total: f32) -> Option<(usize, usize)> {
    let best = |group: &[f32]| {
        let mut idx: [usize; 4] = [0, 1, 2, 3];
        idx.sort_by(|&a, &b| group[b].total_cmp(&group[a]));
        (idx[0], group[idx[0]], group[idx[1]])
    };
    let (r, ar, ar2) = best(&amps[..4]);
    let (c, ac, ac2) = best(&amps[4..]);
    if ar < MIN_TONE_AMP || ac < MIN_TONE_AMP || ar < DOMINANCE * ar2 || ac < DOMINANCE * ac2 {
        return None;
    }
    let twist = db(ac * ac, ar * ar);
    if !(-BLOCK_NORMAL_TWIST_DB..=BLOCK_REVERSE_TWIST_DB).contains(&twist) {
        return None;
    }
    // A sinusoid of amplitude a holds a²·N/2 of energy over the block.
    let tone_energy = (ar * ar + ac * ac) * N as f32 / 2.0;
    (tone_energy >= BLOCK_MIN_RATIO * total).then_some((r, c))
}

/// Final checks on the captured start of a press (see [`DtmfDetector`]).
fn validate(capture: &[f32], row: usize, col: usize) -> bool {
    let len = capture.len();
    if len < 2 * N {
        return false;
    }
    let w: Vec<f32> = (0..len)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * (i as f32 + 0.5) / len as f32).cos())
        .collect();
    let xw: Vec<f32> = capture.iter().zip(&w).map(|(x, w)| x * w).collect();
    let sum_w: f32 = w.iter().sum();
    let sum_w2: f32 = w.iter().map(|v| v * v).sum();
    let total = energy(&xw);
    let amp = |f: f32| 2.0 * goertzel_power(&xw, goertzel_coef(f)).sqrt() / sum_w;
    let peak = |nominal: f32| -> Option<(f32, f32)> {
        let p: Vec<f32> = (-SCAN_STEPS..=SCAN_STEPS)
            .map(|i| goertzel_power(&xw, goertzel_coef(nominal * (1.0 + SCAN_STEP * i as f32))))
            .collect();
        let k = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]))?;
        if k == 0 || k == p.len() - 1 {
            return None; // still rising at the edge of the scan: far off frequency
        }
        let dev = SCAN_STEP
            * ((k as i32 - SCAN_STEPS) as f32 + parabolic_offset(p[k - 1], p[k], p[k + 1]));
        if dev.abs() > MAX_DEVIATION {
            return None;
        }
        let f = nominal * (1.0 + dev);
        Some((f, amp(f)))
    };
    let (Some((fr, ar)), Some((fc, ac))) = (peak(ROWS[row]), peak(COLS[col])) else {
        return false;
    };
    let twist = db(ac * ac, ar * ar);
    if !(-NORMAL_TWIST_DB..=REVERSE_TWIST_DB).contains(&twist) {
        return false;
    }
    // Windowed energy of a sinusoid of amplitude a: a²/2 · Σw².
    let tone_energy = (ar * ar + ac * ac) / 2.0 * sum_w2;
    if tone_energy < MIN_RATIO * total {
        return false;
    }
    amp(2.0 * fr) <= MAX_HARMONIC * ar && amp(2.0 * fc) <= MAX_HARMONIC * ac
}

impl std::fmt::Debug for DtmfDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtmfDetector")
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl Stage for DtmfDetector {
    fn push(&mut self, frame: &Frame) -> Vec<AudioEvent> {
        let mut out = Vec::new();
        self.active = false;
        if self.blocks.sync(frame) {
            self.finalize(&mut out);
            self.prev_amps = [0.0; 8];
        }
        let mut rest = &frame.samples[..];
        while let Some((start, block)) = self.blocks.next_block(&mut rest) {
            self.block(start, &block, &mut out);
        }
        out
    }

    fn finish(&mut self) -> Vec<AudioEvent> {
        let mut out = Vec::new();
        self.finalize(&mut out);
        out
    }
}

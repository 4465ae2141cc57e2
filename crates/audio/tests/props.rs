//! Property tests: G.711, the framer, and that no stage panics on arbitrary input.

use proptest::prelude::*;
use switchboard_audio::g711::{decode, encode, linear_to_ulaw, ulaw_to_linear};
use switchboard_audio::{
    DtmfDetector, FRAME_SAMPLES, Frame, Framer, FrontEnd, Pipeline, Stage, ToneDetector, Vad,
};

#[test]
fn every_ulaw_code_round_trips_except_negative_zero() {
    for b in 0..=255u8 {
        let back = linear_to_ulaw(ulaw_to_linear(b));
        if b == 0x7F {
            assert_eq!(back, 0xFF, "both zero codes encode as 0xFF");
        } else {
            assert_eq!(back, b, "code {b:#04x}");
        }
    }
    let all: Vec<u8> = (0..=255).collect();
    let again = encode(&decode(&all));
    assert_eq!(all.iter().zip(&again).filter(|(a, b)| a != b).count(), 1);
}

#[test]
fn decoding_is_monotonic_in_code_order() {
    // 0x00..=0x7F run from −32124 up to (negative) zero, 0xFF..=0x80 from zero up to 32124.
    let neg: Vec<i16> = (0x00..=0x7Fu8).map(ulaw_to_linear).collect();
    let pos: Vec<i16> = (0x80..=0xFFu8).rev().map(ulaw_to_linear).collect();
    assert!(neg.windows(2).all(|w| w[0] < w[1]));
    assert!(pos.windows(2).all(|w| w[0] < w[1]));
    assert_eq!((neg[0], neg[127], pos[0], pos[127]), (-32124, 0, 0, 32124));
}

/// Quantisation step of the µ-law segment holding `v`.
fn step(v: i32) -> i32 {
    let m = v.unsigned_abs().min(32635) as i32 + 0x84;
    let exponent = 31 - (m >> 7).leading_zeros() as i32;
    1 << (exponent + 3)
}

proptest! {
    #[test]
    fn encoding_is_monotonic(a in any::<i16>(), b in any::<i16>()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(ulaw_to_linear(linear_to_ulaw(lo)) <= ulaw_to_linear(linear_to_ulaw(hi)));
    }

    #[test]
    fn quantisation_error_is_within_one_step(s in any::<i16>()) {
        let back = i32::from(ulaw_to_linear(linear_to_ulaw(s)));
        let v = i32::from(s).clamp(-32635, 32635);
        prop_assert!((back - v).abs() < step(v), "{s} -> {back}");
    }

    #[test]
    fn decode_then_encode_is_identity(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let expect: Vec<u8> = bytes.iter().map(|&b| if b == 0x7F { 0xFF } else { b }).collect();
        prop_assert_eq!(encode(&decode(&bytes)), expect);
    }

    #[test]
    fn framer_makes_contiguous_frames_from_any_chunking(
        base in 0u64..10_000_000,
        sizes in proptest::collection::vec(1usize..500, 1..60),
    ) {
        let total: usize = sizes.iter().sum();
        let signal: Vec<i16> = (0..total).map(|i| (i % 30_000) as i16).collect();
        let mut f = Framer::new();
        let mut frames = Vec::new();
        let mut pos = 0;
        for n in &sizes {
            frames.extend(f.push(base + pos as u64 / 8, &signal[pos..pos + n]));
            pos += n;
        }
        prop_assert_eq!(frames.len(), total / FRAME_SAMPLES);
        for (k, fr) in frames.iter().enumerate() {
            prop_assert_eq!(fr.start_ms, base + 20 * k as u64);
            prop_assert_eq!(&fr.samples[..], &signal[k * 160..(k + 1) * 160]);
        }
        prop_assert_eq!((f.gaps(), f.dropped()), (0, 0));
        let rest = f.flush();
        prop_assert_eq!(rest.is_some(), !total.is_multiple_of(FRAME_SAMPLES));
    }

    #[test]
    fn framer_output_is_always_well_formed(
        chunks in proptest::collection::vec((0u64..100_000, 0usize..400), 0..40),
    ) {
        let mut f = Framer::new();
        let mut last: Option<u64> = None;
        for (ts, n) in chunks {
            for fr in f.push(ts, &vec![1; n]) {
                prop_assert_eq!(fr.samples.len(), FRAME_SAMPLES);
                if let Some(l) = last {
                    prop_assert!(fr.start_ms > l, "frames go forward in media time");
                }
                last = Some(fr.start_ms);
            }
        }
    }

    #[test]
    fn no_stage_panics_on_arbitrary_frames(
        frames in proptest::collection::vec(
            (any::<u64>(), proptest::collection::vec(any::<i16>(), 0..400)),
            0..12,
        ),
    ) {
        let mut stages: Vec<Box<dyn Stage>> = vec![
            Box::new(Vad::new()),
            Box::new(DtmfDetector::new()),
            Box::new(ToneDetector::new()),
            Box::new(FrontEnd::new()),
        ];
        for stage in &mut stages {
            for (start_ms, samples) in &frames {
                stage.push(&Frame { start_ms: *start_ms, samples: samples.clone() });
            }
            stage.finish();
        }
    }

    #[test]
    fn no_stage_panics_on_arbitrary_contiguous_audio(
        samples in proptest::collection::vec(any::<i16>(), 0..4000),
        start in any::<u32>(),
    ) {
        let mut p = Pipeline::new();
        for (i, c) in samples.chunks(160).enumerate() {
            p.push_pcm(u64::from(start) + 20 * i as u64, c);
        }
        p.finish();
    }

    #[test]
    fn loud_extreme_signals_do_not_panic(value in any::<i16>(), ms in 0u64..2000) {
        let mut fe = FrontEnd::new();
        let n = (ms * 8) as usize;
        let s: Vec<i16> = (0..n).map(|i| if i % 2 == 0 { value } else { value.saturating_neg() }).collect();
        for (i, c) in s.chunks(160).enumerate() {
            fe.push(&Frame { start_ms: 20 * i as u64, samples: c.to_vec() });
        }
        fe.finish();
    }
}

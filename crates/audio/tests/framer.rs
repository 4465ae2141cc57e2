//! Framer: chunks of any size in, contiguous 20 ms frames on the media-time grid out.

use switchboard_audio::{AudioEvent, FRAME_SAMPLES, Frame, Framer};

fn ramp(n: usize, from: i16) -> Vec<i16> {
    (0..n).map(|i| from.wrapping_add(i as i16)).collect()
}

/// Pushes `sizes`-sized consecutive chunks of `signal` with Twilio-style whole-ms timestamps.
fn push_chunks(framer: &mut Framer, base_ms: u64, signal: &[i16], sizes: &[usize]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < signal.len() {
        let n = sizes[i % sizes.len()].min(signal.len() - pos);
        out.extend(framer.push(base_ms + pos as u64 / 8, &signal[pos..pos + n]));
        pos += n;
        i += 1;
    }
    out
}

#[test]
fn odd_chunk_sizes_give_contiguous_frames() {
    let signal = ramp(16_000, 0);
    let mut f = Framer::new();
    let frames = push_chunks(&mut f, 1000, &signal, &[1, 7, 33, 159, 161, 320, 3]);
    assert_eq!(frames.len(), 100);
    for (k, fr) in frames.iter().enumerate() {
        assert_eq!(fr.start_ms, 1000 + 20 * k as u64);
        assert_eq!(fr.samples, signal[k * 160..(k + 1) * 160]);
    }
    assert_eq!((f.gaps(), f.dropped()), (0, 0));
    assert!(f.flush().is_none());
}

#[test]
fn a_timestamp_gap_is_filled_with_silence_and_reported() {
    let mut f = Framer::new();
    let mut frames = f.push(0, &[1; 160]);
    // 60 ms of audio missing: the next chunk says 80 ms.
    frames.extend(f.push(80, &[2; 160]));
    assert_eq!(
        frames.iter().map(|x| x.start_ms).collect::<Vec<_>>(),
        vec![0, 20, 40, 60, 80]
    );
    assert!(frames[1..4].iter().all(|x| x.samples == [0; FRAME_SAMPLES]));
    assert_eq!(frames[4].samples, [2; FRAME_SAMPLES]);
    assert_eq!(f.gaps(), 1);
    assert_eq!(
        f.take_events(),
        vec![AudioEvent::Gap {
            at_ms: 20,
            missing_ms: 60
        }]
    );
    assert!(f.take_events().is_empty());
}

#[test]
fn a_gap_inside_a_frame_keeps_later_audio_at_its_media_time() {
    let mut f = Framer::new();
    let mut frames = f.push(0, &[1; 80]); // 0–10 ms
    frames.extend(f.push(30, &[2; 240])); // 30–60 ms; 10–30 ms missing
    assert_eq!(frames.len(), 3);
    assert_eq!(&frames[0].samples[..80], &[1; 80]);
    assert_eq!(&frames[0].samples[80..], &[0; 80]);
    assert_eq!(&frames[1].samples[..80], &[0; 80]);
    assert_eq!(&frames[1].samples[80..], &[2; 80]);
    assert_eq!(frames[2].samples, [2; 160]);
}

#[test]
fn late_and_duplicate_chunks_are_dropped_and_counted() {
    let mut f = Framer::new();
    let mut frames = f.push(0, &[1; 160]);
    frames.extend(f.push(40, &[3; 160])); // arrives before the 20 ms chunk: gap filled
    frames.extend(f.push(20, &[2; 160])); // too late: already filled
    frames.extend(f.push(40, &[3; 160])); // duplicate
    frames.extend(f.push(60, &[4; 160]));
    let starts: Vec<u64> = frames.iter().map(|x| x.start_ms).collect();
    assert_eq!(starts, vec![0, 20, 40, 60]);
    assert_eq!(frames[1].samples, [0; 160]);
    assert_eq!(frames[3].samples, [4; 160]);
    assert_eq!((f.gaps(), f.dropped()), (1, 2));
}

#[test]
fn a_partly_overlapping_chunk_keeps_its_new_part() {
    let mut f = Framer::new();
    let mut frames = f.push(0, &[1; 160]);
    // Repeats the last 10 ms, then brings 10 ms of new audio.
    frames.extend(f.push(10, &[2; 160]));
    assert_eq!(f.dropped(), 1);
    frames.extend(f.flush());
    assert_eq!(frames.len(), 2);
    assert_eq!(&frames[1].samples[..80], &[2; 80]);
    assert_eq!(&frames[1].samples[80..], &[0; 80]);
}

#[test]
fn millisecond_rounding_jitter_is_not_a_gap() {
    let mut f = Framer::new();
    // 12-sample chunks are 1.5 ms: timestamps alternate between rounding down and up.
    let mut frames = Vec::new();
    for k in 0..200u64 {
        let ts = (k * 12).div_ceil(8);
        frames.extend(f.push(ts, &[5; 12]));
    }
    assert_eq!(frames.len(), 15);
    assert_eq!((f.gaps(), f.dropped()), (0, 0));
}

#[test]
fn a_very_long_gap_reanchors_instead_of_filling() {
    let mut f = Framer::new();
    let mut frames = f.push(0, &[1; 100]);
    frames.extend(f.push(3_600_000, &[2; 160]));
    // The partial frame is flushed, then the grid restarts at the new timestamp.
    assert_eq!(
        frames.iter().map(|x| x.start_ms).collect::<Vec<_>>(),
        vec![0, 3_600_000]
    );
    assert_eq!(f.gaps(), 1);
}

#[test]
fn flush_pads_the_last_partial_frame() {
    let mut f = Framer::new();
    assert!(f.push(500, &[7; 100]).is_empty());
    let last = f.flush().unwrap();
    assert_eq!(last.start_ms, 500);
    assert_eq!(&last.samples[..100], &[7; 100]);
    assert_eq!(&last.samples[100..], &[0; 60]);
    assert!(f.push(520, &[]).is_empty());
}

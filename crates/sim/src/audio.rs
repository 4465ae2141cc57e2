//! The clinics' audio: clips rendered once by `scripts/render_clips.py` (espeak-ng voices and sox
//! tones, µ-law 8 kHz), embedded in the binary, looked up by key.

use std::collections::HashMap;
use std::sync::OnceLock;

#[path = "clips_index.rs"]
mod clips_index;

/// µ-law silence.
pub const SILENCE: u8 = 0xFF;

fn index() -> &'static HashMap<&'static str, &'static [u8]> {
    static INDEX: OnceLock<HashMap<&'static str, &'static [u8]>> = OnceLock::new();
    INDEX.get_or_init(|| clips_index::CLIPS.iter().copied().collect())
}

/// A clip by key: `speech:<exact text>` or `tone:<beep|hold_music|fax_cng|sit>`.
pub fn clip(key: &str) -> Option<&'static [u8]> {
    index().get(key).copied()
}

/// 160 bytes of `clip` from byte `offset` (looping, or padded with silence past its end).
pub fn slice_at(clip: &[u8], offset: u64, looping: bool) -> [u8; 160] {
    let mut out = [SILENCE; 160];
    if clip.is_empty() {
        return out;
    }
    for (i, b) in out.iter_mut().enumerate() {
        let pos = offset as usize + i;
        *b = if looping {
            clip[pos % clip.len()]
        } else if pos < clip.len() {
            clip[pos]
        } else {
            SILENCE
        };
    }
    out
}

/// Every rendered speech clip: (its text, its audio). The recogniser stand-in knows them all.
pub fn speech_clips() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    clips_index::CLIPS
        .iter()
        .filter_map(|(k, a)| k.strip_prefix("speech:").map(|t| (t, *a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    #[test]
    fn every_greeting_and_prompt_of_the_default_world_has_a_clip() {
        let w = World::default_world();
        for c in &w.clinics {
            if let Some(g) = &c.greeting {
                assert!(
                    clip(&format!("speech:{g}")).is_some(),
                    "no clip for {}'s greeting",
                    c.name
                );
            }
            for n in c.menu.iter().chain(&c.changed_menu) {
                let a = clip(&format!("speech:{}", n.prompt))
                    .unwrap_or_else(|| panic!("no clip for a prompt of {}", c.name));
                // A prompt clip is at least a second of non-silent audio.
                assert!(
                    a.len() > 8000
                        && a.iter().filter(|b| **b != SILENCE && **b != 0x7F).count() > 4000
                );
            }
        }
        for t in ["tone:beep", "tone:hold_music", "tone:fax_cng", "tone:sit"] {
            assert!(clip(t).is_some(), "{t}");
        }
    }

    #[test]
    fn slices_loop_or_pad() {
        let c = [1u8, 2, 3];
        assert_eq!(&slice_at(&c, 1, true)[..4], &[2, 3, 1, 2]);
        assert_eq!(&slice_at(&c, 1, false)[..4], &[2, 3, SILENCE, SILENCE]);
    }
}

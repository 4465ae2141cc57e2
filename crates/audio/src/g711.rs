//! ITU-T G.711 µ-law, the encoding of Twilio Media Streams.
//!
//! This is the classic CCITT/Sun algorithm on 16-bit samples (bias 0x84, clip 32635): the
//! magnitude plus bias is split into a 3-bit segment (exponent) and a 4-bit step (mantissa), and
//! the code is stored inverted. Decoding yields values in ±32124. The two zero codes (0xFF, 0x7F)
//! both decode to 0; encoding 0 gives 0xFF.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

/// Decodes one µ-law byte to a linear sample.
pub fn ulaw_to_linear(b: u8) -> i16 {
    let u = !b;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    // magnitude ≤ 32124, so the cast is lossless.
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encodes one linear sample to µ-law (rounding toward zero within a step, as G.711 does).
pub fn linear_to_ulaw(s: i16) -> u8 {
    let mut v = i32::from(s);
    let sign: u8 = if v < 0 {
        v = -v;
        0x80
    } else {
        0
    };
    let v = v.min(CLIP) + BIAS; // 0x84 ..= 0x7FFF
    // Segment = position of the highest set bit above bit 7 (v >> 7 is 1..=255).
    let exponent = 7 - ((v >> 7) as u8).leading_zeros() as u8;
    let mantissa = ((v >> (exponent + 3)) & 0x0F) as u8;
    !(sign | (exponent << 4) | mantissa)
}

/// Decodes a µ-law payload.
pub fn decode(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().map(|&b| ulaw_to_linear(b)).collect()
}

/// Encodes samples to a µ-law payload.
pub fn encode(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| linear_to_ulaw(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_match_the_reference_table() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xFE), 8);
        assert_eq!(ulaw_to_linear(0x7E), -8);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_ulaw(-1), 0x7F);
    }
}

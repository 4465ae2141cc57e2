//! E.164 phone numbers. Clinic numbers arrive in whatever format the external system stores;
//! everything that dials, caches or compares a number uses the normalised [`E164`] form.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a phone number could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number contains a character that is not a digit or separator")]
    InvalidCharacter,
    #[error("phone number has {0} digits; E.164 allows 8 to 15 after the country code prefix")]
    BadLength(usize),
    #[error("national number without a country code must be a 10-digit North American number")]
    UnknownRegion,
    #[error("country code cannot start with 0")]
    BadCountryCode,
}

/// A phone number in E.164 form (`+` then 8–15 digits, no leading zero). Once you hold one, it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Normalises a number as people write it: `+1 (415) 555-1212`, `415.555.1212`,
    /// `1-415-555-1212`, `0044 20 7946 0958`. Numbers without a country code are taken as North
    /// American (the product's market); anything else must carry `+` or `00`.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut international = false;
        let mut digits = String::with_capacity(16);
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '+' if i == 0 => international = true,
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
                _ => return Err(PhoneError::InvalidCharacter),
            }
        }
        if !international && digits.starts_with("00") {
            digits.drain(..2);
            international = true;
        }
        if !international {
            digits = match digits.len() {
                10 => format!("1{digits}"),
                11 if digits.starts_with('1') => digits,
                0 => return Err(PhoneError::Empty),
                _ => return Err(PhoneError::UnknownRegion),
            };
            // NANP area codes and exchanges never start with 0 or 1.
            let b = digits.as_bytes();
            if b[1] < b'2' || b[4] < b'2' {
                return Err(PhoneError::UnknownRegion);
            }
        }
        if digits.starts_with('0') {
            return Err(PhoneError::BadCountryCode);
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::BadLength(digits.len()));
        }
        Ok(E164(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A form safe for logs: country code and last two digits only.
    pub fn redacted(&self) -> String {
        let d = &self.0;
        format!("{}…{}", &d[..2], &d[d.len() - 2..])
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        E164::parse(&s)
    }
}

impl From<E164> for String {
    fn from(p: E164) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn north_american_formats_normalise_to_plus_one() {
        for input in [
            "+1 (415) 555-1212",
            "415.555.1212",
            "1-415-555-1212",
            "(415) 555 1212",
            "+14155551212",
        ] {
            assert_eq!(
                E164::parse(input).unwrap().as_str(),
                "+14155551212",
                "{input}"
            );
        }
    }

    #[test]
    fn international_prefixes_are_accepted() {
        assert_eq!(
            E164::parse("0044 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
        assert_eq!(
            E164::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn bad_numbers_are_rejected_with_a_reason() {
        assert_eq!(E164::parse(""), Err(PhoneError::Empty));
        assert_eq!(E164::parse("555-1212"), Err(PhoneError::UnknownRegion));
        assert_eq!(
            E164::parse("415-555-1212 x12"),
            Err(PhoneError::InvalidCharacter)
        );
        assert_eq!(E164::parse("+1234567"), Err(PhoneError::BadLength(7)));
        assert_eq!(E164::parse("+0123456789"), Err(PhoneError::BadCountryCode));
        assert_eq!(
            E164::parse("(015) 555-1212"),
            Err(PhoneError::UnknownRegion)
        );
        assert_eq!(
            E164::parse("+1234567890123456"),
            Err(PhoneError::BadLength(16))
        );
    }

    #[test]
    fn redacted_hides_the_subscriber_digits() {
        let p = E164::parse("+14155551212").unwrap();
        assert_eq!(p.redacted(), "+1…12");
        assert!(!p.redacted().contains("5551"));
    }
}

//! What a clinic's phone system is, and the learned key presses that reach a person.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The cacheable classes of a clinic's phone system (the `classification_type` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassificationType {
    /// A person answers.
    Human,
    /// A menu with no path to a person (e.g. a voicemail box behind the menu).
    IvrOnly,
    /// A menu whose learned key presses lead to a person.
    IvrThenHuman,
}

impl ClassificationType {
    pub const ALL: [ClassificationType; 3] = [Self::Human, Self::IvrOnly, Self::IvrThenHuman];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::IvrOnly => "ivr_only",
            Self::IvrThenHuman => "ivr_then_human",
        }
    }
}

impl fmt::Display for ClassificationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown enum value read from a request or a database row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

impl FromStr for ClassificationType {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownValue {
                kind: "classification_type",
                value: s.to_string(),
            })
    }
}

/// One learned step: press `digits` at `after_ms` milliseconds after the call was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IvrAction {
    pub after_ms: u32,
    pub digits: String,
}

/// Why a list of IVR steps is not replayable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IvrActionsError {
    #[error("step {0}: digits must be 1–32 of 0-9 * # A-D")]
    BadDigits(usize),
    #[error("step {0}: after_ms goes backwards")]
    NotIncreasing(usize),
    #[error("step {0}: after_ms exceeds 10 minutes")]
    TooLate(usize),
    #[error("at most 20 steps are allowed")]
    TooMany,
    #[error("{0} requires at least one step")]
    MissingSteps(ClassificationType),
    #[error("human must have no steps")]
    UnexpectedSteps,
}

/// A validated, replayable list of steps (the `ivr_actions` column).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct IvrActions(Vec<IvrAction>);

impl IvrActions {
    pub fn new(steps: Vec<IvrAction>) -> Result<Self, IvrActionsError> {
        if steps.len() > 20 {
            return Err(IvrActionsError::TooMany);
        }
        let mut last = 0;
        for (i, s) in steps.iter().enumerate() {
            let ok = !s.digits.is_empty()
                && s.digits.len() <= 32
                && s.digits
                    .chars()
                    .all(|c| matches!(c, '0'..='9' | '*' | '#' | 'A'..='D'));
            if !ok {
                return Err(IvrActionsError::BadDigits(i));
            }
            if s.after_ms < last {
                return Err(IvrActionsError::NotIncreasing(i));
            }
            if s.after_ms > 600_000 {
                return Err(IvrActionsError::TooLate(i));
            }
            last = s.after_ms;
        }
        Ok(IvrActions(steps))
    }

    /// Checks the steps fit the type: menus need steps to replay, a person needs none.
    /// `ivr_only` may have steps (what reaches its voicemail) or none.
    pub fn check_for(&self, kind: ClassificationType) -> Result<(), IvrActionsError> {
        match kind {
            ClassificationType::Human if !self.0.is_empty() => {
                Err(IvrActionsError::UnexpectedSteps)
            }
            ClassificationType::IvrThenHuman if self.0.is_empty() => {
                Err(IvrActionsError::MissingSteps(kind))
            }
            _ => Ok(()),
        }
    }

    pub fn steps(&self) -> &[IvrAction] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for IvrActions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let steps = Vec::<IvrAction>::deserialize(d)?;
        IvrActions::new(steps).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(after_ms: u32, digits: &str) -> IvrAction {
        IvrAction {
            after_ms,
            digits: digits.into(),
        }
    }

    #[test]
    fn steps_must_be_dtmf_and_in_order() {
        assert!(IvrActions::new(vec![step(3500, "2"), step(9000, "1#")]).is_ok());
        assert_eq!(
            IvrActions::new(vec![step(1, "x")]),
            Err(IvrActionsError::BadDigits(0))
        );
        assert_eq!(
            IvrActions::new(vec![step(5000, "1"), step(4000, "2")]),
            Err(IvrActionsError::NotIncreasing(1))
        );
        assert_eq!(
            IvrActions::new(vec![step(1, "")]),
            Err(IvrActionsError::BadDigits(0))
        );
    }

    #[test]
    fn json_round_trip_matches_the_documented_shape() {
        let a: IvrActions = serde_json::from_str(r#"[{"after_ms":3500,"digits":"2"}]"#).unwrap();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"[{"after_ms":3500,"digits":"2"}]"#
        );
        assert!(serde_json::from_str::<IvrActions>(r#"[{"after_ms":1,"digits":"w"}]"#).is_err());
    }

    #[test]
    fn type_and_steps_must_agree() {
        let none = IvrActions::default();
        let some = IvrActions::new(vec![step(1000, "2")]).unwrap();
        assert!(none.check_for(ClassificationType::Human).is_ok());
        assert!(some.check_for(ClassificationType::Human).is_err());
        assert!(none.check_for(ClassificationType::IvrThenHuman).is_err());
        assert!(none.check_for(ClassificationType::IvrOnly).is_ok());
    }

    #[test]
    fn classification_type_parses_its_column_values() {
        for t in ClassificationType::ALL {
            assert_eq!(t.as_str().parse::<ClassificationType>().unwrap(), t);
        }
        assert!("machine".parse::<ClassificationType>().is_err());
    }
}

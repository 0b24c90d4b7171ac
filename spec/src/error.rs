//! Spec errors: every problem names its key and the rule it breaks, and validation reports all
//! of them at once.

use std::fmt;

/// One problem with a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// The key, dotted from the top (`grid.lr`, `entropy.queue`), or `spec` for the whole file.
    pub key: String,
    /// The rule it breaks.
    pub rule: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.rule)
    }
}

/// Why a spec was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not valid TOML, or a key that does not exist or has the wrong type.
    #[error("spec does not parse: {0}")]
    Parse(String),
    /// Parsed, but breaks the rules of DESIGN §3.
    #[error("spec is invalid:\n{}", list(.0))]
    Invalid(Vec<SpecProblem>),
}

fn list(problems: &[SpecProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl SpecError {
    /// The problems, for callers that want them one by one (a parse error is one problem at `spec`).
    pub fn problems(&self) -> Vec<SpecProblem> {
        match self {
            Self::Parse(m) => vec![SpecProblem {
                key: "spec".into(),
                rule: m.clone(),
            }],
            Self::Invalid(p) => p.clone(),
        }
    }
}

/// Collects problems while validating.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<SpecProblem>);

impl Problems {
    /// Records that `key` breaks `rule`.
    pub(crate) fn add(&mut self, key: impl Into<String>, rule: impl Into<String>) {
        self.0.push(SpecProblem {
            key: key.into(),
            rule: rule.into(),
        });
    }
}

//! What is wrong with a report's fields: each problem names its field and
//! its rule, and never echoes what was typed.

/// One problem with one field.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field's JSON path, e.g. `consent.pass_to_police`.
    pub field: String,
    /// Which rule it breaks, a stable name (e.g. `contact_anonymous`): the
    /// app words each rule for the person at the desk, in their language,
    /// where `message` is worded for the command line and the JSON format.
    pub rule: &'static str,
    /// What is wrong and how to put it right.
    pub message: String,
}

/// Every problem found, in form order.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub(super) fn push(&mut self, field: &str, rule: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            rule,
            message: message.into(),
        });
    }

    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

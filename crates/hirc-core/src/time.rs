//! Timestamps as the store keeps them: RFC 3339, UTC, milliseconds. Text
//! sorts in time order, and a person reading the file can understand it.

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, as stored.
pub(crate) fn now_text() -> String {
    to_text(Utc::now())
}

/// A time, as stored.
pub(crate) fn to_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a stored time back.
pub(crate) fn parse(text: &str) -> crate::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| crate::Error::Integrity("a stored time is not a time"))
}

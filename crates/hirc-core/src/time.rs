//! Timestamps as the store keeps them: RFC 3339, UTC, milliseconds. Text
//! sorts in time order, and a person reading the file can understand it.
//!
//! A desk reads the time from its [`Clock`]: the system's, or one a test
//! drives (a simulated year runs in seconds). The audit log keeps the
//! system's time, whatever the clock says.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Where a desk gets "now" from.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(driven)"
        } else {
            "Clock(system)"
        })
    }
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that reads `now` (a test's own).
    pub fn driven(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(now)))
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Some(now) => now(),
            None => Utc::now(),
        }
    }

    /// Today at the desk: what "in the future" means for a date someone
    /// enters ([`desk_date`] of now).
    pub fn today(&self) -> NaiveDate {
        desk_date(self.now())
    }
}

/// The desk's calendar date of a moment: the date on the desk's own
/// calendar (its local time), the one the person and the ambassador see.
/// Submitting, the app's date checks and summaries all count days by it,
/// so a report taken at 00:30 on 1 April in summer time is an April report
/// everywhere, not a March one in UTC.
pub fn desk_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono::Local).date_naive()
}

/// Now by the system's clock, as stored.
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

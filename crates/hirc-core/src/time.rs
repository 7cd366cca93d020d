//! Timestamps as the store keeps them: RFC 3339, UTC, milliseconds. Text
//! sorts in time order, and a person reading the file can understand it.
//! They are written by [`to_text`] and read back as `DateTime<Utc>` (see
//! `columns`); the app and the CLI's JSON show them in the same text
//! ([`as_text`]). The audit log keeps its times as the text it hashed.
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

/// A moment as the store keeps it: to the millisecond.
pub(crate) fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(3)
}

/// A time, as stored (and as the app and the CLI's JSON show it).
pub fn to_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serialises a time as stored (`#[serde(serialize_with = "time::as_text")]`),
/// so what the app and the CLI's JSON show does not depend on chrono's own
/// format.
pub fn as_text<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_text(*t))
}

/// [`as_text`] for a time that may be missing.
pub fn as_text_opt<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => as_text(t, s),
        None => s.serialize_none(),
    }
}

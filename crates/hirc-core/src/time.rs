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

/// Reads a stored time back: the form [`to_text`] writes
/// (`2026-12-03T19:33:13.120Z`) directly, anything else through chrono's
/// RFC 3339 parser; `None` for text that is not a time. Every row read
/// holds two or three, so the usual form is read without a parser.
pub(crate) fn from_text(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let shape = b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z';
    if shape {
        let n = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |n, &d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
        };
        let date = NaiveDate::from_ymd_opt(i32::try_from(n(0, 4)?).ok()?, n(5, 7)?, n(8, 10)?)?;
        let time =
            chrono::NaiveTime::from_hms_milli_opt(n(11, 13)?, n(14, 16)?, n(17, 19)?, n(20, 23)?)?;
        return Some(date.and_time(time).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::{from_text, to_text};

    #[test]
    fn a_stored_time_reads_back_as_written_and_nothing_else_is_a_time() {
        let start = Utc
            .with_ymd_and_hms(2024, 2, 29, 23, 59, 59)
            .single()
            .expect("a time");
        for step in 0..500 {
            let t = start + Duration::milliseconds(step * 86_399_937);
            let t = super::stored(t);
            assert_eq!(from_text(&to_text(t)), Some(t), "{}", to_text(t));
            // The same moment written another way (chrono's own form).
            let other = t.to_rfc3339();
            assert_eq!(from_text(&other), Some(t), "{other}");
        }
        for text in [
            "",
            "yesterday",
            "2026-02-30T10:00:00.000Z",
            "2026-12-03T24:00:00.000Z",
            "2026-12-03T10:00:00.0x0Z",
            "+026-12-03T10:00:00.000Z",
        ] {
            assert_eq!(from_text(text), None, "{text}");
        }
        let offset: DateTime<Utc> = from_text("2026-03-29T02:30:00.000+01:00").expect("a time");
        assert_eq!(to_text(offset), "2026-03-29T01:30:00.000Z");
    }
}

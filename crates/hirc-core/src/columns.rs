//! Values as the store's columns keep them, read back typed: ids as text,
//! states and roles as their words, times as the RFC 3339 text that
//! [`crate::time::to_text`] writes (so that text sorts in time order).
//! Times are read by [`crate::time::from_text`], not rusqlite's `chrono`
//! support, which tries a format string first: three times a row, that
//! made listing and summarising 10,000 reports a fifth slower.
//!
//! A column that does not hold what the store writes is damage: reading it
//! fails with [`Unreadable`], which [`crate::error::classify_sqlite`] turns
//! into [`crate::Error::Integrity`] naming what the value should have been.

use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use uuid::Uuid;

use crate::model::{ReportState, Role};

/// A stored value that is not what the store writes, and what it should
/// have been.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unreadable(pub &'static str);

fn unreadable<T>(what: &'static str) -> FromSqlResult<T> {
    Err(FromSqlError::Other(Box::new(Unreadable(what))))
}

/// An id kept as its hyphenated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextId(pub Uuid);

impl FromSql for TextId {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match Uuid::parse_str(value.as_str()?) {
            Ok(id) => Ok(Self(id)),
            Err(_) => unreadable("a stored id is not an id"),
        }
    }
}

/// A time kept as RFC 3339 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredTime(pub DateTime<Utc>);

impl FromSql for StoredTime {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match crate::time::from_text(value.as_str()?) {
            Some(t) => Ok(Self(t)),
            None => unreadable("a stored time is not a time"),
        }
    }
}

/// Reading a row's ids and times by their column's index.
pub(crate) trait Columns {
    /// An id kept as text.
    fn id(&self, i: usize) -> rusqlite::Result<Uuid>;
    /// A time kept as RFC 3339 text.
    fn time(&self, i: usize) -> rusqlite::Result<DateTime<Utc>>;
    /// A time that may be missing (NULL).
    fn time_opt(&self, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>>;
}

impl Columns for rusqlite::Row<'_> {
    fn id(&self, i: usize) -> rusqlite::Result<Uuid> {
        Ok(self.get::<_, TextId>(i)?.0)
    }

    fn time(&self, i: usize) -> rusqlite::Result<DateTime<Utc>> {
        Ok(self.get::<_, StoredTime>(i)?.0)
    }

    fn time_opt(&self, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(self.get::<_, Option<StoredTime>>(i)?.map(|t| t.0))
    }
}

impl FromSql for ReportState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match Self::from_word(value.as_str()?) {
            Some(state) => Ok(state),
            None => unreadable("a report has an unknown state"),
        }
    }
}

impl FromSql for Role {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match Self::from_word(value.as_str()?) {
            Some(role) => Ok(role),
            None => unreadable("a user has an unknown role"),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rusqlite::Connection;

    use super::*;
    use crate::Error;
    use crate::error::classify_sqlite;

    fn read<T: FromSql>(sql_value: &str) -> crate::Result<T> {
        let conn = Connection::open_in_memory().expect("an in-memory database");
        conn.query_row(&format!("SELECT {sql_value}"), [], |r| r.get::<_, T>(0))
            .map_err(classify_sqlite)
    }

    #[test]
    fn stored_words_and_ids_read_back_typed() {
        let id = Uuid::now_v7();
        assert_eq!(
            read::<TextId>(&format!("'{id}'")).expect("an id"),
            TextId(id)
        );
        assert_eq!(
            read::<ReportState>("'sealed'").expect("a state"),
            ReportState::Sealed
        );
        assert_eq!(
            read::<Role>("'coordinator'").expect("a role"),
            Role::Coordinator
        );
    }

    #[test]
    fn the_stored_time_format_reads_back_as_the_moment_written() {
        let t = Utc
            .with_ymd_and_hms(2026, 3, 29, 0, 30, 5)
            .single()
            .expect("a time")
            + chrono::Duration::milliseconds(120);
        let text = crate::time::to_text(t);
        assert_eq!(
            read::<StoredTime>(&format!("'{text}'")).expect("a time").0,
            t
        );
    }

    #[test]
    fn a_value_the_store_never_writes_is_damage_named_by_what_it_should_be() {
        let damage = [
            read::<TextId>("'not-an-id'").map(drop),
            read::<ReportState>("'lost'").map(drop),
            read::<Role>("'owner'").map(drop),
            read::<StoredTime>("'yesterday'").map(drop),
            read::<StoredTime>("'2026-12-03 10:00:00'").map(drop),
            read::<u32>("-1").map(drop),
            read::<TextId>("42").map(drop),
        ];
        let said: Vec<&str> = damage
            .into_iter()
            .map(|r| match r {
                Err(Error::Integrity(what)) => what,
                other => panic!("not damage: {other:?}"),
            })
            .collect();
        assert_eq!(
            said,
            [
                "a stored id is not an id",
                "a report has an unknown state",
                "a user has an unknown role",
                "a stored time is not a time",
                "a stored time is not a time",
                "a stored value is not of its kind",
                "a stored value is not of its kind",
            ]
        );
    }
}

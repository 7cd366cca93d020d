//! The auto-lock, kept by the Rust side. The window reports activity
//! (`still_here`, at most every few seconds and at once when a key
//! dismisses the warning); a watchdog ends the session once nothing has
//! been reported for the desk's limit, and tells the window
//! (`desk-locked`). The window's own timer only warns before that moment:
//! a window that hangs, or a page that stops reporting, is locked all the
//! same.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tests only (debug builds): how many seconds an auto-lock "minute" lasts,
/// so a walk of the real app can see the warning and the lock without
/// waiting five minutes. Ignored by release builds.
pub const TEST_MINUTE_ENV: &str = "HIRC_TEST_MINUTE_SECONDS";

/// The length of an auto-lock minute: sixty seconds, except in a debug
/// build given [`TEST_MINUTE_ENV`].
pub fn minute() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(secs) = std::env::var(TEST_MINUTE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| (1..=60).contains(s))
    {
        return Duration::from_secs(secs);
    }
    Duration::from_secs(60)
}

/// When the desk was last used, and how long it may rest.
#[derive(Debug)]
pub struct IdleWatch {
    minute: Duration,
    inner: Mutex<Idle>,
}

#[derive(Debug, Clone, Copy)]
struct Idle {
    last: Instant,
    interviewing: bool,
    anywhere: u32,
    interview: u32,
}

impl IdleWatch {
    /// A watch whose minutes last `minute`, with the engine's defaults until
    /// the desk's own limits are known.
    pub fn new(minute: Duration, now: Instant) -> Self {
        Self {
            minute,
            inner: Mutex::new(Idle {
                last: now,
                interviewing: false,
                anywhere: hirc_core::lock::DEFAULT_AUTO_LOCK_MINUTES,
                interview: hirc_core::lock::DEFAULT_INTERVIEW_LOCK_MINUTES,
            }),
        }
    }

    /// The length of one of its minutes (the window scales its timer by it).
    pub fn minute(&self) -> Duration {
        self.minute
    }

    fn with<T>(&self, f: impl FnOnce(&mut Idle) -> T) -> T {
        // The data is two instants and two numbers: a panic elsewhere while
        // holding the lock cannot leave it half-written.
        let mut idle = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut idle)
    }

    /// Someone used the desk at `now`; `interviewing`: a report is open.
    pub fn touch(&self, now: Instant, interviewing: bool) {
        self.with(|i| {
            i.last = i.last.max(now);
            i.interviewing = interviewing;
        });
    }

    /// The desk's limits, in minutes (read at unlock and when changed).
    pub fn set_limits(&self, anywhere: u32, interview: u32) {
        self.with(|i| {
            i.anywhere = anywhere.max(1);
            i.interview = interview.max(anywhere).max(1);
        });
    }

    /// How long the desk may rest now.
    pub fn limit(&self) -> Duration {
        let (interviewing, anywhere, interview) =
            self.with(|i| (i.interviewing, i.anywhere, i.interview));
        self.minute * if interviewing { interview } else { anywhere }
    }

    /// How long the desk had rested at `now`, if that is past its limit.
    pub fn overdue(&self, now: Instant) -> Option<Duration> {
        let rested = now.saturating_duration_since(self.with(|i| i.last));
        (rested >= self.limit()).then_some(rested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn locks_only_after_the_limit_with_nothing_reported() {
        let t0 = Instant::now();
        let watch = IdleWatch::new(MINUTE, t0);
        watch.set_limits(5, 15);
        assert_eq!(watch.overdue(t0 + MINUTE * 4), None);
        watch.touch(t0 + MINUTE * 4, false);
        assert_eq!(
            watch.overdue(t0 + MINUTE * 8),
            None,
            "activity restarts the clock"
        );
        assert_eq!(watch.overdue(t0 + MINUTE * 9), Some(MINUTE * 5));
    }

    #[test]
    fn a_report_open_allows_the_longer_time_and_closing_it_does_not() {
        let t0 = Instant::now();
        let watch = IdleWatch::new(MINUTE, t0);
        watch.set_limits(5, 15);
        watch.touch(t0, true);
        assert_eq!(watch.overdue(t0 + MINUTE * 14), None);
        assert!(watch.overdue(t0 + MINUTE * 15).is_some());
        watch.touch(t0 + MINUTE * 14, false);
        assert!(
            watch.overdue(t0 + MINUTE * 19).is_some(),
            "back on Home: five minutes"
        );
    }

    #[test]
    fn the_interview_time_is_never_shorter_and_an_old_report_cannot_rewind_the_clock() {
        let t0 = Instant::now();
        let watch = IdleWatch::new(MINUTE, t0 + MINUTE * 10);
        watch.set_limits(20, 3);
        watch.touch(t0, true);
        assert_eq!(watch.limit(), MINUTE * 20);
        assert_eq!(
            watch.overdue(t0 + MINUTE * 29),
            None,
            "the clock keeps the later time"
        );
        assert!(watch.overdue(t0 + MINUTE * 30).is_some());
    }
}

//! The auto-lock, kept by the Rust side. The window reports activity
//! (`still_here`, at most every few seconds and at once when a key
//! dismisses the warning); a watchdog ends the session once nothing has
//! been reported for the desk's limit, and tells the window
//! (`desk-locked`). The window's own timer only warns before that moment:
//! a window that hangs, or a page that stops reporting, is locked all the
//! same.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A moment, on the clocks that can tell how long the desk has rested.
///
/// Linux's boot-time clock counts time the computer is asleep and cannot be
/// set, so it alone decides where there is one. Elsewhere the monotonic
/// clock (`Instant`) does not count time asleep (a laptop closed
/// mid-report would wake hours later still unlocked) and the wall clock
/// does, but can be set: the desk has rested for the longer of the two.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    mono: Instant,
    wall: SystemTime,
    boot: Option<Duration>,
}

impl Moment {
    /// Now.
    pub fn now() -> Self {
        Self {
            mono: Instant::now(),
            wall: SystemTime::now(),
            boot: boot_time(),
        }
    }

    /// How long after `earlier` this is.
    fn since(self, earlier: Moment) -> Duration {
        if let (Some(now), Some(then)) = (self.boot, earlier.boot) {
            return now.saturating_sub(then);
        }
        let mono = self.mono.saturating_duration_since(earlier.mono);
        // A wall clock set back counts as nothing.
        let wall = self.wall.duration_since(earlier.wall).unwrap_or_default();
        mono.max(wall)
    }

    /// Whether this is not earlier than `other` on the monotonic clock.
    fn not_before(self, other: Moment) -> bool {
        self.mono >= other.mono
    }

    #[cfg(test)]
    fn plus(self, mono: Duration, wall: Duration) -> Self {
        Self {
            mono: self.mono + mono,
            wall: self.wall + wall,
            boot: None,
        }
    }
}

/// Time since boot, counting time asleep (Linux's `CLOCK_BOOTTIME`).
#[cfg(target_os = "linux")]
fn boot_time() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    Some(Duration::new(
        u64::try_from(t.tv_sec).ok()?,
        u32::try_from(t.tv_nsec).ok()?,
    ))
}

/// No boot-time clock here: the monotonic and wall clocks decide.
#[cfg(not(target_os = "linux"))]
fn boot_time() -> Option<Duration> {
    None
}

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
    last: Moment,
    interviewing: bool,
    anywhere: u32,
    interview: u32,
}

impl Idle {
    fn limit(&self, minute: Duration) -> Duration {
        minute
            * if self.interviewing {
                self.interview
            } else {
                self.anywhere
            }
    }
}

impl IdleWatch {
    /// A watch whose minutes last `minute`, with the engine's defaults until
    /// the desk's own limits are known.
    pub fn new(minute: Duration, now: Moment) -> Self {
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
    /// A desk already past its time stays so: the watchdog locks it even if
    /// a key is pressed first (a laptop opened after hours asleep, its
    /// mouse touched before the next look).
    pub fn touch(&self, now: Moment, interviewing: bool) {
        let minute = self.minute;
        self.with(|i| {
            if now.not_before(i.last) && now.since(i.last) < i.limit(minute) {
                i.last = now;
                i.interviewing = interviewing;
            }
        });
    }

    /// Starts the clock again (a new session).
    pub fn restart(&self, now: Moment) {
        self.with(|i| {
            i.last = now;
            i.interviewing = false;
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
        let minute = self.minute;
        self.with(|i| i.limit(minute))
    }

    /// How long the desk had rested at `now`, if that is past its limit.
    pub fn overdue(&self, now: Moment) -> Option<Duration> {
        let rested = now.since(self.with(|i| i.last));
        (rested >= self.limit()).then_some(rested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    /// A moment without the boot-time clock, so each test sets both others.
    fn start() -> Moment {
        Moment {
            boot: None,
            ..Moment::now()
        }
    }

    /// `n` minutes after `t0` on both clocks.
    fn at(t0: Moment, n: u32) -> Moment {
        t0.plus(MINUTE * n, MINUTE * n)
    }

    #[test]
    fn locks_only_after_the_limit_with_nothing_reported() {
        let t0 = start();
        let watch = IdleWatch::new(MINUTE, t0);
        watch.set_limits(5, 15);
        assert_eq!(watch.overdue(at(t0, 4)), None);
        watch.touch(at(t0, 4), false);
        assert_eq!(
            watch.overdue(at(t0, 8)),
            None,
            "activity restarts the clock"
        );
        assert_eq!(watch.overdue(at(t0, 9)), Some(MINUTE * 5));
    }

    #[test]
    fn a_report_open_allows_the_longer_time_and_closing_it_does_not() {
        let t0 = start();
        let watch = IdleWatch::new(MINUTE, t0);
        watch.set_limits(5, 15);
        watch.touch(t0, true);
        assert_eq!(watch.overdue(at(t0, 14)), None);
        assert!(watch.overdue(at(t0, 15)).is_some());
        watch.touch(at(t0, 14), false);
        assert!(
            watch.overdue(at(t0, 19)).is_some(),
            "back on Home: five minutes"
        );
    }

    #[test]
    fn the_interview_time_is_never_shorter_and_an_old_report_cannot_rewind_the_clock() {
        let t0 = start();
        let watch = IdleWatch::new(MINUTE, at(t0, 10));
        watch.set_limits(20, 3);
        watch.touch(at(t0, 10), true);
        assert_eq!(
            watch.limit(),
            MINUTE * 20,
            "the interview time is never shorter"
        );
        watch.touch(t0, false);
        assert_eq!(
            watch.overdue(at(t0, 29)),
            None,
            "the clock keeps the later time"
        );
        assert!(watch.overdue(at(t0, 30)).is_some());
    }

    #[test]
    fn time_asleep_counts_and_a_clock_set_back_does_not_keep_the_desk_open() {
        let t0 = start();
        let watch = IdleWatch::new(MINUTE, t0);
        watch.set_limits(5, 15);
        // A laptop closed for two hours: the monotonic clock saw a second.
        let woken = t0.plus(Duration::from_secs(1), MINUTE * 120);
        assert!(watch.overdue(woken).is_some());
        watch.touch(woken, false);
        assert!(
            watch.overdue(woken).is_some(),
            "a key pressed on waking does not undo the lock"
        );
        watch.restart(woken);
        assert_eq!(watch.overdue(woken), None, "a new session starts afresh");
        watch.restart(t0);
        // The wall clock set back an hour: the monotonic clock still counts.
        let set_back = Moment {
            mono: t0.mono + MINUTE * 6,
            wall: t0.wall - MINUTE * 60,
            boot: None,
        };
        assert!(watch.overdue(set_back).is_some());
    }

    #[test]
    fn the_boot_time_clock_decides_where_there_is_one() {
        let t0 = Moment {
            boot: Some(MINUTE * 100),
            ..start()
        };
        let watch = IdleWatch::new(MINUTE, t0);
        watch.set_limits(5, 15);
        // The wall clock stepped a day forward (an old laptop's clock put
        // right): not a reason to lock.
        let stepped = Moment {
            mono: t0.mono + MINUTE,
            wall: t0.wall + MINUTE * 60 * 24,
            boot: Some(MINUTE * 101),
        };
        assert_eq!(watch.overdue(stepped), None);
        // Asleep for an hour: the boot-time clock saw it.
        let woken = Moment {
            mono: t0.mono + MINUTE,
            wall: t0.wall + MINUTE,
            boot: Some(MINUTE * 160),
        };
        assert!(watch.overdue(woken).is_some());
        assert!(boot_time().is_some() || cfg!(not(target_os = "linux")));
    }
}

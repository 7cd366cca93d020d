//! A year at a desk: one desk and one real hub (over real HTTP on loopback)
//! driven day by day on a clock the test controls, with what months bring:
//! about 2,000 reports, users added and removed, locks and unlocks, the
//! worker killed mid-pass and the app closed, retention every day, hub
//! outages and restarts, a re-enrolment with replaced partnership keys, a
//! trip by USB stick and a damaged report.
//!
//! After every day it checks what must always hold: every submitted report
//! is delivered exactly once (under a checked receipt) or waits with a
//! reason, nothing is lost, retention purges only what is due, the
//! summaries equal a plain reference model of the same reports, and the
//! audit chain verifies; every month, that no canary is in any file.
//!
//! The events come from a seeded generator: `HIRC_YEAR_SEED=N` replays a
//! run, `HIRC_YEAR_DAYS` and `HIRC_YEAR_REPORTS` (per day, on average) make
//! it longer or busier (CONTRIBUTING.md). The seed is printed at the start
//! and again on failure. A kill here is the worker's task aborted at a
//! random moment, keyed on what the hub has taken, and the store reopened:
//! SQLite's own transactions make that a crash as far as the store can
//! tell. Real SIGKILLs of the real binary are in `sync/faults.rs` and
//! `crash.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use hirc_core::model::Role;
use hirc_core::outbox::Enrolment;
use hirc_core::time::{Clock, desk_date};
use hirc_core::vault::{KdfCost, Passphrase};
use hirc_core::{Desk, DeskSetup, Session};
use hirc_hub::store::HubStore;
use hirc_proto::sign::SigningKey;
use hirc_sync::{HubClient, SharedDesk};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

mod checks;
mod events;
mod hub;

use crate::hub::Hub;

const RETENTION_DAYS: i64 = 30;
const STRANDS: &[&str] = &[
    "race_ethnicity",
    "religion_belief",
    "sexual_orientation",
    "disability",
    "transgender_identity",
    "alternative_subculture",
    "sex_gender",
    "age",
];
const TYPES: &[&str] = &[
    "verbal_abuse",
    "harassment",
    "threats",
    "physical_assault",
    "criminal_damage",
    "graffiti",
    "online_abuse",
    "hate_mail_or_leaflets",
    "spitting",
];
const PLACES: &[&str] = &[
    "street_or_public_place",
    "home_or_near_home",
    "public_transport",
    "shop_or_business",
    "workplace",
    "school_college_university",
    "place_of_worship",
    "online",
];

/// The simulated "now", shared by the desk's clock and the test.
#[derive(Clone)]
struct SimClock(Arc<AtomicI64>);

impl SimClock {
    fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(AtomicI64::new(start.timestamp_millis())))
    }
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).expect("a time")
    }
    fn advance(&self, by: chrono::Duration) {
        self.0.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let at = self.0.clone();
        Clock::driven(move || {
            DateTime::from_timestamp_millis(at.load(Ordering::SeqCst)).expect("a time")
        })
    }
}

/// What the test knows of one report.
#[derive(Debug, Clone)]
struct Model {
    owner: String,
    submitted: bool,
    deleted: bool,
    discarded: bool,
    taken_on: NaiveDate,
    strands: Vec<&'static str>,
    types: Vec<&'static str>,
    place: &'static str,
    account: String,
    /// When a checked delivery was first seen (simulated time).
    delivered_at: Option<DateTime<Utc>>,
    /// Its facts were damaged on purpose: set aside, left out of summaries.
    unreadable: bool,
}

struct Year {
    rng: StdRng,
    seed: u64,
    rt: tokio::runtime::Runtime,
    clock: SimClock,
    desk_dir: tempfile::TempDir,
    desk: SharedDesk,
    hub: Hub,
    identities: Vec<age::x25519::Identity>,
    passphrases: BTreeMap<String, (String, Role)>,
    sessions: BTreeMap<String, Session>,
    reports: BTreeMap<Uuid, Model>,
    canary: String,
    serial: u64,
    kills: u32,
    hub_outages: u32,
    days: i64,
}

fn pass(text: &str) -> Passphrase {
    Passphrase::new(text.into())
}

fn kdf() -> KdfCost {
    KdfCost::fixed(10).expect("kdf")
}

impl Year {
    fn new(seed: u64, days: i64) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let clock = SimClock::new(
            DateTime::parse_from_rfc3339("2027-01-04T08:00:00Z")
                .expect("start")
                .with_timezone(&Utc),
        );
        let desk_dir = tempfile::tempdir().expect("tmp");
        let (mut desk, _) = Desk::create(
            desk_dir.path(),
            &DeskSetup {
                centre_name: "Castle Point CVS",
                centre_code: "CP",
                coordinator: "Chris",
                passphrase: &pass("chris passphrase"),
                kdf: kdf(),
            },
        )
        .expect("desk");
        desk.set_clock(clock.clock());
        let partnership = age::x25519::Identity::generate();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let mut year = Self {
            rng: StdRng::seed_from_u64(seed),
            seed,
            rt,
            clock,
            desk_dir,
            desk: Arc::new(Mutex::new(desk)),
            hub: Hub {
                dir: tempfile::tempdir().expect("tmp"),
                port,
                recipients: vec![partnership.to_public().to_string()],
                receipt_secret: SigningKey::generate().secret_base64().to_string(),
                stop: None,
                task: None,
            },
            identities: vec![partnership],
            passphrases: BTreeMap::from([(
                "Chris".to_string(),
                ("chris passphrase".to_string(), Role::Coordinator),
            )]),
            sessions: BTreeMap::new(),
            reports: BTreeMap::new(),
            canary: format!("CANARY-year-{seed}"),
            serial: 0,
            kills: 0,
            hub_outages: 0,
            days,
        };
        year.hub.start(&year.rt);
        year.enrol(false);
        year
    }

    fn desk(&self) -> std::sync::MutexGuard<'_, Desk> {
        self.desk.lock().expect("desk")
    }

    fn today(&self) -> NaiveDate {
        desk_date(self.clock.now())
    }

    /// `name`'s session, unlocking if needed.
    fn session(&mut self, name: &str) -> &Session {
        if !self.sessions.contains_key(name) {
            let (passphrase, _) = self.passphrases[name].clone();
            let s = self
                .desk()
                .unlock(name, &pass(&passphrase))
                .unwrap_or_else(|e| panic!("{name} unlocks: {e}"));
            self.sessions.insert(name.to_string(), s);
        }
        &self.sessions[name]
    }

    fn coordinator(&self) -> String {
        self.passphrases
            .iter()
            .find(|(_, (_, role))| *role == Role::Coordinator)
            .map(|(n, _)| n.clone())
            .expect("a coordinator")
    }

    /// Enrols (again) with a fresh code; `replace`: the partnership's keys
    /// changed.
    fn enrol(&mut self, replace: bool) {
        let code = hirc_hub::secrets::new_enrol_code();
        let store = self.hub.store();
        self.rt
            .block_on(store.add_enrol_code(
                &hirc_hub::secrets::hash(&hirc_hub::secrets::normalise_code(&code)),
                "Castle Point CVS",
                Utc::now() + chrono::Duration::hours(1),
            ))
            .expect("code");
        let who = self.coordinator();
        self.session(&who);
        let s = &self.sessions[&who];
        let url = self.hub.url();
        let (key, previous) = {
            let mut desk = self.desk.lock().expect("desk");
            (desk.device_key(s).expect("key"), desk.previous_device(&url))
        };
        let response = self
            .rt
            .block_on(async {
                HubClient::new(&url, None)
                    .expect("client")
                    .enrol(&code, "front desk", &key, previous)
                    .await
            })
            .expect("enrol");
        self.desk
            .lock()
            .expect("desk")
            .enrol(s, &Enrolment::from_response(&url, &response), replace)
            .expect("record enrolment");
    }

    /// The app closed (or crashed) and opened again: sessions are gone, the
    /// store is opened afresh.
    fn reopen(&mut self) {
        self.sessions.clear();
        let mut desk = Desk::open(self.desk_dir.path()).expect("the store opens again");
        desk.set_clock(self.clock.clock());
        *self.desk.lock().expect("desk") = desk;
    }

    fn run(&mut self) {
        let per_day: f64 = std::env::var("HIRC_YEAR_REPORTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5.5);
        let rekey_day = self.days * 200 / 365;
        let usb_day = self.days * 250 / 365;
        let damage_day = self.days * 300 / 365;
        let mut outage_left = 0;
        for day in 1..=self.days {
            self.clock.advance(chrono::Duration::days(1));
            self.people(day);

            // The hub: down for a few days now and then, restarted at times.
            if outage_left > 0 {
                outage_left -= 1;
                if outage_left == 0 {
                    self.hub.start(&self.rt);
                }
            } else if self.rng.gen_bool(0.02) && day != usb_day {
                self.hub.stop(&self.rt);
                self.hub_outages += 1;
                outage_left = self.rng.gen_range(1..=5);
            } else if self.rng.gen_bool(0.03) {
                self.hub.stop(&self.rt);
                self.hub.start(&self.rt);
            }

            // The day's reports, with passes between them as the worker
            // would run (some killed part way).
            let n = (per_day * 2.0 * self.rng.r#gen::<f64>()).round() as usize;
            for _ in 0..n {
                self.clock
                    .advance(chrono::Duration::minutes(self.rng.gen_range(5..60)));
                self.new_report();
                if self.rng.gen_bool(0.3) {
                    let kill = self.rng.gen_bool(0.15);
                    self.sync(false, kill);
                }
            }
            if self.rng.gen_bool(0.05) {
                self.reopen();
            }
            if day == rekey_day {
                // The partnership replaces its key (the old one is kept to
                // read what was already sent).
                let fresh = age::x25519::Identity::generate();
                self.hub.recipients = vec![fresh.to_public().to_string()];
                self.identities.push(fresh);
                self.hub.stop(&self.rt);
                self.hub.start(&self.rt);
                self.enrol(true);
            }
            if day == usb_day {
                let was_up = self.hub.up();
                self.hub.stop(&self.rt);
                self.usb_trip();
                if was_up {
                    self.hub.start(&self.rt);
                }
            }
            if day == damage_day {
                self.damage();
            }
            // The evening pass (the worker's, or "sync now"), and retention.
            self.sync(true, false);
            {
                let mut desk = self.desk();
                let now = desk.now();
                desk.purge_expired(now).expect("purge");
            }
            self.check(day, day % 7 == 0 || day == self.days);
            if self.hub.up() {
                let waiting: Vec<Uuid> = self
                    .reports
                    .iter()
                    .filter(|(_, m)| m.submitted && m.delivered_at.is_none())
                    .map(|(id, _)| *id)
                    .collect();
                assert!(
                    waiting.is_empty(),
                    "day {day}: with the hub up after a full pass, {} report(s) still wait: {:?}",
                    waiting.len(),
                    &waiting[..waiting.len().min(3)]
                );
            } else {
                // Waiting with a reason: the hub could not be reached.
                let summary = self.desk().outbox_summary().expect("summary");
                assert!(
                    summary.waiting == 0 || summary.last_error.is_some(),
                    "day {day}: reports wait with no reason"
                );
            }
            if day % 30 == 0 {
                self.scan(day);
            }
        }
        self.hub.start(&self.rt);
        self.sync(true, false);
        self.check(self.days, true);
        self.scan(self.days);
        self.final_export();
    }
}

#[test]
fn a_year_at_a_desk() {
    let seed = std::env::var("HIRC_YEAR_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let days = std::env::var("HIRC_YEAR_DAYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(365);
    eprintln!("a year at a desk: HIRC_YEAR_SEED={seed} HIRC_YEAR_DAYS={days}");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut year = Year::new(seed, days);
        year.run();
        year.hub.stop(&year.rt);
    }));
    if let Err(e) = outcome {
        eprintln!(
            "the year failed; replay it with: HIRC_YEAR_SEED={seed} HIRC_YEAR_DAYS={days} cargo test -p hirc-e2e --test year"
        );
        std::panic::resume_unwind(e);
    }
}

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
//! tell. Real SIGKILLs of the real binary are in `sync.rs` and `crash.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hirc_core::model::{IncidentType, LocationType, Report, ReportState, Role, Strand};
use hirc_core::outbox::Enrolment;
use hirc_core::summary::{Cell, SummaryOptions};
use hirc_core::time::Clock;
use hirc_core::vault::{KdfCost, Passphrase};
use hirc_core::{Desk, DeskSetup, Session};
use hirc_e2e::{EXAMPLE_REPORT, contains};
use hirc_hub::server::{AppState, HubConfig, Listen};
use hirc_hub::store::{HubStore, SqliteStore};
use hirc_proto::sign::SigningKey;
use hirc_sync::{HubClient, PassOptions, SharedDesk, run_pass};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

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

/// A real hub on a fixed loopback port, stopped and started as a service
/// manager would.
struct Hub {
    dir: tempfile::TempDir,
    port: u16,
    recipients: Vec<String>,
    receipt_secret: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Hub {
    fn store(&self) -> SqliteStore {
        SqliteStore::open(self.dir.path()).expect("hub store")
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn up(&self) -> bool {
        self.task.is_some()
    }

    fn start(&mut self, rt: &tokio::runtime::Runtime) {
        if self.up() {
            return;
        }
        let store: Arc<dyn HubStore> = Arc::new(self.store());
        let config = HubConfig {
            hub_name: "Essex hub".into(),
            recipients: self.recipients.clone(),
            rate_per_minute: u32::MAX,
            ..HubConfig::default()
        };
        let key = SigningKey::from_secret_base64(&self.receipt_secret).expect("key");
        let state = AppState::new(store, config, key);
        let port = self.port;
        let listener = rt.block_on(async {
            // The port may linger a moment after a stop.
            for _ in 0..200 {
                if let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                    return l;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("port {port} never came free");
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.stop = Some(tx);
        self.task = Some(rt.spawn(async move {
            let _ = hirc_hub::server::serve_with(listener, state, Listen::default(), async {
                let _ = rx.await;
            })
            .await;
        }));
    }

    fn stop(&mut self, rt: &tokio::runtime::Runtime) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = rt.block_on(task);
        }
    }

    /// Report id -> (device, digest) of every revision the hub holds,
    /// failing if it holds one twice.
    fn held(&self) -> BTreeMap<Uuid, (Uuid, String)> {
        let conn = rusqlite::Connection::open_with_flags(
            self.dir.path().join("hub.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("hub store");
        conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
        let mut stmt = conn
            .prepare("SELECT report_id, device_id, digest FROM reports")
            .expect("query");
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .expect("rows");
        let mut out = BTreeMap::new();
        for row in rows {
            let (report, device, digest) = row.expect("row");
            let report: Uuid = report.parse().expect("id");
            let previous = out.insert(report, (device.parse().expect("device"), digest));
            assert!(previous.is_none(), "the hub holds report {report} twice");
        }
        out
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
        self.clock.now().date_naive()
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
        self.hub
            .store()
            .add_enrol_code(
                &hirc_hub::secrets::hash(&hirc_hub::secrets::normalise_code(&code)),
                "Castle Point CVS",
                Utc::now() + chrono::Duration::hours(1),
            )
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
            .enrol(
                s,
                &Enrolment {
                    url: &url,
                    hub_name: &response.hub_name,
                    device_id: response.device_id,
                    token: &response.token,
                    recipients: &response.recipients,
                    ca_pem: None,
                    receipt_key: response.receipt_key.as_deref(),
                    device_key: None,
                },
                replace,
            )
            .expect("record enrolment");
    }

    fn new_report(&mut self) {
        let users: Vec<String> = self.passphrases.keys().cloned().collect();
        let owner = users.choose(&mut self.rng).expect("a user").clone();
        self.serial += 1;
        let (n_strands, n_types) = (self.rng.gen_range(1..=2), self.rng.gen_range(1..=2));
        let strands: Vec<&'static str> = STRANDS
            .choose_multiple(&mut self.rng, n_strands)
            .copied()
            .collect();
        let types: Vec<&'static str> = TYPES
            .choose_multiple(&mut self.rng, n_types)
            .copied()
            .collect();
        let place = *PLACES.choose(&mut self.rng).expect("place");
        let account = format!("{} account {} of the year", self.canary, self.serial);
        // Never today: the desk checks dates against its local calendar.
        let occurred = self.today() - chrono::Duration::days(self.rng.gen_range(1..10));
        let mut json: Value = serde_json::from_str(EXAMPLE_REPORT).expect("example");
        json["strands"] = json!(strands);
        json["incident_types"] = json!(types);
        json["location_type"] = json!(place);
        json["description"] = json!(account);
        json["person"]["name"] = json!(format!("{} person {}", self.canary, self.serial));
        json["occurred_on"] = json!(occurred.to_string());
        let (report, _) = Report::from_json(json.to_string().as_bytes()).expect("report");
        let submit = self.rng.gen_bool(0.92);
        let delete = !submit && self.rng.gen_bool(0.3);
        let taken_on = self.today();
        self.session(&owner);
        let s = &self.sessions[&owner];
        let mut desk = self.desk.lock().expect("desk");
        // Autosaved as the interview goes: a partial draft, then the whole.
        let mut partial = report.clone();
        partial.description = None;
        let id = desk.create_draft(s, &partial).expect("draft");
        desk.save_draft(s, id, &report).expect("autosave");
        if submit {
            desk.submit(s, id).expect("submit");
        } else if delete {
            desk.delete_draft(s, id).expect("delete");
        }
        drop(desk);
        self.reports.insert(
            id,
            Model {
                owner,
                submitted: submit,
                deleted: delete,
                discarded: false,
                taken_on,
                strands,
                types,
                place,
                account,
                delivered_at: None,
                unreadable: false,
            },
        );
    }

    /// One upload pass; if `kill`, aborted once the hub has taken part of
    /// what is due (or at once), and the store reopened as after a crash.
    fn sync(&mut self, ignore_backoff: bool, kill: bool) {
        let options = PassOptions {
            ignore_backoff,
            ..PassOptions::default()
        };
        if !kill {
            let desk = self.desk.clone();
            self.rt
                .block_on(async move { run_pass(&desk, options).await })
                .expect("pass");
            return;
        }
        let before = self.hub.held().len();
        let take = self.rng.gen_range(0..4);
        let desk = self.desk.clone();
        let task = self.rt.spawn(async move { run_pass(&desk, options).await });
        while !task.is_finished() && self.hub.held().len() < before + take {
            std::thread::sleep(Duration::from_millis(1));
        }
        task.abort();
        let _ = self.rt.block_on(task);
        self.kills += 1;
        self.reopen();
    }

    /// The app closed (or crashed) and opened again: sessions are gone, the
    /// store is opened afresh.
    fn reopen(&mut self) {
        self.sessions.clear();
        let mut desk = Desk::open(self.desk_dir.path()).expect("the store opens again");
        desk.set_clock(self.clock.clock());
        *self.desk.lock().expect("desk") = desk;
    }

    /// The day's users: now and then someone joins, leaves or changes
    /// their passphrase; sessions end (lock, auto-lock).
    fn people(&mut self, day: i64) {
        let who = self.coordinator();
        if self.rng.gen_bool(0.04) && self.passphrases.len() < 6 {
            let name = format!("User{day}");
            let role = if self.rng.gen_bool(0.3) {
                Role::Coordinator
            } else {
                Role::Ambassador
            };
            let passphrase = format!("{name} long passphrase");
            self.session(&who);
            let s = &self.sessions[&who];
            self.desk
                .lock()
                .expect("desk")
                .add_user(s, &name, role, &pass(&passphrase), kdf())
                .expect("add user");
            self.passphrases.insert(name, (passphrase, role));
        }
        if self.rng.gen_bool(0.03) {
            let removable: Vec<String> = self
                .passphrases
                .iter()
                .filter(|(n, (_, r))| {
                    **n != who && (*r == Role::Ambassador || self.coordinators() > 1)
                })
                .map(|(n, _)| n.clone())
                .collect();
            if let Some(name) = removable.choose(&mut self.rng).cloned() {
                self.session(&who);
                let s = &self.sessions[&who];
                self.desk
                    .lock()
                    .expect("desk")
                    .remove_user(s, &name)
                    .expect("remove user");
                self.passphrases.remove(&name);
                self.sessions.remove(&name);
                // Their drafts stay, but nobody can finish them now.
                for m in self.reports.values_mut() {
                    if m.owner == name && !m.submitted {
                        m.owner = who.clone();
                    }
                }
            }
        }
        if self.rng.gen_bool(0.02) {
            let name = self.passphrases.keys().next().expect("a user").clone();
            let fresh = format!("{name} passphrase of day {day}");
            self.session(&name);
            let s = &self.sessions[&name];
            self.desk
                .lock()
                .expect("desk")
                .set_passphrase(s, &name, &pass(&fresh), kdf())
                .expect("passwd");
            self.passphrases.get_mut(&name).expect("user").0 = fresh;
        }
        // Locks: everyone, or someone.
        if self.rng.gen_bool(0.5) {
            self.sessions.clear();
        } else if let Some(name) = self.sessions.keys().next().cloned() {
            self.sessions.remove(&name);
        }
    }

    fn coordinators(&self) -> usize {
        self.passphrases
            .values()
            .filter(|(_, r)| *r == Role::Coordinator)
            .count()
    }

    /// Reports carried to the hub by hand while it cannot be reached.
    fn usb_trip(&mut self) {
        let who = self.coordinator();
        self.session(&who);
        let s = &self.sessions[&who];
        let file = self
            .desk
            .lock()
            .expect("desk")
            .outbox_file(s)
            .expect("outbox file");
        let work = tempfile::tempdir().expect("tmp");
        let (outbox, receipts) = (
            work.path().join("outbox.json"),
            work.path().join("receipts.json"),
        );
        std::fs::write(&outbox, serde_json::to_vec(&file).expect("json")).expect("write");
        let key = SigningKey::from_secret_base64(&self.hub.receipt_secret).expect("key");
        let summary = hirc_hub::import::outbox_file(&self.hub.store(), &outbox, &receipts, &key)
            .expect("import");
        assert!(summary.refused.is_empty(), "{:?}", summary.refused);
        let back: hirc_proto::ReceiptFile =
            serde_json::from_slice(&std::fs::read(&receipts).expect("receipts")).expect("json");
        let outcome = self
            .desk
            .lock()
            .expect("desk")
            .apply_receipt_file(s, &back)
            .expect("receipts");
        assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
        assert!(!contains(
            &std::fs::read(&outbox).expect("stick"),
            &self.canary
        ));
    }

    /// Damages one submitted report's facts in the store file, as a failing
    /// disk would.
    fn damage(&mut self) {
        let candidates: Vec<Uuid> = self
            .reports
            .iter()
            .filter(|(_, m)| m.submitted && !m.unreadable)
            .map(|(id, _)| *id)
            .collect();
        let Some(id) = candidates.choose(&mut self.rng).copied() else {
            return;
        };
        let desk = self.desk();
        let conn = rusqlite::Connection::open(desk.path()).expect("store");
        let mut facts: Vec<u8> = conn
            .query_row(
                "SELECT facts FROM reports WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .expect("facts");
        let middle = facts.len() / 2;
        facts[middle] ^= 0xA5;
        conn.execute(
            "UPDATE reports SET facts = ?1 WHERE id = ?2",
            rusqlite::params![facts, id.to_string()],
        )
        .expect("damage");
        drop(desk);
        self.reports.get_mut(&id).expect("model").unreadable = true;
    }

    /// What must hold at the end of every day.
    fn check(&mut self, day: i64, full: bool) {
        let now = self.clock.now();
        let held = self.hub.held();
        let who = self.coordinator();
        self.session(&who);
        let s = &self.sessions[&who];
        let mut desk = self.desk.lock().expect("desk");
        let listed: BTreeMap<Uuid, hirc_core::ReportListing> = desk
            .list_reports(s)
            .expect("list")
            .into_iter()
            .map(|l| (l.row.id, l))
            .collect();
        let link = desk.hub().expect("hub").expect("enrolled");
        let ours: BTreeSet<Uuid> = link
            .former_devices
            .iter()
            .copied()
            .chain([link.device_id])
            .collect();

        // The hub holds only this desk's submitted reports, each once.
        for (id, (device, _)) in &held {
            let m = self.reports.get(id).unwrap_or_else(|| {
                panic!("day {day}: the hub holds {id}, which the desk never sent")
            });
            assert!(m.submitted, "day {day}: the hub holds a draft");
            assert!(ours.contains(device), "day {day}: {id} from another desk");
        }
        let retention = chrono::Duration::days(RETENTION_DAYS);
        for (id, m) in self.reports.iter_mut() {
            let row = listed.get(id);
            if m.deleted || m.discarded {
                assert!(row.is_none(), "day {day}: deleted {id} still listed");
                continue;
            }
            let row = row.unwrap_or_else(|| panic!("day {day}: report {id} was lost"));
            if !m.submitted {
                assert_eq!(row.row.state, ReportState::Draft, "day {day}: {id}");
                continue;
            }
            if m.unreadable {
                assert!(
                    row.set_aside.is_some(),
                    "day {day}: damaged {id} not set aside"
                );
            }
            match row.row.state {
                // Waiting (the hub may already hold it, if a pass was killed
                // before the desk recorded the receipt: the next pass
                // fetches the same receipt).
                ReportState::Sealed => {}
                ReportState::Delivered | ReportState::Purged => {
                    let upload = row.upload.as_ref().expect("upload state");
                    assert!(
                        upload.checked,
                        "day {day}: {id} delivered under an unchecked receipt"
                    );
                    assert!(
                        held.contains_key(id),
                        "day {day}: {id} delivered, but not at the hub"
                    );
                    let digest = &held[id].1;
                    assert_eq!(
                        upload.receipt.as_ref().map(|r| &r.digest),
                        Some(digest),
                        "day {day}: {id}'s receipt is for what the hub holds"
                    );
                    let first = *m.delivered_at.get_or_insert(now);
                    if row.row.state == ReportState::Purged {
                        // Purged only once its time had come (a day's slack:
                        // deliveries are seen once a day).
                        assert!(
                            now - first >= retention - chrono::Duration::days(1),
                            "day {day}: {id} purged {} days after delivery",
                            (now - first).num_days()
                        );
                    } else {
                        assert!(
                            now - first <= retention + chrono::Duration::days(2),
                            "day {day}: {id} kept {} days after delivery",
                            (now - first).num_days()
                        );
                    }
                }
                ReportState::Draft => panic!("day {day}: submitted {id} is a draft again"),
            }
        }

        if full {
            // Summaries equal a plain count of the same reports.
            let from = self
                .reports
                .values()
                .map(|m| m.taken_on)
                .min()
                .unwrap_or(now.date_naive());
            let summary = desk
                .summary(
                    s,
                    SummaryOptions {
                        from,
                        to: now.date_naive(),
                        threshold: 2,
                    },
                )
                .expect("summary");
            let counted: Vec<&Model> = self
                .reports
                .values()
                .filter(|m| m.submitted && !m.deleted && !m.discarded && !m.unreadable)
                .collect();
            let expected = |key: &str| -> BTreeMap<String, u64> {
                let mut out = BTreeMap::new();
                for m in &counted {
                    let labels: Vec<String> = match key {
                        "strands" => m.strands.iter().map(|w| label::<Strand>(w)).collect(),
                        "incident_types" => {
                            m.types.iter().map(|w| label::<IncidentType>(w)).collect()
                        }
                        "location_types" => vec![label::<LocationType>(m.place)],
                        "months" => vec![
                            NaiveDate::from_ymd_opt(m.taken_on.year(), m.taken_on.month(), 1)
                                .expect("month")
                                .format("%B %Y")
                                .to_string(),
                        ],
                        "upload" => vec![if m.delivered_at.is_some() {
                            "Delivered".to_string()
                        } else {
                            "Waiting".to_string()
                        }],
                        _ => unreachable!(),
                    };
                    for l in labels {
                        *out.entry(l).or_default() += 1;
                    }
                }
                out
            };
            assert_eq!(
                summary.tables[0].rows[0].cell,
                Cell::Count(counted.len() as u64),
                "day {day}: reports in the summary"
            );
            assert_eq!(
                summary.not_counted,
                self.reports
                    .values()
                    .filter(|m| m.submitted && m.unreadable && !m.discarded)
                    .count() as u64
            );
            for key in [
                "strands",
                "incident_types",
                "location_types",
                "months",
                "upload",
            ] {
                let model = expected(key);
                let table = summary
                    .tables
                    .iter()
                    .find(|t| t.key == key)
                    .unwrap_or_else(|| panic!("no {key} table"));
                for row in &table.rows {
                    let want = model.get(&row.label).copied().unwrap_or(0);
                    match row.cell {
                        Cell::Count(n) => assert_eq!(n, want, "day {day}: {key} / {}", row.label),
                        Cell::Small => {
                            assert!(want == 1, "day {day}: {key} / {} hides {want}", row.label)
                        }
                        Cell::Secondary => {}
                    }
                }
            }
            assert!(
                desk.verify_audit(s).expect("audit").is_ok(),
                "day {day}: the audit chain is broken"
            );
        }
    }

    /// No canary in any file of the desk or the hub.
    fn scan(&self, day: i64) {
        for dir in [self.desk_dir.path(), self.hub.dir.path()] {
            for (path, bytes) in files(dir) {
                assert!(
                    !contains(&bytes, &self.canary),
                    "day {day}: {} holds report content",
                    path.display()
                );
            }
        }
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

    /// What the partnership reads at the end: every submitted report once,
    /// whole, with either of its keys.
    fn final_export(&mut self) {
        let mut out = Vec::new();
        let summary = hirc_hub::export::export(
            &self.hub.store(),
            &self.identities,
            None,
            hirc_hub::export::Format::Jsonl,
            &mut out,
        )
        .expect("export");
        assert!(summary.failed.is_empty(), "{:?}", summary.failed);
        let mut seen = BTreeSet::new();
        for line in String::from_utf8(out).expect("utf8").lines() {
            let v: Value = serde_json::from_str(line).expect("json");
            let id: Uuid = v["receipt"]["report_id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("uuid");
            assert!(seen.insert(id), "{id} exported twice");
            let m = &self.reports[&id];
            assert_eq!(v["report"]["report"]["description"], m.account.as_str());
        }
        let submitted: BTreeSet<Uuid> = self
            .reports
            .iter()
            .filter(|(_, m)| m.submitted)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            seen, submitted,
            "the partnership has every submitted report"
        );
        let total = self.reports.values().filter(|m| m.submitted).count();
        eprintln!(
            "seed {}: {} days, {} reports ({total} submitted), {} kills, {} hub outages, {} users at the end",
            self.seed,
            self.days,
            self.reports.len(),
            self.kills,
            self.hub_outages,
            self.passphrases.len()
        );
    }
}

/// The engine's English label for a closed-list word.
fn label<T: serde::de::DeserializeOwned + Labelled>(word: &str) -> String {
    serde_json::from_value::<T>(json!(word))
        .expect("a list word")
        .label()
        .to_string()
}

trait Labelled {
    fn label(self) -> &'static str;
}

impl Labelled for Strand {
    fn label(self) -> &'static str {
        Strand::label(self)
    }
}
impl Labelled for IncidentType {
    fn label(self) -> &'static str {
        IncidentType::label(self)
    }
}
impl Labelled for LocationType {
    fn label(self) -> &'static str {
        LocationType::label(self)
    }
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, bytes));
            }
        }
    }
    out
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

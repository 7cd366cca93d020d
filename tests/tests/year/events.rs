//! What a day brings: new reports, upload passes (some killed), people
//! joining and leaving, a trip by USB stick and a damaged report.

use std::time::Duration;

use hirc_core::model::{Report, Role};
use hirc_e2e::{EXAMPLE_REPORT, contains};
use hirc_proto::sign::SigningKey;
use hirc_sync::{PassOptions, run_pass};
use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Model, PLACES, STRANDS, TYPES, Year, kdf, pass};

impl Year {
    pub(crate) fn new_report(&mut self) {
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
    pub(crate) fn sync(&mut self, ignore_backoff: bool, kill: bool) {
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

    /// The day's users: now and then someone joins, leaves or changes
    /// their passphrase; sessions end (lock, auto-lock).
    pub(crate) fn people(&mut self, day: i64) {
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
    pub(crate) fn usb_trip(&mut self) {
        let who = self.coordinator();
        self.session(&who);
        let s = &self.sessions[&who];
        let file = self
            .desk
            .lock()
            .expect("desk")
            .outbox_file(s)
            .expect("outbox file")
            .file;
        let work = tempfile::tempdir().expect("tmp");
        let (outbox, receipts) = (
            work.path().join("outbox.json"),
            work.path().join("receipts.json"),
        );
        std::fs::write(&outbox, serde_json::to_vec(&file).expect("json")).expect("write");
        let key = SigningKey::from_secret_base64(&self.hub.receipt_secret).expect("key");
        let summary = self
            .rt
            .block_on(hirc_hub::import::outbox_file(
                &self.hub.store(),
                &outbox,
                &receipts,
                &key,
            ))
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
    pub(crate) fn damage(&mut self) {
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
}

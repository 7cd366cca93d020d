//! What must hold: the daily checks against the model, the monthly scan for
//! canaries, and the partnership's export at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use hirc_core::model::{IncidentType, LocationType, ReportState, Strand};
use hirc_core::summary::{Cell, SummaryOptions};
use hirc_core::time::desk_date;
use hirc_e2e::contains;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Model, RETENTION_DAYS, Year};

impl Year {
    /// What must hold at the end of every day.
    pub(crate) fn check(&mut self, day: i64, full: bool) {
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
                .unwrap_or(desk_date(now));
            let summary = desk
                .summary(
                    s,
                    SummaryOptions {
                        from,
                        to: desk_date(now),
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
    pub(crate) fn scan(&self, day: i64) {
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

    /// What the partnership reads at the end: every submitted report once,
    /// whole, with either of its keys.
    pub(crate) fn final_export(&mut self) {
        let mut out = Vec::new();
        let summary = self
            .rt
            .block_on(hirc_hub::export::export(
                &self.hub.store(),
                &self.identities,
                None,
                hirc_hub::export::Format::Jsonl,
                &mut out,
            ))
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

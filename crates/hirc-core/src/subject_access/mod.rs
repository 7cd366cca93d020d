//! A copy for the person (UK GDPR's right of access): a PDF, in their
//! language, of everything the desk holds about one report: what they told
//! us (every answer, as the desk holds it now), what they agreed to, each
//! revision and when it went to the partnership's hub, and the
//! partnership's word on it. Coordinators make it, for the person in front
//! of them, and it is audited; it holds their personal data, so it is
//! written where the coordinator chooses and handed over, never kept.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;
use serde_json::Value;

use crate::desk::{ConsentGiven, Desk, Session, require_coordinator};
use crate::error::Result;
use crate::evidence::Evidence;
use crate::model::{self, Report};
use crate::pdf::lines::{Lines, long_date};
use crate::pdf::{About, INK, MUTED, Measure, Page, Weight};
use crate::time;
use crate::word_back::PartnershipStatus;
use crate::words::Wording;

mod files;
pub use files::{new_folder_for_the_files, where_the_files_go};

/// Everything the desk holds about one report, for the person.
#[derive(Debug, Clone)]
pub struct SubjectAccess {
    /// The report's id.
    pub id: uuid::Uuid,
    /// The report's reference.
    pub reference: String,
    /// The centre's name.
    pub centre_name: String,
    /// The day the copy was made.
    pub made_on: NaiveDate,
    /// When the report was taken.
    pub taken_at: DateTime<Utc>,
    /// The report as the desk holds it now; `None` once its personal data
    /// were deleted after the retention period.
    pub report: Option<Report>,
    /// What the person agreed to.
    pub consent: ConsentGiven,
    /// Each revision the desk sealed, and when it went to the hub.
    pub revisions: Vec<RevisionSent>,
    /// The hub the revisions went to (its name), if the desk is enrolled.
    pub hub_name: Option<String>,
    /// What the partnership has said about it.
    pub statuses: Vec<PartnershipStatus>,
    /// The files the person gave with it, as the desk keeps them: the
    /// report's, then any on a follow-up not sealed yet (their `report_id`
    /// is not [`SubjectAccess::id`]); none once the personal data were
    /// deleted.
    pub evidence: Vec<Evidence>,
}

/// One revision, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSent {
    /// 1 for the report, 2… for each follow-up.
    pub revision: u32,
    /// When it was sealed.
    pub sealed_at: DateTime<Utc>,
    /// When the hub's receipt for it arrived, if it has.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Desk {
    /// Everything the desk holds about the report a person quotes
    /// (coordinators; the opening is audited, and the caller audits the
    /// file it writes with [`Desk::record_export`]).
    pub fn subject_access(&mut self, s: &Session, quoted: &str) -> Result<SubjectAccess> {
        require_coordinator(s, "making a copy of a report for the person")?;
        let page = self.find_report(s, quoted)?;
        let report = if page.purged {
            None
        } else {
            let row = self.row(page.id)?;
            self.open_body(s, &row)?.1
        };
        let mut revisions = Vec::new();
        {
            let mut stmt = self.db().prepare(
                "SELECT revision, queued_at, delivered_at FROM outbox
                 WHERE report_id = ?1 ORDER BY revision",
            )?;
            let rows = stmt.query_map(params![page.id.to_string()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?;
            for row in rows {
                let (revision, queued, delivered) = row?;
                let Some(sealed_at) = time::from_text(&queued) else {
                    continue;
                };
                revisions.push(RevisionSent {
                    revision: u32::try_from(revision).unwrap_or_default(),
                    sealed_at,
                    delivered_at: delivered.as_deref().and_then(time::from_text),
                });
            }
        }
        let evidence = self.evidence_held(s, page.id)?;
        Ok(SubjectAccess {
            id: page.id,
            reference: page.reference,
            centre_name: self.info().centre_name.clone(),
            made_on: self.today(),
            taken_at: page.taken_at,
            report,
            consent: page.consent,
            revisions,
            hub_name: self.hub()?.map(|link| link.hub_name),
            statuses: page.statuses,
            evidence,
        })
    }
}

/// Writes the copy as a PDF in `words`'s language.
pub fn to_pdf(copy: &SubjectAccess, words: &Wording) -> Result<Vec<u8>> {
    let pages = layout(copy, &Measure::load()?, words);
    crate::pdf::paint(
        pages,
        &About {
            title: words.fill(
                "access.document_title",
                &[
                    ("centre", &copy.centre_name),
                    ("reference", &copy.reference),
                ],
            ),
            language: words.language(),
            right_to_left: words.right_to_left(),
        },
    )
}

/// The characters of this copy its fonts cannot draw.
pub fn undrawable(copy: &SubjectAccess, words: &Wording) -> Result<Vec<char>> {
    let m = Measure::load()?;
    Ok(crate::pdf::undrawable(&layout(copy, &m, words), &m))
}

/// Each answer of a report, in the form's order: its path and, for a
/// closed list, the list's name.
const FIELDS: &[(&str, Option<&str>)] = &[
    ("reporter_role", Some("reporter_role")),
    ("language_used", None),
    ("interpreter_used", None),
    ("incident_types", Some("incident_types")),
    ("incident_type_other", None),
    ("description", None),
    ("repeat", Some("repeat")),
    ("related_reference", None),
    ("offender_count", Some("offender_count")),
    ("known_to_person", Some("yes_no_unknown")),
    ("offender_description", None),
    ("injury", Some("injury")),
    ("medical_treatment", None),
    ("witnesses_present", Some("yes_no_unknown")),
    ("witness_details", None),
    ("occurred_on", None),
    ("approximate", None),
    ("occurred_time", None),
    ("location_type", Some("location_type")),
    ("area", None),
    ("location_details", None),
    ("strands", Some("strands")),
    ("strand_other", None),
    ("anonymous", None),
    ("person.name", None),
    ("person.phone", None),
    ("person.email", None),
    ("person.address", None),
    ("person.safe_contact_method", None),
    ("person.safe_contact_times", None),
    ("person.preferred_language", None),
    ("person.age_band", Some("age_band")),
    ("person.gender", Some("gender")),
    ("person.ethnicity", Some("ethnicity")),
    ("person.religion", Some("religion")),
    ("person.disability", Some("yes_no_prefer_not")),
    ("person.sexual_orientation", Some("sexual_orientation")),
    ("person.trans_history", Some("yes_no_prefer_not")),
    ("already_reported", None),
    ("crime_reference", None),
    ("support_needs", Some("support_needs")),
    ("support_notes", None),
    ("what_changed", None),
];

/// The English label of a closed list's word.
fn english_label(list: &str, word: &str) -> Option<&'static str> {
    use model::*;
    Some(match list {
        "reporter_role" => ReporterRole::from_word(word)?.label(),
        "incident_types" => IncidentType::from_word(word)?.label(),
        "repeat" => Repeat::from_word(word)?.label(),
        "offender_count" => OffenderCount::from_word(word)?.label(),
        "yes_no_unknown" => YesNoUnknown::from_word(word)?.label(),
        "injury" => Injury::from_word(word)?.label(),
        "location_type" => LocationType::from_word(word)?.label(),
        "strands" => Strand::from_word(word)?.label(),
        "age_band" => AgeBand::from_word(word)?.label(),
        "gender" => Gender::from_word(word)?.label(),
        "ethnicity" => Ethnicity::from_word(word)?.label(),
        "religion" => Religion::from_word(word)?.label(),
        "yes_no_prefer_not" => YesNoPreferNot::from_word(word)?.label(),
        "sexual_orientation" => SexualOrientation::from_word(word)?.label(),
        "support_needs" => SupportNeed::from_word(word)?.label(),
        "pass_to_police" => PassToPolice::from_word(word)?.label(),
        _ => return None,
    })
}

/// An answer in `words`'s language; `None` when it was not given.
fn answer(value: &Value, list: Option<&str>, words: &Wording) -> Option<String> {
    let word = |w: &str| match list {
        Some(list) => words
            .own(&format!("vocab.{list}.{w}"))
            .or_else(|| english_label(list, w).map(str::to_string))
            .unwrap_or_else(|| w.to_string()),
        None => w.to_string(),
    };
    match value {
        Value::Null => None,
        Value::Bool(yes) => Some(words.text(if *yes { "app.yes" } else { "app.no" })),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(word(s)),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(word)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => Some(other.to_string()),
    }
}

/// The English field label, from the form's (the app's `field.*` words).
fn field_label(path: &str, words: &Wording) -> String {
    let key = format!("field.{}", path.rsplit('.').next().unwrap_or(path));
    words
        .own(&key)
        .or_else(|| ENGLISH_FIELDS.with(|english| english.own(&key)))
        .unwrap_or_else(|| path.to_string())
}

thread_local! {
    /// The app's English words (for the field labels the engine has no
    /// words of its own for).
    static ENGLISH_FIELDS: Wording = Wording::new(
        "en",
        serde_json::from_str::<std::collections::HashMap<String, String>>(include_str!(
            "../../../../ui/src/i18n/en.json"
        ))
        .unwrap_or_default(),
    );
}

/// A size as a person reads it ("820 kB", "3.4 MB"), its unit in
/// `words`'s language (and script: an Urdu copy draws no Latin unit).
fn size(bytes: u64, words: &Wording) -> String {
    let (key, n) = match bytes {
        0..1_000 => ("access.size_bytes", bytes.to_string()),
        1_000..999_500 => ("access.size_kb", ((bytes + 500) / 1_000).to_string()),
        _ => {
            let n = format!("{:.1}", bytes as f64 / 1_000_000.0);
            // Polish writes a decimal comma.
            let n = if words.language() == "pl" {
                n.replace('.', ",")
            } else {
                n
            };
            ("access.size_mb", n)
        }
    };
    words.fill(key, &[("n", &n)])
}

/// Lays the copy out on A4 pages.
pub fn layout(copy: &SubjectAccess, m: &Measure, words: &Wording) -> Vec<Page> {
    let mut w = Lines::new(m);
    let day = |t: DateTime<Utc>| long_date(time::desk_date(t), words);
    let centre = copy.centre_name.as_str();
    w.para(&words.text("access.title"), 20.0, Weight::Bold, INK);
    w.gap(4.0);
    w.para(
        &words.fill(
            "access.intro",
            &[
                ("centre", centre),
                ("reference", &copy.reference),
                ("date", &long_date(copy.made_on, words)),
            ],
        ),
        11.0,
        Weight::Regular,
        MUTED,
    );
    w.gap(12.0);

    w.heading(&words.text("access.report_title"));
    match &copy.report {
        None => w.para(&words.text("access.purged"), 11.0, Weight::Regular, INK),
        Some(report) => {
            let json = serde_json::to_value(report).unwrap_or(Value::Null);
            for (path, list) in FIELDS {
                let pointer = format!("/{}", path.replace('.', "/"));
                let Some(mut text) = json.pointer(&pointer).and_then(|v| answer(v, *list, words))
                else {
                    continue;
                };
                // The day written out, as on the slip.
                if *path == "occurred_on"
                    && let Ok(day) = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                {
                    text = long_date(day, words);
                }
                w.room(10.0 * 1.35 + 11.0 * 1.35);
                w.para(&field_label(path, words), 10.0, Weight::Bold, MUTED);
                w.para(&text, 11.0, Weight::Regular, INK);
                w.gap(4.0);
            }
        }
    }
    w.gap(8.0);

    w.heading(&words.text("access.evidence_title"));
    if copy.evidence.is_empty() {
        let none = if copy.report.is_none() {
            "access.evidence_purged"
        } else {
            "access.evidence_none"
        };
        w.para(&words.text(none), 11.0, Weight::Regular, INK);
    }
    for (n, item) in copy.evidence.iter().enumerate() {
        let key = if item.report_id == copy.id {
            "access.evidence_item"
        } else {
            "access.evidence_item_waiting"
        };
        let line = words.fill(
            key,
            &[
                ("n", &(n + 1).to_string()),
                (
                    "kind",
                    &words.text(&format!("evidence.kind.{}", item.kind.as_str())),
                ),
                ("size", &size(item.size, words)),
                ("date", &day(item.added_at)),
            ],
        );
        w.para(&format!("• {line}"), 11.0, Weight::Regular, INK);
        if let Some(caption) = &item.caption {
            w.para(caption, 10.0, Weight::Regular, MUTED);
        }
    }
    if !copy.evidence.is_empty() {
        w.para(
            &words.text("access.evidence_note"),
            9.5,
            Weight::Regular,
            MUTED,
        );
    }
    w.gap(12.0);

    w.heading(&words.text("access.consent_title"));
    for key in crate::slip::consent_keys(&copy.consent) {
        w.para(
            &format!("• {}", words.text(key)),
            11.0,
            Weight::Regular,
            INK,
        );
    }
    w.gap(12.0);

    w.heading(&words.text("access.sent_title"));
    w.para(
        &words.fill(
            "access.taken",
            &[("centre", centre), ("date", &day(copy.taken_at))],
        ),
        11.0,
        Weight::Regular,
        INK,
    );
    for r in &copy.revisions {
        let n = r.revision.to_string();
        let sealed = day(r.sealed_at);
        let line = match (&copy.hub_name, r.delivered_at) {
            (Some(hub), Some(at)) => words.fill(
                "access.revision_sent",
                &[
                    ("n", &n),
                    ("sealed", &sealed),
                    ("hub", hub),
                    ("delivered", &day(at)),
                ],
            ),
            (Some(hub), None) => words.fill(
                "access.revision_waiting",
                &[("n", &n), ("sealed", &sealed), ("hub", hub)],
            ),
            (None, _) => words.fill("access.not_enrolled", &[("n", &n), ("sealed", &sealed)]),
        };
        w.para(&format!("• {line}"), 11.0, Weight::Regular, INK);
    }
    if copy.hub_name.is_some() {
        w.para(
            &words.text("access.partnership_note"),
            9.5,
            Weight::Regular,
            MUTED,
        );
    }
    w.gap(12.0);

    w.heading(&words.text("access.statuses_title"));
    if copy.statuses.is_empty() {
        w.para(
            &words.text("access.statuses_none"),
            11.0,
            Weight::Regular,
            INK,
        );
    }
    for status in &copy.statuses {
        let state = words.text(&format!("status.{}", status.state));
        w.para(
            &format!(
                "• {}",
                words.fill(
                    "access.status",
                    &[("date", &day(status.set_at)), ("state", &state)]
                )
            ),
            11.0,
            Weight::Regular,
            INK,
        );
        if let Some(note) = &status.note {
            w.para(note, 10.0, Weight::Regular, MUTED);
        }
    }
    w.gap(12.0);
    w.para(&words.text("access.rights"), 10.0, Weight::Regular, MUTED);

    let mut pages = w.pages;
    if words.right_to_left() {
        crate::pdf::mirror(&mut pages, m);
    }
    pages
}

#[cfg(test)]
mod tests;

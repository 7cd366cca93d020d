//! Report v1: what a report holds (DOMAIN.md), in the JSON shape that import
//! and export use (`shared/examples/report-v1.json`).
//!
//! Every field is optional here so a half-written draft can be saved after
//! every keystroke; [`super::validate`] decides when a report is complete.
//! Unknown fields are refused rather than dropped, so a misspelt field name in
//! an imported file is an error the person can fix, not data silently lost.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::vocab::*;
use crate::error::{Error, Result};

/// The newest report format this build writes.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The largest report JSON we accept on import or in a patch. A full report
/// with a long account is a few kilobytes; this leaves room and refuses a
/// runaway file before it is read into memory.
pub const MAX_REPORT_JSON_BYTES: u64 = 1024 * 1024;

/// Fields the app sets itself. They appear in `show` output and may appear in
/// a file given to `--from`, where they are ignored.
pub const APP_SET_FIELDS: &[&str] = &[
    "id",
    "reference",
    "state",
    "revision",
    "centre_code",
    "ambassador",
    "taken_at",
    "updated_at",
];

/// One report's content: everything the person told the ambassador.
///
/// `Debug` is deliberately redacted: a report must never reach a log line.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Report {
    /// Who is making the report.
    pub reporter_role: Option<ReporterRole>,
    /// The hostility perceived; at least one.
    pub strands: Vec<Strand>,
    /// Describes the `other` strand.
    pub strand_other: Option<String>,
    /// What happened; at least one.
    pub incident_types: Vec<IncidentType>,
    /// Describes the `other` incident type.
    pub incident_type_other: Option<String>,
    /// The person's own account.
    pub description: Option<String>,
    /// Whether it has happened before.
    pub repeat: Option<Repeat>,
    /// The reference of an earlier report by the same person, about
    /// another incident (from their slip), so the partnership can join them.
    pub related_reference: Option<String>,
    /// The day it happened (may be approximate).
    pub occurred_on: Option<NaiveDate>,
    /// The time of day, `HH:MM`.
    pub occurred_time: Option<TimeOfDay>,
    /// Whether the date and time are approximate.
    pub approximate: Option<bool>,
    /// The kind of place.
    pub location_type: Option<LocationType>,
    /// Postcode district, town or district; never a full address.
    pub area: Option<String>,
    /// More about the place, in the person's words.
    pub location_details: Option<String>,
    /// How many offenders.
    pub offender_count: Option<OffenderCount>,
    /// Whether the person knows the offender(s).
    pub known_to_person: Option<YesNoUnknown>,
    /// What the offender(s) looked like.
    pub offender_description: Option<String>,
    /// How badly the person was hurt.
    pub injury: Option<Injury>,
    /// Whether they needed medical treatment.
    pub medical_treatment: Option<bool>,
    /// Whether there were witnesses.
    pub witnesses_present: Option<YesNoUnknown>,
    /// About the witnesses.
    pub witness_details: Option<String>,
    /// If true, no name or contact details are stored.
    pub anonymous: Option<bool>,
    /// The person's details and monitoring answers (special care).
    pub person: Person,
    /// What the person agreed to.
    pub consent: Consent,
    /// Whether it has already been reported to the police.
    pub already_reported: Option<bool>,
    /// The police's crime reference, if they have one.
    pub crime_reference: Option<String>,
    /// Support the person asked for.
    pub support_needs: Vec<SupportNeed>,
    /// More about the support needed.
    pub support_notes: Option<String>,
    /// The language the report was taken in (BCP 47 tag).
    pub language_used: Option<String>,
    /// Whether an interpreter was used.
    pub interpreter_used: Option<bool>,
    /// What a follow-up (revision 2 onwards) adds or changes, in the
    /// ambassador's words; empty in a first report.
    pub what_changed: Option<String>,
}

/// The person's details and monitoring answers: all optional, all special care.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Person {
    /// Name.
    pub name: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<String>,
    /// How it is safe to contact them.
    pub safe_contact_method: Option<String>,
    /// When it is safe to contact them.
    pub safe_contact_times: Option<String>,
    /// Age band.
    pub age_band: Option<AgeBand>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Ethnic group (ONS 2021).
    pub ethnicity: Option<Ethnicity>,
    /// Religion.
    pub religion: Option<Religion>,
    /// Whether they consider themselves disabled.
    pub disability: Option<YesNoPreferNot>,
    /// Sexual orientation.
    pub sexual_orientation: Option<SexualOrientation>,
    /// Whether their gender differs from that registered at birth.
    pub trans_history: Option<YesNoPreferNot>,
    /// The language they prefer to be contacted in (BCP 47 tag).
    pub preferred_language: Option<String>,
}

/// What the person agreed to, recorded before submit.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Consent {
    /// Whether, and how, the report may go to the police.
    pub pass_to_police: Option<PassToPolice>,
    /// Whether the police may contact the person.
    pub police_may_contact: Option<bool>,
    /// Whether to refer them to support (e.g. Victim Support).
    pub refer_to_support: Option<bool>,
    /// When the three answers were recorded (set by the app).
    pub consent_recorded_at: Option<DateTime<Utc>>,
}

impl Consent {
    /// Whether all three consent questions have been answered.
    pub fn is_answered(&self) -> bool {
        self.pass_to_police.is_some()
            && self.police_may_contact.is_some()
            && self.refer_to_support.is_some()
    }
}

macro_rules! redacted_debug {
    ($($t:ty),+) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), " { <redacted> }"))
            }
        }
    )+};
}
redacted_debug!(Report, Person, Consent);

/// A time of day written `HH:MM`, as forms and the example file have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "bindings", derive(specta::Type), specta(type = String))]
pub struct TimeOfDay(pub NaiveTime);

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.format("%H:%M"))
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        NaiveTime::parse_from_str(&text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M:%S"))
            .map(TimeOfDay)
            .map_err(|_| serde::de::Error::custom("expected a time of day as HH:MM, e.g. 17:40"))
    }
}

/// Facts set by the app when a report is taken; never typed by the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// The report's id (UUIDv7, made at the desk).
    pub id: Uuid,
    /// The centre's short code.
    pub centre_code: String,
    /// The user id of the ambassador who took it.
    pub ambassador: Uuid,
    /// When the report was started.
    pub taken_at: DateTime<Utc>,
}

impl Report {
    /// Reads a report from JSON bytes, with the path of the first bad field.
    ///
    /// Fields the app sets itself ([`APP_SET_FIELDS`]) are removed first and
    /// their names returned, so a `show` output can be fed back in.
    pub fn from_json(bytes: &[u8]) -> Result<(Report, Vec<String>)> {
        if bytes.len() as u64 > MAX_REPORT_JSON_BYTES {
            return Err(too_large());
        }
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            Error::BadReportJson(format!(
                "the file is not valid JSON (line {}, column {}): {}",
                e.line(),
                e.column(),
                json_problem(&e)
            ))
        })?;
        Self::from_value(value)
    }

    /// Like [`Report::from_json`], from an already parsed value.
    pub fn from_value(mut value: serde_json::Value) -> Result<(Report, Vec<String>)> {
        let Some(object) = value.as_object_mut() else {
            return Err(Error::BadReportJson(
                "a report must be a JSON object ({ … })".into(),
            ));
        };
        let ignored: Vec<String> = APP_SET_FIELDS
            .iter()
            .filter(|f| object.remove(**f).is_some())
            .map(|f| (*f).to_string())
            .collect();
        let report = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            Error::BadReportJson(format!("{}: {}", path, json_problem(e.inner())))
        })?;
        Ok((report, ignored))
    }

    /// Applies a JSON merge patch (RFC 7386) and reads the result back.
    ///
    /// This is how an autosave of a few changed fields is expressed: keys in
    /// the patch replace, `null` clears, objects merge.
    pub fn merged(&self, patch: &serde_json::Value) -> Result<Report> {
        if !patch.is_object() {
            return Err(Error::BadReportJson(
                "a patch must be a JSON object ({ … })".into(),
            ));
        }
        let mut current = serde_json::to_value(self)
            .map_err(|e| Error::Crypto(format!("could not serialise a report: {e}")))?;
        merge_patch(&mut current, patch);
        Ok(Self::from_value(current)?.0)
    }
}

fn too_large() -> Error {
    Error::BadReportJson(format!(
        "the report is larger than {} KiB; a report is normally a few KiB, so this is probably the wrong file",
        MAX_REPORT_JSON_BYTES / 1024
    ))
}

/// serde's message, without echoing the offending value back: a value typed
/// into the wrong field could be personal data, and errors are printed.
fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde_json appends " at line L column C"; we report those ourselves.
    let text = text.split(" at line ").next().unwrap_or(&text).to_string();
    if let Some(rest) = text.strip_prefix("unknown variant ") {
        // "unknown variant `x`, expected one of …": keep only the choices.
        let choices = rest.split_once(", expected").map(|(_, c)| c.trim());
        return match choices {
            Some(c) => format!("not one of the allowed values; expected {c}"),
            None => "not one of the allowed values".into(),
        };
    }
    if let Some(rest) = text.strip_prefix("invalid type: ") {
        // "invalid type: string \"x\", expected a boolean": drop the value.
        let expected = rest.split_once(", expected").map(|(_, c)| c.trim());
        return match expected {
            Some(c) => format!("wrong kind of value; expected {c}"),
            None => "wrong kind of value".into(),
        };
    }
    if text.starts_with("input contains invalid characters") || text.starts_with("premature end") {
        return "not a valid value".into();
    }
    if text.starts_with("unknown field") {
        let name = text
            .split('`')
            .nth(1)
            .map(|n| format!("unknown field `{n}`"))
            .unwrap_or_else(|| "unknown field".into());
        return format!("{name} (check the spelling against docs/report-format.md)");
    }
    text
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../tests/data/report-v1.json");

    #[test]
    fn the_shared_example_imports_as_it_is() {
        let (report, ignored) = Report::from_json(EXAMPLE.as_bytes()).expect("example imports");
        assert!(ignored.is_empty());
        assert_eq!(
            report.strands,
            vec![Strand::ReligionBelief, Strand::RaceEthnicity]
        );
        assert_eq!(report.offender_count, Some(OffenderCount::Two));
        assert_eq!(
            report
                .occurred_time
                .map(|t| t.0.format("%H:%M").to_string()),
            Some("17:40".into())
        );
        // Serialising and reading back changes nothing.
        let json = serde_json::to_vec(&report).expect("serialise");
        assert_eq!(Report::from_json(&json).expect("reads back").0, report);
    }

    #[test]
    fn bad_fields_name_their_path_and_never_echo_the_value() {
        let err = Report::from_json(br#"{"strands": ["race_ethnicity", "SECRET-VALUE"]}"#)
            .expect_err("unknown strand");
        let text = err.to_string();
        assert!(
            text.starts_with("strands[1]: not one of the allowed values"),
            "{text}"
        );
        assert!(!text.contains("SECRET-VALUE"));

        let err = Report::from_json(br#"{"consent": {"police_may_contact": "SECRET"}}"#)
            .expect_err("wrong type");
        let text = err.to_string();
        assert!(
            text.starts_with("consent.police_may_contact: wrong kind of value"),
            "{text}"
        );
        assert!(!text.contains("SECRET"));

        let err = Report::from_json(br#"{"descripton": "x"}"#).expect_err("typo");
        assert!(
            err.to_string().contains("unknown field `descripton`"),
            "{err}"
        );

        let err = Report::from_json(b"{\"description\": \"x\"").expect_err("cut short");
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn merge_patch_sets_clears_and_merges() {
        let (report, _) = Report::from_json(EXAMPLE.as_bytes()).expect("example");
        let patch = serde_json::json!({
            "area": null,
            "person": {"phone": null},
            "consent": {"refer_to_support": false},
            "strands": ["disability"]
        });
        let merged = report.merged(&patch).expect("merges");
        assert_eq!(merged.area, None);
        assert_eq!(merged.person.phone, None);
        assert_eq!(merged.person.name, report.person.name);
        assert_eq!(merged.consent.refer_to_support, Some(false));
        assert_eq!(merged.strands, vec![Strand::Disability]);
        assert!(report.merged(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn app_set_fields_are_ignored_on_import() {
        let (report, ignored) =
            Report::from_json(br#"{"id": "x", "state": "draft", "area": "SS8"}"#).expect("reads");
        assert_eq!(ignored, vec!["id".to_string(), "state".to_string()]);
        assert_eq!(report.area.as_deref(), Some("SS8"));
    }

    #[test]
    fn debug_output_is_redacted() {
        let (report, _) = Report::from_json(EXAMPLE.as_bytes()).expect("example");
        let text = format!("{report:?}");
        assert!(!text.contains("Amina"));
        assert!(!text.contains("headscarf"));
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let big = vec![b' '; (MAX_REPORT_JSON_BYTES + 1) as usize];
        assert!(
            Report::from_json(&big)
                .expect_err("too big")
                .to_string()
                .contains("larger than")
        );
    }
}

//! Report facts: the few closed-list answers a listing and a summary need,
//! kept apart from the report body so that neither has to decrypt whole
//! reports, and so that they can outlive the personal data after a purge.
//!
//! Facts hold no free text and no person fields (DOMAIN.md, "Never in a
//! summary"), and the date only to the month. They are still encrypted at
//! rest (see `crate::vault::FactsKey`).

use serde::{Deserialize, Serialize};

use super::report::Report;
use super::vocab::{IncidentType, LocationType, PassToPolice, ReporterRole, Strand};

/// The closed-list answers of one report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportFacts {
    /// Who reported.
    pub reporter_role: Option<ReporterRole>,
    /// Strands perceived.
    pub strands: Vec<Strand>,
    /// Kinds of incident.
    pub incident_types: Vec<IncidentType>,
    /// The month it happened, `YYYY-MM`.
    pub occurred_month: Option<String>,
    /// The kind of place.
    pub location_type: Option<LocationType>,
    /// Already reported to the police.
    pub already_reported: Option<bool>,
    /// Consent to pass to the police.
    pub pass_to_police: Option<PassToPolice>,
    /// Referred to support.
    pub refer_to_support: Option<bool>,
    /// Whether the police may contact the person.
    pub police_may_contact: Option<bool>,
    /// When the consent answers were recorded. Kept here so an autosave can
    /// tell whether consent changed without decrypting the whole body.
    pub consent_recorded_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ReportFacts {
    /// Takes the facts out of a report.
    pub fn of(r: &Report) -> Self {
        Self {
            reporter_role: r.reporter_role,
            strands: r.strands.clone(),
            incident_types: r.incident_types.clone(),
            occurred_month: r.occurred_on.map(|d| d.format("%Y-%m").to_string()),
            location_type: r.location_type,
            already_reported: r.already_reported,
            pass_to_police: r.consent.pass_to_police,
            refer_to_support: r.consent.refer_to_support,
            police_may_contact: r.consent.police_may_contact,
            consent_recorded_at: r.consent.consent_recorded_at,
        }
    }

    /// A short line for lists: kinds of incident, strands, month.
    pub fn summary_line(&self) -> String {
        let mut parts = Vec::new();
        if !self.incident_types.is_empty() {
            parts.push(join_labels(self.incident_types.iter().map(|t| t.label())));
        }
        if !self.strands.is_empty() {
            parts.push(join_labels(self.strands.iter().map(|s| s.label())));
        }
        if let Some(month) = self.occurred_month.as_deref().and_then(month_label) {
            parts.push(month);
        }
        if parts.is_empty() {
            "(nothing entered yet)".into()
        } else {
            parts.join(" · ")
        }
    }
}

fn join_labels<'a>(labels: impl Iterator<Item = &'a str>) -> String {
    labels
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                l.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn month_label(ym: &str) -> Option<String> {
    let date = chrono::NaiveDate::parse_from_str(&format!("{ym}-01"), "%Y-%m-%d").ok()?;
    Some(date.format("%b %Y").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_hold_no_free_text_and_read_well() {
        let (r, _) =
            Report::from_json(include_bytes!("../../tests/data/report-v1.json")).expect("example");
        let facts = ReportFacts::of(&r);
        let json = serde_json::to_string(&facts).expect("serialise");
        for personal in [
            "Amina",
            "headscarf",
            "SS8",
            "07700",
            "red jacket",
            "2026-11-02",
        ] {
            assert!(!json.contains(personal), "{personal} leaked into facts");
        }
        assert_eq!(
            facts.summary_line(),
            "Verbal abuse, threats · Religion or belief, race or ethnicity · Nov 2026"
        );
        assert_eq!(
            ReportFacts::default().summary_line(),
            "(nothing entered yet)"
        );
    }
}

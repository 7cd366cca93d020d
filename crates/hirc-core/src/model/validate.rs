//! When a report is good enough to save, and when it is complete.
//!
//! Two levels: [`check_draft`] runs on every autosave and only refuses what
//! could never be right (a runaway length), so half-typed fields are kept;
//! [`check_complete`] runs at submit and asks for every required answer, in
//! the order the form shows them. Each problem names the field (as a JSON
//! path) and says what to do, never echoing what was typed.

use chrono::NaiveDate;

use super::problems::{FieldError, ValidationErrors};
use super::report::Report;
use super::vocab::{IncidentType, PassToPolice, Strand};
use crate::error::Error;
use crate::reference::Reference;

/// The longest account we keep (characters). A long statement is a few
/// thousand; this bounds a paste accident without cutting real accounts.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// The longest any other text field may be (characters).
pub const MAX_TEXT_CHARS: usize = 2_000;

fn texts(r: &Report) -> [(&'static str, &Option<String>); 19] {
    [
        ("strand_other", &r.strand_other),
        ("incident_type_other", &r.incident_type_other),
        ("description", &r.description),
        ("related_reference", &r.related_reference),
        ("area", &r.area),
        ("location_details", &r.location_details),
        ("offender_description", &r.offender_description),
        ("witness_details", &r.witness_details),
        ("person.name", &r.person.name),
        ("person.phone", &r.person.phone),
        ("person.email", &r.person.email),
        ("person.address", &r.person.address),
        ("person.safe_contact_method", &r.person.safe_contact_method),
        ("person.safe_contact_times", &r.person.safe_contact_times),
        ("person.preferred_language", &r.person.preferred_language),
        ("crime_reference", &r.crime_reference),
        ("support_notes", &r.support_notes),
        ("language_used", &r.language_used),
        ("what_changed", &r.what_changed),
    ]
}

/// What every save must satisfy: lengths only, so nothing typed is refused
/// mid-word.
pub fn check_draft(r: &Report) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    for (field, value) in texts(r) {
        let Some(v) = value else { continue };
        let limit = if field == "description" {
            MAX_DESCRIPTION_CHARS
        } else {
            MAX_TEXT_CHARS
        };
        let n = v.chars().count();
        if n > limit {
            errs.push(
                field,
                "too_long",
                format!("is {n} characters long; the most this field keeps is {limit}"),
            );
        }
    }
    errs.into_result()
}

/// The earlier report a report names, checked: a reference with its check
/// character right, and never on an anonymous report (it would tie the
/// report to the person who made the earlier one). Run at every sealing,
/// a follow-up's too, whatever else is checked.
pub fn check_related_reference(r: &Report) -> Option<FieldError> {
    let quoted = r
        .related_reference
        .as_deref()
        .filter(|q| !q.trim().is_empty())?;
    let problem = |rule: &'static str, message: &str| FieldError {
        field: "related_reference".into(),
        rule,
        message: message.into(),
    };
    match Reference::parse(quoted) {
        Err(Error::MistypedReference) => Some(problem(
            "related_reference_mistyped",
            "one character of the earlier report's reference is wrong: check it against the person's slip",
        )),
        Err(_) => Some(problem(
            "related_reference_invalid",
            "this is not a report reference: it looks like CP-7K2Q-4F (the centre's code, then six letters and digits)",
        )),
        Ok(_) if r.anonymous == Some(true) => Some(problem(
            "related_reference_anonymous",
            "an anonymous report cannot name an earlier report: the reference would tie it to the person; clear the reference, or untick anonymous",
        )),
        Ok(_) => None,
    }
}

/// Writes an earlier report's reference as printed (`cp 7k2q 4f` becomes
/// `CP-7K2Q-4F`), so the partnership can match it; a blank one is removed.
/// Run at sealing, after [`check_complete`] has accepted it.
pub fn tidy_related_reference(r: &mut Report) {
    r.related_reference = match r.related_reference.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(quoted) => Some(
            Reference::parse(quoted)
                .map(|reference| reference.to_string())
                .unwrap_or_else(|_| quoted.to_string()),
        ),
    };
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// What submit requires: every required answer, consistent consent, and
/// well-formed contact details. `today` is the desk's date, for "not in the
/// future".
pub fn check_complete(r: &Report, today: NaiveDate) -> Result<(), ValidationErrors> {
    let mut errs = check_draft(r).err().unwrap_or_default();

    if r.reporter_role.is_none() {
        errs.push(
            "reporter_role",
            "reporter_role_missing",
            "say who is reporting: victim, witness, third_party_on_behalf or organisation",
        );
    }
    if r.strands.is_empty() {
        errs.push(
            "strands",
            "strands_missing",
            "choose at least one reason the person believes they were targeted",
        );
    }
    if r.strands.contains(&Strand::Other) && blank(&r.strand_other) {
        errs.push(
            "strand_other",
            "strand_other_missing",
            "describe the 'other' reason, or untick 'other'",
        );
    }
    if r.incident_types.is_empty() {
        errs.push(
            "incident_types",
            "incident_types_missing",
            "choose at least one kind of incident",
        );
    }
    if r.incident_types.contains(&IncidentType::Other) && blank(&r.incident_type_other) {
        errs.push(
            "incident_type_other",
            "incident_type_other_missing",
            "describe the 'other' kind of incident, or untick 'other'",
        );
    }
    if blank(&r.description) {
        errs.push(
            "description",
            "description_missing",
            "write what happened, in the person's own words",
        );
    }
    if let Some(problem) = check_related_reference(r) {
        errs.0.push(problem);
    }
    match r.occurred_on {
        None => errs.push(
            "occurred_on",
            "occurred_on_missing",
            "enter the date it happened; an approximate date is fine (tick 'approximate')",
        ),
        Some(d) if d > today => errs.push(
            "occurred_on",
            "occurred_on_future",
            "the date is in the future; check the day, month and year",
        ),
        Some(_) => {}
    }
    if r.location_type.is_none() {
        errs.push(
            "location_type",
            "location_type_missing",
            "choose the kind of place where it happened",
        );
    }
    if let Some(area) = r.area.as_deref()
        && looks_like_full_postcode(area)
    {
        errs.push(
            "area", "area_full_postcode",
            "use only the postcode district (e.g. SS8) or the town; put more detail in location_details",
        );
    }

    let anonymous = r.anonymous;
    let p = &r.person;
    let has_contact = !blank(&p.phone) || !blank(&p.email) || !blank(&p.address);
    match anonymous {
        None => errs.push(
            "anonymous",
            "anonymous_missing",
            "ask whether the person wants to stay anonymous (true or false)",
        ),
        Some(true) => {
            for (field, v) in [
                ("person.name", &p.name),
                ("person.phone", &p.phone),
                ("person.email", &p.email),
                ("person.address", &p.address),
            ] {
                if !blank(v) {
                    errs.push(
                        field, "anonymous_has_identity",
                        "the report is anonymous, so this must be left empty; clear it or untick anonymous",
                    );
                }
            }
        }
        Some(false) => {}
    }
    if let Some(email) = p.email.as_deref()
        && !email.trim().is_empty()
        && !looks_like_email(email)
    {
        errs.push(
            "person.email",
            "email_invalid",
            "this does not look like an email address (it needs one @ and a domain)",
        );
    }
    if let Some(phone) = p.phone.as_deref()
        && !phone.trim().is_empty()
        && !looks_like_phone(phone)
    {
        errs.push(
            "person.phone", "phone_invalid",
            "a phone number has 7 to 15 digits, and may have spaces, brackets, dashes and a leading +",
        );
    }
    for (field, tag) in [
        ("language_used", &r.language_used),
        ("person.preferred_language", &p.preferred_language),
    ] {
        if let Some(tag) = tag.as_deref()
            && !looks_like_language_tag(tag)
        {
            errs.push(
                field,
                "language_tag_invalid",
                "use a language tag such as en, pl, ur or pt-BR",
            );
        }
    }

    let c = &r.consent;
    if c.pass_to_police.is_none() {
        errs.push(
            "consent.pass_to_police",
            "pass_to_police_missing",
            "ask whether the report may go to the police: identified, anonymous_only or no",
        );
    }
    if c.police_may_contact.is_none() {
        errs.push(
            "consent.police_may_contact",
            "police_may_contact_missing",
            "ask whether the police may contact the person (true or false)",
        );
    }
    if c.refer_to_support.is_none() {
        errs.push(
            "consent.refer_to_support",
            "refer_to_support_missing",
            "ask whether the person wants to be referred to support (true or false)",
        );
    }
    if anonymous == Some(true) && c.pass_to_police == Some(PassToPolice::Identified) {
        errs.push(
            "consent.pass_to_police", "anonymous_identified",
            "an anonymous report cannot go to the police with the person's details; choose anonymous_only or no",
        );
    }
    if c.police_may_contact == Some(true) {
        if anonymous == Some(true) {
            errs.push(
                "consent.police_may_contact", "contact_anonymous",
                "the police cannot contact a person who stays anonymous; choose false or untick anonymous",
            );
        } else if !has_contact {
            errs.push(
                "consent.police_may_contact",
                "contact_without_details",
                "the police may contact the person, but no phone, email or address is recorded",
            );
        }
        match c.pass_to_police {
            Some(PassToPolice::No) => errs.push(
                "consent.police_may_contact", "contact_not_passed",
                "the report is not going to the police, so they cannot contact the person; choose false",
            ),
            Some(PassToPolice::AnonymousOnly) => errs.push(
                "consent.police_may_contact", "contact_anonymous_only",
                "the report goes to the police without the person's details, so they cannot contact them; choose false, or pass_to_police identified",
            ),
            _ => {}
        }
    }
    if r.already_reported != Some(true) && !blank(&r.crime_reference) {
        errs.push(
            "crime_reference", "crime_reference_not_reported",
            "a crime reference is given but already_reported is not true; set already_reported to true or clear the reference",
        );
    }
    errs.into_result()
}

/// A full UK postcode such as "SS8 7AB" (a district followed by an inward code).
fn looks_like_full_postcode(s: &str) -> bool {
    let compact: Vec<char> = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let n = compact.len();
    if !(5..=7).contains(&n) {
        return false;
    }
    let inward = &compact[n - 3..];
    let outward = &compact[..n - 3];
    inward[0].is_ascii_digit()
        && inward[1].is_ascii_alphabetic()
        && inward[2].is_ascii_alphabetic()
        && outward.first().is_some_and(|c| c.is_ascii_alphabetic())
        && outward.iter().any(|c| c.is_ascii_digit())
        && outward.iter().all(|c| c.is_ascii_alphanumeric())
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

fn looks_like_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && s.trim()
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || " ()-".contains(c) || (c == '+' && i == 0))
}

/// A loose BCP 47 check: a 2–3 letter language, then optional subtags.
fn looks_like_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    lang_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::report::Report;

    fn example() -> Report {
        Report::from_json(include_bytes!("../../tests/data/report-v1.json"))
            .expect("example")
            .0
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")
    }

    fn fields(errs: &ValidationErrors) -> Vec<&str> {
        errs.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn the_shared_example_is_complete() {
        check_complete(&example(), today()).expect("example passes full validation");
    }

    #[test]
    fn an_empty_report_lists_every_required_field_in_form_order() {
        let errs = check_complete(&Report::default(), today()).expect_err("empty");
        assert_eq!(
            fields(&errs),
            vec![
                "reporter_role",
                "strands",
                "incident_types",
                "description",
                "occurred_on",
                "location_type",
                "anonymous",
                "consent.pass_to_police",
                "consent.police_may_contact",
                "consent.refer_to_support",
            ]
        );
        // But it is a perfectly good draft.
        check_draft(&Report::default()).expect("empty draft saves");
    }

    #[test]
    fn anonymous_reports_hold_no_contact_and_cannot_be_identified() {
        let mut r = example();
        r.anonymous = Some(true);
        let errs = check_complete(&r, today()).expect_err("contact present");
        let f = fields(&errs);
        assert!(
            f.contains(&"person.name") && f.contains(&"person.email"),
            "{f:?}"
        );
        assert!(f.contains(&"consent.pass_to_police"), "{f:?}");
        assert!(f.contains(&"consent.police_may_contact"), "{f:?}");

        r.person.name = None;
        r.person.phone = None;
        r.person.email = None;
        r.consent.pass_to_police = Some(PassToPolice::AnonymousOnly);
        r.consent.police_may_contact = Some(false);
        check_complete(&r, today()).expect("a proper anonymous report");
    }

    #[test]
    fn the_police_can_contact_only_someone_whose_details_they_get() {
        let mut r = example();
        r.consent.pass_to_police = Some(PassToPolice::AnonymousOnly);
        let errs = check_complete(&r, today()).expect_err("contradiction");
        assert_eq!(fields(&errs), vec!["consent.police_may_contact"]);
        r.consent.police_may_contact = Some(false);
        check_complete(&r, today()).expect("consistent");
    }

    /// The app words problems by rule name, so the names are part of the
    /// contract: each check has its own, and they do not drift.
    #[test]
    fn each_problem_names_the_rule_it_breaks() {
        let mut r = example();
        r.anonymous = Some(true);
        r.consent.pass_to_police = Some(PassToPolice::Identified);
        let errs = check_complete(&r, today()).expect_err("contradictions");
        let rules: Vec<(&str, &str)> = errs.0.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert!(
            rules.contains(&("person.name", "anonymous_has_identity")),
            "{rules:?}"
        );
        assert!(
            rules.contains(&("consent.pass_to_police", "anonymous_identified")),
            "{rules:?}"
        );
        assert!(
            rules.contains(&("consent.police_may_contact", "contact_anonymous")),
            "{rules:?}"
        );

        let empty = check_complete(&Report::default(), today()).expect_err("empty");
        let mut names: Vec<&str> = empty.0.iter().map(|e| e.rule).collect();
        assert!(names.iter().all(|n| n.ends_with("_missing")), "{names:?}");
        names.dedup();
        assert_eq!(names.len(), empty.0.len(), "one rule per required answer");
    }

    #[test]
    fn other_needs_a_description_and_dates_cannot_be_in_the_future() {
        let mut r = example();
        r.strands.push(Strand::Other);
        r.occurred_on = today().succ_opt();
        let errs = check_complete(&r, today()).expect_err("invalid");
        assert_eq!(fields(&errs), vec!["strand_other", "occurred_on"]);
    }

    #[test]
    fn contact_details_are_checked_without_echoing_them() {
        let mut r = example();
        r.person.email = Some("CANARY-not-an-email".into());
        r.person.phone = Some("CANARY".into());
        r.area = Some("SS8 7AB".into());
        let errs = check_complete(&r, today()).expect_err("invalid");
        assert_eq!(fields(&errs), vec!["area", "person.email", "person.phone"]);
        assert!(!errs.to_string().contains("CANARY"));
    }

    #[test]
    fn lengths_are_bounded_even_for_drafts() {
        let mut r = Report {
            description: Some("x".repeat(MAX_DESCRIPTION_CHARS + 1)),
            ..Report::default()
        };
        r.person.name = Some("y".repeat(MAX_TEXT_CHARS + 1));
        let errs = check_draft(&r).expect_err("too long");
        assert_eq!(fields(&errs), vec!["description", "person.name"]);
    }

    #[test]
    fn shapes() {
        assert!(looks_like_full_postcode("SS8 7AB"));
        assert!(looks_like_full_postcode("cm11ab"));
        assert!(!looks_like_full_postcode("SS8"));
        assert!(!looks_like_full_postcode("Benfleet"));
        assert!(looks_like_email("a@b.org"));
        assert!(!looks_like_email("a@b"));
        assert!(looks_like_phone("+44 (0)7700 900123"));
        assert!(!looks_like_phone("12"));
        assert!(looks_like_language_tag("pt-BR"));
        assert!(!looks_like_language_tag("english"));
    }
}

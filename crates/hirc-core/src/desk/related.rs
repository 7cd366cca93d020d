//! A new incident reported by someone who has reported before: a new
//! report (its own reference, its own consent) that names the earlier one,
//! so the partnership can join them. When the user may read the earlier
//! report and the desk still holds it, the person's details are carried
//! over, so a distressed person is not asked again for what they already
//! gave; what happened, and what they agree to, are asked afresh.

use uuid::Uuid;

use crate::error::Result;
use crate::model::Report;

use super::Desk;
use super::session::Session;

impl Desk {
    /// Starts a draft of a new report related to the one `quoted` names
    /// (found, and the finding audited, as on its page). Returns its id.
    pub fn related_report(
        &mut self,
        s: &Session,
        quoted: &str,
        language: Option<&str>,
    ) -> Result<Uuid> {
        let page = self.find_report(s, quoted)?;
        let mut report = Report {
            related_reference: Some(page.reference.clone()),
            language_used: language.map(str::to_string),
            ..Report::default()
        };
        if page.readable && !page.purged {
            let earlier = self.row(page.id)?;
            // A body that will not open (set aside) leaves the reference alone.
            if let Ok((_, Some(held))) = self.open_body(s, &earlier) {
                report.reporter_role = held.reporter_role;
                report.anonymous = held.anonymous;
                report.person = held.person;
                report.interpreter_used = held.interpreter_used;
                report.language_used = held.language_used.or(report.language_used);
            }
        }
        self.create_draft(s, &report)
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::model::check_complete;
    use crate::testing::{ambassador, desk_with_sealed_report, example};

    #[test]
    fn a_second_incident_is_a_new_report_naming_the_first_with_the_person_carried_over() {
        let dir = tempfile::tempdir().expect("dir");
        let (mut desk, s, first) = desk_with_sealed_report(dir.path());
        let reference = desk.row(first).expect("row").reference.expect("sealed");

        let draft = desk
            .related_report(&s, &reference.to_lowercase(), Some("en"))
            .expect("related");
        assert_ne!(draft, first);
        let started = desk
            .report(&s, draft)
            .expect("draft")
            .report
            .expect("content");
        assert_eq!(
            started.related_reference.as_deref(),
            Some(reference.as_str())
        );
        assert_eq!(started.person.name.as_deref(), Some("Amina Example"));
        assert_eq!(started.description, None, "what happened is asked afresh");
        assert!(started.incident_types.is_empty());
        assert_eq!(started.consent.pass_to_police, None, "and so is consent");

        // Completed with the new incident; the reference as read aloud is
        // written as printed.
        let mut second = example();
        second.description = Some("Another time, at the bus stop.".into());
        second.related_reference =
            Some(format!(" {} ", reference.to_lowercase().replace('-', " ")));
        desk.save_draft(&s, draft, &second).expect("save");
        let new_reference = desk.submit(&s, draft).expect("sealed");
        assert_ne!(
            new_reference.as_str(),
            reference,
            "a new report has its own reference"
        );
        let sealed = desk
            .report(&s, draft)
            .expect("sealed")
            .report
            .expect("content");
        assert_eq!(
            sealed.related_reference.as_deref(),
            Some(reference.as_str())
        );
        // The first report is untouched.
        assert_eq!(desk.row(first).expect("row").revision, 1);
    }

    #[test]
    fn someone_who_may_not_read_the_first_report_starts_with_its_reference_only() {
        let dir = tempfile::tempdir().expect("dir");
        let (mut desk, s, first) = desk_with_sealed_report(dir.path());
        let reference = desk.row(first).expect("row").reference.expect("sealed");
        let aisha = ambassador(&mut desk, &s);
        let draft = desk
            .related_report(&aisha, &reference, None)
            .expect("related");
        let started = desk
            .report(&aisha, draft)
            .expect("hers")
            .report
            .expect("content");
        assert_eq!(
            started.related_reference.as_deref(),
            Some(reference.as_str())
        );
        assert_eq!(started.person, crate::model::Person::default());
        // An unknown reference is said to be unknown, not silently used.
        let err = desk
            .related_report(&s, "CP-0000-00", None)
            .expect_err("unknown");
        assert!(
            matches!(err, Error::UnknownReport(_) | Error::MistypedReference),
            "{err}"
        );
    }

    #[test]
    fn a_related_reference_must_be_a_reference_with_its_check_character_right() {
        let today = chrono::Utc::now().date_naive();
        let mut r = example();
        for (quoted, rule) in [
            ("hello", Some("related_reference_invalid")),
            ("CP-7K2Q-4N", Some("related_reference_mistyped")),
            ("", None),
        ] {
            r.related_reference = Some(quoted.into());
            let problems = check_complete(&r, today)
                .err()
                .map(|v| v.0)
                .unwrap_or_default();
            let found = problems
                .iter()
                .find(|p| p.field == "related_reference")
                .map(|p| p.rule);
            assert_eq!(found, rule, "{quoted}");
        }
        // An anonymous report cannot name one: it would tie it to the person.
        r.related_reference = Some(crate::reference::Reference::generate("CP").to_string());
        r.anonymous = Some(true);
        r.person = crate::model::Person::default();
        r.consent.police_may_contact = Some(false);
        let problems = check_complete(&r, today)
            .err()
            .map(|v| v.0)
            .unwrap_or_default();
        assert!(
            problems
                .iter()
                .any(|p| p.rule == "related_reference_anonymous"),
            "{problems:?}"
        );
        r.anonymous = Some(false);
        // Another centre's reference is accepted: the person may have
        // reported elsewhere first.
        let elsewhere = crate::reference::Reference::generate("SS");
        r.related_reference = Some(elsewhere.to_string());
        assert!(check_complete(&r, today).is_ok());
    }
}

//! The words of a file the desk writes (a summary, a person's slip) in one
//! language, found by key. The keys are the app's translation keys
//! (`summaries.table.KEY`, `vocab.LIST.KEY`, `month.N`, `export.…`,
//! `slip.…`), so the app's translations are the files'; whatever a language
//! has no words for is written in English, the engine's own words below.

use std::collections::HashMap;

/// The export's fixed texts, in English: key and text. `{name}` is filled
/// in ([`Wording::fill`]).
pub const EXPORT_TEXTS: &[(&str, &str)] = &[
    ("export.title", "Hate incident reports: summary"),
    (
        "export.document_title",
        "Hate incident reports: summary, {centre}, {from} to {to}",
    ),
    ("export.period", "Period: {from} to {to}"),
    ("export.period_value", "{from} to {to}"),
    ("export.threshold", "Suppression threshold: {n}"),
    ("export.reports_taken", "Reports taken: {n}"),
    ("export.page", "Page {page} of {pages}"),
    (
        "export.footer",
        "HIRC Desk summary · {centre} · {from} to {to} · small numbers suppressed",
    ),
    ("summaries.category", "Category"),
    ("summaries.count", "Count"),
    ("summaries.percent", "Percent"),
    ("summaries.chart_strand", "Reports by strand"),
    ("summaries.chart_type", "Reports by incident type"),
    ("summaries.chart_month", "Reports by month"),
    ("export.about", "About"),
    ("export.centre", "Centre"),
    ("export.period_word", "Period"),
    ("export.threshold_word", "Suppression threshold"),
    ("export.note", "Note"),
    ("export.not_counted", "Not counted"),
    ("export.notes_sheet", "Notes"),
    (
        "export.overlapping_note",
        "A report can count in more than one row, so the rows add up to more than the distinct reports.",
    ),
    ("export.csv.section", "section"),
    ("export.csv.item", "item"),
    ("export.csv.count", "count"),
    ("export.csv.percent", "percent"),
    (
        "export.suppression_note",
        "Small numbers are suppressed: counts from 1 to {below} are shown as <{t}. Where the other numbers or a total would let a hidden count be worked out, more counts are hidden, shown as [c] (a [c] may stand for any count, 0 included). Percentages are shown only where the total is {base} or more.",
    ),
    (
        "export.not_counted_note",
        "{n} report(s) taken in this period could not be read (set aside on the desk for a coordinator) and are not counted here.",
    ),
];

/// The slip's texts in English, by key; the app's translations
/// (`ui/src/i18n`, `slip.*`) give the other languages. `{name}` is filled in.
pub const SLIP_TEXTS: &[(&str, &str)] = &[
    (
        "slip.document_title",
        "Your hate incident report: {reference}",
    ),
    ("slip.title", "Your hate incident report"),
    (
        "slip.intro",
        "Keep this slip somewhere safe. It does not say what happened or who you are.",
    ),
    ("slip.reference", "Your reference"),
    (
        "slip.check",
        "The last character checks the others, so a mistyped reference is noticed.",
    ),
    ("slip.where_when", "Reported at {centre} on {date}."),
    ("slip.follow_up_title", "Following up"),
    (
        "slip.follow_up",
        "To ask about your report or add to it, quote this reference at this centre or at any Hate Incident Reporting Centre. You do not need to tell your story again.",
    ),
    ("slip.consent_title", "What you agreed to"),
    (
        "slip.police.identified",
        "Your report may be passed to the police, with your details.",
    ),
    (
        "slip.police.anonymous_only",
        "Your report may be passed to the police only without your details.",
    ),
    (
        "slip.police.no",
        "Your report will not be passed to the police.",
    ),
    ("slip.contact.yes", "The police may contact you."),
    ("slip.contact.no", "The police may not contact you."),
    (
        "slip.support.yes",
        "You asked to be put in touch with support.",
    ),
    (
        "slip.support.no",
        "You did not ask to be put in touch with support.",
    ),
    (
        "slip.consent_change",
        "You can change your mind about any of these at any centre, with your reference.",
    ),
    ("slip.help_title", "Help now"),
    (
        "slip.emergency",
        "In an emergency, or if you are in danger now: call 999.",
    ),
    (
        "slip.non_emergency",
        "To report to the police when it is not an emergency: call 101.",
    ),
    ("slip.services_title", "Support services"),
    ("slip.languages", "Languages: {languages}"),
];

/// The copy's fixed texts in English, by key; the app's translations
/// (`ui/src/i18n`, `access.*`) give the other languages.
pub const ACCESS_TEXTS: &[(&str, &str)] = &[
    (
        "access.document_title",
        "What {centre} holds about report {reference}",
    ),
    ("access.title", "What we hold about your report"),
    (
        "access.intro",
        "A copy of everything {centre} holds about report {reference}, made on {date} at your request. Keep it safe: it holds your personal details.",
    ),
    ("access.report_title", "What you told us"),
    (
        "access.purged",
        "Your personal details and your account were deleted after the retention period. The centre keeps only the reference, the dates and what you agreed to.",
    ),
    ("access.sent_title", "Where your report went, and when"),
    ("access.taken", "Taken at {centre} on {date}."),
    (
        "access.revision_sent",
        "Revision {n}, sealed on {sealed}: sent to the partnership's hub ({hub}), which confirmed receiving it on {delivered}.",
    ),
    (
        "access.revision_waiting",
        "Revision {n}, sealed on {sealed}: not sent yet; it goes to the partnership's hub ({hub}) when the desk next connects.",
    ),
    (
        "access.not_enrolled",
        "Revision {n}, sealed on {sealed}: kept at this centre only (it is not connected to the partnership's hub yet).",
    ),
    (
        "access.partnership_note",
        "The partnership holds the encrypted copy that was sent; ask the centre if you want the partnership's own copy.",
    ),
    ("access.statuses_title", "What the partnership has told us"),
    ("access.statuses_none", "Nothing yet."),
    ("access.status", "{date}: {state}"),
    ("access.consent_title", "What you agreed to"),
    ("access.evidence_title", "The files you gave"),
    ("access.evidence_none", "None."),
    (
        "access.evidence_purged",
        "Any files you gave were deleted with your personal details.",
    ),
    (
        "access.evidence_item_waiting",
        "{n}. {kind}, {size}, added on {date}, with new information not sent yet",
    ),
    (
        "access.evidence_item",
        "{n}. {kind}, {size}, added on {date}",
    ),
    ("access.size_bytes", "{n} bytes"),
    ("access.size_kb", "{n} kB"),
    ("access.size_mb", "{n} MB"),
    (
        "access.evidence_note",
        "The centre keeps these files encrypted, a photo without its hidden details (where and when it was taken, the phone) and no file under its name. It can give you a copy of each as it keeps it.",
    ),
    ("evidence.kind.jpeg", "Photo"),
    ("evidence.kind.png", "Picture"),
    ("evidence.kind.pdf", "PDF document"),
    ("evidence.kind.text", "Text"),
    ("app.yes", "Yes"),
    ("app.no", "No"),
    ("status.received", "Received by the partnership"),
    ("status.reviewed", "Reviewed"),
    ("status.passed_to_police", "Passed to the police"),
    ("status.closed", "Closed"),
    (
        "access.rights",
        "You can ask the centre to correct this, to change what you agreed to, or to erase your report, with your reference.",
    ),
];

/// The interface's translations other than English, which a file in that
/// language uses (one set of words for the screen and the files).
const TRANSLATIONS: &[(&str, &str)] = &[
    ("pl", include_str!("../../../ui/src/i18n/pl.json")),
    ("ur", include_str!("../../../ui/src/i18n/ur.json")),
];

/// An export's language and its words.
#[derive(Debug, Clone)]
pub struct Wording {
    language: String,
    texts: HashMap<String, String>,
}

impl Default for Wording {
    fn default() -> Self {
        Self::english()
    }
}

impl Wording {
    /// The engine's own English.
    pub fn english() -> Self {
        Self {
            language: "en".into(),
            texts: HashMap::new(),
        }
    }

    /// `language`'s words (a BCP 47 tag such as `pl` or `ur`), by key; a
    /// key it lacks is written in English.
    pub fn new(language: &str, texts: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            language: language.to_string(),
            texts: texts.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        }
    }

    /// The words of a language the app is translated into (`en`, `pl`,
    /// `ur`: the app's own translations, `ui/src/i18n`, so a file reads as
    /// the screen does).
    pub fn bundled(language: &str) -> crate::Result<Self> {
        if language == "en" {
            return Ok(Self::english());
        }
        let (_, json) = TRANSLATIONS
            .iter()
            .find(|(tag, _)| *tag == language)
            .ok_or_else(|| {
                crate::Error::InvalidInput(format!(
                    "files can be written in English, Polish or Urdu (en, pl, ur), not `{language}`"
                ))
            })?;
        let texts: HashMap<String, String> = serde_json::from_str(json)
            .map_err(|_| crate::Error::Integrity("the bundled translations are damaged"))?;
        Ok(Self::new(language, texts))
    }

    /// The language's tag.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Whether the language is written right to left.
    pub fn right_to_left(&self) -> bool {
        let primary = self.language.split(['-', '_']).next().unwrap_or_default();
        matches!(
            primary,
            "ur" | "ar" | "fa" | "he" | "ps" | "sd" | "ug" | "yi"
        )
    }

    /// The text for `key`: the language's, else the English one, else the
    /// key itself (a key the engine does not know is a programming error,
    /// shown rather than hidden).
    pub fn text(&self, key: &str) -> String {
        self.texts
            .get(key)
            .cloned()
            .or_else(|| {
                EXPORT_TEXTS
                    .iter()
                    .chain(SLIP_TEXTS)
                    .chain(ACCESS_TEXTS)
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_string())
            })
            .unwrap_or_else(|| key.to_string())
    }

    /// The language's own text for `key`, if it has one (no English
    /// fallback: the caller has its own).
    pub(crate) fn own(&self, key: &str) -> Option<String> {
        self.texts.get(key).cloned()
    }

    /// [`Wording::text`] with each `{name}` replaced by its value.
    pub fn fill(&self, key: &str, values: &[(&str, &str)]) -> String {
        values.iter().fold(self.text(key), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
    }
}

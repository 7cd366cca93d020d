//! The slip a person takes away: one A4 page, in their language, with the
//! reference in large type, where and when they reported, how to follow
//! up, what they agreed to, and where to get help now (999, 101 and the
//! centre's support services). Nothing about the incident and no name:
//! whoever finds it learns only that a report exists.
//!
//! Laid out as plain drawing operations ([`layout`], testable without a
//! PDF reader) and painted by [`crate::pdf`], right to left in Urdu.

use chrono::NaiveDate;

use crate::desk::{ConsentGiven, Desk, Session};
use crate::error::Result;
use crate::model::PassToPolice;
use crate::pdf::lines::{Lines, long_date};
use crate::pdf::{About, BAR, CONTENT_W, INK, MARGIN, MUTED, Measure, PANEL, Page, Weight};
use crate::support::SupportService;
use crate::time;
use crate::words::Wording;

/// What a slip says.
#[derive(Debug, Clone, PartialEq)]
pub struct Slip {
    /// The report's reference, as printed.
    pub reference: String,
    /// The centre's name.
    pub centre_name: String,
    /// The day the report was submitted, at the desk.
    pub submitted_on: NaiveDate,
    /// What the person agreed to.
    pub consent: ConsentGiven,
    /// The centre's support services.
    pub services: Vec<SupportService>,
}

impl Desk {
    /// The slip for a submitted report, found by the reference a person
    /// quotes (audited as an opening; the caller audits the file it
    /// writes with [`Desk::record_export`]).
    pub fn slip(&mut self, s: &Session, quoted: &str) -> Result<Slip> {
        let page = self.find_report(s, quoted)?;
        Ok(Slip {
            reference: page.reference,
            centre_name: self.info().centre_name.clone(),
            // The day they reported (a follow-up does not change it).
            submitted_on: time::desk_date(page.taken_at),
            consent: page.consent,
            services: self.support_services()?.services,
        })
    }
}

/// The words (by key) that say what the person agreed to, in order: the
/// slip's, and the person's copy of their report.
pub(crate) fn consent_keys(c: &ConsentGiven) -> Vec<&'static str> {
    [
        c.pass_to_police.map(|p| match p {
            PassToPolice::Identified => "slip.police.identified",
            PassToPolice::AnonymousOnly => "slip.police.anonymous_only",
            PassToPolice::No => "slip.police.no",
        }),
        c.police_may_contact.map(|yes| {
            if yes {
                "slip.contact.yes"
            } else {
                "slip.contact.no"
            }
        }),
        c.refer_to_support.map(|yes| {
            if yes {
                "slip.support.yes"
            } else {
                "slip.support.no"
            }
        }),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Writes the slip as a one-page PDF.
pub fn to_pdf(slip: &Slip, words: &Wording) -> Result<Vec<u8>> {
    let pages = layout(slip, &Measure::load()?, words);
    crate::pdf::paint(
        pages,
        &About {
            title: words.fill("slip.document_title", &[("reference", &slip.reference)]),
            language: words.language(),
            right_to_left: words.right_to_left(),
        },
    )
}

/// The characters of this slip its fonts cannot draw (none, for every
/// language the app offers: its tests check each).
pub fn undrawable(slip: &Slip, words: &Wording) -> Result<Vec<char>> {
    let m = Measure::load()?;
    Ok(crate::pdf::undrawable(&layout(slip, &m, words), &m))
}

/// Lays the slip out on one A4 page (a long list of services may wrap onto
/// a second).
pub fn layout(slip: &Slip, m: &Measure, words: &Wording) -> Vec<Page> {
    let mut w = Lines::new(m);
    w.para(&words.text("slip.title"), 20.0, Weight::Bold, INK);
    w.gap(2.0);
    w.para(&words.text("slip.intro"), 11.0, Weight::Regular, MUTED);
    w.gap(14.0);

    // The reference, in a box, large enough to read out at any desk.
    let top = w.y;
    let label = words.text("slip.reference");
    let big = 40.0;
    let height = 11.0 * 1.4 + big * 1.25 + 16.0;
    w.rect(MARGIN, top, CONTENT_W, height, PANEL);
    w.rect(MARGIN, top, 5.0, height, BAR);
    w.y = top + 8.0;
    w.line_at(MARGIN + 16.0, &label, 11.0, Weight::Regular, INK);
    w.line_at(MARGIN + 16.0, &slip.reference, big, Weight::Bold, INK);
    w.y = top + height + 6.0;
    w.para(&words.text("slip.check"), 9.5, Weight::Regular, MUTED);
    w.gap(6.0);
    w.para(
        &words.fill(
            "slip.where_when",
            &[
                ("centre", &slip.centre_name),
                ("date", &long_date(slip.submitted_on, words)),
            ],
        ),
        12.0,
        Weight::Regular,
        INK,
    );
    w.gap(12.0);

    w.heading(&words.text("slip.follow_up_title"));
    w.para(&words.text("slip.follow_up"), 11.0, Weight::Regular, INK);
    w.gap(12.0);

    let c = &slip.consent;
    let agreed: Vec<String> = consent_keys(c)
        .into_iter()
        .map(|key| words.text(key))
        .collect();
    if !agreed.is_empty() {
        w.heading(&words.text("slip.consent_title"));
        for line in agreed {
            w.para(&format!("• {line}"), 11.0, Weight::Regular, INK);
        }
        w.para(
            &words.text("slip.consent_change"),
            9.5,
            Weight::Regular,
            MUTED,
        );
        w.gap(12.0);
    }

    w.heading(&words.text("slip.help_title"));
    w.para(&words.text("slip.emergency"), 12.0, Weight::Bold, INK);
    w.para(
        &words.text("slip.non_emergency"),
        11.0,
        Weight::Regular,
        INK,
    );
    w.gap(10.0);
    if !slip.services.is_empty() {
        w.heading(&words.text("slip.services_title"));
        for service in &slip.services {
            w.room(11.0 * 1.35 * 2.0);
            w.para(&service.name, 11.0, Weight::Bold, INK);
            let reach: Vec<&str> = [service.phone.as_str(), service.website.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            if !reach.is_empty() {
                w.para(&reach.join("  ·  "), 11.0, Weight::Regular, INK);
            }
            if !service.languages.is_empty() {
                w.para(
                    &words.fill("slip.languages", &[("languages", &service.languages)]),
                    9.5,
                    Weight::Regular,
                    MUTED,
                );
            }
            w.gap(4.0);
        }
    }
    let mut pages = w.pages;
    if words.right_to_left() {
        crate::pdf::mirror(&mut pages, m);
    }
    pages
}

#[cfg(test)]
mod tests;

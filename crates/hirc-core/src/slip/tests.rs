use super::*;
use crate::pdf::Op;
use crate::pdf::PAGE_W;
use crate::support::national_defaults;
use crate::testing::{desk_with_sealed_report, example};
use crate::words::SLIP_TEXTS;

fn texts(pages: &[Page]) -> Vec<(f32, f32, String)> {
    pages
        .iter()
        .flatten()
        .filter_map(|op| match op {
            Op::Text { x, size, text, .. } => Some((*x, *size, text.clone())),
            _ => None,
        })
        .collect()
}

fn sample() -> Slip {
    Slip {
        reference: "CP-7K3M-QA".into(),
        centre_name: "Castle Point CVS".into(),
        submitted_on: NaiveDate::from_ymd_opt(2026, 12, 4).expect("date"),
        consent: ConsentGiven {
            pass_to_police: Some(PassToPolice::AnonymousOnly),
            police_may_contact: Some(false),
            refer_to_support: Some(true),
            recorded_at: None,
        },
        services: national_defaults(),
    }
}

#[test]
fn the_slip_gives_the_reference_large_the_consent_and_where_to_get_help() {
    let m = Measure::load().expect("fonts");
    let pages = layout(&sample(), &m, &Wording::english());
    assert_eq!(pages.len(), 1, "the slip fits on one page");
    let all = texts(&pages);
    let has = |s: &str| all.iter().any(|(_, _, t)| t.contains(s));
    let (_, size, _) = all
        .iter()
        .find(|(_, _, t)| t == "CP-7K3M-QA")
        .expect("reference on its own line");
    assert!(*size >= 36.0, "the reference is printed large");
    assert!(has("Castle Point CVS on 4 December 2026"));
    assert!(has("only without your details"));
    assert!(has("may not contact you"));
    assert!(has("asked to be put in touch with support"));
    assert!(has("call 999"));
    assert!(has("call 101"));
    for service in national_defaults() {
        assert!(has(&service.name), "{}", service.name);
        assert!(has(&service.phone), "{}", service.phone);
    }
}

#[test]
fn a_slip_in_urdu_reads_from_the_right_and_every_character_has_a_glyph() {
    let slip = sample();
    for language in ["en", "pl", "ur"] {
        let words = Wording::bundled(language).expect("words");
        assert_eq!(
            undrawable(&slip, &words).expect("layout"),
            Vec::<char>::new(),
            "{language}: characters the slip's fonts cannot draw"
        );
        // Every text is the language's own, not the English fallback.
        if language != "en" {
            for (key, english) in SLIP_TEXTS {
                assert_ne!(
                    words.text(key),
                    *english,
                    "{language}: {key} is untranslated"
                );
            }
        }
    }
    let words = Wording::bundled("ur").expect("words");
    let m = Measure::load().expect("fonts");
    let pages = layout(&slip, &m, &words);
    // Each line ends at the right margin; the reference (Latin letters)
    // stays one left-to-right run, placed from the right.
    for op in pages.iter().flatten() {
        if let Op::Text {
            x,
            size,
            weight,
            text,
            ..
        } = op
        {
            let right = x + m.width(text, *size, *weight);
            assert!(
                (right - (PAGE_W - MARGIN)).abs() < 1.0
                    || (right - (PAGE_W - MARGIN - 16.0)).abs() < 1.0,
                "`{text}` does not end at the right margin in Urdu ({right})"
            );
        }
    }
    let pdf = to_pdf(&slip, &words).expect("pdf");
    assert!(pdf.windows(15).any(|w| w == b"NotoNaskhArabic"));
    // `HIRC_EXPORT_SAMPLES=DIR` keeps the slips to look at
    // (docs/screenshots shows them).
    if let Some(dir) = std::env::var_os("HIRC_EXPORT_SAMPLES") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("slip-ur.pdf"), &pdf).expect("write");
        for language in ["en", "pl"] {
            let words = Wording::bundled(language).expect("words");
            let pdf = to_pdf(&slip, &words).expect("pdf");
            std::fs::write(dir.join(format!("slip-{language}.pdf")), pdf).expect("write");
        }
    }
}

#[test]
fn the_slip_holds_nothing_of_the_incident_or_the_person() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut desk, s, id) = desk_with_sealed_report(dir.path());
    let reference = desk.row(id).expect("row").reference.expect("sealed");
    let slip = desk.slip(&s, &reference.to_lowercase()).expect("slip");
    assert_eq!(slip.reference, reference);
    assert_eq!(slip.centre_name, "Castle Point CVS");
    let report = example();
    let personal: Vec<String> = [
        report.description.clone(),
        report.offender_description.clone(),
        report.person.name.clone(),
        report.person.phone.clone(),
        report.person.email.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(personal.len() >= 4);
    let m = Measure::load().expect("fonts");
    for language in ["en", "ur"] {
        let words = Wording::bundled(language).expect("words");
        let all: String = texts(&layout(&slip, &m, &words))
            .into_iter()
            .map(|(_, _, t)| t)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains(&reference));
        for p in &personal {
            for word in p.split_whitespace().filter(|w| w.len() > 5) {
                assert!(!all.contains(word), "{language}: the slip shows `{word}`");
            }
        }
    }
}

#[test]
fn the_engines_english_is_the_apps_english() {
    let en: std::collections::HashMap<String, String> =
        serde_json::from_str(include_str!("../../../../ui/src/i18n/en.json")).expect("en.json");
    for (key, text) in SLIP_TEXTS {
        assert_eq!(en.get(*key).map(String::as_str), Some(*text), "{key}");
    }
}

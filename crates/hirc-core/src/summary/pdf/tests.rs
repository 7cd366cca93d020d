//! The PDF's tests: every published number on the page, charts' scales.

use super::*;
use crate::pdf::fonts::{Piece, Script};
use crate::summary::summarise;
use crate::summary::tests::{data, options};

fn texts(pages: &[Page]) -> Vec<String> {
    pages
        .iter()
        .flatten()
        .filter_map(|op| match op {
            Op::Text { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_table_row_is_laid_out_within_the_page() {
    let summary = summarise("Castle Point CVS", "CP", &data(), options(5));
    let m = Measure::load().expect("fonts");
    let pages = layout(&summary, &m, &Wording::english());
    let all = texts(&pages);
    let shown = |label: &str| {
        all.iter().any(|s| {
            s == label
                || s.strip_suffix('…')
                    .is_some_and(|p| p.len() > 3 && label.starts_with(p))
        })
    };
    for t in summary.tables.iter().filter(|t| t.key != "reports") {
        assert!(shown(&t.title), "{} missing", t.title);
        for row in &t.rows {
            assert!(shown(&row.label), "{} / {} missing", t.title, row.label);
        }
    }
    assert!(all.iter().any(|s| s.contains("Castle Point CVS (CP)")));
    assert!(all.iter().any(|s| s.starts_with("Page 1 of")));
    for op in pages.iter().flatten() {
        if let Op::Text {
            x,
            y,
            size,
            text,
            weight,
            ..
        } = op
        {
            assert!(
                *x >= MARGIN - 0.01 && *y <= PAGE_H - MARGIN + 11.0,
                "{text} at {x},{y}"
            );
            assert!(
                x + m.width(text, *size, *weight) <= PAGE_W - MARGIN + 0.5,
                "{text} overflows"
            );
        }
    }
}

#[test]
fn suppressed_counts_are_never_drawn_as_bars() {
    let summary = summarise("Castle Point CVS", "CP", &data(), options(5));
    let m = Measure::load().expect("fonts");
    let pages = layout(&summary, &m, &Wording::english());
    let strands = summary
        .tables
        .iter()
        .find(|t| t.key == "strands")
        .expect("strands");
    let shown = strands
        .rows
        .iter()
        .filter(|r| matches!(r.cell, Cell::Count(n) if n > 0))
        .count();
    let bars = pages[0]
        .iter()
        .filter(|op| matches!(op, Op::Rect { colour, h, .. } if *colour == BAR && *h == 10.0))
        .count();
    let types = summary
        .tables
        .iter()
        .find(|t| t.key == "incident_types")
        .expect("types");
    let shown_types = types
        .rows
        .iter()
        .filter(|r| matches!(r.cell, Cell::Count(n) if n > 0))
        .count();
    // Both bar charts start on the first page or spill to the second.
    let all_bars = pages
        .iter()
        .flatten()
        .filter(|op| matches!(op, Op::Rect { colour, h, .. } if *colour == BAR && *h == 10.0))
        .count();
    assert!(bars <= all_bars);
    assert_eq!(all_bars, shown + shown_types);
}

#[test]
fn a_pdf_is_written() {
    let summary = summarise("Castle Point CVS", "CP", &data(), options(5));
    let pdf = to_pdf(&summary, &Wording::english()).expect("pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.len() > 1000);
}

#[test]
fn nice_ceilings() {
    assert_eq!(nice_ceiling(0), 4);
    assert_eq!(nice_ceiling(5), 8);
    assert_eq!(nice_ceiling(9), 20);
    assert_eq!(nice_ceiling(41), 80);
    assert_eq!(nice_ceiling(120), 200);
    let row = |key: &str, label: &str| Row {
        key: key.into(),
        label: label.into(),
        cell: Cell::Count(1),
        percent: None,
    };
    assert_eq!(
        short_month(&row("2026-03", "March 2026"), &Wording::english()),
        "Mar 26"
    );
    assert_eq!(
        short_month(&row("total", "Total"), &Wording::english()),
        "Total"
    );
}

#[test]
fn a_line_is_split_into_runs_by_script() {
    let line = "مدت: 2026-11-01 سے 2026-11-30 تک";
    assert_eq!(
        runs(line),
        vec![
            (Script::Arabic, "مدت:".to_string()),
            (Script::Other, "2026-11-01".to_string()),
            (Script::Arabic, "سے".to_string()),
            (Script::Other, "2026-11-30".to_string()),
            (Script::Arabic, "تک".to_string()),
        ]
    );
    assert_eq!(
        runs("Castle Point CVS (CP)"),
        vec![(Script::Other, "Castle Point CVS (CP)".to_string())]
    );
    // Urdu's own letters (ے, ہ, ں, ٹ) and full stop are in the Arabic font.
    let m = Measure::load().expect("fonts");
    let text = "چھوٹی گنتیاں چھپائی گئی ہیں۔ ٹوٹے";
    assert_eq!(m.missing(text), Vec::<char>::new());
    assert_eq!(m.missing("Próg ukrywania: 5 · <5 [c]"), Vec::<char>::new());
}

/// Where each text starts and ends on the page, by its text.
fn placed(pages: &[Page], m: &Measure) -> Vec<(String, f32, f32)> {
    pages
        .iter()
        .flatten()
        .filter_map(|op| match op {
            Op::Text {
                x,
                size,
                weight,
                text,
                ..
            } => Some((text.clone(), *x, *x + m.width(text, *size, *weight))),
            _ => None,
        })
        .collect()
}

#[test]
fn a_right_to_left_language_reads_the_page_from_the_right() {
    let summary = summarise("Castle Point CVS", "CP", &data(), options(5));
    let m = Measure::load().expect("fonts");
    let urdu = Wording::new(
        "ur",
        [
            ("summaries.category".to_string(), "زمرہ".to_string()),
            ("summaries.count".to_string(), "تعداد".to_string()),
        ],
    );
    let strands = summary
        .tables
        .iter()
        .find(|t| t.key == "strands")
        .expect("strands");
    let row = strands
        .rows
        .iter()
        .find(|r| matches!(r.cell, Cell::Count(n) if n >= 5))
        .expect("a shown count");
    for (words, rtl) in [(Wording::english(), false), (urdu, true)] {
        let worded = summary.worded(&words);
        let pages = layout(&worded, &m, &words);
        let at = placed(&pages, &m);
        let heading = |text: &str| {
            at.iter()
                .find(|(t, ..)| t == &words.text(text))
                .cloned()
                .expect("a table heading")
        };
        let (_, category_left, category_right) = heading("summaries.category");
        let (_, count_left, count_right) = heading("summaries.count");
        if rtl {
            // The category column is on the right, the count to its left.
            assert!((category_right - (PAGE_W - MARGIN)).abs() < 0.5);
            assert!(count_right < category_left, "{count_right} {category_left}");
        } else {
            assert!((category_left - MARGIN).abs() < 0.5);
            assert!(count_left > category_right, "{count_left} {category_right}");
        }
        // The row's label sits on the category's side, and its bar grows
        // from the axis towards the other side.
        let label = worded
            .tables
            .iter()
            .find(|t| t.key == "strands")
            .and_then(|t| t.rows.iter().find(|r| r.key == row.key))
            .map(|r| r.label.clone())
            .expect("the row, worded");
        let (_, label_left, label_right) = at
            .iter()
            .find(|(t, ..)| *t == label)
            .cloned()
            .expect("the label on the page");
        let bar = pages
            .iter()
            .flatten()
            .find_map(|op| match op {
                Op::Rect {
                    x, w, colour, h, ..
                } if *colour == BAR && *h == 10.0 => Some((*x, *w)),
                _ => None,
            })
            .expect("a bar");
        if rtl {
            assert!((label_right - (PAGE_W - MARGIN)).abs() < 0.5);
            assert!(bar.0 + bar.1 < label_left, "the bar is left of its label");
        } else {
            assert!(bar.0 > label_right, "the bar is right of its label");
        }
        // Nothing leaves the page either way.
        for (text, left, right) in &at {
            assert!(
                *left >= MARGIN - 0.5 && *right <= PAGE_W - MARGIN + 0.5,
                "{text}: {left}..{right}"
            );
        }
    }
}

#[test]
fn brackets_the_arabic_font_lacks_are_drawn_apart_and_mirrored_on_the_page() {
    let piece = |script, text: &str, spaced, bracket| Piece {
        script,
        text: text.to_string(),
        spaced,
        bracket,
    };
    assert_eq!(
        pieces("ہیں (یہ بھی، صفر بھی)۔ [c]"),
        vec![
            piece(Script::Arabic, "ہیں", true, false),
            piece(Script::Other, "(", true, true),
            piece(Script::Arabic, "یہ بھی، صفر بھی", false, false),
            piece(Script::Other, ")", false, true),
            piece(Script::Arabic, "۔", false, false),
            piece(Script::Other, "[c]", true, false),
        ]
    );
    let m = Measure::load().expect("fonts");
    for p in pieces("ہیں (یہ بھی، صفر بھی)۔ [c]") {
        assert_eq!(m.missing(&p.text), Vec::<char>::new(), "{p:?}");
    }
    assert_eq!(mirrored("("), ")");
    // A bracket touching its word adds no space: the line is as wide as
    // its pieces and the spaces between words.
    let line = "بھی (یہ)";
    let parts: f32 = ["بھی", "(", "یہ", ")"]
        .iter()
        .map(|t| m.width(t, 10.0, Weight::Regular))
        .sum();
    let width = m.width(line, 10.0, Weight::Regular);
    assert!((width - parts - m.space(10.0, Weight::Regular)).abs() < 0.01);
}

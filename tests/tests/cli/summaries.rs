//! Summaries: counted, suppressed, audited, and written as CSV, JSON, a
//! workbook and a PDF.

use hirc_e2e::TestDesk;
use serde_json::Value;

use crate::new_from_example;

#[test]
fn summaries_count_submitted_reports_and_are_audited() {
    let (mut desk, _) = TestDesk::init();
    for _ in 0..3 {
        let id = new_from_example(&mut desk);
        desk.as_coordinator(&["report", "submit", &id], "").ok();
    }
    new_from_example(&mut desk); // a draft: not counted
    let today = hirc_e2e::desk_today();
    let out = desk.path().join("summary.csv");
    let run = desk
        .as_coordinator(
            &[
                "summary",
                "--from",
                &today,
                "--to",
                &today,
                "--out",
                &out.to_string_lossy(),
            ],
            "",
        )
        .ok();
    assert!(run.stderr.contains("Summary written"), "{}", run.stderr);
    let csv = std::fs::read_to_string(&out).expect("summary");
    assert!(
        csv.contains("Reports,All reports,<5,"),
        "3 reports are a small number:\n{csv}"
    );
    assert!(csv.contains("About,Suppression threshold,5,"));
    let run = desk
        .summary_of_today(&["--threshold", "2", "--format", "json"])
        .ok();
    assert!(
        run.stderr.contains("recorded in the audit log"),
        "{}",
        run.stderr
    );
    let json: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(
        json["tables"][0]["rows"][0]["cell"],
        serde_json::json!({"kind": "count", "value": 3})
    );
    // A workbook goes to a file (never to the terminal).
    desk.as_coordinator(
        &[
            "summary", "--from", &today, "--to", &today, "--format", "xlsx",
        ],
        "",
    )
    .expect_code(1);
    let book = desk.path().join("summary.xlsx");
    desk.as_coordinator(
        &[
            "summary",
            "--from",
            &today,
            "--to",
            &today,
            "--format",
            "xlsx",
            "--out",
            &book.to_string_lossy(),
        ],
        "",
    )
    .ok();
    assert!(
        std::fs::read(&book).expect("workbook").starts_with(b"PK"),
        "an xlsx is a zip"
    );
    // Never overwrites; coordinators only; every export audited.
    desk.as_coordinator(
        &[
            "summary",
            "--from",
            &today,
            "--to",
            &today,
            "--out",
            &out.to_string_lossy(),
        ],
        "",
    )
    .expect_code(1);
    let audit = desk.as_coordinator(&["audit"], "").ok();
    assert_eq!(
        audit.stdout.matches("summary ").count(),
        3,
        "{}",
        audit.stdout
    );
    assert!(
        audit.stdout.contains("summary_threshold"),
        "{}",
        audit.stdout
    );
    desk.as_coordinator(
        &["user", "add", "Ann", "--role", "ambassador"],
        "ann passphrase\n",
    )
    .ok();
    desk.run(
        &["--user", "Ann", "summary", "--from", &today, "--to", &today],
        "ann passphrase\n",
    )
    .expect_code(1);
}

#[test]
fn the_summary_pdf_renders_and_holds_the_csvs_numbers() {
    let (mut desk, _) = TestDesk::init();
    for _ in 0..12 {
        let id = new_from_example(&mut desk);
        desk.as_coordinator(&["report", "submit", &id], "").ok();
    }
    let year = &hirc_e2e::desk_today()[..4];
    let csv = desk
        .as_coordinator(&["summary", "--period", year], "")
        .ok()
        .stdout;
    let pdf = desk.path().join("summary.pdf");
    desk.as_coordinator(&["summary", "--period", year, "--format", "pdf"], "")
        .expect_code(1);
    desk.as_coordinator(
        &[
            "summary",
            "--period",
            year,
            "--format",
            "pdf",
            "--out",
            &pdf.to_string_lossy(),
        ],
        "",
    )
    .ok();

    // Every count of the CSV is on a line of the PDF beside its label.
    let text = hirc_e2e::pdf_text(&pdf);
    assert!(text.contains("Castle Point CVS (CP)"), "{text}");
    assert!(text.contains(&format!("1 January {year} to 31 December {year}")));
    assert!(text.contains("Small numbers are suppressed"));
    assert!(text.contains("Reports taken: 12"), "{text}");
    let mut checked = 0;
    for line in csv.lines().skip(5) {
        let cells = csv_fields(line);
        let (section, item, count) = (&*cells[0], &*cells[1], &*cells[2]);
        if section == "Reports" {
            continue;
        }
        let found = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(item) && l[item.len()..].split_whitespace().next() == Some(count)
        });
        assert!(
            found,
            "{section} / {item} = {count} is not in the PDF:\n{text}"
        );
        checked += 1;
    }
    assert!(checked > 40, "only {checked} rows checked");

    // It renders: poppler draws every page, and the first has ink on it.
    let out = desk.path().join("page");
    let run = std::process::Command::new("pdftoppm")
        .args(["-r", "40", "-gray"])
        .arg(&pdf)
        .arg(&out)
        .output()
        .expect("pdftoppm (Debian's poppler-utils) runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let first = std::fs::read_dir(desk.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("page-"))
        })
        .min()
        .expect("a page image");
    let pgm = std::fs::read(&first).expect("page");
    // A binary PGM: "P5\nW H\n255\n" then one byte per pixel.
    let mut header_lines = 0;
    let start = pgm
        .iter()
        .position(|b| {
            header_lines += usize::from(*b == b'\n');
            header_lines == 3
        })
        .expect("a PGM header")
        + 1;
    let pixels = &pgm[start..];
    let dark = pixels.iter().filter(|p| **p < 128).count();
    assert!(
        dark * 1000 > pixels.len() && dark * 4 < pixels.len(),
        "page 1 looks blank or black: {dark} dark of {}",
        pixels.len()
    );
}

/// The fields of one RFC 4180 line.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("a field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().expect("a field").push(c),
        }
    }
    fields
}

//! Privacy, proved: every text field of a report holds a unique canary
//! string, every command runs, and then no canary may appear in any byte of
//! the data directory (store, WAL, shared memory, logs) or in anything a
//! command printed, except the standard output of `report show`, whose job
//! is to print the report.

use hirc_e2e::{COORDINATOR_PASS, TestDesk, contains};
use serde_json::json;

struct Canaries {
    tag: String,
    all: Vec<String>,
}

impl Canaries {
    fn new() -> Self {
        Self {
            tag: format!("{:08x}", rand::random::<u32>()),
            all: Vec::new(),
        }
    }

    /// A fresh canary naming the field it is planted in.
    fn text(&mut self, field: &str) -> String {
        let c = format!("CANARY-{field}-{}", self.tag);
        self.all.push(c.clone());
        c
    }

    /// A canary that passes validation as a phone number.
    fn phone(&mut self) -> String {
        let c = format!(
            "07700 9{}",
            &self
                .tag
                .chars()
                .filter(char::is_ascii_hexdigit)
                .map(|c| (b'0' + (c as u8 % 10)) as char)
                .collect::<String>()[..5]
        );
        self.all.push(c.clone());
        c
    }

    /// A canary that passes validation as an email address.
    fn email(&mut self) -> String {
        let c = format!("canary-mail-{}@example.org", self.tag);
        self.all.push(c.clone());
        c
    }
}

#[test]
fn no_report_content_or_passphrase_reaches_disk_logs_or_output() {
    let mut c = Canaries::new();
    let report = json!({
        "reporter_role": "victim",
        "strands": ["race_ethnicity", "other"],
        "strand_other": c.text("strand_other"),
        "incident_types": ["threats", "other"],
        "incident_type_other": c.text("incident_type_other"),
        "description": c.text("description"),
        "repeat": "ongoing",
        "occurred_on": "2026-11-02",
        "occurred_time": "17:40",
        "approximate": true,
        "location_type": "street_or_public_place",
        "area": c.text("area"),
        "location_details": c.text("location_details"),
        "offender_count": "1",
        "known_to_person": "yes",
        "offender_description": c.text("offender_description"),
        "injury": "minor",
        "medical_treatment": false,
        "witnesses_present": "yes",
        "witness_details": c.text("witness_details"),
        "anonymous": false,
        "person": {
            "name": c.text("name"),
            "phone": c.phone(),
            "email": c.email(),
            "address": c.text("address"),
            "safe_contact_method": c.text("safe_contact_method"),
            "safe_contact_times": c.text("safe_contact_times"),
            "ethnicity": "black_caribbean",
            "preferred_language": "pl"
        },
        "consent": {"pass_to_police": "identified", "police_may_contact": true, "refer_to_support": true},
        "already_reported": true,
        "crime_reference": c.text("crime_reference"),
        "support_needs": ["safety", "other"],
        "support_notes": c.text("support_notes"),
        "language_used": "pl",
        "interpreter_used": true
    });
    let ann_pass = c.text("ann-passphrase");
    let ann_new_pass = c.text("ann-new-passphrase");
    let wrong_pass = c.text("wrong-passphrase");
    let recovered_pass = c.text("recovered-passphrase");
    let later_description = c.text("edited-description");
    let bad_strand = c.text("bad-strand");
    let bad_time = c.text("bad-time");
    let bad_email = c.text("bad-email");
    let interview_description = c.text("interview-description");
    let interview_name = c.text("interview-name");

    let (mut desk, code) = TestDesk::init();
    // Hold a connection open so the WAL and shared-memory files stay on disk
    // for the scan instead of being folded into the store on close.
    let held = hirc_core::Desk::open(desk.path()).expect("open the desk");

    let file = desk.path().join("in.json");
    std::fs::write(&file, report.to_string()).expect("write report");
    let file = file.to_string_lossy().into_owned();
    let mut show_stdouts = Vec::new();

    desk.as_coordinator(
        &["user", "add", "Ann", "--role", "ambassador"],
        &format!("{ann_pass}\n"),
    )
    .ok();
    let id = desk
        .as_coordinator(&["report", "new", "--from", &file], "")
        .ok()
        .last_line();
    desk.as_coordinator(
        &["report", "edit", &id, "--from", "-"],
        &json!({"description": later_description}).to_string(),
    )
    .ok();
    desk.as_coordinator(&["report", "list"], "").ok();
    desk.as_coordinator(&["report", "list", "--json"], "").ok();
    desk.as_coordinator(&["--verbose", "report", "list"], "")
        .ok();
    show_stdouts.push(
        desk.as_coordinator(&["report", "show", &id], "")
            .ok()
            .stdout,
    );
    let reference = desk
        .as_coordinator(&["report", "submit", &id], "")
        .ok()
        .last_line();
    show_stdouts.push(
        desk.as_coordinator(&["report", "show", &reference], "")
            .ok()
            .stdout,
    );

    // Bad input that carries personal data must not be echoed back.
    let bad = desk.path().join("bad.json");
    for text in [
        json!({"strands": [bad_strand]}).to_string(),
        json!({"occurred_time": bad_time}).to_string(),
    ] {
        std::fs::write(&bad, text).expect("write");
        desk.as_coordinator(&["report", "new", "--from", &bad.to_string_lossy()], "")
            .expect_code(4);
    }
    let mut invalid = report.clone();
    invalid["person"]["email"] = json!(bad_email);
    std::fs::write(&bad, invalid.to_string()).expect("write");
    let second = desk
        .as_coordinator(&["report", "new", "--from", &bad.to_string_lossy()], "")
        .ok()
        .last_line();
    desk.as_coordinator(&["report", "submit", &second], "")
        .expect_code(4);

    // The interview, then deleting its draft.
    let answers =
        format!("1\n1\n3\n{interview_description}\ntoday\nn\n1\n\nn\n{interview_name}\n\n\n3\nn\n");
    let third = desk
        .as_coordinator(&["report", "new"], &answers)
        .ok()
        .last_line();
    desk.as_coordinator(&["report", "delete", &third, "--yes"], "")
        .ok();

    desk.run(&["--user", "Chris", "status"], &format!("{wrong_pass}\n"))
        .expect_code(3);
    desk.run(
        &["--user", "Ann", "user", "passwd"],
        &format!("{ann_pass}\n{ann_new_pass}\n"),
    )
    .ok();
    desk.run(
        &["--user", "Ann", "report", "list"],
        &format!("{ann_new_pass}\n"),
    )
    .ok();
    desk.as_coordinator(&["status"], "").ok();
    desk.as_coordinator(&["status", "--json"], "").ok();
    desk.as_coordinator(&["user", "list", "--json"], "").ok();
    desk.as_coordinator(&["audit"], "").ok();
    desk.as_coordinator(&["audit", "--json"], "").ok();
    desk.as_coordinator(&["audit", "verify"], "").ok();
    // Summaries leave the building: nothing personal may reach them.
    for format in ["csv", "json"] {
        let run = desk
            .as_coordinator(
                &[
                    "summary",
                    "--from",
                    "2000-01-01",
                    "--to",
                    "2100-12-31",
                    "--format",
                    format,
                ],
                "",
            )
            .ok();
        assert!(run.stdout.contains("All reports"), "{}", run.stdout);
    }
    // The workbook and the PDF are compressed, so a byte scan proves
    // nothing: read their text back as a reader would.
    let mut exported = Vec::new();
    for format in ["xlsx", "pdf"] {
        let out = desk.path().join(format!("summary.{format}"));
        desk.as_coordinator(
            &[
                "summary",
                "--period",
                &hirc_e2e::desk_today()[..4],
                "--format",
                format,
                "--out",
                &out.to_string_lossy(),
            ],
            "",
        )
        .ok();
        exported.push(match format {
            "xlsx" => hirc_e2e::workbook_text(&out),
            _ => hirc_e2e::pdf_text(&out),
        });
    }
    // The person's slip, in English and in Urdu: the reference and where to
    // get help, nothing of the report.
    let mut slips = Vec::new();
    for lang in ["en", "ur"] {
        let out = desk.path().join(format!("slip-{lang}.pdf"));
        desk.as_coordinator(
            &[
                "report",
                "slip",
                &reference.to_lowercase(),
                "--out",
                &out.to_string_lossy(),
                "--lang",
                lang,
            ],
            "",
        )
        .ok();
        slips.push(hirc_e2e::pdf_text(&out));
    }
    // The person's own copy (subject access) holds what they said, by
    // design: it is written only where asked, outside the desk, owner-only,
    // and nothing of it reaches the command's output or the desk's files
    // (scanned below).
    let elsewhere = tempfile::tempdir().expect("tmp");
    let copy = elsewhere.path().join("copy-for-the-person.pdf");
    desk.as_coordinator(
        &[
            "report",
            "access",
            &reference,
            "--out",
            &copy.to_string_lossy(),
        ],
        "",
    )
    .ok();
    let copy_text = hirc_e2e::pdf_text(&copy);
    let name_canary = c
        .all
        .iter()
        .find(|x| x.contains("-name-"))
        .expect("a name canary");
    assert!(
        copy_text.contains(name_canary.as_str()),
        "the person's copy holds what the desk holds: {copy_text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&copy).expect("copy").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the person's copy is owner-only");
    }
    desk.as_coordinator(&["user", "remove", "Ann"], "").ok();
    desk.run(
        &["--user", "Chris", "recover"],
        &format!("{code}\n{recovered_pass}\n"),
    )
    .ok();
    desk.run(
        &["--user", "Chris", "report", "list"],
        &format!("{recovered_pass}\n"),
    )
    .ok();

    // The canaries really went in: `show` printed them.
    let shown = show_stdouts.join("\n");
    assert!(
        shown.contains(&later_description) && shown.contains(&c.all[7]),
        "show prints the report"
    );

    let scan = |desk: &TestDesk, when: &str| {
        let files = desk.files();
        assert!(
            files.iter().any(|(p, _)| p.ends_with("hirc.log")),
            "a log file was written"
        );
        for (path, bytes) in &files {
            if path.ends_with("in.json") || path.ends_with("bad.json") {
                continue; // our own input files
            }
            for canary in c.all.iter().chain([&COORDINATOR_PASS.to_string()]) {
                assert!(
                    !contains(bytes, canary),
                    "{when}: {canary} found in {}",
                    path.display()
                );
            }
        }
    };
    let names: Vec<String> = desk
        .files()
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("-wal")),
        "the WAL is scanned too: {names:?}"
    );
    scan(&desk, "while open");
    drop(held);
    scan(&desk, "after close");

    for text in &exported {
        assert!(
            text.contains("Distinct reports"),
            "the export was read: {text}"
        );
        for canary in &c.all {
            assert!(!text.contains(canary.as_str()), "{canary} in an export");
        }
    }

    for text in &slips {
        assert!(text.contains(&reference), "the slip was read: {text}");
        for canary in &c.all {
            assert!(!text.contains(canary.as_str()), "{canary} on a slip");
        }
    }

    for run in &desk.runs {
        let is_show = run.args.iter().any(|a| a == "show");
        for canary in &c.all {
            assert!(
                !run.stderr.contains(canary.as_str()),
                "{canary} in stderr of `hirc {}`",
                run.args.join(" ")
            );
            if !is_show {
                assert!(
                    !run.stdout.contains(canary.as_str()),
                    "{canary} in stdout of `hirc {}`",
                    run.args.join(" ")
                );
            }
        }
    }
}

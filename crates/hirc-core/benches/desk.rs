//! Desk engine benchmarks (docs/benchmarks.md). Run with
//! `cargo bench -p hirc-core --bench desk`.
//!
//! 1. Autosave of a 4 KB report (encrypt + durable commit + audit entry),
//!    against a plain unencrypted durable SQLite insert of the same bytes,
//!    interleaved in the same run, same directory, same pragmas.
//! 2. Listing 10,000 reports after unlock, and opening that store (its
//!    header, SQLite's quick_check of every page, the migrations' check).
//! 3. Submitting on an enrolled desk (sealing encrypts for the hub at once)
//!    against a desk not yet enrolled.
//! 4. Summaries over 10,000 reports.
//! 5. Unlock (one scrypt at the calibrated, real-desk cost).

use std::time::{Duration, Instant};

use hirc_core::model::Report;
use hirc_core::vault::{KdfCost, Passphrase};
use hirc_core::{Desk, DeskSetup};

const AUTOSAVES: usize = 400;
const LISTED: usize = 10_000;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = tempfile::tempdir().expect("tmp");
    println!(
        "HIRC Desk engine benchmarks ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    autosave(dir.path(), if quick { 50 } else { AUTOSAVES });
    listing(if quick { 1_000 } else { LISTED });
    submit(if quick { 20 } else { 200 });
    summary(if quick { 1_000 } else { LISTED });
    unlock(if quick { 1 } else { 5 });
}

fn pass() -> Passphrase {
    Passphrase::new("benchmark passphrase".into())
}

fn desk(dir: &std::path::Path, kdf: KdfCost) -> Desk {
    Desk::create(
        dir,
        &DeskSetup {
            centre_name: "Bench",
            centre_code: "BN",
            coordinator: "Bea",
            passphrase: &pass(),
            kdf,
        },
    )
    .expect("desk")
    .0
}

fn fast() -> KdfCost {
    KdfCost::fixed(hirc_core::vault::MIN_SCRYPT_LOG_N).expect("kdf")
}

/// A report whose JSON is about 4 KB.
fn report(i: usize) -> Report {
    let (mut r, _) =
        Report::from_json(include_bytes!("../tests/data/report-v1.json")).expect("example");
    let account = format!(
        "Save {i}. {}",
        "They shouted at me at the bus stop again. ".repeat(80)
    );
    r.description = Some(account[..3300].to_string());
    r
}

fn autosave(dir: &std::path::Path, n: usize) {
    let desk_dir = dir.join("autosave");
    let mut d = desk(&desk_dir, fast());
    let s = d.unlock("Bea", &pass()).expect("unlock");
    let id = d.create_draft(&s, &report(0)).expect("draft");
    let size = serde_json::to_vec(&report(0)).expect("json").len();

    // The baseline: the same bytes, plain, in a table of their own, in a
    // database with the desk's durability pragmas, in the same directory.
    let plain = rusqlite::Connection::open(dir.join("plain.sqlite3")).expect("plain db");
    plain
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL);",
        )
        .expect("plain schema");

    let mut saves = Vec::with_capacity(n);
    let mut inserts = Vec::with_capacity(n);
    for i in 1..=n {
        let r = report(i);
        let t = Instant::now();
        d.save_draft(&s, id, &r).expect("autosave");
        saves.push(t.elapsed());

        let bytes = serde_json::to_vec(&r).expect("json");
        let t = Instant::now();
        plain
            .execute("INSERT INTO t (body) VALUES (?1)", [&bytes])
            .expect("insert");
        inserts.push(t.elapsed());
    }
    let (sm, sp) = stats(&mut saves);
    let (im, ip) = stats(&mut inserts);
    println!(
        "\nAutosave of a {size}-byte report, {n} times (encrypt + durable commit + audit entry)"
    );
    println!(
        "  autosave              median {:>8}  p99 {:>8}",
        ms(sm),
        ms(sp)
    );
    println!(
        "  plain durable insert  median {:>8}  p99 {:>8}",
        ms(im),
        ms(ip)
    );
    println!(
        "  ratio                 median {:.2}x     p99 {:.2}x   (target: within 1.5x)",
        sm.as_secs_f64() / im.as_secs_f64(),
        sp.as_secs_f64() / ip.as_secs_f64()
    );
}

fn listing(n: usize) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut d = desk(dir.path(), fast());
    let s = d.unlock("Bea", &pass()).expect("unlock");
    let started = Instant::now();
    for i in 0..n {
        d.create_draft(&s, &report(i)).expect("draft");
    }
    let filled = started.elapsed();
    drop(s);
    drop(d);

    let mut times = Vec::new();
    let mut opens = Vec::new();
    let bytes = std::fs::metadata(dir.path().join(hirc_core::desk::DESK_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    for _ in 0..5 {
        let t = Instant::now();
        let mut d = Desk::open(dir.path()).expect("open");
        opens.push(t.elapsed());
        let s = d.unlock("Bea", &pass()).expect("unlock");
        let t = Instant::now();
        let list = d.list_reports(&s).expect("list");
        times.push(t.elapsed());
        assert_eq!(list.len(), n);
    }
    let (open_median, _) = stats(&mut opens);
    let (m, _) = stats(&mut times);
    let worst = times.iter().max().copied().unwrap_or_default();
    println!(
        "\nListing {n} reports after unlock (open the facts of each, build summary lines), 5 runs"
    );
    println!(
        "  median {:>8}  worst {:>8}   (target: under 200 ms)   [filling took {:.1} s]",
        ms(m),
        ms(worst),
        filled.as_secs_f64()
    );
    println!(
        "Opening that store ({:.1} MB: header, quick_check of every page, migrations), 5 runs\n  median {:>8}",
        bytes as f64 / 1e6,
        ms(open_median)
    );
}

fn submit(n: usize) {
    for enrolled in [false, true] {
        let dir = tempfile::tempdir().expect("tmp");
        let mut d = desk(dir.path(), fast());
        let s = d.unlock("Bea", &pass()).expect("unlock");
        if enrolled {
            let recipients = vec![age::x25519::Identity::generate().to_public().to_string()];
            let key = hirc_proto::sign::SigningKey::generate().public();
            d.enrol(
                &s,
                &hirc_core::outbox::Enrolment {
                    url: "http://127.0.0.1:1",
                    hub_name: "bench",
                    device_id: uuid::Uuid::now_v7(),
                    token: "hirc1_bench",
                    recipients: &recipients,
                    ca_pem: None,
                    receipt_key: Some(&key),
                    device_key: None,
                },
                false,
            )
            .expect("enrol");
        }
        let mut times = Vec::new();
        for i in 0..n {
            let id = d.create_draft(&s, &report(i)).expect("draft");
            let t = Instant::now();
            d.submit(&s, id).expect("submit");
            times.push(t.elapsed());
        }
        let (m, p99) = stats(&mut times);
        println!(
            "\nSubmit a 4 KB report ({}), {n} runs\n  median {:>8}  p99 {:>8}",
            if enrolled {
                "enrolled: sealed, and encrypted for the hub at once"
            } else {
                "not enrolled: sealed only"
            },
            ms(m),
            ms(p99)
        );
    }
}

fn summary(n: usize) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut d = desk(dir.path(), fast());
    let s = d.unlock("Bea", &pass()).expect("unlock");
    for i in 0..n {
        let id = d.create_draft(&s, &report(i)).expect("draft");
        d.submit(&s, id).expect("submit");
    }
    let today = hirc_core::time::Clock::system().today();
    let options = hirc_core::summary::SummaryOptions {
        from: today - chrono::Duration::days(365),
        to: today,
        threshold: 5,
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let summary = d.summary(&s, options).expect("summary");
        times.push(t.elapsed());
        assert_eq!(
            summary.tables[0].rows[0].cell,
            hirc_core::summary::Cell::Count(n as u64)
        );
    }
    let (m, _) = stats(&mut times);
    let worst = times.iter().max().copied().unwrap_or_default();
    println!(
        "\nSummary over {n} submitted reports (open each one's facts, count, suppress), 5 runs"
    );
    println!(
        "  median {:>8}  worst {:>8}   (target: under 1 s)",
        ms(m),
        ms(worst)
    );
    let summary = d.summary(&s, options).expect("summary");
    let export = |name: &str, f: &dyn Fn() -> usize| {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            size = f();
            times.push(t.elapsed());
        }
        let (m, _) = stats(&mut times);
        println!("  then as {name:<5} median {:>8}  ({size} bytes)", ms(m));
    };
    export("CSV", &|| {
        hirc_core::summary::to_csv(&summary, &hirc_core::summary::Wording::english()).len()
    });
    export("XLSX", &|| {
        hirc_core::summary::to_xlsx(&summary, &hirc_core::summary::Wording::english())
            .expect("xlsx")
            .len()
    });
    export("PDF", &|| {
        hirc_core::summary::to_pdf(&summary, &hirc_core::summary::Wording::english())
            .expect("pdf")
            .len()
    });
}

fn unlock(n: usize) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut d = desk(dir.path(), KdfCost::calibrated());
    let mut times = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let s = d.unlock("Bea", &pass()).expect("unlock");
        times.push(t.elapsed());
        drop(s);
    }
    let (m, _) = stats(&mut times);
    println!("\nUnlock with age's calibrated scrypt cost (the real-desk setting), {n} runs");
    println!("  median {:>8}", ms(m));
}

fn stats(v: &mut [Duration]) -> (Duration, Duration) {
    v.sort();
    let median = v[v.len() / 2];
    let p99 = v[((v.len() as f64 * 0.99).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)];
    (median, p99)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

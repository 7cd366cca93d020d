//! Evidence benchmarks (docs/benchmarks.md). Run with
//! `cargo bench -p hirc-core --bench evidence` (Linux: memory is read from
//! /proc).
//!
//! 1. A 200 MiB document added (read, encrypted to the desk key as it
//!    streams, stored in pieces, one durable commit) and read back
//!    (decrypted as it streams), with the process's peak memory above its
//!    baseline for each, against writing the same bytes to a plain file
//!    and syncing it.
//! 2. A 12-megapixel phone photo stripped (decoded, turned, encoded again)
//!    and stored.

use std::io::{Read, Write};
use std::time::Instant;

use hirc_core::evidence::EvidenceLimits;
use hirc_core::model::Report;
use hirc_core::vault::{KdfCost, Passphrase};
use hirc_core::{Desk, DeskSetup};

const MIB: u64 = 1024 * 1024;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    println!(
        "HIRC Desk evidence benchmarks ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    document(if quick { 8 } else { 200 });
    photo(if quick { (1000, 750) } else { (4000, 3000) });
}

/// A document of `mib` MiB that is never whole in memory: a PDF's first
/// bytes, then bytes that do not compress.
struct Generated {
    left: u64,
    state: u64,
    started: bool,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if !self.started {
            self.started = true;
            let head = b"%PDF-1.7\n";
            out[..head.len()].copy_from_slice(head);
            self.left -= head.len() as u64;
            return Ok(head.len());
        }
        let n = (out.len() as u64).min(self.left) as usize;
        for b in &mut out[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = self.state as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn generated(mib: u64) -> Generated {
    Generated {
        left: mib * MIB,
        state: 0x9E37_79B9_7F4A_7C15,
        started: false,
    }
}

/// The process's resident memory now and at its peak since the last
/// [`reset_peak`], in KiB (Linux).
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts counting the peak again from now (Linux: `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn desk(dir: &std::path::Path) -> (Desk, hirc_core::Session, uuid::Uuid) {
    let pass = Passphrase::new("benchmark passphrase".into());
    let (mut d, _) = Desk::create(
        dir,
        &DeskSetup {
            centre_name: "Bench",
            centre_code: "BN",
            coordinator: "Bea",
            passphrase: &pass,
            kdf: KdfCost::fixed(hirc_core::vault::MIN_SCRYPT_LOG_N).expect("kdf"),
        },
    )
    .expect("desk");
    let s = d.unlock("Bea", &pass).expect("unlock");
    d.set_evidence_limits(
        &s,
        EvidenceLimits {
            file_mib: 512,
            report_mib: 1024,
        },
    )
    .expect("limits");
    let id = d.create_draft(&s, &Report::default()).expect("draft");
    (d, s, id)
}

fn rate(mib: u64, secs: f64) -> String {
    format!("{:>6.1} MiB/s", mib as f64 / secs)
}

fn document(mib: u64) {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut d, s, id) = desk(&dir.path().join("desk"));

    // The baseline: the same bytes to a plain file, synced.
    let t = Instant::now();
    let mut plain = std::fs::File::create(dir.path().join("plain.bin")).expect("file");
    std::io::copy(&mut generated(mib), &mut plain).expect("copy");
    plain.sync_all().expect("sync");
    let raw = t.elapsed().as_secs_f64();

    let (base, _) = memory();
    reset_peak();
    let t = Instant::now();
    let added = d.add_evidence(&s, id, generated(mib), None).expect("added");
    let add = t.elapsed().as_secs_f64();
    let (_, add_peak) = memory();

    let (base_read, _) = memory();
    reset_peak();
    let t = Instant::now();
    let mut content = d.open_evidence(&s, added.id).expect("open");
    let mut buf = vec![0u8; 64 * 1024];
    let mut read = 0u64;
    loop {
        let n = content.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        read += n as u64;
    }
    std::io::sink().write_all(&buf).expect("sink");
    let back = t.elapsed().as_secs_f64();
    let (_, read_peak) = memory();
    assert_eq!(read, mib * MIB, "read back whole");

    println!("\nA {mib} MiB document (PDF), never whole in memory");
    println!(
        "  plain file + fsync      {:>7.2} s  {}",
        raw,
        rate(mib, raw)
    );
    println!(
        "  added (encrypt, store)  {:>7.2} s  {}   ratio {:.2}x   peak memory +{} MiB",
        add,
        rate(mib, add),
        add / raw,
        add_peak.saturating_sub(base) / 1024
    );
    println!(
        "  read back (decrypt)     {:>7.2} s  {}                  peak memory +{} MiB",
        back,
        rate(mib, back),
        read_peak.saturating_sub(base_read) / 1024
    );
}

fn photo((w, h): (u32, u32)) {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut d, s, id) = desk(&dir.path().join("desk"));
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .expect("jpeg");
    let jpeg = jpeg.into_inner();
    drop(img);
    let (base, _) = memory();
    reset_peak();
    let t = Instant::now();
    let added = d
        .add_evidence(&s, id, std::io::Cursor::new(&jpeg), None)
        .expect("added");
    let took = t.elapsed();
    let (_, peak) = memory();
    println!(
        "\nA {:.0}-megapixel photo ({:.1} MiB JPEG) stripped and stored",
        f64::from(w * h) / 1e6,
        jpeg.len() as f64 / MIB as f64
    );
    println!(
        "  decode, turn, encode, encrypt, store  {:>7.2} s   kept {:.1} MiB   peak memory +{} MiB",
        took.as_secs_f64(),
        added.size as f64 / MIB as f64,
        peak.saturating_sub(base) / 1024
    );
}

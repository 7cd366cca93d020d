//! Evidence benchmark (docs/benchmarks.md). Run with
//! `cargo bench -p hirc-e2e --bench evidence` (200 MiB; `-- --quick` for
//! 20 MiB; `-- --line-mbit N` for a line of N Mbit/s instead of 100).
//!
//! One document, from the desk to the hub's receipt, in one process over
//! loopback HTTP: added (streamed, encrypted at rest), sealed (its copy for
//! the partnership made), and sent by the real sync pass in resumable
//! chunks until the hub signs the receipt. Against it, in the same run, a
//! minimal client PUTting the very same ciphertext, in the same chunks,
//! into a fresh hub: the pipe's limit. Peak memory is the process's
//! (desk and hub together), measured per phase above what it held before.
//!
//! It is measured twice: straight over loopback, where the pipe is this
//! machine's disk and the desk's own work (on the same disk and cores as
//! the hub's) weighs most; then through a line of a given speed (a proxy
//! that lets the desk's bytes up no faster than that), as a centre's
//! broadband would, for both the desk and the minimal client.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hirc_core::Desk;
use hirc_core::model::Report;
use hirc_hub::sqlite_store::SqliteStore;
use hirc_hub::store::HubStore;
use hirc_proto::{
    DIGEST_HEADER, EVIDENCE_DIGEST_HEADER, UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER,
    content_digest, evidence_path,
};
use hirc_sync::{PassOptions, run_pass};
use uuid::Uuid;

mod support;
use support::{bench_desk, enrol_desk, enrol_token, serve};

const MIB: usize = 1024 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let line_mbit: u64 = args
        .iter()
        .position(|a| a == "--line-mbit")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(100);
    let size = if quick { 20 * MIB } else { 200 * MIB };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "HIRC evidence benchmark: one {} MiB document, desk to receipt, 2 cores",
        size / MIB
    );
    rt.block_on(async move {
        println!(" over loopback (no line: the disk is the limit)");
        measure(size, None).await;
        println!(" through a {line_mbit} Mbit/s line (the desk's bytes up; answers unlimited)");
        measure(size, Some(line_mbit * 1_000_000 / 8)).await;
    });
}

/// One document from add to receipt, then the raw PUT of its ciphertext,
/// through a line of `line` bytes a second (none: straight to the hub).
async fn measure(size: usize, line: Option<u64>) {
    let partnership = age::x25519::Identity::generate();
    let recipient = partnership.to_public().to_string();
    let work = tempfile::tempdir().expect("tmp");
    let source = work.path().join("scan.pdf");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&source).expect("file"));
        f.write_all(b"%PDF-1.4\n").expect("write");
        let mut left = size - 9;
        let block: Vec<u8> = (0..MIB).map(|_| rand::random::<u8>()).collect();
        while left > 0 {
            let n = left.min(block.len());
            f.write_all(&block[..n]).expect("write");
            left -= n;
        }
    }
    let (url, store, _hub_dir) = hub(&recipient, line).await;
    let (desk, session) = desk_enrolled(work.path(), &url, &store).await;

    let base = rss_mib();
    reset_peak();
    let started = Instant::now();
    let draft = {
        let mut d = desk.lock().expect("desk");
        let (report, _) = Report::from_json(include_bytes!(
            "../../crates/hirc-core/tests/data/report-v1.json"
        ))
        .expect("example");
        // A coordinator allows a large scan.
        d.set_evidence_limits(
            &session,
            hirc_core::evidence::EvidenceLimits {
                file_mib: 256,
                report_mib: 256,
            },
        )
        .expect("limits");
        let draft = d.create_draft(&session, &report).expect("draft");
        let file = std::fs::File::open(&source).expect("open");
        d.add_evidence(&session, draft, std::io::BufReader::new(file), None)
            .expect("added");
        draft
    };
    let added = started.elapsed();
    let add_peak = peak_mib().saturating_sub(base);
    reset_peak();
    let sealing = Instant::now();
    desk.lock()
        .expect("desk")
        .submit(&session, draft)
        .expect("sealed");
    let sealed = sealing.elapsed();
    let seal_peak = peak_mib().saturating_sub(base);
    let item = desk
        .lock()
        .expect("desk")
        .due_uploads(chrono::Utc::now(), true)
        .expect("due")[0]
        .evidence[0]
        .clone();
    reset_peak();
    let sending = Instant::now();
    let pass = run_pass(&desk, PassOptions::default()).await.expect("pass");
    let sent = sending.elapsed();
    let send_peak = peak_mib().saturating_sub(base);
    assert_eq!(pass.delivered, 1, "{:?}", pass.errors);
    let total = started.elapsed();

    // The pipe: the same ciphertext, the same chunks, a fresh hub.
    let copy = {
        let d = desk.lock().expect("desk");
        // Deleted on delivery: read back from the hub that holds it.
        drop(d);
        let mut bytes = Vec::with_capacity(item.length as usize);
        let device = store
            .devices()
            .await
            .expect("devices")
            .first()
            .expect("desk")
            .id;
        let mut seq = 0;
        while let Some(chunk) = store
            .evidence_chunk(device, item.id, seq)
            .await
            .expect("chunk")
        {
            bytes.extend(chunk);
            seq += 1;
        }
        bytes
    };
    assert_eq!(copy.len() as u64, item.length);
    let (pipe_url, pipe_store, _pipe_dir) = hub(&recipient, line).await;
    let token = enrol_token(&pipe_store, &pipe_url).await;
    let raw = raw_put(&pipe_url, &token, &copy).await;

    let mib = size as f64 / MIB as f64;
    println!(
        "  add (read, encrypt at rest)      {:>8.0} ms  {:>6.1} MiB/s  peak +{add_peak} MiB",
        ms(added),
        mib / added.as_secs_f64()
    );
    println!(
        "  seal (copy for the partnership)  {:>8.0} ms  {:>6.1} MiB/s  peak +{seal_peak} MiB",
        ms(sealed),
        mib / sealed.as_secs_f64()
    );
    println!(
        "  send (chunks, then the receipt)  {:>8.0} ms  {:>6.1} MiB/s  peak +{send_peak} MiB",
        ms(sent),
        mib / sent.as_secs_f64()
    );
    println!(
        "  add to receipt                   {:>8.0} ms  {:>6.1} MiB/s",
        ms(total),
        mib / total.as_secs_f64()
    );
    println!(
        "  raw PUT of the same bytes        {:>8.0} ms  {:>6.1} MiB/s",
        ms(raw),
        mib / raw.as_secs_f64()
    );
    println!(
        "  send / raw PUT: {:.2}x; add to receipt / raw PUT: {:.2}x",
        sent.as_secs_f64() / raw.as_secs_f64(),
        total.as_secs_f64() / raw.as_secs_f64()
    );
}

/// A fresh desk, enrolled with the hub at `url`.
async fn desk_enrolled(
    dir: &std::path::Path,
    url: &str,
    store: &Arc<dyn HubStore>,
) -> (Arc<Mutex<Desk>>, Arc<hirc_core::Session>) {
    let (mut desk, session) = bench_desk(&dir.join("desk"));
    enrol_desk(&mut desk, &session, url, store).await;
    (Arc::new(Mutex::new(desk)), Arc::new(session))
}

/// A fresh hub; its URL is behind a line of `line` bytes a second, if any.
async fn hub(recipient: &str, line: Option<u64>) -> (String, Arc<dyn HubStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let store: Arc<dyn HubStore> = Arc::new(SqliteStore::open(dir.path()).expect("sqlite"));
    let url = serve(&store, recipient).await;
    let url = match line {
        None => url,
        Some(rate) => {
            let hub: SocketAddr = url
                .trim_start_matches("http://")
                .parse()
                .expect("hub address");
            throttled_line(hub, rate).await
        }
    };
    (url, store, dir)
}

/// A proxy in front of `hub` that lets bytes towards it through at no more
/// than `rate` bytes a second, all connections together (one line, shared,
/// as a centre's upload is); answers come back as fast as they are
/// written. Returns its URL.
async fn throttled_line(hub: SocketAddr, rate: u64) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    // When the line is next free: each write waits its turn for as long as
    // its bytes take on the line.
    let free_at = Arc::new(tokio::sync::Mutex::new(tokio::time::Instant::now()));
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let free_at = free_at.clone();
            tokio::spawn(async move {
                let Ok(upstream) = tokio::net::TcpStream::connect(hub).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let (mut from_desk, mut to_desk) = client.into_split();
                let (mut from_hub, mut to_hub) = upstream.into_split();
                let up = async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match from_desk.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let due = {
                            let mut at = free_at.lock().await;
                            // A line idle for a moment may send a short burst (as
                            // a modem's buffer does); otherwise each timer's lateness
                            // would be lost from the line's rate.
                            let idle = tokio::time::Instant::now() - Duration::from_millis(20);
                            let start = (*at).max(idle);
                            *at = start + Duration::from_secs_f64(n as f64 / rate as f64);
                            *at
                        };
                        tokio::time::sleep_until(due).await;
                        if to_hub.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = to_hub.shutdown().await;
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut from_hub, &mut to_desk).await;
                };
                tokio::join!(up, down);
            });
        }
    });
    url
}

/// PUTs `bytes` as one item of evidence, in the desk's chunk size, one
/// after another, with nothing else around it.
async fn raw_put(url: &str, token: &str, bytes: &[u8]) -> Duration {
    let http = reqwest::Client::new();
    let (report, id) = (Uuid::now_v7(), Uuid::now_v7());
    let digest = content_digest(bytes);
    let started = Instant::now();
    for (n, chunk) in bytes.chunks(hirc_sync::worker::EVIDENCE_CHUNK).enumerate() {
        let offset = n * hirc_sync::worker::EVIDENCE_CHUNK;
        let response = http
            .put(format!("{url}{}", evidence_path(report, id)))
            .bearer_auth(token)
            .header(DIGEST_HEADER, content_digest(chunk))
            .header(UPLOAD_OFFSET_HEADER, offset)
            .header(UPLOAD_LENGTH_HEADER, bytes.len())
            .header(EVIDENCE_DIGEST_HEADER, &digest)
            .body(chunk.to_vec())
            .send()
            .await
            .expect("put");
        assert!(response.status().is_success(), "{}", response.status());
    }
    started.elapsed()
}

/// This process's resident memory now, in MiB.
fn rss_mib() -> u64 {
    status_kib("VmRSS:") / 1024
}

/// The most this process has held since the last reset, in MiB.
fn peak_mib() -> u64 {
    status_kib("VmHWM:") / 1024
}

/// Starts counting the peak again from now (Linux: `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

//! A national network's load on one hub (docs/benchmarks.md, "Hub under
//! load"). Run with `cargo bench -p hirc-e2e --bench load` (add `-- --quick`
//! for small numbers; set HIRC_TEST_POSTGRES to include PostgreSQL).
//!
//! A real `hirc-hub` process on loopback. Many desks come online at the same
//! moment after a week offline, each with a backlog, and drain it as the
//! sync worker does (4 uploads in flight each, over its own connections).
//! Bounded in count (desks × backlog) and in time (it gives up after two
//! minutes). Reports the throughput, the latency of each upload (from the
//! request to the checked-in receipt: p50, p90, p99, the slowest), and the
//! hub's memory per open idle connection.

use std::io::Write;
use std::time::{Duration, Instant};

use hirc_e2e::{Backend, Balancer, HubProcess, backends, fresh_postgres, hub_admin};
use hirc_proto::sign::SigningKey;
use hirc_sync::HubClient;
use uuid::Uuid;

const IN_FLIGHT: usize = 4;
const GIVE_UP: Duration = Duration::from_secs(120);

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (desks, backlog) = if quick { (20, 5) } else { (100, 30) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "Hub under load: {desks} desks come online together, each with {backlog} reports waiting ({} reports), {IN_FLIGHT} uploads in flight per desk, 2 cores shared with the hub",
        desks * backlog
    );
    // Each store with one hub; PostgreSQL also with two hubs on the one
    // database behind HAProxy, for the scaling (on 2 cores the hubs, the
    // database, the proxy and the desks share the same two).
    let mut setups: Vec<(Backend, usize)> = Vec::new();
    for backend in backends() {
        setups.push((backend.clone(), 1));
        if matches!(backend, Backend::Postgres(_)) && Balancer::available() {
            setups.push((Backend::Postgres(fresh_postgres().expect("PostgreSQL")), 2));
        }
    }
    for (backend, replicas) in setups {
        let name = match (&backend, replicas) {
            (Backend::Sqlite, _) => "SQLite",
            (Backend::Postgres(_), 1) => "PostgreSQL",
            (Backend::Postgres(_), _) => "PostgreSQL, 2 hubs behind HAProxy",
        };
        let dir = tempfile::tempdir().expect("tmp");
        let identity = dir.path().join("partnership.key");
        let recipient = hub_admin(&["keygen", "--out", &identity.to_string_lossy()])
            .ok()
            .last_line();
        let mut flags: Vec<String> = vec!["--rate-per-minute".into(), "100000".into()];
        if let Backend::Postgres(url) = &backend {
            flags.extend([
                "--database".into(),
                url.clone(),
                "--receipt-key".into(),
                dir.path()
                    .join("receipt.key")
                    .to_string_lossy()
                    .into_owned(),
            ]);
        }
        let flag_refs: Vec<&str> = flags.iter().map(String::as_str).collect();
        let hub = HubProcess::start(&dir.path().join("hub"), &recipient, &flag_refs);
        let more: Vec<HubProcess> = (1..replicas)
            .map(|i| {
                HubProcess::start(&dir.path().join(format!("hub-{i}")), &recipient, &flag_refs)
            })
            .collect();
        let balancer = (replicas > 1).then(|| {
            let urls: Vec<&str> = std::iter::once(&hub)
                .chain(&more)
                .map(|h| h.url.as_str())
                .collect();
            Balancer::start(dir.path(), &urls)
        });
        let url = balancer.as_ref().map_or(&hub.url, |b| &b.url);
        let data = dir.path().join("hub");
        let codes: Vec<String> = (0..desks)
            .map(|_| {
                let mut args = vec!["enrol", "--centre", "Castle Point CVS"];
                args.extend(store_args(&flags, &data));
                hub_admin(&args).ok().last_line()
            })
            .collect();
        let r: age::x25519::Recipient = recipient.parse().expect("recipient");
        let body = |i: usize| {
            let account = format!("load test account {i} ").repeat(200);
            age::encrypt(&r, account.as_bytes()).expect("encrypt")
        };
        let backlogs: Vec<Vec<Vec<u8>>> = (0..desks)
            .map(|d| (0..backlog).map(|i| body(d * backlog + i)).collect())
            .collect();
        let (elapsed, mut latencies, retried) = rt.block_on(run(url, codes, backlogs));
        // Every upload stored, once.
        let mut args = vec!["devices", "--json"];
        args.extend(store_args(&flags, &data));
        let devices: serde_json::Value =
            serde_json::from_str(&hub_admin(&args).ok().stdout).expect("json");
        let stored: i64 = devices
            .as_array()
            .expect("a list")
            .iter()
            .map(|d| d["reports"].as_i64().unwrap_or_default())
            .sum();
        assert_eq!(
            usize::try_from(stored).ok(),
            Some(desks * backlog),
            "every upload stored once"
        );
        latencies.sort();
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        println!(
            "  {name:<34}  {:>6.0} reports/s  latency p50 {:>6.1} ms  p90 {:>6.1} ms  p99 {:>6.1} ms  slowest {:>6.1} ms  ({retried} tried again)",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            ms(at(0.50)),
            ms(at(0.90)),
            ms(at(0.99)),
            ms(*latencies.last().expect("some")),
        );
        if matches!(backend, Backend::Sqlite) {
            memory_per_connection(&hub, if quick { 100 } else { 400 });
        }
    }
}

/// The flags that name the same store as the running hub, for `hirc-hub
/// enrol`.
fn store_args<'a>(flags: &'a [String], data: &'a std::path::Path) -> Vec<&'a str> {
    match flags.iter().position(|f| f == "--database") {
        Some(i) => flags[i..i + 4].iter().map(String::as_str).collect(),
        None => vec!["--data-dir", data.to_str().expect("utf-8 path")],
    }
}

/// Every desk enrols, then all drain their backlogs at once. Returns the
/// time from the first upload to the last receipt, each upload's time (to
/// its receipt, tries again included) and how many tries again there were.
async fn run(
    url: &str,
    codes: Vec<String>,
    backlogs: Vec<Vec<Vec<u8>>>,
) -> (Duration, Vec<Duration>, usize) {
    let mut desks = Vec::new();
    for code in codes {
        let client = HubClient::new(url, None).expect("client");
        let token = client
            .enrol(&code, "load desk", &SigningKey::generate(), None)
            .await
            .expect("enrol")
            .token;
        desks.push((client, token));
    }
    let started = Instant::now();
    let mut all = tokio::task::JoinSet::new();
    for ((client, token), backlog) in desks.into_iter().zip(backlogs) {
        all.spawn(async move {
            let mut times = Vec::with_capacity(backlog.len());
            let mut retried = 0;
            let mut in_flight = tokio::task::JoinSet::new();
            let mut bodies = backlog.into_iter();
            loop {
                while in_flight.len() < IN_FLIGHT {
                    let Some(body) = bodies.next() else { break };
                    let (client, token) = (client.clone(), token.clone());
                    in_flight.spawn(async move {
                        // As the sync worker does: a connection that fails
                        // is tried again (the same bytes, the same receipt).
                        let (sent, id) = (Instant::now(), Uuid::now_v7());
                        let mut retries = 0;
                        loop {
                            match client.upload(&token, id, 1, body.clone(), &[]).await {
                                Ok(_) => break,
                                Err(e) if e.is_retryable() && retries < 10 => {
                                    retries += 1;
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                }
                                Err(e) => panic!("no receipt: {e}"),
                            }
                        }
                        (sent.elapsed(), retries)
                    });
                }
                match in_flight.join_next().await {
                    Some(done) => {
                        let (time, retries) = done.expect("upload task");
                        times.push(time);
                        retried += retries;
                    }
                    None => break,
                }
            }
            (times, retried)
        });
    }
    let mut latencies = Vec::new();
    let mut retried = 0;
    let drained = tokio::time::timeout(GIVE_UP, async {
        while let Some(done) = all.join_next().await {
            let (times, retries) = done.expect("desk task");
            latencies.extend(times);
            retried += retries;
        }
    })
    .await;
    assert!(
        drained.is_ok(),
        "the load was not drained within {GIVE_UP:?}"
    );
    (started.elapsed(), latencies, retried)
}

/// Opens `n` connections that each send one request and then stay open,
/// idle, and reports the hub's resident memory per connection.
fn memory_per_connection(hub: &HubProcess, n: usize) {
    let address = hub.url.trim_start_matches("http://").to_string();
    let before = hub.rss_kib();
    let mut open = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .write_all(b"GET /v1/health HTTP/1.1\r\nHost: hub\r\n\r\n")
            .expect("request");
        open.push(stream);
    }
    // Every connection answered (the hub has set each one up).
    for stream in &mut open {
        let mut buf = [0u8; 512];
        std::io::Read::read(stream, &mut buf).expect("answer");
    }
    let after = hub.rss_kib();
    println!(
        "  hub memory: {before} KiB resident, {after} KiB with {n} idle connections open: {:.1} KiB per connection",
        after.saturating_sub(before) as f64 / n as f64
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

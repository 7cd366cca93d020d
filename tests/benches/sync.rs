//! Sync benchmarks (docs/benchmarks.md). Run with
//! `cargo bench -p hirc-e2e --bench sync` (add `-- --quick` for small data;
//! set HIRC_TEST_POSTGRES to include PostgreSQL).
//!
//! 1. Backlog: 1,000 queued 4 KB reports drained by the real sync pass into
//!    a loopback hub, against a minimal client PUTting the same bodies with
//!    the same concurrency into a fresh hub: the pipe's limit.
//! 2. Hub ingest rate (reports/s) on SQLite and on PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hirc_core::Desk;
use hirc_core::model::Report;
use hirc_hub::pg_store::PgStore;
use hirc_hub::sqlite_store::SqliteStore;
use hirc_hub::store::HubStore;
use hirc_sync::{HubClient, PassOptions, run_pass};
use uuid::Uuid;

mod support;
use support::{bench_desk, enrol_desk, enrol_token, serve};

const IN_FLIGHT: usize = 4;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 100 } else { 1000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("HIRC sync benchmarks ({n} reports, {IN_FLIGHT} uploads in flight, 2 cores)");
    rt.block_on(async move {
        let recipient = age::x25519::Identity::generate().to_public().to_string();

        // The desk's backlog: sealed, then encrypted for the hub at
        // enrolment (queued), all before timing.
        let dir = tempfile::tempdir().expect("tmp");
        let (mut desk, session) = backlog(dir.path(), n);
        let (url, store, _hub_dir) = hub(Backend::Sqlite, &recipient).await;
        enrol_desk(&mut desk, &session, &url, &store).await;
        let payloads: Vec<Vec<u8>> = desk
            .due_uploads(chrono::Utc::now(), true)
            .expect("due")
            .into_iter()
            .map(|u| u.payload)
            .collect();
        assert_eq!(payloads.len(), n);
        // Uploading needs no one signed in.
        drop(session);
        let desk = Arc::new(Mutex::new(desk));

        // The pipe's limit: a minimal client, the same bodies, a fresh hub.
        let (pipe_url, pipe_store, _pipe_dir) = hub(Backend::Sqlite, &recipient).await;
        let token = enrol_token(&pipe_store, &pipe_url).await;
        let pipe = minimal_client(&pipe_url, &token, &payloads).await;

        let started = Instant::now();
        let mut passes = 0;
        loop {
            passes += 1;
            let pass = run_pass(
                &desk,
                PassOptions {
                    ignore_backoff: true,
                    in_flight: IN_FLIGHT,
                },
            )
            .await
            .expect("pass");
            if pass.outbox.waiting == 0 {
                break;
            }
        }
        let desk_time = started.elapsed();
        let held = store.reports_since(None).await.expect("count").len();
        assert_eq!(held, n);
        println!(
            "\nBacklog of {n} queued reports (~4.6 KB ciphertext each), loopback hub on SQLite"
        );
        println!(
            "  minimal client (the pipe)   {:>8.1} ms  {:>6.0} reports/s",
            ms(pipe),
            per_s(n, pipe)
        );
        println!(
            "  hirc sync pass              {:>8.1} ms  {:>6.0} reports/s  ({passes} pass)",
            ms(desk_time),
            per_s(n, desk_time)
        );
        println!(
            "  ratio                       {:.2}x   (target: within 2x)",
            desk_time.as_secs_f64() / pipe.as_secs_f64()
        );

        // 2. Ingest rate per back end.
        println!("\nHub ingest rate, minimal client, {IN_FLIGHT} in flight");
        println!("  SQLite      {:>6.0} reports/s", per_s(n, pipe));
        match std::env::var("HIRC_TEST_POSTGRES") {
            Ok(base) => {
                let (url, store, _d) = hub(Backend::Postgres(base), &recipient).await;
                let token = enrol_token(&store, &url).await;
                let t = minimal_client(&url, &token, &payloads).await;
                println!("  PostgreSQL  {:>6.0} reports/s", per_s(n, t));
            }
            Err(_) => println!("  PostgreSQL  (set HIRC_TEST_POSTGRES to measure)"),
        }
    });
}

enum Backend {
    Sqlite,
    Postgres(String),
}

fn backlog(dir: &std::path::Path, n: usize) -> (Desk, hirc_core::Session) {
    let (mut desk, session) = bench_desk(dir);
    let (mut report, _) = Report::from_json(include_bytes!(
        "../../crates/hirc-core/tests/data/report-v1.json"
    ))
    .expect("example");
    for i in 0..n {
        report.description = Some(
            format!(
                "Report {i}. {}",
                "They shouted at me at the bus stop again. ".repeat(80)
            )[..3300]
                .to_string(),
        );
        let id = desk.create_draft(&session, &report).expect("draft");
        desk.submit(&session, id).expect("submit");
    }
    (desk, session)
}

async fn hub(backend: Backend, recipient: &str) -> (String, Arc<dyn HubStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let store: Arc<dyn HubStore> = match backend {
        Backend::Sqlite => Arc::new(SqliteStore::open(dir.path()).expect("sqlite")),
        Backend::Postgres(base) => {
            let name = format!("hirc_bench_{}", Uuid::now_v7().simple());
            let (prefix, _) = base.rsplit_once('/').expect("url");
            let admin_url = base.clone();
            let create = name.clone();
            tokio::task::spawn_blocking(move || {
                let mut admin =
                    postgres::Client::connect(&admin_url, postgres::NoTls).expect("connect");
                admin
                    .batch_execute(&format!("CREATE DATABASE {create}"))
                    .expect("create");
            })
            .await
            .expect("create db");
            let url = format!("{prefix}/{name}");
            Arc::new(PgStore::connect(&url).await.expect("pg"))
        }
    };
    let url = serve(&store, recipient).await;
    (url, store, dir)
}

/// PUT every body once, `IN_FLIGHT` at a time, with nothing else around it.
async fn minimal_client(url: &str, token: &str, payloads: &[Vec<u8>]) -> Duration {
    let client = HubClient::new(url, None).expect("client");
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut bodies = payloads.iter().cloned();
    loop {
        while set.len() < IN_FLIGHT {
            let Some(body) = bodies.next() else { break };
            let (client, token) = (client.clone(), token.to_string());
            set.spawn(async move {
                client
                    .upload(&token, Uuid::now_v7(), 1, body, &[])
                    .await
                    .expect("put")
            });
        }
        if set.join_next().await.is_none() {
            break;
        }
    }
    started.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn per_s(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

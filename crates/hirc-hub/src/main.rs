//! `hirc-hub`: run the partnership's hub and administer it.

#![forbid(unsafe_code)]

mod config;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use hirc_hub::pg_store::PgStore;
use hirc_hub::server::{AppState, HubConfig};
use hirc_hub::store::{HubStore, SqliteStore};
use hirc_hub::{export, import, secrets, server};
use hirc_proto::sign::{SigningKey, key_fingerprint};

/// The HIRC partnership hub: receives end-to-end encrypted reports from
/// enrolled desks, and the partnership's tools to enrol desks, revoke them and
/// decrypt what arrived.
#[derive(Debug, Parser)]
#[command(name = "hirc-hub", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the hub keeps its data: an embedded SQLite file in a directory
/// (the default), or a PostgreSQL database.
#[derive(Debug, clap::Args)]
pub(crate) struct DataDir {
    /// The hub's data directory (embedded SQLite: DIR/hub.sqlite3).
    #[arg(long, env = "HIRC_HUB_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// A PostgreSQL database instead: postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "HIRC_HUB_DATABASE", value_name = "URL")]
    pub(crate) database: Option<String>,
    /// The hub's receipt-signing key (made on first use if missing; default
    /// DIR/receipt-signing.key). Every hub process on one database, and the
    /// import command, must use the same file.
    #[arg(long, env = "HIRC_HUB_RECEIPT_KEY", value_name = "FILE")]
    pub(crate) receipt_key: Option<PathBuf>,
    /// Make a new receipt-signing key although desks are enrolled (its
    /// file is missing): every desk must then be enrolled again.
    #[arg(long)]
    pub(crate) new_receipt_key: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Make the partnership's age key. Prints its public recipient (age1…)
    /// as the last line. Keep the file offline; the hub never needs it.
    Keygen {
        /// Where to write the identity file (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Run the hub until stopped (Ctrl-C or SIGTERM). Settings come from
    /// flags, then HIRC_HUB_* environment variables, then --config, then
    /// the defaults shown.
    Serve {
        /// A TOML file with any of the settings below, named as the flags
        /// (e.g. `listen = "127.0.0.1:8740"`, `recipients = ["age1…"]`).
        #[arg(long, env = "HIRC_HUB_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        dir: DataDir,
        /// Address to listen on. Plain HTTP is served on loopback only: put a
        /// TLS-terminating proxy in front for anything else.
        #[arg(long, env = "HIRC_HUB_LISTEN", default_value = "127.0.0.1:8740")]
        listen: SocketAddr,
        /// A partnership recipient (age1…) that desks encrypt to. Repeat for
        /// an escrow key.
        #[arg(long = "recipient", env = "HIRC_HUB_RECIPIENTS", value_delimiter = ',')]
        recipients: Vec<String>,
        /// The hub's name, shown to desks at enrolment.
        #[arg(long, env = "HIRC_HUB_NAME", default_value = "HIRC hub")]
        hub_name: String,
        /// The largest upload accepted, in bytes.
        #[arg(long, env = "HIRC_HUB_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
        max_body_bytes: usize,
        /// Uploads allowed per desk per minute.
        #[arg(long, env = "HIRC_HUB_RATE_PER_MINUTE", default_value_t = 600)]
        rate_per_minute: u32,
        /// Seconds one request may take, body included.
        #[arg(
            long = "request-timeout",
            env = "HIRC_HUB_REQUEST_TIMEOUT",
            default_value_t = 30,
            value_name = "SECONDS"
        )]
        request_timeout_secs: u64,
        /// Seconds a client may take to send its request headers (and TLS
        /// handshake) before it is cut off.
        #[arg(
            long = "header-timeout",
            env = "HIRC_HUB_HEADER_TIMEOUT",
            default_value_t = 10,
            value_name = "SECONDS"
        )]
        header_timeout_secs: u64,
        /// Connections open at once; at the limit the oldest idle one makes
        /// room. Kept below the process's open-file limit.
        #[arg(long, env = "HIRC_HUB_MAX_CONNECTIONS", default_value_t = 512)]
        max_connections: usize,
        /// Connections one client address (an IPv6 /64) may hold at once; 0
        /// for no limit (behind a load balancer on another host).
        #[arg(
            long,
            env = "HIRC_HUB_MAX_CONNECTIONS_PER_ADDRESS",
            default_value_t = 64
        )]
        max_connections_per_address: usize,
        /// Wrong enrolment codes or tokens allowed per client address per
        /// minute; past it that address is refused until the minute is up.
        #[arg(long, env = "HIRC_HUB_AUTH_FAILURES_PER_MINUTE", default_value_t = 30)]
        auth_failures_per_minute: u32,
        /// Behind a reverse proxy on this machine: count wrong guesses by
        /// the address in its X-Forwarded-For header (trusted only from
        /// loopback).
        #[arg(long, env = "HIRC_HUB_TRUST_FORWARDED_FOR")]
        trust_forwarded_for: bool,
        /// TLS certificate chain (PEM). With --tls-key, the hub serves HTTPS
        /// and may listen on any address.
        #[arg(
            long,
            env = "HIRC_HUB_TLS_CERT",
            value_name = "FILE",
            requires = "tls_key"
        )]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(
            long,
            env = "HIRC_HUB_TLS_KEY",
            value_name = "FILE",
            requires = "tls_cert"
        )]
        tls_key: Option<PathBuf>,
    },
    /// Make a single-use enrolment code for a centre's desk. Prints the code
    /// as the last line.
    Enrol {
        #[command(flatten)]
        dir: DataDir,
        /// The centre the desk belongs to.
        #[arg(long)]
        centre: String,
        /// How long the code stays valid: e.g. 30m, 24h, 7d (at most 90d).
        #[arg(long, default_value = "24h", value_parser = parse_duration, allow_hyphen_values = true)]
        expires: chrono::Duration,
        /// For a desk that is never online: enrol it now and write its
        /// enrolment (with its token: handle it like a passphrase) to FILE,
        /// for `hirc enrol --file`.
        #[arg(long, value_name = "FILE", requires = "recipients")]
        offline_file: Option<PathBuf>,
        /// With --offline-file: the partnership recipients (age1…) the hub
        /// serves with.
        #[arg(long = "recipient", value_delimiter = ',')]
        recipients: Vec<String>,
        /// With --offline-file: the hub's name.
        #[arg(long, default_value = "HIRC hub")]
        hub_name: String,
        /// With --offline-file: the hub's address, for when the desk goes online.
        #[arg(long, default_value = "")]
        hub_url: String,
        /// With --offline-file: the device this desk was enrolled as before
        /// (from `hirc-hub devices`), so the hub keeps what it stored as
        /// this desk's.
        #[arg(long, value_name = "DEVICE", requires = "offline_file")]
        same_desk_as: Option<uuid::Uuid>,
    },
    /// Ingest an outbox file carried from a desk (`hirc outbox export`),
    /// with the same exactly-once rules as uploads, and write the receipts
    /// for the desk (`hirc outbox receipts`).
    Import {
        #[command(flatten)]
        dir: DataDir,
        /// The outbox file.
        file: PathBuf,
        /// Where to write the receipt file (never overwritten).
        #[arg(long, value_name = "FILE")]
        receipts: PathBuf,
    },
    /// List enrolled desks.
    Devices {
        #[command(flatten)]
        dir: DataDir,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a desk: its uploads are refused from now on.
    Revoke {
        #[command(flatten)]
        dir: DataDir,
        /// The device id (from `hirc-hub devices`).
        device: uuid::Uuid,
    },
    /// Decrypt what arrived with the partnership's identity file and write it
    /// out, one report per line. Reports that do not decrypt are listed.
    Export {
        #[command(flatten)]
        dir: DataDir,
        /// The partnership's identity file (from `keygen`).
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// Only reports received on or after this date (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<NaiveDate>,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// Write here instead of standard output (created owner-only).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON object per line: {receipt, device_id, report}.
    Jsonl,
    /// CSV (RFC 4180): receipt, consent first, then every report field.
    Csv,
}

/// The longest an enrolment code may stay valid: it is meant to be used
/// within days, and every day it lives is a day it can be guessed.
const MAX_CODE_LIFE_DAYS: i64 = 90;

fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let (n, unit) = text.split_at(text.trim_end_matches(char::is_alphabetic).len());
    let n: i64 = n
        .parse()
        .map_err(|_| "use a whole number and a unit, e.g. 30m, 24h or 7d".to_string())?;
    if n <= 0 {
        return Err("a code must stay valid for some time: e.g. 30m, 24h or 7d".into());
    }
    let duration = match unit {
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => return Err("the unit must be m, h or d".into()),
    };
    match duration {
        Some(d) if d <= chrono::Duration::days(MAX_CODE_LIFE_DAYS) => Ok(d),
        _ => Err(format!(
            "a code can stay valid for at most {MAX_CODE_LIFE_DAYS} days"
        )),
    }
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HIRC_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let cli = match config::apply(cli, &matches) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(1);
        }
    };
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn open(dir: &DataDir) -> Result<Box<dyn HubStore>> {
    match (&dir.database, &dir.data_dir) {
        (Some(url), _) => {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                bail!("--database takes a postgres:// URL");
            }
            Ok(Box::new(
                PgStore::connect(url).context("could not use the PostgreSQL database")?,
            ))
        }
        (None, Some(path)) => Ok(Box::new(SqliteStore::open(path)?)),
        (None, None) => bail!("give --data-dir DIR (embedded SQLite) or --database postgres://…"),
    }
}

/// The hub's receipt-signing key, read from its file or made there on first
/// use. Desks pin its public half at enrolment; losing it means enrolling
/// every desk again, so back the file up with the store.
fn receipt_key(dir: &DataDir, store: &dyn HubStore) -> Result<SigningKey> {
    let path = match (&dir.receipt_key, &dir.data_dir) {
        (Some(path), _) => path.clone(),
        (None, Some(data)) => data.join("receipt-signing.key"),
        (None, None) => bail!(
            "give --receipt-key FILE: with --database, every hub process (and `hirc-hub import`) must sign receipts with the same key file"
        ),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .and_then(SigningKey::from_secret_base64)
            .ok_or_else(|| anyhow::anyhow!("{} is not a receipt-signing key file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Desks have pinned the key that was here: a new one silently
            // would make every desk refuse every receipt.
            if !dir.new_receipt_key && !store.devices()?.is_empty() {
                bail!(
                    "the receipt-signing key {} is missing, but desks are enrolled with this hub and have pinned it: restore it from the hub's backup (or, to start again with a new key that every desk must be enrolled again to accept, pass --new-receipt-key)",
                    path.display()
                );
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                hirc_hub::files::private_dir(parent)
                    .with_context(|| format!("could not create {}", parent.display()))?;
            }
            let key = SigningKey::generate();
            let text = format!(
                "# HIRC hub receipt-signing key, created {}\n# Desks pin its public half ({}); keep this file with the hub's backups.\n{}\n",
                Utc::now().to_rfc3339(),
                key.public(),
                key.secret_base64().as_str()
            );
            hirc_hub::files::write_new(&path, text.as_bytes())?;
            tracing::info!(path = %path.display(), fingerprint = %key_fingerprint(&key.public()), "made a new receipt-signing key");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("could not read {}: {e}", path.display())),
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Keygen { out } => {
            let recipient = export::keygen(&out)?;
            eprintln!(
                "Wrote the partnership's key to {}. Keep it offline and backed up: it is the only way to read reports.",
                out.display()
            );
            eprintln!(
                "Fingerprint (desks show it at enrolment): {}",
                hirc_proto::recipients_fingerprint(std::slice::from_ref(&recipient))
            );
            eprintln!("Give the hub this public key (--recipient):");
            println!("{recipient}");
        }
        Command::Serve {
            config: _,
            dir,
            listen,
            recipients,
            hub_name,
            max_body_bytes,
            rate_per_minute,
            request_timeout_secs,
            header_timeout_secs,
            max_connections,
            max_connections_per_address,
            auth_failures_per_minute,
            trust_forwarded_for,
            tls_cert,
            tls_key,
        } => {
            if recipients.is_empty() {
                bail!(
                    "give at least one partnership recipient: --recipient age1… (or `recipients` in the config file)"
                );
            }
            for r in &recipients {
                r.parse::<age::x25519::Recipient>()
                    .map_err(|_| anyhow::anyhow!("{r} is not an age recipient (age1…)"))?;
            }
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => Some(server::tls_config(cert, key)?),
                (None, None) => None,
                _ => bail!("TLS needs both a certificate and its key (--tls-cert and --tls-key)"),
            };
            if tls.is_none() && !listen.ip().is_loopback() {
                bail!(
                    "plain HTTP is served on loopback only: give --tls-cert and --tls-key to serve HTTPS on {listen}, or listen on 127.0.0.1 behind a TLS-terminating proxy"
                );
            }
            let scheme = if tls.is_some() { "https" } else { "http" };
            let listen_options = server::Listen {
                tls,
                header_timeout: Duration::from_secs(header_timeout_secs.max(1)),
                max_connections: connection_limit(max_connections),
                max_per_address: max_connections_per_address,
            };
            let store: Arc<dyn HubStore> = Arc::from(open(&dir)?);
            let signer = receipt_key(&dir, store.as_ref())?;
            let receipt_fingerprint = key_fingerprint(&signer.public());
            let config = HubConfig {
                hub_name,
                recipients,
                max_body_bytes,
                rate_per_minute,
                request_timeout: Duration::from_secs(request_timeout_secs),
                auth_failures_per_minute: auth_failures_per_minute.max(1),
                trust_forwarded_for,
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let state = AppState::new(store, config.clone(), signer);
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("could not listen on {listen}"))?;
                let bound = listener.local_addr()?;
                tracing::info!(%bound, fingerprint = %hirc_proto::recipients_fingerprint(&config.recipients), receipt_key = %receipt_fingerprint, "hub ready");
                println!("hirc-hub listening on {scheme}://{bound}");
                std::io::stdout().flush()?;
                server::serve_with(listener, state, listen_options, shutdown_signal()).await?;
                tracing::info!("hub stopped");
                anyhow::Ok(())
            })?;
        }
        Command::Enrol {
            dir,
            centre,
            expires,
            offline_file,
            recipients,
            hub_name,
            hub_url,
            same_desk_as,
        } => {
            let centre = centre.trim().to_string();
            if centre.is_empty() {
                bail!("--centre must name the centre");
            }
            let store = open(&dir)?;
            let code = secrets::new_enrol_code();
            let until: DateTime<Utc> = Utc::now() + expires;
            store.add_enrol_code(
                &secrets::hash(&secrets::normalise_code(&code)),
                &centre,
                until,
            )?;
            if let Some(path) = offline_file {
                return import::offline_enrolment(
                    store.as_ref(),
                    &code,
                    &centre,
                    &path,
                    &import::HubIdentity {
                        same_desk_as,
                        recipients: &recipients,
                        hub_name: &hub_name,
                        hub_url: &hub_url,
                        receipt_key: &receipt_key(&dir, store.as_ref())?,
                    },
                );
            }
            eprintln!(
                "Enrolment code for {centre}, valid once until {} UTC. Give it to the centre's coordinator:",
                until.format("%Y-%m-%d %H:%M")
            );
            println!("{code}");
        }
        Command::Devices { dir, json } => {
            let devices = open(&dir)?.devices()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&devices)?);
            } else {
                println!(
                    "{:<36}  {:<24}  {:<20}  {:>7}  STATUS",
                    "DEVICE", "CENTRE", "NAME", "REPORTS"
                );
                for d in devices {
                    let status = d.revoked_at.map_or("active".to_string(), |t| {
                        format!("revoked {}", t.format("%Y-%m-%d"))
                    });
                    println!(
                        "{:<36}  {:<24}  {:<20}  {:>7}  {status}",
                        d.id, d.centre, d.name, d.reports
                    );
                }
            }
        }
        Command::Revoke { dir, device } => {
            if !open(&dir)?.revoke(device, Utc::now())? {
                bail!("there is no device {device} (`hirc-hub devices` lists them)");
            }
            println!("Revoked {device}: its uploads are refused from now on.");
        }
        Command::Import {
            dir,
            file,
            receipts,
        } => {
            let store = open(&dir)?;
            let signer = receipt_key(&dir, store.as_ref())?;
            let summary = import::outbox_file(store.as_ref(), &file, &receipts, &signer)?;
            eprintln!(
                "Stored {} report(s); {} were already here; receipts written to {}.",
                summary.stored,
                summary.repeated,
                receipts.display()
            );
            if !summary.refused.is_empty() {
                for (id, why) in &summary.refused {
                    eprintln!("  refused {id}: {why}");
                }
                bail!(
                    "{} report(s) in the file were refused (listed above); nothing stored was changed",
                    summary.refused.len()
                );
            }
        }
        Command::Export {
            dir,
            identity,
            since,
            format,
            out,
        } => {
            let identities = export::load_identities(&identity)?;
            let store = open(&dir)?;
            let since = since
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc());
            let summary = match &out {
                Some(path) => {
                    // A new owner-only file, never an existing one: an
                    // existing file would keep its mode (readable by others,
                    // perhaps), and a symbolic link would send the
                    // partnership's decrypted reports wherever it points.
                    let file = hirc_hub::files::create_private(path).map_err(|e| {
                        if e.kind() == std::io::ErrorKind::AlreadyExists {
                            anyhow::anyhow!(
                                "{} already exists (or is a link); an export never overwrites anything: choose a new file name",
                                path.display()
                            )
                        } else {
                            anyhow::anyhow!("could not create {}: {e}", path.display())
                        }
                    })?;
                    export::export(
                        store.as_ref(),
                        &identities,
                        since,
                        format.into(),
                        &mut std::io::BufWriter::new(file),
                    )?
                }
                None => export::export(
                    store.as_ref(),
                    &identities,
                    since,
                    format.into(),
                    &mut std::io::stdout().lock(),
                )?,
            };
            eprintln!("Exported {} report(s).", summary.written);
            if !summary.failed.is_empty() {
                for (receipt, why) in &summary.failed {
                    eprintln!("  not exported: receipt {receipt}: {why}");
                }
                bail!(
                    "{} report(s) could not be exported (listed above)",
                    summary.failed.len()
                );
            }
        }
    }
    Ok(())
}

/// The connection limit, kept well below the process's open-file limit
/// (each connection is one file descriptor; the store needs some too).
fn connection_limit(wanted: usize) -> usize {
    let Some(files) = open_file_limit() else {
        return wanted.max(1);
    };
    let room = files.saturating_sub(64).max(16);
    if wanted > room {
        tracing::warn!(
            wanted,
            allowed = room,
            "--max-connections is above what the open-file limit allows; using the lower number (raise LimitNOFILE / ulimit -n for more)"
        );
    }
    wanted.min(room).max(1)
}

/// The soft limit on open files, where the system says (Linux).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    // Windows has no SIGTERM; Ctrl-C (or the service manager's stop) is enough.
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

impl From<Format> for export::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Jsonl => export::Format::Jsonl,
            Format::Csv => export::Format::Csv,
        }
    }
}

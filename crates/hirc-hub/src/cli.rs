//! The command line's shape: every command, flag and help text; and, in
//! [`ServeArgs`], the config file's too.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

/// The HIRC partnership hub: receives end-to-end encrypted reports from
/// enrolled desks, and the partnership's tools to enrol desks, revoke them and
/// decrypt what arrived.
#[derive(Debug, Parser)]
#[command(name = "hirc-hub", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written to standard error: `text` for people,
    /// `json` (one object per line) for a log collector.
    #[arg(
        long,
        global = true,
        env = "HIRC_HUB_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
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
        /// The settings given as flags or in the environment.
        #[command(flatten)]
        settings: ServeArgs,
    },
    /// Make a single-use enrolment code for a centre's desk. Prints the code
    /// as the last line.
    Enrol(EnrolArgs),
    /// Ingest an outbox file carried from a desk (`hirc outbox export`),
    /// with the same exactly-once rules as uploads, and write the receipts
    /// for the desk (`hirc outbox receipts`).
    Import(ImportArgs),
    /// Word back to a desk: where one of its reports stands, set by the
    /// partnership (with its key). The status is encrypted to that desk and
    /// to the partnership; the desk shows it after its next sync.
    #[command(subcommand)]
    Status(StatusCommand),
    /// List enrolled desks.
    Devices {
        /// Where the hub keeps its data.
        #[command(flatten)]
        dir: DataDir,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a desk: its uploads are refused from now on.
    Revoke {
        /// Where the hub keeps its data.
        #[command(flatten)]
        dir: DataDir,
        /// The device id (from `hirc-hub devices`).
        device: uuid::Uuid,
    },
    /// Decrypt what arrived with the partnership's identity file and write it
    /// out, one report per line. Reports that do not decrypt are listed.
    Export(ExportArgs),
    /// Delete the evidence no report names that has been idle for a while
    /// (a desk reset or given up mid-upload), as `serve` does every hour.
    /// Prints what went.
    Sweep(SweepArgs),
    /// Copy the store and the receipt-signing key into a new folder, while
    /// the hub runs (every upload is in it whole or not at all): the
    /// embedded store as a file, a PostgreSQL one with pg_dump.
    Backup(BackupArgs),
    /// Put a backup into an empty data directory; `serve` then carries on
    /// from it, and desks' receipts still verify.
    Restore(RestoreArgs),
}

/// `hirc-hub backup`'s arguments.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The hub to back up.
    #[command(flatten)]
    pub dir: DataDir,
    /// A new folder for the backup (made owner-only; never overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `hirc-hub restore`'s arguments.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The folder `hirc-hub backup` made.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The data directory to restore into (empty, or not there yet).
    #[arg(
        long,
        env = "HIRC_HUB_DATA_DIR",
        value_name = "DIR",
        required_unless_present = "database"
    )]
    pub data_dir: Option<PathBuf>,
    /// Or an empty PostgreSQL database to restore a PostgreSQL backup into.
    #[arg(
        long,
        env = "HIRC_HUB_DATABASE",
        value_name = "URL",
        conflicts_with = "data_dir"
    )]
    pub database: Option<String>,
    /// With --database: where to put the receipt-signing key (a new file;
    /// give the same path to every hub process and to `import`).
    #[arg(
        long,
        env = "HIRC_HUB_RECEIPT_KEY",
        value_name = "FILE",
        requires = "database"
    )]
    pub receipt_key: Option<PathBuf>,
}

/// Where the hub keeps its data: an embedded SQLite file in a directory
/// (the default), or a PostgreSQL database.
#[derive(Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DataDir {
    /// The hub's data directory (embedded SQLite: DIR/hub.sqlite3).
    #[arg(long, env = "HIRC_HUB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database instead: postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "HIRC_HUB_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// The hub's receipt-signing key (made on first use if missing; default
    /// DIR/receipt-signing.key). Every hub process on one database, and the
    /// import command, must use the same file.
    #[arg(long, env = "HIRC_HUB_RECEIPT_KEY", value_name = "FILE")]
    pub receipt_key: Option<PathBuf>,
    /// Make a new receipt-signing key although desks are enrolled (its
    /// file is missing): every desk must then be enrolled again.
    // A decision for the moment it is needed, never a standing setting: a
    // config file naming it is refused as an unknown key.
    #[arg(long)]
    #[serde(skip)]
    pub new_receipt_key: bool,
}

impl DataDir {
    /// Its settings as a config file names them (`new-receipt-key` is not
    /// one: it is a decision for the moment, never a standing setting).
    pub const CONFIG_KEYS: [&str; 3] = ["data-dir", "database", "receipt-key"];
}

/// `hirc-hub serve`'s settings, read the same way from flags, the
/// environment and the config file (whose keys are the flags' names).
///
/// A setting nobody gave is `None`, so the config file can fill it in
/// ([`ServeArgs::or`]); the defaults are applied once, by
/// [`ServeArgs::resolve`], and the help shows them in the text because clap
/// has none to show.
///
/// The config file may name the data settings too (`data-dir`, …): they
/// are read into `dir` on their own ([`DataDir::CONFIG_KEYS`]), and any key
/// neither struct knows is refused.
#[derive(Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServeArgs {
    /// Where the data is.
    #[command(flatten)]
    #[serde(skip)]
    pub dir: DataDir,
    /// Address to listen on. Plain HTTP is served on loopback only: put a
    /// TLS-terminating proxy in front for anything else.
    /// [default: 127.0.0.1:8740]
    #[arg(long, env = "HIRC_HUB_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// A partnership recipient (age1…) that desks encrypt to. Repeat for
    /// an escrow key.
    #[arg(long = "recipient", env = "HIRC_HUB_RECIPIENTS", value_delimiter = ',')]
    pub recipients: Option<Vec<String>>,
    /// The hub's name, shown to desks at enrolment.
    /// [default: "HIRC hub"]
    #[arg(long, env = "HIRC_HUB_NAME")]
    pub hub_name: Option<String>,
    /// The largest upload accepted, in bytes.
    /// [default: 1048576]
    #[arg(long, env = "HIRC_HUB_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// The largest item of evidence (a photo, a document) accepted, in MiB:
    /// by default what a desk may be set to send.
    /// [default: 2100]
    #[arg(long, env = "HIRC_HUB_MAX_EVIDENCE_MIB", value_name = "MIB")]
    pub max_evidence_mib: Option<u64>,
    /// The most evidence one desk may send in a day, in MiB (a stolen token
    /// fills the disk no faster).
    /// [default: 4096]
    #[arg(long, env = "HIRC_HUB_EVIDENCE_MIB_PER_DAY", value_name = "MIB")]
    pub evidence_mib_per_day: Option<u64>,
    /// Uploads allowed per desk per minute.
    /// [default: 600]
    #[arg(long, env = "HIRC_HUB_RATE_PER_MINUTE")]
    pub rate_per_minute: Option<u32>,
    /// Seconds one request may take, body included.
    /// [default: 30]
    #[arg(long, env = "HIRC_HUB_REQUEST_TIMEOUT", value_name = "SECONDS")]
    pub request_timeout: Option<u64>,
    /// Seconds a client may take to send its request headers (and TLS
    /// handshake) before it is cut off.
    /// [default: 10]
    #[arg(long, env = "HIRC_HUB_HEADER_TIMEOUT", value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// Connections open at once; at the limit the oldest idle one makes
    /// room. Kept below the process's open-file limit.
    /// [default: 512]
    #[arg(long, env = "HIRC_HUB_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Connections one client address (an IPv6 /64) may hold at once; 0
    /// for no limit (behind a load balancer on another host).
    /// [default: 64]
    #[arg(long, env = "HIRC_HUB_MAX_CONNECTIONS_PER_ADDRESS")]
    pub max_connections_per_address: Option<usize>,
    /// Wrong enrolment codes or tokens allowed per client address per
    /// minute; past it that address is refused until the minute is up.
    /// [default: 30]
    #[arg(long, env = "HIRC_HUB_AUTH_FAILURES_PER_MINUTE")]
    pub auth_failures_per_minute: Option<u32>,
    /// Behind a reverse proxy on this machine: count wrong guesses by
    /// the address in its X-Forwarded-For header (trusted only from
    /// loopback).
    // A plain switch on the command line, but `None` when absent (clap's
    // switches always hold a value), so that the config file can set it;
    // the environment still takes `true` or `false`.
    #[arg(
        long,
        env = "HIRC_HUB_TRUST_FORWARDED_FOR",
        num_args = 0,
        default_missing_value = "true"
    )]
    pub trust_forwarded_for: Option<bool>,
    /// A bearer token (16 characters or more) that opens `GET /metrics` to
    /// a Prometheus scraping with it; without one the metrics are off.
    #[arg(
        long,
        env = "HIRC_HUB_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// Days an item of evidence that no report names (its desk reset or
    /// given up mid-upload) may go without a byte before the hub deletes
    /// it; checked hourly. 0: never.
    /// [default: 30]
    #[arg(
        long,
        env = "HIRC_HUB_UNNAMED_EVIDENCE_DAYS",
        value_name = "DAYS",
        value_parser = clap::value_parser!(u32).range(0..=36_500)
    )]
    pub unnamed_evidence_days: Option<u32>,
    /// TLS certificate chain (PEM). With --tls-key, the hub serves HTTPS
    /// and may listen on any address.
    #[arg(
        long,
        env = "HIRC_HUB_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(
        long,
        env = "HIRC_HUB_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
}

/// `hirc-hub enrol`.
#[derive(Debug, Args)]
pub struct EnrolArgs {
    /// Where the hub keeps its data.
    #[command(flatten)]
    pub dir: DataDir,
    /// The centre the desk belongs to.
    #[arg(long)]
    pub centre: String,
    /// How long the code stays valid: e.g. 30m, 24h, 7d (at most 90d).
    #[arg(long, default_value = "24h", value_parser = parse_duration, allow_hyphen_values = true)]
    pub expires: chrono::Duration,
    /// For a desk that is never online: enrol it now and write its
    /// enrolment (with its token: handle it like a passphrase) to FILE,
    /// for `hirc enrol --file`.
    #[arg(long, value_name = "FILE", requires = "recipients")]
    pub offline_file: Option<PathBuf>,
    /// With --offline-file: the partnership recipients (age1…) the hub
    /// serves with.
    #[arg(long = "recipient", value_delimiter = ',')]
    pub recipients: Vec<String>,
    /// With --offline-file: the hub's name.
    #[arg(long, default_value = "HIRC hub")]
    pub hub_name: String,
    /// With --offline-file: the hub's address, for when the desk goes online.
    #[arg(long, default_value = "")]
    pub hub_url: String,
    /// With --offline-file: the device this desk was enrolled as before
    /// (from `hirc-hub devices`), so the hub keeps what it stored as
    /// this desk's.
    #[arg(long, value_name = "DEVICE", requires = "offline_file")]
    pub same_desk_as: Option<uuid::Uuid>,
}

/// `hirc-hub sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Where the hub keeps its data.
    #[command(flatten)]
    pub dir: DataDir,
    /// Delete items no report names that have had no byte for this many
    /// days (0: every such item, even one a desk is sending now, which it
    /// then sends again from the start).
    #[arg(
        long,
        value_name = "DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(0..=36_500)
    )]
    pub idle_days: u32,
}

/// `hirc-hub import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where the hub keeps its data.
    #[command(flatten)]
    pub dir: DataDir,
    /// The outbox file.
    pub file: PathBuf,
    /// Where to write the receipt file (never overwritten).
    #[arg(long, value_name = "FILE")]
    pub receipts: PathBuf,
}

/// `hirc-hub status …`.
#[derive(Debug, Subcommand)]
pub enum StatusCommand {
    /// Set where a report stands: received, reviewed, passed_to_police or
    /// closed, with an optional short note (most notes should say nothing
    /// about the person). Prints the status's id.
    Set(StatusSetArgs),
}

/// `hirc-hub status set`.
#[derive(Debug, Args)]
pub struct StatusSetArgs {
    /// Where the hub keeps its data (and its receipt-signing key, which
    /// signs the status).
    #[command(flatten)]
    pub dir: DataDir,
    /// The partnership's identity file (from `keygen`), to find the report.
    #[arg(long, value_name = "FILE")]
    pub identity: PathBuf,
    /// The report's reference, as in the export (e.g. CP-7K3M-QA).
    #[arg(long)]
    pub reference: String,
    /// received, reviewed, passed_to_police or closed.
    #[arg(long, value_parser = ["received", "reviewed", "passed_to_police", "closed"])]
    pub state: String,
    /// A short note for the desk (at most 500 characters).
    #[arg(long)]
    pub note: Option<String>,
}

/// `hirc-hub export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where the hub keeps its data.
    #[command(flatten)]
    pub dir: DataDir,
    /// The partnership's identity file (from `keygen`).
    #[arg(long, value_name = "FILE")]
    pub identity: PathBuf,
    /// Only reports received on or after this date (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub since: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Write here instead of standard output (created owner-only).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write each report's evidence (photos, documents) into this new
    /// or empty folder: one folder per report (named by its reference),
    /// owner-only files, and an evidence.json with each file's caption and
    /// digest. Every file is checked against what the desk sent.
    #[arg(long, value_name = "DIR")]
    pub attachments_dir: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// One JSON object per line: {current_consent, receipt, device_id,
    /// report, statuses}, each report's revisions together.
    Jsonl,
    /// CSV (RFC 4180): the current consent, the receipt, the revision's
    /// consent, then every report field (no statuses: use jsonl for those).
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn serve(args: &[&str]) -> ServeArgs {
        let mut argv = vec!["hirc-hub", "serve"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).expect("a valid command line");
        match cli.command {
            Command::Serve { settings, .. } => settings,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn the_forwarded_for_switch_is_a_switch_that_can_be_left_unset() {
        assert_eq!(
            serve(&["--trust-forwarded-for"]).trust_forwarded_for,
            Some(true)
        );
        assert!(Cli::try_parse_from(["hirc-hub", "serve", "--trust-forwarded-for=true"]).is_err());
        if std::env::var_os("HIRC_HUB_TRUST_FORWARDED_FOR").is_none() {
            assert_eq!(serve(&[]).trust_forwarded_for, None);
        }
    }

    #[test]
    fn repeated_and_comma_separated_recipients_are_one_list() {
        assert_eq!(
            serve(&["--recipient", "a,b", "--recipient", "c"]).recipients,
            Some(vec!["a".to_string(), "b".into(), "c".into()])
        );
    }
}

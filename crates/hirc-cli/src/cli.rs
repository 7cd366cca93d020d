//! The command line's shape: every command, flag and help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// HIRC Desk on the command line: set up a Hate Incident Reporting Centre
/// desk, manage its users, and take, list and submit reports. Everything is
/// stored encrypted in the desk's data directory.
#[derive(Debug, Parser)]
#[command(name = "hirc", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// The desk's data directory (default: the per-user data directory, e.g.
    /// ~/.local/share/hirc-desk).
    #[arg(long, global = true, env = "HIRC_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Who is acting (a user at this desk). Not needed when the desk has only
    /// one user.
    #[arg(long, global = true, env = "HIRC_USER", value_name = "NAME")]
    pub user: Option<String>,

    /// Read passphrases from standard input instead of the terminal: line 1 is
    /// the acting user's passphrase, line 2 a new passphrase where the command
    /// sets one (for `init`, line 1 is the new coordinator's passphrase; for
    /// `recover`, line 1 is the recovery code).
    #[arg(long, global = true)]
    pub passphrase_stdin: bool,

    /// Also print the engine's log lines (never report content) on standard
    /// error.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const AFTER_HELP: &str = "\
Exit codes: 0 done; 1 failed; 2 bad command line; 3 wrong passphrase, recovery
code or user; 4 the report is not valid; 5 the store or audit log failed an
integrity check.

Start with:  hirc init --centre \"Castle Point CVS\" --centre-code CP --coordinator NAME";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up a new desk: the encrypted store, the desk key, the first
    /// coordinator, and a recovery code (shown once).
    Init(InitArgs),
    /// Manage the people who use this desk.
    #[command(subcommand)]
    User(UserCommand),
    /// Set a new coordinator passphrase with the recovery code.
    Recover,
    /// Take, edit, list and submit reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Show the audit log (coordinators), or check it with `hirc audit verify`.
    Audit(AuditArgs),
    /// The desk's name, users, report counts and store size.
    Status(JsonFlag),
    /// Enrol this desk with the partnership's hub (coordinators), using a
    /// code from `hirc-hub enrol`. Shows the partnership key's fingerprint to
    /// check with them.
    Enrol(EnrolArgs),
    /// Upload waiting reports to the hub: one pass (exit 0 even when the hub
    /// is unreachable), or `--watch` to keep going with a live status line.
    Sync(SyncArgs),
    /// Delete the personal data of reports delivered (with a checked
    /// receipt) longer ago than the retention period. Needs no passphrase;
    /// sync does this by itself too.
    Purge {
        /// Only list what would be purged.
        #[arg(long)]
        dry_run: bool,
    },
    /// Carry sealed reports to the hub by hand, for a centre that is never
    /// online (coordinators).
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Safe-to-share statistics for a period (coordinators): counts by
    /// strand, type, month and more, with small numbers suppressed.
    Summary(SummaryArgs),
    /// The support services printed on every person's slip: show them, or
    /// confirm them (coordinators; audited) as they are or from a file.
    Services(ServicesArgs),
    /// Show the desk's settings, or change them (coordinators).
    Settings {
        /// Days a delivered report's personal data stay on the desk (0–3650;
        /// default 30).
        #[arg(long, value_name = "DAYS")]
        retention_days: Option<u32>,
        /// Minutes the app may sit idle before it locks itself (1–60;
        /// default 5).
        #[arg(long, value_name = "MINUTES")]
        auto_lock_minutes: Option<u32>,
        /// Minutes the app may sit idle while a report is open (1–60;
        /// default 15; never less than the auto-lock time).
        #[arg(long, value_name = "MINUTES")]
        interview_lock_minutes: Option<u32>,
        /// The largest file of evidence, in MiB (1–2048; default 25).
        #[arg(long, value_name = "MIB")]
        evidence_file_mib: Option<u32>,
        /// The most evidence on one report, in MiB (1–2048; default 100;
        /// at least the largest file).
        #[arg(long, value_name = "MIB")]
        evidence_report_mib: Option<u32>,
    },
}

/// A yes or no on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum YesNo {
    /// Yes.
    Yes,
    /// No.
    No,
}

impl YesNo {
    /// As a bool.
    pub fn yes(self) -> bool {
        self == YesNo::Yes
    }
}

/// `hirc services`.
#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Replace the list with the services in FILE (JSON: a list of
    /// `{"name", "phone", "website", "languages"}`, at most ten) and confirm it.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Confirm the list as it stands (the national defaults, once checked).
    #[arg(long, conflicts_with = "from")]
    pub confirm: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `hirc enrol`.
#[derive(Debug, Args)]
pub struct EnrolArgs {
    /// The hub's address, e.g. `https://hub.example.org`.
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "file",
        requires = "code"
    )]
    pub hub: Option<String>,
    /// The single-use enrolment code.
    #[arg(long, requires = "hub")]
    pub code: Option<String>,
    /// For a desk that is never online: the enrolment file from
    /// `hirc-hub enrol --offline-file` (delete it afterwards).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["hub", "code"])]
    pub file: Option<std::path::PathBuf>,
    /// A certificate authority (PEM) to trust for this hub, when the
    /// partnership runs its own; pinned with the enrolment.
    #[arg(long, value_name = "FILE")]
    pub hub_ca: Option<std::path::PathBuf>,
    /// This desk's name at the hub (default: the centre's name).
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
    /// Accept partnership keys that differ from the ones pinned at the last
    /// enrolment (only after checking the new fingerprint with them).
    #[arg(long)]
    pub replace_recipients: bool,
}

/// `hirc sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Keep running: upload as reports are submitted, retry with backoff,
    /// and show a status line. Stop with Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: how often to look for new reports, in seconds.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub poll: u64,
    /// Put reports the hub refused back in the queue first (after fixing
    /// the cause, e.g. re-enrolling a revoked desk).
    #[arg(long)]
    pub retry_refused: bool,
    /// Print the pass's result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hirc init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The centre's name, e.g. "Castle Point CVS".
    #[arg(long, value_name = "NAME")]
    pub centre: String,
    /// The centre's short code (2–6 letters or digits), the start of every
    /// report reference, e.g. CP.
    #[arg(long, value_name = "CODE")]
    pub centre_code: String,
    /// The first coordinator's name.
    #[arg(long, value_name = "NAME")]
    pub coordinator: String,
}

/// `hirc user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (coordinators). Asks for the new user's passphrase.
    Add {
        /// Their name as it will appear on the unlock screen.
        name: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List the desk's users.
    List(JsonFlag),
    /// Remove a user (coordinators): their passphrase stops opening the desk.
    Remove {
        /// The user to remove.
        name: String,
    },
    /// Change your passphrase, or (coordinators) reset another user's.
    Passwd {
        /// Whose passphrase (default: yours).
        name: Option<String>,
    },
}

/// A user's role.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Takes reports.
    Ambassador,
    /// Takes reports and manages the desk.
    Coordinator,
}

/// `hirc report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Start a draft: from a JSON file (`--from FILE`, `-` for standard
    /// input), or by answering questions. Prints the draft's id.
    New {
        /// A report in the JSON shape of docs/report-format.md.
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
    },
    /// Merge changes into a draft (a JSON merge patch: fields replace, null
    /// clears).
    Edit {
        /// The draft's id (or a unique start of it).
        id: String,
        /// The changes, as JSON (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Print a report as JSON: where it stands (delivery, the hub's receipt,
    /// what the person consented to), and its content to whoever may read
    /// it. This shows personal data: mind the screen. A reference may be
    /// typed as read back (any case, O for 0, I or L for 1). Audited.
    Show {
        /// Id, unique start of an id, or reference (e.g. CP-7K3M-QA).
        id: String,
    },
    /// Add to a submitted report (the person came back with more): starts
    /// a draft of its next revision, pre-filled with the report as the desk
    /// holds it (or, after the purge or for an ambassador who did not take
    /// it, with only what is new), and prints the draft's id. Say what
    /// changed in `what_changed` (`hirc report edit ID`), then `hirc report
    /// submit ID` seals it as the next revision, with the same reference.
    FollowUp {
        /// The report's reference (e.g. CP-7K3M-QA).
        reference: String,
        /// The follow-up's content as report JSON instead of the pre-filled
        /// report (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
    },
    /// Start a new report by the person who made an earlier one, about
    /// another incident: the draft names the earlier report
    /// (`related_reference`) and carries over the person's details when you
    /// may read it. Prints the draft's id; fill it in with `hirc report edit`.
    Related {
        /// The earlier report's reference (e.g. CP-7K3M-QA).
        reference: String,
    },
    /// Erase a report at the person's request (coordinators; audited).
    /// Everything this desk holds of it is deleted at once and cannot be
    /// brought back; only that it was erased, and when, is kept. If the
    /// desk is enrolled, an erasure notice goes to the hub with the next
    /// `hirc sync`: the hub deletes its copy and confirms with a signed
    /// receipt (`hirc report show REF` then says so). Asks first on a
    /// terminal; scripts say `--yes`.
    Erase {
        /// The report's reference (e.g. CP-7K3M-QA).
        reference: String,
        /// Erase without asking.
        #[arg(long)]
        yes: bool,
        /// The report is already erased here: have the hub erase its copy
        /// again, with the next sync (after the hub was restored from a
        /// backup taken before the erasure; docs/hub.md says when).
        #[arg(long, conflicts_with = "yes")]
        resend: bool,
    },
    /// List the reports erased at this desk, newest first, with whether the
    /// hub has confirmed it erased its copy (coordinators).
    Erasures {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Have the hub erase its copy of every one again, with the next
        /// sync (after the hub was restored from a backup; a hub that kept
        /// its records answers with the receipts it gave before).
        #[arg(long)]
        resend: bool,
    },
    /// Change what the person agreed to: a revision of the consent alone,
    /// sealed and queued for the hub at once. Withdrawing from the police
    /// also withdraws their contact.
    Consent {
        /// The report's reference (e.g. CP-7K3M-QA).
        reference: String,
        /// Whether, and how, the report may go to the police.
        #[arg(long, value_name = "identified|anonymous_only|no")]
        pass_to_police: Option<String>,
        /// Whether the police may contact the person.
        #[arg(long, value_name = "yes|no")]
        police_may_contact: Option<YesNo>,
        /// Whether to refer the person to support.
        #[arg(long, value_name = "yes|no")]
        refer_to_support: Option<YesNo>,
    },
    /// Write the slip the person takes away as a one-page PDF: the
    /// reference in large type, the centre and date, how to follow up, what
    /// they consented to, and where to get help (999, 101 and the centre's
    /// support services). Nothing about the incident, no name. Audited.
    Slip {
        /// The report's reference (e.g. CP-7K3M-QA).
        reference: String,
        /// The PDF to write (not overwritten if it exists).
        #[arg(long, value_name = "FILE.pdf")]
        out: PathBuf,
        /// The person's language: en, pl or ur (Urdu reads right to left).
        #[arg(long, value_name = "CODE", default_value = "en")]
        lang: String,
    },
    /// A copy for the person of everything this desk holds about their
    /// report (a subject access request; coordinators; audited): every
    /// answer, what they agreed to, each revision and when it went to the
    /// hub, and the partnership's word. It holds their personal details:
    /// give it to them, do not keep it.
    Access {
        /// The report's reference (e.g. CP-7K3M-QA).
        reference: String,
        /// The PDF to write (created owner-only, never overwritten).
        #[arg(long, value_name = "FILE.pdf")]
        out: PathBuf,
        /// The person's language: en, pl or ur (Urdu reads right to left).
        #[arg(long, value_name = "CODE", default_value = "en")]
        lang: String,
        /// Also write the files the person gave, as the desk keeps them
        /// (a photo without its hidden details), into this folder
        /// (created owner-only): REFERENCE-1.jpg, REFERENCE-2.pdf…, numbered
        /// as the PDF lists them. Never overwrites a file.
        #[arg(long, value_name = "DIR")]
        evidence_dir: Option<PathBuf>,
    },
    /// Add evidence to a draft: photos (JPEG, PNG, WebP), screenshots, PDF
    /// documents or plain text, each file its own item. What a file is, is
    /// read from its content, not its name; a photo's details (camera,
    /// place, time) are removed before anything is kept, and the file's name
    /// is never kept. The evidence goes to the hub with the report.
    Attach {
        /// The draft's id (or a unique start of it).
        id: String,
        /// The files to add.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// A short note kept with each file (at most 500 characters): what
        /// it shows, in the person's words. Not the file's name unless you
        /// want that kept.
        #[arg(long, value_name = "TEXT")]
        caption: Option<String>,
    },
    /// Remove an item of evidence from a draft (evidence already sent with
    /// the report stays with it).
    Detach {
        /// The draft's id (or a unique start of it).
        id: String,
        /// The item: its number in `hirc report evidence`, or its id (or a
        /// unique start of it).
        item: String,
    },
    /// List a report's evidence: number, kind, size, caption, and the
    /// revision it went with (0: still in the draft).
    Evidence {
        /// Id, unique start of an id, or reference.
        id: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List reports: reference or draft id, state, dates and a short summary.
    List(JsonFlag),
    /// Delete a draft (submitted reports cannot be deleted). Asks first on a
    /// terminal; scripts say `--yes`.
    Delete {
        /// The draft's id (or a unique start of it).
        id: String,
        /// Delete without asking. The draft cannot be recovered.
        #[arg(long)]
        yes: bool,
    },
    /// Check a draft is complete, seal it, and print its reference for the
    /// person. It then waits in the outbox for upload.
    Submit {
        /// The draft's id (or a unique start of it).
        id: String,
    },
    /// List reports set aside because they would not open (damage, a newer
    /// HIRC Desk), with why (coordinators).
    SetAside(JsonFlag),
    /// Try a set-aside report again, after restoring the store or upgrading
    /// (coordinators).
    Retry {
        /// Id, unique start of an id, or reference.
        id: String,
    },
    /// Delete a set-aside report for good (coordinators; audited). Asks
    /// first on a terminal; scripts say `--yes`.
    Discard {
        /// Id, unique start of an id, or reference.
        id: String,
        /// Discard without asking. It cannot be recovered.
        #[arg(long)]
        yes: bool,
    },
}

/// `hirc audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// `verify` checks the log's hash chain.
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `hirc audit verify`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check that no entry was changed, removed or reordered.
    Verify,
}

/// A `--json` switch.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}

/// `hirc outbox …`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Write every waiting report, still encrypted for the hub, to FILE (for
    /// a USB stick). The partnership runs `hirc-hub import` on it.
    Export {
        /// The file to write (never overwritten).
        file: std::path::PathBuf,
    },
    /// Mark reports delivered from the receipt file `hirc-hub import` wrote.
    Receipts {
        /// The receipt file.
        file: std::path::PathBuf,
    },
}

/// `hirc summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// First day of the period (YYYY-MM-DD).
    #[arg(long, requires = "to", conflicts_with = "period")]
    pub from: Option<chrono::NaiveDate>,
    /// Last day of the period, inclusive (YYYY-MM-DD).
    #[arg(long, requires = "from", conflicts_with = "period")]
    pub to: Option<chrono::NaiveDate>,
    /// A whole month (2026-03), quarter (2026-Q1) or year (2026), instead
    /// of --from and --to.
    #[arg(long, required_unless_present = "from")]
    pub period: Option<String>,
    /// Counts below this are suppressed (default 5; lower values are
    /// recorded in the audit log).
    #[arg(long, default_value_t = 5)]
    pub threshold: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: SummaryFormat,
    /// Write here (created owner-only, never overwritten) instead of
    /// standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// Summary formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SummaryFormat {
    /// RFC 4180 CSV with the centre, period and suppression rule at the top.
    Csv,
    /// An Excel workbook: a notes sheet, then one sheet per breakdown
    /// (needs --out).
    Xlsx,
    /// The same as JSON.
    Json,
    /// A printable A4 report with charts (needs --out).
    Pdf,
}

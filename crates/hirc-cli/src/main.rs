//! `hirc`: the HIRC Desk engine on the command line.
//!
//! Data goes to standard output (ids, references, JSON, tables); talk goes
//! to standard error. Nothing printed, except by `report show`, carries
//! report content, and a crash prints no more than where it happened.

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod input;
mod output;
mod prompts;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use hirc_core::vault::KdfCost;
use hirc_core::{Desk, Error, Session};
use hirc_sync::SyncError;
use hirc_sync::client::UploadError;

use crate::cli::{Cli, Command};
use crate::input::Input;

/// Test-only: lowers the scrypt cost of passphrase slots written by this
/// process, so test suites can unlock thousands of times. Never set on a real
/// desk (a warning says so).
const INSECURE_KDF_ENV: &str = "HIRC_INSECURE_KDF_LOG_N";

fn main() -> ExitCode {
    install_panic_hook();
    let cli = Cli::parse();
    let data_dir = match cli
        .data_dir
        .clone()
        .or_else(hirc_core::paths::default_data_dir)
    {
        Some(dir) => dir,
        None => {
            eprintln!("error: could not work out where to keep the desk; give --data-dir DIR");
            return ExitCode::from(1);
        }
    };
    hirc_core::logging::init(&data_dir, cli.verbose);
    match run(cli, data_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            match engine_error(&err)
                .and_then(hint)
                .or_else(|| sync_hint(&err))
            {
                Some(advice) => eprintln!("error: {err:#} ({advice})"),
                None => eprintln!("error: {err:#}"),
            }
            ExitCode::from(exit_code(&err))
        }
    }
}

fn run(cli: Cli, data_dir: PathBuf) -> Result<()> {
    let mut ctx = Ctx {
        data_dir,
        user: cli.user,
        input: Input::new(cli.passphrase_stdin),
    };
    match cli.command {
        Command::Init(args) => commands::desk::init(&mut ctx, args),
        Command::Recover => commands::users::recover(&mut ctx),
        Command::User(cmd) => commands::users::run(&mut ctx, cmd),
        Command::Report(cmd) => commands::reports::run(&mut ctx, cmd),
        Command::Audit(args) => commands::desk::audit(&mut ctx, args),
        Command::Status(flag) => commands::desk::status(&mut ctx, flag.json),
        Command::Enrol(args) => commands::sync::enrol(&mut ctx, args),
        Command::Sync(args) => commands::sync::sync(&mut ctx, args),
        Command::Outbox(cmd) => commands::sync::outbox(&mut ctx, cmd),
        Command::Summary(args) => commands::desk::summary(&mut ctx, args),
        Command::Services(args) => commands::services::run(&mut ctx, args),
        Command::Purge { dry_run } => commands::desk::purge(&mut ctx, dry_run),
        Command::Settings {
            retention_days,
            auto_lock_minutes,
            interview_lock_minutes,
            evidence_file_mib,
            evidence_report_mib,
        } => commands::desk::settings(
            &mut ctx,
            retention_days,
            auto_lock_minutes,
            interview_lock_minutes,
            (evidence_file_mib, evidence_report_mib),
        ),
    }
}

/// What every command needs: where the desk is, who is acting, and where
/// secrets come from.
pub struct Ctx {
    data_dir: PathBuf,
    user: Option<String>,
    input: Input,
}

impl Ctx {
    pub(crate) fn open(&self) -> Result<Desk> {
        Ok(Desk::open(&self.data_dir)?)
    }

    /// Opens the desk and unlocks it as the acting user.
    pub(crate) fn unlock(&mut self) -> Result<(Desk, Session)> {
        let mut desk = self.open()?;
        let name = match &self.user {
            Some(name) => name.clone(),
            None => {
                let users = desk.users()?;
                match users.as_slice() {
                    [only] => only.name.clone(),
                    _ => {
                        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
                        return Err(anyhow!(
                            "say who is acting with --user NAME (or HIRC_USER); users at this desk: {}",
                            names.join(", ")
                        ));
                    }
                }
            }
        };
        let passphrase = self.input.passphrase(&format!("Passphrase for {name}: "))?;
        let session = desk.unlock(&name, &passphrase)?;
        Ok((desk, session))
    }

    /// The scrypt cost for slots this command writes.
    fn kdf(&self) -> Result<KdfCost> {
        match std::env::var(INSECURE_KDF_ENV) {
            Ok(value) => {
                let log_n: u8 = value
                    .parse()
                    .with_context(|| format!("{INSECURE_KDF_ENV} must be a number"))?;
                eprintln!(
                    "warning: {INSECURE_KDF_ENV} is set: passphrases set now are cheap to guess. For tests only."
                );
                Ok(KdfCost::fixed(log_n)?)
            }
            Err(_) => Ok(KdfCost::calibrated()),
        }
    }
}

/// Exit codes, as `hirc --help` lists them.
fn exit_code(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<Error>() {
        Some(e) if e.is_authentication() => 3,
        Some(e) if e.is_validation() => 4,
        Some(Error::Integrity(_) | Error::Corrupt { .. }) => 5,
        _ if err
            .downcast_ref::<hirc_core::audit::AuditBroken>()
            .is_some() =>
        {
            5
        }
        _ => 1,
    }
}

/// The engine's error behind `err`, if one is: given by a command, or
/// carried through the sync worker's error.
fn engine_error(err: &anyhow::Error) -> Option<&Error> {
    err.chain()
        .find_map(|e| match e.downcast_ref::<SyncError>() {
            Some(SyncError::Desk(inner)) => Some(inner),
            _ => e.downcast_ref::<Error>(),
        })
}

/// This tool's advice for an engine error whose way out is one of its
/// commands or flags. The engine's messages are shared with the app, which
/// has neither, so the advice is added here, after the message.
fn hint(err: &Error) -> Option<&'static str> {
    match err {
        Error::NotInitialised { .. } => Some("run `hirc init` to set one up"),
        Error::AlreadyInitialised { .. } => Some("use another --data-dir to set up a second desk"),
        Error::UnknownReport(_) => Some("`hirc report list` shows them"),
        Error::WhichCoordinator => Some("--user NAME"),
        Error::RecipientsChanged => Some(
            "once the partnership has confirmed the new fingerprint, enrol again with --replace-recipients",
        ),
        _ => None,
    }
}

/// This tool's advice for a sync error whose way out is one of its commands.
fn sync_hint(err: &anyhow::Error) -> Option<&'static str> {
    err.chain().find_map(|e| {
        match (
            e.downcast_ref::<SyncError>(),
            e.downcast_ref::<UploadError>(),
        ) {
            (Some(SyncError::NotEnrolled), _) => Some("`hirc enrol --hub URL --code CODE`"),
            (Some(SyncError::Client(UploadError::CertificateRefused)), _)
            | (_, Some(UploadError::CertificateRefused)) => Some(commands::sync::CERTIFICATE_HINT),
            _ => None,
        }
    })
}

/// A panic's message could quote data it was handling; print only where it
/// happened, and that nothing saved is lost.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: hirc stopped on an internal fault{place}. Everything saved before this command is safe. Please report this line to the HIRC Desk maintainers."
        );
    }));
}

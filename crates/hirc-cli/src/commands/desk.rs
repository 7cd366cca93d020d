//! `init`, `status` and `audit`.

use anyhow::Result;
use hirc_core::{Desk, DeskSetup};

use crate::Ctx;
use crate::cli::{AuditAction, AuditArgs, InitArgs};
use crate::output;

/// `hirc init`.
pub fn init(ctx: &mut Ctx, args: InitArgs) -> Result<()> {
    if ctx.data_dir.join(hirc_core::desk::DESK_FILE).exists() {
        // Say so before asking for a passphrase that would not be used.
        return Err(hirc_core::Error::AlreadyInitialised {
            path: ctx.data_dir.join(hirc_core::desk::DESK_FILE),
        }
        .into());
    }
    let passphrase = ctx
        .input
        .new_passphrase(&format!("New passphrase for {}: ", args.coordinator.trim()))?;
    passphrase.check_new()?;
    let kdf = ctx.kdf()?;
    eprintln!("Setting up the desk (this takes a few seconds)…");
    let (desk, recovery) = Desk::create(
        &ctx.data_dir,
        &DeskSetup {
            centre_name: &args.centre,
            centre_code: &args.centre_code,
            coordinator: &args.coordinator,
            passphrase: &passphrase,
            kdf,
        },
    )?;
    let info = desk.info();
    println!(
        "Desk set up for {} ({}) in {}",
        info.centre_name,
        info.centre_code,
        ctx.data_dir.display()
    );
    println!("Coordinator: {}", args.coordinator.trim());
    println!();
    println!("RECOVERY CODE (shown once, never again):");
    println!();
    println!("    {}", recovery.reveal());
    println!();
    println!("Write it on paper and keep it in the centre's safe. If every coordinator");
    println!("forgets their passphrase, `hirc recover` and this code are the only way back in.");
    Ok(())
}

/// `hirc status`.
pub fn status(ctx: &mut Ctx, json: bool) -> Result<()> {
    let (desk, session) = ctx.unlock()?;
    let s = desk.status(&session)?;
    if json {
        return output::json(&s);
    }
    println!(
        "Desk:          {} ({})",
        s.desk.centre_name, s.desk.centre_code
    );
    println!("Desk id:       {}", s.desk.desk_id);
    println!(
        "Store:         {} ({}), schema version {}",
        s.store_path.display(),
        output::size(s.store_bytes),
        s.schema_version
    );
    println!(
        "Users:         {} coordinator(s), {} ambassador(s)",
        s.coordinators, s.ambassadors
    );
    println!(
        "Reports:       {} draft(s), {} waiting to upload, {} delivered, {} purged",
        s.drafts, s.sealed, s.delivered, s.purged
    );
    match desk.hub()? {
        None => {
            println!(
                "Hub:           not enrolled (a coordinator runs `hirc enrol --hub URL --code CODE`)"
            );
            if s.waiting_for_enrolment > 0 {
                println!(
                    "Outbox:        {} sealed report(s) wait, encrypted, until this desk is enrolled with a hub",
                    s.waiting_for_enrolment
                );
            }
        }
        Some(hub) => {
            let o = desk.outbox_summary()?;
            println!(
                "Hub:           {} at {} (device {})",
                hub.hub_name, hub.url, hub.device_id
            );
            println!(
                "Outbox:        {} waiting, {} delivered, {} refused; last upload {}",
                o.waiting + o.waiting_for_enrolment,
                o.delivered,
                o.refused,
                o.last_delivered_at
                    .as_ref()
                    .map(output::when)
                    .unwrap_or_else(|| "never".into())
            );
            if o.unchecked > 0 {
                println!(
                    "Receipts:      {} delivered before receipts were signed; each is sent once more for the hub's signed receipt, and keeps its data until then",
                    o.unchecked
                );
            }
            if o.erasures_waiting > 0 {
                println!(
                    "Erasures:      {} not yet confirmed by the hub (a coordinator's `hirc report erasures` says why)",
                    o.erasures_waiting
                );
            }
            if let Some(e) = o.last_error {
                println!("Last problem:  {e}");
            }
        }
    }
    if s.set_aside > 0 {
        println!(
            "Set aside:     {} report(s) would not open and are set aside (`hirc report set-aside` lists them)",
            s.set_aside
        );
    }
    if s.stale_drafts > 0 {
        println!(
            "Attention:     {} draft(s) untouched for {} days or more",
            s.stale_drafts,
            hirc_core::desk::STALE_DRAFT_DAYS
        );
    }
    Ok(())
}

/// `hirc audit` and `hirc audit verify`.
pub fn audit(ctx: &mut Ctx, args: AuditArgs) -> Result<()> {
    let (desk, session) = ctx.unlock()?;
    match args.action {
        Some(AuditAction::Verify) => {
            let verified = desk.verify_audit(&session)??;
            println!(
                "The audit log is intact: {} entries, head hash {}",
                verified.entries, verified.head
            );
            Ok(())
        }
        None => {
            let entries = desk.audit_log(&session)?;
            if args.json {
                return output::json(&entries);
            }
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        output::when_text(&e.at),
                        e.actor.clone().unwrap_or_else(|| "-".into()),
                        e.action.clone(),
                        e.subject.clone().unwrap_or_default(),
                        e.detail.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(&["#", "WHEN", "WHO", "WHAT", "SUBJECT", "DETAIL"], &rows);
            Ok(())
        }
    }
}

/// `hirc purge`: needs no passphrase (it deletes what the retention
/// setting says is due, and reads nothing), as the sync worker's purge.
pub fn purge(ctx: &mut Ctx, dry_run: bool) -> Result<()> {
    let mut desk = ctx.open()?;
    let days = desk.retention_days()?;
    let now = desk.now();
    let list = if dry_run {
        desk.purgeable(now)?
    } else {
        desk.purge_expired(now)?
    };
    for p in &list {
        println!(
            "{}  delivered {}",
            p.reference.clone().unwrap_or_else(|| p.id.to_string()),
            output::when(&p.delivered_at)
        );
    }
    let verb = if dry_run { "would be purged" } else { "purged" };
    eprintln!(
        "{} report(s) {verb} (retention: {days} days after delivery). Their statistics stay.",
        list.len()
    );
    Ok(())
}

/// `hirc settings`.
pub fn settings(
    ctx: &mut Ctx,
    retention_days: Option<u32>,
    auto_lock_minutes: Option<u32>,
    interview_lock_minutes: Option<u32>,
    (evidence_file_mib, evidence_report_mib): (Option<u32>, Option<u32>),
) -> Result<()> {
    let (mut desk, session) = ctx.unlock()?;
    if evidence_file_mib.is_some() || evidence_report_mib.is_some() {
        let now = desk.evidence_limits()?;
        desk.set_evidence_limits(
            &session,
            hirc_core::evidence::EvidenceLimits {
                file_mib: evidence_file_mib.unwrap_or(now.file_mib),
                report_mib: evidence_report_mib.unwrap_or(now.report_mib),
            },
        )?;
    }
    if let Some(days) = retention_days {
        desk.set_retention_days(&session, days)?;
    }
    if let Some(minutes) = auto_lock_minutes {
        desk.set_auto_lock_minutes(&session, minutes)?;
    }
    if let Some(minutes) = interview_lock_minutes {
        desk.set_interview_lock_minutes(&session, minutes)?;
    }
    println!("retention-days          {}", desk.retention_days()?);
    println!("auto-lock-minutes       {}", desk.auto_lock_minutes()?);
    println!("interview-lock-minutes  {}", desk.interview_lock_minutes()?);
    let limits = desk.evidence_limits()?;
    println!("evidence-file-mib       {}", limits.file_mib);
    println!("evidence-report-mib     {}", limits.report_mib);
    Ok(())
}

/// `hirc summary`.
pub fn summary(ctx: &mut Ctx, args: crate::cli::SummaryArgs) -> Result<()> {
    use std::io::Write as _;
    let (mut desk, session) = ctx.unlock()?;
    let (from, to) = match (&args.period, args.from, args.to) {
        (Some(p), _, _) => hirc_core::summary::period_bounds(p)?,
        (None, Some(from), Some(to)) => (from, to),
        _ => anyhow::bail!("say which period: --period 2026-Q1, or --from and --to"),
    };
    let options = hirc_core::summary::SummaryOptions {
        from,
        to,
        threshold: args.threshold,
    };
    if args.threshold < hirc_core::summary::DEFAULT_THRESHOLD {
        eprintln!(
            "warning: a threshold below {} makes small, identifying numbers visible; this is recorded in the audit log",
            hirc_core::summary::DEFAULT_THRESHOLD
        );
    }
    match args.format {
        crate::cli::SummaryFormat::Xlsx if args.out.is_none() => {
            anyhow::bail!("an Excel workbook needs a file: add --out FILE.xlsx")
        }
        crate::cli::SummaryFormat::Pdf if args.out.is_none() => {
            anyhow::bail!("a PDF needs a file: add --out FILE.pdf")
        }
        _ => {}
    }
    let summary = desk.summary(&session, options)?;
    let (bytes, kind) = match args.format {
        crate::cli::SummaryFormat::Csv => (
            hirc_core::summary::to_csv(&summary, &hirc_core::summary::Wording::english())
                .into_bytes(),
            "csv",
        ),
        crate::cli::SummaryFormat::Xlsx => (
            hirc_core::summary::to_xlsx(&summary, &hirc_core::summary::Wording::english())?,
            "xlsx",
        ),
        crate::cli::SummaryFormat::Pdf => (
            hirc_core::summary::to_pdf(&summary, &hirc_core::summary::Wording::english())?,
            "pdf",
        ),
        crate::cli::SummaryFormat::Json => (
            (serde_json::to_string_pretty(&summary)? + "\n").into_bytes(),
            "json",
        ),
    };
    match &args.out {
        Some(path) => {
            hirc_files::write_new(path, &bytes)?;
            eprintln!("Summary written to {}.", path.display());
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    desk.record_export(&session, &format!("summary {from} to {to} ({kind})"))?;
    Ok(())
}

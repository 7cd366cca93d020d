//! `enrol` and `sync`: the desk's side of the hub.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hirc_core::model::Role;
use hirc_core::outbox::Enrolment;
use hirc_proto::{
    OFFLINE_ENROLMENT_FORMAT, OUTBOX_FILE_FORMAT, OfflineEnrolment, OutboxEntry, OutboxFile,
    RECEIPT_FILE_FORMAT, ReceiptFile, content_digest, encode_payload, recipients_fingerprint,
};
use hirc_sync::{HubClient, PassOptions, SyncError, Worker, run_pass};

use crate::Ctx;
use crate::cli::{EnrolArgs, OutboxCommand, SyncArgs};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the network runtime")
}

/// `hirc enrol`.
pub fn enrol(ctx: &mut Ctx, args: EnrolArgs) -> Result<()> {
    let (mut desk, session) = ctx.unlock()?;
    // Check before the single-use code is spent at the hub.
    if session.user().role != Role::Coordinator {
        bail!(hirc_core::Error::NotPermitted {
            action: "enrolling the desk with a hub",
            user: session.user().name.clone()
        });
    }
    let ca_pem = match &args.hub_ca {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("could not read {}", path.display()))?,
        ),
        None => None,
    };
    let (url, response) = match (&args.file, &args.hub, &args.code) {
        (Some(path), _, _) => {
            let text = std::fs::read(path)
                .with_context(|| format!("could not read {}", path.display()))?;
            let file: OfflineEnrolment = serde_json::from_slice(&text)
                .map_err(|_| anyhow::anyhow!("{} is not an enrolment file", path.display()))?;
            if file.format != OFFLINE_ENROLMENT_FORMAT {
                bail!("{} is not an enrolment file", path.display());
            }
            (file.hub_url.clone(), file.enrolment)
        }
        (None, Some(hub), Some(code)) => {
            let device_name = args
                .device_name
                .clone()
                .unwrap_or_else(|| desk.info().centre_name.clone());
            let client = HubClient::new(hub, ca_pem.as_deref())?;
            eprintln!("Contacting {}…", hub.trim_end_matches('/'));
            (
                hub.trim_end_matches('/').to_string(),
                runtime()?.block_on(client.enrol(code, &device_name))?,
            )
        }
        _ => bail!("give --hub URL --code CODE, or --file FILE"),
    };
    let fingerprint = recipients_fingerprint(&response.recipients);
    let prepared = desk
        .enrol(
            &session,
            &Enrolment {
                url: &url,
                hub_name: &response.hub_name,
                device_id: response.device_id,
                token: &response.token,
                recipients: &response.recipients,
                ca_pem: ca_pem.as_deref(),
            },
            args.replace_recipients,
        )
        .map_err(|e| match e {
            hirc_core::Error::RecipientsChanged => anyhow::anyhow!(
                "{e}. The new fingerprint is {fingerprint}. (The enrolment code has been used: ask the partnership for a new one.)"
            ),
            other => other.into(),
        })?;
    println!(
        "Enrolled with {} as device {}.",
        response.hub_name, response.device_id
    );
    println!("Partnership key fingerprint: {fingerprint}");
    println!(
        "Check it with the partnership (by phone, not email): `hirc-hub keygen` and `hirc-hub serve` print it too."
    );
    if prepared > 0 {
        println!(
            "{prepared} waiting report(s) are now encrypted for the hub; `hirc sync` uploads them."
        );
    }
    Ok(())
}

/// `hirc sync`.
pub fn sync(ctx: &mut Ctx, args: SyncArgs) -> Result<()> {
    let (mut desk, session) = ctx.unlock()?;
    if args.retry_refused {
        let n = desk.retry_refused(&session)?;
        eprintln!("{n} refused report(s) put back in the queue.");
    }
    let desk = Arc::new(Mutex::new(desk));
    let session = Arc::new(session);
    let rt = runtime()?;
    if !args.watch {
        let options = PassOptions {
            ignore_backoff: true,
            ..PassOptions::default()
        };
        let pass = match rt.block_on(run_pass(&desk, &session, options)) {
            Ok(pass) => pass,
            Err(SyncError::NotEnrolled) => bail!(SyncError::NotEnrolled),
            Err(e) => return Err(e.into()),
        };
        if args.json {
            return crate::output::json(&pass);
        }
        for e in &pass.errors {
            eprintln!("  {e}");
        }
        if !pass.reached_hub {
            eprintln!(
                "The hub could not be reached; the reports stay safely queued and will be sent next time."
            );
        }
        println!(
            "delivered {}, waiting {}, failed {}",
            pass.delivered,
            pass.outbox.waiting + pass.outbox.waiting_for_enrolment,
            pass.outbox.refused
        );
        return Ok(());
    }
    rt.block_on(async move {
        let worker = Worker::start(desk, session, Duration::from_secs(args.poll.max(1)));
        let mut status = worker.status();
        let tty = std::io::stdout().is_terminal();
        eprintln!("Syncing; Ctrl-C stops.");
        loop {
            tokio::select! {
                changed = status.changed() => {
                    if changed.is_err() { break; }
                    let s = status.borrow_and_update().clone();
                    let line = format!(
                        "{:<12} waiting {:>4}  delivered {:>5}  refused {:>3}  last upload {}{}",
                        format!("{:?}", s.connection).to_lowercase(),
                        s.queued,
                        s.delivered,
                        s.refused,
                        s.last_success.as_deref().map(crate::output::when).unwrap_or_else(|| "-".into()),
                        s.last_error.as_deref().map(|e| format!("  ({e})")).unwrap_or_default(),
                    );
                    if tty { print!("\r\x1b[2K{line}"); } else { println!("{line}"); }
                    std::io::stdout().flush().ok();
                }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        worker.stop(Duration::from_secs(10)).await;
        if tty { println!(); }
        anyhow::Ok(())
    })
}

/// `hirc outbox export|receipts`.
pub fn outbox(ctx: &mut Ctx, cmd: OutboxCommand) -> Result<()> {
    let (mut desk, session) = ctx.unlock()?;
    if session.user().role != Role::Coordinator {
        bail!(hirc_core::Error::NotPermitted {
            action: "carrying the outbox by hand",
            user: session.user().name.clone()
        });
    }
    let hub = desk.hub()?.ok_or(SyncError::NotEnrolled)?;
    desk.prepare_uploads(&session)?;
    let waiting = desk.due_uploads(&session, chrono::Utc::now(), true)?;
    match cmd {
        OutboxCommand::Export { file } => {
            let out = OutboxFile {
                format: OUTBOX_FILE_FORMAT.into(),
                device_id: hub.device_id,
                created_at: chrono::Utc::now(),
                reports: waiting
                    .iter()
                    .map(|u| OutboxEntry {
                        report_id: u.report_id,
                        revision: u.revision,
                        digest: content_digest(&u.payload),
                        payload: encode_payload(&u.payload),
                    })
                    .collect(),
            };
            crate::output::write_new(&file, serde_json::to_string(&out)?.as_bytes())?;
            desk.record_export(
                &session,
                &format!("outbox file with {} report(s)", out.reports.len()),
            )?;
            println!(
                "Wrote {} report(s), encrypted for the hub, to {}.",
                out.reports.len(),
                file.display()
            );
            println!(
                "Take it to the partnership; bring back the receipt file for `hirc outbox receipts`."
            );
        }
        OutboxCommand::Receipts { file } => {
            let text = std::fs::read(&file)
                .with_context(|| format!("could not read {}", file.display()))?;
            let receipts: ReceiptFile = serde_json::from_slice(&text)
                .map_err(|_| anyhow::anyhow!("{} is not a receipt file", file.display()))?;
            if receipts.format != RECEIPT_FILE_FORMAT {
                bail!("{} is not a receipt file", file.display());
            }
            if receipts.device_id != hub.device_id {
                bail!(
                    "these receipts are for device {}, not this desk ({})",
                    receipts.device_id,
                    hub.device_id
                );
            }
            let (mut marked, mut unmatched) = (0, 0);
            for r in &receipts.receipts {
                // A receipt counts only for the very bytes this desk holds.
                let matches = waiting.iter().any(|u| {
                    u.report_id == r.report_id
                        && u.revision == r.revision
                        && content_digest(&u.payload) == r.digest
                });
                if !matches {
                    unmatched += 1;
                    continue;
                }
                let kept = hirc_core::outbox::DeliveryReceipt {
                    receipt_id: r.receipt_id,
                    digest: r.digest.clone(),
                    received_at: r.received_at,
                };
                if desk.record_delivery(&session, r.report_id, r.revision, &kept)? {
                    marked += 1;
                }
            }
            println!("{marked} report(s) marked delivered.");
            if unmatched > 0 {
                eprintln!(
                    "{unmatched} receipt(s) did not match a waiting report (already delivered, or for other bytes) and were ignored."
                );
            }
        }
    }
    Ok(())
}

//! `enrol` and `sync`: the desk's side of the hub.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hirc_core::model::Role;
use hirc_core::outbox::Enrolment;
use hirc_proto::sign::{SigningKey, key_fingerprint};
use hirc_proto::{
    OFFLINE_ENROLMENT_FORMAT, OfflineEnrolment, RECEIPT_FILE_FORMAT, ReceiptFile,
    recipients_fingerprint,
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
    let (url, response, made_key) = match (&args.file, &args.hub, &args.code) {
        (Some(path), _, _) => {
            let text = std::fs::read(path)
                .with_context(|| format!("could not read {}", path.display()))?;
            let file: OfflineEnrolment = serde_json::from_slice(&text)
                .map_err(|_| anyhow::anyhow!("{} is not an enrolment file", path.display()))?;
            if file.format != OFFLINE_ENROLMENT_FORMAT {
                bail!("{} is not an enrolment file", path.display());
            }
            // The hub made this desk's device key (it could not send its own).
            let key = match &file.device_key_secret {
                Some(secret) => Some(SigningKey::from_secret_base64(secret).ok_or_else(|| {
                    anyhow::anyhow!("{} holds a device key that is not a key", path.display())
                })?),
                None => None,
            };
            (file.hub_url.clone(), file.enrolment, key)
        }
        (None, Some(hub), Some(code)) => {
            let device_name = args
                .device_name
                .clone()
                .unwrap_or_else(|| desk.info().centre_name.clone());
            let client = HubClient::new(hub, ca_pem.as_deref())?;
            let device_key = desk.device_key(&session)?;
            eprintln!("Contacting {}…", hub.trim_end_matches('/'));
            (
                hub.trim_end_matches('/').to_string(),
                runtime()?.block_on(client.enrol(
                    code,
                    &device_name,
                    &device_key,
                    desk.previous_device(hub),
                ))?,
                None,
            )
        }
        _ => bail!("give --hub URL --code CODE, or --file FILE"),
    };
    let fingerprint = recipients_fingerprint(&response.recipients);
    let prepared = desk
        .enrol(
            &session,
            &Enrolment {
                ca_pem: ca_pem.as_deref(),
                device_key: made_key.as_ref(),
                ..Enrolment::from_response(&url, &response)
            },
            args.replace_recipients,
        )
        .map_err(|e| match e {
            hirc_core::Error::RecipientsChanged => anyhow::anyhow!(
                "{e}. The new fingerprint is {fingerprint}: once the partnership has confirmed it, enrol again with --replace-recipients. (The enrolment code has been used: ask the partnership for a new one.)"
            ),
            other => other.into(),
        })?;
    println!(
        "Enrolled with {} as device {}.",
        response.hub_name, response.device_id
    );
    println!("Partnership key fingerprint: {fingerprint}");
    if let Some(key) = &response.receipt_key {
        println!("Hub receipt key fingerprint: {}", key_fingerprint(key));
    }
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

/// What to do when the hub's certificate is not trusted.
pub(crate) const CERTIFICATE_HINT: &str = "if the partnership uses its own certificate authority, enrol again with `hirc enrol --hub URL --code CODE --hub-ca FILE`, FILE being that authority's certificate";

/// `hirc sync`: needs no passphrase (uploads touch no report content),
/// except to put refused reports back in the queue.
pub fn sync(ctx: &mut Ctx, args: SyncArgs) -> Result<()> {
    let desk = if args.retry_refused {
        let (mut desk, session) = ctx.unlock()?;
        let n = desk.retry_refused(&session)?;
        eprintln!("{n} refused report(s) put back in the queue.");
        desk
    } else {
        ctx.open()?
    };
    let desk = Arc::new(Mutex::new(desk));
    let rt = runtime()?;
    if !args.watch {
        let options = PassOptions {
            ignore_backoff: true,
            ..PassOptions::default()
        };
        let pass = match rt.block_on(run_pass(&desk, options)) {
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
        if pass.certificate_refused {
            eprintln!("  ({CERTIFICATE_HINT})");
        }
        if !pass.reached_hub {
            eprintln!(
                "The hub could not be reached; the reports stay safely queued and will be sent next time."
            );
        }
        if pass.outbox.erasures_waiting > 0 {
            eprintln!(
                "{} erasure(s) not yet confirmed by the hub (hirc report erasures says why).",
                pass.outbox.erasures_waiting
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
        let worker = Worker::start(desk, Duration::from_secs(args.poll.max(1)));
        let mut status = worker.status();
        let tty = std::io::stdout().is_terminal();
        eprintln!("Syncing; Ctrl-C stops.");
        loop {
            tokio::select! {
                changed = status.changed() => {
                    if changed.is_err() { break; }
                    let s = status.borrow_and_update().clone();
                    let line = format!(
                        "{:<12} waiting {:>4}  delivered {:>5}  refused {:>3}  last upload {}{}{}",
                        format!("{:?}", s.connection).to_lowercase(),
                        s.queued,
                        s.delivered,
                        s.refused,
                        s.last_success.as_ref().map(crate::output::when).unwrap_or_else(|| "-".into()),
                        match s.erasures_waiting {
                            0 => String::new(),
                            n => format!("  erasures not yet confirmed {n}"),
                        },
                        s.last_error.as_deref().map(|e| format!("  ({e})")).unwrap_or_default(),
                    );
                    if tty { print!("\r\x1b[2K{line}"); } else { println!("{line}"); }
                    std::io::stdout().flush().ok();
                }
                _ = tokio::signal::ctrl_c() => break,
                () = terminated() => break,
            }
        }
        worker.stop(Duration::from_secs(10)).await;
        if tty { println!(); }
        anyhow::Ok(())
    })
}

/// Resolves when a service manager asks the process to stop (SIGTERM), so
/// `--watch` as a login service stops cleanly (an upload in flight may
/// finish; one cut short is simply sent again).
async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        term.recv().await;
        return;
    }
    std::future::pending::<()>().await;
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
    if desk.hub()?.is_none() {
        bail!(SyncError::NotEnrolled);
    }
    match cmd {
        OutboxCommand::Export { file } => {
            let export = desk.outbox_file(&session)?;
            let out = &export.file;
            hirc_files::write_new(&file, serde_json::to_string(&out)?.as_bytes())?;
            println!(
                "Wrote {} report(s), encrypted for the hub and signed by this desk, to {}.",
                out.reports.len(),
                file.display()
            );
            if !out.erasures.is_empty() {
                println!(
                    "It also carries {} erasure(s) at the person's request, for the hub to erase its copy.",
                    out.erasures.len()
                );
            }
            let items: usize = out.reports.iter().map(|r| r.evidence.len()).sum();
            if items > 0 {
                println!("It carries {items} item(s) of evidence with them.");
            }
            if export.next_file > 0 {
                println!(
                    "{} report(s) are not in it (the file holds at most 400 MB, or their evidence could not be read just now): bring the receipts back, then export again for the next stick.",
                    export.next_file
                );
            }
            for reference in &export.too_large {
                println!(
                    "{reference} carries more evidence than one file can hold (400 MB): it can only be sent over the network, by connecting this desk to the hub."
                );
            }
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
            let outcome = desk.apply_receipt_file(&session, &receipts)?;
            println!("{} report(s) marked delivered.", outcome.recorded);
            if outcome.erasures_confirmed > 0 {
                println!(
                    "{} erasure(s) confirmed by the hub.",
                    outcome.erasures_confirmed
                );
            }
            if outcome.already > 0 {
                eprintln!(
                    "{} receipt(s) were for reports already delivered.",
                    outcome.already
                );
            }
            if !outcome.refused.is_empty() {
                for (id, why) in &outcome.refused {
                    eprintln!("  refused a receipt for {id}: {why}");
                }
                bail!(
                    "{} receipt(s) in the file were refused (listed above); those reports stay queued and nothing was marked for them",
                    outcome.refused.len()
                );
            }
        }
    }
    Ok(())
}

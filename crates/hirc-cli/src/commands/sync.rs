//! `enrol` and `sync`: the desk's side of the hub.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hirc_core::model::Role;
use hirc_core::outbox::Enrolment;
use hirc_proto::recipients_fingerprint;
use hirc_sync::{HubClient, PassOptions, SyncError, Worker, run_pass};

use crate::Ctx;
use crate::cli::{EnrolArgs, SyncArgs};

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
    let device_name = args
        .device_name
        .unwrap_or_else(|| desk.info().centre_name.clone());
    let client = HubClient::new(&args.hub)?;
    eprintln!("Contacting {}…", args.hub.trim_end_matches('/'));
    let response = runtime()?.block_on(client.enrol(&args.code, &device_name))?;
    let fingerprint = recipients_fingerprint(&response.recipients);
    let prepared = desk
        .enrol(
            &session,
            &Enrolment {
                url: args.hub.trim_end_matches('/'),
                hub_name: &response.hub_name,
                device_id: response.device_id,
                token: &response.token,
                recipients: &response.recipients,
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

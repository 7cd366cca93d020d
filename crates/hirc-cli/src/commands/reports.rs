//! `report new|edit|show|list|delete|submit`.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use hirc_core::model::{MAX_REPORT_JSON_BYTES, Report, ReportState};

use crate::cli::ReportCommand;
use crate::{Ctx, output, prompts};

/// `hirc report …`.
pub fn run(ctx: &mut Ctx, cmd: ReportCommand) -> Result<()> {
    match cmd {
        ReportCommand::New { from } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = match from {
                Some(path) => {
                    let bytes = read_json(ctx, &path)?;
                    let (report, ignored) = Report::from_json(&bytes)?;
                    warn_ignored(&ignored);
                    desk.create_draft(&session, &report)?
                }
                None => prompts::new_report(&mut ctx.input, &mut desk, &session)?,
            };
            eprintln!("Draft saved. Submit it with: hirc report submit {id}");
            println!("{id}");
        }
        ReportCommand::Edit { id, from } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            let bytes = read_json(ctx, &from)?;
            let mut patch: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                hirc_core::Error::BadReportJson(format!(
                    "the changes are not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
            if let Some(object) = patch.as_object_mut() {
                let ignored: Vec<String> = hirc_core::model::APP_SET_FIELDS
                    .iter()
                    .filter(|f| object.remove(**f).is_some())
                    .map(|f| (*f).to_string())
                    .collect();
                warn_ignored(&ignored);
            }
            desk.patch_draft(&session, id, &patch)?;
            eprintln!("Saved.");
            println!("{id}");
        }
        ReportCommand::Show { id } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            let row = desk.row_of(&session, id)?;
            let mut out = serde_json::Map::new();
            out.insert("id".into(), row.id.to_string().into());
            out.insert("reference".into(), row.reference.clone().into());
            out.insert("state".into(), row.state.as_str().into());
            out.insert("revision".into(), row.revision.into());
            // A submitted report has a page anyone at the desk may open
            // (audited), which outlives the purge; its content is shown only
            // to whoever may read it, while the desk still holds it.
            let readable = match &row.reference {
                Some(reference) => {
                    let page = desk.find_report(&session, reference)?;
                    out.insert("sealed_at".into(), json_of(&page.sealed_at)?);
                    out.insert("delivered_at".into(), json_of(&page.delivered_at)?);
                    out.insert("receipt".into(), json_of(&page.receipt)?);
                    out.insert("receipt_checked".into(), page.receipt_checked.into());
                    out.insert("refused".into(), page.refused.into());
                    out.insert("consent_given".into(), json_of(&page.consent)?);
                    out.insert("purged".into(), page.purged.into());
                    out.insert("statuses".into(), json_of(&page.statuses)?);
                    if page.purged {
                        eprintln!(
                            "Its personal data were purged from this desk after the retention period; the partnership holds the report."
                        );
                    } else if !page.readable {
                        eprintln!(
                            "Only the ambassador who took it, or a coordinator, can read what it says."
                        );
                    }
                    page.readable && !page.purged
                }
                None => true,
            };
            if readable {
                let view = desk.report(&session, id)?;
                out.insert("centre_code".into(), view.meta.centre_code.clone().into());
                out.insert("ambassador".into(), view.meta.ambassador.to_string().into());
                out.insert("taken_at".into(), view.meta.taken_at.to_rfc3339().into());
                out.insert(
                    "updated_at".into(),
                    hirc_core::time::to_text(view.row.updated_at).into(),
                );
                if let Some(report) = &view.report
                    && let serde_json::Value::Object(fields) = serde_json::to_value(report)?
                {
                    out.extend(fields);
                }
            }
            output::json(&out)?;
        }
        ReportCommand::FollowUp { reference, from } => {
            let (mut desk, session) = ctx.unlock()?;
            let from = match from {
                Some(path) => {
                    let bytes = read_json(ctx, &path)?;
                    let (report, ignored) = Report::from_json(&bytes)?;
                    warn_ignored(&ignored);
                    Some(report)
                }
                None => None,
            };
            let id = desk.follow_up(&session, &reference, from.as_ref())?;
            eprintln!(
                "Follow-up draft {id} started. Say what it adds or changes (the `what_changed` field, with `hirc report edit {id} --from FILE`), then: hirc report submit {id}"
            );
            println!("{id}");
        }
        ReportCommand::Related { reference } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.related_report(&session, &reference, None)?;
            eprintln!(
                "New report {id} started, naming {reference}. Add what happened with `hirc report edit {id} --from FILE`, then: hirc report submit {id}",
                reference = desk
                    .report(&session, id)?
                    .report
                    .and_then(|r| r.related_reference)
                    .unwrap_or(reference)
            );
            println!("{id}");
        }
        ReportCommand::Consent {
            reference,
            pass_to_police,
            police_may_contact,
            refer_to_support,
        } => {
            let pass_to_police = pass_to_police
                .map(|word| {
                    hirc_core::model::PassToPolice::from_word(&word).ok_or_else(|| {
                        hirc_core::Error::InvalidInput(format!(
                            "--pass-to-police is identified, anonymous_only or no, not `{word}`"
                        ))
                    })
                })
                .transpose()?;
            let (mut desk, session) = ctx.unlock()?;
            let sealed = desk.change_consent(
                &session,
                &reference,
                hirc_core::desk::ConsentChange {
                    pass_to_police,
                    police_may_contact: police_may_contact.map(crate::cli::YesNo::yes),
                    refer_to_support: refer_to_support.map(crate::cli::YesNo::yes),
                },
            )?;
            eprintln!(
                "Consent changed: revision {} of {} is sealed and waits to be sent to the hub.",
                sealed.revision, sealed.reference
            );
            println!("{}", sealed.reference);
        }
        ReportCommand::Slip {
            reference,
            out,
            lang,
        } => {
            let words = hirc_core::summary::Wording::bundled(&lang)?;
            let (mut desk, session) = ctx.unlock()?;
            let slip = desk.slip(&session, &reference)?;
            let pdf = hirc_core::slip::to_pdf(&slip, &words)?;
            hirc_files::write_new(&out, &pdf)?;
            desk.record_export(&session, &format!("slip {} ({lang})", slip.reference))?;
            eprintln!(
                "The slip for {} is in {}. Print it for the person; it holds no personal details.",
                slip.reference,
                out.display()
            );
        }
        ReportCommand::Access {
            reference,
            out,
            lang,
            evidence_dir,
        } => {
            let words = hirc_core::summary::Wording::bundled(&lang)?;
            let (mut desk, session) = ctx.unlock()?;
            let copy = desk.subject_access(&session, &reference)?;
            // Where the files go is checked before anything is written, so
            // a folder that will not do leaves no PDF behind either.
            let files = evidence_dir
                .map(|dir| {
                    hirc_core::subject_access::where_the_files_go(&copy, &dir)
                        .map(|paths| (dir, paths))
                })
                .transpose()?;
            let pdf = hirc_core::subject_access::to_pdf(&copy, &words)?;
            hirc_files::write_new(&out, &pdf)?;
            desk.record_export(
                &session,
                &format!("copy for the person of {} ({lang})", copy.reference),
            )?;
            eprintln!(
                "The copy of what this desk holds about {} is in {}. It holds the person's details: give it to them, and delete the file.",
                copy.reference,
                out.display()
            );
            if let Some((dir, paths)) = files {
                desk.write_files_for_the_person(&session, &copy, &paths)?;
                eprintln!(
                    "{} file(s) the person gave are in {}, as the desk keeps them. Give them to the person, and delete them.",
                    paths.len(),
                    dir.display()
                );
            }
        }
        ReportCommand::List(flag) => {
            let (desk, session) = ctx.unlock()?;
            let list = desk.list_reports(&session)?;
            if flag.json {
                return output::json(&list);
            }
            if list.is_empty() {
                eprintln!("No reports yet. Start one with: hirc report new");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|l| {
                    vec![
                        l.row
                            .reference
                            .clone()
                            .unwrap_or_else(|| l.row.id.to_string()),
                        l.row.state.label().to_string(),
                        output::when(&l.row.created_at),
                        output::when(&l.row.updated_at),
                        l.owner.clone(),
                        l.summary.clone(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "REFERENCE OR DRAFT ID",
                    "STATE",
                    "CREATED",
                    "UPDATED",
                    "TAKEN BY",
                    "SUMMARY",
                ],
                &rows,
            );
        }
        ReportCommand::Delete { id, yes } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            let draft = desk
                .list_reports(&session)?
                .into_iter()
                .find(|l| l.row.id == id && l.row.state == ReportState::Draft);
            // Only a draft can be deleted; anything else gets the engine's
            // own "already submitted" error below, without a question first.
            if let (Some(draft), false) = (draft, yes) {
                let what = format!(
                    "the draft started {} ({})",
                    output::when(&draft.row.created_at),
                    draft.summary
                );
                if !ctx
                    .input
                    .confirm(&format!("Delete {what}? It cannot be recovered. [y/N] "))?
                {
                    bail!("nothing was deleted (add --yes to delete without being asked)");
                }
            }
            desk.delete_draft(&session, id)?;
            eprintln!("Draft {id} deleted.");
        }
        ReportCommand::Submit { id } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            let reference = desk.submit(&session, id)?;
            eprintln!("Report submitted and sealed. Give the person this reference:");
            println!("{reference}");
            eprintln!("It waits in the outbox, encrypted, until it is uploaded to the hub.");
        }
        ReportCommand::SetAside(flag) => {
            let (desk, session) = ctx.unlock()?;
            let aside = desk.set_aside_reports(&session)?;
            if flag.json {
                return output::json(&aside);
            }
            if aside.is_empty() {
                eprintln!("No report is set aside.");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = aside
                .iter()
                .map(|a| {
                    vec![
                        a.reference.clone().unwrap_or_else(|| a.id.to_string()),
                        a.state.label().to_string(),
                        output::when(&a.since),
                        a.reason.clone(),
                    ]
                })
                .collect();
            output::table(&["REFERENCE OR ID", "STATE", "SET ASIDE", "WHY"], &rows);
            eprintln!(
                "Restore the data directory from a backup and run `hirc report retry ID`, or `hirc report discard ID` to delete one for good."
            );
        }
        ReportCommand::Retry { id } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            desk.retry_set_aside(&session, id)?;
            eprintln!("Report {id} opens again and is back in use.");
        }
        ReportCommand::Erase {
            reference,
            resend: true,
            ..
        } => {
            let (mut desk, session) = ctx.unlock()?;
            for gone in desk.resend_erasures(&session, Some(&reference))?.again {
                eprintln!(
                    "The erasure of report {} goes to the hub again with the next sync (hirc sync); `hirc report show {}` says when the hub has confirmed it.",
                    gone.reference, gone.reference
                );
                println!("{}", gone.reference);
            }
        }
        ReportCommand::Attach { id, files, caption } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            for path in &files {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("could not open {}", path.display()))?;
                let added = desk
                    .add_evidence(
                        &session,
                        id,
                        std::io::BufReader::new(file),
                        caption.as_deref(),
                    )
                    .with_context(|| format!("{} was not added", path.display()))?;
                println!(
                    "{}  {}  {}",
                    added.id,
                    added.kind.as_str(),
                    crate::output::size(added.size)
                );
            }
            eprintln!(
                "Added {} file(s) to the draft; their names were not kept.",
                files.len()
            );
        }
        ReportCommand::Detach { id, item } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            let items = desk.evidence(&session, id)?;
            let chosen = pick_item(&items, &item)?;
            desk.remove_evidence(&session, chosen)?;
            eprintln!("Removed {chosen} from the draft.");
        }
        ReportCommand::Evidence { id, json } => {
            let (desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            let items = desk.evidence(&session, id)?;
            if json {
                return crate::output::json(&items);
            }
            if items.is_empty() {
                eprintln!("This report has no evidence.");
            }
            for (n, e) in items.iter().enumerate() {
                println!(
                    "{:>3}  {}  {:<4}  {:>9}  rev {}  {}",
                    n + 1,
                    e.id,
                    e.kind.as_str(),
                    crate::output::size(e.size),
                    e.revision,
                    e.caption.as_deref().unwrap_or("")
                );
            }
        }
        ReportCommand::Erasures { json, resend } => {
            let (mut desk, session) = ctx.unlock()?;
            if resend {
                let resent = desk.resend_erasures(&session, None)?;
                eprintln!(
                    "{} erasure(s) go to the hub again with the next sync (hirc sync).",
                    resent.again.len()
                );
                if !resent.under_another_key.is_empty() {
                    eprintln!(
                        "Not sent again, because they were erased under this desk's earlier device key (it has been enrolled again since) and the hub knows them under that key: {}. Ask the partnership to check its export for them (docs/hub.md).",
                        resent.under_another_key.join(", ")
                    );
                }
            }
            let erasures = desk.erasures(&session)?;
            if json {
                return crate::output::json(&erasures);
            }
            if erasures.is_empty() {
                eprintln!("No report has been erased at this desk.");
            }
            for e in &erasures {
                println!(
                    "{:<14} erased {}  {}",
                    e.reference,
                    crate::output::when(&e.erased_at),
                    erasure_state(e)
                );
            }
        }
        ReportCommand::Erase { reference, yes, .. } => {
            let (mut desk, session) = ctx.unlock()?;
            if !yes
                && !ctx.input.confirm(&format!(
                    "Erase report {reference} at the person's request? Everything this desk holds of it is deleted, for good. [y/N] "
                ))?
            {
                bail!("nothing was erased (add --yes to erase without being asked)");
            }
            let erased = desk.erase_report(&session, &reference)?;
            if erased.for_the_hub {
                eprintln!(
                    "Report {} erased at this desk. The hub's copy is erased with the next sync (hirc sync); `hirc report show {}` says when the hub has confirmed it.",
                    erased.reference, erased.reference
                );
            } else {
                eprintln!(
                    "Report {} erased. This desk was never enrolled with a hub, so nothing of it left the desk.",
                    erased.reference
                );
            }
            println!("{}", erased.reference);
        }
        ReportCommand::Discard { id, yes } => {
            let (mut desk, session) = ctx.unlock()?;
            let id = desk.resolve(&session, &id)?;
            if !yes
                && !ctx.input.confirm(&format!(
                    "Discard report {id} for good? It cannot be recovered. [y/N] "
                ))?
            {
                bail!("nothing was discarded (add --yes to discard without being asked)");
            }
            desk.discard_set_aside(&session, id)?;
            eprintln!("Report {id} discarded.");
        }
    }
    Ok(())
}

/// Where an erasure stands with the hub, in a few words.
fn erasure_state(e: &hirc_core::erasure::Erasure) -> String {
    let why = |prefix: &str| match &e.last_error {
        Some(why) => format!("{prefix} ({why})"),
        None => prefix.to_string(),
    };
    match (e.for_the_hub, e.confirmed_at, e.refused) {
        (false, _, _) => "nothing of it left the desk".into(),
        (true, Some(at), _) => why(&format!(
            "the hub confirmed on {}",
            crate::output::when(&at)
        )),
        (true, None, true) => why("refused by the hub: enrol the desk again"),
        (true, None, false) => why("goes to the hub with the next sync"),
    }
}

/// Reads a JSON file (or standard input for `-`), refusing anything larger
/// than a report can be before reading it.
fn read_json(ctx: &mut Ctx, path: &Path) -> Result<Vec<u8>> {
    let bytes = if path == Path::new("-") {
        ctx.input.rest(MAX_REPORT_JSON_BYTES)?
    } else {
        let file = std::fs::File::open(path)
            .with_context(|| format!("could not open {}", path.display()))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_REPORT_JSON_BYTES {
            bail!(hirc_core::Error::BadReportJson(format!(
                "{} is {} bytes; a report is at most {} KiB, so this is probably the wrong file",
                path.display(),
                len,
                MAX_REPORT_JSON_BYTES / 1024
            )));
        }
        let mut bytes = Vec::new();
        file.take(MAX_REPORT_JSON_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("could not read {}", path.display()))?;
        bytes
    };
    if bytes.len() as u64 > MAX_REPORT_JSON_BYTES {
        bail!(hirc_core::Error::BadReportJson(format!(
            "the input is larger than {} KiB, so it is probably not a report",
            MAX_REPORT_JSON_BYTES / 1024
        )));
    }
    Ok(bytes)
}

fn json_of<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(value)?)
}

fn warn_ignored(ignored: &[String]) {
    if !ignored.is_empty() {
        eprintln!(
            "note: ignored fields the app sets itself: {}",
            ignored.join(", ")
        );
    }
}

/// The item `key` names among `items`: its number as listed (from 1), or
/// its id or a unique start of it.
fn pick_item(items: &[hirc_core::evidence::Evidence], key: &str) -> Result<uuid::Uuid> {
    let key = key.trim();
    if let Ok(n) = key.parse::<usize>()
        && (1..=items.len()).contains(&n)
    {
        return Ok(items[n - 1].id);
    }
    let start = key.to_ascii_lowercase();
    let found: Vec<_> = items
        .iter()
        .filter(|e| !start.is_empty() && e.id.to_string().starts_with(&start))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.id),
        [] => bail!(
            "this draft has no item {key}: `hirc report evidence ID` lists them (number or id)"
        ),
        _ => bail!("{key} starts the ids of several items: give more of it"),
    }
}

//! `keygen` and `export`: the partnership's key, and what it decrypts.

use std::path::Path;

use anyhow::{Result, bail};
use hirc_hub::export;
use uuid::Uuid;

use crate::cli::{ExportArgs, Format};

/// `hirc-hub keygen`.
pub fn keygen(out: &Path) -> Result<()> {
    let recipient = export::keygen(out)?;
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
    Ok(())
}

/// `hirc-hub export`.
pub async fn run(args: ExportArgs) -> Result<()> {
    let ExportArgs {
        dir,
        identity,
        since,
        format,
        out,
        attachments_dir,
    } = args;
    if let Some(dir) = &attachments_dir {
        hirc_hub::attachments::check_dir(dir)?;
    }
    let identities = export::load_identities(&identity)?;
    let store = super::open(&dir).await?;
    let since = since
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    let summary = match &out {
        Some(path) => {
            // A new owner-only file, never an existing one: an existing file
            // would keep its mode (readable by others, perhaps), and a
            // symbolic link would send the partnership's decrypted reports
            // wherever it points.
            let file = hirc_files::create_new(path).map_err(|e| {
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
            )
            .await?
        }
        None => {
            export::export(
                store.as_ref(),
                &identities,
                since,
                format.into(),
                &mut std::io::stdout().lock(),
            )
            .await?
        }
    };
    eprintln!("Exported {} report(s).", summary.written);
    let mut failed_items = 0;
    if let Some(dir) = &attachments_dir {
        let attached =
            hirc_hub::attachments::export_attachments(store.as_ref(), &identities, since, dir)
                .await?;
        eprintln!(
            "Wrote {} item(s) of evidence for {} report(s) under {}.",
            attached.written,
            attached.reports,
            dir.display()
        );
        for (report, item, why) in &attached.failed {
            eprintln!("  evidence not exported: report {report}, item {item}: {why}");
        }
        failed_items = attached.failed.len();
    }
    if summary.erased > 0 {
        eprintln!(
            "  {} report(s) were erased at the person's request (the JSON Lines export lists each as an {{\"erasure\": …}} line).",
            summary.erased
        );
    }
    if !summary.unopened_statuses.is_empty() {
        // Not an error: the reports are all there; the word on them was
        // set with a key this export was not given.
        eprintln!(
            "  {} status(es) left out: they do not open with the identity given (set with another partnership key?): {}",
            summary.unopened_statuses.len(),
            summary
                .unopened_statuses
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if failed_items > 0 && summary.failed.is_empty() {
        bail!("{failed_items} item(s) of evidence could not be exported (listed above)");
    }
    if !summary.failed.is_empty() {
        for (receipt, why) in &summary.failed {
            eprintln!("  not exported: receipt {receipt}: {why}");
        }
        bail!(
            "{} report(s) could not be exported (listed above)",
            summary.failed.len()
        );
    }
    Ok(())
}

impl From<Format> for export::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Jsonl => export::Format::Jsonl,
            Format::Csv => export::Format::Csv,
        }
    }
}

//! `import`: reports carried by hand from a desk that is never online.

use anyhow::{Result, bail};
use hirc_hub::import;

use crate::cli::ImportArgs;

/// `hirc-hub import`.
pub async fn run(args: ImportArgs) -> Result<()> {
    let ImportArgs {
        dir,
        file,
        receipts,
    } = args;
    let store = super::open(&dir).await?;
    let signer = super::receipt_key(&dir, store.as_ref()).await?;
    let summary = import::outbox_file(store.as_ref(), &file, &receipts, &signer).await?;
    eprintln!(
        "Stored {} report(s); {} were already here; receipts written to {}.",
        summary.stored,
        summary.repeated,
        receipts.display()
    );
    if summary.erased > 0 {
        eprintln!(
            "Erased {} report(s) at the person's request (every revision held; the receipts are in the file).",
            summary.erased
        );
    }
    if !summary.refused.is_empty() {
        for (id, why) in &summary.refused {
            eprintln!("  refused {id}: {why}");
        }
        bail!(
            "{} report(s) in the file were refused (listed above); nothing stored was changed",
            summary.refused.len()
        );
    }
    Ok(())
}

//! `sweep`: the evidence no report names, idle for a while, deleted (what
//! `serve` does every hour), for an operator who wants it now.

use anyhow::Result;
use chrono::Utc;

use crate::cli::SweepArgs;

/// `hirc-hub sweep`.
pub async fn run(args: SweepArgs) -> Result<()> {
    let store = super::open(&args.dir).await?;
    let swept = store
        .sweep_unnamed_evidence(Utc::now() - chrono::Duration::days(args.idle_days.into()))
        .await?;
    let mib = swept.bytes as f64 / (1024.0 * 1024.0);
    match swept.items {
        0 if args.idle_days == 0 => {
            println!("Nothing to sweep: every item of evidence here is named by a report.");
        }
        0 => println!(
            "Nothing to sweep: no item of evidence that no report names has been idle for {} days.",
            args.idle_days
        ),
        1 => println!("Swept 1 item of evidence no report names ({mib:.1} MiB)."),
        n => println!("Swept {n} items of evidence no report names ({mib:.1} MiB)."),
    }
    Ok(())
}

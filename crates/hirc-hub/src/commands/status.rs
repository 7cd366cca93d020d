//! `status set`: word back to a desk on one of its reports.

use anyhow::{Result, anyhow};
use hirc_hub::{export, word_back};
use hirc_proto::StatusState;

use crate::cli::StatusSetArgs;

/// `hirc-hub status set`.
pub async fn set(args: StatusSetArgs) -> Result<()> {
    let state = StatusState::from_word(&args.state)
        .ok_or_else(|| anyhow!("a state is received, reviewed, passed_to_police or closed"))?;
    let identities = export::load_identities(&args.identity)?;
    let store = super::open(&args.dir).await?;
    let signer = super::receipt_key(&args.dir, store.as_ref()).await?;
    let set = word_back::set_status(
        store.as_ref(),
        &identities,
        &signer,
        &args.reference,
        state,
        args.note.as_deref(),
    )
    .await?;
    eprintln!(
        "Status {} set on report {}; the desk shows it after its next sync.",
        state.as_str(),
        set.report_id
    );
    println!("{}", set.status_id);
    Ok(())
}

//! `enrol`: a single-use code for a centre's desk, or, for a desk that is
//! never online, its whole enrolment in a file.

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use hirc_hub::{import, secrets};

use crate::cli::EnrolArgs;

/// `hirc-hub enrol`.
pub async fn run(args: EnrolArgs) -> Result<()> {
    let EnrolArgs {
        dir,
        centre,
        expires,
        offline_file,
        recipients,
        hub_name,
        hub_url,
        same_desk_as,
    } = args;
    let centre = centre.trim().to_string();
    if centre.is_empty() {
        bail!("--centre must name the centre");
    }
    let store = super::open(&dir).await?;
    let code = secrets::new_enrol_code();
    let until: DateTime<Utc> = Utc::now() + expires;
    store
        .add_enrol_code(
            &secrets::hash(&secrets::normalise_code(&code)),
            &centre,
            until,
        )
        .await?;
    if let Some(path) = offline_file {
        return import::offline_enrolment(
            store.as_ref(),
            &code,
            &centre,
            &path,
            &import::HubIdentity {
                same_desk_as,
                recipients: &recipients,
                hub_name: &hub_name,
                hub_url: &hub_url,
                receipt_key: &super::receipt_key(&dir, store.as_ref()).await?,
            },
        )
        .await;
    }
    eprintln!(
        "Enrolment code for {centre}, valid once until {} UTC. Give it to the centre's coordinator:",
        until.format("%Y-%m-%d %H:%M")
    );
    println!("{code}");
    Ok(())
}

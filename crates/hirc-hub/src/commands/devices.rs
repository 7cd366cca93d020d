//! `devices` and `revoke`: the desks enrolled with the hub.

use anyhow::{Result, bail};
use chrono::Utc;

use crate::cli::DataDir;

/// `hirc-hub devices`.
pub async fn list(dir: &DataDir, json: bool) -> Result<()> {
    let devices = super::open(dir).await?.devices().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&devices)?);
        return Ok(());
    }
    println!(
        "{:<36}  {:<24}  {:<20}  {:>7}  STATUS",
        "DEVICE", "CENTRE", "NAME", "REPORTS"
    );
    for d in devices {
        let status = d.revoked_at.map_or("active".to_string(), |t| {
            format!("revoked {}", t.format("%Y-%m-%d"))
        });
        println!(
            "{:<36}  {:<24}  {:<20}  {:>7}  {status}",
            d.id,
            d.centre,
            d.name,
            d.reports.unwrap_or_default()
        );
    }
    Ok(())
}

/// `hirc-hub revoke`.
pub async fn revoke(dir: &DataDir, device: uuid::Uuid) -> Result<()> {
    if !super::open(dir).await?.revoke(device, Utc::now()).await? {
        bail!("there is no device {device} (`hirc-hub devices` lists them)");
    }
    println!("Revoked {device}: its uploads are refused from now on.");
    Ok(())
}

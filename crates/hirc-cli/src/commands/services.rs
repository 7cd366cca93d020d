//! `hirc services`: the support services printed on every person's slip.

use std::io::Read;

use anyhow::{Context, Result, bail};
use hirc_core::support::{MAX_SERVICES, SupportService};

use crate::cli::ServicesArgs;
use crate::{Ctx, output};

/// The most a services file may be: ten services fit in far less.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Shows the list, or confirms it (as it is, or from a file).
pub fn run(ctx: &mut Ctx, args: ServicesArgs) -> Result<()> {
    if args.from.is_some() || args.confirm {
        let (mut desk, session) = ctx.unlock()?;
        let services = match &args.from {
            Some(path) => read(path)?,
            None => desk.support_services()?.services,
        };
        let list = desk.set_support_services(&session, services)?;
        eprintln!(
            "{} support service(s) confirmed. Every slip now lists them.",
            list.services.len()
        );
        return Ok(());
    }
    let desk = ctx.open()?;
    let list = desk.support_services()?;
    if args.json.json {
        return output::json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .services
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.phone.clone(),
                s.website.clone(),
                s.languages.clone(),
            ]
        })
        .collect();
    output::table(&["NAME", "PHONE", "WEBSITE", "LANGUAGES"], &rows);
    match (&list.confirmed_by, list.confirmed_at) {
        (Some(who), Some(at)) => eprintln!("Confirmed by {who} on {}.", output::when(&at)),
        _ => eprintln!(
            "These are the national defaults, not yet confirmed at this centre: check them, then `hirc services --confirm` (or `--from FILE` with the centre's own)."
        ),
    }
    Ok(())
}

/// A JSON list of services: `[{"name", "phone", "website", "languages"}]`.
fn read(path: &std::path::Path) -> Result<Vec<SupportService>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("could not open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("could not read {}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        bail!(
            "{} is larger than {} KiB; a list of at most {MAX_SERVICES} services is far smaller",
            path.display(),
            MAX_FILE_BYTES / 1024
        );
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(hirc_core::Error::InvalidInput(format!(
            "{} is not a list of services (line {}, column {}): write [{{\"name\": \"…\", \"phone\": \"…\", \"website\": \"…\", \"languages\": \"…\"}}]",
            path.display(),
            e.line(),
            e.column()
        )))
    })
}

//! `hirc-hub serve --config FILE`: the same settings as the flags, in TOML,
//! for a service unit or a container. A value given as a flag or in the
//! environment wins; then the file; then the built-in default.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;

use crate::{Cli, Command};

/// The file's shape: each key is the flag's name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    data_dir: Option<PathBuf>,
    database: Option<String>,
    receipt_key: Option<PathBuf>,
    listen: Option<SocketAddr>,
    recipients: Option<Vec<String>>,
    hub_name: Option<String>,
    max_body_bytes: Option<usize>,
    rate_per_minute: Option<u32>,
    request_timeout: Option<u64>,
    header_timeout: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    auth_failures_per_minute: Option<u32>,
    trust_forwarded_for: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

/// Fills in `serve`'s settings from its config file, if it has one.
pub(crate) fn apply(mut cli: Cli, matches: &ArgMatches) -> Result<Cli> {
    let Command::Serve {
        config: Some(path),
        dir,
        listen,
        recipients,
        hub_name,
        max_body_bytes,
        rate_per_minute,
        request_timeout_secs,
        header_timeout_secs,
        max_connections,
        max_connections_per_address,
        auth_failures_per_minute,
        trust_forwarded_for,
        tls_cert,
        tls_key,
    } = &mut cli.command
    else {
        return Ok(cli);
    };
    let Some(sub) = matches.subcommand_matches("serve") else {
        return Ok(cli);
    };
    let text = std::fs::read_to_string(&*path)
        .with_context(|| format!("could not read the config file {}", path.display()))?;
    let file: ConfigFile = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("the config file {} is not valid: {e}", path.display()))?;
    // Only a value nobody gave on the command line or in the environment.
    let open = |id: &str| matches!(sub.value_source(id), None | Some(ValueSource::DefaultValue));
    macro_rules! fill {
        ($id:literal, $field:expr, $value:expr) => {
            if open($id) {
                if let Some(v) = $value {
                    $field = v;
                }
            }
        };
    }
    fill!("data_dir", dir.data_dir, file.data_dir.map(Some));
    fill!("database", dir.database, file.database.map(Some));
    fill!("receipt_key", dir.receipt_key, file.receipt_key.map(Some));
    fill!("listen", *listen, file.listen);
    fill!("recipients", *recipients, file.recipients);
    fill!("hub_name", *hub_name, file.hub_name);
    fill!("max_body_bytes", *max_body_bytes, file.max_body_bytes);
    fill!("rate_per_minute", *rate_per_minute, file.rate_per_minute);
    fill!(
        "request_timeout_secs",
        *request_timeout_secs,
        file.request_timeout
    );
    fill!(
        "header_timeout_secs",
        *header_timeout_secs,
        file.header_timeout
    );
    fill!("max_connections", *max_connections, file.max_connections);
    fill!(
        "max_connections_per_address",
        *max_connections_per_address,
        file.max_connections_per_address
    );
    fill!(
        "auth_failures_per_minute",
        *auth_failures_per_minute,
        file.auth_failures_per_minute
    );
    fill!(
        "trust_forwarded_for",
        *trust_forwarded_for,
        file.trust_forwarded_for
    );
    fill!("tls_cert", *tls_cert, file.tls_cert.map(Some));
    fill!("tls_key", *tls_key, file.tls_key.map(Some));
    Ok(cli)
}

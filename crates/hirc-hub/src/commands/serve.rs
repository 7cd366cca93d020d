//! `serve`: the settings, from flags and the environment over the config
//! file over the defaults, and the hub run with them until stopped.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hirc_hub::server::{self, AppState, HubConfig};
use hirc_hub::store::HubStore;
use hirc_proto::sign::key_fingerprint;

use crate::cli::{DataDir, ServeArgs};

/// What the hub runs with: every setting decided, defaults included.
#[derive(Debug)]
pub struct ServeSettings {
    /// Where the hub keeps its data.
    pub dir: DataDir,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The TLS certificate chain and key, or `None` for plain HTTP (on
    /// loopback only).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
    /// Connections open at once, before the open-file limit has its say.
    pub max_connections: usize,
    /// Connections one client address may hold at once (0: no limit).
    pub max_connections_per_address: usize,
    /// What the server itself needs.
    pub hub: HubConfig,
}

impl ServeArgs {
    /// Each setting from `self` (flags and environment) if given there,
    /// else from `file` (the config file).
    pub fn or(self, file: ServeArgs) -> ServeArgs {
        // No `..`: a setting added later must be merged here too.
        ServeArgs {
            dir: DataDir {
                data_dir: self.dir.data_dir.or(file.dir.data_dir),
                database: self.dir.database.or(file.dir.database),
                receipt_key: self.dir.receipt_key.or(file.dir.receipt_key),
                new_receipt_key: self.dir.new_receipt_key || file.dir.new_receipt_key,
            },
            listen: self.listen.or(file.listen),
            recipients: self.recipients.or(file.recipients),
            hub_name: self.hub_name.or(file.hub_name),
            max_body_bytes: self.max_body_bytes.or(file.max_body_bytes),
            max_evidence_mib: self.max_evidence_mib.or(file.max_evidence_mib),
            evidence_mib_per_day: self.evidence_mib_per_day.or(file.evidence_mib_per_day),
            rate_per_minute: self.rate_per_minute.or(file.rate_per_minute),
            request_timeout: self.request_timeout.or(file.request_timeout),
            header_timeout: self.header_timeout.or(file.header_timeout),
            max_connections: self.max_connections.or(file.max_connections),
            max_connections_per_address: self
                .max_connections_per_address
                .or(file.max_connections_per_address),
            auth_failures_per_minute: self
                .auth_failures_per_minute
                .or(file.auth_failures_per_minute),
            trust_forwarded_for: self.trust_forwarded_for.or(file.trust_forwarded_for),
            metrics_token: self.metrics_token.or(file.metrics_token),
            unnamed_evidence_days: self.unnamed_evidence_days.or(file.unnamed_evidence_days),
            tls_cert: self.tls_cert.or(file.tls_cert),
            tls_key: self.tls_key.or(file.tls_key),
        }
    }

    /// The settings with the defaults (the ones `serve --help` shows) for
    /// what nobody gave, checked.
    pub fn resolve(self) -> Result<ServeSettings> {
        let recipients = self.recipients.unwrap_or_default();
        if recipients.is_empty() {
            bail!(
                "give at least one partnership recipient: --recipient age1… (or `recipients` in the config file)"
            );
        }
        for r in &recipients {
            r.parse::<age::x25519::Recipient>()
                .map_err(|_| anyhow::anyhow!("{r} is not an age recipient (age1…)"))?;
        }
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => bail!("TLS needs both a certificate and its key (--tls-cert and --tls-key)"),
        };
        let metrics_token = self.metrics_token.map(|t| t.trim().to_string());
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.chars().count() < 16)
        {
            bail!(
                "the metrics token must be 16 characters or more (anyone who guesses it reads the hub's counts)"
            );
        }
        let listen = self
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8740)));
        if tls.is_none() && !listen.ip().is_loopback() {
            bail!(
                "plain HTTP is served on loopback only: give --tls-cert and --tls-key to serve HTTPS on {listen}, or listen on 127.0.0.1 behind a TLS-terminating proxy"
            );
        }
        Ok(ServeSettings {
            dir: self.dir,
            listen,
            tls,
            header_timeout: Duration::from_secs(self.header_timeout.unwrap_or(10).max(1)),
            max_connections: self.max_connections.unwrap_or(512),
            max_connections_per_address: self.max_connections_per_address.unwrap_or(64),
            hub: HubConfig {
                hub_name: self.hub_name.unwrap_or_else(|| "HIRC hub".into()),
                recipients,
                max_body_bytes: self.max_body_bytes.unwrap_or(1024 * 1024),
                max_evidence_bytes: mib(self.max_evidence_mib.unwrap_or(2100)),
                evidence_bytes_per_day: mib(self.evidence_mib_per_day.unwrap_or(4096)),
                rate_per_minute: self.rate_per_minute.unwrap_or(600),
                request_timeout: Duration::from_secs(self.request_timeout.unwrap_or(30)),
                auth_failures_per_minute: self.auth_failures_per_minute.unwrap_or(30).max(1),
                trust_forwarded_for: self.trust_forwarded_for.unwrap_or(false),
                metrics_token,
                unnamed_evidence_idle: match self.unnamed_evidence_days.unwrap_or(30) {
                    0 => None,
                    days => Some(chrono::Duration::days(days.into())),
                },
            },
        })
    }
}

/// MiB in bytes (at least one MiB; a huge figure is as good as no limit).
fn mib(n: u64) -> u64 {
    n.max(1).saturating_mul(1024 * 1024)
}

/// The config file's settings.
fn read_config(path: &Path) -> Result<ServeArgs> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the config file {}", path.display()))?;
    let invalid = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("the config file {} is not valid: {e}", path.display())
    };
    let mut settings: toml::Table = toml::from_str(&text).map_err(|e| invalid(&e))?;
    // Each struct refuses keys it does not know, so the data settings are
    // taken out and read on their own: a misspelt key is never ignored.
    let data: toml::Table = DataDir::CONFIG_KEYS
        .iter()
        .filter_map(|key| Some((key.to_string(), settings.remove(*key)?)))
        .collect();
    let mut args: ServeArgs = settings.try_into().map_err(|e| invalid(&e))?;
    args.dir = data.try_into().map_err(|e| invalid(&e))?;
    Ok(args)
}

/// `hirc-hub serve`: `args` holds what the flags and the environment gave.
pub async fn run(config: Option<&Path>, args: ServeArgs) -> Result<()> {
    let args = match config {
        Some(path) => args.or(read_config(path)?),
        None => args,
    };
    let settings = args.resolve()?;
    let tls = settings
        .tls
        .as_ref()
        .map(|(cert, key)| server::tls_config(cert, key))
        .transpose()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listen_options = server::Listen {
        tls,
        header_timeout: settings.header_timeout,
        max_connections: connection_limit(settings.max_connections),
        max_per_address: settings.max_connections_per_address,
    };
    let store: Arc<dyn HubStore> = Arc::from(super::open(&settings.dir).await?);
    let signer = super::receipt_key(&settings.dir, store.as_ref()).await?;
    let receipt_fingerprint = key_fingerprint(&signer.public());
    let recipients_fingerprint = hirc_proto::recipients_fingerprint(&settings.hub.recipients);
    let listen = settings.listen;
    let state = AppState::new(store, settings.hub, signer);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("could not listen on {listen}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, fingerprint = %recipients_fingerprint, receipt_key = %receipt_fingerprint, "hub ready");
    println!("hirc-hub listening on {scheme}://{bound}");
    std::io::stdout().flush()?;
    server::serve_with(listener, state, listen_options, shutdown_signal()).await?;
    tracing::info!("hub stopped");
    Ok(())
}

/// The connection limit, kept well below the process's open-file limit
/// (each connection is one file descriptor; the store needs some too).
fn connection_limit(wanted: usize) -> usize {
    let Some(files) = open_file_limit() else {
        return wanted.max(1);
    };
    let room = files.saturating_sub(64).max(16);
    if wanted > room {
        tracing::warn!(
            wanted,
            allowed = room,
            "--max-connections is above what the open-file limit allows; using the lower number (raise LimitNOFILE / ulimit -n for more)"
        );
    }
    wanted.min(room).max(1)
}

/// The soft limit on open files, where the system says (Linux).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    // Windows has no SIGTERM; Ctrl-C (or the service manager's stop) is enough.
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn recipient() -> String {
        age::x25519::Identity::generate().to_public().to_string()
    }

    #[test]
    fn flags_and_environment_win_over_the_file_which_wins_over_the_defaults() {
        let given = ServeArgs {
            hub_name: Some("From the flag".into()),
            trust_forwarded_for: Some(false),
            ..ServeArgs::default()
        };
        let file: ServeArgs = toml::from_str(&format!(
            "hub-name = \"From the file\"\nrate-per-minute = 5\ntrust-forwarded-for = true\nrecipients = [{:?}]\n",
            recipient()
        ))
        .expect("a valid file");
        let settings = given.or(file).resolve().expect("settings");
        assert_eq!(settings.hub.hub_name, "From the flag");
        assert_eq!(settings.hub.rate_per_minute, 5);
        assert!(!settings.hub.trust_forwarded_for);
        assert_eq!(settings.hub.max_body_bytes, 1024 * 1024);
    }

    #[test]
    fn the_file_takes_only_the_settings_and_says_which_key_is_wrong() {
        let files = [
            "lisen = \"127.0.0.1:0\"\n",
            "new-receipt-key = true\n",
            "config = \"x\"\n",
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hub.toml");
        for text in files {
            std::fs::write(&path, text).expect("write");
            let err = read_config(&path).expect_err(text).to_string();
            assert!(
                err.contains("unknown field") && err.contains("is not valid"),
                "{err}"
            );
        }
        // The data settings are settings of the file too.
        std::fs::write(&path, "data-dir = \"/srv/hub\"\nhub-name = \"Essex\"\n").expect("write");
        let args = read_config(&path).expect("valid");
        assert_eq!(args.dir.data_dir, Some(PathBuf::from("/srv/hub")));
        assert_eq!(args.hub_name.as_deref(), Some("Essex"));
        std::fs::write(&path, "data-dir = \"/srv/hub\"\ndata-dri = 1\n").expect("write");
        assert!(
            read_config(&path).is_err(),
            "a misspelt key next to a data setting"
        );
    }

    /// The help states the defaults in words; they must be the ones used.
    #[test]
    fn the_defaults_in_the_help_are_the_defaults() {
        let settings = ServeArgs {
            recipients: Some(vec![recipient()]),
            ..ServeArgs::default()
        }
        .resolve()
        .expect("settings");
        let command = crate::cli::Cli::command();
        let serve = command.find_subcommand("serve").expect("serve");
        let shown = [
            ("listen", settings.listen.to_string()),
            ("hub_name", format!("{:?}", settings.hub.hub_name)),
            ("max_body_bytes", settings.hub.max_body_bytes.to_string()),
            ("rate_per_minute", settings.hub.rate_per_minute.to_string()),
            (
                "request_timeout",
                settings.hub.request_timeout.as_secs().to_string(),
            ),
            (
                "header_timeout",
                settings.header_timeout.as_secs().to_string(),
            ),
            ("max_connections", settings.max_connections.to_string()),
            (
                "max_connections_per_address",
                settings.max_connections_per_address.to_string(),
            ),
            (
                "auth_failures_per_minute",
                settings.hub.auth_failures_per_minute.to_string(),
            ),
            (
                "max_evidence_mib",
                (settings.hub.max_evidence_bytes / (1024 * 1024)).to_string(),
            ),
            (
                "evidence_mib_per_day",
                (settings.hub.evidence_bytes_per_day / (1024 * 1024)).to_string(),
            ),
        ];
        for (id, value) in shown {
            let help = serve
                .get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_help())
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                help.ends_with(&format!("[default: {value}]")),
                "{id}: {help}"
            );
        }
        assert!(!settings.hub.trust_forwarded_for);
    }
}

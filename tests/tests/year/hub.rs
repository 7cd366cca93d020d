//! The real hub the year runs against, served in process on a fixed
//! loopback port.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hirc_hub::server::{AppState, HubConfig, Listen};
use hirc_hub::sqlite_store::SqliteStore;
use hirc_hub::store::HubStore;
use hirc_proto::sign::SigningKey;
use uuid::Uuid;

/// A real hub on a fixed loopback port, stopped and started as a service
/// manager would.
pub(crate) struct Hub {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) port: u16,
    pub(crate) recipients: Vec<String>,
    pub(crate) receipt_secret: String,
    pub(crate) stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub(crate) task: Option<tokio::task::JoinHandle<()>>,
}

impl Hub {
    pub(crate) fn store(&self) -> SqliteStore {
        SqliteStore::open(self.dir.path()).expect("hub store")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn up(&self) -> bool {
        self.task.is_some()
    }

    pub(crate) fn start(&mut self, rt: &tokio::runtime::Runtime) {
        if self.up() {
            return;
        }
        let store: Arc<dyn HubStore> = Arc::new(self.store());
        let config = HubConfig {
            hub_name: "Essex hub".into(),
            recipients: self.recipients.clone(),
            rate_per_minute: u32::MAX,
            ..HubConfig::default()
        };
        let key = SigningKey::from_secret_base64(&self.receipt_secret).expect("key");
        let state = AppState::new(store, config, key);
        let port = self.port;
        let listener = rt.block_on(async {
            // The port may linger a moment after a stop.
            for _ in 0..200 {
                if let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                    return l;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("port {port} never came free");
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.stop = Some(tx);
        self.task = Some(rt.spawn(async move {
            let _ = hirc_hub::server::serve_with(listener, state, Listen::default(), async {
                let _ = rx.await;
            })
            .await;
        }));
    }

    pub(crate) fn stop(&mut self, rt: &tokio::runtime::Runtime) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = rt.block_on(task);
        }
    }

    /// Report id -> (device, digest) of every revision the hub holds,
    /// failing if it holds one twice.
    pub(crate) fn held(&self) -> BTreeMap<Uuid, (Uuid, String)> {
        let conn = rusqlite::Connection::open_with_flags(
            self.dir.path().join("hub.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("hub store");
        conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
        let mut stmt = conn
            .prepare("SELECT report_id, device_id, digest FROM reports")
            .expect("query");
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .expect("rows");
        let mut out = BTreeMap::new();
        for row in rows {
            let (report, device, digest) = row.expect("row");
            let report: Uuid = report.parse().expect("id");
            let previous = out.insert(report, (device.parse().expect("device"), digest));
            assert!(previous.is_none(), "the hub holds report {report} twice");
        }
        out
    }
}

//! The app's one managed state: where the desk lives, the open store, its
//! sync worker, and, between unlock and lock, the session.
//!
//! The sync worker starts with the app and runs until it quits, locked or
//! not: uploading needs no session (payloads are made at sealing, the token
//! is in the credential file). Locking drops only the session's keys.
//!
//! The store is shared with the sync worker behind a mutex (a SQLite
//! connection serves one thread at a time); every engine call runs on
//! tokio's blocking pool so scrypt and fsync never stall the window.

use std::path::PathBuf;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use hirc_core::evidence::Evidence;
use hirc_core::vault::KdfCost;
use hirc_core::{Desk, Session};
use hirc_sync::{SharedDesk, SyncStatus, Worker};
use tauri::{AppHandle, Runtime};

use crate::error::{CommandError, CommandResult};
use crate::events;
use crate::idle::IdleWatch;
use crate::incoming::Incoming;

/// How often the worker looks for new work, besides "Sync now" and the
/// nudge after every submit.
const SYNC_POLL: Duration = Duration::from_secs(30);

/// Everything the commands share.
pub struct AppState {
    /// The desk's data directory (`HIRC_DATA_DIR`, or the platform's).
    pub data_dir: PathBuf,
    /// The scrypt cost for new passphrases.
    pub kdf: KdfCost,
    /// Whether this is a development desk (the UI shows a banner).
    pub dev_mode: bool,
    /// When the desk was last used: the auto-lock.
    pub idle: IdleWatch,
    /// Files the window is handing over, a piece at a time.
    pub incoming: Incoming<Evidence>,
    inner: tokio::sync::Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    desk: Option<SharedDesk>,
    session: Option<Arc<Session>>,
    sync: Option<Sync>,
}

/// The sync worker and the task that forwards its status to the window.
struct Sync {
    worker: Worker,
    forward: tauri::async_runtime::JoinHandle<()>,
}

impl AppState {
    /// State for the desk at `data_dir` (opened when first needed).
    pub fn new(data_dir: PathBuf, kdf: KdfCost, dev_mode: bool) -> Self {
        Self {
            data_dir,
            kdf,
            dev_mode,
            idle: IdleWatch::new(crate::idle::minute(), crate::idle::Moment::now()),
            incoming: Incoming::default(),
            inner: tokio::sync::Mutex::new(Inner::default()),
        }
    }

    /// The open store, opening it on first use. `Ok(None)`: not set up yet.
    pub async fn desk(&self) -> CommandResult<Option<SharedDesk>> {
        let mut inner = self.inner.lock().await;
        if let Some(desk) = &inner.desk {
            return Ok(Some(desk.clone()));
        }
        let dir = self.data_dir.clone();
        let opened = blocking(move || match Desk::open(&dir) {
            Ok(desk) => Ok(Some(desk)),
            Err(hirc_core::Error::NotInitialised { .. }) => Ok(None),
            Err(e) => Err(e),
        })
        .await?;
        let shared = opened.map(|d| Arc::new(std::sync::Mutex::new(d)));
        inner.desk.clone_from(&shared);
        Ok(shared)
    }

    /// The open store, or `not_set_up`.
    pub async fn existing_desk(&self) -> CommandResult<SharedDesk> {
        self.desk()
            .await?
            .ok_or_else(|| CommandError::new("not_set_up", "this desk has not been set up yet"))
    }

    /// Keeps a newly created store.
    pub async fn adopt(&self, desk: Desk) -> SharedDesk {
        let shared = Arc::new(std::sync::Mutex::new(desk));
        self.inner.lock().await.desk = Some(shared.clone());
        shared
    }

    /// The current session, or `locked`.
    pub async fn session(&self) -> CommandResult<(SharedDesk, Arc<Session>)> {
        let inner = self.inner.lock().await;
        match (&inner.desk, &inner.session) {
            (Some(desk), Some(session)) => Ok((desk.clone(), session.clone())),
            _ => Err(CommandError::locked()),
        }
    }

    /// Runs `f` with the store and the session on the blocking pool.
    pub async fn with_session<T, F>(&self, f: F) -> CommandResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Desk, &Session) -> hirc_core::Result<T> + Send + 'static,
    {
        let (desk, session) = self.session().await?;
        with_desk(desk, move |desk| f(desk, &session)).await
    }

    /// Starts the sync worker for the open desk (once), forwarding its
    /// status to the window as events. It runs until the app quits.
    pub async fn start_sync<R: Runtime>(&self, app: &AppHandle<R>) {
        let mut inner = self.inner.lock().await;
        if inner.sync.is_some() {
            return;
        }
        let Some(desk) = inner.desk.clone() else {
            return;
        };
        let worker = Worker::start(desk, SYNC_POLL);
        let mut status = worker.status();
        let app = app.clone();
        let forward = tauri::async_runtime::spawn(async move {
            loop {
                let current: SyncStatus = status.borrow_and_update().clone();
                events::sync_status(&app, &current);
                if status.changed().await.is_err() {
                    break;
                }
            }
        });
        inner.sync = Some(Sync { worker, forward });
    }

    /// Starts a session (the worker keeps running as it was), with the
    /// idle clock at zero and the desk's auto-lock times.
    pub async fn begin<R: Runtime>(&self, app: &AppHandle<R>, session: Session) {
        self.idle.restart(crate::idle::Moment::now());
        self.inner.lock().await.session = Some(Arc::new(session));
        self.read_idle_limits().await;
        self.start_sync(app).await;
    }

    /// Reads the desk's auto-lock times into the idle clock (at unlock,
    /// and after a coordinator changes them).
    pub async fn read_idle_limits(&self) {
        let Ok(Some(desk)) = self.desk().await else {
            return;
        };
        let limits = with_desk(desk, |desk| {
            Ok((desk.auto_lock_minutes()?, desk.interview_lock_minutes()?))
        })
        .await;
        match limits {
            Ok((anywhere, interview)) => self.idle.set_limits(anywhere, interview),
            // The defaults stay: the desk still locks.
            Err(e) => tracing::warn!("the auto-lock times could not be read: {}", e.message),
        }
    }

    /// Whether someone is signed in.
    pub async fn unlocked(&self) -> bool {
        self.inner.lock().await.session.is_some()
    }

    /// Ends the session if the desk has rested past its limit; says so.
    pub async fn lock_if_idle(&self) -> bool {
        if !self.unlocked().await {
            return false;
        }
        let Some(rested) = self.idle.overdue(crate::idle::Moment::now()) else {
            return false;
        };
        self.end().await;
        tracing::info!(
            "the desk locked itself after {} s without use",
            rested.as_secs()
        );
        true
    }

    /// Ends the session: its keys are dropped (zeroized) once no command
    /// still holds them. A file still arriving from the window is given up
    /// (nothing of it kept); uploads go on.
    pub async fn end(&self) {
        drop(self.inner.lock().await.session.take());
        self.incoming.abandon_all().await;
    }

    /// Stops the worker (the app is quitting), letting an upload in flight
    /// finish for up to five seconds.
    pub async fn stop_sync(&self) {
        let sync = self.inner.lock().await.sync.take();
        if let Some(sync) = sync {
            sync.forward.abort();
            sync.worker.stop(Duration::from_secs(5)).await;
        }
    }

    /// Wakes the worker now (after a submit, or "Sync now").
    pub async fn sync_now(&self) -> CommandResult<()> {
        let inner = self.inner.lock().await;
        if let Some(sync) = &inner.sync {
            sync.worker.sync_now();
        }
        Ok(())
    }

    /// The worker's latest status (none before the desk is set up).
    pub async fn sync_status(&self) -> CommandResult<Option<SyncStatus>> {
        let inner = self.inner.lock().await;
        Ok(inner
            .sync
            .as_ref()
            .map(|sync| sync.worker.status().borrow().clone()))
    }
}

/// Runs engine work on the blocking pool.
pub async fn blocking<T, F>(f: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> hirc_core::Result<T> + Send + 'static,
{
    on_blocking_pool(move || f().map_err(CommandError::from)).await
}

/// Runs engine work with the store, locked, on the blocking pool.
pub async fn with_desk<T, F>(desk: SharedDesk, f: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Desk) -> hirc_core::Result<T> + Send + 'static,
{
    on_blocking_pool(move || {
        let mut guard = lock_desk(&desk)?;
        f(&mut guard).map_err(CommandError::from)
    })
    .await
}

/// The store, locked for one engine call (which blocks: call it on the
/// blocking pool). A poisoned lock means an earlier call panicked while it
/// held the store: its transaction was rolled back, so nothing saved is
/// harmed, but the open store may be half-way through a change in memory
/// and the lock stays poisoned; only starting the app again clears both.
pub fn lock_desk(desk: &SharedDesk) -> CommandResult<MutexGuard<'_, Desk>> {
    desk.lock().map_err(|_| {
        tracing::error!("the store's lock is poisoned: an earlier command stopped part-way");
        CommandError::interrupted()
    })
}

/// Runs `f` on the blocking pool; a thread that died is an internal error.
async fn on_blocking_pool<T, F>(f: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> CommandResult<T> + Send + 'static,
{
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| CommandError::internal(format!("a worker thread failed: {e}")))?
}

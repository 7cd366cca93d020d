//! The desk's sync worker: uploads sealed reports to the partnership's hub
//! whenever a connection exists, exactly once, with a receipt.
//!
//! - [`client`]: protocol v1 over HTTP, every answer mapped to a receipt or
//!   an error that says whether to retry.
//! - [`worker`]: one pass over the outbox, and the background worker with
//!   backoff and a published status.

#![forbid(unsafe_code)]

pub mod client;
pub mod worker;

pub use client::{HubClient, UploadError};
pub use worker::{PassOptions, PassReport, SharedDesk, SyncError, SyncStatus, Worker, run_pass};

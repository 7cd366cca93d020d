//! The commands the window calls, one module per concern; each is a few
//! lines over the engine or the sync worker. Names must also be listed in
//! `list.rs` (a permission each) to be callable.

/// Setting up, unlocking, locking; the value lists.
pub mod desk;
/// Evidence on a draft: photos, screenshots, documents.
pub mod evidence;
/// After submitting: finding a report by reference, the person's slip,
/// the support services.
pub mod follow_up;
/// Every command's name (one permission each).
pub mod list;
/// Reports and drafts.
pub mod reports;
/// Desk settings.
pub mod settings;
/// Summaries and their exports.
pub mod summary;
/// The hub and the sync worker.
pub mod sync;
/// Users.
pub mod users;

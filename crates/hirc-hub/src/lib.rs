//! The HIRC partnership hub: receives end-to-end encrypted reports from
//! enrolled desks and keeps them as ciphertext it cannot read.
//!
//! - [`server`]: the HTTP API (protocol v1).
//! - [`store`]: devices, enrolment codes and report ciphertexts, behind one trait;
//!   embedded SQLite by default ([`sqlite_store`]), [`pg_store`] for
//!   PostgreSQL.
//! - [`secrets`]: tokens and enrolment codes, stored hashed.
//! - [`export`]: the partnership's offline decryption of what arrived.
//! - [`import`]: reports carried by hand from desks that are never online.

#![forbid(unsafe_code)]

pub mod attachments;
pub mod export;
pub mod import;
pub mod pg_store;
mod plaintext;
pub mod secrets;
pub mod server;
pub mod sqlite_store;
pub mod store;
pub mod word_back;

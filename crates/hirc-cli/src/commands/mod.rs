//! One module per group of commands; each function is a few lines over the
//! engine.

pub mod desk;
pub mod reports;
pub mod services;
pub mod sync;
pub mod users;

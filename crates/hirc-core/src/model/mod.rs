//! Report v1: the content types, the closed value lists, validation, and the
//! facts kept for listings and summaries. Plain data only: no storage, no keys.

mod facts;
mod problems;
mod report;
mod validate;
mod vocab;

pub use facts::ReportFacts;
pub use problems::{FieldError, ValidationErrors};
pub use report::{
    APP_SET_FIELDS, Consent, MAX_REPORT_JSON_BYTES, Person, REPORT_SCHEMA_VERSION, Report,
    ReportMeta, TimeOfDay,
};
pub use validate::{
    MAX_DESCRIPTION_CHARS, MAX_TEXT_CHARS, check_complete, check_draft, check_related_reference,
    tidy_related_reference,
};
pub use vocab::*;

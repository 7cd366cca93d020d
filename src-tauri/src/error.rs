//! The one error type at the IPC edge. It reaches the UI as
//! `{kind, message, fields?}`: `kind` is a stable word the UI branches on
//! and translates; `message` is the engine's English text, shown as detail;
//! `fields` carries per-field validation problems for the error summary.

use serde::Serialize;

/// What went wrong, for the UI.
#[derive(Debug, Clone, Serialize, thiserror::Error, specta::Type)]
#[error("{message}")]
pub struct CommandError {
    /// A stable word: `wrong_passphrase`, `locked`, `not_permitted`,
    /// `invalid`, `invalid_input`, `conflict`, `which_coordinator`,
    /// `not_found`, `not_set_up`, `already_set_up`, `hub_unreachable`,
    /// `hub_refused`, `hub_config`, `disk_full`, `damaged`, `store`,
    /// `export` (a file could not be written where it was asked for),
    /// `unsuitable_folder`, `interrupted`, `internal`.
    pub kind: &'static str,
    /// A sentence a person can act on (English).
    pub message: String,
    /// For `invalid`: each field's JSON path and its problem.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldProblem>,
}

/// One field's problem: the engine's own, passed through as it is.
pub use hirc_core::model::FieldError as FieldProblem;

/// The commands' result type.
pub type CommandResult<T> = Result<T, CommandError>;

impl CommandError {
    /// An error of `kind` with a message.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// The app is locked (or was locked while the command waited).
    pub fn locked() -> Self {
        Self::new("locked", "the desk is locked; unlock it to go on")
    }

    /// A shell failure (a worker thread died, a dialog failed).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("internal", message)
    }

    /// An earlier command stopped part-way while it held the store (its
    /// lock is poisoned). Whatever it was doing was rolled back, so what
    /// was saved is intact; only starting the app again frees the store.
    pub fn interrupted() -> Self {
        Self::new(
            "interrupted",
            "the desk stopped part-way through an earlier action; close HIRC Desk and open it again (everything saved before is safe)",
        )
    }
}

impl From<hirc_core::Error> for CommandError {
    fn from(e: hirc_core::Error) -> Self {
        use hirc_core::Error as E;
        let kind = match &e {
            E::WrongPassphrase { .. } | E::WrongRecoveryCode => "wrong_passphrase",
            E::UnknownUser { .. } => "unknown_user",
            E::UserExists { .. } => "user_exists",
            E::NotPermitted { .. } => "not_permitted",
            E::LastCoordinator { .. } => "last_coordinator",
            E::WeakPassphrase(_) => "weak_passphrase",
            E::InvalidInput(_) | E::BadReportJson(_) | E::EvidenceRefused { .. } => "invalid_input",
            E::Conflict { .. } => "conflict",
            E::WhichCoordinator => "which_coordinator",
            E::UnknownReport(_) | E::AmbiguousReport(_) => "not_found",
            E::Erased { .. } => "erased",
            E::NotAReference => "not_a_reference",
            E::MistypedReference => "mistyped_reference",
            E::WrongState { .. } => "wrong_state",
            E::Invalid(_) => "invalid",
            E::NotInitialised { .. } => "not_set_up",
            E::AlreadyInitialised { .. } => "already_set_up",
            E::RecipientsChanged => "recipients_changed",
            E::Export(_) => "export",
            E::UnsuitableFolder { .. } => "unsuitable_folder",
            E::DiskFull { .. } => "disk_full",
            E::Corrupt { .. } => "damaged",
            _ => "store",
        };
        let fields = match &e {
            E::Invalid(errors) => errors.0.clone(),
            // The rule, for the window to word in the person's language.
            E::EvidenceRefused { rule, message } => vec![hirc_core::model::FieldError {
                field: "evidence".into(),
                rule,
                message: message.clone(),
            }],
            E::UnsuitableFolder { rule, message } => vec![hirc_core::model::FieldError {
                field: "folder".into(),
                rule,
                message: message.clone(),
            }],
            _ => Vec::new(),
        };
        Self {
            kind,
            message: e.to_string(),
            fields,
        }
    }
}

impl From<hirc_sync::client::UploadError> for CommandError {
    fn from(e: hirc_sync::client::UploadError) -> Self {
        use hirc_sync::client::UploadError as U;
        let kind = match &e {
            U::Unreachable(_) | U::CertificateRefused | U::Busy { .. } => "hub_unreachable",
            U::Refused { .. } | U::BadAnswer(_) | U::AlreadyHeld(_) => "hub_refused",
            U::Config(_) => "hub_config",
            U::Local(_) => "internal",
        };
        Self::new(kind, e.to_string())
    }
}

impl From<tauri::Error> for CommandError {
    fn from(e: tauri::Error) -> Self {
        Self::internal(e.to_string())
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        Self::new("io", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_keep_a_kind_the_ui_can_translate() {
        let e: CommandError = hirc_core::Error::WrongPassphrase { user: "Sam".into() }.into();
        assert_eq!(e.kind, "wrong_passphrase");
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(json["kind"], "wrong_passphrase");
        assert!(json.get("fields").is_none());
        assert!(json["message"].as_str().is_some_and(|m| m.contains("Sam")));
    }

    #[test]
    fn a_concurrent_save_and_a_bad_hub_address_have_kinds_of_their_own() {
        let e: CommandError = hirc_core::Error::Conflict { id: "r1".into() }.into();
        assert_eq!(e.kind, "conflict");
        assert!(e.message.contains("changed elsewhere"), "{}", e.message);
        let e: CommandError =
            hirc_sync::client::UploadError::Config("ftp://hub is not a URL".into()).into();
        assert_eq!(e.kind, "hub_config");
    }

    /// A kind without words would reach a Polish or Urdu screen in English.
    #[test]
    fn the_shells_own_kinds_have_words_in_every_language() {
        for (lang, text) in [
            ("en", include_str!("../../ui/src/i18n/en.json")),
            ("pl", include_str!("../../ui/src/i18n/pl.json")),
            ("ur", include_str!("../../ui/src/i18n/ur.json")),
        ] {
            let strings: serde_json::Value = serde_json::from_str(text).expect("json");
            for kind in ["conflict", "hub_config", "interrupted", "locked"] {
                let key = format!("error.{kind}");
                assert!(
                    strings[&key].as_str().is_some_and(|s| !s.is_empty()),
                    "ui/src/i18n/{lang}.json has no {key}"
                );
            }
        }
        let interrupted = CommandError::interrupted();
        assert!(!interrupted.message.contains("tampered"));
    }
}

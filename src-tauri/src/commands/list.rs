// Every command the UI may call. build.rs makes a permission for each, and
// capabilities/default.json grants them to the main window; a command
// missing here cannot be called at all.
/// The names of the app's commands.
pub const ALL: &[&str] = &[
    "desk_state",
    "set_up_desk",
    "unlock",
    "lock",
    "vocabulary",
    "list_reports",
    "new_draft",
    "open_report",
    "save_draft",
    "check_report",
    "submit_report",
    "delete_draft",
    "remember_place",
    "set_aside_reports",
    "retry_set_aside",
    "discard_set_aside",
    "sync_status",
    "sync_now",
    "hub_info",
    "enrol",
    "list_users",
    "add_user",
    "remove_user",
    "reset_passphrase",
    "settings",
    "set_settings",
    "summary",
    "export_summary",
];

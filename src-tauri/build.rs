//! Tauri's build step, with the app's own commands listed so that each
//! needs a permission: the capability file then says exactly which ones the
//! window may call.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(hirc_desk_commands::ALL)),
    )
    .unwrap_or_else(|e| panic!("tauri build step failed: {e:#}"));
}

/// The command list, shared with the app (src/commands/list.rs).
mod hirc_desk_commands {
    include!("src/commands/list.rs");
}

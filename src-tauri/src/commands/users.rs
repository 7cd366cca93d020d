//! Users (coordinators manage them; the engine enforces it).

use hirc_core::User;
use hirc_core::model::Role;
use hirc_core::vault::Passphrase;
use tauri::State;

use crate::error::CommandResult;
use crate::state::AppState;

/// Every user of the desk.
#[tauri::command]
#[specta::specta]
pub async fn list_users(state: State<'_, AppState>) -> CommandResult<Vec<User>> {
    state.with_session(|desk, _| desk.users()).await
}

/// Adds a user with a first passphrase they then change.
#[tauri::command]
#[specta::specta]
pub async fn add_user(
    state: State<'_, AppState>,
    name: String,
    role: Role,
    passphrase: String,
) -> CommandResult<User> {
    let kdf = state.kdf;
    state
        .with_session(move |desk, s| {
            desk.add_user(s, name.trim(), role, &Passphrase::new(passphrase), kdf)
        })
        .await
}

/// Removes a user (never the last coordinator).
#[tauri::command]
#[specta::specta]
pub async fn remove_user(state: State<'_, AppState>, name: String) -> CommandResult<()> {
    state
        .with_session(move |desk, s| desk.remove_user(s, &name))
        .await
}

/// Sets a new passphrase for a user (a coordinator resetting a forgotten
/// one, or anyone changing their own).
#[tauri::command]
#[specta::specta]
pub async fn reset_passphrase(
    state: State<'_, AppState>,
    name: String,
    passphrase: String,
) -> CommandResult<()> {
    let kdf = state.kdf;
    state
        .with_session(move |desk, s| {
            desk.set_passphrase(s, &name, &Passphrase::new(passphrase), kdf)
        })
        .await
}

/// Changes the signed-in user's own passphrase, once the current one is
/// typed again (an unlocked desk left for a moment must not let a passer-by
/// take someone's passphrase over).
#[tauri::command]
#[specta::specta]
pub async fn change_own_passphrase(
    state: State<'_, AppState>,
    current: String,
    next: String,
) -> CommandResult<()> {
    let kdf = state.kdf;
    state
        .with_session(move |desk, s| {
            let name = s.user().name.clone();
            // Checking the current passphrase is an unlock (audited, and
            // slowed after a wrong one); its session is dropped at once.
            drop(desk.unlock(&name, &Passphrase::new(current))?);
            desk.set_passphrase(s, &name, &Passphrase::new(next), kdf)
        })
        .await
}

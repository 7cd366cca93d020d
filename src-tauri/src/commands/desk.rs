//! Setting up, unlocking and locking the desk, and the value lists the form
//! offers.

use hirc_core::model;
use hirc_core::vault::Passphrase;
use hirc_core::{Desk, DeskSetup};
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use crate::error::{CommandError, CommandResult};
use crate::interface_language;
use crate::state::{AppState, blocking, with_desk};

/// What the window needs before anyone unlocks.
#[derive(Debug, Serialize, specta::Type)]
pub struct DeskState {
    /// Whether a desk exists here.
    pub set_up: bool,
    /// The centre, once set up.
    pub centre_name: Option<String>,
    /// Its code.
    pub centre_code: Option<String>,
    /// Who can unlock (names and roles only).
    pub users: Vec<UserEntry>,
    /// Who is unlocked now, if anyone.
    pub unlocked: Option<UserEntry>,
    /// Minutes of idleness before the app locks.
    pub auto_lock_minutes: u32,
    /// Minutes of idleness before the app locks while a report is open.
    pub interview_lock_minutes: u32,
    /// How long an auto-lock minute lasts, in milliseconds (60,000; shorter
    /// only for tests of a debug build).
    pub idle_minute_ms: u64,
    /// The interface language last chosen on this desk, if any.
    pub interface_language: Option<String>,
    /// A development desk (local test hub): the UI says so on every screen.
    pub dev_mode: bool,
}

/// A user as the unlock screen lists them.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct UserEntry {
    /// Their name.
    pub name: String,
    /// `coordinator` or `ambassador`.
    pub role: model::Role,
}

/// The desk's state.
#[tauri::command]
#[specta::specta]
pub async fn desk_state(state: State<'_, AppState>) -> CommandResult<DeskState> {
    let unlocked = state.session().await.ok().map(|(_, s)| entry(s.user()));
    let Some(desk) = state.desk().await? else {
        return Ok(DeskState {
            set_up: false,
            centre_name: None,
            centre_code: None,
            users: Vec::new(),
            unlocked: None,
            auto_lock_minutes: hirc_core::lock::DEFAULT_AUTO_LOCK_MINUTES,
            interview_lock_minutes: hirc_core::lock::DEFAULT_INTERVIEW_LOCK_MINUTES,
            idle_minute_ms: idle_minute_ms(&state),
            interface_language: interface_language::get(&state.data_dir),
            dev_mode: state.dev_mode,
        });
    };
    let dev_mode = state.dev_mode;
    let idle_minute_ms = idle_minute_ms(&state);
    let interface_language = interface_language::get(&state.data_dir);
    with_desk(desk, move |desk| {
        Ok(DeskState {
            set_up: true,
            centre_name: Some(desk.info().centre_name.clone()),
            centre_code: Some(desk.info().centre_code.clone()),
            users: desk.users()?.iter().map(entry).collect(),
            unlocked,
            auto_lock_minutes: desk.auto_lock_minutes()?,
            interview_lock_minutes: desk.interview_lock_minutes()?,
            idle_minute_ms,
            interface_language,
            dev_mode,
        })
    })
    .await
}

fn idle_minute_ms(state: &AppState) -> u64 {
    u64::try_from(state.idle.minute().as_millis()).unwrap_or(60_000)
}

fn entry(u: &hirc_core::User) -> UserEntry {
    UserEntry {
        name: u.name.clone(),
        role: u.role,
    }
}

/// The recovery code, shown once.
#[derive(Debug, Serialize, specta::Type)]
pub struct SetUpDone {
    /// The code to store in a safe.
    pub recovery_code: String,
}

/// Sets up a new desk and unlocks it as its first coordinator.
#[tauri::command]
#[specta::specta]
pub async fn set_up_desk<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    centre_name: String,
    centre_code: String,
    coordinator: String,
    passphrase: String,
) -> CommandResult<SetUpDone> {
    if state.desk().await?.is_some() {
        return Err(CommandError::new(
            "already_set_up",
            "this desk is already set up",
        ));
    }
    let dir = state.data_dir.clone();
    let kdf = state.kdf;
    let (desk, session, code) = blocking(move || {
        let passphrase = Passphrase::new(passphrase);
        std::fs::create_dir_all(&dir).map_err(|source| hirc_core::Error::Io {
            context: format!("could not create {}", dir.display()),
            source,
        })?;
        let (mut desk, code) = Desk::create(
            &dir,
            &DeskSetup {
                centre_name: &centre_name,
                centre_code: &centre_code,
                coordinator: &coordinator,
                passphrase: &passphrase,
                kdf,
            },
        )?;
        let session = desk.unlock(&coordinator, &passphrase)?;
        Ok((desk, session, code.reveal().to_string()))
    })
    .await?;
    state.adopt(desk).await;
    state.begin(&app, session).await;
    Ok(SetUpDone {
        recovery_code: code,
    })
}

/// Unlocks the desk as `name`; starts the sync worker.
#[tauri::command]
#[specta::specta]
pub async fn unlock<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
    passphrase: String,
) -> CommandResult<UserEntry> {
    let desk = state.existing_desk().await?;
    let session = with_desk(desk, move |desk| {
        desk.unlock(&name, &Passphrase::new(passphrase))
    })
    .await?;
    let who = entry(session.user());
    state.begin(&app, session).await;
    Ok(who)
}

/// Locks the desk: stops the worker and forgets the keys.
#[tauri::command]
#[specta::specta]
pub async fn lock(state: State<'_, AppState>) -> CommandResult<()> {
    state.end().await;
    Ok(())
}

/// Someone is using the desk (a key, a click, a scroll): the auto-lock's
/// clock starts again. `interviewing`: a report is open, so the longer
/// idle time applies. Answers how many seconds the desk may now rest.
#[tauri::command]
#[specta::specta]
pub fn still_here(state: State<'_, AppState>, interviewing: bool) -> u64 {
    state.idle.touch(crate::idle::Moment::now(), interviewing);
    state.idle.limit().as_secs()
}

/// Remembers the interface language for the next start (not personal: the
/// language of the volunteers' screens, kept beside the store).
#[tauri::command]
#[specta::specta]
pub fn set_interface_language(state: State<'_, AppState>, language: String) -> CommandResult<()> {
    interface_language::set(&state.data_dir, &language)
}

/// The window's title: the app's name, or a neutral one while quick-hide
/// shows its neutral screen (the title is on the taskbar for anyone to see).
#[tauri::command]
#[specta::specta]
pub fn set_window_title<R: Runtime>(
    window: tauri::WebviewWindow<R>,
    hidden: bool,
) -> CommandResult<()> {
    let title = if hidden { NEUTRAL_TITLE } else { APP_TITLE };
    window
        .set_title(title)
        .map_err(|e| CommandError::internal(format!("the window title could not be set: {e}")))
}

/// The window's title while in use.
pub const APP_TITLE: &str = "HIRC Desk";
/// The window's title while hidden: says nothing of what the desk is for.
pub const NEUTRAL_TITLE: &str = "Community information";

/// One choice in a list.
#[derive(Debug, Serialize, specta::Type)]
pub struct Choice {
    /// The JSON word.
    pub value: &'static str,
    /// The English label (the UI translates by `value`).
    pub label: &'static str,
}

macro_rules! lists {
    ($($name:literal => $ty:ty),+ $(,)?) => {
        vec![$(($name, <$ty>::ALL.iter().map(|v| Choice { value: v.as_str(), label: v.label() }).collect())),+]
    };
}

/// Every closed list of report v1, by field.
#[tauri::command]
#[specta::specta]
pub fn vocabulary() -> std::collections::BTreeMap<&'static str, Vec<Choice>> {
    let all: Vec<(&'static str, Vec<Choice>)> = lists! {
        "reporter_role" => model::ReporterRole,
        "strands" => model::Strand,
        "incident_types" => model::IncidentType,
        "repeat" => model::Repeat,
        "location_type" => model::LocationType,
        "offender_count" => model::OffenderCount,
        "yes_no_unknown" => model::YesNoUnknown,
        "injury" => model::Injury,
        "pass_to_police" => model::PassToPolice,
        "support_needs" => model::SupportNeed,
        "age_band" => model::AgeBand,
        "gender" => model::Gender,
        "ethnicity" => model::Ethnicity,
        "religion" => model::Religion,
        "yes_no_prefer_not" => model::YesNoPreferNot,
        "sexual_orientation" => model::SexualOrientation,
    };
    all.into_iter().collect()
}

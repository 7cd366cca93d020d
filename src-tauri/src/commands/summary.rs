//! Coordinators' summaries: on screen, and exported where the coordinator
//! chooses (a save dialog), each export audited.

use chrono::NaiveDate;
use hirc_core::summary::{Summary, SummaryOptions, to_csv, to_pdf, to_xlsx};
use serde::Deserialize;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;

use crate::error::{CommandError, CommandResult};
use crate::state::{AppState, blocking};
use hirc_files::write_atomically;

/// A summary's period and threshold, as the UI sends them.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Counts below this are suppressed (below 5 is audited).
    pub threshold: u32,
}

impl From<Period> for SummaryOptions {
    fn from(p: Period) -> Self {
        SummaryOptions {
            from: p.from,
            to: p.to,
            threshold: p.threshold,
        }
    }
}

/// The summary for a period (coordinators only).
#[tauri::command]
#[specta::specta]
pub async fn summary(state: State<'_, AppState>, period: Period) -> CommandResult<Summary> {
    state
        .with_session(move |desk, s| desk.summary(s, period.into()))
        .await
}

/// Export formats.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// RFC 4180 CSV.
    Csv,
    /// An Excel workbook.
    Xlsx,
    /// A printable PDF with charts.
    Pdf,
}

/// Asks where to save, writes the export there and audits it. Returns the
/// path, or `null` if the coordinator cancelled.
#[tauri::command]
#[specta::specta]
pub async fn export_summary<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    period: Period,
    format: Format,
) -> CommandResult<Option<String>> {
    let summary = state
        .with_session(move |desk, s| desk.summary(s, period.into()))
        .await?;
    let (ext, kind) = match format {
        Format::Csv => ("csv", "CSV"),
        Format::Xlsx => ("xlsx", "Excel workbook"),
        Format::Pdf => ("pdf", "PDF"),
    };
    let name = format!(
        "hirc-summary-{}-{}-to-{}.{ext}",
        summary.centre_code, period.from, period.to
    );
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Save the summary")
            .set_file_name(name)
            .add_filter(kind, &[ext])
            .blocking_save_file()
    })
    .await
    .map_err(|e| CommandError::internal(format!("the save dialog failed: {e}")))?;
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    let path = chosen
        .into_path()
        .map_err(|e| CommandError::internal(format!("that place cannot be saved to: {e}")))?;
    let bytes = blocking(move || render(&summary, format)).await?;
    write_atomically(&path, &bytes)?;
    let shown = path.display().to_string();
    state
        .with_session(move |desk, s| {
            desk.record_export(
                s,
                &format!("summary {} to {} ({ext})", period.from, period.to),
            )
        })
        .await?;
    Ok(Some(shown))
}

fn render(summary: &Summary, format: Format) -> hirc_core::Result<Vec<u8>> {
    Ok(match format {
        Format::Csv => to_csv(summary).into_bytes(),
        Format::Xlsx => to_xlsx(summary)?,
        Format::Pdf => to_pdf(summary)?,
    })
}

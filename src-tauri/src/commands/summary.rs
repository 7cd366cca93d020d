//! Coordinators' summaries: on screen, and exported where the coordinator
//! chooses (a save dialog), each export audited.

use chrono::NaiveDate;
use hirc_core::summary::{Summary, SummaryOptions, Wording, to_csv, to_pdf, to_xlsx};
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
/// path, or `null` if the coordinator cancelled. `language`: the export's
/// language (`en`, `pl`, `ur`); English when `null`.
#[tauri::command]
#[specta::specta]
pub async fn export_summary<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    period: Period,
    format: Format,
    language: Option<String>,
) -> CommandResult<Option<String>> {
    let words = wording(language.as_deref().unwrap_or("en"))?;
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
    // The audit says which language only when it is not English, so the
    // entry of an English export reads as it always has.
    let language = match words.language() {
        "en" => String::new(),
        other => format!(", {other}"),
    };
    let bytes = blocking(move || render(&summary, format, &words)).await?;
    write_atomically(&path, &bytes)?;
    let shown = path.display().to_string();
    state
        .with_session(move |desk, s| {
            desk.record_export(
                s,
                &format!("summary {} to {} ({ext}{language})", period.from, period.to),
            )
        })
        .await?;
    Ok(Some(shown))
}

fn render(summary: &Summary, format: Format, words: &Wording) -> hirc_core::Result<Vec<u8>> {
    Ok(match format {
        Format::Csv => to_csv(summary, words).into_bytes(),
        Format::Xlsx => to_xlsx(summary, words)?,
        Format::Pdf => to_pdf(summary, words)?,
    })
}

/// An export's words in `language` (`en`, `pl` or `ur`).
pub fn wording(language: &str) -> CommandResult<Wording> {
    Ok(Wording::bundled(language)?)
}

#[cfg(test)]
mod tests {
    use hirc_core::model::{IncidentType, Report, ReportFacts, Strand};
    use hirc_core::summary::{SummaryRecord, summarise};

    use super::*;

    /// Twelve reports in November 2026, every one delivered.
    fn november() -> Summary {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("date");
        let report = Report {
            strands: vec![Strand::RaceEthnicity],
            incident_types: vec![IncidentType::VerbalAbuse],
            ..Report::default()
        };
        let records: Vec<SummaryRecord> = (1..=12)
            .map(|d| SummaryRecord {
                taken_on: day(d),
                delivered: true,
                facts: ReportFacts::of(&report),
            })
            .collect();
        summarise(
            "Castle Point CVS",
            "CP",
            &records,
            SummaryOptions {
                from: day(1),
                to: day(30),
                threshold: 5,
            },
        )
    }

    fn csv(language: &str) -> String {
        let bytes =
            render(&november(), Format::Csv, &wording(language).expect("words")).expect("csv");
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn a_summary_exports_in_polish() {
        let text = csv("pl");
        for words in [
            "Według przesłanki",
            "Rasa lub pochodzenie etniczne",
            "listopad 2026",
            "Razem",
            "Próg ukrywania",
            "Małe liczby są ukryte",
        ] {
            assert!(text.contains(words), "{words} missing from:\n{text}");
        }
        for english in ["By strand", "Race or ethnicity", "November", "Suppression"] {
            assert!(
                !text.contains(english),
                "{english} left in English:\n{text}"
            );
        }
        // The numbers are the English export's (after the header and the
        // four lines about the export).
        let counts = |t: &str| -> Vec<String> {
            t.lines()
                .skip(5)
                .filter_map(|l| l.rsplit(',').nth(1).map(str::to_string))
                .collect()
        };
        assert_eq!(counts(&text), counts(&csv("en")));
        let pdf = render(&november(), Format::Pdf, &wording("pl").expect("words")).expect("pdf");
        assert!(pdf.starts_with(b"%PDF"));
        render(&november(), Format::Xlsx, &wording("pl").expect("words")).expect("xlsx");
    }

    #[test]
    fn a_summary_exports_in_urdu_with_an_arabic_script_font() {
        let text = csv("ur");
        for words in [
            "نشانے کی وجہ کے لحاظ سے",
            "نومبر 2026",
            "کل",
            "چھپانے کی حد",
        ] {
            assert!(text.contains(words), "{words} missing from:\n{text}");
        }
        assert!(!text.contains("By strand"), "{text}");
        let words = wording("ur").expect("words");
        assert!(words.right_to_left());
        let pdf = render(&november(), Format::Pdf, &words).expect("pdf");
        let holds = |name: &[u8]| pdf.windows(name.len()).any(|w| w == name);
        // Urdu is set in Noto Naskh Arabic (DejaVu Sans lacks letters such
        // as ے and ہ); an English PDF does not carry it.
        assert!(
            holds(b"NotoNaskhArabic"),
            "the Urdu PDF has no Arabic-script font"
        );
        let english = render(&november(), Format::Pdf, &Wording::english()).expect("pdf");
        assert!(!english.windows(15).any(|w| w == b"NotoNaskhArabic"));
        render(&november(), Format::Xlsx, &words).expect("xlsx");
        // `HIRC_EXPORT_SAMPLES=DIR` keeps the Urdu and Polish PDFs to look
        // at (docs/screenshots shows them).
        if let Some(dir) = std::env::var_os("HIRC_EXPORT_SAMPLES") {
            let dir = std::path::PathBuf::from(dir);
            std::fs::write(dir.join("summary-ur.pdf"), &pdf).expect("write");
            let pl = render(&november(), Format::Pdf, &wording("pl").expect("words")).expect("pdf");
            std::fs::write(dir.join("summary-pl.pdf"), pl).expect("write");
        }
    }

    #[test]
    fn every_character_of_an_export_has_a_glyph_in_its_fonts() {
        for language in ["en", "pl", "ur"] {
            let words = wording(language).expect("words");
            assert_eq!(
                hirc_core::summary::undrawable(&november(), &words).expect("layout"),
                Vec::<char>::new(),
                "{language}: characters the PDF's fonts cannot draw"
            );
        }
    }

    #[test]
    fn an_unknown_export_language_is_refused() {
        let err = wording("fr").expect_err("French");
        assert_eq!(err.kind, "invalid_input");
        assert!(err.message.contains("English, Polish or Urdu"));
    }
}

//! Settings of the platform's web view and its toolkit.

use tauri::{App, Manager, Runtime};

/// WebKitGTK starts with a web browser's cache model: it keeps pages and
/// resources in memory for the back button and for sites visited again.
/// This app shows one bundled page and never navigates, so it has nothing
/// to keep; the document-viewer model turns those caches off, which WebKit
/// documents as "substantially reduces memory usage" (docs/benchmarks.md
/// has the figures). Linux only: WebView2 and WKWebView have no such knob.
#[cfg(target_os = "linux")]
pub fn trim_caches<R: Runtime>(app: &App<R>) {
    use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let set = window.with_webview(|webview| {
        if let Some(context) = webview.inner().context() {
            context.set_cache_model(CacheModel::DocumentViewer);
            tracing::debug!("web view: document-viewer cache model");
        }
    });
    if let Err(e) = set {
        tracing::warn!("the web view's cache model could not be set: {e}");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn trim_caches<R: Runtime>(_app: &App<R>) {}

/// GTK records every file its dialogs open or save in the user's
/// recently-used list (`~/.local/share/recently-used.xbel`), which file
/// managers and other apps show to anyone at the computer: the path of a
/// photo the person gave (its name was never to be kept), the person's
/// copy, a summary. This app keeps no such list: it is turned off for the
/// whole process before any dialog opens (GTK then records nothing).
/// Linux only: the other platforms' dialogs keep no list of their own.
#[cfg(target_os = "linux")]
pub fn forget_recent_files() {
    use gtk::prelude::GtkSettingsExt;
    match gtk::Settings::default() {
        Some(settings) => settings.set_gtk_recent_files_enabled(false),
        None => tracing::warn!(
            "GTK's settings could not be reached: its dialogs may list the files they open"
        ),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn forget_recent_files() {}

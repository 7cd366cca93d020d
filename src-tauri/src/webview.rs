//! Settings of the platform's web view.

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

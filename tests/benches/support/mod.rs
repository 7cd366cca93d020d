//! What the sync and evidence benchmarks share: a real hub served in
//! process on loopback, and enrolment codes and tokens for it.

use std::sync::Arc;

use hirc_hub::secrets;
use hirc_hub::server::{AppState, HubConfig};
use hirc_hub::store::HubStore;
use hirc_sync::HubClient;

/// A fresh enrolment code at `store`.
pub async fn new_code(store: &Arc<dyn HubStore>) -> String {
    let code = secrets::new_enrol_code();
    store
        .add_enrol_code(
            &secrets::hash(&secrets::normalise_code(&code)),
            "Bench",
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .expect("code");
    code
}

/// Serves a hub over `store` on a free loopback port, without a rate
/// limit; returns its URL.
pub async fn serve(store: &Arc<dyn HubStore>, recipient: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let config = HubConfig {
        recipients: vec![recipient.into()],
        rate_per_minute: u32::MAX,
        ..HubConfig::default()
    };
    let state = AppState::new(
        store.clone(),
        config,
        hirc_proto::sign::SigningKey::generate(),
    );
    tokio::spawn(hirc_hub::server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    url
}

/// A token for a minimal client (a desk of no consequence).
pub async fn enrol_token(store: &Arc<dyn HubStore>, url: &str) -> String {
    HubClient::new(url, None)
        .expect("client")
        .enrol(
            &new_code(store).await,
            "pipe",
            &hirc_proto::sign::SigningKey::generate(),
            None,
        )
        .await
        .expect("enrol")
        .token
}

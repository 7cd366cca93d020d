//! What the sync and evidence benchmarks share: a real hub served in
//! process on loopback, enrolment codes and tokens for it, and a desk
//! enrolled with it.

use std::sync::Arc;

use hirc_core::outbox::Enrolment;
use hirc_core::vault::{KdfCost, Passphrase};
use hirc_core::{Desk, DeskSetup, Session};
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

/// A fresh desk at `dir` (a cheap key derivation), its coordinator signed in.
pub fn bench_desk(dir: &std::path::Path) -> (Desk, Session) {
    let pass = Passphrase::new("benchmark passphrase".into());
    let (mut desk, _) = Desk::create(
        dir,
        &DeskSetup {
            centre_name: "Bench",
            centre_code: "BN",
            coordinator: "Bea",
            passphrase: &pass,
            kdf: KdfCost::fixed(10).expect("kdf"),
        },
    )
    .expect("desk");
    let session = desk.unlock("Bea", &pass).expect("unlock");
    (desk, session)
}

/// Enrols `desk` with the hub at `url` (serving `store`), as `hirc enrol`
/// does: what it had sealed is encrypted for the hub then.
pub async fn enrol_desk(desk: &mut Desk, session: &Session, url: &str, store: &Arc<dyn HubStore>) {
    let device_key = desk.device_key(session).expect("device key");
    let response = HubClient::new(url, None)
        .expect("client")
        .enrol(&new_code(store).await, "bench desk", &device_key, None)
        .await
        .expect("enrol");
    desk.enrol(session, &Enrolment::from_response(url, &response), false)
        .expect("record enrolment");
}

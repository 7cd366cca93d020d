//! Every scenario of `devices`, `limits`, `service` and `uploads` that takes
//! a back end, on every back end.

use hirc_e2e::backends;

use crate::devices::{
    enrolment_codes_are_single_use_on, tokens_are_checked_and_revoked_devices_refused_on,
};
use crate::limits::{
    oversized_bodies_get_413_without_the_hub_holding_them_on,
    uploads_beyond_the_rate_limit_get_429_with_retry_after_on,
};
use crate::service::{
    health_and_unknown_routes_on, metrics_and_readiness_on, stops_cleanly_on_sigterm_on,
};
use crate::uploads::{
    export_lists_what_it_cannot_decrypt_and_the_hub_never_holds_plaintext_on,
    uploads_are_stored_once_with_a_receipt_and_never_changed_on,
};

#[test]
fn evidence_is_held_whole_before_its_revision() {
    for backend in backends() {
        crate::evidence::evidence_is_held_whole_before_its_revision_on(backend);
    }
}

#[test]
fn stops_cleanly_on_sigterm() {
    for backend in backends() {
        stops_cleanly_on_sigterm_on(backend);
    }
}

#[test]
fn metrics_and_readiness() {
    for backend in backends() {
        metrics_and_readiness_on(backend);
    }
}

#[test]
fn health_and_unknown_routes() {
    for backend in backends() {
        health_and_unknown_routes_on(backend);
    }
}

#[test]
fn enrolment_codes_are_single_use() {
    for backend in backends() {
        enrolment_codes_are_single_use_on(backend);
    }
}

#[test]
fn uploads_are_stored_once_with_a_receipt_and_never_changed() {
    for backend in backends() {
        uploads_are_stored_once_with_a_receipt_and_never_changed_on(backend);
    }
}

#[test]
fn tokens_are_checked_and_revoked_devices_refused() {
    for backend in backends() {
        tokens_are_checked_and_revoked_devices_refused_on(backend);
    }
}

#[test]
fn oversized_bodies_get_413_without_the_hub_holding_them() {
    for backend in backends() {
        oversized_bodies_get_413_without_the_hub_holding_them_on(backend);
    }
}

#[test]
fn uploads_beyond_the_rate_limit_get_429_with_retry_after() {
    for backend in backends() {
        uploads_beyond_the_rate_limit_get_429_with_retry_after_on(backend);
    }
}

#[test]
fn export_lists_what_it_cannot_decrypt_and_the_hub_never_holds_plaintext() {
    for backend in backends() {
        export_lists_what_it_cannot_decrypt_and_the_hub_never_holds_plaintext_on(backend);
    }
}

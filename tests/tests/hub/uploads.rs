//! What the hub stores: each upload once under a signed receipt, never
//! changed, and never as plaintext; the export lists what it cannot decrypt.

use hirc_e2e::{Backend, contains};
use hirc_proto::sign::{SigningKey, verify_receipt};
use hirc_proto::{ErrorBody, ErrorKind, Receipt, content_digest};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Hub, error_kind, sealed};

pub(crate) fn uploads_are_stored_once_with_a_receipt_and_never_changed_on(backend: Backend) {
    let hub = Hub::start(backend, &[]);
    let desk_key = SigningKey::generate();
    let enrolled = hub.enrolled(Some(&desk_key));
    let token = enrolled["token"].as_str().expect("token").to_string();
    let receipt_key = enrolled["receipt_key"].as_str().expect("key").to_string();
    let id = Uuid::now_v7();
    let body = sealed(&hub.recipient, id, 1, "first");

    let first = hub.upload(&token, id, 1, &body);
    assert_eq!(first.status(), StatusCode::CREATED);
    let receipt: Receipt = first.json().expect("receipt");
    assert_eq!((receipt.report_id, receipt.revision), (id, 1));
    assert_eq!(receipt.digest, content_digest(&body));
    assert_eq!(
        receipt.device_id.map(|d| d.to_string()).as_deref(),
        enrolled["device_id"].as_str()
    );
    verify_receipt(&receipt_key, &receipt).expect("the hub signs its receipts");

    let repeat = hub.upload(&token, id, 1, &body);
    assert_eq!(repeat.status(), StatusCode::OK);
    assert_eq!(
        repeat.json::<Receipt>().expect("receipt"),
        receipt,
        "a repeat gets the same receipt"
    );

    let other = sealed(&hub.recipient, id, 1, "replayed with another body");
    let conflict = hub.upload(&token, id, 1, &other);
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let error: ErrorBody = conflict.json().expect("JSON");
    assert_eq!(error.error, ErrorKind::Conflict);
    assert_eq!(
        error.receipt.as_ref(),
        Some(&receipt),
        "the desk is told what the hub holds of its own report"
    );

    // Ids are scoped to the desk: a second desk using the first desk's id
    // (ids are visible in outbox files) stores under its own name, and
    // neither overwrites nor blocks the first desk's report.
    let (device2, token2) = hub.device();
    let junk = sealed(&hub.recipient, id, 1, "junk from another desk");
    let theirs = hub.upload(&token2, id, 1, &junk);
    assert_eq!(theirs.status(), StatusCode::CREATED);
    let theirs: Receipt = theirs.json().expect("receipt");
    assert_eq!(theirs.device_id.map(|d| d.to_string()), Some(device2));
    let again = hub.upload(&token, id, 1, &body);
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the first desk is not blocked"
    );
    assert_eq!(again.json::<Receipt>().expect("receipt"), receipt);

    // The same desk enrolled again (same device key, new device): a retry
    // of bytes the hub holds gets the original receipt, not a false 409.
    let re_enrolled = hub.enrolled(Some(&desk_key));
    let token3 = re_enrolled["token"].as_str().expect("token");
    let retry = hub.upload(token3, id, 1, &body);
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(retry.json::<Receipt>().expect("receipt"), receipt);

    // Junk put under a desk's id with its stolen token, before the
    // partnership revoked that device, neither blocks the desk once it is
    // enrolled again nor passes for its report.
    let victim_key = SigningKey::generate();
    let stolen = hub.enrolled(Some(&victim_key));
    let theirs_id = Uuid::now_v7();
    let junk = sealed(&hub.recipient, theirs_id, 1, "junk with a stolen token");
    let stolen_token = stolen["token"].as_str().expect("token");
    assert_eq!(
        hub.upload(stolen_token, theirs_id, 1, &junk).status(),
        StatusCode::CREATED
    );
    hub.admin(&["revoke", stolen["device_id"].as_str().expect("id")])
        .ok();
    let again = hub.enrolled(Some(&victim_key));
    let real = sealed(&hub.recipient, theirs_id, 1, "the real report");
    let delivered = hub.upload(again["token"].as_str().expect("token"), theirs_id, 1, &real);
    assert_eq!(
        delivered.status(),
        StatusCode::CREATED,
        "not blocked by the junk"
    );
    let delivered: Receipt = delivered.json().expect("receipt");
    assert_eq!(delivered.digest, content_digest(&real));

    // A desk enrolled before device keys, enrolled again with its first
    // key and its old token as proof: what it stored stays its own, so a
    // report it sends again gets its original receipt, not a second copy.
    let (legacy, legacy_token) = hub.device();
    let old_id = Uuid::now_v7();
    let old_body = sealed(&hub.recipient, old_id, 1, "sent before the upgrade");
    let stored = hub.upload(&legacy_token, old_id, 1, &old_body);
    assert_eq!(stored.status(), StatusCode::CREATED);
    let stored: Receipt = stored.json().expect("receipt");
    let upgraded = hub.enrolled_after(
        Some(&SigningKey::generate()),
        Some((legacy.as_str(), legacy_token.as_str())),
    );
    let again = hub.upload(
        upgraded["token"].as_str().expect("token"),
        old_id,
        1,
        &old_body,
    );
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Receipt>().expect("receipt"), stored);

    // A device key is taken only with proof the desk holds it.
    let code = hub.code("Castle Point CVS");
    let stranger = SigningKey::generate();
    let claim = hub
        .http
        .post(format!("{}/v1/enrol", hub.process.url))
        .json(
            &json!({"code": code, "device_name": "x", "device_key": desk_key.public(),
                      "key_proof": stranger.enrolment_proof(&code)}),
        )
        .send()
        .expect("send");
    assert_eq!(claim.status(), StatusCode::BAD_REQUEST);

    // Bad bodies and headers.
    let r = hub.put(
        &token,
        Uuid::now_v7(),
        1,
        &body,
        Some(&content_digest(b"something else")),
    );
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let garbage = b"this is not an age file at all";
    let r = hub.upload(&token, Uuid::now_v7(), 1, garbage);
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_kind(r), ErrorKind::Unprocessable);
    assert_eq!(
        hub.put(&token, Uuid::now_v7(), 1, &body, None).status(),
        StatusCode::BAD_REQUEST
    );
    let r = hub.put(&token, Uuid::now_v7(), 1, &body, Some("sha-256=:nonsense:"));
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Export decrypts exactly the one stored report, with its receipt.
    let out = hub
        .admin(&[
            "export",
            "--identity",
            &hub.identity.to_string_lossy(),
            "--format",
            "jsonl",
        ])
        .ok();
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(
        lines.len(),
        5,
        "the first desk's report, the other desk's own, the two of the desk whose token was stolen, and the upgraded desk's one"
    );
    let first_desk = lines
        .iter()
        .find(|l| l["receipt"]["receipt_id"] == receipt.receipt_id.to_string())
        .expect("the first desk's report");
    assert_eq!(first_desk["report"]["description"], "first");
}

pub(crate) fn export_lists_what_it_cannot_decrypt_and_the_hub_never_holds_plaintext_on(
    backend: Backend,
) {
    let mut hub = Hub::start(backend, &[]);
    let (_, token) = hub.device();
    let canary = format!("CANARY-hub-{}", Uuid::now_v7());
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = Uuid::now_v7();
        assert_eq!(
            hub.upload(&token, id, 1, &sealed(&hub.recipient, id, 1, &canary))
                .status(),
            StatusCode::CREATED
        );
        ids.push(id);
    }
    // One encrypted to a key the partnership does not have.
    let stranger = age::x25519::Identity::generate().to_public().to_string();
    let lost = Uuid::now_v7();
    assert_eq!(
        hub.upload(&token, lost, 1, &sealed(&stranger, lost, 1, &canary))
            .status(),
        StatusCode::CREATED
    );
    // One whose content names another report (a swapped body).
    let swapped = Uuid::now_v7();
    assert_eq!(
        hub.upload(
            &token,
            swapped,
            1,
            &sealed(&hub.recipient, ids[0], 1, &canary)
        )
        .status(),
        StatusCode::CREATED
    );

    let out_file = hub.dir.path().join("export.jsonl");
    let run = hub
        .admin(&[
            "export",
            "--identity",
            &hub.identity.to_string_lossy(),
            "--out",
            &out_file.to_string_lossy(),
        ])
        .expect_code(1);
    assert!(
        run.stderr.contains("Exported 5 report(s)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("does not decrypt"), "{}", run.stderr);
    assert!(run.stderr.contains("another report"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&out_file)
            .expect("export")
            .lines()
            .count(),
        5
    );

    // Restarting the hub keeps everything: a repeat still gets its receipt.
    let first_log = hub.process.log.lock().expect("log").clone();
    hub.restart();
    let id = ids[1];
    assert_eq!(
        hub.upload(&token, id, 1, &sealed(&hub.recipient, id, 1, &canary))
            .status(),
        StatusCode::CONFLICT,
        "fresh ciphertext of the same revision is another body"
    );

    // Nothing readable on the hub: not in its files, not in its log.
    assert!(
        !contains(&hub.backend.dump(&hub.data_path()), &canary),
        "the hub's store holds plaintext"
    );
    let log = first_log + &hub.process.log.lock().expect("log");
    assert!(log.contains("report stored"), "the hub logs events: {log}");
    assert!(!log.contains(&canary) && !log.contains(&token));
}

//! Sync over TLS with the partnership's own certificate authority, and plain
//! HTTP kept to loopback.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use hirc_e2e::{HubProcess, TestDesk, hub_admin};

use crate::{Hub, assert_delivered_exactly_once, submit, sync};

#[test]
fn over_tls_with_the_partnerships_own_certificate_authority() {
    // The partnership's own certificate authority, and the hub's certificate
    // signed by it, as a partnership without a public certificate would do.
    let work = tempfile::tempdir().expect("tmp");
    let at = |name: &str| work.path().join(name).to_string_lossy().into_owned();
    let (ca, cert, key) = (at("ca.pem"), at("cert.pem"), at("key.pem"));
    std::fs::write(
        at("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    let (ca_key, csr, ext) = (at("ca.key"), at("hub.csr"), at("ext.cnf"));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-days",
                "2",
                "-subj",
                "/CN=Partnership test CA",
                "-keyout",
                &ca_key,
                "-out",
                &ca,
            ],
        ]
        .concat(),
        [
            &["req"][..],
            &ec,
            &["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    ];
    for args in steps {
        let made = Command::new("openssl")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(made.success(), "openssl {}", args.join(" "));
    }
    let (cert, key, ca) = (PathBuf::from(cert), PathBuf::from(key), PathBuf::from(ca));

    let mut hub = Hub::start();
    hub.down();
    let tls = HubProcess::start_on(
        &hub.data,
        &hub.recipient,
        "127.0.0.1:0",
        &[
            "--tls-cert",
            &cert.to_string_lossy(),
            "--tls-key",
            &key.to_string_lossy(),
        ],
    );
    assert!(tls.url.starts_with("https://"), "{}", tls.url);
    let url = tls.url.clone();
    let code = hub.code();

    let (mut desk, _) = TestDesk::init();
    // Without the partnership's authority the certificate is not trusted,
    // and the code is not spent.
    let run = desk
        .as_coordinator(&["enrol", "--hub", &url, "--code", &code], "")
        .expect_code(1);
    assert!(
        run.stderr.contains("certificate is not trusted") && run.stderr.contains("--hub-ca FILE"),
        "{}",
        run.stderr
    );
    desk.as_coordinator(
        &[
            "enrol",
            "--hub",
            &url,
            "--code",
            &code,
            "--hub-ca",
            &ca.to_string_lossy(),
        ],
        "",
    )
    .ok();
    let reports = submit(&mut desk, 3, "CANARY-tls");
    assert_eq!(
        sync(&mut desk),
        (3, 0, 0),
        "the pinned authority is used for every sync"
    );
    assert_delivered_exactly_once(&hub, &mut desk, &reports);
    drop(tls);

    // At the same address, a certificate the pinned authority did not sign
    // (an impostor, or a hub whose certificate was replaced): nothing is
    // sent, the report stays queued, and `hirc sync` says how to trust the
    // partnership's authority.
    let (other_cert, other_key) = (at("other-cert.pem"), at("other-key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509"])
        .args(ec)
        .args([
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            &other_key,
            "-out",
            &other_cert,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(made.success(), "a second, self-signed certificate");
    let impostor = HubProcess::start_on(
        &hub.data,
        &hub.recipient,
        url.trim_start_matches("https://"),
        &["--tls-cert", &other_cert, "--tls-key", &other_key],
    );
    submit(&mut desk, 1, "CANARY-tls-impostor");
    let run = desk.as_coordinator(&["sync"], "").ok();
    assert!(
        run.stderr.contains("certificate is not trusted") && run.stderr.contains("--hub-ca FILE"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.last_line(),
        "delivered 0, waiting 1, failed 0",
        "nothing was sent, nothing refused"
    );
    drop(impostor);

    // Plain HTTP is for loopback only, on both sides.
    let run = hub_admin(&[
        "serve",
        "--data-dir",
        &hub.data.to_string_lossy(),
        "--listen",
        "0.0.0.0:0",
        "--recipient",
        &hub.recipient,
    ])
    .expect_code(1);
    assert!(run.stderr.contains("loopback only"), "{}", run.stderr);
    let run = desk
        .as_coordinator(
            &[
                "enrol",
                "--hub",
                "http://hub.example.org",
                "--code",
                "AAAA-BBBB-CCCC",
            ],
            "",
        )
        .expect_code(1);
    assert!(run.stderr.contains("must use https://"), "{}", run.stderr);
}

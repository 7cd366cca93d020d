//! Nothing saved is ever lost: a child process autosaves drafts in a loop
//! and is killed with SIGKILL at random moments, 200 times. After every kill
//! the store must open, hold every save the child had reported done, and
//! keep an intact audit chain.
//!
//! The child is this same test executable, re-run with only the ignored
//! `autosave_child` test selected and the desk's path in its environment.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hirc_core::model::Report;
use hirc_core::vault::{KdfCost, Passphrase};
use hirc_core::{Desk, DeskSetup};
use hirc_e2e::{COORDINATOR, COORDINATOR_PASS, TestDesk};
use rand::Rng;
use uuid::Uuid;

const ROUNDS: usize = 200;
const DIR_ENV: &str = "HIRC_CRASH_TEST_DIR";
const ROUND_ENV: &str = "HIRC_CRASH_TEST_ROUND";

fn report_for(round: usize, save: usize) -> Report {
    // About 4 KB, like a real account; the save's identity leads.
    Report {
        description: Some(format!("round {round} save {save} {}", "x".repeat(4000))),
        ..Report::default()
    }
}

fn parse_description(text: &str) -> (usize, usize) {
    let words: Vec<&str> = text.split(' ').collect();
    (
        words[1].parse().expect("round"),
        words[3].parse().expect("save"),
    )
}

/// The child: autosave until killed, reporting each save once it is done.
#[test]
#[ignore = "the child process of `saves_survive_sigkill`; runs only when it starts it"]
fn autosave_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let round: usize = std::env::var(ROUND_ENV)
        .expect("round")
        .parse()
        .expect("number");
    let mut desk = Desk::open(Path::new(&dir)).expect("child opens the desk");
    let session = desk
        .unlock(COORDINATOR, &Passphrase::new(COORDINATOR_PASS.into()))
        .expect("child unlocks");
    // stderr: libtest owns stdout. Each line goes out in one write (atomic
    // on a pipe), so a kill never leaves half a report of a save.
    let mut out = std::io::stderr().lock();
    let mut say = |line: String| out.write_all(line.as_bytes()).expect("write");
    say("ready\n".into());
    let mut id = Uuid::nil();
    for save in 1.. {
        if save % 7 == 1 {
            id = desk
                .create_draft(&session, &report_for(round, save))
                .expect("create");
        } else {
            desk.save_draft(&session, id, &report_for(round, save))
                .expect("save");
        }
        say(format!("done {id} {save}\n"));
    }
}

#[test]
fn saves_survive_sigkill() {
    let tmp = TestDesk::new();
    let dir = tmp.path().to_path_buf();
    let kdf = KdfCost::fixed(hirc_core::vault::MIN_SCRYPT_LOG_N).expect("kdf");
    Desk::create(
        &dir,
        &DeskSetup {
            centre_name: "Crash Test Centre",
            centre_code: "CT",
            coordinator: COORDINATOR,
            passphrase: &Passphrase::new(COORDINATOR_PASS.into()),
            kdf,
        },
    )
    .expect("desk");

    let exe = std::env::current_exe().expect("own executable");
    let mut rng = rand::thread_rng();
    // Every draft ever reported, with the last save reported done.
    let mut reported: HashMap<Uuid, (usize, usize)> = HashMap::new();
    let mut total_saves = 0;

    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "autosave_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_ENV, &dir)
            .env(ROUND_ENV, round.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start child");
        let stderr = child.stderr.take().expect("child stderr");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("child started");
        assert_eq!(first, "ready", "child said: {first}");
        // Kill once the child has reported a random number of saves: the
        // kill lands in the save after it (often mid-transaction), keyed on
        // the child's own progress rather than on time, so a slow or busy
        // machine cannot make the kills miss.
        let wanted = rng.gen_range(1..=10);
        let mut seen = Vec::new();
        while seen.len() < wanted {
            seen.push(
                rx.recv_timeout(Duration::from_secs(60))
                    .expect("the child keeps saving"),
            );
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        reader.join().expect("reader");
        let mut last_id = None;
        for line in seen.into_iter().chain(rx.try_iter()) {
            let mut parts = line.split(' ');
            assert_eq!(
                parts.next(),
                Some("done"),
                "unexpected child output: {line}"
            );
            let id = Uuid::parse_str(parts.next().expect("id")).expect("uuid");
            let save: usize = parts.next().expect("save").parse().expect("number");
            reported.insert(id, (round, save));
            last_id = Some(id);
            total_saves += 1;
        }

        let mut desk = Desk::open(&dir)
            .unwrap_or_else(|e| panic!("round {round}: the store does not open: {e}"));
        let session = desk
            .unlock(COORDINATOR, &Passphrase::new(COORDINATOR_PASS.into()))
            .expect("unlock");
        for (id, (r, save)) in reported.iter().filter(|(_, (r, _))| *r == round) {
            let view = desk
                .report(&session, *id)
                .unwrap_or_else(|e| panic!("round {round}: reported draft {id} is missing: {e}"));
            let text = view
                .report
                .and_then(|r| r.description)
                .expect("description");
            let (got_round, got_save) = parse_description(&text);
            assert_eq!(got_round, *r);
            // The save reported done is there; at most the one in flight
            // when the kill came went in on top of it.
            let in_flight = if Some(*id) == last_id { 1 } else { 0 };
            assert!(
                got_save >= *save && got_save <= save + in_flight,
                "round {round}: draft {id} holds save {got_save}, child reported {save}"
            );
        }
        let verified = desk.verify_audit(&session).expect("read audit");
        assert!(verified.is_ok(), "round {round}: {verified:?}");
    }
    assert!(
        total_saves > ROUNDS,
        "the child saved often enough to be interrupted ({total_saves})"
    );
    eprintln!(
        "{ROUNDS} kills, {total_saves} saves reported, {} drafts",
        reported.len()
    );

    // The real command line agrees.
    let out = Command::new(hirc_e2e::bin("hirc"))
        .args(["--passphrase-stdin", "audit", "verify"])
        .env("HIRC_DATA_DIR", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .expect("stdin")
                .write_all(format!("{COORDINATOR_PASS}\n").as_bytes())?;
            c.wait_with_output()
        })
        .expect("hirc audit verify");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));
}

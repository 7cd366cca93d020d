//! The `hirc` command line, run as a person or a script would: real binary,
//! real store, real files.

use hirc_e2e::{EXAMPLE_REPORT, TestDesk};
use serde_json::Value;

mod after_submit;
mod damage;
mod init;
mod reports;
mod summaries;
mod users;

fn write(desk: &TestDesk, name: &str, text: &str) -> String {
    let path = desk.path().join(name);
    std::fs::write(&path, text).expect("write file");
    path.to_string_lossy().into_owned()
}

fn list(desk: &mut TestDesk) -> Vec<Value> {
    let run = desk.as_coordinator(&["report", "list", "--json"], "").ok();
    serde_json::from_str::<Value>(&run.stdout)
        .expect("list --json is JSON")
        .as_array()
        .expect("array")
        .clone()
}

fn new_from_example(desk: &mut TestDesk) -> String {
    let file = write(desk, "example.json", EXAMPLE_REPORT);
    desk.as_coordinator(&["report", "new", "--from", &file], "")
        .ok()
        .last_line()
}

//! The `herald` binary: `serve` on first start, `token`, `schema`, graceful shutdown.

use crate::common;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

#[test]
fn schema_graphql_is_what_herald_schema_prints() {
    let out = Command::new(common::herald_bin())
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert!(
        printed == checked_in,
        "schema.graphql differs from `herald schema`: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn serve_on_a_fresh_data_dir_then_token_then_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut child = Command::new(common::herald_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_remove("HERALD_CONFIG")
        .env_remove("HERALD_APP_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("herald listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("app-secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let out = Command::new(common::herald_bin())
        .args(["token", "--admin", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let http = reqwest::Client::new();
    let body: Value = http
        .post(format!("{url}/graphql"))
        .bearer_auth(&token)
        .json(&json!({"query": "mutation { importAccounts(accounts: [{id: \"a\"}]) { created } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["importAccounts"]["created"], 1, "{body}");

    let out = Command::new(common::herald_bin())
        .args(["token", "--account", "a", "--ttl", "60", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let client = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let body: Value = http
        .post(format!("{url}/graphql"))
        .bearer_auth(&client)
        .json(&json!({"query": "{ accounts { totalCount } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("herald.toml");
    std::fs::write(&file, "[app]\nidd = 3\n").unwrap();
    let out = Command::new(common::herald_bin())
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("idd") && err.contains("herald.toml"), "{err}");
}

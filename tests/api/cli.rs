//! The `crmgate` command's configuration: file, then environment, then flags.

use std::process::Command;

fn crmgate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crmgate"));
    for (name, _) in std::env::vars() {
        if name.starts_with("CRMGATE") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crmgate.toml");
    std::fs::write(&file, "[database]\nurl = \"sqlite://from-file.db\"\n[server]\nlisten = \"127.0.0.1:1111\"\nshutdown_grace_secs = 5\n").unwrap();
    let output = crmgate()
        .args(["config", "print", "--config"])
        .arg(&file)
        .env("CRMGATE__SERVER__LISTEN", "127.0.0.1:2222")
        .env("CRMGATE__DATABASE__URL", "sqlite://from-env.db")
        .env("CRMGATE_API_KEY", "shorthand-secret")
        .args(["--database-url", "sqlite://from-flag.db"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("listen = \"127.0.0.1:2222\""), "{printed}");
    assert!(
        printed.contains("url = \"sqlite://from-flag.db\""),
        "{printed}"
    );
    assert!(printed.contains("shutdown_grace_secs = 5"), "{printed}");
    assert!(
        printed.contains("api_key = \"********\"") && !printed.contains("shorthand-secret"),
        "{printed}"
    );
}

#[test]
fn a_typo_in_the_file_stops_the_command_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crmgate.toml");
    std::fs::write(&file, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let output = crmgate()
        .args(["config", "print", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("lisen") && stderr.contains("crmgate.toml"),
        "{stderr}"
    );
}

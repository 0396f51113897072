//! The configuration's layers, through the binary: the TOML file
//! (`--config` or `GATEWAY_CONFIG`), then the `GATEWAY_*` variables, each
//! named in what stops a start; an empty variable is unset, but a DigiLocker
//! partner setting's (given, so production, and missing).

use std::process::Stdio;
use std::time::Duration;

use gateway::crypto::MasterKey;

/// `serve` on `dir` with only `env` (and `args`), expected to stop at once:
/// its exit status and stderr.
async fn stopped(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"))
        .env_clear()
        .env("GATEWAY_LOG", "info")
        // Not a setting: left alone.
        .env("GATEWAY_NOT_A_SETTING", "whatever")
        .args(args)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the start was not refused: it kept running")
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), err)
}

#[tokio::test]
async fn a_bad_variable_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value, says) in [
        (
            "GATEWAY_LISTEN",
            "nowhere",
            "GATEWAY_LISTEN must be host:port",
        ),
        (
            "GATEWAY_MODE",
            "demo",
            "GATEWAY_MODE must be sandbox or production, not \"demo\"",
        ),
        (
            "GATEWAY_REQUEST_TTL_SECONDS",
            "an hour",
            "GATEWAY_REQUEST_TTL_SECONDS must be a whole number",
        ),
        (
            "GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS",
            "5,x,120",
            "GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS must be whole seconds separated by commas",
        ),
        (
            "GATEWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS",
            "perhaps",
            "GATEWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS must be true or false",
        ),
        (
            "GATEWAY_PUBLIC_BASE_URL",
            "kyc.example.com",
            "GATEWAY_PUBLIC_BASE_URL must be an absolute URL",
        ),
    ] {
        let (status, err) = stopped(dir.path(), &[], &[(var, value)]).await;
        // EX_CONFIG, as every refusal of the configuration.
        assert_eq!(status, 78, "{var}={value}: {err}");
        assert!(err.contains(says), "{var}={value}: {err}");
    }
    // Nothing was made.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn the_environment_overrides_the_file_table_by_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("gateway.toml");
    let key = MasterKey::generate_base64();
    // The file says sandbox with one partner setting (contradictory on its
    // own); the environment says production and gives the base URL empty.
    std::fs::write(
        &file,
        "mode = \"sandbox\"\n[digilocker]\nclient_id = \"PARTNER\"\n[webhooks]\ntimeout_seconds = 5\n",
    )
    .unwrap();
    let env = [
        ("GATEWAY_MODE", "production"),
        ("GATEWAY_MASTER_KEY", key.as_str()),
        ("GATEWAY_DIGILOCKER_BASE_URL", ""),
        // Empty: unset, not a bad number.
        ("GATEWAY_WEBHOOK_TIMEOUT_SECONDS", ""),
    ];
    let file_arg = file.to_str().unwrap();
    let (status, err) = stopped(&data, &["--config", file_arg], &env).await;
    assert_eq!(status, 78, "{err}");
    assert!(
        err.contains("GATEWAY_DIGILOCKER_BASE_URL ([digilocker] base_url)")
            && err.contains("GATEWAY_DIGILOCKER_CLIENT_SECRET ([digilocker] client_secret)")
            && !err.contains("CLIENT_ID (")
            && !err.contains("GATEWAY_MASTER_KEY"),
        "{err}"
    );
    // The same file through GATEWAY_CONFIG.
    let mut with_config = env.to_vec();
    with_config.push(("GATEWAY_CONFIG", file_arg));
    let (status, err) = stopped(&data, &[], &with_config).await;
    assert_eq!(status, 78, "{err}");
    assert!(
        err.contains("GATEWAY_DIGILOCKER_CLIENT_SECRET") && !err.contains("CLIENT_ID ("),
        "{err}"
    );
    // Without the environment the file's contradiction stands.
    let (status, err) = stopped(&data, &["--config", file_arg], &[]).await;
    assert_eq!(status, 78, "{err}");
    assert!(
        err.contains("mode is sandbox") && err.contains("GATEWAY_DIGILOCKER_CLIENT_ID"),
        "{err}"
    );
    // A key of the file that is no setting: named, never ignored.
    std::fs::write(&file, "[webhooks]\ntimeout_second = 5\n").unwrap();
    let (status, err) = stopped(&data, &["--config", file_arg], &[]).await;
    assert_eq!(status, 78, "{err}");
    assert!(
        err.contains("unknown key [webhooks] timeout_second") && err.contains(file_arg),
        "{err}"
    );
    // DATABASE_URL when GATEWAY_DATABASE_URL is not set: PostgreSQL, so no
    // sandbox unasked (refused before connecting anywhere).
    let (status, err) = stopped(
        &data,
        &[],
        &[("DATABASE_URL", "postgres://127.0.0.1:1/production")],
    )
    .await;
    assert_eq!(status, 78, "{err}");
    assert!(err.contains("GATEWAY_MODE=sandbox"), "{err}");
    assert!(
        !data.exists() || std::fs::read_dir(&data).unwrap().count() == 0,
        "a sandbox was made"
    );
}

#[tokio::test]
async fn a_short_console_password_stops_the_start_with_exit_78_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = stopped(
        dir.path(),
        &[],
        &[
            ("GATEWAY_ADMIN_LISTEN", "127.0.0.1:0"),
            ("GATEWAY_CONSOLE_PASSWORD", "hunter2hunter2"),
        ],
    )
    .await;
    assert_eq!(code, 78, "{err}");
    assert!(
        err.contains("GATEWAY_CONSOLE_PASSWORD") && err.contains("at least 16"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the password is never printed: {err}"
    );
}

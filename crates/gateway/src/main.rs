//! `digilocker-gateway`: see `gateway::cli`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gateway::cli::main().await
}

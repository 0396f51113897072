//! The one way tests start a sandbox on its own port: this crate's tests,
//! the DigiLocker client's and the gateway's (its production-mode tests
//! talk to a standalone sandbox, as they would to DigiLocker). Not used by
//! the sandbox itself.

use std::net::SocketAddr;
use std::sync::Mutex;

use anyhow::Context as _;

use crate::seed::Citizen;
use crate::{PartnerApp, Sandbox, SandboxConfig};

/// A sandbox served over HTTP on `127.0.0.1:0`; the server stops when this
/// is dropped.
pub struct ServedSandbox {
    pub sandbox: Sandbox,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:{port}{base_path}`, no trailing slash.
    pub base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ServedSandbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ServedSandbox {
    /// Start a sandbox with `config`, register `apps`, and serve its router
    /// (through `wrap`, e.g. to count calls) on a loopback port.
    ///
    /// Sandboxes of one process are made one at a time: the first to use a
    /// `data_dir` makes its CA (an RSA key generation) and the others load
    /// it, so tests share one `data_dir` to skip the key generations.
    pub async fn start(
        config: SandboxConfig,
        apps: Vec<PartnerApp>,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> anyhow::Result<ServedSandbox> {
        static CREATE: Mutex<()> = Mutex::new(());
        let sandbox = {
            let _guard = CREATE.lock().unwrap_or_else(|p| p.into_inner());
            Sandbox::new(config)?
        };
        for app in apps {
            sandbox.register_app(app);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on a loopback port")?;
        let addr = listener.local_addr()?;
        let router = wrap(sandbox.router());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let base = format!("http://{addr}{}", sandbox.base_path());
        Ok(ServedSandbox {
            sandbox,
            addr,
            base,
            server,
        })
    }

    /// A URL of this sandbox: `path` after the base path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The first seeded citizen for whom `pred` holds; `what` says what the test
/// needs, for the panic when none does.
pub fn citizen(what: &str, pred: impl Fn(&Citizen) -> bool) -> Citizen {
    crate::seed::all()
        .iter()
        .find(|c| pred(c))
        .cloned()
        .unwrap_or_else(|| panic!("the sandbox seed has no citizen who {what}"))
}

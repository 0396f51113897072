//! The demo journey in a real browser: Debian's headless Chromium, driven
//! through chromedriver (WebDriver), from the demo page to a downloaded PDF.
//!
//! The test starts the gateway in sandbox mode in-process, starts
//! `/usr/bin/chromedriver` on a port it picks itself, and walks the journey
//! as a person would: start on `/demo`, sign in to the sandbox DigiLocker
//! with the happy test citizen (Aadhaar number, OTP, PIN), allow sharing on
//! the consent page, read the verified Aadhaar data, fill the PAN form and
//! download the document. The window is phone-sized (390x844), the way most
//! people in India will meet this journey.
//!
//! Screenshots of the demo, consent, done and Aadhaar pages are written to the test's
//! temporary directory, or to `$BROWSER_TEST_ARTIFACTS` when that is set (so
//! a person can look at them); on failure the current page's screenshot and
//! HTML are written there too.
//!
//! Needs the `chromium` and `chromium-driver` Debian packages, and
//! `poppler-utils` for `pdftotext`: `scripts/install-test-deps.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context as _};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PDFTOTEXT: &str = "/usr/bin/pdftotext";

/// How long one page may take to show the element we wait for. Generous:
/// the machine running the tests may be busy building other crates.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the background catalogue build may take before the demo lists
/// documents.
const CATALOGUE_TIMEOUT: Duration = Duration::from_secs(180);
/// Phone-sized window (an iPhone 12-ish viewport in CSS pixels).
const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 900);

/// The values typed into the PAN form; the sandbox's pull rule finds a
/// record for any non-zero values, and these are its documented example.
const PAN_NUMBER: &str = "ABCDE1234F";
const PAN_NAME: &str = "Ramesh Kumar Sharma";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_journey_in_headless_chromium_ends_with_a_downloaded_pdf() -> anyhow::Result<()> {
    for (tool, package) in [
        (CHROMIUM, "chromium"),
        (CHROMEDRIVER, "chromium-driver"),
        (PDFTOTEXT, "poppler-utils"),
    ] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing (Debian package {package}): this test drives a real browser. \
             Run scripts/install-test-deps.sh to install chromium, chromium-driver, \
             xmlsec1 and poppler-utils, then run the test again."
        );
    }

    let Dirs {
        tmp,
        artifacts,
        downloads,
        profile,
    } = Dirs::new()?;

    let app = gateway::start(gateway::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: tmp.path().join("data"),
        sandbox_catalogue: (60, 240),
        ..Default::default()
    })
    .await?;
    let base = app.base_url();

    let started = Instant::now();
    let driver = Chromedriver::start().await?;
    let client = driver.session(&profile, &downloads).await?;

    let outcome = journey(&client, &base, &artifacts, &downloads).await;
    finish(outcome, client, driver, app, &artifacts).await?;
    eprintln!(
        "browser journey passed in {:.1?}; screenshots in {}",
        started.elapsed(),
        artifacts.display()
    );
    Ok(())
}

/// The journey itself, from the demo page to the downloaded PDF.
async fn journey(
    client: &Client,
    base: &str,
    artifacts: &Path,
    downloads: &Path,
) -> anyhow::Result<()> {
    let citizen = sandbox::seed::citizens()
        .into_iter()
        .next()
        .context("the sandbox has no seeded citizens")?;
    let aadhaar_number = citizen
        .aadhaar
        .clone()
        .context("the happy citizen has no Aadhaar number")?;

    // The business's page: ask for a PAN as well, then start.
    client.goto(&format!("{base}/demo")).await?;
    let doc_type = wait_for(client, "#doc_type").await?;
    screenshots(client, artifacts, "home").await?;
    doc_type.send_keys("PANCR").await?;
    click(client, "#start").await?;

    // DigiLocker (the embedded sandbox): sign in.
    wait_for(client, "#username")
        .await?
        .send_keys(&aadhaar_number)
        .await?;
    let url = client.current_url().await?;
    ensure!(
        url.as_str().starts_with(&format!("{base}/sandbox/")),
        "Start should lead to the sandbox's sign-in page, but the browser is at {url}"
    );
    click(client, "form button.btn[type=submit]").await?;
    otp_and_pin(client, &citizen.pin).await?;

    // The consent page lists the citizen's documents, with the PAN asked
    // for marked as requested and ticked.
    let allow = wait_for(client, "button[name=decision][value=allow]").await?;
    let boxes = client
        .find_all(Locator::Css("ul.docs input[type=checkbox]"))
        .await?;
    ensure!(
        !boxes.is_empty(),
        "the consent page lists no documents to share"
    );
    let consent_text = client.find(Locator::Css("main")).await?.text().await?;
    ensure!(
        consent_text.contains("PAN"),
        "the consent page does not offer the PAN asked for:\n{consent_text}"
    );
    ensure!(
        consent_text.contains("Requested"),
        "the consent page does not mark the PAN as requested:\n{consent_text}"
    );
    screenshots(client, artifacts, "consent").await?;
    allow.click().await?;

    // Back at the business: consent given, request authenticated.
    let outcome = wait_for(client, "#outcome").await?.text().await?;
    ensure!(
        outcome == "Consent given",
        "the done page says {outcome:?}, expected \"Consent given\""
    );
    let status = client.find(Locator::Id("status")).await?.text().await?;
    ensure!(
        status == "authenticated",
        "the done page shows status {status:?}, expected \"authenticated\""
    );
    let done_url = client.current_url().await?;
    ensure!(
        done_url.path() == "/demo/done",
        "after consent the browser should be on /demo/done, but is at {done_url}"
    );
    // The signed webhook event the consent produced, as the demo business
    // received and verified it.
    let event = wait_for_after_reloads(client, "#webhook-events .event-type", PAGE_TIMEOUT)
        .await?
        .text()
        .await?;
    ensure!(
        event == "digilocker.request.authenticated",
        "the done page shows the webhook event {event:?}, expected digilocker.request.authenticated"
    );
    screenshots(client, artifacts, "done").await?;

    // Verified Aadhaar data: signature checked, number masked.
    click(client, "#fetch-aadhaar").await?;
    let json = result_of(client, "#json").await?;
    ensure!(
        json.contains("\"signature\": true"),
        "the Aadhaar data does not report a verified signature:\n{json}"
    );
    ensure!(
        json.contains("xxxx-xxxx-"),
        "the Aadhaar data shows no masked Aadhaar number:\n{json}"
    );
    ensure!(
        !json.contains(&aadhaar_number),
        "the Aadhaar data shows the full Aadhaar number"
    );
    screenshots(client, artifacts, "aadhaar").await?;

    // Back to the done page; the catalogue is built in the background, so
    // reload until the PAN form is offered.
    client.goto(done_url.as_str()).await?;
    let pan_form = wait_for_after_reloads(client, "#form-PANCR", CATALOGUE_TIMEOUT).await?;
    let inputs = pan_form.find_all(Locator::Css("input[type=text]")).await?;
    ensure!(!inputs.is_empty(), "the PAN form has no parameter inputs");
    for input in &inputs {
        let id = input.attr("id").await?.unwrap_or_default();
        let value = match id.as_str() {
            "PANCR-panno" => PAN_NUMBER,
            "PANCR-PANFullName" => PAN_NAME,
            other => bail!("the PAN form asks for an unexpected parameter {other:?}"),
        };
        input.send_keys(value).await?;
    }
    click(client, "#fetch-PANCR").await?;

    // The result page links to the file; the browser downloads it.
    let download = wait_for_result_link(client).await?;
    download.click().await?;
    let pdf = wait_for_download(downloads).await?;
    let text = pdf_text(&pdf)?;
    ensure!(
        text.contains(PAN_NUMBER),
        "the downloaded PDF {} does not show the PAN typed in:\n{text}",
        pdf.display()
    );
    Ok(())
}

const CONSOLE_PASSWORD: &str = "a console password for the browser test";

/// The operator console in the same browser: sign in, read every page,
/// add and disable a client, redeliver a failed webhook, find a request by
/// its trace id; no page shows a sandbox citizen's name or numbers.
/// Screenshots of each page at desktop and phone width (`console-*.png`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_console_in_headless_chromium() -> anyhow::Result<()> {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: run scripts/install-test-deps.sh, then this test again"
        );
    }
    let Dirs {
        tmp,
        artifacts,
        downloads,
        profile,
    } = Dirs::new()?;
    let mut config = gateway::Config {
        listen: "127.0.0.1:0".parse()?,
        admin_listen: Some("127.0.0.1:0".parse()?),
        console_password: Some(CONSOLE_PASSWORD.to_owned().into()),
        data_dir: tmp.path().join("data"),
        sandbox_catalogue: (60, 240),
        ..Default::default()
    };
    // One attempt per delivery: the webhook that is down fails at once.
    config.webhooks.retry_schedule = Vec::new();
    config.webhooks.poll_interval = Duration::from_millis(200);
    let app = gateway::start(config).await?;
    let driver = Chromedriver::start().await?;
    let client = driver.session(&profile, &downloads).await?;
    let outcome = console_visit(&client, &app, &artifacts).await;
    finish(outcome, client, driver, app, &artifacts).await
}

/// A browser test's directories: screenshots go to `$BROWSER_TEST_ARTIFACTS`
/// when set, the rest under a temporary directory.
struct Dirs {
    tmp: tempfile::TempDir,
    artifacts: PathBuf,
    downloads: PathBuf,
    profile: PathBuf,
}

impl Dirs {
    fn new() -> anyhow::Result<Dirs> {
        let tmp = tempfile::tempdir()?;
        let artifacts = match std::env::var_os("BROWSER_TEST_ARTIFACTS") {
            Some(dir) => PathBuf::from(dir),
            None => tmp.path().join("artifacts"),
        };
        let downloads = tmp.path().join("downloads");
        let profile = tmp.path().join("chromium-profile");
        for dir in [&artifacts, &downloads, &profile] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(Dirs {
            tmp,
            artifacts,
            downloads,
            profile,
        })
    }
}

/// End a browser test: on failure leave the last page (screenshot and
/// HTML) where a person can look; close the browser, chromedriver and the app.
async fn finish(
    outcome: anyhow::Result<()>,
    client: Client,
    driver: Chromedriver,
    app: gateway::RunningApp,
    artifacts: &Path,
) -> anyhow::Result<()> {
    if let Err(e) = &outcome {
        save_failure(&client, artifacts).await;
        eprintln!(
            "browser test failed: {e:#}\n(screenshot and HTML of the last page in {})",
            artifacts.display()
        );
    }
    let closed = client.close().await;
    driver.stop().await;
    app.stop().await;
    outcome?;
    closed.context("closing the browser session")
}

async fn console_visit(
    client: &Client,
    app: &gateway::RunningApp,
    artifacts: &Path,
) -> anyhow::Result<()> {
    let base = app.base_url();
    let admin = format!("http://{}", app.admin_addr.context("no admin listener")?);
    let store = app.state.store.clone();
    let demo = app.state.demo_client.clone().context("no sandbox client")?;

    // The sandbox client's webhook is down while a citizen consents.
    let webhook = store
        .get_client(&demo.client_id)
        .await?
        .context("the sandbox client is not stored")?;
    let working_url = webhook.webhook_url.clone().context("no demo webhook")?;
    let set_url = |url: String| {
        let store = store.clone();
        let w = webhook.clone();
        async move {
            store
                .set_client_webhook(
                    &w.client_id,
                    &gateway::storage::WebhookSettings {
                        url: Some(url),
                        secret: w.webhook_secret,
                        previous_secret: w.webhook_previous_secret,
                        previous_until: w.webhook_previous_until,
                    },
                )
                .await
        }
    };
    set_url("http://127.0.0.1:9/webhook-is-down".into()).await?;
    consent_on_the_demo(client, &base).await?;

    // A request created with a trace id the business would quote.
    let trace = format!("console-test-{}", uuid::Uuid::new_v4().simple());
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/digilocker"))
        .header("x-client-id", &demo.client_id)
        .header("x-client-secret", &demo.client_secret)
        .header("x-product-instance-id", &demo.product_instance_id)
        .header("x-request-id", &trace)
        .json(&json!({"redirectUrl": format!("{base}/demo/done")}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let request_id = created["id"].as_str().context("no request id")?.to_owned();

    // Sign in: a wrong password first.
    let mut pages = Vec::new();
    client.goto(&format!("{admin}/")).await?;
    wait_for(client, "#password")
        .await?
        .send_keys("wrong")
        .await?;
    click(client, "#sign-in").await?;
    let error = wait_for(client, "#error").await?.text().await?;
    ensure!(
        error.contains("Wrong password"),
        "after a wrong password: {error}"
    );
    screenshots(client, artifacts, "console-login").await?;
    wait_for(client, "#password")
        .await?
        .send_keys(CONSOLE_PASSWORD)
        .await?;
    click(client, "#sign-in").await?;

    // Now: the consent is counted.
    wait_for(client, "#funnels").await?;
    let now = page_text(client).await;
    ensure!(
        now.contains("consented: 1"),
        "the funnel shows no consent:\n{now}"
    );
    pages.push(client.source().await?);
    screenshots(client, artifacts, "console-now").await?;

    // Clients: add one; its secret is shown once.
    client.goto(&format!("{admin}/clients")).await?;
    wait_for(client, "#name")
        .await?
        .send_keys("Browser Test Lending")
        .await?;
    pages.push(client.source().await?);
    screenshots(client, artifacts, "console-clients").await?;
    click(client, "#add").await?;
    let headers = wait_for(client, "#headers").await?.text().await?;
    ensure!(
        headers.contains("x-client-secret: "),
        "no secret shown:\n{headers}"
    );
    let added = headers
        .lines()
        .find_map(|l| l.strip_prefix("x-client-id: "))
        .context("no client id shown")?
        .trim()
        .to_owned();
    screenshots(client, artifacts, "console-secret").await?;

    // The sandbox client's failed delivery, redelivered once the webhook works.
    set_url(working_url).await?;
    client
        .goto(&format!("{admin}/clients/{}", demo.client_id))
        .await?;
    wait_for_after_reloads(client, "button.redeliver", PAGE_TIMEOUT).await?;
    pages.push(client.source().await?);
    screenshots(client, artifacts, "console-client").await?;
    click(client, "button.redeliver").await?;
    let deadline = Instant::now() + PAGE_TIMEOUT;
    loop {
        // The page's source, not an element: the page may be reloading.
        let page = client.source().await?;
        if page.contains(">delivered</td>") && !page.contains("redeliver\"") {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the redelivered event was not delivered:\n{}",
            page_text(client).await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        client
            .goto(&format!("{admin}/clients/{}", demo.client_id))
            .await?;
    }

    // Disable the added client, after the confirmation.
    client.goto(&format!("{admin}/clients/{added}")).await?;
    click(client, "#disable").await?;
    let consequence = wait_for(client, "#consequence").await?.text().await?;
    ensure!(consequence.contains("0 live request(s)"), "{consequence}");
    screenshots(client, artifacts, "console-confirm").await?;
    click(client, "#confirm-disable").await?;
    let done = wait_for(client, "#message").await?.text().await?;
    ensure!(done.contains("is disabled"), "{done}");
    let state = store.get_client(&added).await?.context("client gone")?;
    ensure!(state.disabled != 0, "the client is still enabled");

    // A request by the trace id its creation had.
    client.goto(&format!("{admin}/lookup")).await?;
    wait_for(client, "#q").await?.send_keys(&trace).await?;
    click(client, "#find").await?;
    let found = wait_for(client, "#request-id").await?.text().await?;
    ensure!(
        found == request_id,
        "looked up {found}, expected {request_id}"
    );
    pages.push(client.source().await?);
    screenshots(client, artifacts, "console-lookup").await?;

    // Keys and configuration.
    client.goto(&format!("{admin}/keys")).await?;
    wait_for(client, "#keys").await?;
    let keys = page_text(client).await;
    ensure!(
        keys.contains("console_password") && keys.contains("set"),
        "{keys}"
    );
    ensure!(!keys.contains(CONSOLE_PASSWORD), "the password is shown");
    pages.push(client.source().await?);
    screenshots(client, artifacts, "console-keys").await?;

    // No page shows what the sandbox knows of its citizens.
    for citizen in sandbox::seed::citizens() {
        let mut personal = vec![
            citizen.name.clone(),
            citizen.email.clone(),
            citizen.digilocker_id.clone(),
        ];
        personal.extend(citizen.aadhaar.clone());
        personal.extend(citizen.mobile.clone());
        for page in &pages {
            for p in personal.iter().filter(|p| p.len() > 3) {
                ensure!(!page.contains(p.as_str()), "a console page shows {p:?}");
            }
        }
    }

    // Signing out ends the session.
    click(client, "#logout").await?;
    wait_for(client, "#password").await?;
    client.goto(&format!("{admin}/clients")).await?;
    wait_for(client, "#password").await?;
    Ok(())
}

/// The sandbox's sign-in after the Aadhaar number: the OTP, then the PIN.
async fn otp_and_pin(client: &Client, pin: &str) -> anyhow::Result<()> {
    wait_for(client, "#otp")
        .await?
        .send_keys(sandbox::seed::OTP)
        .await?;
    click(client, "form button.btn[type=submit]").await?;
    wait_for(client, "#pin").await?.send_keys(pin).await?;
    click(client, "form button.btn[type=submit]").await
}

/// The happy citizen consents on the demo, as in the journey test.
async fn consent_on_the_demo(client: &Client, base: &str) -> anyhow::Result<()> {
    let citizen = sandbox::seed::citizens()
        .into_iter()
        .next()
        .context("the sandbox has no seeded citizens")?;
    client.goto(&format!("{base}/demo")).await?;
    click(client, "#start").await?;
    wait_for(client, "#username")
        .await?
        .send_keys(citizen.aadhaar.as_deref().unwrap_or_default())
        .await?;
    click(client, "form button.btn[type=submit]").await?;
    otp_and_pin(client, &citizen.pin).await?;
    click(client, "button[name=decision][value=allow]").await?;
    let outcome = wait_for(client, "#outcome").await?.text().await?;
    ensure!(outcome == "Consent given", "the done page says {outcome:?}");
    Ok(())
}

/// chromedriver, started on a port of its own choosing.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    async fn start() -> anyhow::Result<Self> {
        let mut child = Command::new(CHROMEDRIVER)
            // Port 0: chromedriver binds a free port and prints it, so tests
            // running in parallel never race for one.
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Its own process group, so the browsers it starts can be ended
            // with it even when the test panics.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let stdout = child
            .stdout
            .take()
            .context("chromedriver's stdout was not captured")?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(PAGE_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(port) = line
                    .split("started successfully on port ")
                    .nth(1)
                    .map(|rest| rest.trim_end_matches('.').trim().to_owned())
                {
                    return Ok(port.parse::<u16>()?);
                }
            }
            Err(anyhow!("chromedriver exited before it was ready"))
        })
        .await
        .context("chromedriver did not report its port in time")??;
        // Keep reading its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// A new browser session: headless Chromium with a fresh profile,
    /// downloads going to `downloads` without asking.
    async fn session(&self, profile: &Path, downloads: &Path) -> anyhow::Result<Client> {
        let options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                format!("--window-size={},{}", PHONE.0, PHONE.1),
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "plugins.always_open_pdf_externally": true,
                "safebrowsing.enabled": false,
            },
        });
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .with_context(|| format!("starting {CHROMIUM} through chromedriver"))?;
        Ok(client)
    }

    /// End chromedriver and anything it started.
    async fn stop(mut self) {
        self.kill_group();
        let _ = self.child.kill().await;
    }

    fn kill_group(&self) {
        if let Some(pid) = self.child.id() {
            // The group id is chromedriver's pid (process_group(0) above).
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // After a panic the session was not closed: end the browsers too.
        self.kill_group();
    }
}

/// Wait until an element matching `css` is on the page.
async fn wait_for(client: &Client, css: &str) -> anyhow::Result<Element> {
    match client
        .wait()
        .at_most(PAGE_TIMEOUT)
        .every(Duration::from_millis(100))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => Ok(element),
        Err(e) => Err(anyhow!(
            "waited {PAGE_TIMEOUT:?} for {css} ({e}); the browser is at {}:\n{}",
            where_we_are(client).await,
            page_text(client).await
        )),
    }
}

async fn click(client: &Client, css: &str) -> anyhow::Result<()> {
    wait_for(client, css)
        .await?
        .click()
        .await
        .with_context(|| format!("clicking {css}"))
}

/// Reload the page until an element matching `css` appears.
async fn wait_for_after_reloads(
    client: &Client,
    css: &str,
    timeout: Duration,
) -> anyhow::Result<Element> {
    let deadline = Instant::now() + timeout;
    loop {
        wait_for(client, "main").await?;
        if let Ok(element) = client.find(Locator::Css(css)).await {
            return Ok(element);
        }
        if Instant::now() > deadline {
            bail!(
                "{css} did not appear within {timeout:?} of reloading {}:\n{}",
                where_we_are(client).await,
                page_text(client).await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        client.refresh().await?;
    }
}

/// The text of `css` on a demo result page, or the error the page shows.
async fn result_of(client: &Client, css: &str) -> anyhow::Result<String> {
    let shown = wait_for(client, &format!("{css}, #error")).await?;
    let text = shown.text().await?;
    if shown.attr("id").await?.as_deref() == Some("error") {
        bail!("the demo shows an error instead of {css}: {text}");
    }
    Ok(text)
}

/// The download link on a demo result page, or the error the page shows.
async fn wait_for_result_link(client: &Client) -> anyhow::Result<Element> {
    let shown = wait_for(client, "#download, #error").await?;
    if shown.attr("id").await?.as_deref() == Some("error") {
        bail!(
            "fetching the PAN failed; the demo says: {}",
            shown.text().await?
        );
    }
    Ok(shown)
}

/// Wait for a finished download (Chromium writes `*.crdownload` and renames
/// it when done) and check that it is a PDF.
async fn wait_for_download(dir: &Path) -> anyhow::Result<PathBuf> {
    let deadline = Instant::now() + PAGE_TIMEOUT;
    loop {
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.ends_with(".crdownload") || name.starts_with('.') {
                seen.push(name.into_owned());
                continue;
            }
            let bytes = std::fs::read(&path)?;
            ensure!(
                bytes.starts_with(b"%PDF"),
                "the downloaded file {name} is not a PDF (starts with {:?})",
                String::from_utf8_lossy(&bytes[..bytes.len().min(16)])
            );
            return Ok(path);
        }
        if Instant::now() > deadline {
            bail!(
                "no finished download in {} after {PAGE_TIMEOUT:?} (partial: {seen:?})",
                dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn pdf_text(pdf: &Path) -> anyhow::Result<String> {
    let out = std::process::Command::new(PDFTOTEXT)
        .arg(pdf)
        .arg("-")
        .output()
        .with_context(|| format!("running {PDFTOTEXT}"))?;
    ensure!(
        out.status.success(),
        "pdftotext cannot read the downloaded file {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Screenshots of the current page at phone and desktop size, leaving the
/// window phone-sized.
async fn screenshots(client: &Client, dir: &Path, name: &str) -> anyhow::Result<()> {
    for (label, (w, h)) in [("desktop", DESKTOP), ("phone", PHONE)] {
        client.set_window_size(w, h).await?;
        let png = client.screenshot().await?;
        let path = dir.join(format!("{name}-{label}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn save_failure(client: &Client, dir: &Path) {
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join("failure.png"), png);
    }
    if let Ok(html) = client.source().await {
        let _ = std::fs::write(dir.join("failure.html"), html);
    }
}

async fn where_we_are(client: &Client) -> String {
    client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_else(|e| format!("(unknown: {e})"))
}

async fn page_text(client: &Client) -> String {
    match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

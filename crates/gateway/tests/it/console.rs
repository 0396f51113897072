//! The operator console over HTTP: only on the admin listener, signed in
//! with the configured password behind strict cookies, CSRF on every form,
//! a lockout after wrong passwords, and its actions in the audit trail.

use std::time::Duration;

use gateway::config::ConfigRefused;
use gateway::Config;
use serde_json::json;

use crate::harness::{assert_error, TestApp, BUSINESS};

const PASSWORD: &str = "correct horse battery staple";

async fn spawn() -> (TestApp, String) {
    let t = TestApp::spawn_with(|c: &mut Config| {
        c.admin_listen = Some("127.0.0.1:0".parse().unwrap());
        c.console_password = Some(PASSWORD.to_owned().into());
    })
    .await;
    let admin = format!("http://{}", t.app.admin_addr.unwrap());
    (t, admin)
}

/// A browser-like client: keeps cookies, follows no redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The value of `<input ... name="csrf" value="...">` in a page.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn login_page(b: &reqwest::Client, admin: &str) -> String {
    let r = b.get(format!("{admin}/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

async fn sign_in_with(b: &reqwest::Client, admin: &str, password: &str) -> reqwest::Response {
    let csrf = csrf_of(&login_page(b, admin).await);
    b.post(format!("{admin}/login"))
        .form(&[("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

/// Signed in: the browser and the CSRF token of its session.
async fn signed_in(admin: &str) -> (reqwest::Client, String) {
    let b = browser();
    let r = sign_in_with(&b, admin, PASSWORD).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let now = b.get(format!("{admin}/")).send().await.unwrap();
    assert_eq!(now.status(), 200);
    let csrf = csrf_of(&now.text().await.unwrap());
    (b, csrf)
}

async fn page(b: &reqwest::Client, url: &str) -> (u16, String) {
    let r = b.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_console_is_on_the_admin_listener_only_behind_a_strict_cookie() {
    let (t, admin) = spawn().await;
    // Never on the public port (where `/` is the sandbox's demo).
    for path in ["/login", "/clients", "/keys", "/lookup"] {
        let (s, body) = TestApp::send(t.http.get(t.url(path))).await;
        assert_error(s, &body, 404, "not_found");
    }
    let r = t.http.get(t.url("/")).send().await.unwrap();
    assert_ne!(
        r.headers().get("location").map(|l| l.as_bytes()),
        Some(&b"/login"[..])
    );
    assert!(!r.text().await.unwrap().contains("operator console"));
    let (s, body) =
        TestApp::send(t.http.post(t.url("/login")).form(&[("password", PASSWORD)])).await;
    assert_error(s, &body, 404, "not_found");

    // On the admin listener: signed out, every page sends to the sign-in form.
    for path in ["/", "/clients", "/keys", "/lookup?q=x", "/clients/cl_x"] {
        let r = t.http.get(format!("{admin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/login", "{path}");
    }
    // The probes and metrics are still there.
    assert_eq!(page(&t.http, &format!("{admin}/metrics")).await.0, 200);

    // The cookies: HttpOnly, SameSite=Strict; Secure only over https.
    let b = browser();
    let r = sign_in_with(&b, &admin, PASSWORD).await;
    assert_eq!(r.status(), 303);
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("console_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(!session.contains("Secure"), "plain http: {session}");
    let proxied = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = proxied
        .get(format!("{admin}/login"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let login_cookie = set_cookies(&login).join("\n");
    let csrf = csrf_of(&login.text().await.unwrap());
    let token = login_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("console_login=")
        .to_owned();
    let r = proxied
        .post(format!("{admin}/login"))
        .header("x-forwarded-proto", "https")
        .header("cookie", format!("console_login={token}"))
        .form(&[("password", PASSWORD), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = set_cookies(&r).join("\n");
    assert!(
        session.contains("console_session=") && session.contains("; Secure"),
        "{session}"
    );
    assert!(login_cookie.contains("; Secure"), "{login_cookie}");

    // Signed in, every page reads, never cached; signed out, none does.
    for path in ["/", "/clients", "/keys", "/lookup"] {
        let r = b.get(format!("{admin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
    }
    let (_, home) = page(&b, &format!("{admin}/")).await;
    let r = b
        .post(format!("{admin}/logout"))
        .form(&[("csrf", csrf_of(&home))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = b.get(format!("{admin}/")).send().await.unwrap();
    assert_eq!(r.status(), 303, "signed out");
}

#[tokio::test]
async fn wrong_passwords_lock_the_console_out_even_for_the_right_one() {
    let (t, admin) = spawn().await;
    let b = browser();
    for attempt in 1..=4 {
        let r = sign_in_with(&b, &admin, "not the password at all").await;
        assert_eq!(r.status(), 401, "attempt {attempt}");
        assert!(r.text().await.unwrap().contains("Wrong password"));
    }
    let r = sign_in_with(&b, &admin, "still not the password").await;
    assert_eq!(r.status(), 429, "the fifth wrong one locks");
    // Locked: the right password is refused too, without a session.
    let r = sign_in_with(&b, &admin, PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert!(set_cookies(&r)
        .iter()
        .all(|c| !c.starts_with("console_session=")));
    assert!(r.text().await.unwrap().contains("locked until"));
    assert_eq!(page(&b, &format!("{admin}/")).await.0, 303);
    // Fifteen minutes on, the right password signs in.
    t.clock.advance(15 * 60 + 1);
    let r = sign_in_with(&b, &admin, PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(page(&b, &format!("{admin}/")).await.0, 200);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let (t, admin) = spawn().await;
    // The sign-in form itself.
    let b = browser();
    login_page(&b, &admin).await;
    let r = b
        .post(format!("{admin}/login"))
        .form(&[("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(page(&b, &format!("{admin}/")).await.0, 303, "not signed in");

    let (b, csrf) = signed_in(&admin).await;
    let before = t.app.state.store.list_clients().await.unwrap().len();
    for token in ["", "forged-token"] {
        let r = b
            .post(format!("{admin}/clients"))
            .form(&[("name", "Forged Ltd"), ("csrf", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "csrf {token:?}");
    }
    let r = b
        .post(format!("{admin}/clients/{}/disable", t.creds.id))
        .form(&[("confirm", t.creds.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        t.app.state.store.list_clients().await.unwrap().len(),
        before
    );
    let c = t
        .app
        .state
        .store
        .get_client(&t.creds.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.disabled, 0, "the client is still enabled");
    // Another session's token is no better.
    let (_, other_csrf) = signed_in(&admin).await;
    assert_ne!(other_csrf, csrf);
    let r = b
        .post(format!("{admin}/clients"))
        .form(&[("name", "Forged Ltd"), ("csrf", other_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn clients_are_added_and_disabled_from_the_console_and_audited() {
    let (t, admin) = spawn().await;
    let (b, csrf) = signed_in(&admin).await;
    let r = b
        .post(format!("{admin}/clients"))
        .form(&[
            ("name", "Acme Lending"),
            ("origins", "https://acme.example"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let shown = r.text().await.unwrap();
    let header = |name: &str| {
        let at = shown.find(&format!("{name}: ")).unwrap() + name.len() + 2;
        shown[at..]
            .split(|c: char| c.is_whitespace() || c == '<')
            .next()
            .unwrap()
            .to_owned()
    };
    let (id, secret, instance) = (
        header("x-client-id"),
        header("x-client-secret"),
        header("x-product-instance-id"),
    );
    // The new client works with the secret shown once.
    let creds = crate::harness::Creds {
        id: id.clone(),
        secret,
        instance,
    };
    let created = t
        .create_for(&creds, json!({"redirectUrl": "https://acme.example/done"}))
        .await;
    let (_, list) = page(&b, &format!("{admin}/clients")).await;
    assert!(list.contains(&id) && list.contains("Acme Lending"));

    // Disabling asks first, with the count of live requests it erases.
    let (s, confirm) = page(&b, &format!("{admin}/clients/{id}/disable")).await;
    assert_eq!(s, 200);
    assert!(
        confirm.contains("<strong id=\"live\">1</strong>"),
        "{confirm}"
    );
    let r = b
        .post(format!("{admin}/clients/{id}/disable"))
        .form(&[("csrf", csrf.as_str()), ("confirm", "cl_someone_else")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "not confirmed");
    let r = b
        .post(format!("{admin}/clients/{id}/disable"))
        .form(&[("csrf", csrf.as_str()), ("confirm", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("1 live request(s) erased"));
    let (s, body) = t
        .get(
            &format!("/api/digilocker/{}/status", created["id"].as_str().unwrap()),
            &creds,
        )
        .await;
    assert_error(s, &body, 401, "unauthorized");

    // Both actions are in the client's audit trail, with the session.
    let (_, home) = page(&b, &format!("{admin}/")).await;
    let session = home
        .split("id=\"session\">session ")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let events = t
        .app
        .state
        .store
        .client_events(&id, 0, 0, 100)
        .await
        .unwrap();
    let actions: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.kind == "operator_action")
        .map(|e| {
            let d: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
            (
                d["action"].as_str().unwrap().to_owned(),
                d["operator"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let by = format!("console:{session}");
    assert_eq!(
        actions,
        vec![
            ("client_added".to_owned(), by.clone()),
            ("client_disabled".to_owned(), by)
        ]
    );

    // Enable and rotate, also with the token only.
    let r = b
        .post(format!("{admin}/clients/{id}/enable"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Rotating asks first: a post that does not name the client changes
    // nothing, and the secret still works.
    let (s, confirm) = page(&b, &format!("{admin}/clients/{id}/rotate-secret")).await;
    assert_eq!(s, 200);
    assert!(confirm.contains("stops working at once"), "{confirm}");
    assert!(confirm.contains("id=\"confirm-rotate\""), "{confirm}");
    let r = b
        .post(format!("{admin}/clients/{id}/rotate-secret"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("secret not rotated"));
    let (s, body) = TestApp::send(
        t.req(reqwest::Method::POST, "/api/digilocker", &creds)
            .json(&json!({"redirectUrl": "https://acme.example/done"})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let r = b
        .post(format!("{admin}/clients/{id}/rotate-secret"))
        .form(&[("csrf", csrf.as_str()), ("confirm", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, body) = TestApp::send(
        t.req(reqwest::Method::POST, "/api/digilocker", &creds)
            .json(&json!({"redirectUrl": "https://acme.example/done"})),
    )
    .await;
    assert_error(s, &body, 401, "unauthorized");
}

#[tokio::test]
async fn a_request_is_found_by_its_trace_id_with_its_audit_trail() {
    let (t, admin) = spawn().await;
    let trace = format!("trace-{}", uuid::Uuid::new_v4().simple());
    let (s, created) = TestApp::send(
        t.req(reqwest::Method::POST, "/api/digilocker", &t.creds)
            .header("x-request-id", &trace)
            .json(&json!({"redirectUrl": BUSINESS})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    // The error answers are counted by code on the Now page.
    let (s, _) = t
        .get("/api/digilocker/not-a-request/status", &t.creds)
        .await;
    assert_eq!(s, 404);

    let (b, _) = signed_in(&admin).await;
    for q in [trace.as_str(), id] {
        let (s, found) = page(&b, &format!("{admin}/lookup?q={q}")).await;
        assert_eq!(s, 200);
        assert!(
            found.contains(&format!("<span class=\"id\" id=\"request-id\">{id}</span>")),
            "{q}: {found}"
        );
        assert!(found.contains(">created</td>"), "{found}");
    }
    let (_, none) = page(&b, &format!("{admin}/lookup?q=no-such-trace")).await;
    assert!(none.contains("No request has the id or trace id no-such-trace"));
    let (_, odd) = page(&b, &format!("{admin}/lookup?q=%25%27%3Cscript%3E")).await;
    assert!(
        odd.contains("at most 64 letters") && !odd.contains("<script>"),
        "{odd}"
    );

    let (_, now) = page(&b, &format!("{admin}/")).await;
    assert!(now.contains("<code>request_not_found</code>"), "{now}");
    assert!(
        now.contains("created: 1"),
        "the funnel counts the request: {now}"
    );
}

#[tokio::test]
async fn a_short_console_password_or_one_without_an_admin_listener_refuses_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let base = || Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        background_tasks: false,
        ..Config::default()
    };
    let short = Config {
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        console_password: Some("too-short".to_owned().into()),
        ..base()
    };
    let no_admin = Config {
        console_password: Some(PASSWORD.to_owned().into()),
        ..base()
    };
    for (config, says) in [(short, "at least 16"), (no_admin, "admin_listen")] {
        let err = gateway::start(config).await.err().expect("refused");
        assert!(err.downcast_ref::<ConfigRefused>().is_some(), "{err:#}");
        let text = format!("{err:#}");
        assert!(
            text.contains("console_password") && text.contains(says),
            "{text}"
        );
        assert!(
            !text.contains("too-short"),
            "the password itself is never said"
        );
    }
}

#[tokio::test]
async fn the_command_lines_client_changes_are_audited_as_the_cli() {
    let (t, _) = spawn().await;
    crate::hostile::gateway_cli(&t, &["client", "rotate-secret", &t.creds.id]).await;
    crate::hostile::gateway_cli(&t, &["client", "disable", "--yes", &t.creds.id]).await;
    let events = t
        .app
        .state
        .store
        .client_events(&t.creds.id, 0, 0, 100)
        .await
        .unwrap();
    let actions: Vec<serde_json::Value> = events
        .iter()
        .filter(|e| e.kind == "operator_action" && e.request_id.is_empty())
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(actions[0]["action"], "secret_rotated");
    assert_eq!(actions[1]["action"], "client_disabled");
    assert_eq!(actions[1]["erased"], 0);
    assert!(
        actions.iter().all(|a| a["operator"] == "cli"),
        "{actions:?}"
    );
}

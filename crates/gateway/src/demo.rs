//! The demo page (sandbox mode): a person walks the whole journey in a
//! browser. The demo plays the business: its server side calls our public
//! API over HTTP with the sandbox client's credentials, exactly as an
//! integrating business would; the browser never sees the secret.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::state::AppState;
use crate::webhooks::inbox::{self, Inbox, Received};
use axum::Extension;
use std::sync::Arc;

/// How long the done page waits for its request's first webhook event.
const EVENT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);

/// The cookie binding a demo request to the browser that started it.
const SESSION_COOKIE: &str = "demo_session";
/// Demo sessions remembered (the oldest go first).
const MAX_SESSIONS: usize = 10_000;

/// Which browser started which demo request: the demo's pages show a
/// request's details (the user's Aadhaar, e-mail, phone) only to the
/// browser session that started it, not to whoever has its id.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: std::sync::Mutex<(
        std::collections::HashMap<String, String>,
        std::collections::VecDeque<String>,
    )>,
}

impl Sessions {
    fn remember(&self, request_id: &str, session: &str) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let (owners, order) = &mut *inner;
        if owners.len() >= MAX_SESSIONS {
            if let Some(oldest) = order.pop_front() {
                owners.remove(&oldest);
            }
        }
        owners.insert(request_id.to_owned(), session.to_owned());
        order.push_back(request_id.to_owned());
    }

    /// Whether `headers` carry the session that started `request_id`.
    fn owns(&self, request_id: &str, headers: &axum::http::HeaderMap) -> bool {
        let Some(session) = session_of(headers) else {
            return false;
        };
        self.inner.lock().is_ok_and(|inner| {
            inner.0.get(request_id).is_some_and(|owner| {
                use subtle::ConstantTimeEq;
                bool::from(owner.as_bytes().ct_eq(session.as_bytes()))
            })
        })
    }
}

/// The demo session cookie's value, if the browser sent one.
fn session_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
}

/// Routes under `/demo`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/demo") }))
        .route("/demo", get(home))
        .route("/demo/start", post(start))
        .route("/demo/done", get(done))
        .route("/demo/fetch", post(fetch))
        .route("/demo/aadhaar", post(aadhaar))
        .route(inbox::PATH, post(inbox::receive))
        .route("/demo/events", get(events))
        .layer(Extension(Arc::new(Inbox::default())))
        .layer(Extension(Arc::new(Sessions::default())))
}

#[derive(Template)]
#[template(path = "demo_home.html")]
struct HomePage {
    aadhaar: String,
    otp: &'static str,
    pin: String,
}

#[derive(Template)]
#[template(path = "demo_done.html")]
struct DonePage {
    /// The API knows the request as one of the demo client's; when not,
    /// the page shows nothing but that.
    known: bool,
    success: bool,
    id: String,
    scope: String,
    err_code: String,
    err_message: String,
    status: String,
    details: String,
    documents: Vec<DemoDoc>,
    /// Webhook events the demo's receiver verified for this request.
    events: Vec<Received>,
    events_url: String,
}

/// `/demo/events?id=`: the webhook events received for a request.
#[derive(Template)]
#[template(path = "demo_events.html")]
struct EventsPage {
    id: String,
    events: Vec<Received>,
    events_url: String,
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    id: String,
}

fn events_url(id: &str) -> String {
    format!("/demo/events?id={}", urlencode(id))
}

async fn events(
    Extension(inbox): Extension<Arc<Inbox>>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    let events = if sessions.owns(&q.id, &headers) {
        inbox.events(&q.id)
    } else {
        Vec::new()
    };
    html(EventsPage {
        events,
        events_url: events_url(&q.id),
        id: q.id,
    })
}

struct DemoDoc {
    doc_type: String,
    org_id: String,
    org_name: String,
    description: String,
    params: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "demo_result.html")]
struct ResultPage {
    title: String,
    file_url: String,
    valid_upto: String,
    json: String,
    error: String,
}

fn html<T: Template>(t: T) -> Response {
    match t.render() {
        Ok(body) => (
            StatusCode::OK,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            Html(body),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Call our own public API as the sandbox client would.
async fn api(
    state: &AppState,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let creds = state.demo_client.as_ref().ok_or("not in sandbox mode")?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let base = format!(
        "http://127.0.0.1:{}",
        state.public_base.port_or_known_default().unwrap_or(80)
    );
    let mut req = http
        .request(method, format!("{base}{path}"))
        .header("x-client-id", &creds.client_id)
        .header("x-client-secret", &creds.client_secret)
        .header("x-product-instance-id", &creds.product_instance_id);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let ok = resp.status().is_success();
    let value: Value = resp.json().await.map_err(|e| e.to_string())?;
    if ok {
        Ok(value)
    } else {
        Err(value["error"]["code"]
            .as_str()
            .map(|c| format!("{c}: {}", value["error"]["detail"].as_str().unwrap_or("")))
            .unwrap_or_else(|| value.to_string()))
    }
}

async fn home() -> Response {
    let citizen = sandbox::seed::all().first();
    html(HomePage {
        aadhaar: citizen.and_then(|c| c.aadhaar.clone()).unwrap_or_default(),
        otp: sandbox::seed::OTP,
        pin: citizen.map(|c| c.pin.clone()).unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    doc_type: String,
}

async fn start(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: axum::http::HeaderMap,
    Form(form): Form<StartForm>,
) -> Response {
    // The browser's demo session (a new one when it has none).
    let session = session_of(&headers).unwrap_or_else(crate::crypto::random_token);
    let mut body =
        serde_json::json!({"redirectUrl": state.public_url("/demo/done?demoSession=browser")});
    if !form.doc_type.trim().is_empty() {
        body["docType"] = Value::String(form.doc_type.trim().to_owned());
    }
    match api(&state, reqwest::Method::POST, "/api/digilocker", Some(body)).await {
        Ok(v) => match (v["url"].as_str(), v["id"].as_str()) {
            (Some(url), Some(id)) => {
                sessions.remember(id, &session);
                let secure = if state.public_base.scheme() == "https" {
                    "; Secure"
                } else {
                    ""
                };
                (
                    [(
                        axum::http::header::SET_COOKIE,
                        format!("{SESSION_COOKIE}={session}; Path=/demo; HttpOnly; SameSite=Lax{secure}"),
                    )],
                    Redirect::to(url),
                )
                    .into_response()
            }
            _ => (StatusCode::BAD_GATEWAY, "no url in the answer").into_response(),
        },
        Err(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
    }
}

#[derive(Deserialize)]
struct DoneQuery {
    id: Option<String>,
    scope: Option<String>,
    #[serde(rename = "errCode")]
    err_code: Option<String>,
    #[serde(rename = "errMessage")]
    err_message: Option<String>,
}

/// Catalogue entries the demo offers: a few well-known ones.
async fn demo_documents(state: &AppState) -> Vec<DemoDoc> {
    let Ok(Some(snapshot)) = state.catalogue.snapshot(state.store.as_ref()).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for wanted in ["PANCR", "DRVLC", "PRFND", "SSCER"] {
        if let Some(d) = snapshot
            .entries
            .iter()
            .map(|e| &e.document)
            .find(|d| d.doc_type == wanted)
        {
            out.push(DemoDoc {
                doc_type: d.doc_type.clone(),
                org_id: d.org_id.clone(),
                org_name: d.org_name.clone(),
                description: d.description.clone(),
                params: d
                    .parameters
                    .iter()
                    .map(|p| (p.name.clone(), p.description.clone()))
                    .collect(),
            });
        }
    }
    out
}

/// Where the journey comes back to. Everything shown about the request
/// comes from the API's answer to the demo client, so an id of another
/// client's request shows nothing but "no such request"; the query's
/// `scope` and error are shown only beside the demo's own request.
async fn done(
    State(state): State<AppState>,
    Extension(inbox): Extension<Arc<Inbox>>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let asked = q.id.unwrap_or_default();
    let answer = if sessions.owns(&asked, &headers) {
        api(
            &state,
            reqwest::Method::GET,
            &format!("/api/digilocker/{}/status", urlencode(&asked)),
            None,
        )
        .await
    } else {
        Err("no such request in this browser's demo".to_owned())
    };
    let page = match answer {
        Ok(v) => {
            let status = v["status"].as_str().unwrap_or("").to_owned();
            let success = status == "authenticated";
            let id = v["id"].as_str().unwrap_or("").to_owned();
            let events = inbox.events_when_any(&id, EVENT_PATIENCE).await;
            DonePage {
                known: true,
                success,
                events_url: events_url(&id),
                events,
                id,
                scope: if success {
                    q.scope.unwrap_or_default()
                } else {
                    String::new()
                },
                err_code: q.err_code.unwrap_or_default(),
                err_message: q.err_message.unwrap_or_default(),
                status,
                details: serde_json::to_string_pretty(&v["digilockerUserDetails"])
                    .unwrap_or_default(),
                documents: if success {
                    demo_documents(&state).await
                } else {
                    Vec::new()
                },
            }
        }
        Err(e) => DonePage {
            known: false,
            success: false,
            id: String::new(),
            scope: String::new(),
            err_code: String::new(),
            err_message: String::new(),
            status: e,
            details: String::new(),
            documents: Vec::new(),
            events: Vec::new(),
            events_url: String::new(),
        },
    };
    html(page)
}

/// A demo page for a request this browser did not start: nothing of it.
fn not_this_browsers(_id: &str) -> Response {
    html(ResultPage {
        title: "No such request".into(),
        file_url: String::new(),
        valid_upto: String::new(),
        json: String::new(),
        error: "no such request in this browser's demo: start one from the demo page".into(),
    })
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn fetch(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: axum::http::HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let id = get("id");
    if !sessions.owns(&id, &headers) {
        return not_this_browsers(&id);
    }
    let params: Vec<Value> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("param_")
                .map(|name| serde_json::json!({"name": name, "value": v}))
        })
        .collect();
    let body = serde_json::json!({
        "docType": get("docType"), "orgId": get("orgId"), "format": "pdf", "consent": "Y", "parameters": params,
    });
    let result = api(
        &state,
        reqwest::Method::POST,
        &format!("/api/digilocker/{}/document", urlencode(&id)),
        Some(body),
    )
    .await;
    let (file_url, valid_upto, error) = match result {
        Ok(v) => (
            v["fileUrl"].as_str().unwrap_or("").to_owned(),
            v["validUpto"].as_str().unwrap_or("").to_owned(),
            String::new(),
        ),
        Err(e) => (String::new(), String::new(), e),
    };
    html(ResultPage {
        title: format!("{} from {}", get("docType"), get("orgId")),
        file_url,
        valid_upto,
        json: String::new(),
        error,
    })
}

async fn aadhaar(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: axum::http::HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let id = form
        .iter()
        .find(|(n, _)| n == "id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if !sessions.owns(&id, &headers) {
        return not_this_browsers(&id);
    }
    let result = api(
        &state,
        reqwest::Method::GET,
        &format!("/api/digilocker/{}/aadhaar", urlencode(&id)),
        None,
    )
    .await;
    let (json, file_url, error) = match result {
        Ok(mut v) => {
            let file_url = v["aadhaar"]["xml"]["fileUrl"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            if let Some(photo) = v["aadhaar"].get_mut("photo") {
                *photo = Value::String("(base64 JPEG, omitted here)".into());
            }
            (
                serde_json::to_string_pretty(&v).unwrap_or_default(),
                file_url,
                String::new(),
            )
        }
        Err(e) => (String::new(), String::new(), e),
    };
    html(ResultPage {
        title: "Aadhaar (e-KYC)".into(),
        file_url,
        valid_upto: String::new(),
        json,
        error,
    })
}

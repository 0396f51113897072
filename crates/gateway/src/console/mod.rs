//! The operator console: server-rendered pages on the admin listener only
//! (`admin_listen`), when `console_password` is set. Now (journeys, errors,
//! DigiLocker, catalogue), clients and their webhooks, a request's audit
//! trail by id or trace id, keys and configuration. No JavaScript, no
//! personal data: ids, counts, codes and times. Every change it makes is an
//! [`crate::operator`] action, recorded with the console session's id.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::operator::{self, Operator};
use crate::state::AppState;

pub mod pages;
pub mod session;

use pages::Frame;
use session::{Guard, Session, SignIn};

/// The console's routes' state: the app's, and the console's guard.
#[derive(Clone)]
pub struct ConsoleState {
    app: AppState,
    guard: Arc<Guard>,
    /// The public and admin listeners' addresses.
    bound: [std::net::SocketAddr; 2],
}

/// The console's routes, when `console_password` is set.
pub fn router(state: &AppState, bound: [std::net::SocketAddr; 2]) -> Option<Router<AppState>> {
    let password = state.config.console_password.as_ref()?;
    let console = ConsoleState {
        app: state.clone(),
        guard: Arc::new(Guard::new(password)),
        bound,
    };
    Some(
        Router::new()
            .route("/", get(now))
            .route("/login", get(login_form).post(login))
            .route("/logout", post(logout))
            .route("/clients", get(clients).post(add_client))
            .route("/clients/{id}", get(client))
            .route("/clients/{id}/disable", get(confirm_disable).post(disable))
            .route("/clients/{id}/enable", post(enable))
            .route(
                "/clients/{id}/rotate-secret",
                get(confirm_rotate).post(rotate_secret),
            )
            .route("/clients/{id}/redeliver", post(redeliver))
            .route("/lookup", get(lookup))
            .route("/keys", get(keys))
            .with_state(console),
    )
}

/// An HTML page, never cached.
fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a console page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn message(frame: Option<Frame>, status: StatusCode, title: &str, text: String) -> Response {
    let back = match &frame {
        Some(f) if f.tab == "clients" => "/clients",
        Some(_) => "/",
        None => "/login",
    };
    html(
        status,
        &pages::Message {
            frame,
            title: title.to_owned(),
            text,
            back: back.to_owned(),
        },
    )
}

/// A page that could not be read (the database, as a rule): said plainly.
fn failed(frame: Frame, e: &anyhow::Error) -> Response {
    tracing::warn!(error = %format!("{e:#}"), "operator console");
    message(
        Some(frame),
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available right now",
        format!("{e:#}"),
    )
}

/// A signed-in operator: every page but the sign-in form needs one; without
/// it the browser is sent to `/login`.
pub struct Signed {
    session: Session,
}

impl Signed {
    fn frame(&self, tab: &'static str) -> Frame {
        Frame {
            session_id: self.session.id.clone(),
            csrf: self.session.csrf.clone(),
            tab,
        }
    }

    fn operator(&self) -> Operator {
        Operator::console(&self.session.id)
    }

    /// The refusal of a form whose CSRF token is not this session's.
    fn refuse_forged(&self, csrf: &str, tab: &'static str) -> Option<Response> {
        if session::same(csrf, &self.session.csrf) {
            None
        } else {
            tracing::warn!(session = %self.session.id, "operator console: a form without its CSRF token refused");
            Some(message(
                Some(self.frame(tab)),
                StatusCode::FORBIDDEN,
                "Refused",
                "This form did not come from this console session (its CSRF token is missing or \
                 wrong): nothing was done. Open the page again and resubmit."
                    .into(),
            ))
        }
    }
}

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        match state.guard.session(&parts.headers, state.app.now()) {
            Some(session) => Ok(Signed { session }),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// A form posted by a signed-in operator that carries this session's CSRF
/// token: the only way a handler gets a form, so none can forget the check.
/// Without the session: to `/login`; without the token: `403`, nothing done.
pub struct Posted<T> {
    signed: Signed,
    form: T,
}

/// The fields of a posted form, and its CSRF token.
#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<ConsoleState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let Form(posted) = Form::<WithCsrf<T>>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(refused) = signed.refuse_forged(&posted.csrf, "clients") {
            return Err(refused);
        }
        Ok(Posted {
            signed,
            form: posted.form,
        })
    }
}

/// A form of no fields but its CSRF token.
#[derive(Deserialize)]
struct NoFields {}

async fn login_form(State(s): State<ConsoleState>, headers: HeaderMap) -> Response {
    if s.guard.session(&headers, s.app.now()).is_some() {
        return Redirect::to("/").into_response();
    }
    login_page(StatusCode::OK, None, &headers)
}

/// The sign-in form with a fresh CSRF token, double-submitted: in the form
/// and in its own cookie.
fn login_page(status: StatusCode, error: Option<String>, headers: &HeaderMap) -> Response {
    let csrf = crate::crypto::random_token();
    let mut response = html(
        status,
        &pages::Login {
            frame: None,
            csrf: csrf.clone(),
            error,
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            session::LOGIN_COOKIE,
            &csrf,
            3600,
            session::over_https(headers),
        ),
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = session::cookie(&headers, session::LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same(&form.csrf, &expected) {
        tracing::warn!("operator console: a sign-in without its CSRF token refused");
        return login_page(
            StatusCode::FORBIDDEN,
            Some("This form did not come from this console (its CSRF token is missing or wrong). Sign in again.".into()),
            &headers,
        );
    }
    match s.guard.sign_in(&form.password, s.app.now()) {
        SignIn::Ok(cookie, _) => {
            let secure = session::over_https(&headers);
            let mut response = Redirect::to("/").into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                session::set_cookie(
                    session::SESSION_COOKIE,
                    &cookie,
                    session::SESSION_COOKIE_MAX_AGE,
                    secure,
                ),
            );
            h.append(
                header::SET_COOKIE,
                session::set_cookie(session::LOGIN_COOKIE, "", 0, secure),
            );
            response
        }
        SignIn::Wrong => login_page(
            StatusCode::UNAUTHORIZED,
            Some("Wrong password.".into()),
            &headers,
        ),
        SignIn::Locked(until) => {
            let mut response = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many wrong passwords: signing in is locked until {}.",
                    crate::timefmt::ist(until)
                )),
                &headers,
            );
            let wait = (until - s.app.now()).max(1);
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

async fn logout(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    _: Posted<NoFields>,
) -> Response {
    s.guard.sign_out(&headers);
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            session::SESSION_COOKIE,
            "",
            0,
            session::over_https(&headers),
        ),
    );
    response
}

async fn now(State(s): State<ConsoleState>, signed: Signed) -> Response {
    match pages::Now::read(&s.app, signed.frame("now")).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failed(signed.frame("now"), &e),
    }
}

async fn clients(State(s): State<ConsoleState>, signed: Signed) -> Response {
    match pages::Clients::read(&s.app, signed.frame("clients")).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failed(signed.frame("clients"), &e),
    }
}

#[derive(Deserialize)]
struct AddForm {
    #[serde(default)]
    name: String,
    /// Origins separated by spaces, commas or lines.
    #[serde(default)]
    origins: String,
}

async fn add_client(
    State(s): State<ConsoleState>,
    Posted { signed, form }: Posted<AddForm>,
) -> Response {
    let origins: Vec<String> = form
        .origins
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    let store = s.app.store.as_ref();
    match operator::add_client(store, &signed.operator(), &form.name, &origins, s.app.now()).await {
        Ok(added) => {
            s.app.clients.invalidate();
            html(
                StatusCode::OK,
                &pages::Secret {
                    frame: Some(signed.frame("clients")),
                    title: "Client added".into(),
                    client_id: added.client_id,
                    secret: added.secret,
                    product_instance_id: Some(added.product_instance_id),
                },
            )
        }
        Err(e) => refused(&signed, &e),
    }
}

/// An action the input or the state did not allow: said, nothing done.
fn refused(signed: &Signed, e: &anyhow::Error) -> Response {
    message(
        Some(signed.frame("clients")),
        StatusCode::BAD_REQUEST,
        "Not done",
        format!("{e:#}"),
    )
}

fn no_client(signed: &Signed, id: &str) -> Response {
    message(
        Some(signed.frame("clients")),
        StatusCode::NOT_FOUND,
        "No such client",
        format!("There is no client {id}."),
    )
}

async fn client(State(s): State<ConsoleState>, signed: Signed, Path(id): Path<String>) -> Response {
    match pages::Client::read(&s.app, signed.frame("clients"), &id).await {
        Ok(Some(page)) => html(StatusCode::OK, &page),
        Ok(None) => no_client(&signed, &id),
        Err(e) => failed(signed.frame("clients"), &e),
    }
}

async fn confirm_disable(
    State(s): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let store = s.app.store.as_ref();
    let read = async {
        let Some(c) = store.get_client(&id).await? else {
            return Ok(None);
        };
        let live = store.count_client_live_requests(&id).await?;
        anyhow::Ok(Some((c, live)))
    };
    match read.await {
        Ok(Some((c, live))) => html(
            StatusCode::OK,
            &pages::ConfirmDisable {
                frame: Some(signed.frame("clients")),
                id: c.client_id,
                name: c.name,
                live,
            },
        ),
        Ok(None) => no_client(&signed, &id),
        Err(e) => failed(signed.frame("clients"), &e),
    }
}

async fn confirm_rotate(
    State(s): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    match s.app.store.get_client(&id).await {
        Ok(Some(c)) => html(
            StatusCode::OK,
            &pages::ConfirmRotate {
                frame: Some(signed.frame("clients")),
                id: c.client_id,
                name: c.name,
            },
        ),
        Ok(None) => no_client(&signed, &id),
        Err(e) => failed(signed.frame("clients"), &e.into()),
    }
}

/// A dangerous action's form: the client id, sent again by the confirmation
/// page's button.
#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// Answers 400 when a dangerous action's form does not name the client it
/// acts on (posted without going through its confirmation page).
fn unconfirmed(signed: &Signed, id: &str, form: &ConfirmForm, what: &str) -> Option<Response> {
    (form.confirm != id).then(|| {
        message(
            Some(signed.frame("clients")),
            StatusCode::BAD_REQUEST,
            "Not confirmed",
            format!("{id}: {what}: the confirmation did not name it."),
        )
    })
}

async fn disable(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
    Posted { signed, form }: Posted<ConfirmForm>,
) -> Response {
    if let Some(refused) = unconfirmed(&signed, &id, &form, "not disabled") {
        return refused;
    }
    match operator::disable_client(s.app.store.as_ref(), &signed.operator(), &id, s.app.now()).await
    {
        Ok(erased) => {
            s.app.clients.invalidate();
            message(
                Some(signed.frame("clients")),
                StatusCode::OK,
                "Client disabled",
                format!("{id} is disabled; {erased} live request(s) erased."),
            )
        }
        Err(e) => refused(&signed, &e),
    }
}

async fn enable(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
    Posted { signed, .. }: Posted<NoFields>,
) -> Response {
    match operator::enable_client(s.app.store.as_ref(), &signed.operator(), &id, s.app.now()).await
    {
        Ok(()) => {
            s.app.clients.invalidate();
            Redirect::to(&format!("/clients/{id}")).into_response()
        }
        Err(e) => refused(&signed, &e),
    }
}

async fn rotate_secret(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
    Posted { signed, form }: Posted<ConfirmForm>,
) -> Response {
    if let Some(refused) = unconfirmed(&signed, &id, &form, "secret not rotated") {
        return refused;
    }
    match operator::rotate_secret(s.app.store.as_ref(), &signed.operator(), &id, s.app.now()).await
    {
        Ok(secret) => {
            s.app.clients.invalidate();
            html(
                StatusCode::OK,
                &pages::Secret {
                    frame: Some(signed.frame("clients")),
                    title: "Secret rotated: the old one no longer works".into(),
                    client_id: id,
                    secret,
                    product_instance_id: None,
                },
            )
        }
        Err(e) => refused(&signed, &e),
    }
}

#[derive(Deserialize)]
struct RedeliverForm {
    #[serde(default)]
    event_id: String,
}

async fn redeliver(
    State(s): State<ConsoleState>,
    Path(id): Path<String>,
    Posted { signed, form }: Posted<RedeliverForm>,
) -> Response {
    let store = s.app.store.as_ref();
    // Only this client's events from this client's page.
    match store.get_event(&form.event_id).await {
        Ok(Some(e)) if e.client_id == id => {}
        Ok(_) => {
            return message(
                Some(signed.frame("clients")),
                StatusCode::NOT_FOUND,
                "No such event",
                format!("{id} has no event {}.", form.event_id),
            )
        }
        Err(e) => return failed(signed.frame("clients"), &e.into()),
    }
    match operator::redeliver(store, &signed.operator(), &form.event_id, s.app.now()).await {
        Ok(_) => Redirect::to(&format!("/clients/{id}")).into_response(),
        Err(e) => refused(&signed, &e),
    }
}

#[derive(Deserialize)]
struct LookupQuery {
    #[serde(default)]
    q: String,
}

async fn lookup(
    State(s): State<ConsoleState>,
    signed: Signed,
    Query(query): Query<LookupQuery>,
) -> Response {
    match pages::Lookup::read(&s.app, signed.frame("lookup"), &query.q).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failed(signed.frame("lookup"), &e),
    }
}

async fn keys(State(s): State<ConsoleState>, signed: Signed) -> Response {
    match pages::Keys::read(&s.app, signed.frame("keys"), s.bound).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => failed(signed.frame("keys"), &e),
    }
}

//! The gateway's HTTP surface: every area's routes merged in one place, and
//! the layers every call goes through.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::Response;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{api, console, demo, files, journey, ops};

pub mod extract;
pub mod guard;
pub mod trace;

/// Every route of the gateway, with its layers. `sandbox` is the embedded
/// DigiLocker look-alike's router (sandbox mode), mounted beside ours.
pub fn router(state: AppState, sandbox: Option<Router>) -> Router {
    let mut app = Router::new()
        .merge(api::router())
        .merge(api::openapi::router())
        .merge(journey::router())
        .merge(files::router())
        .merge(ops::probes());
    // With an admin listener, `/metrics` is served there only (404 here).
    if state.config.admin_listen.is_none() {
        app = app.merge(ops::metrics_router());
    }
    if state.demo_client.is_some() {
        app = app.merge(demo::router());
    }
    let mut app = app
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state.clone());
    if let Some(sandbox) = sandbox {
        app = app.merge(sandbox.layer(map_response(mark_sandbox)));
    }
    with_layers(app, &state)
}

/// The admin listener's routes (`admin_listen`): `/metrics`, `/readyz` and
/// `/healthz`, and the operator console when `console_password` is set,
/// through the same layers as the public port's.
/// `bound`: the public and admin addresses bound (the console shows them).
pub fn admin_router(state: AppState, bound: [std::net::SocketAddr; 2]) -> Router {
    let mut app = ops::router();
    if let Some(console) = console::router(&state, bound) {
        app = app.merge(console);
    }
    let app = app
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state.clone());
    with_layers(app, &state)
}

/// What every call goes through, on either listener.
fn with_layers(app: Router, state: &AppState) -> Router {
    let compress = DefaultPredicate::new().and(SizeAbove::new(1024));
    app.layer(
        ServiceBuilder::new()
            .layer(from_fn_with_state(state.clone(), guard::every_call))
            .layer(CompressionLayer::new().compress_when(compress))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                state.config.request_timeout,
            )),
    )
}

async fn mark_sandbox(mut response: Response) -> Response {
    response.extensions_mut().insert(trace::SandboxRoute);
    response
}

/// Before routing: every `/api/...` path answers the same with a trailing
/// slash (the hosted API's docs write `POST /api/digilocker/`). Only `/api`:
/// `/docs/` needs its slash.
pub fn trim_api_slash(mut request: Request<Body>) -> Request<Body> {
    let path = request.uri().path();
    if path.starts_with("/api/") && path.len() > 5 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let rebuilt = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(path_and_query) = rebuilt.parse() {
            let mut parts = request.uri().clone().into_parts();
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

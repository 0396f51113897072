//! The OpenAPI 3.1 document, generated from the contract's types and
//! handlers, at `/openapi.json`; a readable reference at `/docs` (Swagger
//! UI, its assets compiled into the binary: no CDN).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::model;
use crate::state::AppState;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "DigiLocker KYC gateway",
        description = "Fetch customers' government documents from DigiLocker with their consent. \
Wire-compatible with the leading hosted DigiLocker API. Every `/api` call carries the three \
headers `x-client-id`, `x-client-secret` and `x-product-instance-id`; every error is \
`{\"error\": {\"code\", \"detail\", \"traceId\"}}`. Every path also answers with a trailing slash.",
        license(name = "Apache-2.0")
    ),
    paths(
        super::requests::create,
        super::requests::status,
        super::documents::catalogue,
        super::documents::fetch,
        super::aadhaar::aadhaar,
        super::documents::issued,
        super::verified::verified,
        super::requests::revoke,
        super::audit::audit,
        crate::files::download,
    ),
    components(schemas(
        model::ErrorBody,
        model::ErrorDetail,
        crate::webhooks::payload::Payload,
        crate::webhooks::payload::PayloadData
    )),
    modifiers(&ClientHeaders, &CommonResponses, &TraceHeader, &Webhooks),
    tags(
        (name = "requests", description = "Create a consent request, follow it, revoke it."),
        (name = "documents", description = "The catalogue, and fetching documents."),
        (name = "aadhaar", description = "Verified Aadhaar details (OKYC shape)."),
    )
)]
pub struct ApiDoc;

/// The three client headers, as one security requirement.
struct ClientHeaders;

impl Modify for ClientHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, header_name, what) in [
            ("client", "x-client-id", "The client id from `client add`."),
            (
                "clientSecret",
                "x-client-secret",
                "The client secret, shown once by `client add`.",
            ),
            (
                "productInstance",
                "x-product-instance-id",
                "The product instance id from `client add`.",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    header_name,
                    what,
                ))),
            );
        }
        // Each operation needs all three headers at once (a file link is
        // its own credential).
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path.starts_with("/files/") {
                continue;
            }
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                op.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                    "client",
                    Vec::<String>::new(),
                )
                .add("clientSecret", Vec::<String>::new())
                .add("productInstance", Vec::<String>::new())]);
            }
        }
    }
}

/// Answers any `/api` call can get whatever its handler does: the client's
/// rate limit, a database that is busy or unreachable, and, for a call with
/// a body, one that is too large. Added to every operation so that a client
/// generated from the document knows them all.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{header::Header, Object, Ref, RefOr, Response, Type};
        let retry_after_header = || Header::new(Object::with_type(Type::Integer)).into();
        let error = |description: &str, retry_after: bool| {
            let mut response = Response::new(description);
            response.content.insert(
                "application/json".to_owned(),
                utoipa::openapi::Content::new(Some(Ref::from_schema_name("ErrorBody"))).into(),
            );
            if retry_after {
                response
                    .headers
                    .insert("Retry-After".to_owned(), retry_after_header());
            }
            response
        };
        let common = [
            (
                "429",
                "`rate_limited`: this client called faster than its limit; retry after `Retry-After` seconds.",
                true,
                false,
            ),
            (
                "503",
                "`service_unavailable`: the gateway's database is busy or unreachable, or the gateway is overloaded; retry after `Retry-After` seconds.",
                true,
                false,
            ),
            ("413", "`payload_too_large`: the body is over the limit.", false, true),
        ];
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path.starts_with("/files/") {
                // No client, no rate limit; the database answers 503 as anywhere.
                if let Some(op) = &mut item.get {
                    let (status, description, _, _) = common[1];
                    op.responses
                        .responses
                        .insert(status.to_owned(), error(description, true).into());
                }
                continue;
            }
            for (op, has_body) in [(&mut item.get, false), (&mut item.post, true)] {
                let Some(op) = op else { continue };
                for (status, description, retry_after, needs_body) in common {
                    if needs_body && !has_body {
                        continue;
                    }
                    match op.responses.responses.get_mut(status) {
                        // The handler documents its own reasons for this
                        // status: add the common one beside them.
                        Some(RefOr::T(existing)) => {
                            existing.description =
                                format!("{} Or {description}", existing.description);
                            if retry_after {
                                existing
                                    .headers
                                    .entry("Retry-After".to_owned())
                                    .or_insert_with(retry_after_header);
                            }
                        }
                        Some(RefOr::Ref(_)) => {}
                        None => {
                            op.responses
                                .responses
                                .insert(status.to_owned(), error(description, retry_after).into());
                        }
                    }
                }
            }
        }
    }
}

/// Every response carries `x-request-id`: the call's trace id (the one in
/// the error body's `traceId` and in every log line of the call). Upstream
/// failures may carry `Retry-After`.
struct TraceHeader;

impl Modify for TraceHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{header::HeaderBuilder, Object, RefOr, Type};
        let trace = || {
            HeaderBuilder::new()
                .schema(Some(Object::with_type(Type::String)))
                .description(Some(
                    "The call's trace id: the error body's `traceId`, and in every log line of \
                     the call. A caller's own `x-request-id` (one plain value) is kept.",
                ))
                .build()
                .into()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    response.headers.insert("x-request-id".to_owned(), trace());
                    if status == "500" && response.description.contains("upstream_server_error") {
                        response
                            .headers
                            .entry("Retry-After".to_owned())
                            .or_insert_with(|| {
                                HeaderBuilder::new()
                                    .schema(Some(Object::with_type(Type::Integer)))
                                    .description(Some(
                                        "Seconds to wait before retrying, when the issuer had not \
                                     answered yet (`upstream_server_error` after the gateway's \
                                     own retries).",
                                    ))
                                    .build()
                                    .into()
                            });
                    }
                }
            }
        }
    }
}

/// The events a client's webhook receives (OpenAPI 3.1 `webhooks`), signed
/// as the Standard Webhooks specification defines.
struct Webhooks;

impl Modify for Webhooks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use crate::webhooks::payload as p;
        use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
        use utoipa::openapi::request_body::RequestBodyBuilder;
        use utoipa::openapi::{
            ContentBuilder, PathItem, PathsBuilder, Ref, Required, ResponseBuilder,
        };
        let header = |name: &str, what: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(what))
                .schema(Some(utoipa::openapi::Object::with_type(
                    utoipa::openapi::Type::String,
                )))
                .build()
        };
        let mut paths = PathsBuilder::new();
        for (kind, when) in [
            (p::AUTHENTICATED, "The user consented; `data.scope` lists the doc types shared, joined by `+`."),
            (p::FAILED, "The user denied, or the journey failed; `data.errCode` says why."),
            (p::REVOKED, "The request was revoked; its data is erased."),
            (p::REVOKE_CONFIRMED, "DigiLocker's side of a revoke is done; `data.upstream` is `revoked` or `token_expired`."),
            (p::EXPIRED, "The request reached `validUpto` and everything of it was erased."),
        ] {
            let operation = OperationBuilder::new()
                .summary(Some(kind))
                .description(Some(format!(
                    "{when} POSTed to the client's webhook URL; any 2xx acknowledges it, anything \
                     else is retried with backoff (the same `webhook-id` every time)."
                )))
                .parameter(header("webhook-id", "The event's id (`evt_…`), as in the audit trail; drop duplicates by it."))
                .parameter(header("webhook-timestamp", "When this attempt was sent, Unix seconds."))
                .parameter(header(
                    "webhook-signature",
                    "`v1,` + base64 of HMAC-SHA256 (key: the secret's decoded bytes) over \
                     `<webhook-id>.<webhook-timestamp>.<body>`; two space-separated during the \
                     24 hours after a secret rotation.",
                ))
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Payload")))
                                .build(),
                        )
                        .required(Some(Required::True))
                        .build(),
                ))
                .response("2XX", ResponseBuilder::new().description("Received.").build())
                .build();
            paths = paths.path(kind, PathItem::new(HttpMethod::Post, operation));
        }
        openapi.webhooks = Some(paths.build());
    }
}

/// The document as pretty JSON, exactly as committed in `docs/openapi.json`.
pub fn document_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
        + "\n"
}

/// `/openapi.json` and `/docs`.
pub fn router() -> Router<AppState> {
    let swagger: Router<AppState> = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        .into();
    swagger.layer(axum::middleware::map_response(docs_csp))
}

/// Swagger UI needs its own scripts and styles (same origin only).
async fn docs_csp(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                 script-src 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
        );
    }
    response.into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_covers_every_contract_path() {
        let doc = super::ApiDoc::openapi();
        for path in [
            "/api/digilocker",
            "/api/digilocker/{id}/status",
            "/api/digilocker/documents",
            "/api/digilocker/{id}/document",
            "/api/digilocker/{id}/aadhaar",
            "/api/digilocker/{id}/revoke",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
    }

    #[test]
    fn the_document_has_file_links_trace_ids_upstream_retries_and_webhooks() {
        let doc = serde_json::to_value(super::ApiDoc::openapi()).unwrap();
        let files = &doc["paths"]["/files/{token}"]["get"];
        assert!(
            files["responses"]["200"]["content"]["image/png"].is_object(),
            "{files}"
        );
        assert_eq!(
            files["responses"]["404"]["description"]
                .as_str()
                .map(|d| d.contains("file_not_found")),
            Some(true)
        );
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (status, response) in op["responses"].as_object().unwrap() {
                    assert!(
                        response["headers"]["x-request-id"].is_object(),
                        "{method} {path} {status}"
                    );
                }
            }
        }
        let fetch = &doc["paths"]["/api/digilocker/{id}/document"]["post"]["responses"];
        assert!(
            fetch["500"]["headers"]["Retry-After"].is_object(),
            "{fetch}"
        );
        assert!(
            fetch.get("502").is_none(),
            "upstream failures are 500, as the hosted API says"
        );
        let revoke = &doc["paths"]["/api/digilocker/{id}/revoke"]["get"]["responses"];
        assert!(revoke["401"]["description"]
            .as_str()
            .unwrap()
            .contains("user_consent_not_given"));
        let hooks = doc["webhooks"].as_object().unwrap();
        for kind in [
            "digilocker.request.authenticated",
            "digilocker.request.failed",
            "digilocker.request.revoked",
            "digilocker.request.revoke_confirmed",
            "digilocker.request.expired",
        ] {
            let op = &hooks[kind]["post"];
            assert_eq!(
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Payload",
                "{kind}"
            );
            let headers: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                headers,
                ["webhook-id", "webhook-timestamp", "webhook-signature"]
            );
        }
        assert!(doc["components"]["schemas"]["PayloadData"]["properties"]["upstream"].is_object());
    }

    #[test]
    fn every_operation_documents_the_rate_limit_and_a_busy_database() {
        let doc = serde_json::to_value(super::ApiDoc::openapi()).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            if path.starts_with("/files/") {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                let responses = &op["responses"];
                for status in ["429", "503"] {
                    let response = &responses[status];
                    assert!(
                        response["headers"]["Retry-After"].is_object(),
                        "{method} {path} {status}: {response}"
                    );
                    assert!(
                        response["content"]["application/json"].is_object(),
                        "{method} {path} {status}"
                    );
                }
                assert_eq!(
                    responses.get("413").is_some(),
                    method == "post",
                    "{method} {path}"
                );
            }
        }
        assert!(operations >= 8, "{operations}");
    }
    use utoipa::OpenApi;
}

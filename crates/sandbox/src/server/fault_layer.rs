//! The middleware that applies the fault switches to one endpoint.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::faults::{Endpoint, FaultSwitch};

/// Delay, fail, or break the body of a request according to the switches.
pub(crate) async fn apply(
    State((switch, endpoint)): State<(FaultSwitch, Endpoint)>,
    request: Request,
    next: Next,
) -> Response {
    let plan = switch.plan(endpoint);
    if let Some(delay) = plan.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(error) = plan.fail {
        let status =
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let description = error.error_description.unwrap_or_else(|| {
            format!(
                "Sandbox fault switch: {} answered with {}",
                endpoint_name(endpoint),
                error.error
            )
        });
        if error.html {
            return ApiError::proxy_page(status, description).into_response();
        }
        return ApiError::new(status, &error.error, description).into_response();
    }
    let response = next.run(request).await;
    if !plan.malformed && !plan.truncated {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return ApiError::unexpected(format!("reading a response body: {e}")).into_response()
        }
    };
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = if plan.malformed {
        malform(&bytes, &content_type)
    } else {
        bytes
    };
    if plan.truncated {
        // Promise the whole body, send half, then fail the stream: hyper
        // closes the connection and the client sees an incomplete body.
        let full = bytes.len();
        let half = bytes.slice(..full / 2);
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(full));
        // The pause lets hyper flush the headers and the first half before
        // the error closes the connection, as a dropped connection would.
        let first = futures_util::stream::iter([Ok::<Bytes, std::io::Error>(half)]);
        let abort = futures_util::stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "sandbox fault switch: truncated body",
            ))
        });
        return Response::from_parts(
            parts,
            Body::from_stream(futures_util::StreamExt::chain(first, abort)),
        );
    }
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// A body no parser accepts, of the same kind as the original.
fn malform(bytes: &Bytes, content_type: &str) -> Bytes {
    let text = String::from_utf8_lossy(bytes);
    if content_type.contains("json") {
        // Drop the closing bracket and leave a dangling member.
        let trimmed = text.trim_end().trim_end_matches(['}', ']']);
        return Bytes::from(format!("{trimmed},\"sandbox_malformed\":"));
    }
    if content_type.contains("xml") {
        // Cut before the root's closing tag and leave an unclosed element.
        let cut = text.rfind("</").unwrap_or(text.len());
        return Bytes::from(format!("{}<sandbox-malformed attr=\"", &text[..cut]));
    }
    if content_type.starts_with("text/html") {
        let mut half = text.len() / 2;
        while !text.is_char_boundary(half) {
            half -= 1;
        }
        return Bytes::from(format!("{}<", &text[..half]));
    }
    // Binary (PDF, images): junk that no longer matches the hmac header.
    Bytes::from_static(b"%PDF-1.7\n%sandbox fault switch: malformed body\n1 0 obj <<")
}

fn endpoint_name(endpoint: Endpoint) -> String {
    serde_json::to_value(endpoint)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "endpoint".to_owned())
}

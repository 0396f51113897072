//! The current call's trace id, a leaf every layer may read: the error
//! body's `traceId`, log lines, upstream calls (the HTTP layer sets it).

tokio::task_local! {
    static TRACE_ID: String;
}

/// The current call's trace id, or an empty string outside a call.
pub fn current_trace_id() -> String {
    TRACE_ID.try_with(|t| t.clone()).unwrap_or_default()
}

/// Run `call` with `id` as the current trace id.
pub async fn with_trace_id<F: std::future::Future>(id: String, call: F) -> F::Output {
    TRACE_ID.scope(id, call).await
}

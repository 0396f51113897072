//! What the benchmark does to a server besides loading it with wrk: create
//! the requests the status run reads, wait for the catalogue, probe one
//! answer, read the gateway's erasure counter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// The body of every create, in the seeding and in wrk's runs.
pub const CREATE_BODY: &str = r#"{"redirectUrl":"https://example.com/done"}"#;

/// The gateway's three authentication headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub product_instance_id: String,
}

impl Credentials {
    /// From the output of `digilocker-gateway client add`.
    pub fn from_client_add(stdout: &str) -> anyhow::Result<Credentials> {
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .with_context(|| format!("`client add` printed no {name} line:\n{stdout}"))
        };
        Ok(Credentials {
            client_id: field("x-client-id:")?,
            client_secret: field("x-client-secret:")?,
            product_instance_id: field("x-product-instance-id:")?,
        })
    }

    /// `name: value` lines, as wrk's `-H` takes them.
    pub fn header_lines(&self) -> Vec<String> {
        vec![
            format!("x-client-id: {}", self.client_id),
            format!("x-client-secret: {}", self.client_secret),
            format!("x-product-instance-id: {}", self.product_instance_id),
        ]
    }
}

/// A server under test, as an HTTP client sees it.
#[derive(Debug, Clone)]
pub struct Target {
    pub base: String,
    pub headers: Vec<String>,
    http: reqwest::Client,
}

impl Target {
    /// A target at `base` (`http://127.0.0.1:PORT`) sent `headers` on every call.
    pub fn new(base: &str, headers: Vec<String>) -> anyhow::Result<Target> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(Target {
            base: base.to_owned(),
            headers,
            http,
        })
    }

    fn header_map(&self) -> anyhow::Result<HeaderMap> {
        let mut map = HeaderMap::new();
        for line in &self.headers {
            let (name, value) = line
                .split_once(':')
                .with_context(|| format!("header {line:?} has no colon"))?;
            map.insert(
                HeaderName::from_bytes(name.trim().as_bytes())?,
                HeaderValue::from_str(value.trim())?,
            );
        }
        Ok(map)
    }

    /// Create `count` requests from `concurrency` keep-alive connections, or
    /// as many as `limit` allows (maybe none); their ids, in no particular
    /// order. Any answer other than 201 stops it with an error.
    pub async fn create_many(
        &self,
        count: usize,
        concurrency: usize,
        limit: Duration,
    ) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + limit;
        let headers = self.header_map()?;
        let url = format!("{}/api/digilocker", self.base);
        let next = Arc::new(AtomicUsize::new(0));
        let ids = Arc::new(Mutex::new(Vec::with_capacity(count)));
        let workers: Vec<_> = (0..concurrency.max(1))
            .map(|_| {
                let (http, url, headers) = (self.http.clone(), url.clone(), headers.clone());
                let (next, ids) = (next.clone(), ids.clone());
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while Instant::now() < deadline && next.fetch_add(1, Ordering::Relaxed) < count
                    {
                        let resp = http
                            .post(&url)
                            .headers(headers.clone())
                            .header("content-type", "application/json")
                            .body(CREATE_BODY)
                            .send()
                            .await?;
                        let status = resp.status();
                        let body = resp.text().await?;
                        if status != reqwest::StatusCode::CREATED {
                            bail!("POST {url} answered {status}: {}", truncate(&body, 300));
                        }
                        let v: serde_json::Value =
                            serde_json::from_str(&body).with_context(|| {
                                format!("POST {url} answered non-JSON: {}", truncate(&body, 300))
                            })?;
                        let id = v["id"].as_str().with_context(|| {
                            format!("POST {url} answered no id: {}", truncate(&body, 300))
                        })?;
                        mine.push(id.to_owned());
                    }
                    if let Ok(mut all) = ids.lock() {
                        all.extend(mine);
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.await.context("a seeding task panicked")??;
        }
        let ids = ids
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        Ok(ids)
    }

    /// One GET of `path` with the target's headers and `extra` ones: the
    /// status, the `Content-Encoding`, and the body length as sent.
    pub async fn probe(&self, path: &str, extra: &[(&str, &str)]) -> anyhow::Result<Probe> {
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .headers(self.header_map()?);
        for (name, value) in extra {
            req = req.header(*name, *value);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let encoding = resp
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_owned();
        let complete = resp
            .headers()
            .get("x-catalogue-complete")
            .map(|v| v.as_bytes() == b"true");
        let body = resp.bytes().await?;
        Ok(Probe {
            status,
            complete,
            encoding,
            body_bytes: body.len(),
            body: body.to_vec(),
        })
    }

    /// Wait until `GET /api/digilocker/documents` answers the complete
    /// catalogue: the gateway answers 503 until the first issuers have
    /// answered, then serves what has arrived (`x-catalogue-complete:
    /// false`) while the build goes on.
    pub async fn wait_for_catalogue(&self, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let p = self.probe("/api/digilocker/documents", &[]).await?;
            match p.status {
                200 if p.complete != Some(false) => return Ok(started.elapsed()),
                200 | 503 if started.elapsed() < limit => {
                    tokio::time::sleep(Duration::from_millis(250)).await
                }
                200 | 503 => bail!(
                    "the catalogue was not complete within {} s",
                    limit.as_secs()
                ),
                other => bail!(
                    "GET /api/digilocker/documents answered {other}: {}",
                    truncate(&String::from_utf8_lossy(&p.body), 300)
                ),
            }
        }
    }

    /// The gateway's `requests_erased` counter from `/metrics`, if it has one.
    pub async fn erased_total(&self) -> Option<u64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        erased_from_metrics(&text)
    }
}

/// The sum of the `*requests_erased*` samples in a Prometheus text page.
pub fn erased_from_metrics(text: &str) -> Option<u64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' '])
                .next()
                .is_some_and(|name| name.contains("requests_erased") && !name.ends_with("_created"))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() as u64)
    }
}

/// What one probe saw.
#[derive(Debug, Clone)]
pub struct Probe {
    pub status: u16,
    /// The catalogue's `x-catalogue-complete` header, when it has one.
    pub complete: Option<bool>,
    pub encoding: String,
    pub body_bytes: usize,
    pub body: Vec<u8>,
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_credentials_client_add_prints() {
        let out = "x-client-id: cl_0123\nx-client-secret: s3cr3t\nx-product-instance-id: 9f6c\n\
                   The secret is shown only now; the gateway keeps only its SHA-256.\n";
        let c = Credentials::from_client_add(out).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(c.client_id, "cl_0123");
        assert_eq!(c.client_secret, "s3cr3t");
        assert_eq!(c.product_instance_id, "9f6c");
        assert!(Credentials::from_client_add("x-client-id: a\n").is_err());
    }

    #[test]
    fn reads_the_erasure_counter() {
        let page = "# HELP gateway_requests_erased Expired requests erased by this instance.\n\
                    # TYPE gateway_requests_erased counter\n\
                    gateway_requests_erased_total 61234\n\
                    gateway_http_requests_total{route=\"/x\"} 5\n";
        assert_eq!(erased_from_metrics(page), Some(61234));
        assert_eq!(erased_from_metrics("gateway_http_requests_total 5\n"), None);
    }
}

//! Drives the sandbox's consent journey (HTML forms) the way a browser does:
//! follow no redirects, keep cookies, read each page's form, fill it in and
//! post it, until the sandbox redirects back to the partner's redirect URI
//! with `code` + `state` (or `error`).
//!
//! Self-contained (reqwest + scraper + url) so other crates' tests can copy
//! or `#[path]`-include it.

use std::time::Duration;

use scraper::{ElementRef, Html, Selector};
use url::Url;

/// Who goes through the journey, and what they type.
#[derive(Clone, Debug)]
pub struct Login {
    pub how: How,
    /// The OTP typed on the OTP page (the sandbox accepts `123456`).
    pub otp: String,
    /// The security PIN (sign-in) or the new PIN (sign-up).
    pub pin: String,
}

/// Sign in with an existing account, or sign up.
#[derive(Clone, Debug)]
pub enum How {
    /// Sign in with a 12-digit Aadhaar or a 10-digit mobile number.
    SignIn { username: String },
    /// Sign up with an Aadhaar number (from the sign-in page's "Sign up" link
    /// unless the authorize URL already asked for `dl_flow=signup`).
    SignUp { aadhaar: String },
}

/// What the user does on the consent page.
#[derive(Clone, Debug)]
pub enum Decision {
    /// Allow, with the documents ticked as the page offers them.
    AllowAsOffered,
    /// Allow, ticking exactly these values (document URIs or `file.partners/DOCTYPE`).
    AllowOnly(Vec<String>),
    /// Deny.
    Deny,
}

/// Where the journey ended: the redirect URI's query.
#[derive(Clone, Debug, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Values offered on the consent page (checked or not), when it was reached.
    pub offered: Vec<(String, bool)>,
    /// The consent page's text, when it was reached.
    pub consent_text: String,
    /// The forms posted, in order: `username`, `signup`, `aadhaar`, `otp`,
    /// `pin`, `new_pin`, `consent`.
    pub steps: Vec<&'static str>,
}

/// One `<form>` of a page.
#[derive(Clone, Debug)]
struct Form {
    action: Url,
    hidden: Vec<(String, String)>,
    /// Names of the visible text/password inputs.
    inputs: Vec<String>,
    /// `(name, value, checked)` of checkboxes.
    checkboxes: Vec<(String, String, bool)>,
    /// `(name, value)` of named submit buttons.
    buttons: Vec<(String, String)>,
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css}: {e}"))
}

fn forms(html: &str, page: &Url) -> Vec<Form> {
    let doc = Html::parse_document(html);
    let input = selector("input");
    let button = selector("button");
    doc.select(&selector("form"))
        .map(|form: ElementRef| {
            let action = form.value().attr("action").unwrap_or("");
            let action = page
                .join(action)
                .unwrap_or_else(|e| panic!("form action {action:?}: {e}"));
            let mut f = Form {
                action,
                hidden: Vec::new(),
                inputs: Vec::new(),
                checkboxes: Vec::new(),
                buttons: Vec::new(),
            };
            for i in form.select(&input) {
                let v = i.value();
                let name = v.attr("name").unwrap_or("").to_owned();
                let value = v.attr("value").unwrap_or("").to_owned();
                match v.attr("type").unwrap_or("text") {
                    "hidden" => f.hidden.push((name, value)),
                    "checkbox" => f
                        .checkboxes
                        .push((name, value, v.attr("checked").is_some())),
                    "submit" => f.buttons.push((name, value)),
                    _ => f.inputs.push(name),
                }
            }
            for b in form.select(&button) {
                if let Some(name) = b.value().attr("name") {
                    f.buttons.push((
                        name.to_owned(),
                        b.value().attr("value").unwrap_or("").to_owned(),
                    ));
                }
            }
            f
        })
        .collect()
}

/// The page's error message (`role="alert"`), if it shows one.
fn page_error(html: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    doc.select(&selector("[role=alert]"))
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
}

/// A browser for the journey: no redirects followed, cookies kept.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_else(|e| panic!("browser: {e}"))
}

/// Walk the journey from `authorize_url` until the sandbox redirects to
/// `redirect_uri`. Fails with the page's own words when the journey gets stuck.
pub async fn run(
    authorize_url: &Url,
    redirect_uri: &str,
    login: &Login,
    decision: &Decision,
) -> Result<Callback, String> {
    let browser = browser();
    let mut response = browser
        .get(authorize_url.clone())
        .send()
        .await
        .map_err(|e| format!("GET authorize: {e}"))?;
    let mut offered = Vec::new();
    let mut consent_text = String::new();
    let mut steps = Vec::new();
    // Each step posts one form; a wrong OTP/PIN loops back to the same page,
    // and three of them end the journey, so 16 steps is plenty.
    for _ in 0..16 {
        let status = response.status();
        let page_url = response.url().clone();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or("a redirect without Location")?;
            let location = page_url
                .join(location)
                .map_err(|e| format!("bad Location {location:?}: {e}"))?;
            if !location.as_str().starts_with(redirect_uri) {
                return Err(format!("redirected somewhere unexpected: {location}"));
            }
            let mut callback = Callback {
                offered,
                consent_text,
                steps,
                ..Callback::default()
            };
            for (k, v) in location.query_pairs() {
                let v = Some(v.into_owned());
                match &*k {
                    "code" => callback.code = v,
                    "state" => callback.state = v,
                    "error" => callback.error = v,
                    "error_description" => callback.error_description = v,
                    _ => {}
                }
            }
            return Ok(callback);
        }
        let html = response
            .text()
            .await
            .map_err(|e| format!("page body: {e}"))?;
        if !(status.is_success() || status.as_u16() == 422) {
            return Err(format!(
                "the journey stopped at HTTP {status}: {}",
                page_error(&html).unwrap_or_else(|| html.chars().take(300).collect())
            ));
        }
        let forms = forms(&html, &page_url);
        let has = |name: &str| forms.iter().find(|f| f.inputs.iter().any(|i| i == name));
        let consent_form = forms
            .iter()
            .find(|f| f.buttons.iter().any(|(n, _)| n == "decision"));
        let (step, form, mut fields): (&'static str, &Form, Vec<(String, String)>) =
            if let Some(f) = consent_form {
                consent_text = Html::parse_document(&html)
                    .root_element()
                    .text()
                    .collect::<Vec<_>>()
                    .join(" ");
                offered = f
                    .checkboxes
                    .iter()
                    .map(|(_, v, checked)| (v.clone(), *checked))
                    .collect();
                let (docs, choice): (Vec<String>, &str) = match decision {
                    Decision::AllowAsOffered => (
                        f.checkboxes
                            .iter()
                            .filter(|(_, _, c)| *c)
                            .map(|(_, v, _)| v.clone())
                            .collect(),
                        "allow",
                    ),
                    Decision::AllowOnly(values) => (values.clone(), "allow"),
                    Decision::Deny => (Vec::new(), "deny"),
                };
                let mut fields: Vec<(String, String)> =
                    docs.into_iter().map(|v| ("doc".to_owned(), v)).collect();
                fields.push(("decision".to_owned(), choice.to_owned()));
                ("consent", f, fields)
            } else if let Some(f) = has("pin_confirm") {
                (
                    "new_pin",
                    f,
                    vec![
                        ("pin".into(), login.pin.clone()),
                        ("pin_confirm".into(), login.pin.clone()),
                    ],
                )
            } else if let Some(f) = has("pin") {
                ("pin", f, vec![("pin".into(), login.pin.clone())])
            } else if let Some(f) = has("otp") {
                ("otp", f, vec![("otp".into(), login.otp.clone())])
            } else if let (Some(f), How::SignUp { aadhaar }) = (has("aadhaar"), &login.how) {
                ("aadhaar", f, vec![("aadhaar".into(), aadhaar.clone())])
            } else if let (Some(f), How::SignIn { username }) = (has("username"), &login.how) {
                ("username", f, vec![("username".into(), username.clone())])
            } else if let (Some(_), How::SignUp { .. }) = (has("username"), &login.how) {
                // On the sign-in page: follow its "Sign up" form.
                let f = forms
                    .iter()
                    .find(|f| f.action.path().ends_with("/signup/start"))
                    .ok_or("the sign-in page has no sign-up form")?;
                ("signup", f, Vec::new())
            } else {
                return Err(format!(
                    "no form to fill on this page (HTTP {status}): {}",
                    page_error(&html).unwrap_or_else(|| html.chars().take(300).collect())
                ));
            };
        steps.push(step);
        let mut body = form.hidden.clone();
        body.append(&mut fields);
        response = browser
            .post(form.action.clone())
            .form(&body)
            .send()
            .await
            .map_err(|e| format!("POST {}: {e}", form.action.path()))?;
    }
    Err("the journey did not end after 16 steps".into())
}

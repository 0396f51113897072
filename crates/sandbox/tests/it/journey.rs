//! The consent journey as a browser walks it.

use reqwest::StatusCode;
use scraper::{Html, Selector};

use crate::support::*;

#[tokio::test]
async fn sign_in_with_aadhaar_otp_and_pin_then_allow_returns_code_and_state() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let consent = sb
        .sign_in_to_consent(
            &flow,
            &[],
            citizen.aadhaar.as_deref().unwrap(),
            &citizen.pin,
        )
        .await;
    assert!(
        consent.html.contains(&citizen.name),
        "consent page names the citizen"
    );
    let boxes = consent.doc_checkboxes();
    // Every issued document is offered and ticked by default (plus the Aadhaar card).
    for doc in &citizen.documents {
        assert!(
            boxes.iter().any(|(v, checked)| v == &doc.uri && *checked),
            "{} offered and ticked",
            doc.uri
        );
    }
    assert!(boxes
        .iter()
        .any(|(v, _)| v.starts_with("in.gov.uidai-ADHAR-")));
    let callback = sb.allow_defaults(&consent).await;
    // Registered URI kept exactly, its own query parameters included.
    assert_eq!(callback.url.path(), "/callback");
    assert_eq!(callback.get("from"), Some("test"));
    assert_eq!(callback.get("state"), Some(flow.state.as_str()));
    let code = callback.get("code").unwrap();
    assert!(code.len() >= 40, "codes are long random strings");
    assert!(callback.get("error").is_none());
}

#[tokio::test]
async fn sign_in_with_mobile_number_works() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let consent = sb
        .sign_in_to_consent(&flow, &[], citizen.mobile.as_deref().unwrap(), &citizen.pin)
        .await;
    let callback = sb.allow_defaults(&consent).await;
    let code = callback.get("code").unwrap().to_owned();
    let token: serde_json::Value = sb.exchange(&code, &flow).await.json().await.unwrap();
    assert_eq!(token["digilocker_id"], citizen.digilocker_id.as_str());
}

#[tokio::test]
async fn citizen_without_account_cannot_sign_in_and_is_offered_sign_up() {
    let sb = spawn().await;
    let citizen = citizen(|c| !c.has_account && c.mobile.is_some());
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[]).await;
    let journey = page.journey();
    let page = sb
        .post_page(
            "oauth2/1/authorize/signin",
            &journey,
            &[("username", citizen.aadhaar.as_deref().unwrap())],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.error().unwrap().contains("No DigiLocker account"));
    assert!(page
        .form_actions()
        .iter()
        .any(|a| a.ends_with("/oauth2/1/authorize/signup/start")));
    assert!(!page.has_input("otp"));
}

#[tokio::test]
async fn sign_up_creates_an_account_and_marks_new_account() {
    let sb = spawn().await;
    let citizen = citizen(|c| !c.has_account && c.mobile.is_some());
    let aadhaar = citizen.aadhaar.clone().unwrap();
    // Reach sign-up through the "New to DigiLocker? Sign up" link.
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[]).await;
    let journey = page.journey();
    let page = sb
        .post_page("oauth2/1/authorize/signup/start", &journey, &[])
        .await;
    assert!(page.has_input("aadhaar"), "{}", page.html);
    let page = sb
        .post_page(
            "oauth2/1/authorize/signup",
            &journey,
            &[("aadhaar", &aadhaar)],
        )
        .await;
    assert!(page.has_input("otp"), "{}", page.html);
    let page = sb
        .post_page(
            "oauth2/1/authorize/otp",
            &journey,
            &[("otp", sandbox::seed::OTP)],
        )
        .await;
    assert!(page.has_input("pin_confirm"), "set-PIN page: {}", page.html);
    let page = sb
        .post_page(
            "oauth2/1/authorize/pin",
            &journey,
            &[("pin", "246810"), ("pin_confirm", "246811")],
        )
        .await;
    assert!(page.error().unwrap().contains("do not match"));
    let consent = sb
        .post_page(
            "oauth2/1/authorize/pin",
            &journey,
            &[("pin", "246810"), ("pin_confirm", "246810")],
        )
        .await;
    let callback = sb.allow_defaults(&consent).await;
    let token: serde_json::Value = sb
        .exchange(callback.get("code").unwrap(), &flow)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["new_account"], "Y");
    assert_eq!(token["name"], citizen.name.as_str());

    // The account now exists: signing in with the new PIN works.
    let flow = sb.new_flow();
    let consent = sb.sign_in_to_consent(&flow, &[], &aadhaar, "246810").await;
    let callback = sb.allow_defaults(&consent).await;
    let token: serde_json::Value = sb
        .exchange(callback.get("code").unwrap(), &flow)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["new_account"], "N");
}

#[tokio::test]
async fn dl_flow_signup_opens_sign_up_directly() {
    let sb = spawn().await;
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[("dl_flow", "signup")]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_input("aadhaar"));
    assert!(!page.has_input("username"));
}

#[tokio::test]
async fn sign_up_without_linked_mobile_ends_with_error_redirect() {
    let sb = spawn().await;
    let citizen = citizen(|c| c.mobile.is_none() && c.aadhaar.is_some());
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[("dl_flow", "signup")]).await;
    let response = sb
        .post(
            "oauth2/1/authorize/signup",
            &page.journey(),
            &[("aadhaar", citizen.aadhaar.as_deref().unwrap())],
        )
        .await;
    let callback = Callback::from(&response);
    assert_eq!(callback.get("error"), Some("mobile_not_linked"));
    assert!(callback
        .get("error_description")
        .unwrap()
        .contains("Aadhaar not linked with mobile"));
    assert_eq!(callback.get("state"), Some(flow.state.as_str()));
    assert!(callback.get("code").is_none());
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_state() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let consent = sb
        .sign_in_to_consent(
            &flow,
            &[],
            citizen.aadhaar.as_deref().unwrap(),
            &citizen.pin,
        )
        .await;
    let response = sb
        .post(
            "oauth2/1/authorize/consent",
            &consent.journey(),
            &[("decision", "deny")],
        )
        .await;
    let callback = Callback::from(&response);
    assert_eq!(callback.get("error"), Some("access_denied"));
    assert!(callback.get("error_description").is_some());
    assert_eq!(callback.get("state"), Some(flow.state.as_str()));
    assert!(callback.get("code").is_none());
    // The journey is over: its id no longer works.
    let page = sb
        .post_page(
            "oauth2/1/authorize/consent",
            &consent.journey(),
            &[("decision", "allow")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn third_wrong_otp_fails_the_journey() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[]).await;
    let journey = page.journey();
    sb.post_page(
        "oauth2/1/authorize/signin",
        &journey,
        &[("username", citizen.aadhaar.as_deref().unwrap())],
    )
    .await;
    for left in ["2 attempts left", "1 attempt left"] {
        let page = sb
            .post_page("oauth2/1/authorize/otp", &journey, &[("otp", "000000")])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.error().unwrap().contains(left), "{:?}", page.error());
    }
    let response = sb
        .post("oauth2/1/authorize/otp", &journey, &[("otp", "000000")])
        .await;
    let callback = Callback::from(&response);
    assert_eq!(callback.get("error"), Some("otp_attempts_exceeded"));
    assert_eq!(callback.get("state"), Some(flow.state.as_str()));
    // Even the right OTP is useless now.
    let page = sb
        .post_page(
            "oauth2/1/authorize/otp",
            &journey,
            &[("otp", sandbox::seed::OTP)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_pin_is_refused_with_a_message() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[]).await;
    let journey = page.journey();
    sb.post_page(
        "oauth2/1/authorize/signin",
        &journey,
        &[("username", citizen.aadhaar.as_deref().unwrap())],
    )
    .await;
    sb.post_page(
        "oauth2/1/authorize/otp",
        &journey,
        &[("otp", sandbox::seed::OTP)],
    )
    .await;
    let page = sb
        .post_page("oauth2/1/authorize/pin", &journey, &[("pin", "999999")])
        .await;
    assert!(page.error().unwrap().contains("PIN is not correct"));
    assert!(page.doc_checkboxes().is_empty());
}

#[tokio::test]
async fn unregistered_redirect_uri_is_an_error_page_never_a_redirect() {
    let sb = spawn().await;
    let mut flow = sb.new_flow();
    flow.redirect_uri = "https://evil.example/cb".into();
    let response = sb
        .browser
        .get(sb.authorize_url(&flow, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let page = Page::from(response).await;
    assert!(page.html.contains("Redirect URI not registered"));

    // A prefix of a registered URI is not a match either.
    flow.redirect_uri = "http://127.0.0.1:9/callback".into();
    let response = sb
        .browser
        .get(sb.authorize_url(&flow, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn unknown_client_is_an_error_page() {
    let sb = spawn().await;
    let url = sb.url(
        "oauth2/1/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=x",
    );
    let response = sb.browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn missing_state_or_pkce_redirects_with_invalid_request() {
    let sb = spawn().await;
    let flow = sb.new_flow();
    let base = sb.authorize_url(&flow, &[]);
    for (param, expected) in [
        (format!("&state={}", flow.state), "state is required"),
        (
            "&code_challenge_method=S256".to_owned(),
            "code_challenge_method",
        ),
        (
            format!("&code_challenge={}", flow.pkce.challenge),
            "code_challenge is required",
        ),
    ] {
        let url = base.replace(&param, "");
        let response = sb.browser.get(&url).send().await.unwrap();
        let callback = Callback::from(&response);
        assert_eq!(
            callback.get("error"),
            Some("invalid_request"),
            "without {param}"
        );
        assert!(
            callback
                .get("error_description")
                .unwrap()
                .contains(expected),
            "{:?}",
            callback.get("error_description")
        );
    }
    // plain PKCE is refused.
    let url = base.replace("code_challenge_method=S256", "code_challenge_method=plain");
    let callback = Callback::from(&sb.browser.get(&url).send().await.unwrap());
    assert_eq!(callback.get("error"), Some("invalid_request"));
    assert_eq!(callback.get("state"), Some(flow.state.as_str()));
}

#[tokio::test]
async fn requested_doctypes_not_yet_issued_are_offered_unticked() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let issued = citizen.documents[0].doctype.clone();
    let flow = sb.new_flow();
    let req = format!("{issued},PRFND");
    let consent = sb
        .sign_in_to_consent(
            &flow,
            &[("req_doctype", req.as_str())],
            citizen.aadhaar.as_deref().unwrap(),
            &citizen.pin,
        )
        .await;
    let boxes = consent.doc_checkboxes();
    assert!(
        boxes.contains(&("file.partners/PRFND".to_owned(), false)),
        "{boxes:?}"
    );
    assert!(consent.html.contains("Requested"));
    let mut ticked: Vec<String> = boxes.iter().filter(|b| b.1).map(|b| b.0.clone()).collect();
    ticked.push("file.partners/PRFND".into());
    let callback = sb.allow(&consent.journey(), &ticked).await;
    let token: serde_json::Value = sb
        .exchange(callback.get("code").unwrap(), &flow)
        .await
        .json()
        .await
        .unwrap();
    let scope = token["scope"].as_str().unwrap();
    assert!(scope.contains("file.partners/PRFND"), "{scope}");
    assert!(
        scope.contains(&format!("issued/{}", citizen.documents[0].uri)),
        "{scope}"
    );
}

#[tokio::test]
async fn pages_are_accessible_and_escape_seeded_text() {
    let sb = spawn().await;
    let tricky = citizen(|c| c.has_account && c.name.contains(['<', '&', '\'', '"']));
    let flow = sb.new_flow();
    let consent = sb
        .sign_in_to_consent(
            &flow,
            &[("purpose", "<script>alert(1)</script>")],
            tricky
                .aadhaar
                .as_deref()
                .or(tricky.mobile.as_deref())
                .unwrap(),
            &tricky.pin,
        )
        .await;
    assert!(!consent.html.contains("<script>"), "no markup injected");
    // Escaped, in whichever spelling the template engine uses.
    assert!(["&lt;script", "&#60;script", "&#x3c;script"]
        .iter()
        .any(|escaped| consent.html.contains(escaped)));
    let doc = Html::parse_document(&consent.html);
    let text: String = doc.root_element().text().collect();
    assert!(
        text.contains(&tricky.name),
        "the name reads correctly once unescaped"
    );
    assert_eq!(
        doc.root_element().value().attr("lang"),
        Some("en"),
        "pages declare their language"
    );
    // Every visible input has a label pointing at it.
    let inputs = Selector::parse("input:not([type=hidden])").unwrap();
    for input in doc.select(&inputs) {
        let id = input.value().attr("id").expect("inputs have ids");
        let label = Selector::parse(&format!("label[for=\"{id}\"]")).unwrap();
        assert!(
            doc.select(&label).next().is_some(),
            "input {id} has a label"
        );
    }
}

#[tokio::test]
async fn a_form_from_an_earlier_step_restarts_at_sign_in() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[]).await;
    let journey = page.journey();
    let aadhaar = citizen.aadhaar.as_deref().unwrap();
    sb.post_page(
        "oauth2/1/authorize/signin",
        &journey,
        &[("username", aadhaar)],
    )
    .await;
    sb.post_page(
        "oauth2/1/authorize/otp",
        &journey,
        &[("otp", sandbox::seed::OTP)],
    )
    .await;
    // Back button: the OTP form again, while the journey waits for the PIN.
    let page = sb
        .post_page(
            "oauth2/1/authorize/otp",
            &journey,
            &[("otp", sandbox::seed::OTP)],
        )
        .await;
    assert!(page.has_input("username"), "back at sign-in: {}", page.html);
    assert!(!page.has_input("pin"));
    // Skipping ahead to consent is not possible either.
    let page = sb
        .post_page(
            "oauth2/1/authorize/consent",
            &journey,
            &[("decision", "allow")],
        )
        .await;
    assert!(page.has_input("username"));
    // And the journey still completes from sign-in.
    sb.post_page(
        "oauth2/1/authorize/signin",
        &journey,
        &[("username", aadhaar)],
    )
    .await;
    sb.post_page(
        "oauth2/1/authorize/otp",
        &journey,
        &[("otp", sandbox::seed::OTP)],
    )
    .await;
    let consent = sb
        .post_page("oauth2/1/authorize/pin", &journey, &[("pin", &citizen.pin)])
        .await;
    let callback = sb.allow_defaults(&consent).await;
    assert!(callback.get("code").is_some());
}

#[tokio::test]
async fn sandbox_at_the_root_path_works_end_to_end() {
    let sb = spawn_with(|c| c.base_path = String::new()).await;
    assert!(
        sb.base.ends_with(|c: char| c.is_ascii_digit()),
        "{}",
        sb.base
    );
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[]).await;
    assert!(page
        .form_actions()
        .contains(&"/oauth2/1/authorize/signin".to_owned()));
    let token = sb.token_for(&happy_citizen()).await;
    assert_eq!(token["token_type"], "Bearer");
    let response = sb.browser.get(sb.url("no/such/path")).send().await.unwrap();
    assert_eq!(error_of(response).await.0, StatusCode::NOT_FOUND);
}

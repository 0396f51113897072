//! The token endpoint, refresh, revoke, and token lifetimes.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use sandbox::spelling::Spelling;

use crate::support::*;

/// The scope and the fields both spellings share.
fn assert_common_token_fields(token: &Value, citizen: &sandbox::seed::Citizen) {
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    assert_eq!(token["name"], citizen.name.as_str());
    assert_eq!(token["gender"], citizen.gender.as_str());
    assert_eq!(token["new_account"], "N");
    assert_eq!(token["mobile"], citizen.mobile.as_deref().unwrap());
    for field in ["access_token", "refresh_token", "reference_key"] {
        assert!(!token[field].as_str().unwrap().is_empty(), "{field}");
    }
    let scope = token["scope"].as_str().unwrap();
    assert!(scope.starts_with("files.issueddocs userdetails"), "{scope}");
    for doc in &citizen.documents {
        assert!(scope.contains(&format!("issued/{}", doc.uri)), "{scope}");
    }
    assert!(scope.contains("issued/in.gov.uidai-ADHAR-"), "{scope}");
}

/// Check one token answer against the spelling the documented rule gives it.
fn assert_spelt(token: &Value, citizen: &sandbox::seed::Citizen, spelling: Spelling) {
    let (id, other_id) = if spelling.service_names {
        ("digilockerid", "digilocker_id")
    } else {
        ("digilocker_id", "digilockerid")
    };
    assert_eq!(token[id], citizen.digilocker_id.as_str(), "{token}");
    assert!(token.get(other_id).is_none(), "{token}");
    let (flag, other_flag) = if spelling.service_names {
        ("eaadhaar", "eaadhar")
    } else {
        ("eaadhar", "eaadhaar")
    };
    assert_eq!(
        token[flag],
        if citizen.eaadhaar_available { "Y" } else { "N" },
        "{token}"
    );
    assert!(token.get(other_flag).is_none(), "{token}");
    let dob = citizen.dob.replace('-', "");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if spelling.service_types {
        assert_eq!(token["dob"], dob.as_str(), "{token}");
        assert!(
            token["consent_valid_till"].as_i64().unwrap() > now,
            "{token}"
        );
    } else {
        // The spec's integer: 01011990 loses its leading zero.
        assert_eq!(token["dob"].as_u64(), Some(dob.parse::<u64>().unwrap()));
        let till: i64 = token["consent_valid_till"]
            .as_str()
            .expect("a string")
            .parse()
            .unwrap();
        assert!(till > now);
    }
}

#[tokio::test]
async fn token_answers_take_turns_through_every_spelling_with_quirks_on() {
    let sb = spawn().await;
    // A citizen born on the 1st-9th: the integer dob loses its leading zero.
    let citizen = citizen(|c| {
        c.has_account && c.aadhaar.is_some() && c.mobile.is_some() && c.dob.starts_with('0')
    });
    let position = position_of(&citizen);
    let mut token = sb.token_for(&citizen).await;
    assert_common_token_fields(&token, &citizen);
    let mut seen = std::collections::HashSet::new();
    for n in 0..4 {
        let spelling = Spelling::of_token_answer(position, n);
        assert_spelt(&token, &citizen, spelling);
        seen.insert(spelling);
        let refreshed = refresh_with(&sb, token["refresh_token"].as_str().unwrap()).await;
        assert_eq!(refreshed.status(), StatusCode::OK);
        token = refreshed.json().await.unwrap();
    }
    assert_eq!(seen.len(), 4, "every spelling in four answers");
    // The happy-path citizen's first answer is the published spelling; the
    // next citizen's, the service's: two journeys already see both.
    let ramesh = sb.token_for(&happy_citizen()).await;
    assert_spelt(&ramesh, &happy_citizen(), Spelling::PUBLISHED);
    let second = sandbox::seed::citizens()[1].clone();
    let token = sb.token_for(&second).await;
    assert_spelt(&token, &second, Spelling::SERVICE);
}

#[tokio::test]
async fn user_answers_take_turns_between_eaadhar_and_eaadhaar() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let access = token["access_token"].as_str().unwrap();
    let mut flags = Vec::new();
    for n in 0..2 {
        let user: Value = sb
            .get_bearer("oauth2/1/user", access)
            .await
            .json()
            .await
            .unwrap();
        let spelling = Spelling::of_user_answer(0, n);
        assert_eq!(user[spelling.eaadhaar_field()], "Y", "{user}");
        assert_eq!(
            user.as_object()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with("eaadha"))
                .count(),
            1
        );
        assert_eq!(user["digilockerid"], citizen.digilocker_id.as_str());
        assert_eq!(user["dob"], citizen.dob.replace('-', "").as_str());
        flags.push(spelling.eaadhaar_field());
    }
    assert_eq!(flags, ["eaadhar", "eaadhaar"]);
}

#[tokio::test]
async fn token_response_has_one_spelling_with_quirks_off() {
    let sb = spawn_with(|c| c.quirks = false).await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    assert_common_token_fields(&token, &citizen);
    assert_eq!(token["digilockerid"], citizen.digilocker_id.as_str());
    assert_eq!(token["dob"], citizen.dob.replace('-', "").as_str());
    assert_eq!(token["dob"].as_str().unwrap().len(), 8, "DDMMYYYY");
    assert_eq!(token["eaadhaar"], "Y");
    assert!(
        token["consent_valid_till"].as_i64().unwrap()
            > time::OffsetDateTime::now_utc().unix_timestamp()
    );
    assert!(token.get("digilocker_id").is_none() && token.get("eaadhar").is_none());
}

#[tokio::test]
async fn client_may_authenticate_with_http_basic() {
    let sb = spawn().await;
    let flow = sb.new_flow();
    let code = sb.code_for(&flow, &happy_citizen()).await;
    let response = sb
        .browser
        .post(sb.url("oauth2/1/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", flow.redirect_uri.as_str()),
            ("code_verifier", flow.pkce.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let sb = spawn().await;
    let flow = sb.new_flow();
    let code = sb.code_for(&flow, &happy_citizen()).await;
    let response = sb
        .browser
        .post(sb.url("oauth2/1/token"))
        .basic_auth(CLIENT_ID, Some("not-the-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", flow.redirect_uri.as_str()),
            ("code_verifier", flow.pkce.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    // The failed client authentication did not burn the code.
    assert_eq!(sb.exchange(&code, &flow).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_its_tokens() {
    let sb = spawn().await;
    let flow = sb.new_flow();
    let code = sb.code_for(&flow, &happy_citizen()).await;
    let first: Value = sb.exchange(&code, &flow).await.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(
        sb.get_bearer("oauth2/1/user", access).await.status(),
        StatusCode::OK
    );

    let replay = sb.exchange(&code, &flow).await;
    let (status, error) = error_of(replay).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // Tokens from the first exchange are dead now.
    let (status, error) = error_of(sb.get_bearer("oauth2/1/user", access).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let refresh = refresh_with(&sb, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(error_of(refresh).await.1, "invalid_grant");
}

#[tokio::test]
async fn wrong_code_verifier_is_invalid_grant() {
    let sb = spawn().await;
    let mut flow = sb.new_flow();
    let code = sb.code_for(&flow, &happy_citizen()).await;
    let right = std::mem::replace(&mut flow.pkce, Pkce::new());
    let (status, error) = error_of(sb.exchange(&code, &flow).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // A code gets one try: the right verifier afterwards is too late.
    flow.pkce = right;
    assert_eq!(
        error_of(sb.exchange(&code, &flow).await).await.1,
        "invalid_grant"
    );
}

#[tokio::test]
async fn redirect_uri_at_token_must_match_the_authorize_one() {
    let sb = spawn().await;
    let mut flow = sb.new_flow();
    let code = sb.code_for(&flow, &happy_citizen()).await;
    flow.redirect_uri = "https://app.example/cb".into(); // registered, but not the one used
    let (status, error) = error_of(sb.exchange(&code, &flow).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn code_of_one_client_is_useless_to_another() {
    let sb = spawn().await;
    let flow = sb.new_flow();
    let code = sb.code_for(&flow, &happy_citizen()).await;
    let response = sb
        .browser
        .post(sb.url("oauth2/1/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", flow.redirect_uri.as_str()),
            ("code_verifier", flow.pkce.verifier.as_str()),
            ("client_id", OTHER_CLIENT_ID),
            ("client_secret", OTHER_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.1, "invalid_grant");
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let sb = spawn_with(|c| c.code_ttl = Duration::from_millis(200)).await;
    let flow = sb.new_flow();
    let code = sb.code_for(&flow, &happy_citizen()).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, error) = error_of(sb.exchange(&code, &flow).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

async fn refresh_with(sb: &TestSandbox, refresh: &str) -> reqwest::Response {
    sb.browser
        .post(sb.url("oauth2/1/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn access_token_expires_and_refresh_token_gets_a_new_one() {
    let sb = spawn_with(|c| c.access_token_ttl = Duration::from_secs(1)).await;
    let token = sb.token_for(&happy_citizen()).await;
    assert_eq!(token["expires_in"], 1);
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(
        sb.get_bearer("oauth2/1/user", access).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let response = sb.get_bearer("oauth2/1/user", access).await;
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );

    let refreshed = refresh_with(&sb, token["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed: Value = refreshed.json().await.unwrap();
    let new_access = refreshed["access_token"].as_str().unwrap();
    assert_ne!(new_access, access);
    assert_eq!(refreshed["scope"], token["scope"]);
    assert_eq!(digilocker_id(&refreshed), digilocker_id(&token));
    assert_eq!(
        sb.get_bearer("oauth2/1/user", new_access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_token_of_another_client_or_unknown_is_invalid_grant() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let response = sb
        .browser
        .post(sb.url("oauth2/1/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token["refresh_token"].as_str().unwrap()),
            ("client_id", OTHER_CLIENT_ID),
            ("client_secret", OTHER_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.1, "invalid_grant");
    assert_eq!(
        error_of(refresh_with(&sb, "made-up").await).await.1,
        "invalid_grant"
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_with_quirks_on() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let first = token["refresh_token"].as_str().unwrap();
    let response = refresh_with(&sb, first).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    let second = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "a new refresh token each time");
    // The used one is dead; the new one works, once.
    assert_eq!(
        error_of(refresh_with(&sb, first).await).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let response = refresh_with(&sb, &second).await;
    assert_eq!(response.status(), StatusCode::OK);
    let third: Value = response.json().await.unwrap();
    assert_ne!(third["refresh_token"], second.as_str());
    assert_eq!(
        error_of(refresh_with(&sb, &second).await).await.1,
        "invalid_grant"
    );
    let access = third["access_token"].as_str().unwrap();
    assert_eq!(
        sb.get_bearer("oauth2/1/user", access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_tokens_do_not_rotate_with_quirks_off() {
    let sb = spawn_with(|c| c.quirks = false).await;
    let token = sb.token_for(&happy_citizen()).await;
    let refresh = token["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let response = refresh_with(&sb, refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        let again: Value = response.json().await.unwrap();
        assert_eq!(again["refresh_token"], refresh);
    }
}

#[tokio::test]
async fn revoke_kills_access_and_refresh_tokens() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    let response = sb
        .browser
        .post(sb.url("oauth2/1/revoke"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", access), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, error) = error_of(sb.get_bearer("oauth2/2/files/issued", access).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let refresh = refresh_with(&sb, token["refresh_token"].as_str().unwrap()).await;
    assert_eq!(error_of(refresh).await.1, "invalid_grant");
}

#[tokio::test]
async fn revoking_the_refresh_token_also_kills_the_access_token() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let response = sb
        .browser
        .post(sb.url("oauth2/1/revoke"))
        .form(&[
            ("token", token["refresh_token"].as_str().unwrap()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = sb
        .get_bearer("oauth2/1/user", token["access_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn revoke_with(sb: &TestSandbox, form: &[(&str, &str)]) -> reqwest::Response {
    sb.browser
        .post(sb.url("oauth2/1/revoke"))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn another_client_cannot_revoke_my_token() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    let response = revoke_with(
        &sb,
        &[
            ("token", access),
            ("client_id", OTHER_CLIENT_ID),
            ("client_secret", OTHER_SECRET),
        ],
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_token".into()),
        "another app's token is invalid for this app"
    );
    assert_eq!(
        sb.get_bearer("oauth2/1/user", access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoking_an_unknown_or_revoked_token_is_400_invalid_token() {
    let sb = spawn().await;
    let response = revoke_with(&sb, &[("token", "never-issued")]).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["error_description"], "The token is invalid");

    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    let refresh = token["refresh_token"].as_str().unwrap();
    let response = revoke_with(&sb, &[("token", access)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Both tokens of the consent are gone now: revoking either again is 400.
    for again in [access, refresh] {
        assert_eq!(
            error_of(revoke_with(&sb, &[("token", again)]).await).await,
            (StatusCode::BAD_REQUEST, "invalid_token".into())
        );
    }
}

#[tokio::test]
async fn unsupported_grant_type_and_missing_fields_are_oauth_errors() {
    let sb = spawn().await;
    let post = |form: Vec<(&'static str, &'static str)>| {
        let sb = &sb;
        async move {
            sb.browser
                .post(sb.url("oauth2/1/token"))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let response = post(vec![
        ("grant_type", "password"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ])
    .await;
    assert_eq!(error_of(response).await.1, "unsupported_grant_type");
    let response = post(vec![
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ])
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    let response = post(vec![("grant_type", "authorization_code"), ("code", "x")]).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
}

#[tokio::test]
async fn token_endpoint_refuses_a_json_body() {
    // DigiLocker's spec: the token call's fields are form-encoded POST
    // parameters. A JSON body is refused before the code is looked at.
    let sb = spawn().await;
    let flow = sb.new_flow();
    let code = sb.code_for(&flow, &happy_citizen()).await;
    let response = sb
        .browser
        .post(sb.url("oauth2/1/token"))
        .json(&serde_json::json!({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.pkce.verifier,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    // The same fields as a form: the code still works.
    assert_eq!(sb.exchange(&code, &flow).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoke_takes_a_form_or_the_json_its_schema_shows() {
    let sb = spawn().await;
    for json in [false, true] {
        let token = sb.token_for(&happy_citizen()).await;
        let access = token["access_token"].as_str().unwrap();
        let request = sb.browser.post(sb.url("oauth2/1/revoke"));
        let request = if json {
            request.json(&serde_json::json!({"token": access, "token_type_hint": "access_token"}))
        } else {
            request.form(&[("token", access), ("token_type_hint", "access_token")])
        };
        assert_eq!(
            request.send().await.unwrap().status(),
            StatusCode::OK,
            "json {json}"
        );
        assert_eq!(
            sb.get_bearer("oauth2/1/user", access).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn tokens_do_not_outlive_consent_valid_till() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let till = (time::OffsetDateTime::now_utc().unix_timestamp() + 2).to_string();
    let consent = sb
        .sign_in_to_consent(
            &flow,
            &[("consent_valid_till", till.as_str())],
            citizen.aadhaar.as_deref().unwrap(),
            &citizen.pin,
        )
        .await;
    let callback = sb.allow_defaults(&consent).await;
    let token: Value = sb
        .exchange(callback.get("code").unwrap(), &flow)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["consent_valid_till"], till.as_str());
    assert!(token["expires_in"].as_u64().unwrap() <= 2, "{token}");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let response = sb
        .get_bearer("oauth2/1/user", token["access_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let refresh = refresh_with(&sb, token["refresh_token"].as_str().unwrap()).await;
    assert_eq!(error_of(refresh).await.1, "invalid_grant");
}

#[tokio::test]
async fn consent_valid_till_in_the_past_is_invalid_request() {
    let sb = spawn().await;
    let flow = sb.new_flow();
    let url = sb.authorize_url(&flow, &[("consent_valid_till", "1000")]);
    let callback = Callback::from(&sb.browser.get(url).send().await.unwrap());
    assert_eq!(callback.get("error"), Some("invalid_request"));
}

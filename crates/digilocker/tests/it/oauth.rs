//! Authorization code + PKCE, refresh and revoke, against the sandbox.

use digilocker::{
    AuthorizeParams, ClientAuth, Endpoint, Error, ErrorCode, Outcome, Pkce, TokenHint,
};
use secrecy::SecretString;

use crate::journey::{self, Decision, How, Login};
use crate::support::{
    citizen_born_early_in_a_month, citizen_to_sign_up, regular_citizen, TestSandbox, REDIRECT_URI,
};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn secret(s: &Option<String>) -> SecretString {
    SecretString::from(s.clone().unwrap_or_else(|| panic!("token missing")))
}

fn upstream_code(result: Result<impl std::fmt::Debug, Error>) -> (u16, ErrorCode) {
    match result {
        Err(Error::Upstream { status, code, .. }) => (status, code),
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[tokio::test]
async fn code_exchange_returns_the_consented_token() {
    let sb = TestSandbox::start().await;
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;

    assert!(!token.access_token.is_empty());
    assert_eq!(token.token_type.as_deref(), Some("Bearer"));
    assert_eq!(token.expires_in, Some(3600));
    assert!(token.refresh_token.is_some());
    assert_eq!(
        token.digilockerid.as_deref(),
        Some(citizen.digilocker_id.as_str())
    );
    assert_eq!(token.name.as_deref(), Some(citizen.name.as_str()));
    assert_eq!(token.dob, Some(citizen.dob.replace('-', "")));
    assert_eq!(token.gender.as_deref(), Some(citizen.gender.as_str()));
    assert_eq!(token.eaadhaar.as_deref(), Some("Y"));
    assert!(token.consent_valid_till.is_some_and(|t| t > now()));
    let scopes: Vec<&str> = token.scopes().collect();
    for doc in &citizen.documents {
        let wanted = format!("issued/{}", doc.uri);
        assert!(
            scopes.contains(&wanted.as_str()),
            "{wanted} not in {scopes:?}"
        );
    }

    let record = sb.last_record();
    assert_eq!(record.endpoint, Endpoint::ExchangeCode);
    assert_eq!(record.outcome, Outcome::Ok);
    assert_eq!(record.status, Some(200));
}

#[tokio::test]
async fn authorize_parameters_reach_the_consent_screen() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    // A doc type the citizen does not have yet: offered as "to be pulled".
    let held: Vec<&str> = citizen
        .documents
        .iter()
        .map(|d| d.doctype.as_str())
        .collect();
    let issuers = client
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut missing = None;
    for issuer in issuers.iter().take(20) {
        let docs = client
            .pull_doctypes(&issuer.orgid)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(d) = docs
            .iter()
            .find(|d| !held.contains(&d.doctype.as_str()) && d.doctype != "ADHAR")
        {
            missing = Some(d.doctype.clone());
            break;
        }
    }
    let missing = missing.unwrap_or_else(|| panic!("no doc type the citizen lacks"));
    let held_uri = citizen.documents[0].uri.clone();
    let till = now() + 7 * 24 * 3600;
    let (callback, pkce) = sb
        .consent(
            &client,
            &citizen,
            AuthorizeParams {
                req_doctype: vec![citizen.documents[0].doctype.clone(), missing.clone()],
                purpose: Some("Account opening KYC".into()),
                consent_valid_till: Some(till),
                ..AuthorizeParams::default()
            },
            Decision::AllowOnly(vec![held_uri.clone(), format!("file.partners/{missing}")]),
        )
        .await;
    let partner = format!("file.partners/{missing}");
    assert!(
        callback.consent_text.contains("Account opening KYC"),
        "the purpose is shown on the consent page"
    );
    assert_eq!(callback.steps, ["username", "otp", "pin", "consent"]);
    assert!(
        callback
            .offered
            .iter()
            .any(|(v, checked)| *v == partner && !checked),
        "{partner} should be offered unticked: {:?}",
        callback.offered
    );
    let token = client
        .exchange_code(callback.code.as_deref().unwrap_or_default(), &pkce.verifier)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.consent_valid_till, Some(till));
    let scopes: Vec<&str> = token.scopes().collect();
    assert!(
        scopes.contains(&format!("issued/{held_uri}").as_str()),
        "{scopes:?}"
    );
    assert!(scopes.contains(&partner.as_str()), "{scopes:?}");
    // Only what was ticked.
    assert_eq!(
        scopes.iter().filter(|s| s.starts_with("issued/")).count(),
        1
    );
}

#[tokio::test]
async fn signup_flow_creates_an_account() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = citizen_to_sign_up();
    let pkce = Pkce::generate();
    let url = client.authorize_url(&AuthorizeParams {
        state: "signup-state".into(),
        code_challenge: pkce.challenge.clone(),
        signup: true,
        ..AuthorizeParams::default()
    });
    let login = Login {
        how: How::SignUp {
            aadhaar: citizen.aadhaar.clone().unwrap_or_default(),
        },
        otp: sandbox::seed::OTP.into(),
        pin: "246810".into(),
    };
    let callback = journey::run(&url, REDIRECT_URI, &login, &Decision::AllowAsOffered)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(callback.state.as_deref(), Some("signup-state"));
    // `dl_flow=signup` opened the sign-up page directly.
    assert_eq!(callback.steps, ["aadhaar", "otp", "new_pin", "consent"]);
    let token = client
        .exchange_code(callback.code.as_deref().unwrap_or_default(), &pkce.verifier)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.new_account.as_deref(), Some("Y"));
    assert_eq!(
        token.digilockerid.as_deref(),
        Some(citizen.digilocker_id.as_str())
    );
}

#[tokio::test]
async fn a_verified_mobile_skips_the_signup_otp() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = citizen_to_sign_up();
    let pkce = Pkce::generate();
    let url = client.authorize_url(&AuthorizeParams {
        state: "signup-state".into(),
        code_challenge: pkce.challenge.clone(),
        signup: true,
        verified_mobile: citizen.mobile.clone(),
        ..AuthorizeParams::default()
    });
    let login = Login {
        how: How::SignUp {
            aadhaar: citizen.aadhaar.clone().unwrap_or_default(),
        },
        // Never typed: the OTP page must not come.
        otp: "000000".into(),
        pin: "135790".into(),
    };
    let callback = journey::run(&url, REDIRECT_URI, &login, &Decision::AllowAsOffered)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(callback.steps, ["aadhaar", "new_pin", "consent"]);
    let token = client
        .exchange_code(callback.code.as_deref().unwrap_or_default(), &pkce.verifier)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.new_account.as_deref(), Some("Y"));
}

#[tokio::test]
async fn denied_consent_comes_back_as_access_denied() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let (callback, _) = sb
        .consent(
            &client,
            &regular_citizen(),
            AuthorizeParams::default(),
            Decision::Deny,
        )
        .await;
    assert_eq!(callback.code, None);
    let code = ErrorCode::parse(callback.error.as_deref().unwrap_or_default());
    assert_eq!(code, ErrorCode::AccessDenied);
}

#[tokio::test]
async fn a_code_works_once_and_only_with_its_verifier() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();

    // Wrong verifier: invalid_grant (and the code is spent).
    let (callback, _) = sb
        .consent(
            &client,
            &citizen,
            AuthorizeParams::default(),
            Decision::AllowAsOffered,
        )
        .await;
    let other = Pkce::generate();
    let (status, code) = upstream_code(
        client
            .exchange_code(
                callback.code.as_deref().unwrap_or_default(),
                &other.verifier,
            )
            .await,
    );
    assert_eq!((status, code), (400, ErrorCode::InvalidGrant));

    // Replay: invalid_grant, and the token from the first use is revoked.
    let (callback, pkce) = sb
        .consent(
            &client,
            &citizen,
            AuthorizeParams::default(),
            Decision::AllowAsOffered,
        )
        .await;
    let code = callback.code.unwrap_or_default();
    let token = client
        .exchange_code(&code, &pkce.verifier)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let replay = client.exchange_code(&code, &pkce.verifier).await;
    assert_eq!(upstream_code(replay).1, ErrorCode::InvalidGrant);
    let access = SecretString::from(token.access_token);
    assert_eq!(
        upstream_code(client.user(&access).await),
        (401, ErrorCode::InvalidToken)
    );

    // A made-up code.
    let bogus = client.exchange_code("not-a-code", &pkce.verifier).await;
    assert_eq!(upstream_code(bogus).1, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let sb = TestSandbox::start().await;
    let citizen = regular_citizen();
    let good = sb.client();
    let (callback, pkce) = sb
        .consent(
            &good,
            &citizen,
            AuthorizeParams::default(),
            Decision::AllowAsOffered,
        )
        .await;
    for auth in [ClientAuth::FormBody, ClientAuth::Basic] {
        let bad = sb.client_with(|c| {
            c.client_secret = SecretString::from("not-the-secret");
            c.client_auth = auth;
        });
        let result = bad
            .exchange_code(callback.code.as_deref().unwrap_or_default(), &pkce.verifier)
            .await;
        assert_eq!(
            upstream_code(result),
            (401, ErrorCode::InvalidClient),
            "{auth:?}"
        );
    }
}

#[tokio::test]
async fn http_basic_client_authentication_works() {
    let sb = TestSandbox::start().await;
    let client = sb.client_with(|c| c.client_auth = ClientAuth::Basic);
    let (callback, pkce) = sb
        .consent(
            &client,
            &regular_citizen(),
            AuthorizeParams::default(),
            Decision::AllowAsOffered,
        )
        .await;
    let token = client
        .exchange_code(callback.code.as_deref().unwrap_or_default(), &pkce.verifier)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refreshed = client
        .refresh(&secret(&token.refresh_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // In Basic mode the form carries no credentials, and the sandbox answers
    // 401 to a token call without any: success means Basic was sent and checked.
    assert!(!refreshed.access_token.is_empty());
}

#[tokio::test]
async fn refresh_gives_a_working_access_token() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let refreshed = client
        .refresh(&secret(&token.refresh_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(refreshed.access_token, token.access_token);
    assert_eq!(refreshed.digilockerid, token.digilockerid);
    let user = client
        .user(&SecretString::from(refreshed.access_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        user.digilockerid.as_deref(),
        Some(citizen.digilocker_id.as_str())
    );
    assert_eq!(sb.last_record().endpoint, Endpoint::User);

    let bogus = client
        .refresh(&SecretString::from("not-a-refresh-token"))
        .await;
    assert_eq!(upstream_code(bogus).1, ErrorCode::InvalidGrant);
    assert_eq!(sb.last_record().endpoint, Endpoint::Refresh);
}

#[tokio::test]
async fn the_specs_spellings_and_types_are_read() {
    // Quirks on (the default): digilocker_id, eaadhar, an integer dob,
    // consent_valid_till as a string.
    let sb = TestSandbox::start().await;
    let citizen = citizen_born_early_in_a_month();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    assert_eq!(
        token.digilockerid.as_deref(),
        Some(citizen.digilocker_id.as_str())
    );
    let expected_dob = citizen.dob.replace('-', "");
    assert!(expected_dob.starts_with('0'));
    assert_eq!(token.dob.as_deref(), Some(expected_dob.as_str()));
    let [d, m, y] = citizen.dob.split('-').collect::<Vec<_>>()[..] else {
        panic!("{}", citizen.dob)
    };
    let born = time::Date::from_calendar_date(
        y.parse().unwrap_or_else(|e| panic!("{e}")),
        time::Month::try_from(m.parse::<u8>().unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}")),
        d.parse().unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.dob_parsed(), Some(born));
    assert_eq!(
        token.eaadhaar.as_deref(),
        Some(if citizen.eaadhaar_available { "Y" } else { "N" })
    );
    assert!(token.consent_valid_till.is_some_and(|t| t > now()));
    let user = sb
        .client()
        .user(&SecretString::from(token.access_token.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        user.eaadhaar, token.eaadhaar,
        "`eaadhar` in the user answer"
    );
    assert_eq!(user.dob_parsed(), Some(born));

    // Quirks off: the other spellings, the same values.
    let plain = TestSandbox::start_with(|c| c.quirks = false).await;
    let again = plain.token_for(&citizen, Decision::AllowAsOffered).await;
    assert_eq!(again.digilockerid, token.digilockerid);
    assert_eq!(again.dob, token.dob);
    assert_eq!(again.eaadhaar, token.eaadhaar);
    assert!(again.consent_valid_till.is_some_and(|t| t > now()));
    let user = plain
        .client()
        .user(&SecretString::from(again.access_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(user.eaadhaar, token.eaadhaar);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_the_used_one_dies() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let token = sb
        .token_for(&regular_citizen(), Decision::AllowAsOffered)
        .await;
    let first = secret(&token.refresh_token);
    let refreshed = client
        .refresh(&first)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let second = secret(&refreshed.refresh_token);
    assert_ne!(refreshed.refresh_token, token.refresh_token);
    assert_eq!(
        upstream_code(client.refresh(&first).await),
        (400, ErrorCode::InvalidGrant)
    );
    let again = client
        .refresh(&second)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .user(&SecretString::from(again.access_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn revoke_ends_the_grant() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();

    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token.clone());
    client.user(&access).await.unwrap_or_else(|e| panic!("{e}"));
    client
        .revoke(&access, TokenHint::AccessToken)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sb.last_record().endpoint, Endpoint::Revoke);
    assert_eq!(
        upstream_code(client.user(&access).await),
        (401, ErrorCode::InvalidToken)
    );
    let refresh = client.refresh(&secret(&token.refresh_token)).await;
    assert_eq!(upstream_code(refresh).1, ErrorCode::InvalidGrant);

    // Revoking by the refresh token kills the access token too.
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    client
        .revoke(&secret(&token.refresh_token), TokenHint::RefreshToken)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let access = SecretString::from(token.access_token);
    assert_eq!(
        upstream_code(client.issued_files(&access).await).1,
        ErrorCode::InvalidToken
    );

    // Revoking a token already revoked (or never issued): DigiLocker's 400
    // "The token is invalid", which a revoking caller may take as done.
    for dead in [access, SecretString::from("never-issued")] {
        let again = client.revoke(&dead, TokenHint::AccessToken).await;
        let error = again.expect_err("a dead token cannot be revoked");
        assert!(error.is_invalid_token(), "{error:?}");
        assert_eq!(error.status(), Some(400));
        assert!(!error.is_retryable());
    }
    assert_eq!(
        sb.last_record().outcome,
        Outcome::Upstream(ErrorCode::InvalidToken)
    );
}

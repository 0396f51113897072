//! DigiLocker (or a proxy in front of it) behind a private CA: a real TLS
//! server on 127.0.0.1 whose certificate comes from a CA made here. Without
//! the CA in `Config::extra_ca_pem` the call fails as a transport error;
//! with it, it succeeds, and the public roots are still trusted beside it.

use std::sync::Arc;
use std::time::Duration;

use digilocker::{Client, Config, Error};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::rustls;
use url::Url;

use crate::support::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};

/// A CA (its certificate in PEM) and a server certificate for 127.0.0.1 it
/// issued (certificate and key in DER).
struct Pki {
    ca_pem: String,
    server_cert: rustls::pki_types::CertificateDer<'static>,
    server_key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Test private CA for DigiLocker");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap_or_else(|e| panic!("{e}"));

    let server_key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
    server
        .distinguished_name
        .push(DnType::CommonName, "digilocker.internal.test");
    let server_cert = server
        .signed_by(&server_key, &Issuer::from_params(&ca, &ca_key))
        .unwrap_or_else(|e| panic!("{e}"));
    Pki {
        ca_pem: ca_cert.pem(),
        server_cert: server_cert.der().clone(),
        server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
    }
}

/// Serve one canned `oauth2/1/user` answer over TLS to every connection;
/// the base URL is `https://127.0.0.1:{port}/public`.
async fn serve_tls(pki: &Pki) -> Url {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends the
                // handshake: nothing to answer then.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"digilockerid":"a1b2c3","name":"Private CA","dob":"01011990","gender":"F","eaadhaar":"Y"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://{addr}/public")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn client(base: Url, extra_ca_pem: Option<Vec<u8>>) -> Client {
    Client::new(Config {
        timeout: Duration::from_secs(5),
        extra_ca_pem,
        ..Config::new(
            base,
            CLIENT_ID,
            SecretString::from(CLIENT_SECRET),
            REDIRECT_URI.parse().unwrap_or_else(|e| panic!("{e}")),
        )
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_configured() {
    let ours = pki();
    let base = serve_tls(&ours).await;
    let token = SecretString::from("any-token");

    // The bundled public roots alone: the certificate is from nobody they know.
    let e = client(base.clone(), None).user(&token).await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(e.is_retryable());

    // With the CA added: the call goes through.
    let user = client(base.clone(), Some(ours.ca_pem.clone().into_bytes()))
        .user(&token)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(user.name.as_deref(), Some("Private CA"));

    // A bundle of several certificates (another CA first) works the same.
    let other = pki();
    let bundle = format!("{}\n{}", other.ca_pem, ours.ca_pem);
    client(base.clone(), Some(bundle.into_bytes()))
        .user(&token)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Another CA alone is not enough.
    let e = client(base, Some(other.ca_pem.into_bytes()))
        .user(&token)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
}

#[test]
fn a_bundle_without_a_usable_certificate_is_refused_when_the_client_is_built() {
    let base: Url = "https://digilocker.internal.test/public"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    for bad in [
        "".to_owned(),
        "just text".to_owned(),
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
            .to_owned(),
    ] {
        let e = Client::new(Config {
            extra_ca_pem: Some(bad.clone().into_bytes()),
            ..Config::new(
                base.clone(),
                CLIENT_ID,
                SecretString::from(CLIENT_SECRET),
                REDIRECT_URI.parse().unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("extra CA bundle")),
            "{bad:?}: {e:?}"
        );
    }
}

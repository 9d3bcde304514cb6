//! The test servers' certificate: made fresh at every start (nothing to keep, nothing that
//! expires in a checkout), for the https layout's host names.
//!
//! The browser is told to trust exactly this key (Chromium's
//! `--ignore-certificate-errors-spki-list` takes the SHA-256 of its SubjectPublicKeyInfo),
//! so the pages load as an ordinary valid https origin: a secure context, with WebAuthn
//! available. Node's own fetches trust it through `NODE_EXTRA_CA_CERTS`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use base64ct::{Base64, Encoding};
use rcgen::PublicKeyData;
use sha2::{Digest, Sha256};

/// A self-signed certificate and the server configuration that presents it.
pub(crate) struct TestCertificate {
    /// rustls configuration for the servers.
    pub(crate) server: Arc<rustls::ServerConfig>,
    /// The certificate, PEM.
    pub(crate) pem: String,
    /// base64 of SHA-256 over the certificate's SubjectPublicKeyInfo (DER).
    pub(crate) spki_sha256: String,
}

impl TestCertificate {
    /// A new ECDSA P-256 key and a certificate for `names` (DNS names or IP addresses).
    pub(crate) fn generate(names: &[String]) -> Result<Self> {
        let key = rcgen::KeyPair::generate().context("making the test key")?;
        let mut params = rcgen::CertificateParams::new(names.to_vec())
            .context("the test certificate's names")?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "kms test servers");
        let cert = params
            .self_signed(&key)
            .context("signing the test certificate")?;
        let spki_sha256 = Base64::encode_string(&Sha256::digest(key.subject_public_key_info()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("tls versions")?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .context("tls server config")?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            server: Arc::new(server),
            pem: cert.pem(),
            spki_sha256,
        })
    }

    /// Writes the certificate as PEM to `path` (for `NODE_EXTRA_CA_CERTS`).
    pub(crate) fn write_pem(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, &self.pem).with_context(|| format!("writing {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn each_start_has_its_own_key() {
        let names = vec!["app.kms.test".to_owned(), "127.0.0.1".to_owned()];
        let a = TestCertificate::generate(&names).unwrap();
        let b = TestCertificate::generate(&names).unwrap();
        assert_ne!(a.spki_sha256, b.spki_sha256);
        assert_eq!(Base64::decode_vec(&a.spki_sha256).unwrap().len(), 32);
        assert!(a.pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
}

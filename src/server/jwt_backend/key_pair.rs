//! The EdDSA (Ed25519) and RS256 key pairs: generated once from the operating system's random
//! generator and kept as PEM in the data directory with owner-only permissions, as the HS256
//! secret is. Their public halves are published as a JWK set.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::Algorithm;
use rand::rngs::OsRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::keys::{restrict_permissions, write_owner_only, KeyError, SecretSource};

/// Modulus size of generated RSA keys, in bits: the minimum RFC 7518 section 3.3 allows.
pub const RSA_BITS: usize = 2048;

/// The algorithm the server signs tokens with, and the only one its JWT route accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SigningAlgorithm {
    /// HMAC with SHA-256 and a shared secret.
    #[default]
    Hs256,
    /// Ed25519 signatures.
    Eddsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl SigningAlgorithm {
    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Eddsa => Algorithm::EdDSA,
            Self::Rs256 => Algorithm::RS256,
        }
    }

    /// Name of the generated key file inside the data directory.
    pub fn key_file(self) -> &'static str {
        match self {
            Self::Hs256 => super::keys::SECRET_FILE,
            Self::Eddsa => "jwt-eddsa.pem",
            Self::Rs256 => "jwt-rs256.pem",
        }
    }
}

/// The public half of a key pair, as the JWK set and the attack lab show it.
#[derive(Clone, Debug)]
pub struct PublicKey {
    /// The key as a JWK with `kid`, `alg` and `use`.
    pub jwk: Jwk,
    /// The key ID: the RFC 7638 SHA-256 thumbprint of the JWK.
    pub kid: String,
    /// The key as PEM SubjectPublicKeyInfo text.
    pub pem: String,
}

/// A private signing key and its public key. Its `Debug` output never shows the private key.
pub struct KeyPair {
    pub algorithm: Algorithm,
    /// PKCS#8 DER for Ed25519 and PKCS#1 DER for RSA, the forms jsonwebtoken's `EncodingKey`
    /// expects.
    private_der: Vec<u8>,
    pub public: PublicKey,
}

impl KeyPair {
    pub fn private_der(&self) -> &[u8] {
        &self.private_der
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({:?}, kid {}, private key redacted)", self.algorithm, self.public.kid)
    }
}

/// Reads the key pair of `algorithm` from the data directory's key file, generating that file
/// on first use. HS256 has no key pair, so it is rejected.
pub fn load_or_generate(algorithm: SigningAlgorithm, data_dir: &Path) -> Result<(KeyPair, SecretSource), KeyError> {
    let path = data_dir.join(algorithm.key_file());
    let invalid = |reason: String| KeyError::InvalidFile {
        path: path.clone(),
        reason: format!("{reason}; delete the file to generate a new key"),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            restrict_permissions(&path)?;
            let pair = match algorithm {
                SigningAlgorithm::Eddsa => ed25519_pair(
                    ed25519_dalek::SigningKey::from_pkcs8_pem(&text)
                        .map_err(|error| invalid(format!("expected a PKCS#8 PEM Ed25519 key ({error})")))?,
                ),
                SigningAlgorithm::Rs256 => rsa_pair(
                    RsaPrivateKey::from_pkcs1_pem(&text)
                        .map_err(|error| invalid(format!("expected a PKCS#1 PEM RSA key ({error})")))?,
                ),
                SigningAlgorithm::Hs256 => return Err(invalid("HS256 uses a secret, not a key pair".into())),
            };
            Ok((pair.map_err(invalid)?, SecretSource::ExistingFile(path)))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let (pem, pair) = match algorithm {
                SigningAlgorithm::Eddsa => {
                    let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
                    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|error| invalid(error.to_string()))?;
                    (pem, ed25519_pair(key))
                }
                SigningAlgorithm::Rs256 => {
                    let key = RsaPrivateKey::new(&mut OsRng, RSA_BITS).map_err(|error| invalid(error.to_string()))?;
                    let pem = key.to_pkcs1_pem(LineEnding::LF).map_err(|error| invalid(error.to_string()))?;
                    (pem, rsa_pair(key))
                }
                SigningAlgorithm::Hs256 => return Err(invalid("HS256 uses a secret, not a key pair".into())),
            };
            let pair = pair.map_err(invalid)?;
            write_owner_only(&path, pem.as_bytes())?;
            Ok((pair, SecretSource::GeneratedFile(path)))
        }
        Err(source) => Err(KeyError::Io { path, source }),
    }
}

fn ed25519_pair(key: ed25519_dalek::SigningKey) -> Result<KeyPair, String> {
    let private_der = key.to_pkcs8_der().map_err(|error| error.to_string())?.as_bytes().to_vec();
    let verifying = key.verifying_key();
    let pem = verifying.to_public_key_pem(LineEnding::LF).map_err(|error| error.to_string())?;
    let parameters = AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
        key_type: OctetKeyPairType::OctetKeyPair,
        curve: EllipticCurve::Ed25519,
        x: URL_SAFE_NO_PAD.encode(verifying.as_bytes()),
    });
    Ok(KeyPair {
        algorithm: Algorithm::EdDSA,
        private_der,
        public: public_key(parameters, KeyAlgorithm::EdDSA, pem),
    })
}

fn rsa_pair(key: RsaPrivateKey) -> Result<KeyPair, String> {
    let private_der = key.to_pkcs1_der().map_err(|error| error.to_string())?.as_bytes().to_vec();
    let public = RsaPublicKey::from(&key);
    let pem = public.to_public_key_pem(LineEnding::LF).map_err(|error| error.to_string())?;
    let parameters = AlgorithmParameters::RSA(RSAKeyParameters {
        key_type: RSAKeyType::RSA,
        n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    });
    Ok(KeyPair {
        algorithm: Algorithm::RS256,
        private_der,
        public: public_key(parameters, KeyAlgorithm::RS256, pem),
    })
}

/// Builds the JWK of a public key. It is assembled by hand because jsonwebtoken 10.4's
/// `Jwk::from_encoding_key` panics on Ed25519 keys.
fn public_key(parameters: AlgorithmParameters, algorithm: KeyAlgorithm, pem: String) -> PublicKey {
    let mut jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(algorithm),
            ..CommonParameters::default()
        },
        algorithm: parameters,
    };
    let kid = jwk.thumbprint(ThumbprintHash::SHA256);
    jwk.common.key_id = Some(kid.clone());
    PublicKey { jwk, kid, pem }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn ed25519_key_is_reused_on_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = load_or_generate(SigningAlgorithm::Eddsa, dir.path()).unwrap();
        let path = dir.path().join("jwt-eddsa.pem");
        assert_eq!(source, SecretSource::GeneratedFile(path.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let (second, source) = load_or_generate(SigningAlgorithm::Eddsa, dir.path()).unwrap();
        assert_eq!(source, SecretSource::ExistingFile(path));
        assert_eq!(first.private_der(), second.private_der());
        assert_eq!(first.public.kid, second.public.kid);
    }

    #[test]
    fn invalid_key_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwt-rs256.pem"), "not a key").unwrap();
        let error = load_or_generate(SigningAlgorithm::Rs256, dir.path()).unwrap_err();
        assert!(matches!(error, KeyError::InvalidFile { .. }), "{error}");
    }

    #[test]
    fn key_pair_debug_output_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let (pair, _) = load_or_generate(SigningAlgorithm::Eddsa, dir.path()).unwrap();
        let debug = format!("{pair:?}");
        assert!(debug.contains("private key redacted"), "{debug}");
        assert!(!debug.contains("BEGIN"), "{debug}");
    }
}

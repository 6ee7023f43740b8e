//! Token verification with a decoding key only. The server's `JwtBackend` verifies through a
//! `TokenVerifier`, and the services get one built from the public JWK alone, so they cannot
//! issue tokens.

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::inspect::{self, HeaderPolicy};
use super::{rejection, unauthorized, Claims};
use crate::server::error::AppError;

/// Verifies tokens of one algorithm with one key. It has no private key, so it cannot sign.
pub struct TokenVerifier {
    algorithm: Algorithm,
    algorithm_name: &'static str,
    kid: Option<String>,
    decoding_key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    /// Builds a verifier that accepts only `algorithm` with `decoding_key`, and a header `kid`
    /// only when it equals `kid`.
    pub fn new(algorithm: Algorithm, kid: Option<String>, decoding_key: DecodingKey, issuer: &str, audience: &str) -> Self {
        // Only the configured algorithm is accepted, whatever the token's header names, and
        // exp, iss and aud must be present and match. No leeway, so an expired token fails
        // the second it expires.
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        Self {
            algorithm,
            algorithm_name: algorithm_name(algorithm),
            kid,
            decoding_key,
            validation,
        }
    }

    /// Builds a verifier from a public key in a JWK set. Keys without `alg` and `kid`, with a
    /// symmetric algorithm or with a key type jsonwebtoken cannot read are rejected.
    pub fn from_public_jwk(jwk: &Jwk, issuer: &str, audience: &str) -> Result<Self, String> {
        let algorithm = match jwk.common.key_algorithm.ok_or("the JWK has no `alg`")? {
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
            KeyAlgorithm::RS256 => Algorithm::RS256,
            other => return Err(format!("the JWK's algorithm {other} is not EdDSA or RS256")),
        };
        let kid = jwk.common.key_id.clone().ok_or("the JWK has no `kid`")?;
        let decoding_key = DecodingKey::from_jwk(jwk).map_err(|error| format!("the JWK is not a valid public key: {error}"))?;
        Ok(Self::new(algorithm, Some(kid), decoding_key, issuer, audience))
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The algorithm's name as a token header writes it.
    pub fn algorithm_name(&self) -> &'static str {
        self.algorithm_name
    }

    /// The ID of the key this verifier checks signatures with, when it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm and key ID a token's header must name.
    pub fn header_policy(&self) -> HeaderPolicy<'_> {
        HeaderPolicy {
            algorithm: self.algorithm_name,
            kid: self.kid.as_deref(),
        }
    }

    /// Verifies the form, header, signature and claims of `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let inspected = inspect::inspect(token, self.header_policy())?;
        // Decoding into a JSON value first lets the registered-claim checks (exp, iss, aud)
        // report their precise errors: jsonwebtoken deserializes into the target type before
        // it validates, so a missing `exp` would otherwise surface as a JSON error.
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &self.decoding_key, &self.validation)
            .map_err(|error| rejection(error.kind(), &inspected.payload))?;
        serde_json::from_value(data.claims).map_err(|error| {
            unauthorized("token_invalid_claim", format!("the token's claims do not match this app's: {error}"))
        })
    }
}

/// Returns the `alg` header value of `algorithm`.
pub fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::{AlgorithmParameters, CommonParameters, OctetKeyParameters, OctetKeyType};

    use super::*;

    #[test]
    fn symmetric_jwk_is_rejected() {
        let jwk = Jwk {
            common: CommonParameters {
                key_algorithm: Some(KeyAlgorithm::HS256),
                key_id: Some("k".into()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKey(OctetKeyParameters {
                key_type: OctetKeyType::Octet,
                value: "c2VjcmV0".into(),
            }),
        };
        let error = TokenVerifier::from_public_jwk(&jwk, "iss", "aud").err().expect("an HS256 JWK was accepted");
        assert!(error.contains("not EdDSA or RS256"), "{error}");
    }

    #[test]
    fn jwk_without_alg_is_rejected() {
        let jwk = Jwk {
            common: CommonParameters::default(),
            algorithm: AlgorithmParameters::OctetKey(OctetKeyParameters {
                key_type: OctetKeyType::Octet,
                value: "c2VjcmV0".into(),
            }),
        };
        let error = TokenVerifier::from_public_jwk(&jwk, "iss", "aud").err().expect("a JWK without alg was accepted");
        assert!(error.contains("no `alg`"), "{error}");
    }
}

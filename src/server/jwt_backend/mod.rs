//! The stateless backend: a signed JWT that the server verifies in memory on every page
//! request, with no database access.

pub mod keys;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};
use axum_extra::extract::CookieJar;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use keys::{SecretSource, SigningSecret};

use crate::model::User;
use crate::server::error::AppError;

/// Name of the cookie that carries the JWT.
pub const TOKEN_COOKIE: &str = "sj_token";

/// Tokens longer than this are rejected before any decoding, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The claims of a Session Journey token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub role: String,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

impl Claims {
    pub fn user(&self) -> User {
        User {
            id: self.sub.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
        }
    }
}

/// Issues and verifies HS256 tokens with one secret.
pub struct JwtBackend {
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
    issuer: String,
    audience: String,
}

impl JwtBackend {
    pub fn new(secret: &SigningSecret, ttl_secs: u64, issuer: &str, audience: &str) -> Self {
        // Only HS256 is accepted, whatever the token's header names, and exp, iss and aud must
        // be present and match. No leeway, so an expired token fails the second it expires.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.validate_nbf = true;
        validation.leeway = 0;

        Self {
            encoding_key: EncodingKey::from_secret(secret.expose()),
            decoding_key: DecodingKey::from_secret(secret.expose()),
            validation,
            ttl_secs,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Lifetime of issued tokens, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Signs a token for `user` that expires `ttl_secs` from now.
    pub fn issue(&self, user: &User) -> Result<(String, Claims), AppError> {
        let now = unix_now();
        let claims = Claims {
            sub: user.id.clone(),
            name: user.name.clone(),
            role: user.role.clone(),
            iat: now,
            exp: now + self.ttl_secs,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding_key)
            .map_err(|error| AppError::Internal(format!("failed to sign a JWT: {error}")))?;
        Ok((token, claims))
    }

    /// Verifies the signature and claims of `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(unauthorized(
                "token_too_large",
                format!("the token has {} bytes; the limit is {MAX_TOKEN_BYTES}", token.len()),
            ));
        }
        // Decoding into a JSON value first lets the registered-claim checks (exp, iss, aud)
        // report their precise errors: jsonwebtoken deserializes into the target type before
        // it validates, so a missing `exp` would otherwise surface as a JSON error.
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &self.decoding_key, &self.validation)
            .map_err(|error| rejection(error.kind()))?;
        serde_json::from_value(data.claims).map_err(|error| {
            unauthorized("token_invalid_claim", format!("the token's claims do not match this app's: {error}"))
        })
    }
}

/// Returns the token of a request: the `Authorization: Bearer` header when present, otherwise
/// the token cookie.
pub fn token_from_request<'a>(
    headers: &'a HeaderMap,
    cookies: &'a CookieJar,
) -> Result<&'a str, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| {
            unauthorized("authorization_invalid", "the Authorization header is not valid text".into())
        })?;
        let Some((scheme, token)) = value.split_once(' ') else {
            return Err(unauthorized(
                "authorization_invalid",
                "the Authorization header must read `Bearer <token>`".into(),
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthorized(
                "authorization_invalid",
                format!("the Authorization scheme must be Bearer, not {scheme}"),
            ));
        }
        return Ok(token.trim());
    }

    cookies.get(TOKEN_COOKIE).map(|cookie| cookie.value()).ok_or_else(|| {
        unauthorized(
            "token_missing",
            "no JWT was sent in a cookie or an Authorization header; sign in first".into(),
        )
    })
}

/// Returns the size in bytes of the credential a JWT request carries: the Authorization
/// header value when present, else the token cookie as `name=value`.
pub fn credential_bytes(headers: &HeaderMap, cookies: &CookieJar) -> Option<usize> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return Some(value.len());
    }
    cookies
        .get(TOKEN_COOKIE)
        .map(|cookie| cookie.name().len() + 1 + cookie.value().len())
}

fn rejection(kind: &ErrorKind) -> AppError {
    let (code, reason) = match kind {
        ErrorKind::ExpiredSignature => ("token_expired", "the token has expired".to_owned()),
        ErrorKind::ImmatureSignature => {
            ("token_not_yet_valid", "the token is not valid yet (nbf is in the future)".into())
        }
        ErrorKind::InvalidSignature => (
            "token_bad_signature",
            "the token's signature does not match its contents: it was forged, altered or \
             signed with another key"
                .into(),
        ),
        ErrorKind::InvalidIssuer => ("token_wrong_issuer", "the token's issuer (iss) is not accepted".into()),
        ErrorKind::InvalidAudience => {
            ("token_wrong_audience", "the token's audience (aud) is not accepted".into())
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => (
            "token_algorithm_rejected",
            "the token's algorithm (alg) is not HS256, the only one this server accepts".into(),
        ),
        ErrorKind::MissingRequiredClaim(claim) => {
            ("token_missing_claim", format!("the token has no `{claim}` claim"))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            ("token_invalid_claim", format!("the token's `{claim}` claim has the wrong type"))
        }
        ErrorKind::Json(error) => ("token_malformed", format!("the token's JSON is invalid: {error}")),
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            ("token_malformed", "the token is not valid base64url-encoded JSON".into())
        }
        _ => ("token_malformed", "the token is not a well-formed JWT".into()),
    };
    unauthorized(code, reason)
}

fn unauthorized(code: &'static str, reason: String) -> AppError {
    AppError::Unauthorized { code, reason }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(secret_byte: u8) -> JwtBackend {
        let secret = SigningSecret::from_bytes(vec![secret_byte; 32]).unwrap();
        JwtBackend::new(&secret, 900, "session-journey", "session-journey")
    }

    fn demo_user() -> User {
        User {
            id: "user-1".into(),
            name: "John Doe".into(),
            role: "member".into(),
        }
    }

    fn error_code(error: AppError) -> &'static str {
        match error {
            AppError::Unauthorized { code, .. } => code,
            other => panic!("expected a 401, got {other:?}"),
        }
    }

    fn sign(claims: &serde_json::Value, secret_byte: u8) -> String {
        let key = EncodingKey::from_secret(&[secret_byte; 32]);
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
    }

    #[test]
    fn issued_token_verifies() {
        let jwt = backend(7);
        let (token, issued) = jwt.issue(&demo_user()).unwrap();
        let verified = jwt.verify(&token).unwrap();

        assert_eq!(verified, issued);
        assert_eq!(verified.exp - verified.iat, 900);
        assert_eq!(verified.user(), demo_user());
    }

    #[test]
    fn token_from_other_key_is_rejected() {
        let (token, _) = backend(1).issue(&demo_user()).unwrap();
        assert_eq!(error_code(backend(2).verify(&token).unwrap_err()), "token_bad_signature");
    }

    #[test]
    fn expired_token_is_rejected() {
        let now = unix_now();
        let claims = serde_json::json!({
            "sub": "user-1", "name": "John", "role": "member", "iat": now - 120,
            "exp": now - 1, "iss": "session-journey", "aud": "session-journey", "jti": "j",
        });
        assert_eq!(error_code(backend(7).verify(&sign(&claims, 7)).unwrap_err()), "token_expired");
    }

    #[test]
    fn wrong_issuer_and_audience_are_rejected() {
        let now = unix_now();
        let mut claims = serde_json::json!({
            "sub": "user-1", "name": "John", "role": "member", "iat": now,
            "exp": now + 60, "iss": "someone-else", "aud": "session-journey", "jti": "j",
        });
        let jwt = backend(7);
        assert_eq!(error_code(jwt.verify(&sign(&claims, 7)).unwrap_err()), "token_wrong_issuer");

        claims["iss"] = "session-journey".into();
        claims["aud"] = "another-app".into();
        assert_eq!(error_code(jwt.verify(&sign(&claims, 7)).unwrap_err()), "token_wrong_audience");
    }

    #[test]
    fn missing_exp_is_rejected() {
        let claims = serde_json::json!({
            "sub": "user-1", "name": "John", "role": "member", "iat": 1,
            "iss": "session-journey", "aud": "session-journey", "jti": "j",
        });
        assert_eq!(error_code(backend(7).verify(&sign(&claims, 7)).unwrap_err()), "token_missing_claim");
    }

    #[test]
    fn oversized_token_is_rejected_before_decoding() {
        let token = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(error_code(backend(7).verify(&token).unwrap_err()), "token_too_large");
    }

    #[test]
    fn bearer_header_wins_over_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer header-token".parse().unwrap());
        let cookies = CookieJar::new().add(axum_extra::extract::cookie::Cookie::new(TOKEN_COOKIE, "cookie-token"));

        assert_eq!(token_from_request(&headers, &cookies).unwrap(), "header-token");
        assert_eq!(token_from_request(&HeaderMap::new(), &cookies).unwrap(), "cookie-token");
    }

    #[test]
    fn other_authorization_schemes_are_rejected() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Basic dXNlcjpwYXNz".parse().unwrap());
        let error = token_from_request(&headers, &CookieJar::new()).unwrap_err();
        assert_eq!(error_code(error), "authorization_invalid");
    }
}

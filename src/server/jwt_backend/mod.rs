//! The stateless backend: a signed JWT that the server verifies in memory on every page
//! request, with no database access.

pub mod fingerprint;
pub mod inspect;
pub mod key_pair;
pub mod keys;
pub mod verifier;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

pub use fingerprint::Fingerprint;
pub use inspect::MAX_TOKEN_BYTES;
pub use key_pair::{KeyPair, PublicKey, SigningAlgorithm};
pub use keys::{SecretSource, SigningSecret};
pub use verifier::TokenVerifier;

use crate::model::User;
use crate::server::error::AppError;

/// Name of the cookie that carries the JWT.
pub const TOKEN_COOKIE: &str = "sj_token";

/// The maximum size in bytes of a cookie's name and value together that browsers keep, as
/// the cookie draft RFC 6265bis requires.
pub const MAX_COOKIE_BYTES: usize = 4096;

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
    /// SHA-256 of the fingerprint cookie, set only with `--bind-token-fingerprint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fgp: Option<String>,
    /// Permission names that the token inspector's payload-size control adds, to show what a
    /// bigger payload costs on every request. Nothing checks them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
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

/// Issues and verifies tokens with one HS256 secret or one EdDSA or RS256 key pair.
pub struct JwtBackend {
    encoding_key: EncodingKey,
    verifier: TokenVerifier,
    /// The public key of an EdDSA or RS256 key pair; `None` for HS256.
    public_key: Option<PublicKey>,
    ttl_secs: u64,
    issuer: String,
    audience: String,
    /// The fingerprint cookie's name when tokens are bound to it.
    fingerprint_cookie: Option<&'static str>,
}

impl JwtBackend {
    /// Builds an HS256 backend with `secret`.
    pub fn new(secret: &SigningSecret, ttl_secs: u64, issuer: &str, audience: &str) -> Self {
        let decoding_key = DecodingKey::from_secret(secret.expose());
        let verifier = TokenVerifier::new(Algorithm::HS256, None, decoding_key, issuer, audience);
        Self::build(EncodingKey::from_secret(secret.expose()), verifier, None, ttl_secs, issuer, audience)
    }

    /// Builds an EdDSA or RS256 backend with `pair`. Issued tokens name the key's `kid`.
    pub fn with_key_pair(pair: &KeyPair, ttl_secs: u64, issuer: &str, audience: &str) -> Result<Self, AppError> {
        let (encoding_key, decoding_key) = match pair.algorithm {
            Algorithm::EdDSA => (EncodingKey::from_ed_der(pair.private_der()), DecodingKey::from_jwk(&pair.public.jwk)),
            Algorithm::RS256 => (EncodingKey::from_rsa_der(pair.private_der()), DecodingKey::from_jwk(&pair.public.jwk)),
            other => return Err(AppError::Internal(format!("{other:?} has no key pair"))),
        };
        let decoding_key = decoding_key.map_err(|error| AppError::Internal(format!("the public key is invalid: {error}")))?;
        let kid = Some(pair.public.kid.clone());
        let verifier = TokenVerifier::new(pair.algorithm, kid, decoding_key, issuer, audience);
        Ok(Self::build(encoding_key, verifier, Some(pair.public.clone()), ttl_secs, issuer, audience))
    }

    fn build(
        encoding_key: EncodingKey,
        verifier: TokenVerifier,
        public_key: Option<PublicKey>,
        ttl_secs: u64,
        issuer: &str,
        audience: &str,
    ) -> Self {
        Self {
            encoding_key,
            verifier,
            public_key,
            ttl_secs,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            fingerprint_cookie: None,
        }
    }

    /// Binds tokens to a fingerprint cookie named `cookie_name`: verification then requires
    /// that cookie, and its SHA-256 must equal the token's `fgp` claim.
    pub fn with_fingerprint_binding(mut self, cookie_name: &'static str) -> Self {
        self.fingerprint_cookie = Some(cookie_name);
        self
    }

    /// The fingerprint cookie's name when tokens are bound to one.
    pub fn fingerprint_cookie(&self) -> Option<&'static str> {
        self.fingerprint_cookie
    }

    /// The algorithm tokens are signed with, the only one `verify` accepts.
    pub fn algorithm(&self) -> Algorithm {
        self.verifier.algorithm()
    }

    /// The algorithm and key ID a token's header must name.
    pub fn header_policy(&self) -> inspect::HeaderPolicy<'_> {
        self.verifier.header_policy()
    }

    /// The public key of an EdDSA or RS256 backend.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public_key.as_ref()
    }

    /// The JWK set of the public key, empty for HS256, whose secret must never be published.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.public_key.iter().map(|key| key.jwk.clone()).collect(),
        }
    }

    /// The JSON header of issued tokens: `alg`, `typ` and, with a key pair, `kid`.
    pub fn issued_header_json(&self) -> String {
        serde_json::to_string(&self.issued_header()).unwrap_or_default()
    }

    fn issued_header(&self) -> Header {
        let mut header = Header::new(self.algorithm());
        header.kid = self.verifier.kid().map(str::to_owned);
        header
    }

    /// Lifetime of issued tokens, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Signs a token for `user` that expires `ttl_secs` from now.
    pub fn issue(&self, user: &User) -> Result<(String, Claims), AppError> {
        self.sign_claims(user, None, Vec::new())
    }

    /// Signs a token for `user` with `permissions`, whose `fgp` claim is the hash of
    /// `fingerprint` when there is one.
    pub fn issue_with(
        &self,
        user: &User,
        fingerprint: Option<&Fingerprint>,
        permissions: Vec<String>,
    ) -> Result<(String, Claims), AppError> {
        self.sign_claims(user, fingerprint.map(Fingerprint::claim), permissions)
    }

    /// Signs `claims` again with `permissions` in place of the old ones. Everything else stays,
    /// the `jti` and `exp` included, so the new token is revoked and expires with the old one.
    pub fn reissue_with_permissions(&self, claims: &Claims, permissions: Vec<String>) -> Result<String, AppError> {
        let claims = Claims {
            permissions,
            ..claims.clone()
        };
        jsonwebtoken::encode(&self.issued_header(), &claims, &self.encoding_key)
            .map_err(|error| AppError::Internal(format!("failed to sign a JWT: {error}")))
    }

    fn sign_claims(
        &self,
        user: &User,
        fgp: Option<String>,
        permissions: Vec<String>,
    ) -> Result<(String, Claims), AppError> {
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
            fgp,
            permissions,
        };
        let token = jsonwebtoken::encode(&self.issued_header(), &claims, &self.encoding_key)
            .map_err(|error| AppError::Internal(format!("failed to sign a JWT: {error}")))?;
        Ok((token, claims))
    }

    /// Signs `header_json` and `payload_json` as they are with this server's key and
    /// `algorithm`, for the attack lab's crafted tokens. Callers must make sure the result
    /// never verifies.
    pub(crate) fn sign_raw(
        &self,
        algorithm: Algorithm,
        header_json: &str,
        payload_json: &str,
    ) -> Result<String, AppError> {
        sign_raw_with(&self.encoding_key, algorithm, header_json, payload_json)
    }

    /// Verifies the form, header, signature and claims of `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        self.verifier.verify(token)
    }

    /// Authenticates a request: takes its token, verifies it, and with fingerprint binding on
    /// checks the fingerprint cookie against the token's `fgp` claim.
    pub fn authenticate(&self, headers: &HeaderMap, cookies: &CookieJar) -> Result<Claims, AppError> {
        let token = token_from_request(headers, cookies)?;
        let claims = self.verify(token)?;
        if let Some(cookie_name) = self.fingerprint_cookie {
            check_fingerprint(&claims, cookie_name, cookies)?;
        }
        Ok(claims)
    }
}

/// Signs `header_json.payload_json`, each base64url-encoded, with `key` and `algorithm`.
pub(crate) fn sign_raw_with(
    key: &EncodingKey,
    algorithm: Algorithm,
    header_json: &str,
    payload_json: &str,
) -> Result<String, AppError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header_json), URL_SAFE_NO_PAD.encode(payload_json));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm)
        .map_err(|error| AppError::Internal(format!("failed to sign a JWT: {error}")))?;
    Ok(format!("{message}.{signature}"))
}

/// Checks the fingerprint cookie named `cookie_name` against the `fgp` claim of a verified token.
pub(crate) fn check_fingerprint(claims: &Claims, cookie_name: &str, cookies: &CookieJar) -> Result<(), AppError> {
    let cookie_value = cookies.get(cookie_name).map(|cookie| cookie.value());
    let Some(expected) = &claims.fgp else {
        return Err(unauthorized(
            "fingerprint_claim_missing",
            "the token has no `fgp` claim, but this server binds every token to a fingerprint \
             cookie; sign in again"
                .into(),
        ));
    };
    let Some(cookie_value) = cookie_value else {
        return Err(unauthorized(
            "fingerprint_cookie_missing",
            format!(
                "the request has no `{cookie_name}` cookie, so the token may have been copied \
                 out of the browser that signed in; sign in again"
            ),
        ));
    };
    // Both sides are SHA-256 hashes, so a timing difference in this comparison shows an
    // attacker nothing about a cookie value that would match.
    if fingerprint::hash(cookie_value) != *expected {
        return Err(unauthorized(
            "fingerprint_mismatch",
            format!(
                "the `{cookie_name}` cookie does not match the token's `fgp` claim, so the token \
                 was issued to another browser"
            ),
        ));
    }
    Ok(())
}

/// Builds the HttpOnly, SameSite=Strict cookie that carries a token for `ttl_secs` seconds.
pub fn token_cookie(token: String, secure: bool, ttl_secs: u64) -> Cookie<'static> {
    Cookie::build((TOKEN_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(time::Duration::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX)))
        .build()
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

fn rejection(kind: &ErrorKind, payload: &serde_json::Map<String, serde_json::Value>) -> AppError {
    let (code, reason) = match kind {
        ErrorKind::ExpiredSignature => ("token_expired", "the token has expired".to_owned()),
        ErrorKind::ImmatureSignature => {
            ("token_not_yet_valid", "the token is not valid yet (nbf is in the future)".into())
        }
        ErrorKind::InvalidSignature => (
            "invalid_signature",
            "the token's signature does not match its contents: it was forged, altered or \
             signed with another key"
                .into(),
        ),
        ErrorKind::InvalidIssuer => ("wrong_issuer", "the token's issuer (iss) is not accepted".into()),
        ErrorKind::InvalidAudience => {
            ("wrong_audience", "the token's audience (aud) is not accepted".into())
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => (
            "alg_not_allowed",
            "the token's algorithm (alg) is not the one this server accepts".into(),
        ),
        // jsonwebtoken 10 reports a registered claim of the wrong type as missing, so the
        // payload decides which of the two it is.
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
            match payload.get(claim.as_str()) {
                None => (missing_claim_code(claim), format!("the token has no `{claim}` claim")),
                Some(value) => (wrong_claim_type_code(claim, value), wrong_claim_type(claim, value)),
            }
        }
        ErrorKind::Json(error) => ("malformed_json", format!("the token's JSON is invalid: {error}")),
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            ("malformed_base64", "the token is not valid base64url-encoded JSON".into())
        }
        _ => ("token_malformed", "the token is not a well-formed JWT".into()),
    };
    unauthorized(code, reason)
}

/// Returns the error code for a required registered claim that the token lacks.
fn missing_claim_code(claim: &str) -> &'static str {
    match claim {
        "exp" => "exp_missing",
        "nbf" => "nbf_missing",
        "iss" => "iss_missing",
        "aud" => "aud_missing",
        "sub" => "sub_missing",
        _ => "claim_missing",
    }
}

/// Returns the error code for a registered claim whose JSON type is wrong. A time claim that
/// is a number but no unsigned 64-bit value (jsonwebtoken 10 truncates fractions, so only a
/// negative or a too-large number) gets its own code.
fn wrong_claim_type_code(claim: &str, value: &serde_json::Value) -> &'static str {
    let is_number = value.is_number();
    match (claim, is_number) {
        ("exp", false) => "exp_not_a_number",
        ("exp", true) => "exp_out_of_range",
        ("nbf", false) => "nbf_not_a_number",
        ("nbf", true) => "nbf_out_of_range",
        _ => "claim_wrong_type",
    }
}

/// Describes a registered claim whose value has the wrong JSON type.
fn wrong_claim_type(claim: &str, value: &serde_json::Value) -> String {
    let expected = match claim {
        "exp" | "nbf" | "iat" => "a whole number of seconds since the Unix epoch",
        "aud" => "a string or an array of strings",
        _ => "a string",
    };
    let found = match value {
        serde_json::Value::String(text) => format!("the string {:?}", crate::server::error::shorten(text)),
        serde_json::Value::Number(number) => format!("the number {number}"),
        serde_json::Value::Bool(flag) => format!("the boolean {flag}"),
        serde_json::Value::Null => "null".to_owned(),
        serde_json::Value::Array(_) => "an array".to_owned(),
        serde_json::Value::Object(_) => "an object".to_owned(),
    };
    format!("the token's `{claim}` claim is {found}; it must be {expected}")
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
        assert_eq!(error_code(backend(2).verify(&token).unwrap_err()), "invalid_signature");
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
        assert_eq!(error_code(jwt.verify(&sign(&claims, 7)).unwrap_err()), "wrong_issuer");

        claims["iss"] = "session-journey".into();
        claims["aud"] = "another-app".into();
        assert_eq!(error_code(jwt.verify(&sign(&claims, 7)).unwrap_err()), "wrong_audience");
    }

    #[test]
    fn missing_exp_is_rejected() {
        let claims = serde_json::json!({
            "sub": "user-1", "name": "John", "role": "member", "iat": 1,
            "iss": "session-journey", "aud": "session-journey", "jti": "j",
        });
        assert_eq!(error_code(backend(7).verify(&sign(&claims, 7)).unwrap_err()), "exp_missing");
    }

    #[test]
    fn wrong_typed_exp_is_not_reported_missing() {
        let mut claims = serde_json::json!({
            "sub": "user-1", "name": "John", "role": "member", "iat": 1, "exp": "tomorrow",
            "iss": "session-journey", "aud": "session-journey", "jti": "j",
        });
        let jwt = backend(7);
        assert_eq!(error_code(jwt.verify(&sign(&claims, 7)).unwrap_err()), "exp_not_a_number");

        claims["exp"] = serde_json::json!(null);
        assert_eq!(error_code(jwt.verify(&sign(&claims, 7)).unwrap_err()), "exp_not_a_number");

        claims["exp"] = serde_json::json!(-5);
        assert_eq!(error_code(jwt.verify(&sign(&claims, 7)).unwrap_err()), "exp_out_of_range");
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

//! Token fingerprints, the OWASP defence against token sidejacking: sign-in sets a random
//! value in a hardened cookie and puts its SHA-256 hash in the token's `fgp` claim. A stolen
//! token then works only together with the cookie, which page scripts cannot read.

use std::fmt;

use axum_extra::extract::cookie::{Cookie, SameSite};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Name of the fingerprint cookie over plain HTTP.
pub const FINGERPRINT_COOKIE: &str = "sj_fingerprint";

/// Name of the fingerprint cookie with `--secure-cookies`. Browsers accept a `__Host-` cookie
/// only with Secure, `Path=/` and no Domain, so no subdomain can set or shadow it.
pub const SECURE_FINGERPRINT_COOKIE: &str = "__Host-sj_fingerprint";

/// Random bytes in a fingerprint.
const FINGERPRINT_BYTES: usize = 32;

/// Returns the fingerprint cookie's name for the server's cookie setting.
pub fn cookie_name(secure_cookies: bool) -> &'static str {
    if secure_cookies {
        SECURE_FINGERPRINT_COOKIE
    } else {
        FINGERPRINT_COOKIE
    }
}

/// A fingerprint: 256 random bits as hex. Its `Debug` output never shows the value.
#[derive(Clone)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn generate() -> Self {
        let mut bytes = [0u8; FINGERPRINT_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value of the token's `fgp` claim for this fingerprint.
    pub fn claim(&self) -> String {
        hash(&self.0)
    }

    /// Builds the cookie that carries this fingerprint: HttpOnly, SameSite=Strict, for the
    /// whole site, and as long-lived as the token.
    pub fn cookie(&self, secure_cookies: bool, max_age_secs: u64) -> Cookie<'static> {
        Cookie::build((cookie_name(secure_cookies), self.0.clone()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure_cookies)
            .path("/")
            .max_age(time::Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX)))
            .build()
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprint([redacted])")
    }
}

/// Returns the lowercase hex SHA-256 of a cookie value, as the `fgp` claim stores it.
pub fn hash(cookie_value: &str) -> String {
    hex::encode(Sha256::digest(cookie_value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_is_sha256_of_cookie_value() {
        // SHA-256 of "abc", from FIPS 180-2 appendix B.1.
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let fingerprint = Fingerprint::generate();
        assert_eq!(fingerprint.claim(), hash(fingerprint.expose()));
    }

    #[test]
    fn secure_cookie_uses_host_prefix() {
        let fingerprint = Fingerprint::generate();
        let cookie = fingerprint.cookie(true, 60).to_string();
        assert!(cookie.starts_with("__Host-sj_fingerprint="), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(fingerprint.cookie(false, 60).to_string().starts_with("sj_fingerprint="));
    }

    #[test]
    fn debug_output_is_redacted() {
        assert_eq!(format!("{:?}", Fingerprint::generate()), "Fingerprint([redacted])");
    }
}

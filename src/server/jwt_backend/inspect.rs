//! Checks of a token's form and header that run before its signature is verified: size,
//! segment count, base64url, JSON objects without duplicate keys, the header parameters and
//! the algorithm. Each failure has its own error code, so the live log shows which rule a
//! crafted token broke.

use std::collections::HashSet;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::unauthorized;
use crate::server::error::{shorten, AppError};

/// Tokens longer than this are rejected before any decoding, in bytes. The tokens this server
/// issues are about 400 bytes. Browsers keep cookies only up to about 4 KiB, so a larger token
/// can only arrive in an `Authorization` header.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The header parameters this server issues and accepts. Every other one is rejected, because
/// the dangerous ones (`jwk`, `jku`, `x5u`, `x5c`) let a token choose the key that verifies
/// it. `kid` passes only when it names the server's own public key.
const ACCEPTED_HEADER_PARAMETERS: [&str; 2] = ["alg", "typ"];

/// The header rules of one verifier: the one algorithm it accepts, and the key ID of
/// its public key (`None` for HS256, whose secret has no published key ID).
#[derive(Clone, Copy, Debug)]
pub struct HeaderPolicy<'a> {
    pub algorithm: &'a str,
    pub kid: Option<&'a str>,
}

impl HeaderPolicy<'static> {
    /// The policy of an HS256 verifier.
    pub const HS256: Self = Self {
        algorithm: "HS256",
        kid: None,
    };
}

/// The decoded header and payload of a token that passed [`inspect`].
#[derive(Debug)]
pub struct InspectedToken {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
}

/// Checks the form and header of `token` against `policy` and returns its decoded header and
/// payload.
pub fn inspect(token: &str, policy: HeaderPolicy<'_>) -> Result<InspectedToken, AppError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(unauthorized(
            "token_too_large",
            format!("the token has {} bytes; the limit is {MAX_TOKEN_BYTES}", token.len()),
        ));
    }

    let segments: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = segments[..] else {
        return Err(unauthorized(
            "wrong_segment_count",
            format!(
                "the token has {} dot-separated segments; a signed JWT has 3 (header.payload.signature)",
                segments.len()
            ),
        ));
    };

    let header = decode_object("header", header)?;
    let payload = decode_object("payload", payload)?;
    check_algorithm(&header, policy.algorithm)?;
    check_header_parameters(&header, policy.kid)?;
    if signature.is_empty() {
        return Err(unauthorized(
            "signature_missing",
            "the token's signature segment is empty: an unsigned token proves nothing about who \
             wrote it"
                .into(),
        ));
    }
    Ok(InspectedToken { header, payload })
}

fn check_algorithm(header: &Map<String, Value>, accepted: &str) -> Result<(), AppError> {
    let reason = match header.get("alg") {
        Some(Value::String(alg)) if alg == accepted => return Ok(()),
        Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => format!(
            "the token's algorithm (alg) is \"{}\", which marks an unsigned token; this server \
             accepts only {accepted}",
            shorten(alg)
        ),
        Some(Value::String(alg)) => format!(
            "the token's algorithm (alg) is \"{}\"; this server accepts only {accepted}",
            shorten(alg)
        ),
        Some(_) => format!("the token's algorithm (alg) is not a string; this server accepts only {accepted}"),
        None => format!("the token's header has no algorithm (alg); this server accepts only {accepted}"),
    };
    Err(unauthorized("alg_not_allowed", reason))
}

/// Rejects every header parameter but `alg`, `typ` and a `kid` equal to `accepted_kid`. The
/// server has one key and never looks a key up by `kid`, `jwk`, `jku`, `x5u` or `x5c`: it
/// uses none of them as a file path, a SQL value or a URL, and it fetches nothing.
fn check_header_parameters(header: &Map<String, Value>, accepted_kid: Option<&str>) -> Result<(), AppError> {
    let is_accepted = |name: &str, value: &Value| {
        ACCEPTED_HEADER_PARAMETERS.contains(&name)
            || (name == "kid" && accepted_kid.is_some() && value.as_str() == accepted_kid)
    };
    let Some((name, value)) = header.iter().find(|(name, value)| !is_accepted(name, value)) else {
        return Ok(());
    };
    let (code, reason) = match name.as_str() {
        "kid" => (
            "unknown_kid",
            format!(
                "the token names the key ID (kid) {}, which is not this server's one signing key; \
                 it never reads a key ID as a file path or a SQL value",
                describe_value(value)
            ),
        ),
        "jwk" | "x5c" => (
            "embedded_key_rejected",
            format!(
                "the token's header embeds a key (`{name}`); a key chosen by the token's sender \
                 proves nothing, so this server verifies only with its own key"
            ),
        ),
        "jku" | "x5u" => (
            "key_url_rejected",
            format!(
                "the token's header names a URL to fetch keys from (`{name}` = {}); this server \
                 never fetches keys and verifies only with its own key",
                describe_value(value)
            ),
        ),
        _ => (
            "header_parameter_rejected",
            format!(
                "the token's header has a `{}` parameter; this server accepts only `alg` and `typ`",
                shorten(name)
            ),
        ),
    };
    Err(unauthorized(code, reason))
}

/// Quotes a JSON value from a token, cut to a loggable length.
fn describe_value(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{:?}", shorten(text)),
        other => shorten(&other.to_string()),
    }
}

/// Decodes one base64url segment into a JSON object, rejecting duplicate keys.
fn decode_object(part: &str, segment: &str) -> Result<Map<String, Value>, AppError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|error| {
            unauthorized(
                "malformed_base64",
                format!("the token's {part} is not valid unpadded base64url: {error}"),
            )
        })?;

    let mut duplicate = None;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let checked = DuplicateKeyCheck {
        duplicate: &mut duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Some(key) = duplicate {
        return Err(unauthorized(
            "duplicate_json_key",
            format!(
                "the token's {part} has the key `{}` more than once; JSON parsers disagree on \
                 which copy wins, so the token is rejected",
                shorten(&key)
            ),
        ));
    }
    checked.map_err(|error| malformed(format!("the token's {part} is not valid JSON: {error}")))?;

    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(malformed(format!("the token's {part} is JSON but not an object"))),
        Err(error) => Err(malformed(format!("the token's {part} is not valid JSON: {error}"))),
    }
}

fn malformed(reason: String) -> AppError {
    unauthorized("malformed_json", reason)
}

/// Walks a JSON document and fails at the first object that repeats a key, storing that key.
///
/// Hand-written because serde_json keeps the last value of a repeated key and has no option
/// to reject it, and a JWT whose claims two parsers read differently must not be accepted.
struct DuplicateKeyCheck<'a> {
    duplicate: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for DuplicateKeyCheck<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DuplicateKeyCheck<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.duplicate = Some(key);
                return Err(de::Error::custom("duplicate key"));
            }
            map.next_value_seed(DuplicateKeyCheck {
                duplicate: &mut *self.duplicate,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(DuplicateKeyCheck {
                duplicate: &mut *self.duplicate,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn code_of(token: &str) -> &'static str {
        match inspect(token, HeaderPolicy::HS256).unwrap_err() {
            AppError::Unauthorized { code, .. } => code,
            other => panic!("expected a 401, got {other:?}"),
        }
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2lnbmF0dXJl", encode(header), encode(payload))
    }

    #[test]
    fn well_formed_token_passes() {
        let inspected = inspect(&token(r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"sub":"a"}"#), HeaderPolicy::HS256).unwrap();
        assert_eq!(inspected.payload["sub"], "a");
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        let header = r#"{"alg":"HS256"}"#;
        assert_eq!(code_of(&token(header, r#"{"role":"member","role":"admin"}"#)), "duplicate_json_key");
        assert_eq!(code_of(&token(header, r#"{"a":[{"b":1,"b":2}]}"#)), "duplicate_json_key");
        assert_eq!(code_of(&token(r#"{"alg":"none","alg":"HS256"}"#, "{}")), "duplicate_json_key");
    }

    #[test]
    fn key_choosing_header_parameters_are_rejected() {
        let cases = [
            (r#"{"alg":"HS256","kid":"../../etc/passwd"}"#, "unknown_kid"),
            (r#"{"alg":"HS256","jwk":{"kty":"oct","k":"a2V5"}}"#, "embedded_key_rejected"),
            (r#"{"alg":"HS256","x5c":["MIIB"]}"#, "embedded_key_rejected"),
            (r#"{"alg":"HS256","jku":"http://127.0.0.1/keys"}"#, "key_url_rejected"),
            (r#"{"alg":"HS256","x5u":"http://127.0.0.1/cert"}"#, "key_url_rejected"),
            (r#"{"alg":"HS256","cty":"JWT"}"#, "header_parameter_rejected"),
        ];
        for (header, code) in cases {
            assert_eq!(code_of(&token(header, "{}")), code, "{header}");
        }
    }

    #[test]
    fn algorithms_other_than_hs256_are_rejected() {
        for header in [r#"{"alg":"none"}"#, r#"{"alg":"None"}"#, r#"{"alg":"HS512"}"#, r#"{"alg":5}"#, "{}"] {
            assert_eq!(code_of(&token(header, "{}")), "alg_not_allowed", "{header}");
        }
    }

    #[test]
    fn only_the_servers_kid_passes() {
        let policy = HeaderPolicy {
            algorithm: "EdDSA",
            kid: Some("key-1"),
        };
        let own = token(r#"{"alg":"EdDSA","kid":"key-1"}"#, "{}");
        assert!(inspect(&own, policy).is_ok());

        let other = token(r#"{"alg":"EdDSA","kid":"key-2"}"#, "{}");
        let AppError::Unauthorized { code, .. } = inspect(&other, policy).unwrap_err() else {
            panic!("expected a 401");
        };
        assert_eq!(code, "unknown_kid");
        assert_eq!(code_of(&token(r#"{"alg":"HS256","kid":"key-1"}"#, "{}")), "unknown_kid");
    }

    #[test]
    fn structural_faults_have_their_own_codes() {
        let header = encode(r#"{"alg":"HS256"}"#);
        let cases = [
            ("abc".to_owned(), "wrong_segment_count"),
            ("a.b".to_owned(), "wrong_segment_count"),
            ("a.b.c.d".to_owned(), "wrong_segment_count"),
            (format!("{header}.%%.c2ln"), "malformed_base64"),
            (format!("{header}.{}==.c2ln", encode("{}")), "malformed_base64"),
            (format!("{header}.{}.c2ln", encode("[1]")), "malformed_json"),
            (format!("{header}.{}.c2ln", encode("{\"a\":")), "malformed_json"),
        ];
        for (bad, code) in cases {
            assert_eq!(code_of(&bad), code, "{bad}");
        }
    }

    #[test]
    fn oversized_token_is_rejected_before_parsing() {
        assert_eq!(code_of(&"x".repeat(MAX_TOKEN_BYTES + 1)), "token_too_large");
    }

    #[test]
    fn empty_signature_is_missing() {
        let unsigned = format!("{}.{}.", encode(r#"{"alg":"HS256"}"#), encode("{}"));
        assert_eq!(code_of(&unsigned), "signature_missing");
    }
}

//! The attacks of the attack lab and how each one crafts its token from the visitor's valid
//! token.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Map, Value};

use crate::server::error::AppError;
use crate::server::jwt_backend::verifier::algorithm_name;
use crate::server::jwt_backend::{sign_raw_with, unix_now, JwtBackend, MAX_TOKEN_BYTES};

/// The key set URL that the `jku` attack puts in its header. The `.invalid` top-level domain is reserved and
/// never resolves, and the server never fetches a `jku` URL anyway.
pub const JKU_URL: &str = "https://keys.attacker.invalid/jwks.json";

/// The key ID of the path-traversal attack, and the file line an attacker would sign with
/// when a server read the key from that path.
const TRAVERSAL_KID: &str = "../../etc/passwd";
const TRAVERSAL_KEY: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n";

/// The key ID of the SQL-injection attack: a server that put it into `SELECT key FROM keys
/// WHERE id = '…'` would return the attacker's key.
const INJECTION_KID: &str = "x' UNION SELECT 'attacker-key' --";
const INJECTION_KEY: &[u8] = b"attacker-key";

/// One attack: its stable ID, a title and a one-line explanation.
#[derive(Clone, Copy, Debug)]
pub struct Attack {
    pub id: &'static str,
    pub title: &'static str,
    pub explanation: &'static str,
    kind: AttackKind,
}

#[derive(Clone, Copy, Debug)]
enum AttackKind {
    TamperedPayload,
    SignatureRemoved,
    AlgNone,
    AlgNoneCapitalized,
    WrongKey,
    DisallowedAlgorithm,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    ExpMissing,
    ExpNotANumber,
    KidPathTraversal,
    KidSqlInjection,
    EmbeddedJwk,
    JkuUrl,
    Oversized,
    MalformedBase64,
    WrongSegmentCount,
    DuplicateClaim,
    DuplicateHeaderKey,
    StolenTokenReplay,
    KeyConfusion,
}

const fn attack(id: &'static str, title: &'static str, explanation: &'static str, kind: AttackKind) -> Attack {
    Attack {
        id,
        title,
        explanation,
        kind,
    }
}

/// Every attack, in the order `GET /api/attacks` lists them. `key-confusion` is listed only
/// when the server signs with EdDSA or RS256.
///
pub const ATTACKS: [Attack; 23] = [
    attack("tampered-payload", "Tampered payload",
        "Changes the role claim to admin and keeps the original signature, which no longer matches.",
        AttackKind::TamperedPayload),
    attack("signature-removed", "Signature removed",
        "Sends the header and payload with an empty signature segment.",
        AttackKind::SignatureRemoved),
    attack("alg-none", "alg: none",
        "Declares the token unsigned with \"alg\":\"none\" and drops the signature.",
        AttackKind::AlgNone),
    attack("alg-none-capitalized", "alg: None",
        "Declares the token unsigned with \"alg\":\"None\", for verifiers that compare case-sensitively.",
        AttackKind::AlgNoneCapitalized),
    attack("wrong-key", "Signed with a wrong key",
        "Makes the visitor an admin and signs the token with a random key instead of the server's.",
        AttackKind::WrongKey),
    attack("disallowed-algorithm", "Algorithm not allowed (HS512)",
        "Signs the token with HS512, an algorithm the server does not accept.",
        AttackKind::DisallowedAlgorithm),
    attack("expired", "Expired token",
        "Sends a token whose exp passed a minute ago.",
        AttackKind::Expired),
    attack("not-yet-valid", "Not yet valid (nbf)",
        "Sends a token whose nbf is an hour in the future.",
        AttackKind::NotYetValid),
    attack("wrong-issuer", "Wrong issuer",
        "Sends a token issued by another service (iss).",
        AttackKind::WrongIssuer),
    attack("wrong-audience", "Wrong audience",
        "Sends a token meant for another service (aud).",
        AttackKind::WrongAudience),
    attack("exp-missing", "exp missing",
        "Removes the expiry claim, which would make the token valid forever.",
        AttackKind::ExpMissing),
    attack("exp-not-a-number", "exp not a number",
        "Sends the expiry as a string, which lenient parsers ignore or misread.",
        AttackKind::ExpNotANumber),
    attack("kid-path-traversal", "kid path traversal",
        "Names ../../etc/passwd as key ID, for servers that read the key from a file named by kid.",
        AttackKind::KidPathTraversal),
    attack("kid-sql-injection", "kid SQL injection",
        "Puts SQL into the key ID, for servers that look the key up in a database by kid.",
        AttackKind::KidSqlInjection),
    attack("embedded-jwk", "Embedded jwk header",
        "Embeds the attacker's own key in the header and signs with it.",
        AttackKind::EmbeddedJwk),
    attack("jku-url", "jku URL header",
        "Points the header at a key set on the attacker's host; the server must never fetch it.",
        AttackKind::JkuUrl),
    attack("oversized-token", "Oversized token",
        "Pads a validly signed token beyond 8 KiB, which is rejected before any parsing.",
        AttackKind::Oversized),
    attack("malformed-base64", "Malformed base64url",
        "Encodes the payload as padded standard base64 instead of unpadded base64url.",
        AttackKind::MalformedBase64),
    attack("wrong-segment-count", "Wrong segment count",
        "Sends only header.payload, without the signature segment and its dot.",
        AttackKind::WrongSegmentCount),
    attack("duplicate-claim", "Duplicate claim",
        "Repeats the role claim, first as admin and then as the visitor's role, in a validly signed payload.",
        AttackKind::DuplicateClaim),
    attack("duplicate-header-key", "Duplicate header key",
        "Repeats alg in the header, first as the server's algorithm and then as none, and signs the token with the server's key.",
        AttackKind::DuplicateHeaderKey),
    attack("stolen-token-replay", "Stolen token replay",
        "Replays the visitor's valid token without any of their cookies, as a thief would.",
        AttackKind::StolenTokenReplay),
    attack("key-confusion", "Algorithm confusion",
        "Signs an HS256 token with the server's public key as the HMAC secret, for verifiers that let the token's alg decide how the key is used.",
        AttackKind::KeyConfusion),
];

/// Returns the attacks that apply to `jwt`'s algorithm.
pub fn available(jwt: &JwtBackend) -> impl Iterator<Item = &'static Attack> + '_ {
    ATTACKS.iter().filter(|attack| attack.applies_to(jwt))
}

/// Returns the attack with `id` when it applies to `jwt`'s algorithm.
pub fn find(id: &str, jwt: &JwtBackend) -> Option<&'static Attack> {
    available(jwt).find(|attack| attack.id == id)
}

impl Attack {
    /// Whether the attack applies to `jwt`: the key confusion needs a public key.
    fn applies_to(&self, jwt: &JwtBackend) -> bool {
        !matches!(self.kind, AttackKind::KeyConfusion) || jwt.public_key().is_some()
    }

    /// Crafts this attack's token from the visitor's valid `token`, whose verified claims
    /// are `claims`. Tokens that must fail only one check are signed with the server's key.
    pub fn craft(&self, jwt: &JwtBackend, token: &str, claims: &Map<String, Value>) -> Result<String, AppError> {
        let now = unix_now();
        let issued_header = jwt.issued_header_json();
        let issued_header = issued_header.as_str();
        let server_signed = |claims: &Map<String, Value>| jwt.sign_raw(jwt.algorithm(), issued_header, &to_json(claims));
        let token = match self.kind {
            AttackKind::TamperedPayload => {
                let (header, _, signature) = segments(token)?;
                let payload = encode(&to_json(&as_admin(claims)));
                format!("{header}.{payload}.{signature}")
            }
            AttackKind::SignatureRemoved => unsigned(issued_header, claims),
            AttackKind::AlgNone => unsigned(r#"{"alg":"none","typ":"JWT"}"#, &as_admin(claims)),
            AttackKind::AlgNoneCapitalized => unsigned(r#"{"alg":"None","typ":"JWT"}"#, &as_admin(claims)),
            // Under EdDSA and RS256 the HMAC signature cannot match the public key either.
            AttackKind::WrongKey => sign_with_key(&random_key(), issued_header, &as_admin(claims))?,
            AttackKind::DisallowedAlgorithm => {
                let header = r#"{"alg":"HS512","typ":"JWT"}"#;
                if jwt.algorithm() == Algorithm::HS256 {
                    jwt.sign_raw(Algorithm::HS512, header, &to_json(claims))?
                } else {
                    // An EdDSA or RSA key cannot make an HMAC, so a random secret signs it.
                    sign_raw_with(&EncodingKey::from_secret(&random_key()), Algorithm::HS512, header, &to_json(claims))?
                }
            }
            AttackKind::Expired => server_signed(&with(claims, &[("iat", json!(now - 120)), ("exp", json!(now - 60))]))?,
            AttackKind::NotYetValid => server_signed(&with(claims, &[("nbf", json!(now + 3600))]))?,
            AttackKind::WrongIssuer => server_signed(&with(claims, &[("iss", json!("another-issuer"))]))?,
            AttackKind::WrongAudience => server_signed(&with(claims, &[("aud", json!("another-app"))]))?,
            AttackKind::ExpMissing => {
                let mut claims = claims.clone();
                claims.remove("exp");
                server_signed(&claims)?
            }
            AttackKind::ExpNotANumber => {
                let exp = claims.get("exp").map(ToString::to_string).unwrap_or_default();
                server_signed(&with(claims, &[("exp", json!(exp))]))?
            }
            AttackKind::KidPathTraversal => {
                sign_with_own_key(jwt, TRAVERSAL_KEY, ("kid", json!(TRAVERSAL_KID)), &as_admin(claims))?
            }
            AttackKind::KidSqlInjection => {
                sign_with_own_key(jwt, INJECTION_KEY, ("kid", json!(INJECTION_KID)), &as_admin(claims))?
            }
            AttackKind::EmbeddedJwk => {
                let key = random_key();
                let jwk = json!({ "kty": "oct", "k": URL_SAFE_NO_PAD.encode(&key) });
                sign_with_own_key(jwt, &key, ("jwk", jwk), &as_admin(claims))?
            }
            AttackKind::JkuUrl => sign_with_own_key(jwt, &random_key(), ("jku", json!(JKU_URL)), &as_admin(claims))?,
            AttackKind::Oversized => {
                let padding = "p".repeat(MAX_TOKEN_BYTES);
                server_signed(&with(claims, &[("padding", json!(padding))]))?
            }
            AttackKind::MalformedBase64 => {
                let (header, _, signature) = segments(token)?;
                format!("{header}.{}.{signature}", padded_standard_base64(&to_json(claims)))
            }
            AttackKind::WrongSegmentCount => {
                let (header, payload, _) = segments(token)?;
                format!("{header}.{payload}")
            }
            AttackKind::DuplicateClaim => {
                let role = claims.get("role").cloned().unwrap_or(Value::Null);
                let payload = to_json(&as_admin(claims));
                // serde_json writes each key once, so the second copy is spliced into the text.
                // It repeats the visitor's own role: serde_json keeps the last copy, so this
                // token, signed with the server's key, would not make anyone an admin here
                // even without the duplicate-key check.
                let payload = format!("{},\"role\":{role}}}", &payload[..payload.len() - 1]);
                jwt.sign_raw(jwt.algorithm(), issued_header, &payload)?
            }
            AttackKind::DuplicateHeaderKey => {
                let alg = algorithm_name(jwt.algorithm());
                let header = format!(r#"{{"alg":"{alg}","typ":"JWT","alg":"none"}}"#);
                jwt.sign_raw(jwt.algorithm(), &header, &to_json(claims))?
            }
            AttackKind::StolenTokenReplay => token.to_owned(),
            AttackKind::KeyConfusion => {
                let Some(public_key) = jwt.public_key() else {
                    return Err(AppError::Internal("the key confusion attack needs a public key".into()));
                };
                let header = json!({ "alg": "HS256", "typ": "JWT", "kid": public_key.kid }).to_string();
                sign_with_key(public_key.pem.as_bytes(), &header, &as_admin(claims))?
            }
        };
        Ok(token)
    }
}

fn encode(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

fn to_json(claims: &Map<String, Value>) -> String {
    Value::Object(claims.clone()).to_string()
}

fn with(claims: &Map<String, Value>, changes: &[(&str, Value)]) -> Map<String, Value> {
    let mut claims = claims.clone();
    for (name, value) in changes {
        claims.insert((*name).to_owned(), value.clone());
    }
    claims
}

fn as_admin(claims: &Map<String, Value>) -> Map<String, Value> {
    with(claims, &[("role", json!("admin"))])
}

/// Returns `header.payload.` with an empty signature segment.
fn unsigned(header: &str, claims: &Map<String, Value>) -> String {
    format!("{}.{}.", encode(header), encode(&to_json(claims)))
}

fn sign_with_key(key: &[u8], header: &str, claims: &Map<String, Value>) -> Result<String, AppError> {
    sign_raw_with(&EncodingKey::from_secret(key), Algorithm::HS256, header, &to_json(claims))
}

/// Signs a token whose header adds `parameter`, a way to choose the verifying key, with the
/// attacker's HMAC `key`. Under HS256 the header names HS256. Under EdDSA or RS256 it names the
/// server's algorithm, so that the algorithm check passes and the header check must reject it.
/// The signature is then the HMAC, because an attacker without the private key can make no other.
fn sign_with_own_key(
    jwt: &JwtBackend,
    key: &[u8],
    parameter: (&str, Value),
    claims: &Map<String, Value>,
) -> Result<String, AppError> {
    let mut header = json!({ "alg": algorithm_name(jwt.algorithm()), "typ": "JWT" });
    header[parameter.0] = parameter.1;
    let header = header.to_string();
    if jwt.algorithm() == Algorithm::HS256 {
        return sign_with_key(key, &header, claims);
    }
    let hmac = sign_with_key(key, &header, claims)?;
    let (_, _, signature) = segments(&hmac)?;
    Ok(format!("{}.{}.{signature}", encode(&header), encode(&to_json(claims))))
}

fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    OsRng.fill_bytes(&mut key);
    key
}

/// Encodes `json` with the standard alphabet and `=` padding. Spaces, which JSON ignores,
/// make its length one more than a multiple of three, so the encoding always ends in `==`.
fn padded_standard_base64(json: &str) -> String {
    let mut json = json.to_owned();
    while json.len() % 3 != 1 {
        json.push(' ');
    }
    STANDARD.encode(json)
}

fn segments(token: &str) -> Result<(&str, &str, &str), AppError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok((header, payload, signature)),
        _ => Err(AppError::Internal("a verified token does not have three segments".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_ids_are_unique() {
        for (index, attack) in ATTACKS.iter().enumerate() {
            assert!(ATTACKS[index + 1..].iter().all(|other| other.id != attack.id), "{}", attack.id);
        }
    }

    #[test]
    fn padded_base64_always_has_padding() {
        for json in ["{}", "{\"a\":1}", "{\"ab\":1}"] {
            assert!(padded_standard_base64(json).ends_with("=="), "{json}");
        }
    }
}

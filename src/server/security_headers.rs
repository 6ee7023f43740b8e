//! Response headers that harden every response: a Content Security Policy, `nosniff`, a
//! referrer policy and a frame ban.
//!
//! Pages rendered by Leptos get a policy with a per-response nonce ([`set_page_policy`]),
//! because hydration runs an inline module script. Every other response (JSON, the event
//! stream, static files) gets [`DEFAULT_POLICY`], which allows nothing.

use axum::http::{header, HeaderValue};
use axum::Router;
use leptos::config::{LeptosOptions, ReloadWSProtocol};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of responses that are not pages: they load nothing and may not be framed.
pub const DEFAULT_POLICY: &str = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The policy of the static 404 page, which loads only the app's stylesheet.
pub const STATIC_PAGE_POLICY: &str =
    "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Returns the policy of a rendered page whose inline scripts carry `nonce`.
///
/// `'wasm-unsafe-eval'` lets the hydration script compile the app's WebAssembly, and
/// `connect-src 'self'` covers the wasm download, the API calls and the event stream.
/// `reload_source` adds the WebSocket of `cargo leptos watch`, which reloads the page on
/// changes during development.
pub fn page_policy(nonce: &str, reload_source: Option<&str>) -> String {
    let connect_src = match reload_source {
        Some(source) => format!("'self' {source}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src {connect_src}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Returns the source of the watch-mode reload WebSocket, on the conditions under which
/// Leptos's `AutoReload` adds its script: `LEPTOS_WATCH` is set (by `cargo leptos watch`).
/// The page connects to it on its own host name, so the source allows any host on that port.
fn reload_source(options: &LeptosOptions) -> Option<String> {
    std::env::var_os("LEPTOS_WATCH")?;
    let port = options.reload_external_port.unwrap_or(options.reload_port);
    let scheme = match options.reload_ws_protocol {
        ReloadWSProtocol::WS => "ws",
        ReloadWSProtocol::WSS => "wss",
    };
    Some(format!("{scheme}://*:{port}"))
}

/// Sets the page policy with this response's nonce. Call it while rendering the HTML shell:
/// leptos_axum generates the nonce for each response (with the `nonce` feature of Leptos)
/// and puts it on the hydration scripts.
pub fn set_page_policy(options: &LeptosOptions) {
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let policy = page_policy(&nonce, reload_source(options).as_deref());
    // The nonce is URL-safe base64, so the policy is always a valid header value.
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Adds the security headers to every response of `router`. A policy that a page set is
/// kept; every other header replaces any value a handler set.
pub fn add_security_headers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // Older browsers ignore frame-ancestors but honour this header.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_policy_names_nonce_and_wasm() {
        let policy = page_policy("abc123", None);
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"), "{policy}");
        assert!(policy.contains("connect-src 'self';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
    }

    #[test]
    fn page_policy_allows_reload_socket() {
        let policy = page_policy("abc123", Some("ws://*:3001"));
        assert!(policy.contains("connect-src 'self' ws://*:3001;"), "{policy}");
    }
}

//! The HTTP API as seen from the browser. Every call is a real request to this server.

#[cfg(feature = "hydrate")]
use crate::model::ApiError;
use crate::model::{
    AttackResult, AttackSummary, LoginRequest, LoginResponse, Mode, PageResponse, PermissionsRequest,
    PermissionsResponse, RefreshResponse, RevokeAllResponse, ServerInfo, ServicesResponse, SimulationRequest,
    SimulationStatus, Stats, TokenInspection, User, WhoAmI,
};

/// A failed call: the server's JSON error, or a network failure described in words.
#[derive(Clone, Debug, PartialEq)]
pub struct CallError {
    pub status: Option<u16>,
    pub reason: String,
}

impl CallError {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn network(error: impl std::fmt::Display) -> Self {
        Self {
            status: None,
            reason: format!("the request failed before the server answered: {error}"),
        }
    }
}

// The calls use the browser's own `fetch` and `JSON.parse` through web-sys, and serde-wasm-bindgen
// to turn the parsed value into Rust types. gloo-net and serde_json would do the same with their
// own JSON parser compiled into the bundle, about 60 KB more.
#[cfg(feature = "hydrate")]
pub(crate) mod http {
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Request, RequestInit, Response};

    use super::{ApiError, CallError};

    /// Describes a failure that the browser reported as a JavaScript value.
    fn browser_error(error: JsValue) -> CallError {
        let detail = error
            .dyn_ref::<js_sys::Error>()
            .map(|error| String::from(error.message()))
            .or_else(|| error.as_string())
            .unwrap_or_else(|| "no details".to_owned());
        CallError::network(detail)
    }

    /// Sends `method url` with an optional JSON body and decodes the JSON response.
    pub async fn call<T: DeserializeOwned>(
        method: &str,
        url: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, CallError> {
        let init = RequestInit::new();
        init.set_method(method);
        if let Some(body) = body {
            let value = body
                .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
                .map_err(|error| CallError::network(error.to_string()))?;
            let text = js_sys::JSON::stringify(&value).map_err(browser_error)?;
            init.set_body(&text);
        }
        let request = Request::new_with_str_and_init(url, &init).map_err(browser_error)?;
        if body.is_some() {
            request.headers().set("content-type", "application/json").map_err(browser_error)?;
        }
        let window = web_sys::window().ok_or_else(|| CallError::network("no window"))?;
        let response: Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(browser_error)?
            .unchecked_into();
        let status = response.status();
        let json = match response.json() {
            Ok(promise) => JsFuture::from(promise).await.map_err(browser_error),
            Err(error) => Err(browser_error(error)),
        };
        if response.ok() {
            return serde_wasm_bindgen::from_value(json?).map_err(|error| CallError::network(error.to_string()));
        }
        let reason = match json.ok().map(serde_wasm_bindgen::from_value::<ApiError>) {
            Some(Ok(error)) => format!("{}: {}", error.error, error.reason),
            _ => format!("the server answered {status}"),
        };
        Err(CallError {
            status: Some(status),
            reason,
        })
    }

    /// Decodes one JSON text, such as a live-stream event, with the browser's parser.
    pub fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
        let value = js_sys::JSON::parse(text).ok()?;
        serde_wasm_bindgen::from_value(value).ok()
    }
}

#[cfg(feature = "hydrate")]
pub use http::parse;

/// A body-less call's body.
#[cfg(feature = "hydrate")]
pub(crate) const NO_BODY: Option<&()> = None;

#[cfg(not(feature = "hydrate"))]
pub(crate) fn not_in_browser<T>() -> Result<T, CallError> {
    Err(CallError {
        status: None,
        reason: "API calls run only in the browser".into(),
    })
}

/// `POST /api/login`.
pub async fn login(name: String) -> Result<LoginResponse, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/login", Some(&LoginRequest { name })).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = LoginRequest { name };
        not_in_browser()
    }
}

/// `POST /api/logout`.
pub async fn logout() -> Result<(), CallError> {
    #[cfg(feature = "hydrate")]
    return http::call::<crate::model::LogoutResponse>("POST", "/api/logout", NO_BODY).await.map(|_| ());
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `GET /api/{mode}/pages/{page}`.
pub async fn request_page(mode: Mode, page: &str) -> Result<PageResponse, CallError> {
    let url = format!("/api/{}/pages/{page}", mode.path_segment());
    #[cfg(feature = "hydrate")]
    return http::call("GET", &url, NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        not_in_browser()
    }
}

/// `GET /api/{mode}/services/{page}`: the page through the Billing, Profile and Settings
/// services.
pub async fn request_services(mode: Mode, page: &str) -> Result<ServicesResponse, CallError> {
    let url = format!("/api/{}/services/{page}", mode.path_segment());
    #[cfg(feature = "hydrate")]
    return http::call("GET", &url, NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        not_in_browser()
    }
}

/// `POST /api/reset`.
pub async fn reset() -> Result<Stats, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/reset", NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `GET /api/whoami`: the user of the JWT cookie, if it is still valid.
pub async fn whoami() -> Option<User> {
    #[cfg(feature = "hydrate")]
    return http::call::<crate::model::WhoAmI>("GET", "/api/whoami", NO_BODY)
        .await
        .ok()
        .and_then(|who| who.user);
    #[cfg(not(feature = "hydrate"))]
    None
}

/// `GET /api/whoami` with the JWT's expiry; `None` when the call failed.
pub async fn whoami_with_expiry() -> Option<WhoAmI> {
    #[cfg(feature = "hydrate")]
    return http::call("GET", "/api/whoami", NO_BODY).await.ok();
    #[cfg(not(feature = "hydrate"))]
    None
}

/// `POST /api/token/refresh`: a new JWT and refresh token, both set as HttpOnly cookies.
pub async fn refresh_token() -> Result<RefreshResponse, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/token/refresh", NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `POST /api/revoke-all`.
pub async fn revoke_all() -> Result<RevokeAllResponse, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/revoke-all", NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `POST /api/simulations`.
pub async fn start_simulation(request: &SimulationRequest) -> Result<SimulationStatus, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/simulations", Some(request)).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = request;
        not_in_browser()
    }
}

/// `DELETE /api/simulations/{id}`.
pub async fn cancel_simulation(id: &str) -> Result<SimulationStatus, CallError> {
    let url = format!("/api/simulations/{id}");
    #[cfg(feature = "hydrate")]
    return http::call("DELETE", &url, NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        not_in_browser()
    }
}

/// `GET /api/info`.
pub async fn info() -> Option<ServerInfo> {
    #[cfg(feature = "hydrate")]
    return http::call("GET", "/api/info", NO_BODY).await.ok();
    #[cfg(not(feature = "hydrate"))]
    None
}

/// `GET /api/attacks`.
pub async fn attacks() -> Result<Vec<AttackSummary>, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("GET", "/api/attacks", NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `POST /api/attacks/{id}`.
pub async fn run_attack(id: &str) -> Result<AttackResult, CallError> {
    let url = format!("/api/attacks/{id}");
    #[cfg(feature = "hydrate")]
    return http::call("POST", &url, NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        not_in_browser()
    }
}

/// `GET /api/token`.
pub async fn inspect_token() -> Result<TokenInspection, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("GET", "/api/token", NO_BODY).await;
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `POST /api/token/permissions`.
pub async fn set_permissions(count: u32) -> Result<PermissionsResponse, CallError> {
    #[cfg(feature = "hydrate")]
    return http::call("POST", "/api/token/permissions", Some(&PermissionsRequest { count })).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = PermissionsRequest { count };
        not_in_browser()
    }
}

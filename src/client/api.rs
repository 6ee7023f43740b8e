//! The HTTP API as seen from the browser. Every call is a real request to this server.

#[cfg(feature = "hydrate")]
use crate::model::ApiError;
use crate::model::{
    LoginRequest, LoginResponse, Mode, PageResponse, ServerInfo, SimulationRequest, SimulationStatus, Stats, User,
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

#[cfg(feature = "hydrate")]
mod http {
    use gloo_net::http::{Request, Response};
    use serde::de::DeserializeOwned;

    use super::{ApiError, CallError};

    pub async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, CallError> {
        let status = response.status();
        if response.ok() {
            return response.json::<T>().await.map_err(CallError::network);
        }
        let reason = match response.json::<ApiError>().await {
            Ok(error) => format!("{}: {}", error.error, error.reason),
            Err(_) => format!("the server answered {status}"),
        };
        Err(CallError {
            status: Some(status),
            reason,
        })
    }

    pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, CallError> {
        let response = Request::get(url).send().await.map_err(CallError::network)?;
        decode(response).await
    }

    pub async fn delete<T: DeserializeOwned>(url: &str) -> Result<T, CallError> {
        let response = Request::delete(url).send().await.map_err(CallError::network)?;
        decode(response).await
    }

    pub async fn post<T: DeserializeOwned>(url: &str, body: Option<String>) -> Result<T, CallError> {
        let builder = Request::post(url);
        let request = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(body)
                .map_err(CallError::network)?,
            None => builder.build().map_err(CallError::network)?,
        };
        let response = request.send().await.map_err(CallError::network)?;
        decode(response).await
    }
}

#[cfg(not(feature = "hydrate"))]
fn not_in_browser<T>() -> Result<T, CallError> {
    Err(CallError {
        status: None,
        reason: "API calls run only in the browser".into(),
    })
}

/// `POST /api/login`.
pub async fn login(name: String) -> Result<LoginResponse, CallError> {
    let body = serde_json::to_string(&LoginRequest { name }).map_err(|error| CallError {
        status: None,
        reason: error.to_string(),
    })?;
    #[cfg(feature = "hydrate")]
    return http::post("/api/login", Some(body)).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = body;
        not_in_browser()
    }
}

/// `POST /api/logout`.
pub async fn logout() -> Result<(), CallError> {
    #[cfg(feature = "hydrate")]
    return http::post::<serde_json::Value>("/api/logout", None).await.map(|_| ());
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `GET /api/{mode}/pages/{page}`.
pub async fn request_page(mode: Mode, page: &str) -> Result<PageResponse, CallError> {
    let url = format!("/api/{}/pages/{page}", mode.path_segment());
    #[cfg(feature = "hydrate")]
    return http::get(&url).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        not_in_browser()
    }
}

/// `POST /api/reset`.
pub async fn reset() -> Result<Stats, CallError> {
    #[cfg(feature = "hydrate")]
    return http::post("/api/reset", None).await;
    #[cfg(not(feature = "hydrate"))]
    not_in_browser()
}

/// `GET /api/whoami`: the user of the JWT cookie, if it is still valid.
pub async fn whoami() -> Option<User> {
    #[cfg(feature = "hydrate")]
    return http::get::<crate::model::WhoAmI>("/api/whoami").await.ok().and_then(|who| who.user);
    #[cfg(not(feature = "hydrate"))]
    None
}

/// `POST /api/simulations`.
pub async fn start_simulation(request: &SimulationRequest) -> Result<SimulationStatus, CallError> {
    let body = serde_json::to_string(request).map_err(|error| CallError {
        status: None,
        reason: error.to_string(),
    })?;
    #[cfg(feature = "hydrate")]
    return http::post("/api/simulations", Some(body)).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = body;
        not_in_browser()
    }
}

/// `DELETE /api/simulations/{id}`.
pub async fn cancel_simulation(id: &str) -> Result<SimulationStatus, CallError> {
    let url = format!("/api/simulations/{id}");
    #[cfg(feature = "hydrate")]
    return http::delete(&url).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        not_in_browser()
    }
}

/// `GET /api/info`.
pub async fn info() -> Option<ServerInfo> {
    #[cfg(feature = "hydrate")]
    return http::get::<ServerInfo>("/api/info").await.ok();
    #[cfg(not(feature = "hydrate"))]
    None
}

//! HTTP calls to the server under test: sign-in, token refresh, page requests and the live
//! stream, each with one visitor's cookies.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{redirect, Client, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

/// A token is refreshed when it has less than this left, as the dashboard does.
const REFRESH_BEFORE_EXPIRY_MS: u64 = 5_000;

/// One browser: its cookies (visitor ID, session, JWT, refresh token) and the JWT's expiry.
pub struct Visitor {
    pub index: usize,
    cookies: Jar,
    /// Expiry of the JWT, in milliseconds since the Unix epoch. The lock also makes refreshes
    /// of one visitor run one at a time, because the server treats a refresh token sent twice
    /// as stolen and revokes its whole family.
    access_expires_at_ms: Mutex<u64>,
}

/// The body of `POST /api/login` and `POST /api/token/refresh` responses, in part.
#[derive(Deserialize)]
struct AccessTokenResponse {
    access_expires_at_ms: u64,
}

/// Failure of a request that got no usable response.
#[derive(Debug)]
pub enum RequestError {
    /// The server returned a status other than 200.
    Status(StatusCode),
    /// No response: connection, timeout or body errors.
    Transport(String),
}

impl RequestError {
    /// Returns a short label for counting errors by kind.
    pub fn label(&self) -> String {
        match self {
            Self::Status(status) => format!("HTTP {}", status.as_u16()),
            Self::Transport(kind) => kind.clone(),
        }
    }
}

impl From<reqwest::Error> for RequestError {
    fn from(error: reqwest::Error) -> Self {
        Self::Transport(transport_error_kind(&error).to_owned())
    }
}

/// Returns a short name for the kind of a transport error.
pub fn transport_error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "response body failed"
    } else {
        "request failed"
    }
}

/// The server under test, reached through one connection pool shared by all visitors.
pub struct Server {
    client: Client,
    base: Url,
    request_timeout: Duration,
}

impl Server {
    /// Builds a client that uses no proxy and follows no redirect, so every request goes to
    /// `base` and nowhere else.
    pub fn new(base: Url, request_timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = Client::builder()
            .no_proxy()
            .redirect(redirect::Policy::none())
            .connect_timeout(request_timeout)
            .build()?;
        Ok(Self {
            client,
            base,
            request_timeout,
        })
    }

    /// Returns the full URL of `path` on the server.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }

    /// Checks that `GET /healthz` returns 200.
    pub async fn check_health(&self) -> Result<(), RequestError> {
        let response = self
            .client
            .get(self.url("/healthz"))
            .timeout(self.request_timeout)
            .send()
            .await?;
        expect_ok(response).map(drop)
    }

    /// Signs in a new visitor: `POST /api/login` creates its visitor ID, session, JWT and
    /// refresh token, all as cookies.
    pub async fn sign_in(&self, index: usize) -> Result<Visitor, RequestError> {
        let visitor = Visitor {
            index,
            cookies: Jar::default(),
            access_expires_at_ms: Mutex::new(0),
        };
        let body = serde_json::json!({ "name": format!("Load visitor {index}") }).to_string();
        let request = self
            .client
            .post(self.url("/api/login"))
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let tokens: AccessTokenResponse = self.send_json(&visitor, "/api/login", request).await?;
        *visitor.access_expires_at_ms.lock().await = tokens.access_expires_at_ms;
        Ok(visitor)
    }

    /// Refreshes the visitor's JWT when it expires within [`REFRESH_BEFORE_EXPIRY_MS`].
    /// Returns whether a refresh was sent.
    pub async fn refresh_if_due(&self, visitor: &Visitor) -> Result<bool, RequestError> {
        let mut expires_at_ms = visitor.access_expires_at_ms.lock().await;
        if unix_millis() + REFRESH_BEFORE_EXPIRY_MS < *expires_at_ms {
            return Ok(false);
        }
        let path = "/api/token/refresh";
        let request = self.client.post(self.url(path));
        let tokens: AccessTokenResponse = self.send_json(visitor, path, request).await?;
        *expires_at_ms = tokens.access_expires_at_ms;
        Ok(true)
    }

    /// Sends `GET path` with the visitor's cookies and reads the whole body. Returns the status.
    pub async fn get(&self, visitor: &Visitor, path: &str) -> Result<StatusCode, RequestError> {
        let request = self.client.get(self.url(path));
        let response = self.send(visitor, path, request).await?;
        let status = response.status();
        response.bytes().await?;
        Ok(status)
    }

    /// Opens the visitor's live stream, `GET /api/events`, and returns the response once its
    /// headers arrive with status 200. The stream has no timeout.
    pub async fn open_events(&self, visitor: &Visitor) -> Result<Response, RequestError> {
        let path = "/api/events";
        let request = self
            .client
            .get(self.url(path))
            .header("accept", "text/event-stream");
        let request = with_cookies(request, visitor, &self.url(path));
        let response = tokio::time::timeout(self.request_timeout, request.send())
            .await
            .map_err(|_| RequestError::Transport("timed out".to_owned()))??;
        expect_ok(response)
    }

    async fn send(
        &self,
        visitor: &Visitor,
        path: &str,
        request: RequestBuilder,
    ) -> Result<Response, RequestError> {
        let url = self.url(path);
        let response = with_cookies(request, visitor, &url)
            .timeout(self.request_timeout)
            .send()
            .await?;
        visitor
            .cookies
            .set_cookies(&mut response.headers().get_all(SET_COOKIE).iter(), &url);
        Ok(response)
    }

    async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        visitor: &Visitor,
        path: &str,
        request: RequestBuilder,
    ) -> Result<T, RequestError> {
        let response = expect_ok(self.send(visitor, path, request).await?)?;
        Ok(response.json().await?)
    }
}

fn with_cookies(request: RequestBuilder, visitor: &Visitor, url: &Url) -> RequestBuilder {
    match visitor.cookies.cookies(url) {
        Some(cookies) => request.header(COOKIE, cookies),
        None => request,
    }
}

fn expect_ok(response: Response) -> Result<Response, RequestError> {
    match response.status() {
        StatusCode::OK => Ok(response),
        status => Err(RequestError::Status(status)),
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

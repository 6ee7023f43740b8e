//! The browser bundle under `/pkg`: the wasm, JS and CSS that cargo-leptos writes to the site
//! root's pkg directory. A request that accepts brotli or gzip gets the `.br` or `.gz` copy
//! that `scripts/compress-assets.sh` writes next to each file, when that copy exists and is
//! not older than the file in whole seconds.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::extract::{Request, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::{header, HeaderValue, Method, Response, StatusCode, Uri};
use axum::middleware::{from_fn_with_state, Next};
use axum::Router;
use leptos::config::LeptosOptions;
use tower::ServiceBuilder;
use tower_http::services::fs::ServeFileSystemResponseBody;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::server::error::{shorten, AppError};

/// Cache policy for file names that carry a content hash (cargo-leptos `hash-files`), which
/// change whenever the content does.
pub const CACHE_HASHED: &str = "public, max-age=31536000, immutable";

/// Cache policy for file names without a hash: the browser keeps the file but revalidates it
/// with `If-Modified-Since` on every use, so it fetches a rebuilt bundle on the next page load.
pub const CACHE_UNHASHED: &str = "no-cache";

/// Extensions of the precompressed copies that ServeDir looks for.
const COPY_EXTENSIONS: [&str; 2] = ["br", "gz"];

/// Builds a router that serves the bundle directory `site_root/site_pkg_dir` under
/// `/site_pkg_dir`, e.g. `/pkg`.
///
/// The Cache-Control header follows `options.hash_files`, because only hashed names can be
/// cached as immutable. It is set on 200, 206 and 304 responses only, so a missing file is
/// never cached.
pub fn pkg_router<S>(options: &LeptosOptions) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let route = format!("/{}", options.site_pkg_dir.trim_matches('/'));
    let directory = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let cache_control = HeaderValue::from_static(if options.hash_files {
        CACHE_HASHED
    } else {
        CACHE_UNHASHED
    });

    let serve_dir = ServeDir::new(&directory)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(file_not_found.into_service());
    // nest_service strips the route from the path, so these layers see `/{file name}`.
    let service = ServiceBuilder::new()
        .layer(from_fn_with_state(Arc::new(directory), skip_stale_copies))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            move |response: &Response<ServeFileSystemResponseBody>| {
                let status = response.status();
                let cacheable = status.is_success() || status == StatusCode::NOT_MODIFIED;
                cacheable.then(|| cache_control.clone())
            },
        ))
        // The body depends on Accept-Encoding, so shared caches must key on it.
        .layer(SetResponseHeaderLayer::overriding(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .service(serve_dir);
    Router::new().nest_service(&route, service)
}

/// JSON 404 for a missing file, or 405 for a method other than GET and HEAD.
async fn file_not_found(method: Method, uri: Uri) -> AppError {
    if method != Method::GET && method != Method::HEAD {
        return AppError::client(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the bundle's files accept only GET and HEAD",
        );
    }
    AppError::client(
        StatusCode::NOT_FOUND,
        "file_not_found",
        format!("the bundle has no file {:?}", shorten(uri.path())),
    )
}

/// Removes Accept-Encoding from a request for a file that has a `.br` or `.gz` copy older
/// than itself. A bundle rebuilt without `scripts/compress-assets.sh`, for example by
/// `cargo leptos watch`, is then sent as built and not as the copy of an earlier build.
async fn skip_stale_copies(
    State(directory): State<Arc<PathBuf>>,
    mut request: Request,
    next: Next,
) -> axum::response::Response {
    let file = request
        .uri()
        .path()
        .strip_prefix('/')
        .filter(|name| is_plain_file_name(name))
        .map(|name| directory.join(name));
    if let Some(file) = file {
        if has_stale_copy(&file).await {
            warn_once_about_stale_copy(&file);
            request.headers_mut().remove(header::ACCEPT_ENCODING);
        }
    }
    next.run(request).await
}

/// Returns whether `name` is one path segment that names a file directly in the bundle
/// directory. Other names skip the staleness check: ServeDir resolves them safely but may
/// send a stale copy.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '%'])
}

/// Returns whether a `.br` or `.gz` copy of `file` was modified in an earlier second than
/// `file`. brotli and `gzip --keep` copy the source's modification time to their output by
/// default, and brotli 1.0.9 truncates it to whole seconds, so finer comparisons would call
/// such a copy stale.
async fn has_stale_copy(file: &Path) -> bool {
    let Some(file_modified) = modified_unix_secs(file).await else {
        return false;
    };
    for extension in COPY_EXTENSIONS {
        let mut copy = file.as_os_str().to_owned();
        copy.push(".");
        copy.push(extension);
        let copy_modified = modified_unix_secs(Path::new(&copy)).await;
        if matches!(copy_modified, Some(modified) if modified < file_modified) {
            return true;
        }
    }
    false
}

async fn modified_unix_secs(path: &Path) -> Option<u64> {
    let modified = tokio::fs::metadata(path).await.ok()?.modified().ok()?;
    modified.duration_since(UNIX_EPOCH).ok().map(|elapsed| elapsed.as_secs())
}

/// Logs the first stale copy only, because every request for the file would repeat it.
fn warn_once_about_stale_copy(file: &Path) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            file = %file.display(),
            "a compressed copy is older than the file, so the file is sent uncompressed; \
             run scripts/compress-assets.sh after building the bundle"
        );
    }
}

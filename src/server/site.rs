//! The HTML side of the server: the dashboard at `/`, the presenter view at `/present`, the files of the site root (such as
//! `/favicon.svg`) and a 404 page for every other path.

use axum::http::{header, StatusCode};
use axum::handler::HandlerWithoutStateExt;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use leptos::config::LeptosOptions;
use tower_http::services::ServeDir;

use crate::app::{shell, Page, PRESENTER_PATH, TITLE};
use crate::server::account::wrong_method;
use crate::server::security_headers::STATIC_PAGE_POLICY;

/// Routes `/` to the server-rendered dashboard and every path no other router claims to a
/// file of the site root or, when there is none, the 404 page.
pub fn site_router<S>(options: &LeptosOptions) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    // Leptos renders on tokio tasks through its global executor, which leptos_axum's route
    // list would otherwise set up. A second call fails harmlessly, as in tests that build
    // several routers in one process.
    let _ = any_spawner::Executor::init_tokio();
    let shell_options = options.clone();
    let render = leptos_axum::render_app_to_stream(move || shell(shell_options.clone(), Page::Dashboard));
    let presenter_options = options.clone();
    let render_presenter =
        leptos_axum::render_app_to_stream(move || shell(presenter_options.clone(), Page::Presenter));
    let files = ServeDir::new(&*options.site_root)
        .call_fallback_on_method_not_allowed(true)
        .not_found_service(page_not_found.into_service());
    Router::new()
        .route("/", get(render))
        .route(PRESENTER_PATH, get(render_presenter))
        .method_not_allowed_fallback(wrong_method)
        .fallback_service(files)
}

/// Returns a 404 page in the app's style, with a link back to the dashboard.
pub async fn page_not_found() -> impl IntoResponse {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Page not found · {TITLE}</title>\
         <link rel=\"stylesheet\" href=\"/pkg/session-journey.css\"></head>\
         <body><main><section class=\"card\"><h1>Page not found</h1>\
         <p>Nothing lives at this address. <a href=\"/\">Open the dashboard</a>.</p>\
         </section></main></body></html>"
    );
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_SECURITY_POLICY, STATIC_PAGE_POLICY)],
        Html(body),
    )
}

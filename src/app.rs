//! The HTML shell and the root component.
//!
//! The app is one page, so it has no client-side router: the server renders `/` as the
//! dashboard and other paths with a plain 404 page (`server::site`). leptos_router and
//! leptos_meta would add their code to the browser bundle for that one route.

use leptos::prelude::*;

use crate::components::dashboard::Dashboard;

/// The page title, also used by the 404 page.
pub const TITLE: &str = "Session Journey: DB Load Simulator";

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::security_headers::set_page_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="dark light"/>
                // A literal, because an expression such as `{TITLE}` would leave a hydration
                // marker in the title's text. It must equal TITLE.
                <title>"Session Journey: DB Load Simulator"</title>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="stylesheet" href="/pkg/session-journey.css"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The body of the page, which the browser bundle hydrates.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <main>
            <Dashboard/>
        </main>
    }
}

//! The HTML shell and the root component.
//!
//! The app has two pages and no client-side router: the server renders `/` as the dashboard,
//! `/present` as the presenter view, and other paths with a plain 404 page (`server::site`).
//! The browser bundle picks the page to hydrate from its own path. leptos_router and
//! leptos_meta would add their code to the bundle for those two routes.

use leptos::prelude::*;

use crate::components::dashboard::Dashboard;
use crate::components::presenter::Presenter;

/// The page title, also used by the 404 page.
pub const TITLE: &str = "Session Journey: DB Load Simulator";

/// The path of the presenter view.
pub const PRESENTER_PATH: &str = "/present";

/// The pages the app renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Dashboard,
    Presenter,
}

impl Page {
    /// Returns the page served at `path`.
    pub fn at(path: &str) -> Self {
        if path.trim_end_matches('/') == PRESENTER_PATH {
            Page::Presenter
        } else {
            Page::Dashboard
        }
    }
}

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions, page: Page) -> impl IntoView {
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
                <App page/>
            </body>
        </html>
    }
}

/// The body of the page, which the browser bundle hydrates.
#[component]
pub fn App(page: Page) -> impl IntoView {
    let content = match page {
        Page::Dashboard => view! { <Dashboard/> }.into_any(),
        Page::Presenter => view! { <Presenter/> }.into_any(),
    };
    view! { <main>{content}</main> }
}

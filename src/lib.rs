//! Session Journey: a full-stack teaching app that sends real requests through a stateful
//! session backend and a JWT backend and streams what each one cost.

#![recursion_limit = "256"]
pub mod app;
pub mod client;
pub mod components;
pub mod model;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the browser bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let path = web_sys::window()
        .and_then(|window| window.location().pathname().ok())
        .unwrap_or_default();
    let page = app::Page::at(&path);
    leptos::mount::hydrate_body(move || leptos::prelude::view! { <app::App page/> });
}

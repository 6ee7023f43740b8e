//! "Where the token lives": a script in the page, standing in for injected script (XSS),
//! reads what JavaScript can read. A token kept in localStorage is readable, while the app's
//! own token and session cookies are HttpOnly, so `document.cookie` does not contain them.

use leptos::prelude::*;

/// A sample token that the demonstration stores in localStorage. It signs nobody in.
const SAMPLE_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIiwibm90ZSI6InNhbXBsZSJ9.c2FtcGxlLW9ubHk";

/// The localStorage key of the sample token.
const STORAGE_KEY: &str = "session-journey-sample-token";

/// The values the script could read.
#[derive(Clone, Debug, PartialEq)]
struct Findings {
    local_storage: Option<String>,
    document_cookie: String,
}

#[component]
pub fn TokenStorage() -> impl IntoView {
    let findings = RwSignal::new(None::<Result<Findings, String>>);
    let run = move |_| findings.set(Some(read_like_injected_script()));

    view! {
        <section class="card" aria-labelledby="storage-title">
            <h2 id="storage-title">"Where the token lives"</h2>
            <p class="hint">
                "The button stores a sample token in localStorage, as some apps store their JWT, then "
                "runs a script in this page that reads what any script here can read, the way an "
                "injected script (XSS) would. This app keeps its own JWT in an HttpOnly cookie."
            </p>
            <button type="button" class="primary" data-testid="run-storage-script" on:click=run>
                "Run the script"
            </button>
            {move || findings.get().map(|result| match result {
                Ok(found) => view! { <StorageFindings found/> }.into_any(),
                Err(reason) => view! { <p class="notice" role="alert">{reason}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn StorageFindings(found: Findings) -> impl IntoView {
    let stolen = found.local_storage.clone();
    let cookie_text = if found.document_cookie.is_empty() {
        "(empty)".to_owned()
    } else {
        found.document_cookie.clone()
    };
    let app_token_visible = found.document_cookie.contains("sj_token=");
    view! {
        <div class="storage-results">
            <div class="storage-result bad" data-testid="storage-local">
                <h3>"localStorage"</h3>
                <p>{if stolen.is_some() { "Read: the script has the token." } else { "Nothing stored." }}</p>
                <code class="token">{stolen.unwrap_or_default()}</code>
                <p class="hint">"Any script on the page can send it anywhere and sign in as you until it expires."</p>
            </div>
            <div class="storage-result good" data-testid="storage-cookie">
                <h3>"HttpOnly cookie"</h3>
                <p data-testid="storage-cookie-verdict">
                    {if app_token_visible { "Read: the JWT cookie is visible!" } else { "Not readable: document.cookie has no JWT." }}
                </p>
                <code class="token" data-testid="storage-document-cookie">{cookie_text}</code>
                <p class="hint">
                    "The browser still sends the cookie with every request, so injected script can act "
                    "as you while the page is open, but it cannot take the token away."
                </p>
            </div>
        </div>
    }
}

/// Stores the sample token, then reads localStorage and `document.cookie` back.
fn read_like_injected_script() -> Result<Findings, String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;

        let window = web_sys::window().ok_or("no window")?;
        let storage = window
            .local_storage()
            .ok()
            .flatten()
            .ok_or("this browser does not allow localStorage here")?;
        storage
            .set_item(STORAGE_KEY, SAMPLE_TOKEN)
            .map_err(|_| "the browser did not store the sample token")?;
        let local_storage = storage.get_item(STORAGE_KEY).ok().flatten();
        let document_cookie = window
            .document()
            .and_then(|document| document.dyn_into::<web_sys::HtmlDocument>().ok())
            .and_then(|document| document.cookie().ok())
            .unwrap_or_default();
        Ok(Findings {
            local_storage,
            document_cookie,
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (SAMPLE_TOKEN, STORAGE_KEY);
        Err("the script runs only in the browser".to_owned())
    }
}

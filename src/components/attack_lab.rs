//! The attack lab panel: one button per crafted token. The server builds the token from this
//! visitor's JWT, sends it to the JWT page route over loopback, and reports the route's response,
//! which also appears in the live log.

use leptos::prelude::*;

use crate::client;
use crate::model::{AttackResult, AttackSummary};

#[component]
pub fn AttackLab() -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let attacks = RwSignal::new(Vec::<AttackSummary>::new());
    let results = RwSignal::new(Vec::<AttackResult>::new());
    let running = RwSignal::new(false);

    // Effects run only in the browser, so the list loads after hydration.
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            match client::api::attacks().await {
                Ok(list) => attacks.set(list),
                Err(failure) => error.set(Some(failure.reason)),
            }
        });
    });

    let run = move |id: String| {
        if running.get_untracked() {
            return;
        }
        running.set(true);
        leptos::task::spawn_local(async move {
            match client::api::run_attack(&id).await {
                Ok(result) => {
                    error.set(None);
                    results.update(|results| {
                        results.retain(|known| known.attack != result.attack);
                        results.push(result);
                    });
                }
                Err(failure) => error.set(Some(failure.reason)),
            }
            running.set(false);
        });
    };
    let result_of = move |id: &str| results.with(|results| results.iter().find(|result| result.attack == id).cloned());

    view! {
        <section class="card" aria-labelledby="attack-lab-title">
            <h2 id="attack-lab-title">"Attack lab"</h2>
            <p class="hint">
                "Each button forges or alters your current JWT and sends it to "
                <code>"GET /api/jwt/pages/dashboard"</code>
                " with none of your cookies, as an attacker would. The server's verdict appears here "
                "and in the live log. Sign in first: the lab starts from your own token."
            </p>
            <Show when=move || error.with(Option::is_some)>
                <p class="notice" role="alert" data-testid="attack-error">{move || error.get()}</p>
            </Show>
            <ul class="attacks" data-testid="attacks">
                <For each=move || attacks.get() key=|attack| attack.id.clone() let:attack>
                    {
                        let id = attack.id.clone();
                        let row_id = attack.id.clone();
                        let outcome = move || result_of(&row_id);
                        view! {
                            <li class="attack" data-testid=format!("attack-{}", attack.id)>
                                <div class="attack-head">
                                    <strong>{attack.title.clone()}</strong>
                                    <button type="button" class="small" disabled=move || running.get()
                                        data-testid=format!("run-{}", attack.id)
                                        on:click=move |_| run(id.clone())>
                                        "Run"
                                    </button>
                                </div>
                                <p class="hint">{attack.explanation.clone()}</p>
                                {move || outcome().map(attack_outcome)}
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}

fn attack_outcome(result: AttackResult) -> impl IntoView {
    let verdict = if result.accepted {
        format!("{} accepted: the page was served", result.status)
    } else {
        format!(
            "{} rejected · {}: {}",
            result.status,
            result.error.clone().unwrap_or_default(),
            result.reason.clone().unwrap_or_default()
        )
    };
    view! {
        <p class="attack-outcome" data-testid="attack-outcome"
            data-accepted=result.accepted.to_string() data-error=result.error.clone().unwrap_or_default()>
            {verdict}
        </p>
        <details>
            <summary>{format!("Crafted token, {} bytes", result.token_bytes)}</summary>
            <code class="token">{result.token}</code>
        </details>
    }
}

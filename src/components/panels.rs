//! The panels below the live log, behind tabs that show one at a time so that each fits on a
//! projector screen: measurements (side by side, claims, simulated traffic) and security
//! lessons (token inspector, attack lab, token storage).

use leptos::prelude::*;

use crate::components::attack_lab::AttackLab;
use crate::components::claims::ClaimsPanel;
use crate::components::comparison::ComparisonPanel;
use crate::components::services::ServicesPanel;
use crate::components::simulation::SimulateTraffic;
use crate::components::token_inspector::TokenInspector;
use crate::components::token_storage::TokenStorage;

/// One of the panels below the live log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Comparison,
    Claims,
    Simulation,
    Inspector,
    Attacks,
    Storage,
    Services,
}

impl Panel {
    const ALL: [Panel; 7] = [
        Panel::Comparison,
        Panel::Claims,
        Panel::Simulation,
        Panel::Inspector,
        Panel::Attacks,
        Panel::Storage,
        Panel::Services,
    ];

    fn label(self) -> &'static str {
        match self {
            Panel::Comparison => "Side by side",
            Panel::Claims => "Claims vs measurements",
            Panel::Simulation => "Simulate traffic",
            Panel::Inspector => "Token inspector",
            Panel::Attacks => "Attack lab",
            Panel::Storage => "Where the token lives",
            Panel::Services => "Services",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Panel::Comparison => "comparison",
            Panel::Claims => "claims",
            Panel::Simulation => "simulation",
            Panel::Inspector => "inspector",
            Panel::Attacks => "attacks",
            Panel::Storage => "storage",
            Panel::Services => "services",
        }
    }
}

/// Tabs that open one of the panels at a time. The panels keep their data in the dashboard
/// state, so a simulation goes on while another panel is open.
#[component]
pub fn PanelTabs() -> impl IntoView {
    let open = RwSignal::new(Panel::Comparison);
    let content = move || match open.get() {
        Panel::Comparison => view! { <ComparisonPanel/> }.into_any(),
        Panel::Claims => view! { <ClaimsPanel/> }.into_any(),
        Panel::Simulation => view! { <SimulateTraffic/> }.into_any(),
        Panel::Inspector => view! { <TokenInspector/> }.into_any(),
        Panel::Attacks => view! { <AttackLab/> }.into_any(),
        Panel::Storage => view! { <TokenStorage/> }.into_any(),
        Panel::Services => view! { <ServicesPanel/> }.into_any(),
    };

    view! {
        <section class="panels" aria-label="Measurements and security lessons">
            <div class="tabs" role="tablist" aria-label="Panels">
                {Panel::ALL
                    .into_iter()
                    .map(|panel| {
                        view! {
                            <button
                                type="button"
                                role="tab"
                                id=format!("tab-{}", panel.id())
                                aria-controls="panel-content"
                                aria-selected=move || (open.get() == panel).to_string()
                                data-testid=format!("open-{}", panel.id())
                                on:click=move |_| open.set(panel)
                            >
                                {panel.label()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <div id="panel-content" role="tabpanel" aria-labelledby=move || format!("tab-{}", open.get().id())>
                {content}
            </div>
        </section>
    }
}

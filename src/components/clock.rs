//! The browser's clock for countdowns.

use leptos::prelude::*;

/// Milliseconds since the Unix epoch by the browser's clock; 0 on the server, which renders
/// the first frame only.
pub fn browser_now_ms() -> u64 {
    #[cfg(feature = "hydrate")]
    return js_sys::Date::now() as u64;
    #[cfg(not(feature = "hydrate"))]
    0
}

/// Returns a signal with the browser's time in milliseconds, updated every second while the
/// calling component lives.
pub fn ticking_clock() -> RwSignal<u64> {
    let now = RwSignal::new(0);
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        now.set(browser_now_ms());
        let ticker = set_interval_with_handle(move || now.set(browser_now_ms()), std::time::Duration::from_secs(1));
        on_cleanup(move || {
            if let Ok(ticker) = ticker {
                ticker.clear();
            }
        });
    });
    now
}

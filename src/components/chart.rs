//! A small SVG line chart for the live charts.
//!
//! Chart crates for Leptos (leptos-chartistry, for one) bring leptos-use and a layout engine
//! into a wasm bundle kept under 410 KB; these charts need only polylines on a shared axis.

use leptos::prelude::*;

use crate::components::numbers::fixed;

/// Drawing area in SVG user units; the SVG scales to its container.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 22.0;

/// One line: its legend name, CSS class (for colour and dash) and (x, y) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// Renders `series` on one axis, scaled to the largest x and y. `unit` labels the y axis.
#[component]
pub fn LineChart(
    #[prop(into)] series: Signal<Vec<Series>>,
    unit: &'static str,
    label: &'static str,
    x_label: &'static str,
    test_id: &'static str,
) -> impl IntoView {
    let bounds = move || {
        series.with(|all| {
            let points = all.iter().flat_map(|line| line.points.iter());
            let (max_x, max_y) = points.fold((0.0_f64, 0.0_f64), |(x, y), (px, py)| (x.max(*px), y.max(*py)));
            (max_x.max(1.0), nice_ceiling(max_y))
        })
    };

    view! {
        <figure class="chart" data-testid=test_id>
            // The fixed coordinates are written out from WIDTH, HEIGHT, LEFT and BOTTOM.
            <svg viewBox="0 0 600 200" role="img" aria-label=label>
                <line class="axis" x1="56" y1="4" x2="56" y2="178"/>
                <line class="axis" x1="56" y1="178" x2="600" y2="178"/>
                <text class="tick" x="50" y="14" text-anchor="end">
                    {move || format_value(bounds().1, unit)}
                </text>
                <text class="tick" x="50" y="178" text-anchor="end">"0"</text>
                <text class="tick" x="596" y="194" text-anchor="end">{x_label}</text>
                // The lines are rebuilt on every change, because a <For> keyed by name would keep
                // each line's first points.
                {move || {
                    let (max_x, max_y) = bounds();
                    series.get().into_iter().map(|line| {
                        // A dot per point, so that a series with a single point still shows. Zeros
                        // of a longer series get none, so a quiet minute is a plain line.
                        let single = line.points.len() == 1;
                        let dots = line.points.iter().filter(|&&(_, y)| single || y != 0.0).map(|&(x, y)| {
                            let (cx, cy) = to_plot(x, y, max_x, max_y);
                            view! { <circle class=format!("dot {}", line.class) cx=fixed(cx, 1) cy=fixed(cy, 1) r="3"/> }
                        }).collect_view();
                        view! {
                            <polyline class=format!("line {}", line.class) fill="none"
                                points=polyline_points(&line.points, max_x, max_y)/>
                            {dots}
                        }
                    }).collect_view()
                }}
            </svg>
            <figcaption>
                <span class="chart-title">{label}</span>
                {move || series.get().into_iter().map(|line| view! {
                    <span class=format!("legend {}", line.class)>{line.name}</span>
                }).collect_view()}
            </figcaption>
        </figure>
    }
}

fn polyline_points(points: &[(f64, f64)], max_x: f64, max_y: f64) -> String {
    points
        .iter()
        .map(|&(x, y)| {
            let (px, py) = to_plot(x, y, max_x, max_y);
            format!("{},{}", fixed(px, 1), fixed(py, 1))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Maps a data point to SVG coordinates inside the axes.
fn to_plot(x: f64, y: f64, max_x: f64, max_y: f64) -> (f64, f64) {
    let plot_width = WIDTH - LEFT - 8.0;
    let plot_height = HEIGHT - BOTTOM - 8.0;
    (LEFT + 4.0 + x / max_x * plot_width, HEIGHT - BOTTOM - y / max_y * plot_height)
}

/// Rounds `value` up to 1, 2 or 5 times a power of ten, so the top label reads well.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    // The largest power of ten not above `value`, by multiplication: powf and log10 would
    // bring their code into the bundle.
    let mut magnitude = 1.0;
    while magnitude * 10.0 <= value {
        magnitude *= 10.0;
    }
    while magnitude > value {
        magnitude /= 10.0;
    }
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * magnitude)
}

fn format_value(value: f64, unit: &str) -> String {
    if value >= 10_000.0 {
        format!("{}k {unit}", fixed(value / 1000.0, 0))
    } else {
        format!("{} {unit}", fixed(value, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceiling_rounds_up_to_one_two_or_five() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
        assert_eq!(nice_ceiling(450.0), 500.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
    }
}

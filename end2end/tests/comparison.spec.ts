import { expect, test } from "@playwright/test";

import { Dashboard } from "./support/dashboard";

const LATENCY_CELL = /^\d+ \/ \d+ \/ \d+ µs$/;

/** Matches an SVG polyline `points` value with exactly `count` x,y pairs. */
function pointsPattern(count: number): RegExp {
  const pair = String.raw`\d+(\.\d+)?,\d+(\.\d+)?`;
  return new RegExp(`^${pair}( ${pair}){${count - 1}}$`);
}

async function requestTwoStatefulAndOneJwtPage(dashboard: Dashboard): Promise<void> {
  await dashboard.signIn();
  await dashboard.requestPage();
  await dashboard.requestPage();
  await dashboard.selectMode("jwt");
  await dashboard.requestPage();
  await dashboard.expectCounters({ dbHits: 2, stateful: 2, jwt: 1 });
}

test("comparison table counts per mode", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.openPanel("comparison");
  const table = dashboard.byTestId("comparison");
  // A mode without requests shows a dash in every row.
  await expect(table.getByTestId("comparison-stateful-requests")).toHaveText("–");
  await expect(table.getByTestId("comparison-jwt-requests")).toHaveText("–");

  await requestTwoStatefulAndOneJwtPage(dashboard);

  await expect(table.getByTestId("comparison-stateful-requests")).toHaveText("2");
  await expect(table.getByTestId("comparison-jwt-requests")).toHaveText("1");
  await expect(table.getByTestId("comparison-stateful-db-hits")).toHaveText("2");
  await expect(table.getByTestId("comparison-jwt-db-hits")).toHaveText("0");
  await expect(table.getByTestId("comparison-stateful-hits-per-request")).toHaveText("1.00");
  await expect(table.getByTestId("comparison-jwt-hits-per-request")).toHaveText("0.00");
  await expect(table.getByTestId("comparison-stateful-auth")).toHaveText(LATENCY_CELL);
  await expect(table.getByTestId("comparison-jwt-auth")).toHaveText(LATENCY_CELL);
  await expect(table.getByTestId("comparison-stateful-total")).toHaveText(LATENCY_CELL);
  await expect(table.getByTestId("comparison-jwt-total")).toHaveText(LATENCY_CELL);
});

test("auth chart plots each page request", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.openPanel("comparison");
  const chart = dashboard.byTestId("auth-chart");
  await expect(chart.locator("polyline.stateful")).toHaveAttribute("points", "");
  await expect(chart.locator("polyline.jwt")).toHaveAttribute("points", "");

  await requestTwoStatefulAndOneJwtPage(dashboard);

  await expect(chart.locator("polyline.stateful")).toHaveAttribute("points", pointsPattern(2));
  await expect(chart.locator("polyline.jwt")).toHaveAttribute("points", pointsPattern(1));
});

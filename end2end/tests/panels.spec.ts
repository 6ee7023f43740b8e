import { expect, test } from "@playwright/test";

import { Dashboard, TITLE } from "./support/dashboard";

test("tabs show one panel at a time", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await expect(page).toHaveTitle(TITLE);
  // Side by side is open at first.
  await expect(dashboard.byTestId("open-comparison")).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("tabpanel").getByRole("heading", { level: 2 })).toHaveText("Side by side");

  const claims = await dashboard.openPanel("claims");
  await expect(claims.getByRole("heading", { level: 2 })).toHaveText("Claims versus measurements");
  await expect(dashboard.byTestId("claims").locator("tbody tr")).toHaveCount(4);
  await expect(dashboard.byTestId("scale-estimate")).toBeVisible();
  await expect(dashboard.byTestId("open-comparison")).toHaveAttribute("aria-selected", "false");

  const comparison = await dashboard.openPanel("comparison");
  await expect(comparison.getByRole("heading", { level: 2 })).toHaveText("Side by side");
  await expect(dashboard.byTestId("claims")).toHaveCount(0);
  await expect(dashboard.byTestId("open-claims")).toHaveAttribute("aria-selected", "false");
});

test("simulation runs both modes", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const panel = await dashboard.openPanel("simulation");
  await panel.getByLabel("Virtual users").fill("3");
  await panel.getByLabel("Pages per user").fill("2");
  await panel.getByLabel("Think time (ms)").fill("0");
  await dashboard.byTestId("sim-modes").selectOption("both");
  await dashboard.byTestId("sim-start").click();

  await expect(dashboard.byTestId("sim-state")).toHaveText("Finished");
  await expect(dashboard.byTestId("sim-progress")).toHaveText("12 / 12 requests");
  // Each stateful page request looks its session up once; JWT page requests never query.
  await expect(dashboard.byTestId("sim-db-hits-stateful")).toHaveText("6");
  await expect(dashboard.byTestId("sim-db-hits-jwt")).toHaveText("0");
  await expect(dashboard.byTestId("sim-result-stateful").locator("td").first()).toHaveText("6");
  await expect(dashboard.byTestId("sim-result-jwt").locator("td").first()).toHaveText("6");
  await expect(dashboard.byTestId("sim-csv")).toHaveAttribute("href", /^\/api\/simulations\/[^/]+\/results\.csv$/);
  await expect(dashboard.byTestId("sim-cancel")).toBeDisabled();
});

test("unknown path shows 404 page", async ({ page }) => {
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page).toHaveTitle(`Page not found · ${TITLE}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
  await page.getByRole("link", { name: "Open the dashboard" }).click();
  await expect(page).toHaveURL("/");
});

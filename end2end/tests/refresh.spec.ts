import { expect, test } from "@playwright/test";

import { Dashboard } from "./support/dashboard";

// This server issues JWTs that expire after 12 s (SHORT_JWT_TTL_SECS in playwright.config.ts),
// and the page refreshes them 5 s before they expire: 7 s after sign-in, then every 7 s.
const shortTtlURL = process.env.SJ_SHORT_TTL_URL;
test.use({ baseURL: shortTtlURL });

test("page refreshes the JWT before it expires", async ({ page }) => {
  expect(shortTtlURL, "playwright.config.ts sets SJ_SHORT_TTL_URL").toBeTruthy();
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn("Ada");
  await dashboard.selectMode("jwt");
  await expect(dashboard.byTestId("access-countdown")).toBeVisible();

  const controls = dashboard.byTestId("session-controls");
  await expect(controls).toHaveAttribute("data-refreshes", "1", { timeout: 15_000 });

  const refreshLine = dashboard.logLines.filter({ hasText: "refreshed the JWT for Ada" });
  await expect(refreshLine).toHaveCount(1);
  await expect(refreshLine).toContainText("POST /api/token/refresh");
  await expect(refreshLine).toHaveAttribute("data-status", "200");
  // One refresh touches the database twice: it claims the old token and stores the new one.
  await expect(refreshLine).toHaveAttribute("data-queries", "2");
  await expect(refreshLine.getByTestId("log-sql")).toContainText([
    "UPDATE refresh_tokens SET used = 1",
    "INSERT INTO refresh_tokens",
  ]);

  const pageLine = await dashboard.requestPage();
  await expect(pageLine).toHaveAttribute("data-status", "200");
  await expect(pageLine).toHaveAttribute("data-mode", "jwt");
  await expect(pageLine).toHaveAttribute("data-queries", "0");
});

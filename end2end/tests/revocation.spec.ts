import { expect, test } from "@playwright/test";

import { Dashboard } from "./support/dashboard";

test("stateful request fails after revoke-all", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn("Ada");
  const before = await dashboard.requestPage();
  await expect(before).toHaveAttribute("data-status", "200");

  const revokeLine = await dashboard.expectNewLogLine(() => dashboard.byTestId("revoke-all").click());
  await expect(revokeLine).toContainText("revoked everything for Ada: 1 session and ");
  await expect(dashboard.byTestId("notice")).toContainText("Revoked everything");

  const after = await dashboard.requestPage();
  await expect(after).toHaveAttribute("data-status", "401");
  await expect(after).toHaveAttribute("data-mode", "stateful");
  await expect(after).toContainText("session_not_found");
  await expect(after).toHaveAttribute("data-queries", "1");
});

test("JWT request works after revoke-all", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn("Ada");
  await dashboard.selectMode("jwt");
  await expect(dashboard.byTestId("access-countdown")).toBeVisible();
  await expect(dashboard.byTestId("access-seconds-left")).toHaveText(/^\d+$/);

  const revokeLine = await dashboard.expectNewLogLine(() => dashboard.byTestId("revoke-all").click());
  await expect(revokeLine).toContainText("still works for");
  await expect(dashboard.byTestId("notice")).toContainText("The JWT still works for");

  const after = await dashboard.requestPage();
  await expect(after).toHaveAttribute("data-status", "200");
  await expect(after).toHaveAttribute("data-mode", "jwt");
  await expect(after).toHaveAttribute("data-queries", "0");
  await expect(dashboard.byTestId("access-countdown")).toBeVisible();
});

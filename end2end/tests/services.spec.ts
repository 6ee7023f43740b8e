import { expect, test } from "@playwright/test";

import { Dashboard } from "./support/dashboard";

const SERVICES = ["billing", "profile", "settings"];

// These tests run against the second server of the suite, which signs tokens with EdDSA, so
// that each service can verify them with the published public key.
test.use({ baseURL: process.env.SJ_EDDSA_URL });

test("JWT services verify with the public key", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();
  await dashboard.selectMode("jwt");
  await dashboard.openPanel("services");
  const before = await dashboard.logLines.count();

  await dashboard.byTestId("request-services").click();

  await expect(dashboard.byTestId("services-table").locator("caption")).toHaveText(/^JWT \(Stateless\) mode, \d+ µs in total$/);
  for (const service of SERVICES) {
    const cells = dashboard.byTestId(`service-${service}`).locator("td");
    await expect(cells.nth(0)).toHaveText("200");
    await expect(cells.nth(2)).toHaveText("0");
    await expect(cells.nth(3)).toHaveText(/^public key \S+ \(EdDSA\)$/);
  }
  // One log line per service, then the fan-out request itself.
  await expect(dashboard.logLines).toHaveCount(before + 4);
  await expect(dashboard.newestLine()).toContainText("3 of 3 services accepted the credentials, with 0 DB hits");
});

test("stateful services each hit the database", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();
  await dashboard.openPanel("services");

  await dashboard.byTestId("request-services").click();

  for (const service of SERVICES) {
    const cells = dashboard.byTestId(`service-${service}`).locator("td");
    await expect(cells.nth(0)).toHaveText("200");
    await expect(cells.nth(2)).toHaveText("1");
  }
  await expect(dashboard.newestLine()).toContainText("with 3 DB hits");
});

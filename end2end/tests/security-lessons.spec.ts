import { expect, test } from "@playwright/test";

import { Dashboard } from "./support/dashboard";

test("inspector shows the signed-in token", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn("Ada");
  await dashboard.openPanel("inspector");

  await expect(dashboard.byTestId("token-header")).toContainText('"alg": "HS256"');
  await expect(dashboard.byTestId("token-payload")).toContainText('"name": "Ada"');
  await expect(dashboard.byTestId("token-signature")).toHaveText(/^[A-Za-z0-9_-]{10}…$/);
  await expect(dashboard.byTestId("token-expires")).toHaveText(/^\d\d:\d\d:\d\d UTC$/);
  await expect(dashboard.byTestId("token-verdict")).toHaveText("the JWT route accepts it");
  await expect(dashboard.byTestId("token-sizes")).toHaveText(
    /^The token is \d+ bytes; the session cookie is \d+ bytes\./,
  );
  // The countdown ticks down from the 60-second lifetime.
  const countdown = dashboard.byTestId("token-countdown");
  await expect(countdown).toHaveText(/^(1:00|0:[0-5]\d)$/);
  const first = await countdown.textContent();
  await expect(countdown).not.toHaveText(first!);
});

test("inspector after logout has no token", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();
  await dashboard.openPanel("inspector");
  await expect(dashboard.byTestId("token-verdict")).toBeVisible();

  await dashboard.signOut();

  await expect(dashboard.byTestId("inspector-error")).toHaveText(
    "token_missing: this browser has no JWT cookie; sign in to get one",
  );
  await expect(dashboard.byTestId("token-verdict")).toHaveCount(0);
});

test("attack lab rejects a forged token", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();
  await dashboard.openPanel("attacks");

  const attack = dashboard.byTestId("attack-alg-none");
  const before = await dashboard.logLines.count();
  await attack.getByRole("button", { name: "Run" }).click();

  const outcome = attack.getByTestId("attack-outcome");
  await expect(outcome).toHaveAttribute("data-accepted", "false");
  await expect(outcome).toHaveAttribute("data-error", "alg_not_allowed");
  await expect(outcome).toHaveText(/^401 rejected · alg_not_allowed: /);
  // Two log lines: the crafted request to the JWT route, then the lab request itself.
  await expect(dashboard.logLines).toHaveCount(before + 2);
  await expect(dashboard.logLines.nth(0)).toContainText("POST /api/attacks/alg-none");
  await expect(dashboard.logLines.nth(1)).toContainText("GET /api/jwt/pages/dashboard");
  await expect(dashboard.logLines.nth(1)).toContainText("alg_not_allowed");
});

test("script reads localStorage but not the HttpOnly cookie", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();
  await dashboard.openPanel("storage");

  await dashboard.byTestId("run-storage-script").click();

  await expect(dashboard.byTestId("storage-local")).toContainText("Read: the script has the token.");
  await expect(dashboard.byTestId("storage-cookie-verdict")).toHaveText(
    "Not readable: document.cookie has no JWT.",
  );
  await expect(dashboard.byTestId("storage-document-cookie")).not.toContainText("sj_token");
  await expect(dashboard.byTestId("storage-document-cookie")).not.toContainText("sj_session");
});

test("page runs under its content security policy", async ({ page }) => {
  const violations: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      (window as unknown as { cspViolations: string[] }).cspViolations ??= [];
      (window as unknown as { cspViolations: string[] }).cspViolations.push(
        `${event.violatedDirective} ${event.blockedURI}`,
      );
    });
  });
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) {
      violations.push(message.text());
    }
  });
  const dashboard = new Dashboard(page);
  const response = await page.goto("/");
  expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
  await dashboard.open();
  await dashboard.signIn();
  await dashboard.requestPage();
  for (const panel of ["comparison", "claims", "simulation", "inspector", "attacks", "storage"] as const) {
    await dashboard.openPanel(panel);
  }

  const reported = await page.evaluate(
    () => (window as unknown as { cspViolations?: string[] }).cspViolations ?? [],
  );
  expect(reported).toEqual([]);
  expect(violations).toEqual([]);
});

test("permission claims make each request bigger", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn("Ada");
  await dashboard.selectMode("jwt");
  await dashboard.requestPage();
  await dashboard.openPanel("inspector");
  const bytes = dashboard.byTestId("jwt-bytes");
  await expect(bytes).toHaveText(/^Your JWT page requests carried (\d+) credential bytes in all; the latest carried \1\.$/);
  const beforeText = (await bytes.textContent())!;
  const before = Number(beforeText.match(/latest carried (\d+)/)![1]);

  const line = await dashboard.expectNewLogLine(async () => {
    await dashboard.byTestId("permission-count").fill("40");
    await dashboard.byTestId("reissue-token").click();
  });
  await expect(line).toContainText("re-issued the JWT with 40 permission claims");
  await expect(dashboard.byTestId("token-payload")).toContainText('"orders:read"');
  await dashboard.requestPage();
  // The counters event of the request replaces the text.
  await expect(bytes).not.toHaveText(beforeText);

  const after = Number((await bytes.textContent())!.match(/latest carried (\d+)/)![1]);
  await expect(bytes).toHaveText(`Your JWT page requests carried ${before + after} credential bytes in all; the latest carried ${after}.`);
  expect(after).toBeGreaterThan(before + 40 * 10);
});

test("oversized token cookie is rejected with the largest count", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn("Ada");
  await dashboard.openPanel("inspector");

  await dashboard.byTestId("permission-count").fill("200");
  await dashboard.byTestId("reissue-token").click();

  const error = dashboard.byTestId("permissions-error");
  await expect(error).toContainText("with 200 permission claims the JWT is");
  await expect(error).toContainText("browsers drop a cookie whose name and value pass 4096 bytes");
  const fitting = Number((await error.textContent())!.match(/at most (\d+) claims fit/)![1]);
  expect(fitting).toBeGreaterThan(100);
  expect(fitting).toBeLessThan(200);
  // The rejected request left the signed-in token in place.
  await expect(dashboard.byTestId("token-verdict")).toHaveText("the JWT route accepts it");
});

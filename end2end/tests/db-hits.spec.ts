import { expect, test } from "@playwright/test";

import {
  Dashboard,
  expectPageLine,
  IDLE_LINE,
  JWT_LABEL,
  SELECT_SESSION_SQL,
  STATEFUL_LABEL,
} from "./support/dashboard";

test("DB hits counted per mode", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await expect(dashboard.byTestId("idle-line")).toHaveText(IDLE_LINE);
  await expect(dashboard.byTestId("name-input")).toHaveValue("John Doe");

  const loginLine = await dashboard.signIn();
  await expect(loginLine).toHaveAttribute("data-status", "200");
  await expect(loginLine).toHaveAttribute("data-mode", "other");
  await expect(loginLine).toContainText("signed in as John Doe");
  // Sign-in stores the refresh token's hash, then the session layer writes the session.
  await expect(loginLine).toHaveAttribute("data-queries", "2");
  await expect(loginLine.getByTestId("log-sql")).toContainText([
    "INSERT INTO refresh_tokens",
    "INSERT INTO sessions",
  ]);
  await expect(dashboard.byTestId("idle-line")).toHaveCount(0);
  // Sign-in writes the session, but only page requests count as DB hits.
  await dashboard.expectCounters({ dbHits: 0, stateful: 0, jwt: 0 });

  await expect(dashboard.byTestId("current-mode")).toHaveText(STATEFUL_LABEL);
  const statefulLine = await dashboard.requestPage();
  await expectPageLine(statefulLine, { status: 200, mode: "stateful", queries: 1 });
  await expect(statefulLine.getByTestId("log-sql")).toContainText(SELECT_SESSION_SQL);
  await expect(statefulLine).toContainText("GET /api/stateful/pages/dashboard");
  await expect(statefulLine).toContainText("served Dashboard to John Doe");
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 0 });
  await expect(dashboard.byTestId("last-page")).toContainText("Dashboard");
  await expect(dashboard.byTestId("last-page")).toContainText(STATEFUL_LABEL);
  await expect(dashboard.byTestId("next-page")).toHaveText("orders");

  await dashboard.selectMode("jwt");
  await expect(dashboard.byTestId("current-mode")).toHaveText(JWT_LABEL);
  const jwtLine = await dashboard.requestPage();
  await expectPageLine(jwtLine, { status: 200, mode: "jwt", queries: 0 });
  await expect(jwtLine).toContainText("no DB query");
  await expect(jwtLine).toContainText("GET /api/jwt/pages/orders");
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 1 });
  await expect(dashboard.byTestId("last-page")).toContainText(JWT_LABEL);

  await dashboard.selectMode("stateful");
  for (const pageName of ["billing", "profile"]) {
    const line = await dashboard.requestPage();
    await expectPageLine(line, { status: 200, mode: "stateful", queries: 1 });
    await expect(line).toContainText(`GET /api/stateful/pages/${pageName}`);
  }
  await dashboard.expectCounters({ dbHits: 3, stateful: 3, jwt: 1 });
  await expect(dashboard.logLines).toHaveCount(5);
});

test("double click sends one request", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();

  await dashboard.expectNewLogLine(() => dashboard.requestButton.dblclick());
  await expect(dashboard.requestButton).toHaveAttribute("aria-busy", "false");
  // A second request from the double click would have been sent before the JWT request
  // below, so once that request's counters arrive, they show whether it happened.
  await dashboard.selectMode("jwt");
  await dashboard.requestPage();
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 1 });
  await expect(dashboard.logLines).toHaveCount(3);
});

test("reset zeroes the visitor's counters", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();
  await dashboard.requestPage();
  await dashboard.selectMode("jwt");
  await dashboard.requestPage();
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 1 });
  const serverHitsBefore = await dashboard.serverDbHits();
  expect(serverHitsBefore).toBeGreaterThanOrEqual(1);

  const resetLine = await dashboard.reset();
  await expect(resetLine).toHaveAttribute("data-status", "200");
  await expect(resetLine).toHaveAttribute("data-mode", "other");
  await expect(resetLine).toContainText("counters reset to zero");
  await dashboard.expectCounters({ dbHits: 0, stateful: 0, jwt: 0 });
  // Reset leaves the whole-server total alone. Other tests may add to it meanwhile.
  expect(await dashboard.serverDbHits()).toBeGreaterThanOrEqual(serverHitsBefore);

  await dashboard.selectMode("stateful");
  await dashboard.requestPage();
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 0 });
});

test("logged-out stateful request is rejected", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();
  await dashboard.requestPage();
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 0 });

  const logoutLine = await dashboard.signOut();
  await expect(logoutLine).toHaveAttribute("data-status", "200");
  await expect(logoutLine).toHaveAttribute("data-mode", "other");
  await expect(logoutLine).toContainText("logged out: session deleted");
  await expect(dashboard.byTestId("notice")).toContainText("Logged out.");
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 0 });

  const rejectedLine = await dashboard.requestPage();
  await expect(rejectedLine).toHaveAttribute("data-status", "401");
  await expect(rejectedLine).toHaveAttribute("data-mode", "stateful");
  await expect(rejectedLine).toContainText("session_missing");
  await expect(rejectedLine).toHaveAttribute("data-queries", "0");
  await expect(dashboard.byTestId("notice")).toHaveText(
    "session_missing: no session cookie was sent; sign in first",
  );
  // Logout removed the session cookie, so the server rejects the request without a query.
  await dashboard.expectCounters({ dbHits: 1, stateful: 2, jwt: 0 });

  await dashboard.selectMode("jwt");
  const jwtLine = await dashboard.requestPage();
  await expect(jwtLine).toHaveAttribute("data-status", "401");
  await expect(jwtLine).toHaveAttribute("data-mode", "jwt");
  await expect(jwtLine).toHaveAttribute("data-queries", "0");
  await expect(jwtLine).toContainText("token_missing");
  await dashboard.expectCounters({ dbHits: 1, stateful: 2, jwt: 1 });
});

import { expect, type Page, type Route, test } from "@playwright/test";

import { Dashboard, expectPageLine } from "./support/dashboard";

// These tests replace the first response of GET /api/events and pass every later one on to
// the server, so they exercise reconnection without restarting the server. The second stream
// request is held until the page has shown that it lost the stream.

type FirstResponse = (route: Route) => Promise<void>;

/**
 * Routes GET /api/events so that the first request gets `firstResponse`, the second waits
 * until `releaseReconnect()` is called, and every request after the first reaches the server.
 */
async function interceptFirstStream(page: Page, firstResponse: FirstResponse) {
  let streamRequests = 0;
  let releaseReconnect!: () => void;
  const reconnectHeld = new Promise<void>((resolve) => {
    releaseReconnect = resolve;
  });
  await page.route("**/api/events", async (route) => {
    streamRequests += 1;
    if (streamRequests === 1) {
      await firstResponse(route);
      return;
    }
    if (streamRequests === 2) {
      await reconnectHeld;
    }
    await route.continue();
  });
  return { streamRequests: () => streamRequests, releaseReconnect };
}

async function expectWorkingStream(dashboard: Dashboard): Promise<void> {
  await expect(dashboard.byTestId("live-log")).toHaveAttribute("data-stream", "open");
  await expect(dashboard.byTestId("stream-state")).toHaveText("● live");
  await dashboard.signIn();
  const line = await dashboard.requestPage();
  await expectPageLine(line, { status: 200, mode: "stateful", queries: 1 });
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 0 });
}

test("live stream reopens after an error response", async ({ page }) => {
  const dashboard = new Dashboard(page);
  // An error status makes the browser close the EventSource without retrying, so only the
  // page's own retry, two seconds later, opens a new one.
  const stream = await interceptFirstStream(page, (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      body: JSON.stringify({ error: "unavailable", reason: "the server is restarting" }),
    }),
  );

  await page.goto("/");
  await dashboard.withPageErrors(() => expect.poll(stream.streamRequests, { timeout: 10_000 }).toBe(2));
  await expect(dashboard.byTestId("live-log")).toHaveAttribute("data-stream", "connecting");
  await expect(dashboard.byTestId("stream-state")).toHaveText("○ connecting…");

  stream.releaseReconnect();
  await expectWorkingStream(dashboard);
});

test("live stream resumes after the server ends it", async ({ page }) => {
  const dashboard = new Dashboard(page);
  // The stream sets a 200 ms retry delay and ends, so the browser reconnects by itself.
  const stream = await interceptFirstStream(page, (route) =>
    route.fulfill({ status: 200, contentType: "text/event-stream", body: "retry: 200\n\n" }),
  );

  await page.goto("/");
  await dashboard.withPageErrors(() => expect.poll(stream.streamRequests, { timeout: 10_000 }).toBe(2));
  await expect(dashboard.byTestId("live-log")).toHaveAttribute("data-stream", "connecting");
  await expect(dashboard.byTestId("stream-state")).toHaveText("○ connecting…");

  stream.releaseReconnect();
  await expectWorkingStream(dashboard);
});

import path from "node:path";

import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";

import { Dashboard, JWT_LABEL } from "./support/dashboard";

// These tests share the suite's room server, whose presenter switches every participant's
// mode, so they run one after another and no other spec uses that server.
test.describe.configure({ mode: "serial" });
test.use({ baseURL: process.env.SJ_ROOM_URL });

const ROOM_URL = process.env.SJ_ROOM_URL!;
const PRESENTER_KEY = process.env.SJ_PRESENTER_KEY!;
const SCREENSHOT_DIR = path.resolve(__dirname, "../screenshots");

/** Opens the presenter view and waits until its stream of room snapshots is live. */
async function openPresenter(page: Page): Promise<void> {
  await page.goto("/present");
  await expect(page.getByTestId("presenter-stream")).toHaveText("● live");
}

/** Enters the presenter key and waits for the controls. */
async function unlock(page: Page): Promise<void> {
  await page.getByTestId("presenter-key").fill(PRESENTER_KEY);
  await page.getByTestId("enter-presenter-key").click();
  await expect(page.getByTestId("start-round")).toBeVisible();
}

test("wrong presenter key is rejected", async ({ page }) => {
  await openPresenter(page);

  await page.getByTestId("presenter-key").fill("not-the-presenter-key");
  await page.getByTestId("enter-presenter-key").click();

  await expect(page.getByTestId("presenter-notice")).toHaveText(
    "presenter_key_invalid: the presenter key is wrong; use the key that the server printed at start",
  );
  await expect(page.getByTestId("start-round")).toHaveCount(0);
});

test("presenter drives the room that a participant sees", async ({ page, browser }) => {
  await openPresenter(page);
  await expect(page.getByTestId("join-url")).toHaveText(`${ROOM_URL}/`);
  await expect(page.getByTestId("join-warning")).toBeVisible();
  await unlock(page);
  await page.getByTestId("room-reset").click();
  await expect(page.getByTestId("presenter-notice")).toHaveText("The room was reset.");

  const participantContext = await browser.newContext({ baseURL: ROOM_URL });
  const participant = new Dashboard(await participantContext.newPage());
  await participant.open();
  await participant.signIn("Grace");
  // Grace is the only participant: the other tests of this server open the presenter view only.
  await expect(page.getByTestId("presenter-participants")).toHaveText("1");

  // The presenter's mode switch reaches the participant's dashboard through its live stream.
  await page.getByTestId("room-mode-jwt").click();
  await expect(participant.byTestId("current-mode")).toHaveText(JWT_LABEL);
  await expect(participant.byTestId("room-participants")).toContainText(
    "The presenter switched the room to JWT (Stateless).",
  );

  await page.getByTestId("round-requests").fill("2");
  await page.getByTestId("round-seconds").fill("120");
  await page.getByTestId("start-round").click();
  const banner = participant.byTestId("round-banner");
  await expect(banner).toContainText("make 2 page requests. You: 0/2.");
  await participant.requestPage();
  await participant.requestPage();
  await expect(banner).toContainText("You: 2/2.");
  await expect(page.getByTestId("presenter-round")).toContainText("1 of 1 done");
  await expect(page.getByTestId("presenter-jwt-requests")).toHaveText("2");
  await expect(page.getByTestId("presenter-jwt-db-hits")).toHaveText("0");
  await expect(page.getByTestId("presenter-stateful-requests")).toHaveText("0");
  await expect(page.getByTestId("room-activity").locator("li").first()).toContainText("Grace");

  await page.getByTestId("room-reset").click();
  await expect(page.getByTestId("presenter-jwt-requests")).toHaveText("0");
  await expect(page.getByTestId("presenter-round")).toHaveCount(0);
  await participantContext.close();
});

for (const colorScheme of ["light", "dark"] as const) {
  test(`axe finds no WCAG AA violations on the presenter view, ${colorScheme}`, async ({ page }) => {
    await page.emulateMedia({ colorScheme });
    await openPresenter(page);
    await unlock(page);
    await page.getByTestId("round-requests").fill("20");
    await page.getByTestId("start-round").click();
    await expect(page.getByTestId("presenter-round")).toBeVisible();

    const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    const violations = results.violations.map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      elements: violation.nodes.map((node) => `${node.target.join(" ")}: ${node.failureSummary ?? ""}`),
    }));
    expect(violations).toEqual([]);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `presenter-desktop-${colorScheme}.png`), fullPage: true });
  });
}

test.describe("presenter view on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 });

  test("presenter view fits a phone", async ({ page }) => {
    await openPresenter(page);
    await expect(page.getByTestId("presenter-totals")).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "presenter-phone.png"), fullPage: true });
  });
});

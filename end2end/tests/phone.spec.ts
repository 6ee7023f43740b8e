import { expect, type Page, test } from "@playwright/test";

import { Dashboard } from "./support/dashboard";

const PHONE_WIDTH = 390;

test.use({
  viewport: { width: PHONE_WIDTH, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
});

async function expectNoHorizontalScroll(page: Page, when: string): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => {
    const root = document.scrollingElement ?? document.documentElement;
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
  });
  expect(clientWidth, `viewport width ${when}`).toBe(PHONE_WIDTH);
  expect(scrollWidth, `page width ${when}`).toBeLessThanOrEqual(clientWidth);
}

test("phone layout never scrolls sideways", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await expectNoHorizontalScroll(page, "before sign-in");

  await expect(dashboard.requestButton).toBeVisible();
  const box = await dashboard.requestButton.boundingBox();
  expect(box, "Request Page has a layout box").not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE_WIDTH);

  await dashboard.signIn();
  await expectNoHorizontalScroll(page, "after sign-in");

  // Stateful log lines contain the longest text, the SQL statement.
  await dashboard.requestPage();
  await dashboard.selectMode("jwt");
  await dashboard.requestPage();
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 1 });
  await expect(dashboard.byTestId("last-page")).toBeVisible();
  await expectNoHorizontalScroll(page, "after page requests");

  await dashboard.signOut();
  await expect(dashboard.byTestId("notice")).toBeVisible();
  await expectNoHorizontalScroll(page, "after logout");
  await expect(dashboard.requestButton).toBeVisible();
});

test("comparison table keeps the JWT column on screen", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signInAndRequestBothModes();
  await dashboard.openPanel("comparison");

  const table = dashboard.byTestId("comparison");
  const jwtCells = table.locator('td[data-testid^="comparison-jwt-"]');
  await expect(jwtCells.first()).toBeVisible();
  const tableBox = (await table.boundingBox())!;
  for (const cell of await jwtCells.all()) {
    const box = (await cell.boundingBox())!;
    expect(box.x + box.width, "a JWT cell ends inside the screen").toBeLessThanOrEqual(PHONE_WIDTH);
    expect(box.x + box.width).toBeLessThanOrEqual(tableBox.x + tableBox.width + 1);
  }
});

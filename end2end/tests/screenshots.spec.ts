import path from "node:path";

import { test } from "@playwright/test";

import { Dashboard } from "./support/dashboard";

// Saves screenshots for people to look at, and nothing compares them. The folder is gitignored.
const SCREENSHOT_DIR = path.resolve(__dirname, "../screenshots");

const VIEWPORTS = [
  { name: "desktop", viewport: { width: 1366, height: 900 }, isMobile: false },
  { name: "phone", viewport: { width: 390, height: 844 }, isMobile: true },
];

for (const { name, viewport, isMobile } of VIEWPORTS) {
  test.describe(`${name} screenshots`, () => {
    test.use({ viewport, isMobile, hasTouch: isMobile, deviceScaleFactor: isMobile ? 3 : 1 });

    test(`dashboard after activity, ${name}`, async ({ page }) => {
      const dashboard = new Dashboard(page);
      await dashboard.open();
      await dashboard.signIn();
      await dashboard.requestPage();
      await dashboard.selectMode("jwt");
      await dashboard.requestPage();
      await dashboard.selectMode("stateful");
      await dashboard.requestPage();
      await dashboard.expectCounters({ dbHits: 2, stateful: 2, jwt: 1 });

      const size = `${viewport.width}x${viewport.height}`;
      // The stylesheet is dark by default and light when the system prefers light.
      for (const colorScheme of ["light", "dark"] as const) {
        await page.emulateMedia({ colorScheme });
        const stem = path.join(SCREENSHOT_DIR, `dashboard-${name}-${size}-${colorScheme}`);
        await page.screenshot({ path: `${stem}.png` });
        await page.screenshot({ path: `${stem}-full.png`, fullPage: true });
      }
    });
  });
}

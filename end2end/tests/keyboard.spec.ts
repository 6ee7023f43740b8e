import { expect, type Page, test } from "@playwright/test";

import { Dashboard, expectPageLine, JWT_LABEL } from "./support/dashboard";

/** Maximum Tab presses to reach a control. The page has fewer than ten tab stops. */
const MAX_TAB_PRESSES = 20;

/** Presses Tab until the element with `testId` has focus, and fails if it never does. */
async function tabTo(page: Page, testId: string): Promise<void> {
  for (let presses = 0; presses < MAX_TAB_PRESSES; presses++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement?.getAttribute("data-testid"));
    if (focused === testId) {
      return;
    }
  }
  throw new Error(`Tab did not reach [data-testid=${testId}] within ${MAX_TAB_PRESSES} presses`);
}

test("keyboard-only sign-in and requests", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();

  await tabTo(page, "name-input");
  await dashboard.expectNewLogLine(() => page.keyboard.press("Enter"));
  await expect(dashboard.byTestId("signed-in-user")).toHaveText("John Doe");

  await tabTo(page, "request-page");
  await expect(dashboard.requestButton).toBeFocused();
  // The focus ring comes from the :focus-visible rule in style/main.css.
  await expect(dashboard.requestButton).toHaveCSS("outline-style", "solid");
  const statefulLine = await dashboard.expectNewLogLine(() => page.keyboard.press("Enter"));
  await expectPageLine(statefulLine, { status: 200, mode: "stateful", queries: 1 });
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 0 });

  // Arrow keys move the checked radio within the mode group.
  await tabTo(page, "mode-stateful");
  await page.keyboard.press("ArrowRight");
  await expect(dashboard.byTestId("mode-jwt")).toBeChecked();
  await expect(dashboard.byTestId("current-mode")).toHaveText(JWT_LABEL);

  await expect(dashboard.requestButton).toHaveAttribute("aria-busy", "false");
  await tabTo(page, "request-page");
  const jwtLine = await dashboard.expectNewLogLine(() => page.keyboard.press("Enter"));
  await expectPageLine(jwtLine, { status: 200, mode: "jwt", queries: 0 });
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 1 });
});

test("shortcut keys request a page and switch the mode", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  await dashboard.signIn();
  // Shortcuts work wherever the focus is, unless it is in a form field.
  await page.locator("body").click({ position: { x: 5, y: 5 } });

  await page.keyboard.press("j");
  await expect(dashboard.byTestId("current-mode")).toHaveText(JWT_LABEL);
  const jwtLine = await dashboard.expectNewLogLine(() => page.keyboard.press("r"));
  await expectPageLine(jwtLine, { status: 200, mode: "jwt", queries: 0 });

  await page.keyboard.press("s");
  await expect(dashboard.byTestId("current-mode")).toHaveText("Traditional (Stateful)");
  await expect(dashboard.requestButton).toHaveAttribute("aria-busy", "false");
  const statefulLine = await dashboard.expectNewLogLine(() => page.keyboard.press("R"));
  await expectPageLine(statefulLine, { status: 200, mode: "stateful", queries: 1 });
  await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 1 });
});

test("letters typed into a field are not shortcuts", async ({ page }) => {
  const dashboard = new Dashboard(page);
  await dashboard.open();
  const before = await dashboard.logLines.count();

  await dashboard.byTestId("name-input").fill("");
  await dashboard.byTestId("name-input").pressSequentially("rjs");

  await expect(dashboard.byTestId("name-input")).toHaveValue("rjs");
  await expect(dashboard.byTestId("current-mode")).toHaveText("Traditional (Stateful)");
  await expect(dashboard.logLines).toHaveCount(before);
});

import { expect, test } from "@playwright/test";

import { Dashboard, IDLE_LINE, JWT_LABEL, STATEFUL_LABEL, TITLE } from "./support/dashboard";

test("dashboard renders and hydrates", async ({ page }) => {
  const dashboard = new Dashboard(page);
  const consoleErrors: string[] = [];
  page.on("console", (message) => {
    if (message.type() !== "error") {
      return;
    }
    consoleErrors.push(`${message.text()} (${message.location().url})`);
  });

  await dashboard.open();

  await expect(page).toHaveTitle(TITLE);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(TITLE);

  const requestButton = page.getByRole("button", { name: "Request Page" });
  await expect(requestButton).toBeVisible();
  await expect(requestButton).toHaveAttribute("data-testid", "request-page");

  const modeSwitch = page.getByRole("group", { name: "Authentication mode" });
  const statefulRadio = modeSwitch.getByRole("radio", { name: STATEFUL_LABEL });
  const jwtRadio = modeSwitch.getByRole("radio", { name: JWT_LABEL });
  await expect(statefulRadio).toHaveAttribute("data-testid", "mode-stateful");
  await expect(jwtRadio).toHaveAttribute("data-testid", "mode-jwt");
  await expect(statefulRadio).toBeChecked();
  await expect(jwtRadio).not.toBeChecked();

  const currentMode = dashboard.byTestId("current-mode");
  await expect(currentMode).toHaveText(STATEFUL_LABEL);
  await expect(page.getByText("Current Mode:")).toHaveText(`Current Mode: ${STATEFUL_LABEL}`);

  await expect(dashboard.byTestId("idle-line")).toHaveText(IDLE_LINE);
  await expect(dashboard.logLines).toHaveCount(0);
  await expect(dashboard.byTestId("stream-state")).toHaveText("● live");

  await expect(page.getByText("DB Hits (Total)", { exact: true })).toBeVisible();
  await expect(dashboard.counter("db-hits-total")).toHaveText("0");
  await expect(dashboard.counter("stateful-requests")).toHaveText("0");
  await expect(dashboard.counter("jwt-requests")).toHaveText("0");

  await expect(dashboard.byTestId("name-input")).toHaveValue("John Doe");
  await expect(dashboard.byTestId("next-page")).toHaveText("dashboard");
  await expect(dashboard.byTestId("notice")).toHaveCount(0);
  await expect(dashboard.byTestId("last-page")).toHaveCount(0);

  expect(dashboard.pageErrors, "uncaught errors in the page").toEqual([]);
  expect(consoleErrors, "errors logged to the browser console").toEqual([]);
});

import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";

import { Dashboard } from "./support/dashboard";

// The stylesheet is dark by default and light when the system prefers light, so each scheme
// is checked on its own, after activity has filled the log, the last page and the notice.
for (const colorScheme of ["light", "dark"] as const) {
  test(`axe finds no WCAG AA violations, ${colorScheme}`, async ({ page }) => {
    await page.emulateMedia({ colorScheme });
    const dashboard = new Dashboard(page);
    await dashboard.open();
    await dashboard.signInAndRequestBothModes();
    await dashboard.expectCounters({ dbHits: 1, stateful: 1, jwt: 1 });

    const results = await new AxeBuilder({ page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
      .analyze();
    const violations = results.violations.map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      help: violation.help,
      elements: violation.nodes.map((node) => `${node.target.join(" ")}: ${node.failureSummary ?? ""}`),
    }));
    expect(violations).toEqual([]);
  });
}

import { expect, test } from "@playwright/test";

import { Dashboard, expectPageLine } from "./support/dashboard";

test("two browsers keep separate counters", async ({ browser }) => {
  const aliceContext = await browser.newContext();
  const bobContext = await browser.newContext();
  try {
    const alice = new Dashboard(await aliceContext.newPage());
    const bob = new Dashboard(await bobContext.newPage());
    await alice.open();
    await bob.open();
    await alice.signIn("Alice");
    await bob.signIn("Bob");

    for (let i = 0; i < 2; i++) {
      const line = await alice.requestPage();
      await expectPageLine(line, { status: 200, mode: "stateful", queries: 1 });
      await expect(line).toContainText("to Alice");
    }
    await bob.selectMode("jwt");
    const bobLine = await bob.requestPage();
    await expectPageLine(bobLine, { status: 200, mode: "jwt", queries: 0 });
    await expect(bobLine).toContainText("to Bob");

    await alice.expectCounters({ dbHits: 2, stateful: 2, jwt: 0 });
    await bob.expectCounters({ dbHits: 0, stateful: 0, jwt: 1 });

    // Each live log shows only its own visitor's requests, which are sign-in and page requests.
    await expect(alice.logLines).toHaveCount(3);
    await expect(bob.logLines).toHaveCount(2);
    await expect(alice.byTestId("signed-in-user")).toHaveText("Alice");
    await expect(bob.byTestId("signed-in-user")).toHaveText("Bob");

    // The whole-server total includes Alice's hits. Other tests may have added more.
    expect(await bob.serverDbHits()).toBeGreaterThanOrEqual(2);
  } finally {
    await aliceContext.close();
    await bobContext.close();
  }
});

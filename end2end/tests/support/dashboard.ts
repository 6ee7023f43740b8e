import { expect, type Locator, type Page } from "@playwright/test";

export const TITLE = "Session Journey: DB Load Simulator";
export const IDLE_LINE = "> System Idle. Awaiting request...";
export const STATEFUL_LABEL = "Traditional (Stateful)";
export const JWT_LABEL = "JWT (Stateless)";
export const SELECT_SESSION_SQL = "SELECT data FROM sessions WHERE id = $1 AND expires_at > $2";

export type Mode = "stateful" | "jwt";

/** The panels below the live log, each opened by its tab. */
export type Panel = "comparison" | "claims" | "simulation" | "inspector" | "attacks" | "storage" | "services";

export interface Counters {
  dbHits: number;
  stateful: number;
  jwt: number;
}

/** The dashboard at `/`, driven through its data-testid attributes. */
export class Dashboard {
  readonly logLines: Locator;
  readonly requestButton: Locator;
  /** The Database Activity card, which contains the visitor's and the server's counters. */
  readonly databaseActivity: Locator;
  /** Messages of the uncaught errors the page has thrown since this object was created. */
  readonly pageErrors: string[] = [];

  constructor(readonly page: Page) {
    this.logLines = page.getByTestId("log-line");
    this.requestButton = page.getByTestId("request-page");
    this.databaseActivity = page.getByRole("region", { name: "Database Activity" });
    page.on("pageerror", (error) => this.pageErrors.push(error.message));
  }

  /**
   * Runs `check` and, when it fails, adds the page's uncaught errors to the failure. A bundle
   * that fails to load leaves the server-rendered page in place, so later checks time out,
   * and only the page's own error shows the cause.
   */
  async withPageErrors<T>(check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      if (this.pageErrors.length === 0) {
        throw error;
      }
      const summary = error instanceof Error ? error.message.split("\n")[0] : String(error);
      throw new Error(`${summary}\nuncaught errors in the page: ${this.pageErrors.join(" | ")}`, {
        cause: error,
      });
    }
  }

  byTestId(testId: string): Locator {
    return this.page.getByTestId(testId);
  }

  /**
   * Returns a counter of the Database Activity card. The lookup is scoped to the card because
   * the comparison table's cells reuse the test ids stateful-requests and jwt-requests.
   */
  counter(testId: "db-hits-total" | "stateful-requests" | "jwt-requests" | "server-db-hits"): Locator {
    return this.databaseActivity.getByTestId(testId);
  }

  /**
   * Opens a panel by its tab and returns the tab panel that shows it.
   */
  async openPanel(panel: Panel): Promise<Locator> {
    const tab = this.byTestId(`open-${panel}`);
    await tab.click();
    await expect(tab).toHaveAttribute("aria-selected", "true");
    const content = this.page.getByRole("tabpanel");
    await this.withPageErrors(() => expect(content.getByRole("heading", { level: 2 })).toBeVisible());
    return content;
  }

  /** Returns the log line at the top of the live log, which lists the newest line first. */
  newestLine(): Locator {
    return this.logLines.first();
  }

  /**
   * Loads the dashboard and waits until the live stream is open. The browser opens the
   * stream only after hydration, so an open stream also means the buttons respond.
   */
  async open(): Promise<void> {
    await this.page.goto("/");
    await this.withPageErrors(() =>
      expect(this.byTestId("live-log")).toHaveAttribute("data-stream", "open"),
    );
    // The server sends the visitor's counters as the first event of every stream.
    await expect(this.counter("db-hits-total")).toHaveText(/^\d+$/);
  }

  /**
   * Runs `action`, waits for the one log line the server streams for it, and returns that
   * line. Every helper that sends a request goes through here, so the count of lines is
   * settled before the next action starts.
   */
  async expectNewLogLine(action: () => Promise<void>): Promise<Locator> {
    const before = await this.logLines.count();
    await action();
    await expect(this.logLines).toHaveCount(before + 1);
    return this.newestLine();
  }

  /** Signs in with the name typed into the form, or with the prefilled name. */
  async signIn(name?: string): Promise<Locator> {
    const nameInput = this.byTestId("name-input");
    if (name !== undefined) {
      await nameInput.fill(name);
    }
    const expectedName = name ?? (await nameInput.inputValue());
    const line = await this.expectNewLogLine(() => this.byTestId("sign-in").click());
    await expect(this.byTestId("signed-in-user")).toHaveText(expectedName);
    return line;
  }

  /** Signs in, then requests one page in stateful mode and one in JWT mode. */
  async signInAndRequestBothModes(): Promise<void> {
    await this.signIn();
    await this.requestPage();
    await this.selectMode("jwt");
    await this.requestPage();
  }

  async signOut(): Promise<Locator> {
    const line = await this.expectNewLogLine(() => this.byTestId("sign-out").click());
    await expect(this.byTestId("name-input")).toBeVisible();
    return line;
  }

  async selectMode(mode: Mode): Promise<void> {
    await this.byTestId(`mode-${mode}`).check();
    await expect(this.byTestId("current-mode")).toHaveText(mode === "stateful" ? STATEFUL_LABEL : JWT_LABEL);
  }

  /**
   * Clicks Request Page and returns the log line of that request. The button ignores clicks
   * while a request is in flight, and the log line can arrive before the response does, so
   * this waits for the previous request to finish before clicking.
   */
  async requestPage(): Promise<Locator> {
    await expect(this.requestButton).toHaveAttribute("aria-busy", "false");
    const line = await this.expectNewLogLine(() => this.requestButton.click());
    await expect(this.requestButton).toHaveAttribute("aria-busy", "false");
    return line;
  }

  async reset(): Promise<Locator> {
    return this.expectNewLogLine(() => this.byTestId("reset").click());
  }

  /**
   * Checks the visitor's counters. The request counts are checked first because each request
   * changes one of them, and the server sends all three in one event, so once they match,
   * the DB-hit count shown belongs to the same event.
   */
  async expectCounters(expected: Counters): Promise<void> {
    await expect(this.counter("stateful-requests")).toHaveText(String(expected.stateful));
    await expect(this.counter("jwt-requests")).toHaveText(String(expected.jwt));
    await expect(this.counter("db-hits-total")).toHaveText(String(expected.dbHits));
  }

  /** Reads the whole server's DB hits as shown, once the first counters event has arrived. */
  async serverDbHits(): Promise<number> {
    const serverHits = this.counter("server-db-hits");
    await expect(serverHits).toHaveText(/^\d+$/);
    return Number(await serverHits.textContent());
  }
}

/** Checks the shape of a page request's log line. */
export async function expectPageLine(
  line: Locator,
  expected: { status: number; mode: Mode; queries: number },
): Promise<void> {
  await expect(line).toHaveAttribute("data-status", String(expected.status));
  await expect(line).toHaveAttribute("data-mode", expected.mode);
  await expect(line).toHaveAttribute("data-queries", String(expected.queries));
  await expect(line.getByTestId("log-sql")).toHaveCount(expected.queries);
}

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { defineConfig, devices } from "@playwright/test";

// Runs the release build of the server against a fresh data directory, and drives it with the
// Debian chromium package, because this suite never downloads Playwright's own browsers.
//
// SJ_BIN: server binary, absolute or relative to this folder (default
//   ../target/release/session-journey).
// SJ_PORT: loopback port the server listens on (default 3917). Three more servers listen on the
//   next three ports.

const repoRoot = path.resolve(__dirname, "..");
const serverBinary = path.resolve(__dirname, process.env.SJ_BIN ?? "../target/release/session-journey");
const port = Number(process.env.SJ_PORT ?? "3917");
if (!Number.isInteger(port) || port < 1 || port > 65_535) {
  throw new Error(`SJ_PORT must be a TCP port from 1 to 65535, got ${JSON.stringify(process.env.SJ_PORT)}`);
}
const baseURL = `http://127.0.0.1:${port}`;
// Three more servers on the next ports. The first issues JWTs that expire after
// SHORT_JWT_TTL_SECS, so that refresh.spec.ts can watch the page refresh its token within one
// test. The second signs tokens with EdDSA, for the services, which verify tokens with a public
// key. The third is the workshop room of room.spec.ts, whose presenter switches every
// participant's mode, so no other spec may share it. Specs reach them through
// SJ_SHORT_TTL_URL, SJ_EDDSA_URL and SJ_ROOM_URL, and the room's key through SJ_PRESENTER_KEY.
const shortTtlPort = port + 1;
const eddsaPort = port + 2;
const roomPort = port + 3;
if (roomPort > 65_535) {
  throw new Error(`SJ_PORT must leave the next three ports free, got ${port}`);
}
const SHORT_JWT_TTL_SECS = 12;
process.env.SJ_SHORT_TTL_URL = `http://127.0.0.1:${shortTtlPort}`;
process.env.SJ_EDDSA_URL = `http://127.0.0.1:${eddsaPort}`;
process.env.SJ_ROOM_URL = `http://127.0.0.1:${roomPort}`;
process.env.SJ_PRESENTER_KEY = "playwright-presenter-key-0001";

// Playwright loads this file in the runner and again in every worker. The runner creates the
// directory and hands its path to the workers through the environment, so one run makes one
// directory. global-teardown.ts deletes it after the tests.
// NOTE: a command that runs no tests, such as `playwright test --list`, leaves an empty one.
process.env.SJ_E2E_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "session-journey-e2e-"));
const dataDir = process.env.SJ_E2E_DATA_DIR;

// Every browser of the suite signs in from 127.0.0.1, so the per-address sign-in limit, which
// the Rust tests cover, is turned off to keep the suite's sign-ins from adding up against it.
const NO_ADDRESS_SIGN_IN_LIMIT = "--sign-in-limit-per-address-per-minute 0";

export default defineConfig({
  testDir: "./tests",
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [["list"], ["html", { open: "never" }]],
  globalTeardown: "./global-teardown.ts",
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: "/usr/bin/chromium",
          headless: true,
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
          ],
        },
      },
    },
  ],
  webServer: [
    {
      command: `"${serverBinary}" --addr 127.0.0.1:${port} --data-dir "${dataDir}" ${NO_ADDRESS_SIGN_IN_LIMIT}`,
      // The server reads Leptos.toml and serves target/site relative to its working directory.
      cwd: repoRoot,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
    {
      command:
        `"${serverBinary}" --addr 127.0.0.1:${shortTtlPort} --data-dir "${path.join(dataDir, "short-ttl")}" ${NO_ADDRESS_SIGN_IN_LIMIT}` +
        ` --access-token-ttl-secs ${SHORT_JWT_TTL_SECS}`,
      cwd: repoRoot,
      url: `${process.env.SJ_SHORT_TTL_URL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
    {
      command: `"${serverBinary}" --addr 127.0.0.1:${eddsaPort} --data-dir "${path.join(dataDir, "eddsa")}" --jwt-algorithm eddsa ${NO_ADDRESS_SIGN_IN_LIMIT}`,
      cwd: repoRoot,
      url: `${process.env.SJ_EDDSA_URL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
    {
      command:
        `"${serverBinary}" --addr 127.0.0.1:${roomPort} --data-dir "${path.join(dataDir, "room")}" ${NO_ADDRESS_SIGN_IN_LIMIT}` +
        ` --presenter-key ${process.env.SJ_PRESENTER_KEY}`,
      cwd: repoRoot,
      url: `${process.env.SJ_ROOM_URL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
  ],
});

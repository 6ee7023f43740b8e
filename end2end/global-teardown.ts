import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// Deletes the data directory that playwright.config.ts created for this run. Playwright runs
// this before it stops the web server, which is harmless on Linux: the server keeps its open
// SQLite files until it exits.
export default function globalTeardown(): void {
  const dataDir = process.env.SJ_E2E_DATA_DIR;
  if (!dataDir) {
    return;
  }
  // Delete only a directory named the way the config names them, so that a mistaken value
  // cannot remove anything else.
  const expectedPrefix = path.join(os.tmpdir(), "session-journey-e2e-");
  if (!dataDir.startsWith(expectedPrefix)) {
    console.warn(`not deleting ${dataDir}: it is not a directory this suite created`);
    return;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}

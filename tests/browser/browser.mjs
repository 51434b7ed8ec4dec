// What the browser scripts share: Debian's headless Chromium and a check that fails the run.
import { chromium } from 'playwright-core';

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

// The base URL and screenshot path from the command line, or a usage message.
export function args(script) {
  const [base, screenshot] = process.argv.slice(2);
  if (!base || !screenshot) {
    console.error(`usage: node ${script} BASE_URL SCREENSHOT_PATH`);
    process.exit(2);
  }
  return { base, screenshot };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
  });
}

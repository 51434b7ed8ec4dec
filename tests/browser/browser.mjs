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

// Records every Content-Security-Policy violation of the page's documents in
// window.__cspViolations; `cspViolations(page)` reads them.
export async function watchCsp(page) {
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

export function cspViolations(page) {
  return page.evaluate(() => window.__cspViolations || []);
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

// The demo client's public status page as the public sees it: on a phone, a visitor reads the
// banner and the 90-day bars, subscribes by e-mail and confirms with the link of the mail (read
// from the server's mail directory, MAIL_DIR); the agency owner opens an incident on a desktop,
// and the visitor sees it on the page. axe-core finds no serious or critical accessibility
// violation on the page, in light and dark.
// Usage: MAIL_DIR=… node status.mjs BASE_URL SCREENSHOT_PATH (also …-desktop-dark.png)
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { args, check, launch } from './browser.mjs';

const { base, screenshot } = args('status.mjs');
const mailDir = process.env.MAIL_DIR;
check(mailDir, 'MAIL_DIR is not set');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const browser = await launch();

async function accessible(page, what) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  check(bad.length === 0, `${what}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target).join(' ')}`).join('; ')}`);
}

function confirmationLink() {
  for (const name of readdirSync(mailDir)) {
    const text = readFileSync(join(mailDir, name), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const found = text.match(/\/status\/acme\/subscribe\/confirm\/[A-Za-z0-9._-]+/);
    if (found) return found[0];
  }
  return null;
}

try {
  // The axe script is injected into a page whose policy allows no script at all.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: 'en-GB', bypassCSP: true,
  });
  const visitor = await phone.newPage();
  const errors = [];
  visitor.on('pageerror', (e) => errors.push(e.message));
  await visitor.goto(`${base}/status/acme`);
  check((await visitor.textContent('.banner h2')).includes('All systems operational'), 'no banner');
  check((await visitor.locator('svg.bars rect').count()) === 270, 'not 90 bars for each of 3 components');
  check((await visitor.locator('script').count()) === 0, 'the page has a script');
  await accessible(visitor, 'the status page on a phone');
  await visitor.fill('#subscribe-email', 'visitor@example.com');
  await Promise.all([visitor.waitForNavigation(), visitor.click('.subscribe button[type="submit"]')]);
  check((await visitor.textContent('h2')).includes('check your inbox'), 'no answer to the sign-up');

  let link = null;
  for (let i = 0; i < 100 && !link; i++) {
    link = confirmationLink();
    if (!link) await new Promise((r) => setTimeout(r, 100));
  }
  check(link, 'no confirmation mail was written');
  await visitor.goto(`${base}${link}`);
  await Promise.all([visitor.waitForNavigation(), visitor.click('main button[type="submit"]')]);
  check((await visitor.textContent('h2')).includes('Subscribed'), 'the subscription was not confirmed');

  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  const owner = await desktop.newPage();
  await owner.goto(`${base}/login`);
  await owner.fill('#login-email', 'owner@agency.example');
  await owner.fill('#login-password', 'vitrine-demo-owner');
  await Promise.all([owner.waitForNavigation(), owner.click('button[type="submit"]')]);
  await owner.goto(`${base}/clients/acme/status`);
  await owner.click('#incidents summary');
  await owner.fill('#incident-title_en', 'Payments fail for some customers');
  await owner.fill('#incident-body_en', 'Some card payments fail. We are working with the payment provider.');
  await owner.check('#incidents input[name="component"] >> nth=1');
  await owner.selectOption('#incident-impact', 'major');
  await Promise.all([owner.waitForNavigation(), owner.click('#incidents form button[type="submit"]')]);
  check((await owner.locator('[role="status"]').textContent()).includes('Payments fail'), 'no notice');

  let seen = false;
  for (let i = 0; i < 50 && !seen; i++) {
    await visitor.goto(`${base}/status/acme`);
    seen = (await visitor.content()).includes('Payments fail for some customers');
    if (!seen) await new Promise((r) => setTimeout(r, 200));
  }
  check(seen, 'the visitor does not see the incident');
  check((await visitor.textContent('.banner h2')).includes('partly unavailable'), 'the banner did not change');
  await accessible(visitor, 'the status page with an incident');
  await visitor.screenshot({ path: screenshot, fullPage: true });

  const dark = await browser.newContext({
    viewport: { width: 1280, height: 900 }, colorScheme: 'dark', locale: 'de-DE', bypassCSP: true,
  });
  const reader = await dark.newPage();
  await reader.goto(`${base}/status/acme`);
  check((await reader.textContent('html')).includes('Aktuelle Störungen'), 'not in German');
  await accessible(reader, 'the status page in dark mode');
  await reader.screenshot({ path: screenshot.replace(/\.png$/, '-desktop-dark.png'), fullPage: true });
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
}

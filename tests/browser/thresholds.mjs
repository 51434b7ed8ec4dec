// Opens the thresholds page of the demo client from its home page as the client admin, in a
// phone-sized window and in German: each threshold names its state and explains itself.
// Usage: node thresholds.mjs BASE_URL SCREENSHOT_PATH
import { args, check, cspViolations, launch, watchCsp } from './browser.mjs';

const { base, screenshot } = args('thresholds.mjs');
const browser = await launch();
try {
  const page = await browser.newPage({ locale: 'de-DE', viewport: { width: 390, height: 844 }, isMobile: true });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await watchCsp(page);

  await page.goto(`${base}/login`);
  await page.fill('#login-email', 'admin@acme.example');
  await page.fill('#login-password', 'vitrine-demo-client');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  await Promise.all([page.waitForNavigation(), page.click('a.thresholds-link')]);
  check(new URL(page.url()).pathname === '/clients/acme/thresholds', `the thresholds link led to ${page.url()}`);
  check((await page.textContent('h1')).includes('Schwellenwerte von ACME Shop'), 'the page names the client in German');
  const cards = page.locator('article.threshold');
  check((await cards.count()) >= 4, `${await cards.count()} thresholds on the demo client`);
  const first = cards.first();
  check((await first.locator('dt').first().textContent()).includes('Was das für Sie bedeutet'), 'no explanation heading');
  check(((await first.locator('dd').first().textContent()) || '').length > 40, 'the explanation is empty');
  check(await first.locator('.status').isVisible(), 'the state is not shown');
  // The explanation is beside, not under, nothing: the card fits the phone's width.
  const box = await first.boundingBox();
  check(box && box.width <= 390, `the card is ${JSON.stringify(box)} wide on a phone`);
  check((await page.locator('#new-threshold').count()) === 0, 'a client admin gets the agency form');
  const blocked = await cspViolations(page);
  check(blocked.length === 0, `Content-Security-Policy violations: ${blocked.join('; ')}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  check(errors.length === 0, `JavaScript errors: ${errors.join('; ')}`);
  console.log(`ok: ${await cards.count()} thresholds explained; screenshot ${screenshot}`);
} finally {
  await browser.close();
}

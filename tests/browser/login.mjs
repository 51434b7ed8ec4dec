// Logs in as the demo client admin in headless Chromium, checks the client
// home and that the password island hydrated, and saves a screenshot.
// Usage: node login.mjs BASE_URL SCREENSHOT_PATH
import { args, check, cspViolations, launch, watchCsp } from './browser.mjs';

const { base, screenshot } = args('login.mjs');
const browser = await launch();
try {
  const page = await browser.newPage({ locale: 'en-GB' });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await watchCsp(page);

  const anonymous = await page.goto(`${base}/clients/acme`);
  check(new URL(page.url()).pathname === '/login', `anonymous visit should land on /login, got ${page.url()}`);
  check(anonymous.ok(), `login page answered ${anonymous.status()}`);
  const policy = (await anonymous.allHeaders())['content-security-policy'] || '';
  check(policy.includes("script-src 'self' 'wasm-unsafe-eval' 'nonce-"), `Content-Security-Policy: ${policy}`);
  check((await page.context().cookies()).length === 0, 'an anonymous visitor must get no cookie');

  // The island hydrates: the toggle reveals the typed password.
  await page.fill('#login-email', 'admin@acme.example');
  await page.fill('#login-password', 'vitrine-demo-client');
  // Islands hydrate when the browser is idle; until then the button does nothing.
  await page.waitForLoadState('networkidle');
  let revealed = false;
  for (let attempt = 0; attempt < 20 && !revealed; attempt++) {
    await page.click('.password-toggle');
    revealed = (await page.getAttribute('#login-password', 'type')) === 'text';
    if (!revealed) await page.waitForTimeout(250);
  }
  check(revealed, 'the password island did not hydrate: the toggle does not reveal the password');
  const blocked = await cspViolations(page);
  check(blocked.length === 0, `Content-Security-Policy violations on the login page: ${blocked.join('; ')}`);
  check((await page.inputValue('#login-password')) === 'vitrine-demo-client', 'hydration lost the typed password');

  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  check(new URL(page.url()).pathname === '/clients/acme', `after login expected /clients/acme, got ${page.url()}`);
  const heading = await page.textContent('h1');
  check(heading.trim() === 'ACME Shop', `client home heading was ${heading}`);
  const projects = await page.$$eval('ul.projects > li h3', (els) => els.map((e) => e.textContent));
  check(projects.some((p) => p.includes('Online shop')), `projects listed: ${projects}`);
  const envs = await page.$$eval('li.env', (els) => els.map((e) => e.textContent));
  check(envs.includes('live') && envs.includes('stage'), `environments listed: ${envs}`);
  const cookie = (await page.context().cookies()).find((c) => c.name === 'vitrine_session');
  check(cookie && cookie.httpOnly && cookie.sameSite === 'Lax', `session cookie flags: ${JSON.stringify(cookie)}`);

  const blockedHome = await cspViolations(page);
  check(blockedHome.length === 0, `Content-Security-Policy violations on the client home: ${blockedHome.join('; ')}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  check(errors.length === 0, `JavaScript errors: ${errors.join('; ')}`);
  console.log(`ok: logged in, saw ${projects.length} projects; screenshot ${screenshot}`);
} finally {
  await browser.close();
}

// The demo client admin opens the dashboards from the client home, then "Is my application
// OK?" for the live shop: every panel explains itself and says how the period went; switches
// to the stage environment and to the last 7 days through the address; on a phone in dark mode
// in German the panels stack in one column.
// Usage: node dashboard.mjs BASE_URL SCREENSHOT_PATH (the phone's: …-phone-dark-de.png)
import { args, check, cspViolations, launch, watchCsp } from './browser.mjs';

const { base, screenshot } = args('dashboard.mjs');
const browser = await launch();

async function signIn(page) {
  await page.goto(`${base}/login`);
  await page.fill('#login-email', 'admin@acme.example');
  await page.fill('#login-password', 'vitrine-demo-client');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
}

try {
  const errors = [];
  const page = await browser.newPage({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await watchCsp(page);
  await signIn(page);
  await Promise.all([page.waitForNavigation(), page.click('a.dashboards-link')]);
  check(new URL(page.url()).pathname === '/clients/acme/dashboards', `the link led to ${page.url()}`);
  check((await page.textContent('#project-shop')).includes('live'), 'the landing page lists no live environment');
  await Promise.all([page.waitForNavigation(), page.click('#project-shop a.dashboard-title')]);
  check((await page.textContent('h1')).includes('Is my application OK?'), 'not the default dashboard');
  const panels = page.locator('article.panel');
  check((await panels.count()) >= 7, `${await panels.count()} panels`);
  check(((await page.locator('article.panel.alerts .panel-summary').textContent()) || '').includes('threshold'), 'the alert list says nothing');
  const charted = page.locator('article.panel:not(.alerts)');
  for (let i = 0; i < (await charted.count()); i++) {
    const panel = charted.nth(i);
    const explanation = (await panel.locator('.panel-explanation').textContent()) || '';
    check(explanation.length > 20, `panel ${i} explains nothing`);
    check((await panel.locator('.chart svg').first().isVisible()), `panel ${i} shows no chart`);
    check(((await panel.locator('.panel-summary').textContent()) || '').length > 10, `panel ${i} says nothing about the period`);
  }
  const errorsPanel = panels.filter({ hasText: 'Errors seen by visitors' });
  check((await errorsPanel.locator('.panel-thresholds li').count()) === 1, 'the error rate threshold is not on its panel');
  check((await cspViolations(page)).length === 0, 'Content-Security-Policy violations');
  await page.screenshot({ path: screenshot, fullPage: true });

  await Promise.all([page.waitForNavigation(), page.click('ul.environments a:has-text("stage")')]);
  check(new URL(page.url()).searchParams.get('environment') === 'stage', `not on stage: ${page.url()}`);
  check((await page.locator('ul.environments a[aria-current="page"]').textContent()) === 'stage', 'stage is not marked');
  await Promise.all([page.waitForNavigation(), page.click('ul.ranges a:has-text("Last 7 days")')]);
  const url = new URL(page.url());
  check(url.searchParams.get('range') === '7d' && url.searchParams.get('environment') === 'stage', `the address lost a choice: ${page.url()}`);

  const phone = await browser.newPage({ locale: 'de-DE', colorScheme: 'dark', viewport: { width: 390, height: 844 }, isMobile: true });
  phone.on('pageerror', (e) => errors.push(e.message));
  await signIn(phone);
  await phone.goto(`${base}/clients/acme/dashboards`);
  await Promise.all([phone.waitForNavigation(), phone.click('#project-shop a.dashboard-title')]);
  check((await phone.textContent('h1')).includes('Läuft meine Anwendung?'), 'the dashboard is not in German');
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `the page is ${width}px wide on a phone`);
  const boxes = await phone.locator('article.panel').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
  check(boxes.every((w) => w > 300), `panels are not one column on a phone: ${boxes}`);
  await phone.screenshot({ path: screenshot.replace(/\.png$/, '-phone-dark-de.png'), fullPage: true });
  check(errors.length === 0, `JavaScript errors: ${errors.join('; ')}`);
  console.log(`ok: ${await panels.count()} panels explained; screenshots ${screenshot}`);
} finally {
  await browser.close();
}

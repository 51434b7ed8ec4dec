// Opens the Explore page of the demo client from its home page, runs a query with the form
// (no JavaScript needed), checks that the chart and the table of series are visible, and
// saves a screenshot.
// Usage: node explore.mjs BASE_URL SCREENSHOT_PATH
import { args, check, cspViolations, launch, watchCsp } from './browser.mjs';

const { base, screenshot } = args('explore.mjs');
const browser = await launch();
try {
  const page = await browser.newPage({ locale: 'en-GB', viewport: { width: 1100, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await watchCsp(page);

  await page.goto(`${base}/login`);
  await page.fill('#login-email', 'admin@acme.example');
  await page.fill('#login-password', 'vitrine-demo-client');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  check(new URL(page.url()).pathname === '/clients/acme', `after login expected /clients/acme, got ${page.url()}`);

  await Promise.all([page.waitForNavigation(), page.click('a.explore-link')]);
  check(new URL(page.url()).pathname === '/clients/acme/explore', `the Explore link led to ${page.url()}`);
  check((await page.textContent('h1')).includes('ACME Shop'), 'the Explore page names the client');

  // The demo's targets are scraped every 15 s: run the query until two scrapes of two targets
  // are there, so that the chart has lines, not just dots.
  const query = 'sum by (job) (scrape_samples_scraped)';
  const lines = 'svg.chart polyline:not([stroke="currentColor"])';
  let rows = 0;
  for (let attempt = 0; attempt < 90 && (rows < 2 || (await page.locator(lines).count()) < 2); attempt++) {
    if (attempt > 0) await page.waitForTimeout(1000);
    await page.fill('#explore-q', query);
    await page.selectOption('#explore-range', '5m');
    await page.check('#explore-mode-range');
    await Promise.all([page.waitForNavigation(), page.click('form.explore-form button[type="submit"]')]);
    rows = await page.locator('#explore-series tbody tr').count();
  }
  check(rows >= 2, `the table lists ${rows} series`);
  const url = new URL(page.url());
  check(url.searchParams.get('q') === query && url.searchParams.get('range') === '5m', `the address holds the query: ${page.url()}`);
  check(await page.isVisible('svg.chart'), 'the chart is not visible');
  const chart = await page.locator('svg.chart').boundingBox();
  check(chart && chart.width > 600 && chart.height > 150, `the chart is ${JSON.stringify(chart)}`);
  check(await page.isVisible('#explore-series'), 'the table of series is not visible');
  check((await page.locator(lines).count()) >= 2, 'fewer than two lines in the chart');
  const swatches = await page.locator('#explore-series .swatch').count();
  check(swatches === rows, `${swatches} colour swatches for ${rows} series`);
  check((await page.textContent('#explore-series')).includes('job="shop"'), 'the shop series is not listed');

  // A parse error is marked in the query.
  await page.fill('#explore-q', 'sum(rate(up[5m])');
  await Promise.all([page.waitForNavigation(), page.click('form.explore-form button[type="submit"]')]);
  check(await page.isVisible('pre.query-error mark'), 'the parse error is not marked');

  await page.goBack();
  await page.waitForSelector('svg.chart');
  const blocked = await cspViolations(page);
  check(blocked.length === 0, `Content-Security-Policy violations on Explore (chart, swatches): ${blocked.join('; ')}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  check(errors.length === 0, `JavaScript errors: ${errors.join('; ')}`);
  console.log(`ok: explored ${rows} series; screenshot ${screenshot}`);
} finally {
  await browser.close();
}

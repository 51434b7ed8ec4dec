import { launch } from './browser.mjs';
const base = process.argv[2];
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
const page = await context.newPage();
await page.goto(`${base}/login`);
await page.fill('input[name=email]', 'owner@agency.example');
await page.fill('input[name=password]', 'vitrine-demo-owner');
await page.click('button[type=submit]');
await page.goto(`${base}/clients/acme/status`);
await page.click('text=Open an incident');
await page.fill('#incident-title_en', 'Payments fail for some customers');
await page.fill('#incident-title_de', 'Zahlungen schlagen bei einigen Kunden fehl');
await page.fill('#incident-body_en', 'Some card payments fail. We are working with the payment provider.');
await page.fill('#incident-body_de', 'Einige Kartenzahlungen schlagen fehl. Wir arbeiten mit dem Zahlungsanbieter daran.');
await page.check('text=Checkout');
await page.selectOption('#incident-impact', 'major');
await page.click('text=Open incident >> nth=-1');
await page.screenshot({ path: '/tmp/settings.png', fullPage: true });
const targets = await page.goto(`${base}/clients/acme/projects/shop/environments/live/targets`);
await page.locator('#probes').screenshot({ path: '/tmp/probes.png' });
await new Promise(r => setTimeout(r, 6000));
for (const [name, opts] of [
  ['light', { viewport: { width: 1200, height: 900 }, colorScheme: 'light', locale: 'de-DE' }],
  ['phone', { viewport: { width: 390, height: 844 }, colorScheme: 'dark', locale: 'en-US', deviceScaleFactor: 2 }],
]) {
  const c = await browser.newContext(opts);
  const p = await c.newPage();
  await p.goto(`${base}/status/acme`);
  await p.screenshot({ path: `/tmp/status-${name}.png`, fullPage: true });
  await c.close();
}
await browser.close();

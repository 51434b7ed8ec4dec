// "Who is told" of the demo client: the agency owner adds a Slack channel (its URL is never
// shown again, only its host), then the client admin reads the page on a phone in French in
// dark mode: their people with the mails they get and the channels, without a form.
// Usage: node channels.mjs BASE_URL SCREENSHOT_PATH (the phone's screenshot: …-phone-dark-fr.png)
import { args, check, cspViolations, launch, watchCsp } from './browser.mjs';

const { base, screenshot } = args('channels.mjs');
const browser = await launch();

async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.fill('#login-email', email);
  await page.fill('#login-password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
}

try {
  const errors = [];
  const owner = await browser.newPage({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  owner.on('pageerror', (e) => errors.push(e.message));
  await watchCsp(owner);
  await signIn(owner, 'owner@agency.example', 'vitrine-demo-owner');
  await owner.goto(`${base}/clients/acme`);
  await Promise.all([owner.waitForNavigation(), owner.click('a.channels-link')]);
  check(new URL(owner.url()).pathname === '/clients/acme/channels', `the link led to ${owner.url()}`);
  check((await owner.textContent('h1')).includes('Who is told'), 'no heading');
  check((await owner.textContent('#people')).includes('admin@acme.example'), "the client's people are not listed");
  check((await owner.textContent('#channels')).includes('Shop team'), "the demo's team address is not listed");
  await owner.click('#new-channel summary');
  await owner.selectOption('#channel-kind', 'slack');
  await owner.fill('#channel-name', 'Shop team on Slack');
  await owner.fill('#channel-target', 'https://hooks.slack.com/services/T000/B000/very-secret');
  await Promise.all([owner.waitForNavigation(), owner.click('#new-channel button[type="submit"]')]);
  const listed = await owner.textContent('#channels');
  check(listed.includes('Shop team on Slack') && listed.includes('hooks.slack.com'), `the new channel is not listed: ${listed}`);
  check(!(await owner.content()).includes('very-secret'), "the Slack URL's secret is on the page");
  check((await owner.locator('[role="status"]').textContent()).includes('Shop team on Slack'), 'no notice');
  check((await cspViolations(owner)).length === 0, 'Content-Security-Policy violations');
  await owner.screenshot({ path: screenshot, fullPage: true });

  const phone = await browser.newPage({ locale: 'fr-FR', colorScheme: 'dark', viewport: { width: 390, height: 844 }, isMobile: true });
  phone.on('pageerror', (e) => errors.push(e.message));
  await signIn(phone, 'admin@acme.example', 'vitrine-demo-client');
  await phone.goto(`${base}/clients/acme/channels`);
  check((await phone.textContent('h1')).includes('Qui est prévenu'), 'the page is not in French');
  check((await phone.locator('#new-channel').count()) === 0, 'a client admin gets the agency form');
  check((await phone.textContent('#channels')).includes('hooks.slack.com'), 'the client admin does not see the channel');
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `the page is ${width}px wide on a phone`);
  await phone.screenshot({ path: screenshot.replace(/\.png$/, '-phone-dark-fr.png'), fullPage: true });
  check(errors.length === 0, `JavaScript errors: ${errors.join('; ')}`);
  console.log(`ok: a channel added and read; screenshots ${screenshot}`);
} finally {
  await browser.close();
}

// Browser test of the playground, in Debian's headless Chromium driven by playwright-core.
// Starts nothing but the browser: the server is already running (playground/tests/run.sh starts one).
//
//   BASE_URL       the gateway, e.g. http://127.0.0.1:8080                      (required)
//   SIGNIN_URL     a one-time sign-in link (stack-gateway token --print-link)     (required)
//   SCREENSHOT     where to write the PNG of the page after the findings query  (default: none)
//   SUBSCRIPTIONS  1: also run the JobProgress tab over WebSocket               (default: off)
//   JOB_ID         the job to subscribe to (default: the one the page prefilled)
//   CHROMIUM       the browser binary                                          (default: /usr/bin/chromium)
//   TIMEOUT_MS     how long one step may wait                                  (default: 30000)
//
// Prints one line per check and a closing `browser: N passed, M failed`; exits 1 on any failure.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = required('BASE_URL').replace(/\/$/, '');
const SIGNIN_URL = required('SIGNIN_URL');
const SCREENSHOT = process.env.SCREENSHOT || '';
const SUBSCRIPTIONS = process.env.SUBSCRIPTIONS === '1';
const TIMEOUT = Number(process.env.TIMEOUT_MS || 30000);
const ORIGIN = new URL(BASE_URL).origin;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required (see the top of ${import.meta.url})`);
    process.exit(2);
  }
  return value;
}

const results = [];
async function check(name, body) {
  const started = Date.now();
  try {
    const detail = await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)${detail ? ` — ${detail}` : ''}`);
    return true;
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${error?.stack ?? error}`);
    return false;
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** What an editor shows, as text (Monaco renders spaces as U+00A0). */
async function editorText(locator) {
  const text = await locator.locator('.view-lines').innerText();
  return text.replace(/\u00a0/g, ' ');
}

/** Waits until the response editor shows text matching `pattern`; returns that text. */
async function waitForResult(page, pattern) {
  const pane = page.locator('.result-window');
  const deadline = Date.now() + TIMEOUT;
  let last = '';
  while (Date.now() < deadline) {
    last = await editorText(pane).catch(() => '');
    if (pattern.test(last)) return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`the result pane never matched ${pattern}; it shows:\n${last.slice(0, 800)}`);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'stack-gateway-chromium-'));
const offOrigin = [];
const pageErrors = [];
const cspViolations = [];
let context;

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
    colorScheme: 'light',
  });
  context.setDefaultTimeout(TIMEOUT);
  const page = context.pages()[0] ?? (await context.newPage());

  // Air-gapped: every request the page makes goes to the gateway itself.
  page.on('request', (request) => {
    const url = request.url();
    if (/^(data|blob):/.test(url)) return;
    if (new URL(url).origin !== ORIGIN) offOrigin.push(url);
  });
  page.on('websocket', (ws) => {
    const url = new URL(ws.url());
    if (url.host !== new URL(BASE_URL).host) offOrigin.push(ws.url());
  });
  page.on('pageerror', (error) => pageErrors.push(String(error?.stack ?? error)));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });

  const signedOut = await check('a signed-out visitor sees how to sign in', async () => {
    await page.goto(`${BASE_URL}/`);
    const panel = page.locator('.sg-signin');
    await panel.waitFor();
    const text = await panel.innerText();
    assert(/Hub/.test(text), 'the panel does not mention Hub SSO');
    assert(/stack-gateway token --print-link/.test(text), 'the panel does not show the dev command');
    assert((await page.locator('.graphiql-container').count()) === 0, 'GraphiQL rendered anyway');
  });

  const loaded =
    signedOut &&
    (await check('the sign-in link leads to GraphiQL with the example tabs', async () => {
      await page.goto(SIGNIN_URL);
      await page.waitForURL(`${BASE_URL}/`);
      await page.locator('.graphiql-container').waitFor();
      await page.locator('.graphiql-query-editor .monaco-editor .view-lines').first().waitFor();
      const who = await page.locator('.sg-who').innerText();
      assert(/Dev User/.test(who), `the header does not show the signed-in user: ${who}`);
      const tabs = (await page.locator('.graphiql-tab').allInnerTexts()).map((t) => t.trim());
      for (const name of ['CriticalFindings', 'Jobs', 'JobProgress']) {
        assert(tabs.some((t) => t.includes(name)), `no ${name} tab; tabs: ${tabs.join(', ')}`);
      }
      return `tabs: ${tabs.join(', ')}`;
    }));

  const ran =
    loaded &&
    (await check('the findings query runs and its result is on screen', async () => {
      await page.locator('.graphiql-tab', { hasText: 'CriticalFindings' }).click();
      const query = await editorText(page.locator('.graphiql-query-editor'));
      assert(/query CriticalFindings/.test(query), 'the active tab is not the findings query');
      await page.getByRole('button', { name: /^Execute query/ }).click();
      const shown = await waitForResult(page, /"totalCount":\s*\d+/);
      assert(/"data":\s*\{/.test(shown) && /"findings":\s*\{/.test(shown), `no findings in:\n${shown}`);
      assert(!/"errors"/.test(shown), `the result has errors:\n${shown.slice(0, 800)}`);
      const onScreen = Number(/"totalCount":\s*(\d+)/.exec(shown)[1]);
      // The same count straight from the server, with the same cookie.
      const expected = await page.evaluate(async () => {
        const res = await fetch('/graphql', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query:
              '{ findings(first: 1, filter: { severity: [CRITICAL, HIGH], status: OPEN }) { totalCount } }',
          }),
        });
        return (await res.json()).data.findings.totalCount;
      });
      assert(onScreen === expected, `totalCount on screen ${onScreen}, server says ${expected}`);
      assert(expected > 0, 'the demo data has no open critical or high findings');
      if (SCREENSHOT) {
        mkdirSync(dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT });
      }
      return `totalCount ${onScreen}${SCREENSHOT ? `, screenshot ${SCREENSHOT}` : ''}`;
    }));

  ran &&
    (await check('history lists the operation that ran', async () => {
      await page.getByRole('button', { name: 'Show History' }).click();
      const item = page.locator('.graphiql-history-item', { hasText: 'CriticalFindings' });
      await item.first().waitFor();
      await page.getByRole('button', { name: 'Hide History' }).click();
    }));

  loaded &&
    (await check('the schema explorer shows the root types', async () => {
      await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
      const docs = page.locator('.graphiql-doc-explorer');
      await docs.getByText('Root Types').waitFor();
      await docs.locator('a', { hasText: /^Query$/ }).first().click();
      await docs.getByText('findings', { exact: true }).first().waitFor();
      await page.getByRole('button', { name: 'Hide Documentation Explorer' }).click();
    }));

  if (SUBSCRIPTIONS && loaded) {
    await check('the job-progress subscription streams over WebSocket', async () => {
      await page.locator('.graphiql-tab', { hasText: 'JobProgress' }).click();
      await page.locator('.graphiql-query-editor').getByText('subscription JobProgress').waitFor();
      if (process.env.JOB_ID) {
        const variables = page.locator('.graphiql-editor-tool .monaco-editor').first();
        await variables.click();
        await page.keyboard.press('ControlOrMeta+A');
        await page.keyboard.insertText(JSON.stringify({ jobId: process.env.JOB_ID }));
      }
      const sockets = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      await page.getByRole('button', { name: /^Execute query/ }).click();
      // An event, an error from the server, a closed socket, or GraphiQL's own complaint (e.g. a
      // schema without the subscription): whichever comes first is what the pane shows.
      const settled = await waitForResult(page, /"jobProgress"|"errors"|"message"|Socket closed/);
      assert(/"jobProgress":\s*\{/.test(settled), `no jobProgress event; the result pane shows:\n${settled.slice(0, 800)}`);
      assert(sockets.some((u) => /\/graphql\/ws$/.test(u)), `no socket to /graphql/ws (sockets: ${sockets.join(', ') || 'none'})`);
      await page.getByRole('button', { name: /^Stop query/ }).click().catch(() => {});
      if (SCREENSHOT) {
        await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-subscription.png') });
      }
    });
  }

  await check('nothing left the gateway, no uncaught errors, no CSP violations', async () => {
    assert(offOrigin.length === 0, `requests to other origins:\n${offOrigin.join('\n')}`);
    assert(pageErrors.length === 0, `uncaught errors:\n${pageErrors.join('\n')}`);
    assert(cspViolations.length === 0, `CSP violations:\n${cspViolations.join('\n')}`);
  });
} catch (error) {
  results.push({ name: 'browser', ok: false });
  console.log(`FAIL browser: ${error?.stack ?? error}`);
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

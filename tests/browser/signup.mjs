#!/usr/bin/env node
// Headless-Chromium check of carafe's bundled signup page.
//
// Usage:
//   node tests/browser/signup.mjs --url https://localhost:PORT/signup \
//       --spki <base64 sha256 of the cert's SubjectPublicKeyInfo> \
//       --screenshot <path.png>
//
// The server's self-signed certificate is trusted only through Chromium's
// --ignore-certificate-errors-spki-list pin (never ignoreHTTPSErrors), so a
// wrong pin or a changed key makes navigation fail and this script exit 1.
//
// Chromium comes from /usr/bin/chromium (override with env CHROMIUM).
// Prints one JSON line with every observed value to stdout; exits 0 only if
// every check passed, otherwise names the failed checks on stderr and exits 1.

import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

// Matches `body { background: #f6f4ef; }` in static/css/site.css.
const EXPECTED_BODY_BACKGROUND = 'rgb(246, 244, 239)';
const FIELDS = ['name', 'email', 'password', 'confirm'];

const TOTAL_BUDGET_MS = 55_000; // whole script stays under 60 s
const LAUNCH_TIMEOUT_MS = 20_000;
const NAV_TIMEOUT_MS = 15_000;
const ACTION_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 5_000;

function usage(message) {
  if (message) process.stderr.write(`signup.mjs: ${message}\n`);
  process.stderr.write(
    'usage: node tests/browser/signup.mjs --url https://localhost:PORT/signup ' +
      '--spki <base64 sha256 of SPKI> --screenshot <path.png>\n',
  );
  process.exit(2);
}

let opts;
try {
  opts = parseArgs({
    options: {
      url: { type: 'string' },
      spki: { type: 'string' },
      screenshot: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (err) {
  usage(err.message);
}
if (opts.help) usage();
if (!opts.url) usage('missing --url');
if (!opts.spki) usage('missing --spki');
if (!opts.screenshot) usage('missing --screenshot');
if (!/^https:\/\//.test(opts.url)) usage(`--url must be an https:// URL, got ${opts.url}`);
if (!/^[A-Za-z0-9+/]{43}=$/.test(opts.spki)) {
  usage('--spki must be the base64 of a 32-byte SHA-256 digest (44 characters ending in "=")');
}

const shotPath = path.resolve(opts.screenshot);
const errorsShotPath = shotPath.endsWith('.png')
  ? `${shotPath.slice(0, -'.png'.length)}-errors.png`
  : `${shotPath}-errors.png`;
mkdirSync(path.dirname(shotPath), { recursive: true });

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const chromeArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--ignore-certificate-errors-spki-list=${opts.spki}`,
];

let browser = null;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function closeBrowser() {
  if (!browser) return;
  const b = browser;
  browser = null;
  await withTimeout(b.close(), CLOSE_TIMEOUT_MS, 'closing Chromium').catch(() => {});
}

// Hard stop for the whole run, whatever is hanging.
const watchdog = setTimeout(() => {
  process.stderr.write(`signup.mjs: FAIL: whole run exceeded ${TOTAL_BUDGET_MS} ms, aborting\n`);
  closeBrowser().finally(() => process.exit(1));
  setTimeout(() => process.exit(1), CLOSE_TIMEOUT_MS).unref();
}, TOTAL_BUDGET_MS);

function firstLine(message) {
  // Playwright errors carry a multi-line call log with ANSI colours.
  return String(message).split('\n')[0].replace(/\u001b\[[0-9;]*m/g, '');
}

// Reads every field's error text and invalid state.
async function readErrors(page) {
  return page.evaluate((fields) => {
    const out = {};
    for (const id of fields) {
      const err = document.getElementById(`${id}-error`);
      const input = document.getElementById(id);
      out[id] = err ? err.textContent.trim() : null;
      out[`${id}Invalid`] = input ? input.classList.contains('invalid') : null;
    }
    return out;
  }, FIELDS);
}

async function interact(page, observed, check) {
  // Screenshot before any interaction.
  await page.screenshot({ path: shotPath, fullPage: true, timeout: ACTION_TIMEOUT_MS });
  observed.screenshots.push(shotPath);

  observed.bodyBackground = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(
    observed.bodyBackground !== 'rgba(0, 0, 0, 0)',
    'stylesheet: body background-color is transparent (site.css not applied?)',
  );
  check(
    observed.bodyBackground === EXPECTED_BODY_BACKGROUND,
    `stylesheet: body background-color expected ${EXPECTED_BODY_BACKGROUND}, got ${observed.bodyBackground}`,
  );

  observed.js = await page.evaluate(() => document.documentElement.dataset.js ?? null);
  check(observed.js === 'ready', `js: expected html[data-js="ready"] (signup.js ran), got ${JSON.stringify(observed.js)}`);

  // Round 1: submit the empty form.
  if (!(await page.$('#submit'))) throw new Error('no #submit button on the page');
  await page.click('#submit');
  await page
    .waitForFunction(
      () => (document.getElementById('name-error')?.textContent ?? '').trim() !== '',
      null,
      { timeout: ACTION_TIMEOUT_MS },
    )
    .catch(() => {});
  const empty = await readErrors(page);
  observed.errors.empty = empty;
  for (const id of FIELDS) {
    check(!!empty[id], `empty form: #${id}-error should have text, got ${JSON.stringify(empty[id])}`);
  }
  check(empty.nameInvalid === true, 'empty form: #name should have class "invalid"');

  // Round 2: bad email, mismatched confirmation.
  await page.fill('#name', 'Ada');
  await page.fill('#email', 'not-an-email');
  await page.fill('#password', 'longenough1');
  await page.fill('#confirm', 'different1');
  await page.click('#submit');
  await page
    .waitForFunction(
      () => /valid email/i.test(document.getElementById('email-error')?.textContent ?? ''),
      null,
      { timeout: ACTION_TIMEOUT_MS },
    )
    .catch(() => {});
  const filled = await readErrors(page);
  observed.errors.filled = filled;
  check(
    /valid email/i.test(filled.email ?? ''),
    `filled form: #email-error should mention "valid email", got ${JSON.stringify(filled.email)}`,
  );
  check(
    /do not match/i.test(filled.confirm ?? ''),
    `filled form: #confirm-error should mention "do not match", got ${JSON.stringify(filled.confirm)}`,
  );
  check(filled.name === '', `filled form: #name-error should be empty, got ${JSON.stringify(filled.name)}`);

  await page.screenshot({ path: errorsShotPath, fullPage: true, timeout: ACTION_TIMEOUT_MS });
  observed.screenshots.push(errorsShotPath);
}

async function main() {
  const observed = {
    url: opts.url,
    status: null,
    bodyBackground: null,
    js: null,
    errors: { empty: null, filled: null },
    screenshots: [],
    failedRequests: [],
    pageErrors: [],
  };
  const failures = [];
  const check = (ok, message) => {
    if (!ok) failures.push(message);
  };

  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: chromeArgs,
      timeout: LAUNCH_TIMEOUT_MS,
    });
  } catch (err) {
    throw new Error(`could not launch Chromium from ${executablePath}: ${firstLine(err.message)}`);
  }

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(NAV_TIMEOUT_MS);
  page.on('requestfailed', (req) => {
    observed.failedRequests.push(`${req.url()}: ${req.failure()?.errorText ?? 'failed'}`);
  });
  page.on('pageerror', (err) => observed.pageErrors.push(String(err.message || err)));

  let response;
  try {
    response = await page.goto(opts.url, { waitUntil: 'load', timeout: NAV_TIMEOUT_MS });
  } catch (err) {
    const first = firstLine(err.message);
    const hint = /ERR_CERT|SSL|certificate/i.test(first)
      ? ' (certificate not accepted: is --spki the SHA-256 of this server\'s SubjectPublicKeyInfo?)'
      : '';
    throw new Error(`navigation to ${opts.url} failed: ${first}${hint}`);
  }
  if (!response) throw new Error(`navigation to ${opts.url} returned no response`);

  observed.status = response.status();
  check(observed.status === 200, `status: expected 200, got ${observed.status}`);

  try {
    await interact(page, observed, check);
  } catch (err) {
    failures.push(`interaction stopped early: ${firstLine(err.message)}`);
  }

  observed.ok = failures.length === 0;
  process.stdout.write(`${JSON.stringify(observed)}\n`);
  for (const f of failures) process.stderr.write(`signup.mjs: FAIL: ${f}\n`);
  return failures.length === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`signup.mjs: FAIL: ${err.message}\n`);
  code = 1;
} finally {
  await closeBrowser();
  clearTimeout(watchdog);
}
process.exit(code);

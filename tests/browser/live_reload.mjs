#!/usr/bin/env node
// Headless-Chromium check of carafe's development-mode live reload.
//
// Usage:
//   node tests/browser/live_reload.mjs --url https://localhost:PORT/live \
//       --spki <base64 sha256 of the cert's SubjectPublicKeyInfo> \
//       --file <path of the template that renders --url> [--screenshot <path.png>]
//
// Opens the page (which must show <p id="marker">before</p>), then, with no action in the
// browser, edits the template on disk three times and polls the DOM (bounded) each time:
//   1. new text          -> the page shows "after"
//   2. a template error  -> the page shows carafe's development error page
//   3. the error fixed   -> the page shows "fixed" by itself
// The certificate is trusted only through Chromium's SPKI pin, as in signup.mjs.
// Prints one JSON line of observations; exits 0 only if every step passed.

import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const TOTAL_BUDGET_MS = 55_000;
const STEP_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

const opts = parseArgs({
  options: {
    url: { type: 'string' },
    spki: { type: 'string' },
    file: { type: 'string' },
    screenshot: { type: 'string' },
  },
  strict: true,
}).values;
for (const key of ['url', 'spki', 'file']) {
  if (!opts[key]) {
    process.stderr.write(`live_reload.mjs: missing --${key}\n`);
    process.exit(2);
  }
}

const watchdog = setTimeout(() => {
  process.stderr.write(`live_reload.mjs: FAIL: whole run exceeded ${TOTAL_BUDGET_MS} ms\n`);
  process.exit(1);
}, TOTAL_BUDGET_MS);

const page_ = (body) => `<!doctype html>\n<html><head><title>live</title></head><body>\n${body}\n</body></html>\n`;

// Polls the page text until `want` matches or the step times out; survives reloads.
async function waitForText(page, want) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let last = null;
  while (Date.now() < deadline) {
    try {
      last = await page.evaluate(() => document.body ? document.body.innerText : '');
      if (want.test(last)) return { ok: true, text: last, ms: STEP_TIMEOUT_MS - (deadline - Date.now()) };
    } catch {
      // The page is navigating (reloading): try again.
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { ok: false, text: last };
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      `--ignore-certificate-errors-spki-list=${opts.spki}`,
    ],
    timeout: 20_000,
  });
  const observed = { steps: {} };
  let ok = true;
  try {
    const page = await browser.newPage();
    let loads = 0;
    page.on('load', () => { loads += 1; });
    const resp = await page.goto(opts.url, { waitUntil: 'load', timeout: 15_000 });
    observed.status = resp ? resp.status() : null;
    const steps = [
      ['initial', null, /before/],
      ['edited', page_('<p id="marker">after</p>'), /after/],
      ['broken', page_('<p>{{ user.nmae }}</p>'), /Template error[\s\S]*user\.nmae/],
      ['fixed', page_('<p id="marker">fixed</p>'), /fixed/],
    ];
    for (const [name, contents, want] of steps) {
      if (contents !== null) writeFileSync(opts.file, contents);
      const result = await waitForText(page, want);
      observed.steps[name] = { ok: result.ok, ms: result.ms, text: (result.text || '').slice(0, 200) };
      if (!result.ok) {
        ok = false;
        process.stderr.write(`live_reload.mjs: FAIL: step ${name}: page never matched ${want}\n`);
        break;
      }
      if (name === 'broken' && opts.screenshot) {
        await page.screenshot({ path: opts.screenshot, fullPage: true }).catch(() => {});
      }
    }
    observed.loads = loads;
  } finally {
    await browser.close().catch(() => {});
  }
  process.stdout.write(JSON.stringify(observed) + '\n');
  clearTimeout(watchdog);
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`live_reload.mjs: FAIL: ${String(err.message || err).split('\n')[0]}\n`);
  process.exit(1);
});

// Loads a page in Debian's headless chromium and reports what a person's browser would have
// shown in its console, for it_docs.c. Drives chromium over the DevTools protocol on
// --remote-debugging-pipe (fds 3 and 4, NUL-delimited JSON): no npm package, no port.
//
//   node docs_browser.mjs URL ORIGIN WANT [SCREENSHOT.png]
//
// Waits (up to 30 s) until the page's text holds WANT and the network has been quiet for a
// second, opens the operation that holds WANT, then prints one JSON object: {found, opened
// (the operation opened and shows its answers), text, requests: [url], foreign: [url],
// errors: [message], csp: [message], failed: [url reason]}. foreign: requests whose URL is not
// of ORIGIN (data: URIs aside); errors: console errors, uncaught exceptions and error log
// entries (a blocked request is one); csp: the Content-Security-Policy violations among them.
// Exit code 0 when it could drive the browser, 2 when it could not (chromium missing, ...).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [url, origin, want, screenshot] = process.argv.slice(2);
if (!url || !origin || !want) {
  console.error('usage: node docs_browser.mjs URL ORIGIN WANT [SCREENSHOT.png]');
  process.exit(2);
}
const profile = fs.mkdtempSync(path.join(process.env.RUNOS_TEST_TMPDIR || os.tmpdir(), 'chromium-'));
const chromium = process.env.RUNOS_TEST_CHROMIUM || 'chromium';
const browser = spawn(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
  '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--window-size=1280,900',
  `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
let stderr = '';
browser.stderr.on('data', (d) => { stderr += d; });

// chromium leads a process group of its own (detached): its helpers (zygote, renderers) are
// stopped with it, whatever Browser.close left.
function stopBrowser() {
  try { process.kill(-browser.pid, 'SIGKILL'); } catch { /* gone */ }
}

function giveUp(why) {
  console.error(`docs_browser.mjs: ${why}`);
  if (stderr) console.error(stderr.split('\n').slice(-15).join('\n'));
  stopBrowser();
  fs.rmSync(profile, { recursive: true, force: true });
  process.exit(2);
}
browser.on('error', (e) => giveUp(`cannot start ${chromium}: ${e.message}`));
browser.on('exit', (code, sig) => { if (!done) giveUp(`chromium ended early (${code ?? sig})`); });
const deadline = setTimeout(() => giveUp('no answer from chromium within 60 s'), 60000);

// ---- the protocol: commands by id, events to listeners ----
const toBrowser = browser.stdio[3], fromBrowser = browser.stdio[4];
let nextId = 1, pending = new Map(), buffered = '', done = false;
const listeners = [];
fromBrowser.on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  let end;
  while ((end = buffered.indexOf('\0')) >= 0) {
    const msg = JSON.parse(buffered.slice(0, end));
    buffered = buffered.slice(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.code})`)); else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

const report = { found: false, opened: false, text: '', requests: [], foreign: [], errors: [], csp: [], failed: [] };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let lastNetwork = Date.now(), inFlight = 0;

function record(msg) {
  const p = msg.params;
  switch (msg.method) {
    case 'Network.requestWillBeSent': {
      lastNetwork = Date.now();
      inFlight++;
      const u = p.request.url;
      report.requests.push(u);
      if (!u.startsWith(origin + '/') && !u.startsWith('data:')) report.foreign.push(u);
      break;
    }
    case 'Network.loadingFinished':
      lastNetwork = Date.now();
      inFlight = Math.max(0, inFlight - 1);
      break;
    case 'Network.loadingFailed':
      lastNetwork = Date.now();
      inFlight = Math.max(0, inFlight - 1);
      report.failed.push(`${p.requestId} ${p.errorText}${p.blockedReason ? ` (blocked: ${p.blockedReason})` : ''}`);
      if (p.blockedReason === 'csp') report.csp.push(`request blocked by CSP: ${p.errorText}`);
      break;
    case 'Runtime.consoleAPICalled':
      if (p.type === 'error' || p.type === 'assert')
        report.errors.push(`console.${p.type}: ${p.args.map((a) => a.value ?? a.description ?? '').join(' ')}`);
      break;
    case 'Runtime.exceptionThrown':
      report.errors.push(`uncaught: ${p.exceptionDetails.exception?.description ?? p.exceptionDetails.text}`);
      break;
    case 'Log.entryAdded':
      if (p.entry.level === 'error') {
        const line = `${p.entry.source}: ${p.entry.text}${p.entry.url ? ` (${p.entry.url})` : ''}`;
        report.errors.push(line);
        if (/Content Security Policy/i.test(p.entry.text)) report.csp.push(line);
      }
      break;
    case 'Audits.issueAdded':
      if (p.issue.code === 'ContentSecurityPolicyIssue')
        report.csp.push(`CSP issue: ${JSON.stringify(p.issue.details.contentSecurityPolicyIssueDetails ?? {})}`);
      break;
  }
}

try {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  listeners.push((msg) => { if (msg.sessionId === sessionId) record(msg); });
  for (const domain of ['Runtime', 'Log', 'Network', 'Page', 'Audits'])
    await send(`${domain}.enable`, {}, sessionId);
  await send('Emulation.setDeviceMetricsOverride',
    { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
  await send('Page.navigate', { url }, sessionId);
  const until = Date.now() + 30000;
  while (Date.now() < until) {
    await sleep(250);
    const { result } = await send('Runtime.evaluate',
      { expression: 'document.body ? document.body.innerText : ""', returnByValue: true }, sessionId);
    report.text = result.value || '';
    report.found = report.text.includes(want);
    if (report.found && inFlight === 0 && Date.now() - lastNetwork > 1000) break;
  }
  if (report.found) {
    // Open the operation that holds WANT, as a reader would: its parameters, request body and
    // answers render (syntax-highlighted examples, schemas) under the same policy.
    const { result } = await send('Runtime.evaluate', {
      expression: `(() => {
        const want = ${JSON.stringify(want)};
        const op = [...document.querySelectorAll('.opblock-summary')]
          .find((e) => e.innerText.includes(want));
        const button = op && op.querySelector('button.opblock-summary-control');
        if (!button) return false;
        button.click();
        window.scrollTo(0, op.getBoundingClientRect().top + window.scrollY - 150);
        return true;
      })()`, returnByValue: true }, sessionId);
    report.opened = result.value === true;
    const quiet = Date.now() + 10000;
    await sleep(500);
    while (Date.now() < quiet && (inFlight > 0 || Date.now() - lastNetwork < 1000)) await sleep(250);
    const after = await send('Runtime.evaluate', {
      expression: 'document.querySelectorAll(".opblock.is-open .responses-table").length', returnByValue: true,
    }, sessionId);
    report.opened = report.opened && after.result.value > 0;
  }
  if (screenshot) {
    const { data } = await send('Page.captureScreenshot', { format: 'png' }, sessionId);
    fs.writeFileSync(screenshot, Buffer.from(data, 'base64'));
  }
  report.text = report.text.slice(0, 200000);
  done = true;
  clearTimeout(deadline);
  const ended = new Promise((r) => browser.once('exit', r));
  await send('Browser.close').catch(() => {});
  await Promise.race([ended, sleep(5000)]);
  stopBrowser();
} catch (e) {
  giveUp(`protocol: ${e.message}`);
}
fs.rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
console.log(JSON.stringify(report));
process.exit(0);

// Drives headless Chromium (Debian's /usr/bin/chromium, through playwright-core) to publish its
// fake camera over WHIP with publish.html. Usage:
//   node publish.js '{"endpoint": "http://127.0.0.1:PORT/api/v1/whip/cameras/NAME", "token": "…", "seconds": 4}'
// Prints the page's result (statuses, getStats counts) as one JSON line on stdout.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require(path.join(process.env.IFC_NODE_MODULES, 'playwright-core'));

async function main() {
  const params = JSON.parse(process.argv[2]);
  const page_html = fs.readFileSync(path.join(__dirname, 'publish.html'));
  // The page's own origin (another port than ifc serve's): http://127.0.0.1 is a secure context.
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(page_html);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({
    executablePath: process.env.IFC_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      // Host candidates on 127.0.0.1 (Chromium leaves loopback out by default).
      '--allow-loopback-in-peer-connection'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => process.stderr.write('page: ' + m.text() + '\n'));
    await page.goto('http://127.0.0.1:' + server.address().port + '/');
    const result = await page.evaluate((p) => publish(p), params);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });

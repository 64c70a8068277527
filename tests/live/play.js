// Drives headless Chromium (Debian's /usr/bin/chromium, through playwright-core) to watch a
// camera on `ifc serve`'s player page. Usage:
//   node play.js '{"url": "http://127.0.0.1:PORT/player?camera=ID&mode=ws#token=…", "seconds": 8, "hls_js": false}'
// With "hls_js": true, hls.js (from IFC_NODE_MODULES) is loaded into the page before its own
// script, so the player takes its LL-HLS path. Prints one JSON line: the video element's
// state every half second and the player's own account (mode, errors, overlays drawn).
'use strict';
const path = require('path');
const { chromium } = require(path.join(process.env.IFC_NODE_MODULES, 'playwright-core'));

async function main() {
  const params = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({
    executablePath: process.env.IFC_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required',
      // Host candidates on 127.0.0.1 (Chromium leaves loopback out by default): WHEP.
      '--allow-loopback-in-peer-connection'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => process.stderr.write('page: ' + m.text() + '\n'));
    page.on('pageerror', (e) => process.stderr.write('page error: ' + e.message + '\n'));
    if (params.hls_js) {
      await page.addInitScript({ path: path.join(process.env.IFC_NODE_MODULES, 'hls.js/dist/hls.min.js') });
    }
    await page.goto(params.url);
    const samples = [];
    for (let i = 0; i < params.seconds * 2; i++) {
      await page.waitForTimeout(500);
      samples.push(await page.evaluate(() => {
        const v = document.getElementById('video');
        const p = window.ifcPlayer;
        const b = v.buffered;
        let hls = null;
        if (p.hls) {
          const details = p.hls.latestLevelDetails || (p.hls.levels[0] && p.hls.levels[0].details);
          hls = { low_latency: p.hls.lowLatencyMode, latency_s: p.hls.latency,
            parts: details && details.partList ? details.partList.length : 0,
            can_block_reload: details ? details.canBlockReload : null };
        }
        return {
          current_time_s: v.currentTime,
          total_video_frames: v.getVideoPlaybackQuality().totalVideoFrames,
          buffered_end_s: b.length ? b.end(b.length - 1) : null,
          media_error: v.error ? v.error.code + ' ' + v.error.message : null,
          mode: p.mode, player_error: p.error, whep_refused: p.whepRefused || null, inits: p.inits, parts: p.parts,
          overlays: p.overlays.length, drawn: p.drawn, last_drawn: p.lastDrawn || null, hls,
        };
      }));
    }
    process.stdout.write(JSON.stringify({ samples }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });

// Glass-to-glass latency and overlay alignment of `ifc serve`'s live view, in headless Chromium.
// One page publishes a canvas over WHIP: each picture carries the wall clock (ms, 24 bits) as a
// row of black and white blocks. Viewer pages (the player page, one per protocol) read the
// blocks back from every picture they present: latency = now - the clock in the picture. Over
// WebRTC and the WebSocket, each overlay the player matched to a picture is checked against the
// picture's own clock (pts and clock map one to one, up to a constant the frames give).
// Usage: node latency.js '{"server": "http://127.0.0.1:PORT", "camera": "NAME", "camera_id": "ID",
//   "token": "…", "modes": ["whep", "whep-sync", "ws", "hls"], "seconds": 10}'
// Prints one JSON line: per mode, latency percentiles (ms), frames read, overlay alignment.
'use strict';
const path = require('path');
const { chromium } = require(path.join(process.env.IFC_NODE_MODULES, 'playwright-core'));

const BITS = 24;
const COLS = 12;
const SIZE = 40;
const GAP = 8;

// The publisher: a 640x360 canvas redrawn every 10 ms with the clock in blocks.
const PUBLISHER = `<!doctype html><meta charset="utf-8"><canvas id="c" width="640" height="360"></canvas>
<script>
const BITS = ${BITS}, COLS = ${COLS}, SIZE = ${SIZE}, GAP = ${GAP};
const g = document.getElementById('c').getContext('2d');
function draw() {
  const ms = Date.now() % (1 << BITS);
  g.fillStyle = '#808080'; g.fillRect(0, 0, 640, 360);
  for (let i = 0; i < BITS; i++) {
    g.fillStyle = (ms >> i) & 1 ? '#ffffff' : '#000000';
    g.fillRect(20 + (i % COLS) * (SIZE + GAP), 20 + Math.floor(i / COLS) * (SIZE + GAP), SIZE, SIZE);
  }
}
setInterval(draw, 10);
async function publish(endpoint, token) {
  const stream = document.getElementById('c').captureStream(25);
  const pc = new RTCPeerConnection();
  const t = pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly' });
  const codecs = RTCRtpSender.getCapabilities('video').codecs;
  const h264 = codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || ''));
  t.setCodecPreferences([...h264, ...codecs.filter((c) => !h264.includes(c))]);
  const p = t.sender.getParameters(); p.degradationPreference = 'maintain-resolution'; await t.sender.setParameters(p);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); });
  const res = await fetch(endpoint, { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHIP ' + res.status + ' ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.pc = pc;
}
</script>`;

// Injected into a viewer: reads the clock from every presented picture.
function reader(params) {
  const { BITS, COLS, SIZE, GAP } = params;
  const video = document.getElementById('video');
  const canvas = document.createElement('canvas');
  const g = canvas.getContext('2d', { willReadFrequently: true });
  window.readings = [];
  const onFrame = (now, meta) => {
    const w = video.videoWidth, h = video.videoHeight;
    if (w && h) {
      canvas.width = w; canvas.height = h;
      g.drawImage(video, 0, 0, w, h);
      const sx = w / 640, sy = h / 360;
      let ms = 0;
      for (let i = 0; i < BITS; i++) {
        const x = (20 + (i % COLS) * (SIZE + GAP) + SIZE / 2) * sx, y = (20 + Math.floor(i / COLS) * (SIZE + GAP) + SIZE / 2) * sy;
        const d = g.getImageData(Math.round(x), Math.round(y), 1, 1).data;
        if (d[0] + d[1] + d[2] > 3 * 128) ms |= 1 << i;
      }
      const shown = (Date.now() % (1 << BITS));
      let latency = shown - ms;
      if (latency < -(1 << (BITS - 1))) latency += 1 << BITS;
      const p = window.ifcPlayer;
      const t = p.mode === 'whep' ? (meta.rtpTimestamp == null ? null : meta.rtpTimestamp / 90000) : meta.mediaTime;
      // The overlay the player matched to this very picture, if any (set by its own callback).
      const o = p.lastDrawn && p.lastDrawn.exact && Math.abs(p.lastDrawn.media_time - t) < 1e-6 ? p.lastDrawn.pts_90k : null;
      window.readings.push({ clock_ms: ms, latency_ms: latency, t, overlay_pts_90k: o });
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
}

function summarise(readings) {
  // A picture read wrongly (a block blurred across the threshold) gives a wild clock: keep the
  // readings within 10 s, and count the others.
  const good = readings.filter((r) => r.latency_ms > -50 && r.latency_ms < 10000 && r.t != null);
  const latencies = good.map((r) => r.latency_ms).sort((a, b) => a - b);
  // Clock and pts: clock_ms - t * 1000 is one constant (both are capture times); its median.
  const offsets = good.map((r) => r.clock_ms - r.t * 1000).sort((a, b) => a - b);
  const offset = percentile(offsets, 0.5);
  const overlays = good.filter((r) => r.overlay_pts_90k != null);
  const misaligned = overlays.filter((r) => Math.abs(r.overlay_pts_90k / 90 + offset - r.clock_ms) > 40);
  return {
    frames: readings.length, unreadable: readings.length - good.length,
    latency_ms: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), max: latencies[latencies.length - 1] },
    overlays_on_frames: overlays.length, overlays_misaligned: misaligned.length,
    misaligned_examples: misaligned.slice(0, 3),
  };
}

async function main() {
  const params = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({
    executablePath: process.env.IFC_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
  });
  const out = {};
  try {
    const publisher = await browser.newPage();
    publisher.on('console', (m) => process.stderr.write('publisher: ' + m.text() + '\n'));
    await publisher.route(params.server + '/__publisher', (route) => route.fulfill({ contentType: 'text/html', body: PUBLISHER }));
    await publisher.goto(params.server + '/__publisher');
    await publisher.evaluate(([e, t]) => publish(e, t), [params.server + '/api/v1/whip/cameras/' + params.camera, params.token]);
    for (const mode of params.modes) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => process.stderr.write(mode + ' page error: ' + e.message + '\n'));
      if (mode === 'hls') await page.addInitScript({ path: path.join(process.env.IFC_NODE_MODULES, 'hls.js/dist/hls.min.js') });
      // "whep-sync": WebRTC with the picture held back for its verdict (the player's sync=1).
      const query = mode === 'whep-sync' ? 'mode=whep&sync=1' : 'mode=' + mode;
      await page.goto(params.server + '/player?camera=' + params.camera_id + '&' + query + '#token=' + params.token);
      await page.waitForFunction(() => window.ifcPlayer && (window.ifcPlayer.mode || window.ifcPlayer.error), null, { timeout: 30000 });
      await page.evaluate(reader, { BITS, COLS, SIZE, GAP });
      // Let the player settle at its live edge, then measure.
      await page.waitForTimeout(4000);
      await page.evaluate(() => { window.readings = []; });
      await page.waitForTimeout(params.seconds * 1000);
      const readings = await page.evaluate(() => window.readings);
      const state = await page.evaluate(() => ({ mode: window.ifcPlayer.mode, error: window.ifcPlayer.error,
        overlay_pts_tail: window.ifcPlayer.overlays.slice(-3).map((o) => o.pts_90k),
        frame_t_tail: window.readings.slice(-3).map((r) => r.t) }));
      out[mode] = { ...summarise(readings), ...state };
      await page.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });

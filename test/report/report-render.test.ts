/**
 * The report as a browser lays it out, on a demo-shaped result (demo-like-result.ts): the headline table and
 * heatmap come first, the per-detector plots next and the folded full tables after them; and no text of any
 * chart (legends included) runs outside its SVG's viewBox, where the browser would cut it. The measuring is a
 * <script> added to the test's copy only (with a CSP that allows it); the shipped page keeps its CSP and runs
 * none. Also leaves a screenshot of the top 1000 px for the eye.
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { renderReportHtml } from '../../src/report/report-html.js';
import { CHROMIUM, NO_CHROMIUM, runChromium } from './chromium.js';
import { demoGallery, demoLikeResult } from './demo-like-result.js';

const SHIPPED_CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`;

/** Runs in Chromium: the order of the top-level sections and every <text> box against its <svg>'s viewBox. */
const MEASURE = `<script>
const sections = [...document.body.children].filter((e) => e.id).map((e) => e.id);
const first = [...document.querySelectorAll('table, svg')][0];
const clipped = [];
let texts = 0;
for (const svg of document.querySelectorAll('svg')) {
  const vb = svg.viewBox.baseVal;
  const box = svg.getBoundingClientRect();
  const scale = vb.width / box.width;
  for (const text of svg.querySelectorAll('text')) {
    texts++;
    // Client rectangles include transforms (the rotated axis label), so map them back into viewBox units.
    const r = text.getBoundingClientRect();
    const left = (r.left - box.left) * scale, right = (r.right - box.left) * scale;
    const top = (r.top - box.top) * scale, bottom = (r.bottom - box.top) * scale;
    if (left < -0.5 || top < -0.5 || right > vb.width + 0.5 || bottom > vb.height + 0.5) {
      clipped.push(text.textContent + ' [' + [left, top, right, bottom].map((v) => v.toFixed(1)).join(', ') + ' in ' + vb.width + '×' + vb.height + ']');
    }
  }
}
const out = document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify({ sections, firstInHeadline: !!first && first.closest('#headline') !== null, headlineTable: !!document.querySelector('#headline table'), headlineSvg: !!document.querySelector('#headline svg'), texts, legends: document.querySelectorAll('text.legend').length, clipped });
document.body.appendChild(out);
</script>`;

interface Measured {
  sections: string[];
  firstInHeadline: boolean;
  headlineTable: boolean;
  headlineSvg: boolean;
  texts: number;
  legends: number;
  clipped: string[];
}

const chromiumTest = CHROMIUM === null ? test.skip : test;

chromiumTest(`in headless Chromium: headline first, plots, then the folded tables; no chart text outside its SVG${CHROMIUM === null ? ` (${NO_CHROMIUM})` : ''}`, async (t) => {
  const result = demoLikeResult();
  const html = await renderReportHtml(result, { title: 'advood evaluation: mobilenet-v2', subtitle: ['demo-shaped synthetic scores'], gallery: await demoGallery() });
  t.true(html.includes(SHIPPED_CSP), 'the shipped report keeps its CSP');
  t.notRegex(html, /<script/);
  const dir = mkdtempSync(join(tmpdir(), 'advood-render-'));
  const shipped = join(dir, 'report.html');
  writeFileSync(shipped, html);
  const probe = join(dir, 'measure.html');
  writeFileSync(probe, html.replace(SHIPPED_CSP, SHIPPED_CSP.replace("style-src 'unsafe-inline'", "style-src 'unsafe-inline'; script-src 'unsafe-inline'")).replace('</body>', `${MEASURE}</body>`));

  const dom = runChromium(pathToFileURL(probe).href, ['--dump-dom', '--window-size=1280,1000']);
  const json = /<pre id="measured">([^<]*)<\/pre>/.exec(dom)?.[1];
  if (json === undefined) return t.fail('the measuring script left no result in the DOM');
  const measured = JSON.parse(json.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Measured;
  t.deepEqual(measured.sections, ['headline', 'not-applicable', 'detectors', 'gallery', 'full-tables']);
  t.true(measured.firstInHeadline && measured.headlineTable && measured.headlineSvg, 'the first table or picture on the page is the headline');
  // A legend line per set a detector's plots show, none for other detectors' adaptive releases. Attacked on its own
  // score (7 detectors): ROC 2 clean + 2 paper releases and their clean images + its adaptive release and its clean
  // images = 8; histogram ID + 2 clean + 3 releases = 6. knn-1-no-targets, not attacked: ROC 6, histogram 5.
  t.is(measured.legends, 7 * (8 + 6) + (6 + 5));
  t.true(measured.texts > measured.legends);
  t.deepEqual(measured.clipped, [], 'text outside its SVG');

  const screenshot = join(dir, 'report-top.png');
  runChromium(pathToFileURL(shipped).href, [`--screenshot=${screenshot}`, '--window-size=1280,1000']);
  t.true(statSync(screenshot).size > 20_000, 'a non-trivial screenshot');
  t.log(`screenshot of the top 1000 px: ${screenshot}`);
});

/**
 * The self-contained report.html, in the order a reader needs it: the headline (worst case per detector, as a
 * table and a heatmap; headline.ts), what could not run, per detector one ROC plot (clean solid, adversarial
 * dashed) and one score histogram of its own sets (detector-sets.ts), the gallery of clean | adversarial |
 * amplified |δ|, and last, folded, every detector × set with the collapse Δ (cross-attacks included).
 * Everything is inline (SVG, data: URIs, one <style>); the page makes no network request and runs no script.
 */
import type { EvaluatedSet, EvaluationResult } from '../metrics/evaluation-result.js';
import { ID_SET_NAME } from '../metrics/evaluation-result.js';
import { METRIC_LABELS, METRIC_NAMES } from '../metrics/ood-metrics.js';
import { rocCurve } from '../metrics/roc-curve.js';
import { detectorSets, histogramSets } from './detector-sets.js';
import { heatmapSvg } from './heatmap-svg.js';
import { headline, headlineCellText } from './headline.js';
import { estimateText, percent } from './number-text.js';
import { amplifiedPerturbation } from './perturbation-image.js';
import type { WorstCaseCell } from './worst-case.js';
import { HISTOGRAM_SPAN, escapeXml, histogramSvg, robustRange, rocChartSvg } from './svg-charts.js';

export interface GalleryItem {
  /** Row id of the adversarial image (e.g. a release row id). */
  id: string;
  cleanPng: Uint8Array;
  adversarialPng: Uint8Array;
  /** Cosine to the target after the attack (on the saved PNG). */
  cos?: number;
  /** PSNR of adversarial vs clean, dB. */
  psnr?: number;
  /** e.g. the target class. */
  caption?: string;
}

export interface ReportOptions {
  title?: string;
  /** Extra lines under the title (command, target, data). */
  subtitle?: readonly string[];
  gallery?: readonly GalleryItem[];
}

const ID_COLOR = '#2563eb';
// Enough of each for the demo's sets on one detector's plot (5 clean, 3 releases) before a colour repeats.
const CLEAN_COLORS = ['#16a34a', '#0d9488', '#65a30d', '#0891b2', '#4d7c0f', '#059669'];
const ADVERSARIAL_COLORS = ['#dc2626', '#ea580c', '#c026d3', '#b45309'];

function dataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** Colours by position among the sets shown on this detector's plots, so the few there get distinct ones. */
function setColor(sets: readonly EvaluatedSet[], set: EvaluatedSet): string {
  const ofKind = sets.filter((s) => s.kind === set.kind);
  const palette = set.kind === 'clean' ? CLEAN_COLORS : ADVERSARIAL_COLORS;
  return palette[ofKind.indexOf(set) % palette.length]!;
}

function headlineSection(result: EvaluationResult): string {
  const head = headline(result);
  // The set under the number rather than after it: a cell then wraps between the two, never inside a set name.
  const cellHtml = (c: WorstCaseCell | null) =>
    c === null ? '—' : `${escapeXml(estimateText(c.auroc))}${head.cellsNameSets ? `<br><small>${escapeXml(c.set)}</small>` : ''}`;
  const rows = head.rows.map((row) => `<tr><td>${escapeXml(row.detector)}</td>${row.cells.map((c) => `<td>${cellHtml(c)}</td>`).join('')}</tr>`);
  const cells = head.rows.map((row) =>
    row.cells.map((c, j) =>
      c === null
        ? null
        : {
            value: c.auroc.value,
            text: percent(c.auroc.value),
            detail: c.auroc.low === null || c.auroc.high === null ? '' : `[${percent(c.auroc.low)}, ${percent(c.auroc.high)}]`,
            tooltip: `${row.detector}, ${head.columns[j]}: ${headlineCellText(c, head.cellsNameSets)}`,
          },
    ),
  );
  const picture = heatmapSvg(`AUROC (%): ${head.title.toLowerCase()}`, head.rows.map((r) => r.detector), head.columns, cells);
  return (
    `<section id="headline"><h2>${escapeXml(head.title)}</h2><p class="note">${escapeXml(head.caption)}</p>` +
    `<table class="headline"><tr><th>Detector</th>${head.columns.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>${rows.join('')}</table>` +
    head.notes.map((note) => `<p class="warning">${escapeXml(note)}</p>`).join('') +
    `<figure class="picture">${picture}</figure></section>`
  );
}

/** Every detector × set (cross-attacks included) and the collapse Δ: complete, but folded away at the end. */
function fullTablesSection(result: EvaluationResult): string {
  const head = `<tr><th>Detector</th><th>OOD set</th>${METRIC_NAMES.map((m) => `<th>${METRIC_LABELS[m]}</th>`).join('')}</tr>`;
  const rows = result.rows.map((row) => {
    const set = result.sets.find((s) => s.name === row.set)!;
    const cls = set.kind === 'adversarial' ? ' class="adv"' : '';
    const label = set.kind === 'adversarial' ? `${escapeXml(row.set)} <small>(adv. of ${escapeXml(set.cleanOf ?? '?')})</small>` : escapeXml(row.set);
    return `<tr${cls}><td>${escapeXml(row.detector)}</td><td>${label}</td>${METRIC_NAMES.map((m) => `<td>${estimateText(row.metrics[m])}</td>`).join('')}</tr>`;
  });
  let html = `<h3>Every detector × OOD set</h3><table>${head}${rows.join('')}</table>`;
  if (result.collapses.length > 0) {
    const collapseRows = result.collapses.map((c) => {
      const clean = result.rows.find((r) => r.detector === c.detector && r.set === c.clean)!;
      const adv = result.rows.find((r) => r.detector === c.detector && r.set === c.adversarial)!;
      const cells = METRIC_NAMES.map((m) => {
        const worse = (m === 'fpr95' ? c.delta[m] > 0 : c.delta[m] < 0) ? ' class="worse"' : '';
        const sign = c.delta[m] >= 0 ? '+' : '−';
        return `<td${worse}>${percent(clean.metrics[m].value)} → ${percent(adv.metrics[m].value)} <b>(${sign}${percent(Math.abs(c.delta[m]))})</b></td>`;
      });
      return `<tr><td>${escapeXml(c.detector)}</td><td>${escapeXml(c.adversarial)}</td><td>${escapeXml(c.clean)}</td>${cells.join('')}</tr>`;
    });
    html +=
      `<h3>Collapse: clean → adversarial (Δ)</h3><table><tr><th>Detector</th><th>Adversarial</th><th>Clean source</th>` +
      `${METRIC_NAMES.map((m) => `<th>${METRIC_LABELS[m]}</th>`).join('')}</tr>${collapseRows.join('')}</table>`;
  }
  const count = `${result.rows.length} rows${result.collapses.length > 0 ? `, ${result.collapses.length} collapses` : ''}`;
  return `<details id="full-tables"><summary>All results: every detector × OOD set and the collapse Δ (${count})</summary>${html}</details>`;
}

function detectorSection(result: EvaluationResult, detector: string): string {
  const sets = detectorSets(result, detector);
  const scoresOf = (set: string) => result.scores.find((s) => s.detector === detector && s.set === set)!.scores;
  const idScores = scoresOf(ID_SET_NAME);
  const roc = sets.map((set) => {
    const curve = rocCurve(idScores, scoresOf(set.name), 400);
    const auroc = result.rows.find((r) => r.detector === detector && r.set === set.name)!.metrics.auroc.value;
    return { label: `${set.name} (AUROC ${percent(auroc)})`, fpr: curve.fpr, tpr: curve.tpr, color: setColor(sets, set), dashed: set.kind === 'adversarial' };
  });
  const histogram = [
    { label: 'ID test', scores: idScores, color: ID_COLOR },
    ...histogramSets(sets).map((set) => ({
      label: `${set.name}${set.kind === 'adversarial' ? ' (adv.)' : ''}`,
      scores: scoresOf(set.name),
      color: setColor(sets, set),
    })),
  ];
  const range = robustRange(histogram);
  const hidden = result.sets.length - sets.length;
  const captions = [
    hidden > 0 ? `${hidden} sets attacked on other detectors' scores (and their clean images) are left out here; the full table has them.` : '',
    `Histogram axis: the ${HISTOGRAM_SPAN} of the pooled scores (${range.min.toPrecision(4)} … ${range.max.toPrecision(4)})` +
      (range.below + range.above > 0 ? `; the ${range.below} scores below and ${range.above} above it are counted in the edge bins.` : '.'),
  ].filter((c) => c.length > 0);
  const notes = result.detectors.find((d) => d.name === detector)?.notes ?? [];
  return (
    `<section class="detector"><h3>${escapeXml(detector)}</h3>` +
    (notes.length > 0 ? `<p class="note">${notes.map(escapeXml).join('; ')}</p>` : '') +
    `<div class="charts">${rocChartSvg(`${detector}: ROC, ID vs OOD`, roc)}${histogramSvg(`${detector}: scores`, histogram, range)}</div>` +
    `<p class="note caption">${captions.map(escapeXml).join(' ')}</p></section>`
  );
}

function notApplicableSection(result: EvaluationResult): string {
  if (result.notApplicable.length === 0) return '';
  const items = result.notApplicable.map((d) => `<li><b>${escapeXml(d.detector)}</b>: ${escapeXml(d.reason)}</li>`).join('');
  return `<section id="not-applicable"><h2>Not applicable here</h2><ul class="note">${items}</ul></section>`;
}

async function gallerySection(items: readonly GalleryItem[]): Promise<string> {
  const cells: string[] = [];
  for (const item of items) {
    const delta = await amplifiedPerturbation(item.cleanPng, item.adversarialPng, `gallery item '${item.id}'`);
    const facts = [
      item.cos !== undefined ? `cos ${item.cos.toFixed(3)}` : '',
      item.psnr !== undefined ? `PSNR ${item.psnr.toFixed(1)} dB` : '',
      `|δ| max ${delta.maxAbs}/255, shown ×${delta.gain.toFixed(1)}`,
    ].filter((s) => s.length > 0);
    cells.push(
      `<figure><div class="triple"><img src="${dataUri(item.cleanPng)}" alt="clean"><img src="${dataUri(item.adversarialPng)}" alt="adversarial">` +
        `<img src="${dataUri(delta.png)}" alt="amplified perturbation"></div><figcaption><b>${escapeXml(item.id)}</b>` +
        `${item.caption ? ` · ${escapeXml(item.caption)}` : ''}<br>${facts.map(escapeXml).join(' · ')}</figcaption></figure>`,
    );
  }
  return `<section id="gallery"><h2>Gallery: clean | adversarial | amplified |δ|</h2><div class="gallery">${cells.join('')}</div></section>`;
}

export async function renderReportHtml(result: EvaluationResult, options: ReportOptions = {}): Promise<string> {
  const title = options.title ?? 'advood evaluation report';
  const subtitle = (options.subtitle ?? []).map((line) => `<p class="sub">${escapeXml(line)}</p>`).join('');
  const confidence = Math.round(result.bootstrap.confidence * 100);
  const gallery = options.gallery && options.gallery.length > 0 ? await gallerySection(options.gallery) : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<style>
body{font-family:sans-serif;margin:24px;color:#111;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th:nth-child(-n+3),td:nth-child(-n+2){text-align:left}
tr.adv td{background:#fff5f5}td.worse b{color:#b91c1c}
.charts{display:flex;gap:12px;flex-wrap:wrap}.note,.sub{color:#555;font-size:12px;margin:2px 0}.warning{color:#a33;font-size:13px;margin:4px 0}
.gallery{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;font-size:12px}
.triple img{width:128px;height:128px;image-rendering:pixelated;border:1px solid #ddd;margin-right:2px}
table.headline td{white-space:nowrap}table.headline small{color:#555}figure.picture{margin:8px 0}details{margin-top:24px}summary{cursor:pointer;font-weight:bold}
</style></head><body>
<h1>${escapeXml(title)}</h1>${subtitle}
<p class="sub">ID = positive class; higher score = more ID. ID test: ${result.idTestSize} images. Values in %,
[${confidence} % percentile bootstrap CI over ${result.bootstrap.resamples} resamples, ID and OOD resampled separately].
FPR95 = FPR at the first threshold where TPR ≥ 95 %. Δ = adversarial − clean.</p>
${headlineSection(result)}
${notApplicableSection(result)}
<section id="detectors"><h2>Per detector</h2>${result.detectors.map((d) => detectorSection(result, d.name)).join('')}</section>
${gallery}
${fullTablesSection(result)}
</body></html>
`;
}

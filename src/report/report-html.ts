/**
 * The self-contained report.html: summary tables, ROC curves per detector (clean solid, adversarial dashed),
 * score histograms (ID / clean OOD / adversarial OOD) and a gallery of clean | adversarial | amplified |δ|.
 * Everything is inline (SVG, data: URIs, one <style>); the page makes no network request and runs no script.
 */
import type { EvaluationResult } from '../metrics/evaluation-result.js';
import { ID_SET_NAME } from '../metrics/evaluation-result.js';
import { METRIC_LABELS, METRIC_NAMES } from '../metrics/ood-metrics.js';
import { rocCurve } from '../metrics/roc-curve.js';
import { amplifiedPerturbation } from './perturbation-image.js';
import { WORST_CASE_CAPTION, WORST_CASE_HEADERS, estimateText, percent, worstCaseCells } from './summary-table.js';
import { worstCaseRows } from './worst-case.js';
import { escapeXml, histogramSvg, rocChartSvg } from './svg-charts.js';

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
const CLEAN_COLORS = ['#16a34a', '#0d9488', '#65a30d', '#059669'];
const ADVERSARIAL_COLORS = ['#dc2626', '#ea580c', '#c026d3', '#b45309'];

function dataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

function setColor(result: EvaluationResult, name: string): string {
  const clean = result.sets.filter((s) => s.kind === 'clean').map((s) => s.name);
  const adversarial = result.sets.filter((s) => s.kind === 'adversarial').map((s) => s.name);
  if (clean.includes(name)) return CLEAN_COLORS[clean.indexOf(name) % CLEAN_COLORS.length]!;
  return ADVERSARIAL_COLORS[adversarial.indexOf(name) % ADVERSARIAL_COLORS.length]!;
}

function summaryTableHtml(result: EvaluationResult): string {
  const head = `<tr><th>Detector</th><th>OOD set</th>${METRIC_NAMES.map((m) => `<th>${METRIC_LABELS[m]}</th>`).join('')}</tr>`;
  const rows = result.rows.map((row) => {
    const set = result.sets.find((s) => s.name === row.set)!;
    const cls = set.kind === 'adversarial' ? ' class="adv"' : '';
    const label = set.kind === 'adversarial' ? `${escapeXml(row.set)} <small>(adv. of ${escapeXml(set.cleanOf ?? '?')})</small>` : escapeXml(row.set);
    return `<tr${cls}><td>${escapeXml(row.detector)}</td><td>${label}</td>${METRIC_NAMES.map((m) => `<td>${estimateText(row.metrics[m])}</td>`).join('')}</tr>`;
  });
  let html = `<table>${head}${rows.join('')}</table>`;
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
  const worstCase = worstCaseRows(result);
  if (worstCase.length > 0) {
    const rows = worstCase.map((row) => `<tr><td>${escapeXml(row.detector)}</td>${worstCaseCells(row).map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`);
    html +=
      `<h3>Worst case per detector</h3><p class="note">${escapeXml(WORST_CASE_CAPTION)}</p>` +
      `<table><tr><th>Detector</th>${WORST_CASE_HEADERS.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>${rows.join('')}</table>`;
  }
  return html;
}

function detectorSection(result: EvaluationResult, detector: string): string {
  const idScores = result.scores.find((s) => s.detector === detector && s.set === ID_SET_NAME)!.scores;
  const roc = result.sets.map((set) => {
    const curve = rocCurve(idScores, result.scores.find((s) => s.detector === detector && s.set === set.name)!.scores, 400);
    const auroc = result.rows.find((r) => r.detector === detector && r.set === set.name)!.metrics.auroc.value;
    return { label: `${set.name} (AUROC ${percent(auroc)})`, fpr: curve.fpr, tpr: curve.tpr, color: setColor(result, set.name), dashed: set.kind === 'adversarial' };
  });
  const histogram = [
    { label: 'ID test', scores: idScores, color: ID_COLOR },
    ...result.sets.map((set) => ({
      label: `${set.name}${set.kind === 'adversarial' ? ' (adv.)' : ''}`,
      scores: result.scores.find((s) => s.detector === detector && s.set === set.name)!.scores,
      color: setColor(result, set.name),
    })),
  ];
  const notes = result.detectors.find((d) => d.name === detector)?.notes ?? [];
  return (
    `<section class="detector"><h3>${escapeXml(detector)}</h3>` +
    (notes.length > 0 ? `<p class="note">${notes.map(escapeXml).join('; ')}</p>` : '') +
    `<div class="charts">${rocChartSvg(`${detector}: ROC, ID vs OOD`, roc)}${histogramSvg(`${detector}: scores`, histogram)}</div></section>`
  );
}

function notApplicableSection(result: EvaluationResult): string {
  if (result.notApplicable.length === 0) return '';
  const items = result.notApplicable.map((d) => `<li><b>${escapeXml(d.detector)}</b>: ${escapeXml(d.reason)}</li>`).join('');
  return `<h2>Not applicable here</h2><ul class="note">${items}</ul>`;
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
  return `<h2>Gallery: clean | adversarial | amplified |δ|</h2><div class="gallery">${cells.join('')}</div>`;
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
.charts{display:flex;gap:12px;flex-wrap:wrap}.note,.sub{color:#555;font-size:12px;margin:2px 0}
.gallery{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;font-size:12px}
.triple img{width:128px;height:128px;image-rendering:pixelated;border:1px solid #ddd;margin-right:2px}
</style></head><body>
<h1>${escapeXml(title)}</h1>${subtitle}
<p class="sub">ID = positive class; higher score = more ID. ID test: ${result.idTestSize} images. Values in %,
[${confidence} % percentile bootstrap CI over ${result.bootstrap.resamples} resamples, ID and OOD resampled separately].
FPR95 = FPR at the first threshold where TPR ≥ 95 %. Δ = adversarial − clean.</p>
<h2>Summary</h2>${summaryTableHtml(result)}
<h2>Detectors</h2>${result.detectors.map((d) => detectorSection(result, d.name)).join('')}
${notApplicableSection(result)}
${gallery}
</body></html>
`;
}

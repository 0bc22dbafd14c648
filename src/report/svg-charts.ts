/**
 * Inline SVG charts for the self-contained report (no scripts, no network): ROC curves and score histograms.
 */
export interface RocSeries {
  label: string;
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
  color: string;
  dashed?: boolean;
}

export interface HistogramSeries {
  label: string;
  scores: ArrayLike<number>;
  color: string;
}

/** The plot area is fixed; the legend gets a column of its own right of it, as wide and tall as its labels need. */
const PLOT = { width: 304, height: 234 };
const MARGIN = { left: 44, top: 26, bottom: 40 };
const LEGEND = { gap: 10, swatch: 22, row: 14, fontSize: 10, pad: 10 };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * An upper estimate of a sans-serif text's width in px. The SVG is sized before any browser sees it (no script
 * may measure it), so the estimate sits a little above DejaVu Sans' advance widths (Debian's default sans, wider
 * than Arial): a too-wide legend column costs white space, a too-narrow one cuts labels.
 */
export function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) {
    if (/[il.,:;|'`]/.test(ch)) em += 0.34;
    else if (/[ ()[\]{}\-/fjrt!]/.test(ch)) em += 0.42;
    else if (/[mwMW%]/.test(ch)) em += 1;
    else if (/[=<>+~]/.test(ch)) em += 0.84;
    else if (/[A-Z]/.test(ch)) em += 0.8;
    else if (/[\x21-\x7e]/.test(ch)) em += 0.64;
    else em += 1;
  }
  return em * fontSize;
}

interface LegendItem {
  label: string;
  color: string;
  dashed?: boolean;
}

function frame(title: string, xLabel: string, yLabel: string, body: string, legend: readonly LegendItem[]): string {
  const legendX = MARGIN.left + PLOT.width + LEGEND.gap;
  const legendWidth = LEGEND.swatch + Math.max(0, ...legend.map((item) => textWidth(item.label, LEGEND.fontSize))) + LEGEND.pad;
  const width = Math.ceil(legendX + legendWidth);
  const height = Math.max(MARGIN.top + PLOT.height + MARGIN.bottom, MARGIN.top + 12 + legend.length * LEGEND.row + LEGEND.pad);
  const legendItems = legend
    .map((item, i) => {
      const y = MARGIN.top + 12 + i * LEGEND.row;
      const dash = item.dashed ? ' stroke-dasharray="5 3"' : '';
      return (
        `<line x1="${legendX}" y1="${y - 4}" x2="${legendX + 18}" y2="${y - 4}" stroke="${item.color}" stroke-width="2"${dash}/>` +
        `<text class="legend" x="${legendX + LEGEND.swatch}" y="${y}" font-size="${LEGEND.fontSize}">${escapeXml(item.label)}</text>`
      );
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">` +
    `<text x="${MARGIN.left + PLOT.width / 2}" y="16" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(title)}</text>` +
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT.width}" height="${PLOT.height}" fill="none" stroke="#888"/>` +
    body +
    `<text x="${MARGIN.left + PLOT.width / 2}" y="${MARGIN.top + PLOT.height + MARGIN.bottom - 6}" text-anchor="middle" font-size="11">${escapeXml(xLabel)}</text>` +
    `<text transform="translate(12 ${MARGIN.top + PLOT.height / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escapeXml(yLabel)}</text>` +
    legendItems +
    `</svg>`
  );
}

function ticks(min: number, max: number, toX: (v: number) => number, y: number, vertical: boolean, toY?: (v: number) => number, x?: number): string {
  let out = '';
  for (let i = 0; i <= 4; i++) {
    const v = min + ((max - min) * i) / 4;
    const label = Math.abs(max - min) >= 10 ? v.toFixed(0) : Math.abs(max - min) >= 1 ? v.toFixed(1) : v.toPrecision(2);
    if (!vertical) out += `<text x="${toX(v).toFixed(1)}" y="${y}" text-anchor="middle" font-size="9">${label}</text>`;
    else out += `<text x="${x}" y="${(toY!(v) + 3).toFixed(1)}" text-anchor="end" font-size="9">${label}</text>`;
  }
  return out;
}

export function rocChartSvg(title: string, series: readonly RocSeries[]): string {
  const x = (v: number) => MARGIN.left + v * PLOT.width;
  const y = (v: number) => MARGIN.top + (1 - v) * PLOT.height;
  let body = `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#ccc" stroke-dasharray="3 3"/>`;
  for (const s of series) {
    const points = Array.from({ length: s.fpr.length }, (_, i) => `${x(s.fpr[i]!).toFixed(1)},${y(s.tpr[i]!).toFixed(1)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    body += `<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="1.8"${dash}/>`;
  }
  body += ticks(0, 1, x, MARGIN.top + PLOT.height + 12, false);
  body += ticks(0, 1, x, 0, true, y, MARGIN.left - 4);
  return frame(title, 'FPR (OOD accepted as ID)', 'TPR (ID accepted)', body, series.map((s) => ({ label: s.label, color: s.color, dashed: s.dashed })));
}

/** Share of pooled scores left outside the histogram's range on each side; they are counted in the edge bins. */
export const HISTOGRAM_TAIL = 0.01;
/** HISTOGRAM_TAIL in words, for the axis label and the report's caption. */
export const HISTOGRAM_SPAN = '1st–99th percentile';

export interface HistogramRange {
  min: number;
  max: number;
  /** Pooled scores below min and above max: drawn in the edge bins and counted at the plot's edges. */
  below: number;
  above: number;
}

/**
 * The 1st–99th percentile of all the series' scores pooled, so that a few extreme scores (Mahalanobis distances of
 * far-away OOD run to −10⁵) cannot squash every distribution into one bin.
 */
export function robustRange(series: readonly HistogramSeries[]): HistogramRange {
  const pooled = Float64Array.from(series.flatMap((s) => Array.from(s.scores))).sort();
  if (pooled.length === 0) return { min: 0, max: 1, below: 0, above: 0 };
  let min = pooled[Math.floor(HISTOGRAM_TAIL * (pooled.length - 1))]!;
  let max = pooled[Math.ceil((1 - HISTOGRAM_TAIL) * (pooled.length - 1))]!;
  const below = pooled.filter((v) => v < min).length;
  const above = pooled.filter((v) => v > max).length;
  if (!(max > min)) {
    min -= 0.5;
    max += 0.5;
  }
  return { min, max, below, above };
}

/** Overlaid density histograms (each series normalised to area 1) on a shared range and bins. */
export function histogramSvg(title: string, series: readonly HistogramSeries[], range = robustRange(series), bins = 40): string {
  const { min, max } = range;
  const width = (max - min) / bins;
  const densities = series.map((s) => {
    const counts = new Float64Array(bins);
    for (let i = 0; i < s.scores.length; i++) counts[Math.max(0, Math.min(bins - 1, Math.floor((s.scores[i]! - min) / width)))]! += 1;
    return Array.from(counts, (c) => c / (s.scores.length * width));
  });
  const top = Math.max(...densities.flat(), 1e-12);
  const x = (v: number) => MARGIN.left + ((v - min) / (max - min)) * PLOT.width;
  const y = (v: number) => MARGIN.top + (1 - v / top) * PLOT.height;
  let body = '';
  series.forEach((s, k) => {
    let path = `M${x(min).toFixed(1)},${y(0).toFixed(1)}`;
    densities[k]!.forEach((d, b) => {
      path += ` L${x(min + b * width).toFixed(1)},${y(d).toFixed(1)} L${x(min + (b + 1) * width).toFixed(1)},${y(d).toFixed(1)}`;
    });
    path += ` L${x(max).toFixed(1)},${y(0).toFixed(1)} Z`;
    body += `<path d="${path}" fill="${s.color}" fill-opacity="0.25" stroke="${s.color}" stroke-width="1.2"/>`;
  });
  body += ticks(min, max, x, MARGIN.top + PLOT.height + 12, false);
  // The clipped scores are in the edge bins; saying how many keeps a spike there from reading as a mode.
  const edge = `font-size="9" fill="#555" y="${MARGIN.top + 11}"`;
  if (range.below > 0) body += `<text ${edge} x="${MARGIN.left + 3}">← ${range.below} below</text>`;
  if (range.above > 0) body += `<text ${edge} x="${MARGIN.left + PLOT.width - 3}" text-anchor="end">${range.above} above →</text>`;
  const clipped = range.below + range.above > 0;
  const xLabel = clipped ? `score (higher = more ID), ${HISTOGRAM_SPAN} shown` : 'score (higher = more ID)';
  return frame(title, xLabel, 'density', body, series.map((s) => ({ label: `${s.label} (n=${s.scores.length})`, color: s.color })));
}

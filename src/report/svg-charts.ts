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

/** The legend has a column of its own right of the plot, so it never hides a curve or gets cut off. */
const LEGEND_WIDTH = 200;
const WIDTH = 360 + LEGEND_WIDTH;
const HEIGHT = 300;
const MARGIN = { left: 44, right: 12 + LEGEND_WIDTH, top: 26, bottom: 40 };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function frame(title: string, xLabel: string, yLabel: string, body: string, legend: { label: string; color: string; dashed?: boolean }[]): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const legendItems = legend
    .map((item, i) => {
      const y = MARGIN.top + 12 + i * 14;
      const x = MARGIN.left + plotW + 10;
      const dash = item.dashed ? ' stroke-dasharray="5 3"' : '';
      return `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${item.color}" stroke-width="2"${dash}/><text x="${x + 22}" y="${y}" font-size="10">${escapeXml(item.label)}</text>`;
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">` +
    `<text x="${MARGIN.left + plotW / 2}" y="16" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(title)}</text>` +
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>` +
    body +
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 6}" text-anchor="middle" font-size="11">${escapeXml(xLabel)}</text>` +
    `<text transform="translate(12 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escapeXml(yLabel)}</text>` +
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
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + v * plotW;
  const y = (v: number) => MARGIN.top + (1 - v) * plotH;
  let body = `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#ccc" stroke-dasharray="3 3"/>`;
  for (const s of series) {
    const points = Array.from({ length: s.fpr.length }, (_, i) => `${x(s.fpr[i]!).toFixed(1)},${y(s.tpr[i]!).toFixed(1)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    body += `<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="1.8"${dash}/>`;
  }
  body += ticks(0, 1, x, MARGIN.top + plotH + 12, false);
  body += ticks(0, 1, x, 0, true, y, MARGIN.left - 4);
  return frame(title, 'FPR (OOD accepted as ID)', 'TPR (ID accepted)', body, series.map((s) => ({ label: s.label, color: s.color, dashed: s.dashed })));
}

/** Share of pooled scores left outside the histogram's range on each side; they are counted in the edge bins. */
const HISTOGRAM_TAIL = 0.01;

/**
 * Overlaid density histograms (each series normalised to area 1) on a shared range and bins. The range spans
 * the 1st–99th percentile of all scores, so a few extreme scores (Mahalanobis distances of far-away OOD run
 * to −10⁵) cannot squash every distribution into one bin; those outliers land in the edge bins.
 */
export function histogramSvg(title: string, series: readonly HistogramSeries[], bins = 40): string {
  const pooled = Float64Array.from(series.flatMap((s) => Array.from(s.scores))).sort();
  let min = pooled.length ? pooled[Math.floor(HISTOGRAM_TAIL * (pooled.length - 1))]! : 0;
  let max = pooled.length ? pooled[Math.ceil((1 - HISTOGRAM_TAIL) * (pooled.length - 1))]! : 1;
  const clipped = pooled.length > 0 && (pooled[0]! < min || pooled[pooled.length - 1]! > max);
  if (!(max > min)) {
    min -= 0.5;
    max += 0.5;
  }
  const width = (max - min) / bins;
  const densities = series.map((s) => {
    const counts = new Float64Array(bins);
    for (let i = 0; i < s.scores.length; i++) counts[Math.max(0, Math.min(bins - 1, Math.floor((s.scores[i]! - min) / width)))]! += 1;
    return Array.from(counts, (c) => c / (s.scores.length * width));
  });
  const top = Math.max(...densities.flat(), 1e-12);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + ((v - min) / (max - min)) * plotW;
  const y = (v: number) => MARGIN.top + (1 - v / top) * plotH;
  let body = '';
  series.forEach((s, k) => {
    let path = `M${x(min).toFixed(1)},${y(0).toFixed(1)}`;
    densities[k]!.forEach((d, b) => {
      path += ` L${x(min + b * width).toFixed(1)},${y(d).toFixed(1)} L${x(min + (b + 1) * width).toFixed(1)},${y(d).toFixed(1)}`;
    });
    path += ` L${x(max).toFixed(1)},${y(0).toFixed(1)} Z`;
    body += `<path d="${path}" fill="${s.color}" fill-opacity="0.25" stroke="${s.color}" stroke-width="1.2"/>`;
  });
  body += ticks(min, max, x, MARGIN.top + plotH + 12, false);
  const xLabel = clipped ? 'score (higher = more ID); 1 % tails in the edge bins' : 'score (higher = more ID)';
  return frame(title, xLabel, 'density', body, series.map((s) => ({ label: `${s.label} (n=${s.scores.length})`, color: s.color })));
}

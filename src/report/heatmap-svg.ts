/**
 * The headline as a picture: a detector × condition grid of AUROC cells, coloured on a diverging scale centred on
 * chance (50 %), so a collapse below chance reads red at a glance and a robust detector blue. Inline SVG like
 * svg-charts.ts: the report runs no script, so hovering a cell shows its <title> (the full cell text) instead.
 */
import { escapeXml, textWidth } from './svg-charts.js';

export interface HeatmapCell {
  /** In [0, 1]: where the colour sits on the scale. */
  value: number;
  /** Large, in the cell (e.g. '95.5'). */
  text: string;
  /** Small, under it (e.g. the CI). */
  detail: string;
  /** The hover text. */
  tooltip: string;
}

const FONT = { title: 12, label: 11, value: 12, detail: 9 };
const CELL = { minWidth: 92, height: 36, pad: 12 };
const TITLE_HEIGHT = 22;
const HEADER_HEIGHT = 22;
const SCALE = { width: 220, height: 10, top: 14, bottom: 30 };

/** 0 → red, 0.5 → near-white, 1 → blue: endpoints far apart for red–green colour blindness too. */
function color(value: number): string {
  const low = [185, 28, 28];
  const mid = [247, 247, 247];
  const high = [29, 78, 216];
  const t = Math.max(0, Math.min(1, value));
  const [from, to, f] = t < 0.5 ? [low, mid, t / 0.5] : [mid, high, (t - 0.5) / 0.5];
  return `rgb(${from.map((c, i) => Math.round(c + (to[i]! - c) * f)).join(',')})`;
}

export function heatmapSvg(title: string, rows: readonly string[], columns: readonly string[], cells: readonly (readonly (HeatmapCell | null)[])[]): string {
  const labelWidth = Math.ceil(Math.max(0, ...rows.map((r) => textWidth(r, FONT.label)))) + CELL.pad;
  const all = cells.flat().filter((c): c is HeatmapCell => c !== null);
  const cellWidth = Math.ceil(
    Math.max(CELL.minWidth, ...columns.map((c) => textWidth(c, FONT.label)), ...all.map((c) => textWidth(c.detail, FONT.detail))) + CELL.pad,
  );
  const gridTop = TITLE_HEIGHT + HEADER_HEIGHT;
  const gridBottom = gridTop + rows.length * CELL.height;
  const width = Math.max(labelWidth + columns.length * cellWidth, textWidth(title, FONT.title), SCALE.width + 2 * 40) + 2;
  const height = gridBottom + SCALE.top + SCALE.height + SCALE.bottom;
  let body = `<text x="0" y="15" font-size="${FONT.title}" font-weight="bold">${escapeXml(title)}</text>`;
  columns.forEach((c, j) => {
    body += `<text x="${labelWidth + (j + 0.5) * cellWidth}" y="${gridTop - 7}" text-anchor="middle" font-size="${FONT.label}" font-weight="bold">${escapeXml(c)}</text>`;
  });
  rows.forEach((r, i) => {
    const y = gridTop + i * CELL.height;
    body += `<text x="${labelWidth - CELL.pad / 2}" y="${y + CELL.height / 2 + 4}" text-anchor="end" font-size="${FONT.label}">${escapeXml(r)}</text>`;
    columns.forEach((_, j) => {
      const cell = cells[i]?.[j] ?? null;
      const x = labelWidth + j * cellWidth;
      const fill = cell ? color(cell.value) : '#e5e5e5';
      body += `<g><rect x="${x}" y="${y}" width="${cellWidth}" height="${CELL.height}" fill="${fill}" stroke="#fff" stroke-width="2"/>`;
      if (!cell) {
        body += `<text x="${x + cellWidth / 2}" y="${y + CELL.height / 2 + 4}" text-anchor="middle" font-size="${FONT.value}" fill="#666">—</text></g>`;
        return;
      }
      // Dark text on the pale middle of the scale, white on its saturated ends.
      const ink = Math.abs(cell.value - 0.5) > 0.3 ? '#fff' : '#111';
      body +=
        `<title>${escapeXml(cell.tooltip)}</title>` +
        `<text x="${x + cellWidth / 2}" y="${y + 16}" text-anchor="middle" font-size="${FONT.value}" font-weight="bold" fill="${ink}">${escapeXml(cell.text)}</text>` +
        `<text x="${x + cellWidth / 2}" y="${y + 29}" text-anchor="middle" font-size="${FONT.detail}" fill="${ink}">${escapeXml(cell.detail)}</text></g>`;
    });
  });
  const scaleX = 40;
  const scaleY = gridBottom + SCALE.top;
  body +=
    `<defs><linearGradient id="auroc-scale">${[0, 0.25, 0.5, 0.75, 1].map((v) => `<stop offset="${v}" stop-color="${color(v)}"/>`).join('')}</linearGradient></defs>` +
    `<rect x="${scaleX}" y="${scaleY}" width="${SCALE.width}" height="${SCALE.height}" fill="url(#auroc-scale)" stroke="#999"/>`;
  const ticks: [number, string][] = [[0, '0'], [0.5, '50 (chance)'], [1, '100 % AUROC']];
  for (const [v, label] of ticks) {
    body += `<text x="${scaleX + v * SCALE.width}" y="${scaleY + SCALE.height + 13}" text-anchor="middle" font-size="${FONT.detail}">${escapeXml(label)}</text>`;
  }
  const w = Math.ceil(width);
  return `<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="${w}" height="${height}" viewBox="0 0 ${w} ${height}" font-family="sans-serif">${body}</svg>`;
}

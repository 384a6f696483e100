// Two hand-drawn SVG bar charts. Every bar carries its value as text and a
// hatch pattern, so neither colour nor shape alone carries the meaning; the
// page also shows the same numbers in a table. SVG presentation attributes
// are used (not style attributes), which the CSP allows.

import { svg } from './dom.js';

let patternCount = 0;

function hatch() {
  patternCount += 1;
  const id = `hatch-${patternCount}`;
  const pattern = svg(
    'pattern',
    { id, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
    svg('rect', { width: 6, height: 6, fill: '#dbe7f5' }),
    svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#1f4e8c', 'stroke-width': 2.5 }),
  );
  return { id, defs: svg('defs', null, pattern) };
}

function text(x, y, content, attrs = {}) {
  return svg('text', { x, y, 'font-size': 12, fill: '#1a1a1a', ...attrs }, content);
}

/**
 * Vertical bars, one per point: [{label, value, display}], value ≥ 0.
 * `summary` becomes the accessible name of the chart.
 */
export function columnChart(points, summary) {
  const barWidth = 34;
  const gap = 14;
  const left = 16;
  const top = 24;
  const plot = 180;
  const width = Math.max(320, left * 2 + points.length * (barWidth + gap));
  const height = top + plot + 44;
  const max = Math.max(...points.map((p) => p.value), 0) || 1;
  const { id, defs } = hatch();
  const marks = points.map((p, i) => {
    const x = left + i * (barWidth + gap);
    const barHeight = Math.round((p.value / max) * plot);
    const y = top + plot - barHeight;
    return svg(
      'g',
      null,
      svg('rect', { x, y, width: barWidth, height: Math.max(barHeight, 1), fill: `url(#${id})`, stroke: '#1f4e8c', 'stroke-width': 1 }),
      text(x + barWidth / 2, y - 6, p.display, { 'text-anchor': 'middle', 'font-size': 11 }),
      text(x + barWidth / 2, top + plot + 16, p.label, { 'text-anchor': 'middle', 'font-size': 10 }),
    );
  });
  return svg(
    'svg',
    { role: 'img', 'aria-label': summary, width, height, viewBox: `0 0 ${width} ${height}`, class: 'chart' },
    defs,
    svg('line', { x1: left - 4, y1: top + plot, x2: width - left, y2: top + plot, stroke: '#595959', 'stroke-width': 1 }),
    marks,
  );
}

/** Horizontal bars, one per row: [{label, value, display}]. */
export function barChart(rows, summary) {
  const labelWidth = 170;
  const barMax = 300;
  const rowHeight = 30;
  const width = labelWidth + barMax + 150;
  const height = Math.max(rows.length, 1) * rowHeight + 10;
  const max = Math.max(...rows.map((r) => r.value), 0) || 1;
  const { id, defs } = hatch();
  const marks = rows.map((r, i) => {
    const y = 5 + i * rowHeight;
    const w = Math.max(Math.round((r.value / max) * barMax), 1);
    return svg(
      'g',
      null,
      text(labelWidth - 8, y + 17, r.label, { 'text-anchor': 'end' }),
      svg('rect', { x: labelWidth, y: y + 4, width: w, height: rowHeight - 10, fill: `url(#${id})`, stroke: '#1f4e8c', 'stroke-width': 1 }),
      text(labelWidth + w + 6, y + 17, r.display),
    );
  });
  return svg(
    'svg',
    { role: 'img', 'aria-label': summary, width, height, viewBox: `0 0 ${width} ${height}`, class: 'chart' },
    defs,
    marks.length ? marks : text(8, 20, 'No claims in this range'),
  );
}

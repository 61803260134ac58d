// The plot of a run as one SVG file, written by hand (no dependency): per body, the maximum
// throughput of each variant and its latency percentiles at the fixed rate (p50, p90, p99 side by
// side). Bars are medians over rounds; whiskers the interquartile range (q1..q3), which one
// disturbed round doesn't stretch (the tables give min..max). Pure: returns the SVG text.

/** XML-escaped text. @param {string} s */
export function esc(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Tick values from 0 to at least `max`, 4 to 10 of them, on a 1-2-5 step. @param {number} max */
export function niceTicks(max) {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => max / s <= 6) ?? 10 * mag;
  /** @type {number[]} */
  const ticks = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** A short number for a tick or a label. @param {number} v */
export function short(v) {
  if (v >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (v >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (v >= 100) return v.toFixed(0);
  return String(Number(v.toPrecision(3)));
}

/**
 * @typedef {object} Bar
 * @property {number} value
 * @property {number} [min]
 * @property {number} [max]
 */

/**
 * @typedef {object} Chart
 * @property {string} title
 * @property {string} yLabel
 * @property {string[]} groups          one per variant, on the x axis
 * @property {string[]} series          bars in each group (one series: no legend)
 * @property {Bar[][]} bars             bars[group][series]
 * @property {boolean} [labels]         print each bar's value above it
 */

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1'];

/**
 * One grouped bar chart in the box (x, y, w, h).
 * @param {Chart} c @param {number} x @param {number} y @param {number} w @param {number} h
 */
export function barChart(c, x, y, w, h) {
  const left = 64;
  const top = 50;
  const bottom = 78;
  const right = 12;
  const pw = w - left - right;
  const ph = h - top - bottom;
  const top1 = Math.max(0, ...c.bars.flat().map((b) => Math.max(b.value, b.max ?? 0)).filter(Number.isFinite));
  const ticks = niceTicks(top1);
  const ymax = ticks[ticks.length - 1] || 1;
  const Y = (/** @type {number} */ v) => y + top + ph - (Math.max(0, v) / ymax) * ph;
  const out = [];
  out.push(`<text x="${x + w / 2}" y="${y + 18}" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  out.push(`<text transform="translate(${x + 14},${y + top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(c.yLabel)}</text>`);
  for (const t of ticks) {
    out.push(`<line x1="${x + left}" x2="${x + left + pw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#ddd"/>`);
    out.push(`<text x="${x + left - 6}" y="${Y(t) + 4}" text-anchor="end" font-size="10">${short(t)}</text>`);
  }
  out.push(`<line x1="${x + left}" x2="${x + left}" y1="${y + top}" y2="${y + top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${x + left}" x2="${x + left + pw}" y1="${y + top + ph}" y2="${y + top + ph}" stroke="#333"/>`);
  const gw = pw / Math.max(1, c.groups.length);
  const bw = Math.min(40, (gw * 0.8) / Math.max(1, c.series.length));
  c.groups.forEach((g, gi) => {
    const gx = x + left + gi * gw + (gw - bw * c.series.length) / 2;
    c.series.forEach((_, si) => {
      const b = c.bars[gi]?.[si];
      if (!b || !Number.isFinite(b.value)) return;
      const bx = gx + si * bw;
      out.push(`<rect x="${bx + 1}" y="${Y(b.value)}" width="${bw - 2}" height="${y + top + ph - Y(b.value)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(`${g} ${c.series[si]}: ${short(b.value)}`)}</title></rect>`);
      if (b.min !== undefined && b.max !== undefined && Number.isFinite(b.min) && Number.isFinite(b.max)) {
        const cx = bx + bw / 2;
        out.push(`<path d="M${cx},${Y(b.min)}V${Y(b.max)}M${cx - 4},${Y(b.min)}H${cx + 4}M${cx - 4},${Y(b.max)}H${cx + 4}" stroke="#222" fill="none"/>`);
      }
      if (c.labels) out.push(`<text x="${bx + bw / 2}" y="${Math.min(Y(b.value), Y(b.max ?? b.value)) - 4}" text-anchor="middle" font-size="9">${short(b.value)}</text>`);
    });
    const lx = x + left + gi * gw + gw / 2;
    out.push(`<text transform="translate(${lx},${y + top + ph + 12}) rotate(-30)" text-anchor="end" font-size="10">${esc(g)}</text>`);
  });
  if (c.series.length > 1) {
    c.series.forEach((s, si) => {
      const lx = x + left + pw - (c.series.length - si) * 52;
      out.push(`<rect x="${lx}" y="${y + top - 22}" width="10" height="10" fill="${COLORS[si % COLORS.length]}"/>`);
      out.push(`<text x="${lx + 13}" y="${y + top - 13}" font-size="10">${esc(s)}</text>`);
    });
  }
  return out.join('\n');
}

/**
 * The whole plot: one row per body, throughput on the left, latency on the right.
 * @param {import('./report.mjs').Summary} summary
 * @param {{bodies: {id: string, bytes: number}[], fixedQps: number, title: string}} cfg
 */
export function floorSvg(summary, cfg) {
  const W = 1100;
  const H = 380;
  const header = 40;
  /** @type {string[]} */
  const parts = [];
  cfg.bodies.forEach((body, i) => {
    const rows = summary.rows.filter((r) => r.body === body.id);
    const groups = rows.map((r) => r.label);
    const y = header + i * H;
    parts.push(barChart({
      title: `${body.id} body: maximum throughput`,
      yLabel: 'requests/s (median, whisker q1..q3)',
      groups,
      series: ['req/s'],
      bars: rows.map((r) => [{ value: r.maxQps.median, min: r.maxQps.q1, max: r.maxQps.q3 }]),
      labels: true,
    }, 0, y, W / 2, H));
    parts.push(barChart({
      title: `${body.id} body: latency at ${cfg.fixedQps} req/s`,
      yLabel: 'ms (median, whisker q1..q3)',
      // A variant that couldn't keep up with the rate: its latency is that of a saturated Envoy.
      groups: rows.map((r) => (r.fixedQps.median < 0.95 * cfg.fixedQps ? `${r.label} (${r.fixedQps.median.toFixed(0)}/s)` : r.label)),
      series: ['p50', 'p90', 'p99'],
      bars: rows.map((r) => [r.p50ms, r.p90ms, r.p99ms].map((p) => ({ value: p.median, min: p.q1, max: p.q3 }))),
    }, W / 2, y, W / 2, H));
  });
  const height = header + cfg.bodies.length * H + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(cfg.title)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

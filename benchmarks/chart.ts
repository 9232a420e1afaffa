/**
 * benchmarks/chart.svg: one hand-written SVG of horizontal bars, records/s (median, with the
 * min–max range as a whisker) and client CPU µs per record, written by benchmarks/run.ts.
 */

export interface ChartBar {
  /** Group heading (e.g. "Write, 100 B"); bars of one group are drawn together. */
  group: string;
  label: string;
  recordsPerSec: { median: number; min: number; max: number };
  cpuUsPerRecord: number;
  kind: 'raw' | 'library' | 'peer';
}

const COLORS: Record<ChartBar['kind'], string> = { raw: '#8c8c8c', library: '#2b6cb0', peer: '#dd8452' };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}k`;
  return String(Math.round(n));
}

/** The SVG text of the chart. */
export function renderChart(bars: ChartBar[], title: string, subtitle: string): string {
  const labelWidth = 300;
  const barArea = 520;
  const cpuWidth = 130;
  const rowHeight = 22;
  const groupGap = 26;
  const top = 70;
  const width = labelWidth + barArea + cpuWidth + 30;
  const max = niceMax(Math.max(...bars.map((b) => b.recordsPerSec.max)));
  const x = (v: number) => labelWidth + (v / max) * barArea;
  const parts: string[] = [];
  let y = top;
  let group = '';
  for (const bar of bars) {
    if (bar.group !== group) {
      group = bar.group;
      y += groupGap;
      parts.push(`<text x="10" y="${y - 8}" font-weight="bold">${escapeXml(group)}</text>`);
    }
    const r = bar.recordsPerSec;
    const barY = y + 3;
    const h = rowHeight - 6;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${barY}" width="${Math.max(1, x(r.median) - labelWidth).toFixed(1)}" height="${h}" fill="${COLORS[bar.kind]}"/>`,
      `<line x1="${x(r.min).toFixed(1)}" x2="${x(r.max).toFixed(1)}" y1="${barY + h / 2}" y2="${barY + h / 2}" stroke="#222" stroke-width="1"/>`,
      `<text x="${(x(r.max) + 4).toFixed(1)}" y="${y + 15}" font-size="11">${compact(r.median)}/s</text>`,
      `<text x="${labelWidth + barArea + cpuWidth}" y="${y + 15}" text-anchor="end" font-size="11">${bar.cpuUsPerRecord.toFixed(2)} µs</text>`,
    );
    y += rowHeight;
  }
  const axisY = y + 8;
  const ticks: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    ticks.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${top}" y2="${axisY}" stroke="#ddd"/>`,
      `<text x="${x(v)}" y="${axisY + 14}" text-anchor="middle" font-size="11">${compact(v)}</text>`,
    );
  }
  const legend = (['raw', 'library', 'peer'] as const)
    .map((k, i) => {
      const names = { raw: 'raw AWS SDK v3 loop', library: 'kinesis-node-streams', peer: 'peer library' };
      const lx = labelWidth + i * 175;
      return `<rect x="${lx}" y="${top - 14}" width="12" height="12" fill="${COLORS[k]}"/><text x="${lx + 16}" y="${top - 4}" font-size="12">${names[k]}</text>`;
    })
    .join('');
  const height = axisY + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="40" font-size="11" fill="#555">${escapeXml(subtitle)}</text>`,
    legend,
    `<text x="${labelWidth + barArea + cpuWidth}" y="${top - 4}" text-anchor="end" font-size="11" fill="#555">CPU/record</text>`,
    ...ticks,
    ...parts,
    `<text x="${labelWidth + barArea / 2}" y="${axisY + 30}" text-anchor="middle" font-size="11" fill="#555">records/s (user records; median, whisker min–max)</text>`,
    '</svg>',
    '',
  ].join('\n');
}

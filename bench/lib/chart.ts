// A dependency-free SVG chart of one benchmark run, three panels:
// 1. the broker's throughput as a percentage of the null broker's (same generator, same run),
//    with the target where there is one and both absolute figures;
// 2. latency percentiles at fixed rates (produce and end-to-end), log scale;
// 3. partition scaling: peak RSS and CPU-seconds per GB.

export interface RatioRow {
  label: string;
  brokerText: string;
  nullText: string;
  /** broker / null, 0..∞ */
  ratio: number | null;
  /** Target ratio, if any. */
  target?: number;
}

export interface LatencyRow {
  label: string;
  /** ms */
  p50: number;
  p99: number;
  p999: number;
}

export interface ScalingRow {
  partitions: number;
  peakRssMB: number | null;
  cpuSecPerGB: number | null;
  mbps: number | null;
  error?: string;
}

export interface ChartInput {
  title: string;
  subtitle: string;
  ratios: RatioRow[];
  latency: LatencyRow[];
  scaling: ScalingRow[];
  rssTargetMB?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

export function renderChart(input: ChartInput): string {
  const W = 960;
  const left = 250;
  const barW = 520;
  const out: string[] = [];
  let y = 0;
  const text = (x: number, yy: number, s: string, extra = '') => {
    const size = /font-size="/.test(extra) ? '' : ' font-size="12"';
    out.push(`<text x="${x}" y="${yy}" ${FONT}${size} ${extra}>${esc(s)}</text>`);
  };

  text(16, (y += 26), input.title, 'font-size="17" font-weight="bold"');
  text(16, (y += 18), input.subtitle, 'fill="#555"');

  // Panel 1: ratios
  y += 30;
  text(16, y, 'Broker throughput as % of the null broker (higher is better; | = target)', 'font-weight="bold" font-size="14"');
  y += 12;
  const maxRatio = Math.max(1, ...input.ratios.map((r) => r.ratio ?? 0));
  const scale = barW / maxRatio;
  const axisTop = y;
  for (const r of input.ratios) {
    y += 24;
    text(16, y + 4, r.label);
    if (r.ratio === null) {
      text(left, y + 4, 'not measured', 'fill="#999"');
      continue;
    }
    const w = Math.max(1, r.ratio * scale);
    const color = r.target !== undefined ? (r.ratio >= r.target ? '#2e7d32' : '#c62828') : '#1f6fd1';
    out.push(`<rect x="${left}" y="${y - 8}" width="${w.toFixed(1)}" height="16" fill="${color}" opacity="0.85"/>`);
    if (r.target !== undefined) {
      const tx = left + r.target * scale;
      out.push(`<line x1="${tx.toFixed(1)}" y1="${y - 11}" x2="${tx.toFixed(1)}" y2="${y + 11}" stroke="#000" stroke-width="2"/>`);
    }
    text(left + Math.max(w, r.target !== undefined ? r.target * scale : 0) + 6, y + 4, `${Math.round(r.ratio * 100)} %  (${r.brokerText} vs ${r.nullText})`, 'fill="#333"');
  }
  const x100 = left + scale;
  out.push(`<line x1="${x100.toFixed(1)}" y1="${axisTop}" x2="${x100.toFixed(1)}" y2="${y + 12}" stroke="#888" stroke-dasharray="4 3"/>`);
  text(x100 - 14, y + 26, '100 %', 'fill="#666" font-size="11"');
  out.push(`<line x1="${left}" y1="${axisTop}" x2="${left}" y2="${y + 12}" stroke="#888"/>`);
  y += 30;

  // Panel 2: latency (log scale, 0.05 ms .. 2000 ms)
  if (input.latency.length > 0) {
    y += 24;
    text(16, y, 'Latency at fixed rates, ms (log scale; from the intended send time)', 'font-weight="bold" font-size="14"');
    out.push(`<text x="${left + barW - 150}" y="${y}" ${FONT} font-size="12"><tspan fill="#90caf9">■</tspan> p50  <tspan fill="#1e88e5">■</tspan> p99  <tspan fill="#0d47a1">■</tspan> p99.9</text>`);
    const lo = Math.log10(0.05);
    const hi = Math.log10(2000);
    const lx = (ms: number) => left + ((Math.log10(Math.max(ms, 0.05)) - lo) / (hi - lo)) * barW;
    const top = y + 8;
    for (const r of input.latency) {
      y += 34;
      text(16, y + 4, r.label);
      const bars: Array<[number, string, number]> = [
        [r.p50, '#90caf9', -9],
        [r.p99, '#1e88e5', 0],
        [r.p999, '#0d47a1', 9],
      ];
      for (const [v, c, dy] of bars) out.push(`<rect x="${left}" y="${y + dy - 4}" width="${Math.max(1, lx(v) - left).toFixed(1)}" height="8" fill="${c}"/>`);
      text(lx(r.p999) + 6, y + 4, `${fmt(r.p50)} / ${fmt(r.p99)} / ${fmt(r.p999)} ms`, 'fill="#333"');
    }
    for (const tick of [0.1, 1, 10, 100, 1000]) {
      const x = lx(tick);
      out.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${y + 16}" stroke="#ccc" stroke-dasharray="2 3"/>`);
      text(x - 8, y + 30, String(tick), 'fill="#666" font-size="11"');
    }
    y += 34;
  }

  // Panel 3: partition scaling
  if (input.scaling.length > 0) {
    y += 24;
    text(16, y, 'Partition scaling (round-robin produce): peak RSS, MB', 'font-weight="bold" font-size="14"');
    const maxRss = Math.max(input.rssTargetMB ?? 0, ...input.scaling.map((s) => s.peakRssMB ?? 0), 1);
    const sc = (barW - 170) / maxRss;
    const top = y + 8;
    for (const s of input.scaling) {
      y += 24;
      text(16, y + 4, `${s.partitions.toLocaleString('en-US')} partitions`);
      if (s.peakRssMB === null) {
        text(left, y + 4, s.error ?? 'not measured', 'fill="#c62828"');
        continue;
      }
      const over = input.rssTargetMB !== undefined && s.partitions === 1000 && s.peakRssMB > input.rssTargetMB;
      out.push(`<rect x="${left}" y="${y - 8}" width="${Math.max(1, s.peakRssMB * sc).toFixed(1)}" height="16" fill="${over ? '#c62828' : '#6a1b9a'}" opacity="0.8"/>`);
      text(left + s.peakRssMB * sc + 6, y + 4, `${Math.round(s.peakRssMB)} MB · ${s.cpuSecPerGB === null ? '-' : s.cpuSecPerGB.toFixed(2)} CPU-s/GB · ${s.mbps === null ? '-' : Math.round(s.mbps)} MB/s`, 'fill="#333"');
    }
    if (input.rssTargetMB !== undefined) {
      const tx = left + input.rssTargetMB * sc;
      out.push(`<line x1="${tx.toFixed(1)}" y1="${top}" x2="${tx.toFixed(1)}" y2="${y + 12}" stroke="#000" stroke-dasharray="5 3"/>`);
      text(tx - 40, y + 26, `target ${input.rssTargetMB} MB (1,000 partitions)`, 'fill="#333" font-size="11"');
    }
    y += 30;
  }
  y += 16;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}">\n<rect width="100%" height="100%" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`;
}

function fmt(ms: number): string {
  if (ms >= 100) return String(Math.round(ms));
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

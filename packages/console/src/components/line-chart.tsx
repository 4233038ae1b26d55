/** A small SVG line chart: no library, a few lines, a labelled axis; the page adds a table for screen readers. */
import { visibleText } from '../format.js';
import type { Series } from '../metrics.js';

const COLOURS = ['#1f5fbf', '#b3261e', '#1b7f3b', '#8a4fbf', '#a15c00', '#4d5b6a'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '4 4', '1 2'];

export function LineChart({ title, series, times, format }: {
  title: string;
  series: readonly Series[];
  /** Epoch seconds of each value's bucket. */
  times: readonly number[];
  format: (value: number) => string;
}) {
  const width = 560;
  const height = 200;
  const left = 48;
  const bottom = 22;
  const top = 8;
  const max = Math.max(0, ...series.flatMap((s) => s.values));
  const scaleMax = max === 0 ? 1 : niceCeiling(max);
  const x = (i: number) => left + (times.length <= 1 ? 0 : (i / (times.length - 1)) * (width - left - 8));
  const y = (v: number) => top + (1 - v / scaleMax) * (height - top - bottom);
  const clock = (t: number | undefined) => (t === undefined ? '' : new Date(t * 1000).toTimeString().slice(0, 5));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: ${series.map((s) => visibleText(s.name)).join(', ') || 'no data'}`}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={left} x2={width - 8} y1={y(scaleMax * f)} y2={y(scaleMax * f)} className="grid-line" />
            <text x={left - 6} y={y(scaleMax * f) + 4} textAnchor="end" className="axis">{format(scaleMax * f)}</text>
          </g>
        ))}
        <text x={left} y={height - 6} className="axis">{clock(times[0])}</text>
        <text x={width - 8} y={height - 6} textAnchor="end" className="axis">{clock(times[times.length - 1])}</text>
        {series.map((s, n) => (
          <polyline key={s.name} fill="none" stroke={COLOURS[n % COLOURS.length]} strokeWidth={2} strokeDasharray={DASHES[n % DASHES.length]}
            points={s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} />
        ))}
      </svg>
      <ul className="legend">
        {series.map((s, n) => (
          <li key={s.name}>
            <svg width="28" height="10" aria-hidden="true"><line x1="0" x2="28" y1="5" y2="5" stroke={COLOURS[n % COLOURS.length]} strokeWidth={2} strokeDasharray={DASHES[n % DASHES.length]} /></svg>
            {visibleText(s.name)}
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** An axis label: whole numbers as they are, small rates with two significant digits. */
export function formatRate(value: number): string {
  if (value === 0) return '0';
  if (value >= 10) return value.toFixed(0);
  return Number(value.toPrecision(2)).toString();
}

/** 1, 2 or 5 times a power of ten, at least `value`: round axis labels. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from './theme';

export interface ChartSeries {
  label: string;
  /** One value per point; null where there is none (a gap). */
  values: (number | null)[];
}

const COLORS = ['--chart-1', '--chart-2', '--chart-3', '--chart-4'];

function cssColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * A time-series chart (uPlot, on a canvas) with its own legend in HTML, so that screen readers and
 * the colour key do not depend on the canvas. `times` are the points' starts, in ms.
 */
export function TimeChart({
  title,
  times,
  series,
  format,
  sparse = false,
}: {
  title: string;
  times: number[];
  series: ChartSeries[];
  format: (value: number) => string;
  /** Values exist only in some buckets (latency, error rate): mark each point and join across gaps. */
  sparse?: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const theme = useTheme();
  const data: uPlot.AlignedData = [times.map((ms) => ms / 1000), ...series.map((entry) => entry.values)];

  // Made again when the theme or the set of series changes (colours are read from CSS); otherwise only fed new data.
  const shape = `${theme.resolved}|${sparse}|${series.map((entry) => entry.label).join('|')}`;
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const text = cssColor('--text-muted');
    const grid = cssColor('--grid');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [axis, { ...axis, size: 68, values: (_u, ticks) => ticks.map(format) }],
      series: [
        {},
        ...series.map((entry, index) => {
          const stroke = cssColor(COLORS[index % COLORS.length]!);
          return { label: entry.label, stroke, width: 2, spanGaps: sparse, points: sparse ? { show: true, size: 6, fill: stroke, stroke } : { show: false } };
        }),
      ],
    };
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 200), height: 180 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = undefined;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const last = (values: (number | null)[]) => values.findLast((value) => value !== null) ?? null;
  const peak = (values: (number | null)[]) => Math.max(0, ...values.filter((value) => value !== null));
  return (
    <figure class="chart">
      <figcaption>
        <span class="chart-title">{title}</span>
        <ul class="legend">
          {series.map((entry, index) => (
            <li key={entry.label}>
              <span class={`swatch swatch-${(index % COLORS.length) + 1}`} aria-hidden="true" />
              {entry.label}: {last(entry.values) === null ? '—' : format(last(entry.values)!)} now, peak {format(peak(entry.values))}
            </li>
          ))}
        </ul>
      </figcaption>
      <div class="chart-canvas" ref={host} aria-hidden="true" data-chart={title} />
    </figure>
  );
}

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTime = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

const metric = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

export const formatNumber = (value: number): string => number.format(value);
/** A model metric (AUC, F1, …): three decimals tell versions apart. */
export const formatMetric = (value: number): string => metric.format(value);
export const formatTime = (iso: string): string => time.format(new Date(iso));
export const formatDateTime = (iso: string | null | undefined): string => (iso ? dateTime.format(new Date(iso)) : '—');

/** A duration in ms, in the unit that reads best. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${number.format(ms)} ms`;
  if (ms < 60_000) return `${number.format(ms / 1000)} s`;
  return `${number.format(ms / 60_000)} min`;
}

export function formatPercent(share: number | null): string {
  return share === null ? '—' : `${number.format(share * 100)} %`;
}

export const shortId = (id: string): string => id.slice(0, 8);

import type { Schemas } from '@portico/client';
import { unwrap } from '@portico/client';
import { useState } from 'preact/hooks';
import { TimeChart } from '../chart';
import { formatDuration, formatNumber, formatPercent, formatTime } from '../format';
import { dataOf, useLoad } from '../hooks';
import { can, type Session } from '../session';
import { InlineField, Loading, ProblemView, Select } from '../ui';

type Window = Schemas['StatsWindow'];
type TaskType = Schemas['Stats']['task_type'];
const WINDOWS: Record<Window, string> = { '15m': 'Last 15 minutes', '1h': 'Last hour', '6h': 'Last 6 hours', '24h': 'Last 24 hours' };
const TASK_TYPES: Record<TaskType, string> = { inference: 'Inference', training: 'Training' };
/** How often the figures are read again: the smallest bucket is a minute, so this is plenty. */
const REFRESH_MS = 10_000;

export function OverviewView({ session }: { session: Session }) {
  const [span, setSpan] = useState<Window>('1h');
  const [taskType, setTaskType] = useState<TaskType>('inference');
  const [stats, reload] = useLoad(
    (signal) => unwrap(session.client.GET('/stats', { params: { query: { window: span, task_type: taskType } }, signal })),
    [span, taskType],
    REFRESH_MS,
  );
  const data = dataOf(stats);

  return (
    <section aria-labelledby="overview-title">
      <div class="view-head">
        <h1 id="overview-title">Overview</h1>
        <div class="toolbar">
          <InlineField label="Window">
            <Select value={span} options={WINDOWS} onChange={(picked) => picked && setSpan(picked)} />
          </InlineField>
          <InlineField label="Tasks">
            <Select value={taskType} options={TASK_TYPES} onChange={(picked) => picked && setTaskType(picked)} />
          </InlineField>
        </div>
      </div>
      <p class="muted small">
        {data ? `${data.owner === null ? 'Every owner' : `Owner ${data.owner}`} · ${formatTime(data.from)} – ${formatTime(data.to)} · refreshed every ${REFRESH_MS / 1000} s` : ''}
        {can(session, 'admin') ? '' : ' · figures of your key’s owner only'}
      </p>
      {stats.state === 'failed' ? <ProblemView error={stats.error} onRetry={reload} /> : null}
      {data ? <Figures stats={data} /> : stats.state === 'loading' ? <Loading label="Loading figures…" /> : null}
    </section>
  );
}

function Figures({ stats }: { stats: Schemas['Stats'] }) {
  const perMinute = stats.bucket_seconds / 60;
  const minutes = stats.points.length * perMinute;
  const rate = (count: number) => count / perMinute;
  const times = stats.points.map((point) => Date.parse(point.start));
  const { totals } = stats;
  const errorShare = (errors: number, requests: number) => (requests === 0 ? null : errors / requests);
  const share = (point: Schemas['StatsPoint'], field: 'client_errors' | 'server_errors') => (point.requests === 0 ? null : point[field] / point.requests);
  const active = stats.tasks_active;
  // The last bucket is still filling: "now" is the one before it.
  const settled = stats.points.at(-2);

  return (
    <>
      <ul class="cards" aria-label="Key figures">
        <li class="card stat">
          <span class="stat-label">Events per minute</span>
          <span class="stat-value">{formatNumber(rate(settled?.events_received ?? 0))}</span>
          <span class="muted small">
            {formatNumber(totals.events_received)} in the window · {formatNumber(totals.events_received / minutes)} a minute on average
          </span>
        </li>
        <li class="card stat">
          <span class="stat-label">Tasks by state</span>
          <span class="stat-value">
            {active.PENDING + active.STARTED + active.RETRY} <span class="stat-unit">not ended</span>
          </span>
          <span class="muted small">
            {active.PENDING} pending · {active.STARTED} started · {active.RETRY} retrying
            <br />
            {totals.tasks_succeeded} succeeded · {totals.tasks_failed} failed · {totals.tasks_revoked} revoked
          </span>
        </li>
        <li class="card stat">
          <span class="stat-label">Task latency</span>
          <span class="stat-value">{formatDuration(totals.latency_p50_ms)}</span>
          <span class="muted small">median · p95 {formatDuration(totals.latency_p95_ms)}</span>
        </li>
        <li class="card stat">
          <span class="stat-label">Gateway tokens per minute</span>
          <span class="stat-value">{formatNumber(rate(settled?.gateway_tokens ?? 0))}</span>
          <span class="muted small">
            {formatNumber(totals.gateway_tokens)} in the window · {formatNumber(totals.gateway_tokens / minutes)} a minute on average
          </span>
        </li>
        <li class="card stat">
          <span class="stat-label">Error rate</span>
          <span class="stat-value">{formatPercent(errorShare(totals.server_errors, totals.requests))}</span>
          <span class="muted small">
            5xx of {formatNumber(totals.requests)} answers · 4xx {formatPercent(errorShare(totals.client_errors, totals.requests))}
          </span>
        </li>
      </ul>
      <div class="charts">
        <TimeChart title="Events per minute" times={times} format={formatNumber} series={[{ label: 'received', values: stats.points.map((point) => rate(point.events_received)) }]} />
        <TimeChart
          title={`${TASK_TYPES[stats.task_type]} tasks per minute`}
          times={times}
          format={formatNumber}
          series={[
            { label: 'started', values: stats.points.map((point) => rate(point.tasks_started)) },
            { label: 'succeeded', values: stats.points.map((point) => rate(point.tasks_succeeded)) },
            { label: 'failed', values: stats.points.map((point) => rate(point.tasks_failed)) },
            { label: 'revoked', values: stats.points.map((point) => rate(point.tasks_revoked)) },
          ]}
        />
        <TimeChart
          title="Task latency, created to finished"
          times={times}
          sparse
          format={formatDuration}
          series={[
            { label: 'p50', values: stats.points.map((point) => point.latency_p50_ms) },
            { label: 'p95', values: stats.points.map((point) => point.latency_p95_ms) },
          ]}
        />
        <TimeChart title="Gateway tokens per minute" times={times} format={formatNumber} series={[{ label: 'tokens', values: stats.points.map((point) => rate(point.gateway_tokens)) }]} />
        <TimeChart
          title="Error rate (this process)"
          times={times}
          sparse
          format={(value) => formatPercent(value)}
          series={[
            { label: '5xx', values: stats.points.map((point) => share(point, 'server_errors')) },
            { label: '4xx', values: stats.points.map((point) => share(point, 'client_errors')) },
          ]}
        />
      </div>
    </>
  );
}

import { type Schemas, unwrap } from '@portico/client';
import { useState } from 'preact/hooks';
import { formatDateTime, formatMetric, formatNumber, formatPercent } from '../format';
import { dataOf, useAction, useLoad } from '../hooks';
import { can, type Session } from '../session';
import { Badge, DataTable, Dialog, Empty, Field, Loading, ProblemView } from '../ui';

type Model = Schemas['Model'];
type Metrics = NonNullable<Model['metrics']>;
const METRICS: readonly { field: keyof Metrics; label: string }[] = [
  { field: 'auc', label: 'AUC' },
  { field: 'accuracy', label: 'Accuracy' },
  { field: 'f1', label: 'F1' },
  { field: 'log_loss', label: 'Log loss' },
];

/** The models and their offline figures are read again now and then: training may add a version. */
const REFRESH_MS = 10_000;

type Activation = Schemas['ModelActivationEvent'];
type Status = Model['status'];
const STATUS_TONE: Record<Status, 'good' | 'info' | 'muted' | 'bad'> = { active: 'good', challenger: 'info', standby: 'muted', retired: 'muted', rejected: 'bad' };
const STATUS_LABEL: Record<Status, string> = { active: 'champion', challenger: 'challenger', standby: 'standby', retired: 'retired', rejected: 'rejected' };
const CHANGES: Record<Activation['change'], string> = { activated: 'Activated', challenger_started: 'Challenger started', promoted: 'Promoted', retired: 'Retired' };
const REASONS: Record<Activation['reason'], string> = { initial: 'first start', offline: 'hold-out figures', online: 'online test', manual: 'by hand' };
/** Activations shown: the newest page; older ones stay a call away (GET /models/activations). */
const HISTORY_LIMIT = 50;

const orNone = (value: number | null, format: (value: number) => string) => (value === null ? '—' : format(value));

export function ModelsView({ session }: { session: Session }) {
  const [models, reload] = useLoad(async (signal) => (await unwrap(session.client.GET('/models', { params: { query: { limit: 100 } }, signal }))).items, [], REFRESH_MS);
  const [activations, reloadHistory] = useLoad(
    async (signal) => (await unwrap(session.client.GET('/models/activations', { params: { query: { limit: HISTORY_LIMIT } }, signal }))).items,
    [],
    REFRESH_MS,
  );
  const [confirming, setConfirming] = useState<Model | undefined>(undefined);
  const [reason, setReason] = useState('');
  const activate = useAction(async (model: Model) => {
    const note = reason.trim();
    await unwrap(session.client.POST('/models/{model_id}/activate', { params: { path: { model_id: model.model_id } }, body: note ? { reason: note } : {} }));
    setConfirming(undefined);
    setReason('');
    reload();
    reloadHistory();
  });
  const list = dataOf(models);
  const mayActivate = can(session, 'models:manage');
  const champion = list?.find((model) => model.active);
  const challenger = list?.find((model) => model.status === 'challenger');

  return (
    <section aria-labelledby="models-title">
      <div class="view-head">
        <h1 id="models-title">Models</h1>
      </div>
      {models.state === 'failed' ? <ProblemView error={models.error} onRetry={reload} /> : null}
      {list === undefined ? (
        models.state === 'loading' ? <Loading label="Loading models…" /> : null
      ) : list.length === 0 ? (
        <Empty title="No model versions">The service creates version 1 at its first start.</Empty>
      ) : (
        <>
          <ul class="cards" aria-label="Serving">
            <li class="card stat">
              <span class="stat-label">Champion (serving)</span>
              <span class="stat-value">{champion ? `v${champion.version}` : '—'}</span>
              <span class="muted small">{champion ? `${champion.kind} · since ${formatDateTime(champion.activated_at)}` : 'No version is active'}</span>
            </li>
            <li class="card stat">
              <span class="stat-label">Challenger</span>
              <span class="stat-value">{challenger ? `v${challenger.version}` : '—'}</span>
              <span class="muted small">
                {challenger?.online_test
                  ? `MRR ${orNone(challenger.online_test.challenger.mrr, formatMetric)} over ${formatNumber(challenger.online_test.challenger.feedback)} answers vs ${orNone(challenger.online_test.champion.mrr, formatMetric)} over ${formatNumber(challenger.online_test.champion.feedback)}; evidence ${orNone(challenger.online_test.likelihood_ratio, formatMetric)} of ${formatNumber(challenger.online_test.threshold)} needed`
                  : 'No challenger: every task is served by the champion.'}
              </span>
            </li>
          </ul>
          <DataTable label="Model versions" columns={[
              'Version',
              'Kind',
              'Status',
              'Labels',
              ...METRICS.map((metric) => metric.label),
              { label: 'Tasks', title: 'Inference tasks it ranked' },
              { label: 'Selection rate', title: 'Answers that picked a location' },
              { label: 'Hit@10', title: 'Answers whose pick was in its top 10' },
              { label: 'MRR', title: 'Mean reciprocal rank of the pick' },
              'Created',
              { label: 'Actions', hidden: true },
            ]}>
            {list.map((model) => (
              <tr key={model.model_id} data-model-version={model.version}>
                <td>v{model.version}</td>
                <td>{model.kind}</td>
                <td>
                  <Badge tone={STATUS_TONE[model.status]}>{STATUS_LABEL[model.status]}</Badge>
                </td>
                <td>{formatNumber(model.labels_used)}</td>
                {METRICS.map((metric) => (
                  <td key={metric.field}>{model.metrics ? formatMetric(model.metrics[metric.field]) : '—'}</td>
                ))}
                <td>{formatNumber(model.online.tasks)}</td>
                <td>{formatPercent(model.online.selection_rate)}</td>
                <td>{formatPercent(model.online.hit_rate_at_k)}</td>
                <td>{orNone(model.online.mrr, formatMetric)}</td>
                <td>{formatDateTime(model.created_at)}</td>
                <td>
                  {mayActivate && !model.active ? (
                    <button type="button" class="button" onClick={() => setConfirming(model)}>
                      Activate
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
          <h2>Activation history</h2>
          {activations.state === 'failed' ? <ProblemView error={activations.error} onRetry={reloadHistory} /> : null}
          <History entries={dataOf(activations)} />
        </>
      )}
      <Dialog title={confirming ? `Activate version ${confirming.version}?` : ''} open={confirming !== undefined} onClose={() => setConfirming(undefined)}>
        {confirming ? (
          <form
            method="dialog"
            onSubmit={(event) => {
              event.preventDefault();
              void activate.run(confirming);
            }}
          >
            <p>
              Every inference task started from now on is scored by v{confirming.version}
              {champion ? ` instead of v${champion.version}` : ''}; tasks already running finish with the model they started with. Activating an earlier version is how to roll back.
            </p>
            <Field label="Reason" hint="Kept in the activation history with your key, e.g. why you roll back.">
              <textarea class="input" rows={2} maxLength={500} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
            </Field>
            {activate.error !== undefined ? <ProblemView error={activate.error} /> : null}
            <div class="actions">
              <button type="button" class="button button-quiet" onClick={() => setConfirming(undefined)}>
                Cancel
              </button>
              <button type="submit" class="button button-primary" disabled={activate.busy}>
                {activate.busy ? 'Activating…' : `Activate v${confirming.version}`}
              </button>
            </div>
          </form>
        ) : null}
      </Dialog>
    </section>
  );
}

function History({ entries }: { entries: Activation[] | undefined }) {
  if (entries === undefined) return <Loading label="Loading the history…" />;
  if (entries.length === 0) return <Empty title="No activations recorded yet">A version trained with POST /train/start, or activated here, appears in this list.</Empty>;
  return (
    <ol class="timeline" aria-label="Activation history">
      {entries.map((entry) => (
        <li key={entry.activation_id} data-activation={entry.change}>
          <Badge tone={entry.change === 'retired' ? 'muted' : 'info'}>v{entry.version}</Badge>
          <time dateTime={entry.activated_at}>{formatDateTime(entry.activated_at)}</time>
          <span class="small">
            {CHANGES[entry.change]} ({REASONS[entry.reason]}
            {entry.previous_version === null ? '' : `, previously v${entry.previous_version}`}) by {entry.actor === 'auto' ? 'the service' : <code>{entry.actor}</code>}
            {entry.note ? <>: {entry.note}</> : null}
          </span>
        </li>
      ))}
    </ol>
  );
}

import { type Schemas, unwrap } from '@portico/client';
import { useState } from 'preact/hooks';
import { formatDateTime, formatNumber } from '../format';
import { dataOf, useAction, useLoad } from '../hooks';
import type { Scope, Session } from '../session';
import { Badge, DataTable, Dialog, Empty, Field, Loading, ProblemView, Progress, Select } from '../ui';

type ApiKey = Schemas['ApiKey'];
type Created = Schemas['ApiKeyCreated'];

// Keyed by the spec's Scope enum: a new scope fails to compile here until it is described.
const SCOPES: Record<Scope, string> = {
  'events:read': 'List and stream events',
  'events:write': 'Send events',
  'inference:run': 'Start and cancel inference tasks',
  'inference:read': 'Read tasks, results and models',
  'models:train': 'Train model versions',
  'models:manage': 'Activate model versions',
  chat: 'Chat with the language model',
  admin: 'Everything, including keys and content',
};
const STATUS_TONE: Record<ApiKey['status'], 'good' | 'muted' | 'bad'> = { active: 'good', expired: 'muted', revoked: 'bad' };
type Period = NonNullable<Schemas['ApiKeyCreate']['budget_period']>;
const PERIODS: Record<Period, string> = { day: 'per day', week: 'per week', month: 'per month' };
/** How often the list is read again, for the tokens each key used this period. */
const REFRESH_MS = 15_000;

/** A key's budget: tokens used of its allowance this period (the key's `usage`), as a bar, or its usage without one. */
function Budget({ apiKey }: { apiKey: ApiKey }) {
  const spent = apiKey.usage.total_tokens;
  const limits = apiKey.tokens_per_minute === null ? null : <span class="muted small">{formatNumber(apiKey.tokens_per_minute)} tokens/min</span>;
  if (apiKey.token_budget === null) {
    return (
      <span class="stack">
        <span>{`${formatNumber(spent)} tokens this month`}</span>
        {limits}
      </span>
    );
  }
  return (
    <span class="stack" data-budget>
      <span>
        {formatNumber(spent)} of {formatNumber(apiKey.token_budget)} {PERIODS[apiKey.usage.period]}
      </span>
      <Progress value={Math.min(1, spent / apiKey.token_budget)} label={`${apiKey.name}: budget used`} />
      {limits}
    </span>
  );
}

export function KeysView({ session }: { session: Session }) {
  const [pages, setPages] = useState(1);
  const [keys, reload] = useLoad(
    async (signal) => {
      const items: ApiKey[] = [];
      let cursor: string | undefined;
      let more = false;
      for (let page = 0; page < pages; page++) {
        const data = await unwrap(session.client.GET('/admin/api-keys', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } }, signal }));
        items.push(...data.items);
        cursor = data.next_cursor ?? undefined;
        more = cursor !== undefined;
        if (!more) break;
      }
      return { items, more };
    },
    [pages],
    REFRESH_MS,
  );
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | undefined>(undefined);
  const [revoking, setRevoking] = useState<ApiKey | undefined>(undefined);
  const revoke = useAction(async (key: ApiKey) => {
    await unwrap(session.client.DELETE('/admin/api-keys/{key_id}', { params: { path: { key_id: key.key_id } } }));
    setRevoking(undefined);
    reload();
  });
  const data = dataOf(keys);

  return (
    <section aria-labelledby="keys-title">
      <div class="view-head">
        <h1 id="keys-title">API keys</h1>
        <div class="toolbar">
          <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
            Create key
          </button>
        </div>
      </div>
      {keys.state === 'failed' ? <ProblemView error={keys.error} onRetry={reload} /> : null}
      {data === undefined ? (
        keys.state === 'loading' ? <Loading label="Loading keys…" /> : null
      ) : data.items.length === 0 ? (
        <Empty title="No keys">Create one for each client: it gets only the scopes it needs.</Empty>
      ) : (
        <>
          <DataTable label="API keys" columns={['Name', 'Owner', 'Scopes', 'Models', { label: 'Tokens', title: 'Gateway tokens used this budget period (the key\'s usage), against the budget' }, 'Status', 'Rate limit', 'Last used', 'Expires', { label: 'Actions', hidden: true }]}>
            {data.items.map((key) => (
              <tr key={key.key_id} data-key-id={key.key_id}>
                <td>
                  {key.name}
                  <br />
                  <code class="muted small">{key.token_hint}</code>
                </td>
                <td>{key.owner}</td>
                <td>
                  <span class="chips">
                    {key.scopes.map((scope) => (
                      <span class="chip" key={scope} title={SCOPES[scope]}>
                        {scope}
                      </span>
                    ))}
                  </span>
                </td>
                <td>
                  {key.models === null ? (
                    <span class="muted">all</span>
                  ) : (
                    <span class="chips">
                      {key.models.map((model) => (
                        <span class="chip" key={model}>
                          {model}
                        </span>
                      ))}
                    </span>
                  )}
                </td>
                <td>
                  <Budget apiKey={key} />
                </td>
                <td>
                  <Badge tone={STATUS_TONE[key.status]}>{key.status}</Badge>
                </td>
                <td>{key.rate_limit_per_minute === null ? 'default' : key.rate_limit_per_minute === 0 ? 'none' : `${key.rate_limit_per_minute}/min`}</td>
                <td>{formatDateTime(key.last_used_at)}</td>
                <td>{formatDateTime(key.expires_at)}</td>
                <td>
                  {key.status === 'active' && key.key_id !== session.key.key_id ? (
                    <button type="button" class="button button-danger" onClick={() => setRevoking(key)}>
                      Revoke
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
          {data.more ? (
            <button type="button" class="button" onClick={() => setPages(pages + 1)}>
              Show more
            </button>
          ) : null}
        </>
      )}
      <CreateKey
        session={session}
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(key) => {
          setCreating(false);
          setCreated(key);
          reload();
        }}
      />
      <Dialog title="Keep this token now" open={created !== undefined} onClose={() => setCreated(undefined)}>
        {created ? (
          <>
            <p>
              The key <strong>{created.name}</strong> for owner <strong>{created.owner}</strong> is ready. Its token is shown only this once; the service keeps only a hash.
            </p>
            <code class="token" data-token>
              {created.token}
            </code>
            <div class="actions">
              <button type="button" class="button" onClick={() => void navigator.clipboard?.writeText(created.token)}>
                Copy
              </button>
              <button type="button" class="button button-primary" onClick={() => setCreated(undefined)}>
                Done
              </button>
            </div>
          </>
        ) : null}
      </Dialog>
      <Dialog title={revoking ? `Revoke “${revoking.name}”?` : ''} open={revoking !== undefined} onClose={() => setRevoking(undefined)}>
        {revoking ? (
          <>
            <p>Every process of the service refuses it within a second. This cannot be undone; a client using it needs a new key.</p>
            {revoke.error !== undefined ? <ProblemView error={revoke.error} /> : null}
            <div class="actions">
              <button type="button" class="button button-quiet" onClick={() => setRevoking(undefined)}>
                Cancel
              </button>
              <button type="button" class="button button-danger" onClick={() => void revoke.run(revoking)} disabled={revoke.busy}>
                {revoke.busy ? 'Revoking…' : 'Revoke'}
              </button>
            </div>
          </>
        ) : null}
      </Dialog>
    </section>
  );
}

function CreateKey({ session, open, onClose, onCreated }: { session: Session; open: boolean; onClose: () => void; onCreated: (key: Created) => void }) {
  const [name, setName] = useState('');
  const [owner, setOwner] = useState('');
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [models, setModels] = useState('');
  const [budget, setBudget] = useState('');
  const [period, setPeriod] = useState<Period>('month');
  const [perMinute, setPerMinute] = useState('');
  const create = useAction(async () => {
    const modelList = [...new Set(models.split(',').map((model) => model.trim()).filter((model) => model !== ''))];
    const key = await unwrap(
      session.client.POST('/admin/api-keys', {
        body: {
          name: name.trim(),
          scopes,
          ...(owner.trim() ? { owner: owner.trim() } : {}),
          ...(modelList.length > 0 ? { models: modelList } : {}),
          ...(budget !== '' ? { token_budget: Number(budget), budget_period: period } : {}),
          ...(perMinute !== '' ? { tokens_per_minute: Number(perMinute) } : {}),
        },
      }),
    );
    setName('');
    setOwner('');
    setScopes([]);
    setModels('');
    setBudget('');
    setPerMinute('');
    onCreated(key);
  });
  const toggle = (scope: Scope, on: boolean) => setScopes(on ? [...scopes, scope] : scopes.filter((held) => held !== scope));

  return (
    <Dialog title="Create an API key" open={open} onClose={onClose}>
      <form
        class="form"
        onSubmit={(event) => {
          event.preventDefault();
          void create.run();
        }}
      >
        <Field label="Name" hint="A label for people, e.g. the client that uses it.">
          <input class="input" required maxLength={100} value={name} onInput={(event) => setName(event.currentTarget.value)} />
        </Field>
        <Field label="Owner" hint="The tenant it acts for; leave empty to give the key an owner of its own.">
          <input class="input" maxLength={100} pattern="[A-Za-z0-9._:@\-]+" value={owner} onInput={(event) => setOwner(event.currentTarget.value)} />
        </Field>
        <fieldset class="scopes">
          <legend>Scopes</legend>
          {(Object.entries(SCOPES) as [Scope, string][]).map(([scope, description]) => (
            <label key={scope} class="check">
              <input type="checkbox" checked={scopes.includes(scope)} onChange={(event) => toggle(scope, event.currentTarget.checked)} />
              <span>
                <code>{scope}</code> <span class="muted small">{description}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <Field label="Models" hint="Gateway models it may use, separated by commas, as GET /v1/models lists them; empty for all.">
          <input class="input" value={models} onInput={(event) => setModels(event.currentTarget.value)} placeholder="all" />
        </Field>
        <div class="field-row">
          <Field label="Token budget" hint="Prompt plus completion tokens; empty for none.">
            <input class="input" type="number" min={1} step={1} inputMode="numeric" value={budget} onInput={(event) => setBudget(event.currentTarget.value)} />
          </Field>
          <Field label="Budget period" hint="UTC calendar periods; weeks start on Monday.">
            <Select value={period} options={PERIODS} onChange={(picked) => picked && setPeriod(picked)} />
          </Field>
        </div>
        <Field label="Tokens per minute" hint="Empty for no per-minute limit.">
          <input class="input" type="number" min={1} step={1} inputMode="numeric" value={perMinute} onInput={(event) => setPerMinute(event.currentTarget.value)} />
        </Field>
        {create.error !== undefined ? <ProblemView error={create.error} /> : null}
        <div class="actions">
          <button type="button" class="button button-quiet" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={create.busy || scopes.length === 0 || name.trim() === ''}>
            {create.busy ? 'Creating…' : 'Create key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

import { type LiveEvent, liveEvents, type Schemas } from '@portico/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatTime } from '../format';
import { isAbort } from '../problems';
import type { Session } from '../session';
import { Badge, DataTable, Empty, Field, ProblemView, Select } from '../ui';

type Source = Schemas['EventSource'];
const SOURCES: Record<Source, string> = { client: 'Sent by clients', system: 'Recorded by the service' };
/** Rows kept on screen; older ones drop off the bottom. */
const KEPT = 500;

/**
 * A live tail of committed events over the SDK's resuming stream. Pausing closes the stream and
 * remembers the last event's position; resuming reopens it there, so nothing is missed or repeated
 * however long the pause.
 */
export function EventsView({ session }: { session: Session }) {
  const [eventType, setEventType] = useState('');
  const [appliedType, setAppliedType] = useState('');
  const [source, setSource] = useState<Source | ''>('');
  const [paused, setPaused] = useState(false);
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [connected, setConnected] = useState(false);
  const lastEventId = useRef<string | undefined>(undefined);

  useEffect(() => {
    if (paused) return;
    const controller = new AbortController();
    setError(undefined);
    setConnected(false);
    void (async () => {
      try {
        const options = { signal: controller.signal, onOpen: () => setConnected(true), ...(appliedType ? { eventType: appliedType } : {}), ...(lastEventId.current ? { lastEventId: lastEventId.current } : {}) };
        for await (const event of liveEvents(session.client, options)) {
          lastEventId.current = event.id;
          setEvents((previous) => [event, ...previous].slice(0, KEPT));
        }
      } catch (caught) {
        if (!isAbort(caught)) {
          setError(caught);
          setConnected(false);
        }
      }
    })();
    return () => controller.abort();
  }, [paused, appliedType]);

  const shown = source === '' ? events : events.filter((event) => event.data.source === source);
  const applyType = (event: Event) => {
    event.preventDefault();
    // A new filter is a new tail: positions of the old one would skip the new type's earlier events.
    lastEventId.current = undefined;
    setEvents([]);
    setAppliedType(eventType.trim());
  };

  return (
    <section aria-labelledby="events-title">
      <div class="view-head">
        <h1 id="events-title">Events</h1>
        <div class="toolbar">
          <span class="live" role="status">
            <span class={`dot ${paused ? 'dot-paused' : connected && error === undefined ? 'dot-live' : 'dot-off'}`} aria-hidden="true" />
            {paused ? 'Paused' : error !== undefined ? 'Disconnected' : connected ? 'Live' : 'Connecting…'} · {shown.length} shown
          </span>
          <button type="button" class="button" onClick={() => setPaused(!paused)} aria-pressed={paused}>
            {paused ? 'Resume' : 'Pause'}
          </button>
        </div>
      </div>
      <form class="filters" onSubmit={applyType}>
        <Field label="Event type">
          <input class="input" value={eventType} onInput={(event) => setEventType(event.currentTarget.value)} placeholder="any" maxLength={100} />
        </Field>
        <Field label="Source">
          <Select value={source} options={SOURCES} onChange={setSource} any="Any" />
        </Field>
        <button type="submit" class="button">
          Apply
        </button>
      </form>
      {error !== undefined ? <ProblemView error={error} onRetry={() => setPaused(false)} /> : null}
      {shown.length === 0 ? (
        <Empty title={paused ? 'Paused' : 'Waiting for events…'}>Events appear here as they are committed{appliedType ? ` (type ${appliedType})` : ''}.</Empty>
      ) : (
        <DataTable label="Live events" columns={['Received', 'Type', 'Source', 'Owner', 'Data']}>
          {shown.map((event) => (
            <tr key={event.id} data-event-id={event.data.event_id}>
              <td>{formatTime(event.data.received_at)}</td>
              <td>{event.data.event_type}</td>
              <td>
                <Badge tone={event.data.source === 'client' ? 'info' : 'muted'}>{event.data.source}</Badge>
              </td>
              <td>{event.data.owner}</td>
              <td>
                <code class="json">{JSON.stringify(event.data.event_data).slice(0, 200)}</code>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

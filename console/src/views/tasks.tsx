import { isTerminal, liveEvents, type PorticoClient, type Schemas, type TaskEvent, taskEvents, type TaskKind, unwrap } from '@portico/client';
import { useEffect, useState } from 'preact/hooks';
import { formatDateTime, formatDuration, formatTime, shortId } from '../format';
import { dataOf, useAction, useLoad } from '../hooks';
import { isAbort } from '../problems';
import { href, navigate } from '../router';
import { can, type Session } from '../session';
import { DataTable, Empty, InlineField, Loading, ProblemView, Progress, Select, StateBadge } from '../ui';

type TaskStatus = Schemas['TaskStatus'];
type TaskState = Schemas['TaskState'];
type Frame = Schemas['TaskEventFrame'];

// Records keyed by the spec's enums: a value added there fails to compile here until it is shown.
const STATES: Record<TaskState, string> = { PENDING: 'Pending', STARTED: 'Started', RETRY: 'Retrying', SUCCESS: 'Succeeded', FAILURE: 'Failed', REVOKED: 'Revoked' };
const KINDS: Record<TaskKind, string> = { inference: 'Inference', training: 'Training' };
/** The list has no stream of its own: it is read again this often, and running tasks are followed live. */
const LIST_REFRESH_MS = 1500;
/**
 * Running tasks followed by their event streams at once: with the selected task's and the new-task
 * stream, at most 4 of the 6 connections a browser opens to one host over HTTP/1.1.
 */
const FOLLOWED = 2;

const NEW_TASK_COALESCE_MS = 200;
/** The system event the service records when a task of each kind starts (seed 003's event log). */
const STARTED_EVENT: Record<TaskKind, string> = { inference: 'inference_start', training: 'training' };

/** Who may do what with a kind of task: listing, and starting (retry) or cancelling. */
const SCOPES = { inference: { read: 'inference:read', run: 'inference:run' }, training: { read: 'models:train', run: 'models:train' } } as const;

function listTasks(client: PorticoClient, kind: TaskKind, state: TaskState | '', signal: AbortSignal) {
  const query = { limit: 50, ...(state === '' ? {} : { status: state }) };
  return kind === 'inference' ? unwrap(client.GET('/inference', { params: { query }, signal })) : unwrap(client.GET('/train', { params: { query }, signal }));
}

function getTask(client: PorticoClient, kind: TaskKind, taskId: string, signal: AbortSignal) {
  const init = { params: { path: { task_id: taskId } }, signal };
  return kind === 'inference' ? unwrap(client.GET('/inference/status/{task_id}', init)) : unwrap(client.GET('/train/status/{task_id}', init));
}

/** A task as its latest frame shows it, over what the list said. */
function withFrame(task: TaskStatus, frame: Frame | undefined): TaskStatus {
  return frame ? { ...task, status: frame.status, progress: frame.progress } : task;
}

/** Follows the streams of a few running tasks, so their rows move as soon as a worker reports. */
function useFollowed(client: PorticoClient, kind: TaskKind, taskIds: string[], onFrame: (frame: Frame) => void) {
  const key = taskIds.join(',');
  useEffect(() => {
    const controller = new AbortController();
    for (const taskId of taskIds) {
      void (async () => {
        try {
          for await (const event of taskEvents(client, kind, taskId, { signal: controller.signal })) onFrame(event.data);
        } catch {
          // Stopped, or broke off: the list's next read shows the task anyway.
        }
      })();
    }
    return () => controller.abort();
  }, [kind, key]);
}

/**
 * With events:read, the service's own record of each new task (a system event) triggers a read of
 * the list at once, so a task appears without waiting for the next poll.
 */
function useNewTasks(session: Session, kind: TaskKind, onNew: () => void) {
  const allowed = can(session, 'events:read');
  useEffect(() => {
    if (!allowed) return;
    const controller = new AbortController();
    // A burst of new tasks is one read of the list, not one per task.
    let pending: ReturnType<typeof setTimeout> | undefined;
    void (async () => {
      try {
        for await (const _event of liveEvents(session.client, { eventType: STARTED_EVENT[kind], signal: controller.signal })) {
          pending ??= setTimeout(() => {
            pending = undefined;
            onNew();
          }, NEW_TASK_COALESCE_MS);
        }
      } catch {
        // Stopped, or not allowed after all: polling still shows new tasks.
      }
    })();
    return () => {
      controller.abort();
      clearTimeout(pending);
    };
  }, [kind, allowed]);
}

export function TasksView({ session, rest }: { session: Session; rest: string[] }) {
  const kinds = (Object.keys(KINDS) as TaskKind[]).filter((kind) => can(session, SCOPES[kind].read));
  const kind = kinds.find((candidate) => candidate === rest[0]) ?? kinds[0] ?? 'inference';
  const selectedId = rest[1];
  const [state, setState] = useState<TaskState | ''>('');
  const [frames, setFrames] = useState<Record<string, Frame>>({});
  const onFrame = (frame: Frame) => setFrames((previous) => ({ ...previous, [frame.task_id]: frame }));
  const [list, reload] = useLoad((signal) => listTasks(session.client, kind, state, signal), [kind, state], LIST_REFRESH_MS);
  const page = dataOf(list);
  const rows = (page?.items ?? []).map((task) => withFrame(task, frames[task.task_id]));
  useNewTasks(session, kind, reload);
  const running = rows.filter((task) => !isTerminal(task.status) && task.task_id !== selectedId).slice(0, FOLLOWED);
  useFollowed(session.client, kind, running.map((task) => task.task_id), onFrame);

  return (
    <section aria-labelledby="tasks-title">
      <div class="view-head">
        <h1 id="tasks-title">Tasks</h1>
        <div class="toolbar">
          <div class="segmented" role="group" aria-label="Task type">
            {kinds.map((candidate) => (
              <a key={candidate} class="segment" href={href('tasks', candidate)} aria-current={candidate === kind ? 'true' : undefined}>
                {KINDS[candidate]}
              </a>
            ))}
          </div>
          <InlineField label="State">
            <Select value={state} options={STATES} onChange={setState} any="Any" />
          </InlineField>
        </div>
      </div>
      <div class={selectedId ? 'split' : undefined}>
        <div>
          {list.state === 'failed' ? <ProblemView error={list.error} onRetry={reload} /> : null}
          {page === undefined ? (
            list.state === 'loading' ? <Loading label="Loading tasks…" /> : null
          ) : rows.length === 0 ? (
            <Empty title={state === '' ? `No ${kind} tasks yet` : `No ${kind} tasks are ${STATES[state].toLowerCase()}`}>
              {kind === 'inference' ? 'Start one with POST /inference/start; it appears here at once.' : 'Start one with POST /train/start; it appears here at once.'}
            </Empty>
          ) : (
            <TaskTable kind={kind} rows={rows} selectedId={selectedId} />
          )}
        </div>
        {selectedId ? (
          <TaskDetail
            key={selectedId}
            session={session}
            kind={kind}
            taskId={selectedId}
            listed={rows.find((task) => task.task_id === selectedId)}
            onFrame={onFrame}
            onChanged={reload}
          />
        ) : null}
      </div>
    </section>
  );
}

function elapsed(task: TaskStatus): number | null {
  const end = task.finished_at ? Date.parse(task.finished_at) : isTerminal(task.status) ? null : Date.now();
  return end === null ? null : end - Date.parse(task.created_at);
}

function TaskTable({ kind, rows, selectedId }: { kind: TaskKind; rows: TaskStatus[]; selectedId: string | undefined }) {
  return (
    <DataTable label={`${KINDS[kind]} tasks`} columns={['Task', 'State', 'Progress', 'Created', 'Took', 'Model']}>
      {rows.map((task) => (
        <tr key={task.task_id} class={task.task_id === selectedId ? 'selected' : undefined} data-task-id={task.task_id}>
          <td>
            <a href={href('tasks', kind, task.task_id)} aria-current={task.task_id === selectedId ? 'true' : undefined}>
              <code>{shortId(task.task_id)}</code>
            </a>
          </td>
          <td>
            <StateBadge state={task.status} />
          </td>
          <td>
            <Progress value={task.progress} label={`Task ${shortId(task.task_id)} progress`} />
          </td>
          <td>{formatTime(task.created_at)}</td>
          <td>{formatDuration(elapsed(task))}</td>
          <td>{task.model_version === null ? '—' : `v${task.model_version}`}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** What a frame's data says, in words: the attempt, an epoch's loss, an error. */
function describe(frame: Frame): string {
  const data = frame.data;
  const parts: string[] = [];
  if (typeof data.attempt === 'number') parts.push(`attempt ${data.attempt}`);
  if (typeof data.epoch === 'number') parts.push(`epoch ${data.epoch}`);
  if (typeof data.loss === 'number') parts.push(`loss ${data.loss.toFixed(4)}`);
  if (typeof data.error === 'string') parts.push(data.error);
  return parts.join(' · ');
}

function TaskDetail({
  session,
  kind,
  taskId,
  listed,
  onFrame,
  onChanged,
}: {
  session: Session;
  kind: TaskKind;
  taskId: string;
  listed: TaskStatus | undefined;
  onFrame: (frame: Frame) => void;
  onChanged: () => void;
}) {
  const [fetched] = useLoad((signal) => getTask(session.client, kind, taskId, signal), [kind, taskId]);
  const [timeline, setTimeline] = useState<TaskEvent[]>([]);
  const [streamError, setStreamError] = useState<unknown>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    void (async () => {
      try {
        for await (const event of taskEvents(session.client, kind, taskId, { signal: controller.signal })) {
          setTimeline((previous) => [...previous, event]);
          onFrame(event.data);
        }
      } catch (error) {
        if (!isAbort(error)) setStreamError(error);
      }
    })();
    return () => controller.abort();
  }, [kind, taskId]);

  const latest = timeline.at(-1)?.data;
  const base = listed ?? dataOf(fetched);
  const task = base ? withFrame(base, latest) : undefined;
  const close = () => navigate('tasks', kind);
  const cancel = useAction(async () => {
    const init = { params: { path: { task_id: taskId } } };
    await unwrap(kind === 'inference' ? session.client.POST('/inference/{task_id}/cancel', init) : session.client.POST('/train/{task_id}/cancel', init));
    onChanged();
  });
  const retry = useAction(async () => {
    const init = { params: { path: { task_id: taskId } } };
    const created = await unwrap(kind === 'inference' ? session.client.POST('/inference/{task_id}/retry', init) : session.client.POST('/train/{task_id}/retry', init));
    onChanged();
    navigate('tasks', kind, created.task_id);
  });
  const mayRun = can(session, SCOPES[kind].run);

  return (
    <aside
      class="card detail"
      aria-labelledby="task-detail-title"
      onKeyDown={(event) => {
        if (event.key === 'Escape') close();
      }}
    >
      <div class="detail-head">
        <h2 id="task-detail-title">
          {KINDS[kind]} task <code>{shortId(taskId)}</code>
        </h2>
        <button type="button" class="button button-quiet" onClick={close} aria-label="Close the task's details">
          Close
        </button>
      </div>
      {fetched.state === 'failed' && !task ? <ProblemView error={fetched.error} /> : null}
      {task ? (
        <>
          <dl class="facts">
            <dt>State</dt>
            <dd>
              <StateBadge state={task.status} />
            </dd>
            <dt>Progress</dt>
            <dd>
              <Progress value={task.progress} label="Progress" /> {Math.round(task.progress * 100)} %
            </dd>
            <dt>Created</dt>
            <dd>{formatDateTime(task.created_at)}</dd>
            <dt>Model</dt>
            <dd>{task.model_version === null ? '—' : `v${task.model_version}`}</dd>
            {task.error ? (
              <>
                <dt>Error</dt>
                <dd>{task.error}</dd>
              </>
            ) : null}
          </dl>
          <div class="actions">
            {mayRun && !isTerminal(task.status) ? (
              <button type="button" class="button button-danger" onClick={() => void cancel.run()} disabled={cancel.busy}>
                {cancel.busy ? 'Cancelling…' : 'Cancel task'}
              </button>
            ) : null}
            {mayRun && isTerminal(task.status) ? (
              <button type="button" class="button" onClick={() => void retry.run()} disabled={retry.busy} title="Start a new task with the same input">
                {retry.busy ? 'Starting…' : 'Retry'}
              </button>
            ) : null}
          </div>
          {cancel.error !== undefined ? <ProblemView error={cancel.error} /> : null}
          {retry.error !== undefined ? <ProblemView error={retry.error} /> : null}
        </>
      ) : fetched.state === 'loading' ? (
        <Loading />
      ) : null}
      <h3>Timeline</h3>
      {streamError !== undefined ? <ProblemView error={streamError} /> : null}
      {timeline.length === 0 && streamError === undefined ? <Loading label="Waiting for the task's events…" /> : null}
      <ol class="timeline" aria-label="Status changes" aria-live="polite">
        {timeline.map((event) => (
          <li key={event.id}>
            <StateBadge state={event.data.status} />
            <time dateTime={event.data.created_at}>{formatTime(event.data.created_at)}</time>
            <span class="muted small">
              {Math.round(event.data.progress * 100)} %{describe(event.data) ? ` · ${describe(event.data)}` : ''}
            </span>
          </li>
        ))}
      </ol>
    </aside>
  );
}

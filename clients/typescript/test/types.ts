/**
 * Compile-time tests of the SDK's types: never run, only type-checked (tsconfig.test.json). Each
 * `@ts-expect-error` line must fail to compile; `Same` checks fail when a type is not the one the
 * spec says.
 */
import {
  type ChatFrame,
  liveEvents,
  type PorticoClient,
  PorticoError,
  type Problem,
  type Schemas,
  streamChat,
  taskEvents,
  type TaskStatus,
  unwrap,
  waitForTask,
} from '../src/index.js';

/**
 * `true` when A and B are assignable both ways. (Identity would be too strict: openapi-fetch maps
 * answer types through `Readable<>`, which rebuilds the same shape as a new type.)
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

declare const client: PorticoClient;
const eventPath = { params: { path: { event_id: 'evt-1' } } };

export async function typedAnswers(): Promise<void> {
  const event = await unwrap(client.GET('/events/{event_id}', eventPath));
  const eventExact: Same<typeof event, Schemas['Event']> = true;

  const results = await unwrap(client.GET('/inference/results/{task_id}', { params: { path: { task_id: 't' }, query: { limit: 3 } } }));
  const resultsExact: Same<typeof results, Schemas['ScoredLocation'][]> = true;

  const { data, error } = await client.GET('/events/{event_id}', eventPath);
  if (error) {
    const problemExact: Same<typeof error, Problem> = true;
    const requestId: string = error.request_id;
  } else {
    const dataExact: Same<typeof data, Schemas['Event']> = true;
  }

  try {
    const revoked = await unwrap(client.DELETE('/admin/api-keys/{key_id}', { params: { path: { key_id: 'key_1' } } }));
    const noContent: Same<typeof revoked, undefined> = true;
  } catch (caught) {
    if (caught instanceof PorticoError) {
      const status: number = caught.problem.status;
    }
  }

  const status = await waitForTask(client, 'inference', 't', { intervalMs: 500, timeoutMs: 60_000 });
  const statusExact: Same<typeof status, TaskStatus> = true;
}

export async function typedStreams(): Promise<void> {
  for await (const frame of streamChat(client, { message: 'Hi', temperature: 0.2 })) {
    const frameExact: Same<typeof frame, ChatFrame> = true;
    if (frame.type === 'token') {
      const content: string = frame.content;
    } else if (frame.type === 'done') {
      const total: number = frame.usage.total_tokens;
    } else {
      // @ts-expect-error error frames have no usage
      frame.usage;
    }
  }
  for await (const event of taskEvents(client, 'training', 't', { lastEventId: '1841' })) {
    const dataExact: Same<typeof event.data, Schemas['TaskEventFrame']> = true;
    const id: string = event.id;
  }
  for await (const event of liveEvents(client, { eventType: 'page_view' })) {
    const dataExact: Same<typeof event.data, Schemas['Event']> = true;
  }
}

export function rejectedRequests(): void {
  // @ts-expect-error a path the spec does not have
  void client.GET('/event/{event_id}', eventPath);
  // @ts-expect-error a method the path does not have
  void client.DELETE('/events');
  // @ts-expect-error the path parameter is missing
  void client.GET('/events/{event_id}');
  // @ts-expect-error the path parameter has another name
  void client.GET('/events/{event_id}', { params: { path: { id: 'evt-1' } } });
  // @ts-expect-error location_id is an integer
  void client.GET('/content/location/{location_id}', { params: { path: { location_id: '12' } } });
  // @ts-expect-error limit is an integer
  void client.GET('/events', { params: { query: { limit: '10' } } });
  // @ts-expect-error source is client or system
  void client.GET('/events', { params: { query: { source: 'robot' } } });
  // @ts-expect-error event_type is a string
  void client.POST('/events', { body: { event_id: 'evt-1', event_type: 42, event_data: {} } });
  // @ts-expect-error event_type is required
  void client.POST('/events', { body: { event_id: 'evt-1', event_data: {} } });
  // @ts-expect-error the body is required
  void client.POST('/inference/start', {});
  // @ts-expect-error people_age is a list of integers
  void client.POST('/inference/start', { body: { name: 'x', people_num: 1, people_age: 'forty', children_num: 0, budget: 1, nights: 1, time_arrival: '2027-01-01', pool: true, spa: true, pet_friendly: true, lake: true, mountain: true, sport: true } });
  // @ts-expect-error a chat request needs a message
  void streamChat(client, { temperature: 0.2 });
  // @ts-expect-error tasks are inference or training
  void waitForTask(client, 'export', 't');
  // @ts-expect-error task streams are inference or training
  void taskEvents(client, 'events', 't');
}

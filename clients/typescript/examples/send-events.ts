/** Sends an event and reads it back. Needs a key with events:write and events:read. */
import { unwrap } from '../src/index.js';
import { client } from './client.js';

const eventId = crypto.randomUUID();
const accepted = await unwrap(client.POST('/events', { body: { event_id: eventId, event_type: 'example', event_data: { message: 'Hello AI world!' } } }));
console.log('accepted at', accepted.received_at);

const stored = await unwrap(client.GET('/events/{event_id}', { params: { path: { event_id: eventId } } }));
console.log('stored:', stored);

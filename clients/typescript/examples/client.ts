/** The client every example uses: PORTICO_URL (default http://127.0.0.1:8000) and PORTICO_TOKEN. */
import { createClient } from '../src/index.js';

export const client = createClient({
  baseUrl: process.env.PORTICO_URL ?? 'http://127.0.0.1:8000',
  token: process.env.PORTICO_TOKEN,
  retry: true,
});

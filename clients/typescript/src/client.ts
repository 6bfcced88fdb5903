import createFetchClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './generated/api.js';
import { type FetchLike, type RetryOptions, retryingFetch } from './retry.js';

export interface ClientOptions {
  /** Where the API is served, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** An API key; sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** A fetch implementation (default: the global fetch, looked up at each request). */
  fetch?: FetchLike;
  /** Retry 429 and 503 answers, waiting as Retry-After says (default: no retries). */
  retry?: RetryOptions | boolean;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
}

/** What randomRequestId needs of Web Crypto (in browsers, Node and other runtimes alike). */
export interface RandomSource {
  getRandomValues(array: Uint8Array): Uint8Array;
  randomUUID?: () => string;
}

/**
 * A random (version 4) UUID for X-Request-ID. `crypto.randomUUID` exists only in secure contexts:
 * a page served over plain HTTP from anywhere but localhost has `getRandomValues` alone.
 */
export function randomRequestId(crypto: RandomSource = globalThis.crypto): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export type PorticoClient = Client<paths> & {
  readonly baseUrl: string;
  /** The options this client was created with, without the token; `fetch` includes the retries. */
  readonly options: Readonly<Omit<ClientOptions, 'token' | 'fetch'> & { fetch: FetchLike }>;
  /** Auth and a fresh X-Request-ID, for requests made outside the typed methods. */
  authHeaders(): Record<string, string>;
};

/**
 * A client whose methods (`GET`, `POST`, ...) are typed by the spec's paths: path, parameters,
 * body, and the data and problem of each answer.
 */
export function createClient(options: ClientOptions): PorticoClient {
  // Looked up per request, so that a fetch mock installed after the client was made still applies.
  const baseFetch: FetchLike = options.fetch ?? ((request) => globalThis.fetch(request));
  const retry = options.retry === true ? {} : options.retry || undefined;
  const fetch = retry ? retryingFetch(baseFetch, retry) : baseFetch;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const client = createFetchClient<paths>({ baseUrl, fetch, ...(options.headers ? { headers: options.headers } : {}) });

  const authHeaders = (): Record<string, string> => ({
    ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
    'X-Request-ID': randomRequestId(),
  });
  const auth: Middleware = {
    onRequest({ request }) {
      // Headers given for one request (another token, a chosen request id) win.
      for (const [name, value] of Object.entries(authHeaders())) {
        if (!request.headers.has(name)) request.headers.set(name, value);
      }
      return request;
    },
  };
  client.use(auth);

  const { token: _token, fetch: _fetch, ...rest } = options;
  return Object.assign(client, { baseUrl, options: { ...rest, fetch }, authHeaders });
}

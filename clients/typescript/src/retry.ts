/** What the client needs from fetch: openapi-fetch always calls it with a Request. */
export type FetchLike = (request: Request) => Promise<Response>;

export interface RetryOptions {
  /** Attempts after the first (default 3). */
  retries?: number;
  /** First wait when the answer has no Retry-After, doubled on each attempt, in ms (default 500). */
  baseDelayMs?: number;
  /** Cap on a single wait, in ms (default 30 000). */
  maxDelayMs?: number;
}

/** The statuses the API answers when it did nothing and the same request may succeed later. */
const RETRYABLE = new Set([429, 503]);

/** Retry-After as a delay in ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Date.parse also reads bare numbers ("-3") as years: an HTTP date always has letters.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff from `baseMs`, for the `attempt`th retry (0-based), capped at `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** attempt);
}

/**
 * Wraps fetch so that 429 and 503 answers are retried, waiting as Retry-After says or backing off
 * exponentially. After the last attempt the error answer itself is returned, so callers see the
 * problem+json body as usual. The same X-Request-ID is resent: it is one logical request.
 */
export function retryingFetch(inner: FetchLike, options: RetryOptions): FetchLike {
  const retries = options.retries ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      // Each attempt needs a body of its own; the original stays unread for the next clone.
      const response = await inner(attempt < retries ? request.clone() : request);
      if (!RETRYABLE.has(response.status) || attempt >= retries) return response;
      const wait = Math.min(maxDelayMs, retryAfterMs(response.headers.get('retry-after')) ?? backoffMs(attempt, baseDelayMs, maxDelayMs));
      // Not awaited: some bodies (mocks, proxies) only settle a cancel once fully read.
      void response.body?.cancel().catch(() => undefined);
      await sleep(wait, request.signal);
    }
  };
}

import { PorticoError, PorticoStreamError } from '@portico/client';

/** What the console shows of a failure: the API's problem title and detail, and its request id. */
export interface ShownProblem {
  title: string;
  detail: string;
  status?: number;
  requestId?: string;
}

export function problemOf(error: unknown): ShownProblem {
  if (error instanceof PorticoError) {
    const { title, detail, status } = error.problem;
    const fields = (error.problem.errors ?? []).map((field) => `${field.pointer || field.location}: ${field.message}`);
    return {
      title,
      detail: [detail ?? '', ...fields].filter((part) => part !== '').join(' — ') || `The API answered ${status}.`,
      status,
      ...(error.requestId ? { requestId: error.requestId } : {}),
    };
  }
  if (error instanceof PorticoStreamError) return { title: 'The stream broke off', detail: error.message };
  // fetch reports an unreachable server as a TypeError.
  if (error instanceof TypeError) return { title: 'The service cannot be reached', detail: 'Check that it is running, then try again.' };
  return { title: 'Something went wrong', detail: error instanceof Error ? error.message : String(error) };
}

/** Whether an error is only the console stopping a request it no longer needs. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

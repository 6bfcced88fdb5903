import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { isAbort } from './problems';

export type Loaded<T> = { state: 'loading' } | { state: 'ready'; data: T } | { state: 'failed'; error: unknown; data?: T };

/**
 * Loads with `load` when `deps` change, and again every `everyMs` if given (keeping the last data
 * on screen meanwhile). Each load gets a signal aborted when it is superseded or the view goes.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[], everyMs?: number): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  const latest = useRef(load);
  latest.current = load;

  useEffect(() => {
    setLoaded({ state: 'loading' });
  }, deps);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const data = await latest.current(controller.signal);
        if (!controller.signal.aborted) setLoaded({ state: 'ready', data });
      } catch (error) {
        if (isAbort(error) || controller.signal.aborted) return;
        setLoaded((previous) => ({ state: 'failed', error, ...(previous.state === 'loading' ? {} : { data: previous.data }) }));
      }
      // The next poll waits for this one: a slow answer never piles requests up.
      if (everyMs !== undefined && !controller.signal.aborted) timer = setTimeout(run, everyMs);
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [...deps, generation, everyMs]);

  return [loaded, useCallback(() => setGeneration((value) => value + 1), [])];
}

/** The data of a load, if any arrived (also while a reload failed). */
export function dataOf<T>(loaded: Loaded<T>): T | undefined {
  return loaded.state === 'loading' ? undefined : loaded.data;
}

/** Runs an action (a button's), tracking whether it is busy and what it failed with. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>): { run: (...args: A) => Promise<void>; busy: boolean; error: unknown; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await action(...args);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, clear: () => setError(undefined) };
}

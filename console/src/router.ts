import { useEffect, useState } from 'preact/hooks';

export type ViewName = 'overview' | 'tasks' | 'models' | 'events' | 'keys';
export const VIEWS: readonly ViewName[] = ['overview', 'tasks', 'models', 'events', 'keys'];

export interface Route {
  view: ViewName;
  /** What follows the view in the hash, e.g. `inference/<task id>` in `#/tasks/inference/<task id>`. */
  rest: string[];
}

/** Routes live in the hash (`#/tasks`), so the service serves one page and a reload keeps the view. */
function parse(hash: string): Route {
  const [view, ...rest] = hash.replace(/^#\/?/, '').split('/').filter((part) => part !== '').map(decodeURIComponent);
  return { view: VIEWS.includes(view as ViewName) ? (view as ViewName) : 'overview', rest };
}

export function href(view: ViewName, ...rest: string[]): string {
  return `#/${[view, ...rest].map(encodeURIComponent).join('/')}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function navigate(view: ViewName, ...rest: string[]): void {
  window.location.hash = href(view, ...rest);
}

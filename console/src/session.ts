import { createClient, type PorticoClient, type Schemas, unwrap } from '@portico/client';

/** The signed-in key: its token stays in this tab's sessionStorage only (gone when the tab closes). */
export interface Session {
  client: PorticoClient;
  key: Schemas['ApiKey'];
}

const STORAGE_KEY = 'portico.console.token';

function clientFor(token: string): PorticoClient {
  // Same origin: the console is served by the API it manages.
  return createClient({ baseUrl: window.location.origin, token });
}

/** Checks the token with GET /me and keeps it for the tab. Rejects with the API's problem. */
export async function signIn(token: string): Promise<Session> {
  const client = clientFor(token);
  const key = await unwrap(client.GET('/me'));
  sessionStorage.setItem(STORAGE_KEY, token);
  return { client, key };
}

/** The tab's session, if a token was kept and still works. */
export async function resumeSession(): Promise<Session | undefined> {
  const token = sessionStorage.getItem(STORAGE_KEY);
  if (token === null) return undefined;
  try {
    return await signIn(token);
  } catch {
    sessionStorage.removeItem(STORAGE_KEY);
    return undefined;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

export type Scope = Schemas['Scope'];

/** Whether the signed-in key holds `scope` (admin implies every scope, as on the server). */
export function can(session: Session, scope: Scope): boolean {
  return session.key.scopes.includes('admin') || session.key.scopes.includes(scope);
}

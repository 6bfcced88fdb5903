import { useEffect, useState } from 'preact/hooks';
import { href, useRoute, type ViewName } from './router';
import { can, resumeSession, type Session, signOut } from './session';
import { applyChoice, onSystemChange, resolve, storedChoice, type ThemeChoice, ThemeContext, useTheme } from './theme';
import { Loading } from './ui';
import { EventsView } from './views/events';
import { KeysView } from './views/keys';
import { ModelsView } from './views/models';
import { OverviewView } from './views/overview';
import { SignIn } from './views/sign-in';
import { TasksView } from './views/tasks';

interface NavItem {
  view: ViewName;
  label: string;
  /** Whether the key may use the view; the server refuses the calls anyway. */
  allowed: (session: Session) => boolean;
}

const NAV: readonly NavItem[] = [
  { view: 'overview', label: 'Overview', allowed: () => true },
  { view: 'tasks', label: 'Tasks', allowed: (session) => can(session, 'inference:read') || can(session, 'models:train') },
  { view: 'models', label: 'Models', allowed: (session) => can(session, 'inference:read') },
  { view: 'events', label: 'Events', allowed: (session) => can(session, 'events:read') },
  { view: 'keys', label: 'Keys', allowed: (session) => can(session, 'admin') },
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [choice, setChoice] = useState<ThemeChoice>(storedChoice);
  const [, setSystemFlip] = useState(0);
  useEffect(() => {
    applyChoice(choice);
    return onSystemChange(() => {
      applyChoice(choice);
      setSystemFlip((value) => value + 1);
    });
  }, [choice]);
  useEffect(() => {
    void resumeSession().then((resumed) => setSession(resumed ?? null));
  }, []);

  const theme = { choice, resolved: resolve(choice), setChoice };
  return (
    <ThemeContext.Provider value={theme}>
      {session === undefined ? (
        <main class="center">
          <Loading label="Opening the console…" />
        </main>
      ) : session === null ? (
        <SignIn onSignedIn={setSession} />
      ) : (
        <Shell
          session={session}
          onSignOut={() => {
            signOut();
            setSession(null);
          }}
        />
      )}
    </ThemeContext.Provider>
  );
}

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = { system: 'light', light: 'dark', dark: 'system' };

function ThemeToggle() {
  const theme = useTheme();
  return (
    <button type="button" class="button button-quiet" onClick={() => theme.setChoice(NEXT_THEME[theme.choice])} title="Change the colour theme">
      Theme: {theme.choice === 'system' ? `system (${theme.resolved})` : theme.choice}
    </button>
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const items = NAV.filter((item) => item.allowed(session));
  const current = items.find((item) => item.view === route.view) ?? items[0]!;
  useEffect(() => {
    document.title = `${current.label} · Portico console`;
  }, [current.view]);

  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">
          <span class="brand-mark" aria-hidden="true">P</span> Portico console
        </span>
        <nav aria-label="Views" class="tabs">
          {items.map((item) => (
            <a key={item.view} href={href(item.view)} class="tab" aria-current={item.view === current.view ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <div class="whoami">
          <span class="muted small" title={session.key.scopes.join(', ')}>
            {session.key.name} · {session.key.owner}
          </span>
          <ThemeToggle />
          <button type="button" class="button button-quiet" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" class="content" tabIndex={-1}>
        {current.view === 'overview' ? <OverviewView session={session} /> : null}
        {current.view === 'tasks' ? <TasksView session={session} rest={route.rest} /> : null}
        {current.view === 'models' ? <ModelsView session={session} /> : null}
        {current.view === 'events' ? <EventsView session={session} /> : null}
        {current.view === 'keys' ? <KeysView session={session} /> : null}
      </main>
    </div>
  );
}

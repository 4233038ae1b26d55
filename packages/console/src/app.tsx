import { useEffect, useRef, useState, type ReactElement } from 'react';
import { PageErrorBoundary } from './components/page-error-boundary.js';
import { AuditPage } from './pages/audit.js';
import { DashboardPage } from './pages/dashboard.js';
import { KeyDetailPage } from './pages/key-detail.js';
import { KeysPage } from './pages/keys.js';
import { PrincipalsPage } from './pages/principals.js';
import { SignInPage } from './pages/sign-in.js';
import { visibleText } from './format.js';
import { Link, useRoute } from './router.js';
import { SessionContext, type Session } from './session.js';

const NAV = [
  { to: '/', label: 'Dashboard' },
  { to: '/keys', label: 'Keys' },
  { to: '/principals', label: 'Principals' },
  { to: '/audit', label: 'Audit trail' },
] as const;

/**
 * The console: a sign-in form until there is a session, then the pages. The session (with the
 * secret access key inside its API client) is React state only, so a reload or sign-out drops it.
 */
export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [idleNote, setIdleNote] = useState<string>();
  const { path, query } = useRoute();
  // The only way out of a session: its client forgets the credentials and the signing keys derived
  // from them, since React (and anyone with DevTools) may keep a reference to it after this render.
  const signOut = (note?: string) => {
    session?.api.dispose();
    setSession(undefined);
    setIdleNote(note);
  };
  useIdleSignOut(session !== undefined, () => signOut(`Signed out after ${IDLE_MINUTES} minutes without activity.`));

  const page = pageFor(path, query.toString());
  useEffect(() => {
    document.title = session ? `${page.title} · Coffer console` : 'Sign in · Coffer console';
  }, [session, page.title]);
  // After moving to another page, focus its content, so keyboard and screen-reader users start there.
  const lastPath = useRef(path);
  useEffect(() => {
    if (path === lastPath.current) return;
    lastPath.current = path;
    document.getElementById('main')?.focus();
  }, [path]);

  if (!session) return <SignInPage note={idleNote} onSignIn={(signedIn) => { setIdleNote(undefined); setSession(signedIn); }} />;
  const section = '/' + (path.split('/')[1] ?? '');
  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand">Coffer</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={section === item.to ? 'page' : undefined}>{item.label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who" title={visibleText(session.arn)}>{visibleText(session.arn)}</span>
        <button type="button" className="secondary" onClick={() => signOut()}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>
        <PageErrorBoundary key={`${path}?${query.toString()}`}>{page.element}</PageErrorBoundary>
      </main>
    </SessionContext.Provider>
  );
}

/** An open tab holds the secret: after this long without a key press or click, it is dropped. */
export const IDLE_MINUTES = 30;

/** Calls `onIdle` once IDLE_MINUTES pass without user input while `active`; the dashboard's own refreshes do not count. */
function useIdleSignOut(active: boolean, onIdle: () => void): void {
  const callback = useRef(onIdle);
  callback.current = onIdle;
  useEffect(() => {
    if (!active) return;
    // Measured on the wall clock, not by one long timer: timers do not run while the machine
    // sleeps, and a laptop woken after a night would keep the secret for what the timer had left.
    let last = Date.now();
    const idleTooLong = () => Date.now() - last >= IDLE_MINUTES * 60_000;
    const check = () => { if (idleTooLong()) callback.current(); };
    // The first key press after the wait signs out rather than start a new 30 minutes.
    const activity = () => {
      if (idleTooLong()) callback.current();
      else last = Date.now();
    };
    const timer = window.setInterval(check, 10_000);
    const events = ['keydown', 'pointerdown', 'wheel'] as const;
    for (const name of events) window.addEventListener(name, activity, { passive: true });
    document.addEventListener('visibilitychange', check);
    return () => {
      window.clearInterval(timer);
      for (const name of events) window.removeEventListener(name, activity);
      document.removeEventListener('visibilitychange', check);
    };
  }, [active]);
}

function pageFor(path: string, search: string): { title: string; element: ReactElement } {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0 || parts[0] === 'dashboard') return { title: 'Dashboard', element: <DashboardPage /> };
  if (parts[0] === 'keys' && parts.length === 1) return { title: 'Keys', element: <KeysPage /> };
  // A key by its id, or (a link someone wrote) by an alias or ARN, whose slashes may be left as they are.
  const named = parts[0] === 'keys' ? parts.slice(1).map(decodedSegment) : [];
  const keyId = named.length > 0 && named.every((segment) => segment !== undefined) ? named.join('/') : undefined;
  if (keyId !== undefined) return { title: `Key ${visibleText(keyId)}`, element: <KeyDetailPage key={keyId} keyId={keyId} /> };
  if (parts[0] === 'principals') return { title: 'Principals', element: <PrincipalsPage /> };
  if (parts[0] === 'audit') return { title: 'Audit trail', element: <AuditPage key={search} /> };
  return { title: 'Not found', element: <section><h1>Not found</h1><p>There is no console page at this address. <Link to="/">Go to the dashboard</Link>.</p></section> };
}

/**
 * A path segment with its %-escapes decoded, or undefined when they are malformed (`%E0%A4%A`):
 * decodeURIComponent throws on those, during render, which took the whole app down.
 */
function decodedSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** The console lives under /console; routes are the rest of the path (`/keys/<id>`). */
export const BASE = '/console';

const routeOf = (pathname: string): string => {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  return rest === '' ? '/' : rest;
};

/** Goes to `route`; with `replace`, in place of the current entry (the back button skips it). */
export function navigate(route: string, { replace = false } = {}): void {
  if (replace) window.history.replaceState(null, '', BASE + route);
  else window.history.pushState(null, '', BASE + route);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The current route and query, following back/forward and `navigate`. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => ({ path: routeOf(window.location.pathname), query: new URLSearchParams(window.location.search) });
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onPop = () => setRoute(read());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return route;
}

/** An ordinary link (middle-click and copy work) that navigates in place on a plain click. */
export function Link({ to, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={BASE + to} onClick={onClick} {...rest} />;
}

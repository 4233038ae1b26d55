import { useCallback, useEffect, useRef, useState } from 'react';

export interface AsyncState<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): void;
}

/**
 * Runs `load` when `deps` change and on `reload()`; a stale answer never overwrites a newer one.
 * New deps ask a new question, so the old answer is dropped at once (a filtered table never shows
 * the unfiltered rows while it loads); a reload asks the same one again and keeps the answer shown.
 */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const generation = useRef(0);
  const [tick, setTick] = useState(0);
  const lastTick = useRef(tick);
  useEffect(() => {
    const mine = ++generation.current;
    const sameQuestion = lastTick.current !== tick;
    lastTick.current = tick;
    setState((s) => (sameQuestion ? { ...s, loading: true } : { data: undefined, error: undefined, loading: true }));
    load().then(
      (data) => { if (mine === generation.current) setState({ data, error: undefined, loading: false }); },
      (error: unknown) => { if (mine === generation.current) setState((s) => ({ data: s.data, error, loading: false })); },
    );
    // `load` is a fresh closure each render; `deps` says when it means something new.
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

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
 * `load` may show part of its answer while it works (`show`, with `loading` still true), so a long
 * listing fills in rather than staying blank; only while no whole answer is shown: a reload keeps
 * the last whole answer until the new one is whole.
 */
export function useAsync<T>(load: (show: (partial: T) => void) => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const generation = useRef(0);
  const [tick, setTick] = useState(0);
  const lastTick = useRef(tick);
  const wholeAnswerShown = useRef(false);
  useEffect(() => {
    const mine = ++generation.current;
    const sameQuestion = lastTick.current !== tick;
    lastTick.current = tick;
    if (!sameQuestion) wholeAnswerShown.current = false;
    setState((s) => (sameQuestion ? { ...s, loading: true } : { data: undefined, error: undefined, loading: true }));
    const show = (partial: T) => {
      if (mine === generation.current && !wholeAnswerShown.current) setState({ data: partial, error: undefined, loading: true });
    };
    load(show).then(
      (data) => {
        if (mine !== generation.current) return;
        wholeAnswerShown.current = true;
        setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => { if (mine === generation.current) setState((s) => ({ data: s.data, error, loading: false })); },
    );
    // `load` is a fresh closure each render; `deps` says when it means something new.
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export interface Action {
  /** True while a change runs: its buttons are disabled. */
  readonly busy: boolean;
  /** Runs `change` unless another is running, when it does nothing and gives undefined. */
  run<T>(change: () => Promise<T>): Promise<T | undefined>;
}

/**
 * The changes one panel asks for (create, delete, save), one at a time. A double click sent the
 * request twice: two access keys made and one secret never shown, a user created and then
 * "already exists" beside it. Guarded by a ref as well as by the disabled buttons: the second
 * click of a double click can come before React has rendered the button disabled.
 */
export function useAction(): Action {
  const running = useRef(false);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async <T>(change: () => Promise<T>): Promise<T | undefined> => {
    if (running.current) return undefined;
    running.current = true;
    setBusy(true);
    try {
      return await change();
    } finally {
      running.current = false;
      setBusy(false);
    }
  }, []);
  return { busy, run };
}

import { useEffect, useRef, useState } from 'react';

/**
 * A page whose panels each show the outcome of their last action (a refusal, "Key policy saved."),
 * where only the page's last action is current: once an action starts anywhere, every other
 * panel's outcome goes, so none stands beside a later one as if it were that action's; and an
 * answer that comes after a later action started is not shown (panels act independently, so one
 * may answer while another's action runs).
 */
export interface LastAction {
  /** Changes each time an action starts on the page. */
  readonly epoch: number;
  /** Told when an action starts; gives that action's number. */
  readonly onAction: () => number;
  /** Whether action `n` is still the page's last. */
  readonly isLast: (n: number) => boolean;
}

/** The page's side: `onStart` drops the page's own outcome. */
export function useLastActionPage(onStart: () => void): LastAction {
  const [epoch, setEpoch] = useState(0);
  const last = useRef(0);
  return {
    epoch,
    onAction: () => {
      onStart();
      const n = ++last.current;
      setEpoch(n);
      return n;
    },
    isLast: (n) => n === last.current,
  };
}

/**
 * A panel's side: `clearOwn` drops its outcome when an action starts elsewhere on the page. The
 * panel calls the function returned when an action starts in it, and shows that action's outcome
 * only while the function that call gives says it is still the page's last.
 */
export function useLastAction(page: LastAction, clearOwn: () => void): () => () => boolean {
  const startedHere = useRef(false);
  useEffect(() => {
    if (startedHere.current) startedHere.current = false;
    else clearOwn();
    // Only a new epoch says something; clearOwn is a fresh closure each render.
  }, [page.epoch]);
  return () => {
    startedHere.current = true;
    const n = page.onAction();
    return () => page.isLast(n);
  };
}

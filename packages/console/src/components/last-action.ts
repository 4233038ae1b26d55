import { useEffect, useRef, useState } from 'react';

/**
 * A page whose panels each show the outcome of their last action (a refusal, "Key policy saved."),
 * where only the page's last action is current: once an action starts anywhere, every other
 * panel's outcome goes, so none stands beside a later one as if it were that action's.
 */
export interface LastAction {
  /** Changes each time an action starts on the page. */
  readonly epoch: number;
  /** Told when an action starts (`started` of a panel calls it). */
  readonly onAction: () => void;
}

/** The page's side: `onStart` drops the page's own outcome. */
export function useLastActionPage(onStart: () => void): LastAction {
  const [epoch, setEpoch] = useState(0);
  return { epoch, onAction: () => { onStart(); setEpoch((e) => e + 1); } };
}

/**
 * A panel's side: `clearOwn` drops its outcome when an action starts elsewhere on the page; the
 * panel calls the function returned when an action starts in it.
 */
export function useLastAction(page: LastAction, clearOwn: () => void): () => void {
  const startedHere = useRef(false);
  useEffect(() => {
    if (startedHere.current) startedHere.current = false;
    else clearOwn();
    // Only a new epoch says something; clearOwn is a fresh closure each render.
  }, [page.epoch]);
  return () => {
    startedHere.current = true;
    page.onAction();
  };
}

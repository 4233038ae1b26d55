import { Component, type ReactNode } from 'react';
import { visibleText } from '../format.js';

/**
 * A page that fails to render (an answer of a shape it did not expect) shows why in its own place.
 * Without this boundary React unmounts the whole app, which blanks the screen and drops the session
 * held in App's state, signing the operator out. The app keys it by route, so another page starts clean.
 */
export class PageErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: undefined };

  static getDerivedStateFromError(error: unknown): { error: unknown } {
    return { error: error ?? 'unknown error' };
  }

  override render(): ReactNode {
    if (this.state.error === undefined) return this.props.children;
    const reason = visibleText(this.state.error instanceof Error ? this.state.error.message : String(this.state.error));
    return (
      <section aria-labelledby="page-failed-title">
        <h1 id="page-failed-title">This page could not be shown</h1>
        <p className="notice error" role="alert">The console failed while showing this page: {reason}</p>
        <p>The other pages still work, and you are still signed in.</p>
      </section>
    );
  }
}

import type { AuditEvent } from './record.js';
import { excerpt } from '../errors.js';
import { sanitizeParameters } from './sanitize.js';

/** The longest error message an audit record keeps (a validation message may quote long values). */
const MAX_ERROR_MESSAGE = 1024;

/**
 * What one request contributes to the audit trail, filled in as the pipeline learns it: who
 * called, which operation, which keys. The operation's one state change is written together with
 * its success event (`commit`); otherwise the pipeline appends the event when the request ends.
 */
export class RequestAudit {
  readonly #time: number;
  readonly #requestId: string;
  readonly #sourceIp: string | undefined;
  readonly #userAgent: string | undefined;
  #principalArn: string | undefined;
  #accessKeyId: string | undefined;
  #operation: string | undefined;
  #parameters: Record<string, unknown> = {};
  readonly #keyArns = new Set<string>();
  #eventData: Record<string, string> | undefined;
  #recorded = false;

  constructor(base: { time: number; requestId: string; sourceIp?: string; userAgent?: string }) {
    this.#time = base.time;
    this.#requestId = base.requestId;
    this.#sourceIp = base.sourceIp;
    this.#userAgent = base.userAgent;
  }

  setOperation(operation: string): void {
    this.#operation = operation;
  }

  setCaller(principalArn: string, accessKeyId: string): void {
    this.#principalArn = principalArn;
    this.#accessKeyId = accessKeyId;
  }

  /** After setOperation: which members are kept depends on the operation. */
  setParameters(input: unknown): void {
    this.#parameters = sanitizeParameters(this.#operation, input);
  }

  /** A key the request named or used, by ARN (or the alias an alias operation changed, by alias ARN). */
  touchKey(keyArn: string): void {
    this.#keyArns.add(keyArn);
  }

  /** One member of CloudTrail's `additionalEventData` (record.ts): never a secret. */
  addEventData(name: string, value: string): void {
    (this.#eventData ??= {})[name] = value;
  }

  /** Whether the success event was already written with the request's change. */
  get recorded(): boolean {
    return this.#recorded;
  }

  /**
   * Makes the request's state change with its success event in the same transaction. `changed`
   * tells from the write's result whether the change (and so the event) was written.
   */
  async commit<T>(write: (event: AuditEvent) => Promise<T>, changed: (result: T) => boolean = (r) => r !== false): Promise<T> {
    const result = await write(this.success());
    if (changed(result)) this.#recorded = true;
    return result;
  }

  success(): AuditEvent {
    return this.#event('success');
  }

  /**
   * The error's first paragraph, cut to MAX_ERROR_MESSAGE characters: a record's size is the
   * server's choice, not the caller's. A signature mismatch goes on with the canonical request the
   * server computed, whose payload hash would let a reader of the trail confirm a guessed plaintext.
   */
  failure(errorName: string, message: string): AuditEvent {
    const first = message.split('\n\n', 1)[0]!;
    return this.#event(errorName, first ? excerpt(first, MAX_ERROR_MESSAGE) : undefined);
  }

  #event(outcome: string, errorMessage?: string): AuditEvent {
    return {
      time: this.#time,
      requestId: this.#requestId,
      ...(this.#principalArn !== undefined ? { principalArn: this.#principalArn } : {}),
      ...(this.#accessKeyId !== undefined ? { accessKeyId: this.#accessKeyId } : {}),
      ...(this.#sourceIp !== undefined ? { sourceIp: this.#sourceIp } : {}),
      ...(this.#userAgent !== undefined ? { userAgent: this.#userAgent } : {}),
      ...(this.#operation !== undefined ? { operation: this.#operation } : {}),
      keyArns: [...this.#keyArns],
      requestParameters: this.#parameters,
      outcome,
      ...(errorMessage !== undefined ? { errorMessage } : {}),
      ...(this.#eventData !== undefined ? { additionalEventData: { ...this.#eventData } } : {}),
    };
  }
}

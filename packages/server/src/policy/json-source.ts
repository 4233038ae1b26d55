/**
 * JSON.parse, plus where in the text each value came from. A policy is stored and shown as the
 * text its author wrote, so it is read from that text too: JSON.parse reads the number
 * 12345678901234567890 as 12345678901234567000 and 1.50 as 1.5, and a condition compiled from
 * those would test values other than the ones the stored policy shows. Condition values take a
 * number's literal text instead (policy/condition.ts). GetKeyPolicy uses the spans to change one
 * string of a policy and leave every other byte as it was (operations/get-key-policy.ts).
 *
 * Node 20's JSON.parse gives a reviver no source text (that arrived in V8 11.4), hence this walk.
 */

/** Start and end offsets of a value's text: `text.slice(start, end)`. */
export type Span = readonly [start: number, end: number];

export interface SourcedJson {
  /** Equal to JSON.parse(text): the same values, the same members in the same order. */
  readonly value: unknown;
  /** Where `holder[key]` came from, for an object or array inside `value`. */
  span(holder: object, key: string | number): Span | undefined;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

interface Open {
  readonly container: Record<string, unknown> | unknown[];
  readonly start: number;
  /** Objects: the member name read, waiting for its value. */
  name: string | undefined;
}

/** Throws JSON.parse's SyntaxError for text that is not JSON. */
export function parseJsonWithSource(text: string): SourcedJson {
  JSON.parse(text);
  const spans = new WeakMap<object, Map<string | number, Span>>();
  const open: Open[] = [];
  let root: unknown;
  let i = 0;

  const skipSpace = (): void => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const stringEnd = (from: number): number => {
    let end = from + 1;
    while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    return end + 1;
  };
  const place = (value: unknown, start: number, end: number): void => {
    const top = open.at(-1);
    if (top === undefined) {
      root = value;
      return;
    }
    let key: string | number;
    if (Array.isArray(top.container)) {
      key = top.container.length;
      top.container.push(value);
    } else {
      key = top.name!;
      top.name = undefined;
      // defineProperty, not assignment: a member named "__proto__" is an own member, as JSON.parse makes it.
      Object.defineProperty(top.container, key, { value, writable: true, enumerable: true, configurable: true });
    }
    let members = spans.get(top.container);
    if (members === undefined) spans.set(top.container, members = new Map());
    members.set(key, [start, end]);
  };

  // The text is valid JSON (checked above), so each step only tells which token comes next.
  for (;;) {
    skipSpace();
    const top = open.at(-1);
    const c = text[i];
    if (top !== undefined && (c === ',' || c === ':')) {
      i++;
      continue;
    }
    if (c === '}' || c === ']') {
      open.pop();
      i++;
      place(top!.container, top!.start, i);
      if (open.length === 0) break;
      continue;
    }
    if (top !== undefined && !Array.isArray(top.container) && top.name === undefined) {
      const end = stringEnd(i);
      top.name = JSON.parse(text.slice(i, end)) as string;
      i = end;
      continue;
    }
    const start = i;
    if (c === '{' || c === '[') {
      open.push({ container: c === '{' ? {} : [], start, name: undefined });
      i++;
      continue;
    }
    let value: unknown;
    if (c === '"') {
      i = stringEnd(i);
      value = JSON.parse(text.slice(start, i));
    } else if (c === 't' || c === 'f' || c === 'n') {
      value = c === 't' ? true : c === 'f' ? false : null;
      i += c === 'f' ? 5 : 4;
    } else {
      NUMBER.lastIndex = i;
      const literal = NUMBER.exec(text)![0];
      value = Number(literal);
      i += literal.length;
    }
    place(value, start, i);
    if (open.length === 0) break;
  }
  return { value: root, span: (holder, key) => spans.get(holder)?.get(key) };
}

/**
 * A first check of a policy document in the editor, before the server's: is it JSON, and an
 * object with a Statement? The server remains the judge (MalformedPolicyDocumentException); this
 * only points at a syntax error while typing.
 */
export function checkPolicyText(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `Not valid JSON: ${withLineAndColumn(error instanceof Error ? error.message : String(error), text)}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'A policy must be a JSON object.';
  if (!('Statement' in parsed)) return 'A policy needs a "Statement" member.';
  return undefined;
}

/**
 * Browsers word JSON errors differently: Chromium says `at position N (line L column C)`, older
 * V8 only `at position N`, Firefox `at line L column C`, Safari nothing. Where only the offset is
 * given, add the line and column, which is what a person editing the text can find.
 */
export function withLineAndColumn(message: string, text: string): string {
  if (/line \d+ column \d+/.test(message)) return message;
  const position = /position (\d+)/.exec(message)?.[1];
  if (position === undefined) return message;
  const { line, column } = lineAndColumn(text, Number(position));
  return `${message} (line ${line} column ${column})`;
}

/** 1-based line and column of a 0-based offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

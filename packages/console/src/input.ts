/**
 * What is typed into the console's number fields, read before anything is sent: a blank field
 * would reach the server as 0 and a fraction would fail to parse there, each with a message about
 * a value the user never typed.
 */

/** The whole number of days `text` says, within min..max, or undefined. */
export function wholeDaysIn(text: string, min: number, max: number): number | undefined {
  if (!/^\d{1,5}$/.test(text.trim())) return undefined;
  const days = Number(text.trim());
  return days >= min && days <= max ? days : undefined;
}

// Bounds on what goes to Gerrit: CI comments can be whole logs, and the Checks tab renders
// every byte it is given.

export const ELLIPSIS = '\u2026';

/** At most `max` characters, the last of them an ellipsis when something was cut. */
export function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, Math.max(0, max - 1)) + ELLIPSIS;
}

/** The first line that has something on it, trimmed; '' when there is none. */
export function firstLine(text: string): string {
  for (const line of text.split(/\r\n|\r|\n/)) {
    const trimmed = line.trim();
    if (trimmed !== '') return trimmed;
  }
  return '';
}

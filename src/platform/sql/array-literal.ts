/** What a column of a bulk write (`unnest($1::text[], …)`) may hold. */
export type ArrayElement = string | number | boolean | null;

/**
 * A PostgreSQL array literal (`{1,"a b",NULL}`) for one column of a bulk write, passed as a text
 * parameter and cast in SQL (`$1::bigint[]`). The `pg` driver builds the same literal from a JS
 * array, escaping every string with two regular expressions; this one quotes every string and
 * escapes only those that hold `"` or `\`, which is the projector's hot loop. Numbers must be safe
 * integers (they print as plain digits).
 */
export function pgArrayLiteral(values: readonly ArrayElement[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ',';
    const value = values[i];
    if (value === null || value === undefined) literal += 'NULL';
    else if (typeof value === 'string') literal += quoted(value);
    else if (typeof value === 'boolean') literal += value ? 't' : 'f';
    else literal += String(value);
  }
  return `${literal}}`;
}

const needsEscape = /["\\]/;

function quoted(text: string): string {
  return needsEscape.test(text) ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}

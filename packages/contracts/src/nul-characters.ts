/**
 * Where the first string holding a NUL (U+0000) sits in a parsed JSON value, as a dotted path
 * ('' for the value itself), or null when there is none. Postgres cannot store NUL in text, so
 * such input is refused up front (400) instead of failing at the database (500). Iterative, so a
 * deeply nested body cannot overflow the stack.
 */
export function findNulCharacter(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return path;
    } else if (current && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        stack.push([child, path ? `${path}.${key}` : key]);
      }
    }
  }
  return null;
}

export function nulCharacterMessage(path: string): string {
  return `Invalid input: ${path ? `${path}: ` : ''}text must not contain NUL (\\u0000) characters`;
}

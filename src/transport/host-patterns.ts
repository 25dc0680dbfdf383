// OpenSSH's host patterns: `*` and `?` globs with `!` negation, shared by known_hosts and ssh_config.

/** How a list of patterns judged a name: a negated hit wins over any positive one. */
export type PatternListResult = 'match' | 'negated' | 'none';

// OpenSSH globs know only `*` (any run, even empty) and `?` (one character); no classes, no escapes.
export function matchGlob(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starAt = -1;
  let textAtStar = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      starAt = p++;
      textAtStar = t;
    } else if (c !== undefined && (c === '?' || c === text[t])) {
      p++;
      t++;
    } else if (starAt >= 0) {
      // Let the last `*` swallow one more character and retry from there.
      p = starAt + 1;
      t = ++textAtStar;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

// Like OpenSSH's match_pattern_list: any matching `!pattern` excludes the name whatever else matched.
export function matchPatternList(patterns: readonly string[], name: string): PatternListResult {
  let positive = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (!matchGlob(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return 'negated';
    positive = true;
  }
  return positive ? 'match' : 'none';
}

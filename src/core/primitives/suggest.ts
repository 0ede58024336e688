/** Edit distance (insertions, deletions, substitutions, and swaps of two neighbours). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidates close enough to what was typed to be a slip (a third of its length, at least 2
 * edits) or that start with it, with their distance.
 */
export function closeTo(typed: string, candidates: Iterable<string>): [string, number][] {
  const t = typed.toLowerCase()
  const limit = Math.max(2, Math.floor(t.length / 3))
  const scored: [string, number][] = []
  for (const c of new Set(candidates)) {
    if (c === typed) continue
    const lc = c.toLowerCase()
    const d = lc.startsWith(t) && t.length >= 2 ? 0.5 : editDistance(t, lc)
    if (d <= limit) scored.push([c, d])
  }
  return scored
}

/** "Did you mean": the nearest of the close candidates (ties all kept, at most `max`). */
export function nearest(scored: [string, number][], max = 3): string[] {
  const best = Math.min(...scored.map(([, d]) => d))
  return scored
    .filter(([, d]) => d === best)
    .map(([c]) => c)
    .sort()
    .slice(0, max)
}

export function suggest(typed: string, candidates: Iterable<string>, max = 3): string[] {
  return nearest(closeTo(typed, candidates), max)
}

/** " Did you mean 'x'?" / " Did you mean 'x' or 'y'?" or "" */
export function didYouMean(typed: string, candidates: Iterable<string>): string {
  const s = suggest(typed, candidates)
  if (!s.length) return ''
  const q = s.map((c) => `'${c}'`)
  return ` Did you mean ${q.length === 1 ? q[0] : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`}?`
}

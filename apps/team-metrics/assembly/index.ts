// team-metrics: match results per team in grow-only counters (wins, losses, draws), the teams in a
// sorted set, the matches in a sorted map (newest first, in pages), and a leaderboard in pages
// (the original's team-metrics example, with a leaderboard).
//
// Why the leaderboard is sorted when read and not kept in a sorted map: a team's place depends on
// counters that nodes increment concurrently. An index entry written by each node from its own
// view ("ranked at 12 points") stays wrong after the merge (two concurrent wins make 15, and no
// node wrote 15). Counters converge; an order derived from them must be derived after the merge.
import { args, emit, returnJsonWriter, JsonWriter, GCounter, SortedSet, SortedMap, ScanCursor, ScanKind, orderedKey, timeNow, randomBytes, toBase58, panic } from "../../../sdk/assemblyscript/index"

const teams = new SortedSet("teams")
const matches = new SortedMap("matches")

class Stats {
  constructor(public team: string, public wins: u64, public losses: u64, public draws: u64) {}
  get points(): u64 { return this.wins * 3 + this.draws }
  get played(): u64 { return this.wins + this.losses + this.draws }
}

function counter(stat: string, team: string): GCounter {
  return new GCounter(stat + ":" + team)
}

function statsOf(team: string): Stats {
  return new Stats(team, counter("wins", team).value(), counter("losses", team).value(), counter("draws", team).value())
}

function writeStats(w: JsonWriter, s: Stats): void {
  w.key("team"); w.string(s.team)
  w.key("points"); w.uint(s.points)
  w.key("played"); w.uint(s.played)
  w.key("wins"); w.uint(s.wins)
  w.key("draws"); w.uint(s.draws)
  w.key("losses"); w.uint(s.losses)
}

function teamName(name: string): string {
  if (name.length == 0 || name.length > 100 || name.includes(":")) panic("a team name is 1 to 100 characters, without ':'")
  return name
}

function record(team: string, stat: string): void {
  teams.add(teamName(team))
  counter(stat, team).increment()
}

/** record_match(home, away, home_score, away_score): both teams' results and the match; emits MatchRecorded. */
export function record_match(): void {
  const a = args()
  a.allowOnly(["home", "away", "home_score", "away_score"])
  const home = teamName(a.requireString("home"))
  const away = teamName(a.requireString("away"))
  if (home == away) panic("a team does not play itself")
  const hs = a.requireIndex("home_score")
  const as = a.requireIndex("away_score")
  if (hs > as) { record(home, "wins"); record(away, "losses") }
  else if (hs < as) { record(home, "losses"); record(away, "wins") }
  else { record(home, "draws"); record(away, "draws") }
  // one reading of the clock for the match's time and its key: read twice, a match could be
  // listed before another whose `at` is later (its key read past a millisecond its `at` did not)
  const now = timeNow()
  const w = new JsonWriter()
  w.beginObject()
  w.key("home"); w.string(home)
  w.key("away"); w.string(away)
  w.key("homeScore"); w.int(hs)
  w.key("awayScore"); w.int(as)
  w.key("at"); w.uint(now / 1000000)
  w.endObject()
  const match = w.toString()
  // newest first when read in reverse; the random suffix keeps two matches at one time apart
  matches.set(orderedKey(now) + ":" + toBase58(randomBytes(8)), match)
  emit("MatchRecorded", match)
  const out = new JsonWriter()
  out.raw(match)
  returnJsonWriter(out)
}

/** record_win(team), record_loss(team), record_draw(team): one result; emit ResultRecorded. */
function one(stat: string): void {
  const a = args()
  a.allowOnly(["team"])
  const team = a.requireString("team")
  record(team, stat)
  const w = new JsonWriter()
  w.beginObject()
  writeStats(w, statsOf(team))
  w.endObject()
  emit("ResultRecorded", w.toString())
  returnJsonWriter(w)
}
export function record_win(): void { one("wins") }
export function record_loss(): void { one("losses") }
export function record_draw(): void { one("draws") }

/** get_stats(team) → the team's results (a view). */
export function get_stats(): void {
  const a = args()
  a.allowOnly(["team"])
  const team = a.requireString("team")
  const w = new JsonWriter()
  if (!teams.contains(team)) w.null()
  else {
    w.beginObject()
    writeStats(w, statsOf(team))
    w.endObject()
  }
  returnJsonWriter(w)
}

/**
 * leaderboard(offset?, limit?) → a page of teams by points, then wins, then name, with their rank
 * (a view). Sorted when read, from the merged counters (see the top of this file).
 */
export function leaderboard(): void {
  const a = args()
  a.allowOnly(["offset", "limit"])
  const offset = a.optionalIndex("offset", 0)
  const limit = a.optionalIndex("limit", 10)
  const all = new Array<Stats>()
  const c = new ScanCursor(ScanKind.SortedSet, "teams")
  while (c.next()) all.push(statsOf(c.key()))
  all.sort((x: Stats, y: Stats): i32 => {
    if (x.points != y.points) return x.points > y.points ? -1 : 1
    if (x.wins != y.wins) return x.wins > y.wins ? -1 : 1
    return x.team < y.team ? -1 : x.team > y.team ? 1 : 0
  })
  const w = new JsonWriter()
  w.beginArray()
  for (let i = offset; i < offset + limit && i < all.length; i++) {
    w.beginObject()
    w.key("rank"); w.int(i + 1)
    writeStats(w, all[<i32>i])
    w.endObject()
  }
  w.endArray()
  returnJsonWriter(w)
}

/** recent_matches(offset?, limit?) → matches, newest first (a view). */
export function recent_matches(): void {
  const a = args()
  a.allowOnly(["offset", "limit"])
  const c = matches.cursor(null, null, <u64>a.optionalIndex("offset", 0), <u64>a.optionalIndex("limit", 10), true)
  const w = new JsonWriter()
  w.beginArray()
  while (c.next()) w.rawUtf8(c.valuePtr, c.valueLen)
  w.endArray()
  returnJsonWriter(w)
}

/** team_count() (a view). */
export function team_count(): void {
  args().allowOnly([])
  const w = new JsonWriter()
  w.int(teams.len())
  returnJsonWriter(w)
}

/**
 * Outbound content filter: every message body is checked before any provider
 * is called. Blocks threats, hate, harassment, explicit sexual content and
 * profanity, using the maintained `obscenity` word list (slurs, explicit and
 * profane words, with its leetspeak/look-alike handling) plus our own phrase
 * rules (`contentRules.ts`) for what a word list cannot see: threats and
 * harassment directed at the recipient, hateful statements, sexual
 * propositions.
 *
 * A verdict's `reason` names the rule, never the text: a message body may hold
 * personal data, and verdicts end up in logs and security events.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  DataSet,
  type EnglishProfaneWord,
  englishDataset,
  englishRecommendedBlacklistMatcherTransformers,
  englishRecommendedTransformers,
  type ParsedPattern,
  pattern,
  RegExpMatcher,
  SyntaxKind
} from "obscenity"
import {
  CATEGORY_PRIORITY,
  type ContentCategory,
  type ContentRule,
  OBSCENITY_CATEGORY,
  OBSCENITY_DROPPED,
  OBSCENITY_WHITELIST,
  OWN_RULES,
  REPEATED_INSULT
} from "./contentRules.ts"

export type { ContentCategory } from "./contentRules.ts"

export type ContentVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly category: ContentCategory; readonly reason: string }

/**
 * The message was refused by the content filter; nothing was sent.
 * (To move into schema/Errors.ts.)
 */
export class ContentBlocked extends Schema.TaggedError<ContentBlocked>()("ContentBlocked", {
  message: Schema.String,
  category: Schema.String
}) {
  readonly code = "content_blocked"
}

// ---------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------

/** Zero-width, bidi-control, joiner, variation-selector and tag characters. */
const INVISIBLE =
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|\uDB40[\uDC00-\uDDEF]/g

/** Cyrillic and Greek letters that look like Latin ones (after lowercasing). */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  "а": "a",
  "е": "e",
  "ё": "e",
  "к": "k",
  "м": "m",
  "о": "o",
  "р": "p",
  "с": "c",
  "у": "y",
  "х": "x",
  "і": "i",
  "ї": "i",
  "ј": "j",
  "ѕ": "s",
  "ԁ": "d",
  "һ": "h",
  "ӏ": "l",
  "ԛ": "q",
  "ԝ": "w",
  "ɡ": "g",
  "α": "a",
  "β": "b",
  "ε": "e",
  "ι": "i",
  "κ": "k",
  "ν": "v",
  "ο": "o",
  "ρ": "p",
  "τ": "t",
  "υ": "u",
  "χ": "x"
}
const HOMOGLYPH_RE = new RegExp(`[${Object.keys(HOMOGLYPHS).join("")}]`, "g")

const LEET: Readonly<Record<string, string>> = {
  "0": "o",
  "1": "i",
  "3": "e",
  "4": "a",
  "5": "s",
  "7": "t",
  "@": "a",
  "$": "s",
  "!": "i"
}

const APOSTROPHES = /[\u2018\u2019\u02BC\u0060\u00B4\u2032\uFF07]/g

/**
 * Numbers and identifiers: pure numbers ("Room 455", "call 555-1234"),
 * digit-heavy tokens ("Galaxy A55") and upper-case codes ("ref FUK4Q2").
 * The word list's leetspeak decoding would read "455" as a profane word, so
 * these are masked before matching. Lower-case leetspeak ("k1ll", "5h1t") is
 * not masked.
 */
const isCodeLike = (token: string): boolean => {
  let digits = 0
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i)
    if (c >= 48 && c <= 57) digits++
  }
  if (digits === 0) return false
  const letters = token.length - digits
  if (letters === 0 || digits > letters) return true
  const upper = token === token.toUpperCase()
  return upper && (digits === letters || (token.length >= 6 && digits >= 2))
}

/** Runs of 3+ single letters separated by spaces/dots/dashes: "f u c k" → "fuck". */
const SPACED_LETTERS = /(?<![a-z0-9])[a-z](?:[ ._*~+-]{1,3}[a-z](?![a-z0-9])){2,}/g
/** Runs made only of these are left alone ("u r a …" is "you are a …"). */
const PRONOUN_LETTERS = /^[aeiouyr]+$/

const joinSpacedLetters = (s: string): string =>
  s.replace(SPACED_LETTERS, (run) => {
    const letters = run.replace(/[^a-z]/g, "")
    return PRONOUN_LETTERS.test(letters) ? run : letters
  })

const NAME_DICK = /\bDick(?=['’]s\b|\s+[A-Z][a-z])/g
const LOOKALIKE_L = /(?<=\p{Ll}[I|]{0,8})[I|]/gu

export interface Normalized {
  /** For the word list: NFKC, invisible characters stripped, codes masked, lowercase, spaced letters joined. */
  readonly base: string
  /** For our own rules: `base` with leetspeak decoded, long letter runs collapsed, only `[a-z0-9'.,!? ]` left. */
  readonly words: string
}

const NON_ASCII = /[^\x00-\x7F]/
const LOOKALIKE_L_ASCII = /([a-z])([I|]+)/g
const LEET_CHAR = /[0-9@$!]/
const LEET_TOKEN = /(?<![a-z0-9@$!])[a-z0-9@$!]*[0-9@$!][a-z0-9@$!]*/g
const LEET_IN_TOKEN = /[0-9@$]|!(?=[a-z0-9@$])/g
const NON_WORDS = /[^a-z0-9'.,!?]+/g

/** Letters repeated 3+ times become one ("yooou" → "you"); a plain loop, as back-references are slow. */
const collapseLongRuns = (s: string): string => {
  let out = ""
  let from = 0
  for (let i = 0; i < s.length;) {
    const c = s.charCodeAt(i)
    let j = i + 1
    while (j < s.length && s.charCodeAt(j) === c) j++
    if (j - i >= 3 && c >= 97 && c <= 122) {
      out += s.slice(from, i + 1)
      from = j
    }
    i = j
  }
  return from === 0 ? s : out + s.slice(from)
}

export const normalize = (text: string): Normalized => {
  let s: string
  if (NON_ASCII.test(text)) {
    s = text.normalize("NFKC").replace(INVISIBLE, "")
    s = s.replace(/(?<![\p{L}\p{N}])[\p{L}\p{N}]*[0-9][\p{L}\p{N}]*/gu, (token) => (isCodeLike(token) ? "#" : token))
    // "kiII", "ki||": a capital I or a bar right after lowercase letters stands for "l".
    s = s.replace(LOOKALIKE_L, "l")
  } else {
    s = text.replace(/(?<![A-Za-z0-9])[A-Za-z0-9]*[0-9][A-Za-z0-9]*/g, (token) => (isCodeLike(token) ? "#" : token))
    s = s.replace(LOOKALIKE_L_ASCII, (_, before: string, ls: string) => before + "l".repeat(ls.length))
  }
  // "Dick Smith", "Dick's": the first name, not the word.
  s = s.replace(NAME_DICK, "#").toLowerCase()
  if (NON_ASCII.test(s)) {
    s = s.normalize("NFD").replace(/\p{M}+/gu, "")
    s = s.replace(HOMOGLYPH_RE, (c) => HOMOGLYPHS[c] ?? c)
  }
  s = s.replace(APOSTROPHES, "'")
  s = s.replace(/\s+/g, " ").trim()
  const base = joinSpacedLetters(s)
  const decoded = LEET_CHAR.test(base)
    ? base.replace(LEET_TOKEN, (token) =>
      /[a-z]/.test(token) ? token.replace(LEET_IN_TOKEN, (c) => LEET[c] ?? c) : token)
    : base
  const words = collapseLongRuns(decoded).replace(NON_WORDS, " ").trim()
  return { base, words }
}

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

const matchesRule = (rule: ContentRule, s: string): boolean => {
  const re = rule.pattern
  re.lastIndex = 0
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const rejected = (rule.unlessMatch !== undefined && rule.unlessMatch.test(m[0])) ||
      (rule.unlessBefore !== undefined && rule.unlessBefore.test(s.slice(Math.max(0, m.index - 40), m.index)))
    if (!rejected) {
      re.lastIndex = 0
      return true
    }
    // A later start inside a rejected match may still be a real hit.
    re.lastIndex = m.index + 1
  }
  return false
}

const countMatches = (re: RegExp, s: string): number => {
  re.lastIndex = 0
  let n = 0
  while (re.exec(s) !== null) n++
  return n
}

type Metadata = { readonly originalWord: EnglishProfaneWord }

const buildDataset = (): DataSet<Metadata> =>
  new DataSet<Metadata>()
    .addAll(englishDataset)
    .removePhrasesIf((phrase) =>
      phrase.metadata !== undefined &&
      (OBSCENITY_DROPPED.has(phrase.metadata.originalWord) || phrase.metadata.originalWord === "fuck")
    )
    // As the dataset's, minus its whole-word `fu` pattern ("Mr Fu", "Fu Manchu").
    .addPhrase((phrase) =>
      phrase
        .setMetadata({ originalWord: "fuck" })
        .addPattern(pattern`f[?]ck`)
        .addPattern(pattern`|fk`)
        .addPattern(pattern`|fuk`)
        .addWhitelistedTerm("fick")
        .addWhitelistedTerm("kung-fu")
        .addWhitelistedTerm("kung fu")
    )

/** As obscenity's own pattern compiler (not exported by the package). */
const patternSource = (p: ParsedPattern): string => {
  const nodeSource = (node: ParsedPattern["nodes"][number]): string => {
    switch (node.kind) {
      case SyntaxKind.Literal:
        return String.fromCodePoint(...node.chars).replace(/[[\].*+?^${}()|\\]/g, "\\$&")
      case SyntaxKind.Optional:
        return `(?:${nodeSource(node.childNode)})?`
      case SyntaxKind.Wildcard:
        return "."
    }
  }
  return `${p.requireWordBoundaryAtStart ? "\\b" : ""}${p.nodes.map(nodeSource).join("")}${
    p.requireWordBoundaryAtEnd ? "\\b" : ""
  }`
}

interface CharStep {
  readonly transform: (char: number) => number | undefined
  readonly reset?: () => void
}

export interface WordList {
  /** Categories of the word list's matches in a normalized `base` text. */
  readonly categories: (base: string) => ReadonlySet<ContentCategory>
  /** The same, running the library matcher over the whole text (the reference for `categories`). */
  readonly categoriesFull: (base: string) => ReadonlySet<ContentCategory>
}

/**
 * The obscenity matcher behind a fast exact pre-check. The library transforms
 * the text character by character (look-alikes, leetspeak, lowercase,
 * collapsed repeats) and then runs one regular expression per pattern, plus
 * a whitelist pass — about 0.3 ms for 1,600 characters. Most messages have
 * no candidate at all, so we apply the library's own transformers (memoized)
 * and one combined expression of the library's own patterns: no hit means the
 * library cannot match. Each hit (say "assessment" for the `ass` pattern) is
 * handed, with enough surrounding text for any whitelisted term, to the
 * library matcher, which decides.
 */
export const makeWordList = (): WordList => {
  const dataset = buildDataset()
  const built = dataset.build()
  const whitelist = [...(built.whitelistedTerms ?? []), ...OBSCENITY_WHITELIST]
  const matcher = new RegExpMatcher({
    blacklistedTerms: built.blacklistedTerms,
    whitelistedTerms: whitelist,
    ...englishRecommendedTransformers
  })
  const categoriesOf = (text: string, into: Set<ContentCategory>): void => {
    for (const match of matcher.getAllMatches(text)) {
      const word = dataset.getPayloadWithPhraseMetadata(match).phraseMetadata?.originalWord
      into.add(word === undefined ? "profanity" : OBSCENITY_CATEGORY[word])
    }
  }

  // The library's blacklist transformers: the leading stateless ones are
  // memoized per UTF-16 code unit, the rest (collapsing repeats) run as is.
  const steps: Array<CharStep> = englishRecommendedBlacklistMatcherTransformers.map((t) =>
    "factory" in t ? t.factory() : { transform: t.transform }
  )
  const firstStateful = steps.findIndex((t) => t.reset !== undefined)
  const simple = firstStateful === -1 ? steps : steps.slice(0, firstStateful)
  const rest = firstStateful === -1 ? [] : steps.slice(firstStateful)
  const memo = new Int32Array(0x10000).fill(-2) // -2 unknown, -1 dropped
  const applySimple = (cp: number): number | undefined => {
    let v: number | undefined = cp
    for (let k = 0; k < simple.length && v !== undefined; k++) v = simple[k]!.transform(v)
    return v
  }

  /** The text as the library sees it, with each character's index in `base`. */
  const transform = (base: string): { readonly text: string; readonly origin: ReadonlyArray<number> } => {
    for (const step of rest) step.reset?.()
    const codes: Array<number> = []
    const origin: Array<number> = []
    for (let i = 0; i < base.length;) {
      const cp = base.codePointAt(i)!
      let v: number | undefined
      if (cp < 0x10000) {
        let m = memo[cp]!
        if (m === -2) {
          m = applySimple(cp) ?? -1
          memo[cp] = m
        }
        v = m === -1 ? undefined : m
      } else {
        v = applySimple(cp)
      }
      for (let k = 0; k < rest.length && v !== undefined; k++) v = rest[k]!.transform(v)
      if (v !== undefined) {
        if (v < 0x10000) {
          codes.push(v)
          origin.push(i)
        } else {
          codes.push(0xD800 + ((v - 0x10000) >> 10), 0xDC00 + ((v - 0x10000) & 0x3FF))
          origin.push(i, i)
        }
      }
      i += cp > 0xFFFF ? 2 : 1
    }
    let text = ""
    for (let k = 0; k < codes.length; k += 4096) text += String.fromCharCode(...codes.slice(k, k + 4096))
    return { text, origin }
  }

  const gate = new RegExp(
    built.blacklistedTerms.map((term) => `(?:${patternSource(term.pattern)})`).join("|"),
    "gs"
  )
  // Context kept around a candidate: any whitelisted term overlapping it fits.
  const margin = whitelist.reduce((n, term) => Math.max(n, term.length), 0) + 2

  const categories = (base: string): ReadonlySet<ContentCategory> => {
    const found = new Set<ContentCategory>()
    const { origin, text } = transform(base)
    gate.lastIndex = 0
    let windowStart = -1
    let windowEnd = -1
    for (let m = gate.exec(text); m !== null; m = gate.exec(text)) {
      const from = Math.max(0, origin[m.index]! - margin)
      const to = Math.min(base.length, origin[m.index + m[0].length - 1]! + 2 + margin)
      // Widen to whole words: a window must start and end where the full text has a space.
      const start = from === 0 ? 0 : base.lastIndexOf(" ", from) + 1
      const space = base.indexOf(" ", to)
      const end = space === -1 ? base.length : space
      if (start <= windowEnd) {
        windowEnd = Math.max(windowEnd, end)
      } else {
        if (windowEnd >= 0) categoriesOf(base.slice(windowStart, windowEnd), found)
        windowStart = start
        windowEnd = end
      }
      gate.lastIndex = m.index + 1
    }
    if (windowEnd >= 0) categoriesOf(base.slice(windowStart, windowEnd), found)
    return found
  }

  const categoriesFull = (base: string): ReadonlySet<ContentCategory> => {
    const found = new Set<ContentCategory>()
    categoriesOf(base, found)
    return found
  }

  return { categories, categoriesFull }
}

const WORD_LIST_REASON: Readonly<Record<ContentCategory, string>> = {
  threat: "threatening term from a maintained word list",
  hate: "slur from a maintained word list",
  harassment: "abusive term from a maintained word list",
  sexual: "explicit sexual term from a maintained word list",
  profanity: "profanity from a maintained word list"
}

const ownRulesByCategory = new Map<ContentCategory, ReadonlyArray<ContentRule>>(
  CATEGORY_PRIORITY.map((category) => [category, OWN_RULES.filter((r) => r.category === category)])
)

const blocked = (category: ContentCategory, reason: string, id: string): ContentVerdict => ({
  allowed: false,
  category,
  reason: `${reason} (rule ${id})`
})

/**
 * Builds the pure classifier (compiles the word list once). Categories are
 * tried in priority order — threat, hate, harassment, sexual, profanity — and
 * the first hit is reported.
 */
export const makeClassifier = (): (text: string) => ContentVerdict => {
  const wordList = makeWordList()
  return (text: string): ContentVerdict => {
    const { base, words } = normalize(text)
    if (base.length === 0) return { allowed: true }
    let listed: ReadonlySet<ContentCategory> | undefined
    for (const category of CATEGORY_PRIORITY) {
      for (const rule of ownRulesByCategory.get(category) ?? []) {
        if (matchesRule(rule, words)) return blocked(category, rule.reason, rule.id)
      }
      if (
        category === "harassment" &&
        countMatches(REPEATED_INSULT.pattern, words) >= REPEATED_INSULT.threshold &&
        REPEATED_INSULT.addressee.test(words)
      ) {
        return blocked(category, REPEATED_INSULT.reason, REPEATED_INSULT.id)
      }
      listed ??= wordList.categories(base)
      if (listed.has(category)) return blocked(category, WORD_LIST_REASON[category], `wordlist.${category}`)
    }
    return { allowed: true }
  }
}

// ---------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------

export class ContentFilter extends Effect.Service<ContentFilter>()("app/policy/ContentFilter", {
  sync: () => {
    const classify = makeClassifier()

    /** Classifies an outbound body. Never fails; never echoes the text. */
    const check = Effect.fn("ContentFilter.check")(function*(text: string) {
      const verdict = classify(text)
      yield* Effect.annotateCurrentSpan("content.allowed", verdict.allowed)
      if (!verdict.allowed) yield* Effect.annotateCurrentSpan("content.category", verdict.category)
      return verdict
    })

    /** As `check`, failing with `ContentBlocked` when the body is refused. */
    const enforce = (text: string): Effect.Effect<void, ContentBlocked> =>
      Effect.flatMap(check(text), (verdict) =>
        verdict.allowed
          ? Effect.void
          : Effect.fail(
            new ContentBlocked({
              message: `Message refused by the content filter (${verdict.category}): ${verdict.reason}`,
              category: verdict.category
            })
          ))

    return { check, enforce } as const
  }
}) {}

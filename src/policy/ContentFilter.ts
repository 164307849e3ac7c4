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
import { ContentBlocked } from "../../schema/Errors.ts"
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

/** The message was refused by the content filter (`content_blocked`); one class, defined with the other wire errors. */
export { ContentBlocked }

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

/** "Dick Smith", "Dick's": the first name, not the word. */
const NAME_DICK = /\bDick(?=['’]s\b|\s+[A-Z][a-z])/g
/**
 * "kiII", "wiII", "ki||": after a lowercase letter, a run of capital I's or a
 * bar stands for "l". A single capital I stays an "i" ("shIt", "McIntosh").
 */
const LOOKALIKE_L = /([a-z])([I|]{2,}|\|)/g
const lookalikeL = (_: string, before: string, ls: string): string => before + "l".repeat(ls.length)

export interface Normalized {
  /** For the word list: NFKC, invisible characters stripped, codes masked, lowercase, spaced letters joined. */
  readonly base: string
  /** For our own rules: `base` with leetspeak decoded, long letter runs collapsed, only `[a-z0-9'.,!? ]` left. */
  readonly words: string
}

const NON_ASCII = /[^\x00-\x7F]/
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
  } else {
    s = text.replace(/(?<![A-Za-z0-9])[A-Za-z0-9]*[0-9][A-Za-z0-9]*/g, (token) => (isCodeLike(token) ? "#" : token))
  }
  s = s.replace(LOOKALIKE_L, lookalikeL).replace(NAME_DICK, "#").toLowerCase()
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

/** Characters a pattern can start with; `undefined` when it can start with any (a wildcard). */
const firstChars = (p: ParsedPattern): ReadonlySet<number> | undefined => {
  const chars = new Set<number>()
  for (const node of p.nodes) {
    const child = node.kind === SyntaxKind.Optional ? node.childNode : node
    if (child.kind === SyntaxKind.Wildcard) return undefined
    chars.add(child.chars[0]!)
    if (node.kind !== SyntaxKind.Optional) return chars
  }
  return chars
}

/**
 * The obscenity matcher behind an exact pre-check. The library transforms the
 * text character by character (look-alikes, leetspeak, lowercase, collapsed
 * repeats), runs one expression per pattern and a whitelist pass: about
 * 0.35 ms for 1,600 characters. We apply the library's own transformers
 * (memoized) and one combined expression of its own patterns; at each hit
 * (typically "assessment" for the `ass` pattern) every pattern matching
 * there is checked against the whitelist exactly as the library does. Only
 * when a hit survives does the library matcher run, and it decides. A test
 * checks this against the library on its own.
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
  const categoriesFull = (base: string): ReadonlySet<ContentCategory> => {
    const found = new Set<ContentCategory>()
    for (const match of matcher.getAllMatches(base)) {
      const word = dataset.getPayloadWithPhraseMetadata(match).phraseMetadata?.originalWord
      found.add(word === undefined ? "profanity" : OBSCENITY_CATEGORY[word])
    }
    return found
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

  /** The text as the library sees it, with each character's index in `base` (as the library maps it). */
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

  const sources = built.blacklistedTerms.map((term) => patternSource(term.pattern))
  const gate = new RegExp(sources.map((src) => `(?:${src})`).join("|"), "gs")
  const sticky = sources.map((src) => new RegExp(src, "ys"))
  const byFirstChar = new Map<number, Array<RegExp>>()
  const anyFirstChar: Array<RegExp> = []
  built.blacklistedTerms.forEach((term, k) => {
    const chars = firstChars(term.pattern)
    if (chars === undefined) anyFirstChar.push(sticky[k]!)
    else for (const c of chars) byFirstChar.set(c, [...(byFirstChar.get(c) ?? []), sticky[k]!])
  })

  /** Whitelisted terms containing a given matched text. */
  const termsContaining = new Map<string, ReadonlyArray<string>>()
  const candidateTerms = (matched: string): ReadonlyArray<string> => {
    let terms = termsContaining.get(matched)
    if (terms === undefined) {
      if (termsContaining.size > 1024) termsContaining.clear()
      terms = whitelist.filter((t) => t.includes(matched))
      termsContaining.set(matched, terms)
    }
    return terms
  }

  /**
   * Whether the library would drop the match [start, end] (inclusive, in
   * `base`): some occurrence of a whitelisted term contains it. The library
   * finds a term's occurrences left to right without overlap, in `base`
   * itself (its whitelist transformers — ASCII lowercase, single spaces —
   * leave a normalized text unchanged).
   */
  const isWhitelisted = (base: string, start: number, end: number, occurrences: Map<string, Array<number>>) => {
    for (const term of candidateTerms(base.slice(start, end + 1))) {
      let found = occurrences.get(term)
      if (found === undefined) {
        found = []
        for (let at = base.indexOf(term); at !== -1; at = base.indexOf(term, at + term.length)) found.push(at)
        occurrences.set(term, found)
      }
      for (const at of found) if (at <= start && end <= at + term.length - 1) return true
    }
    return false
  }

  /** Whether the library matcher would report at least one match. */
  const mayMatch = (base: string): boolean => {
    const { origin, text } = transform(base)
    const occurrences = new Map<string, Array<number>>()
    gate.lastIndex = 0
    for (let m = gate.exec(text); m !== null; m = gate.exec(text)) {
      const at = m.index
      const candidates = byFirstChar.get(text.charCodeAt(at)) ?? []
      for (const re of candidates.length === 0 ? anyFirstChar : [...candidates, ...anyFirstChar]) {
        re.lastIndex = at
        const hit = re.exec(text)
        if (hit === null) continue
        const start = origin[at]!
        let end = origin[at + hit[0].length - 1]!
        if (end < base.length - 1 && isHighSurrogate(base.charCodeAt(end)) && isLowSurrogate(base.charCodeAt(end + 1))) {
          end++
        }
        if (!isWhitelisted(base, start, end, occurrences)) return true
      }
      gate.lastIndex = at + 1
    }
    return false
  }

  const categories = (base: string): ReadonlySet<ContentCategory> =>
    mayMatch(base) ? categoriesFull(base) : new Set<ContentCategory>()

  return { categories, categoriesFull }
}

const isHighSurrogate = (c: number): boolean => c >= 0xD800 && c <= 0xDBFF
const isLowSurrogate = (c: number): boolean => c >= 0xDC00 && c <= 0xDFFF

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
